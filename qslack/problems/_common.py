"""Interpreter pieces shared by the selection problems (MDKP items, MIS nodes)."""

from __future__ import annotations

import numpy as np

from qslack.model.program import BinaryProgram

__all__ = ["chosen", "feasible_objective"]


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
