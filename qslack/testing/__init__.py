"""Testing utilities: the sampler conformance kit (as ``dimod.testing``).

Importing this package imports numpy and qslack's core types only (no
pytest, no OR-Tools, no qiskit).
"""

from __future__ import annotations

from qslack.testing.conformance import CHECK_NAMES, check_sampler, conformance_checks, random_qubo

__all__ = ["CHECK_NAMES", "check_sampler", "conformance_checks", "random_qubo"]
