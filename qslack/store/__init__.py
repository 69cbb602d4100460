"""Persistence: one SQLite file holding runs, dual-loop steps, solver states, solutions and jobs.

Importing this package loads only the standard library (no NumPy, qiskit or
OR-Tools).
"""

from __future__ import annotations

from qslack.store.db import MIGRATIONS, SCHEMA_VERSION, STATUSES, Store, content_hash
from qslack.store.provenance import provenance

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "STATUSES", "Store", "content_hash", "provenance"]
