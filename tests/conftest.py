"""Shared fixtures. Kept free of qiskit/ortools imports so GPU-only machines can collect tests."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(ROOT / ".venv" / "numba_cache") if (ROOT / ".venv").exists() else ""
)

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits
# SIGINT ignored, and so would every subprocess it spawns: the Ctrl-C tests would then test
# nothing (and fail).  Give this process Python's handler back; children start with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def all_bitstrings(n: int) -> np.ndarray:
    """Every x in {0,1}^n in basis-index order (bit j of the row index is x_j)."""
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(np.uint8)
