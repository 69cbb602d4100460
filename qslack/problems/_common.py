"""Interpreter pieces shared by the selection problems (MDKP items, MIS nodes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack._sizes import require_memory
from qslack.model.program import BinaryProgram

__all__ = ["chosen", "dense_rows", "feasible_objective", "zero_q"]


def zero_q(n: int) -> Any:
    """An all-zero ``n x n`` quadratic objective that allocates nothing (a sparse array).

    :class:`~qslack.model.program.BinaryProgram` keeps it dense (zeros) for small
    programs and sparse beyond ``DENSE_Q_MAX_VARS`` variables.

    Examples
    --------
    >>> zero_q(3).shape, zero_q(3).nnz
    ((3, 3), 0)
    """
    import scipy.sparse as sp

    return sp.csr_array((int(n), int(n)), dtype=np.float64)


def dense_rows(m: int, n: int, what: str) -> np.ndarray:
    """A zero ``(m, n)`` constraint matrix, after checking that it fits in memory.

    Examples
    --------
    >>> dense_rows(2, 3, "toy rows").shape
    (2, 3)
    """
    # the matrix, and the temporaries BinaryProgram makes of it (finite check, nonzero masks)
    require_memory(int(m) * int(n) * 8 * 2, f"{what}: a dense {m} x {n} constraint matrix")
    return np.zeros((m, n))


def chosen(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """Ids of the selected elements, read from variable names ``<kind>_<id>``."""
    x = np.asarray(x).reshape(-1)
    return np.array(
        [int(v.split("_")[1]) for v, val in zip(program.var_names, x, strict=True) if val], dtype=int
    )


def feasible_objective(program: BinaryProgram, x: np.ndarray) -> float | None:
    """Native objective of ``x``, None when a constraint is violated."""
    if not program.is_feasible(x)[0]:
        return None
    return float(program.native_objective(x)[0])
