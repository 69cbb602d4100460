"""Multi-dimensional knapsack: ``max p.x`` s.t. ``W x <= b``, one row per capacity."""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.model.program import BinaryProgram
from qslack.problems._common import chosen, feasible_objective, zero_q

__all__ = ["build_mdkp", "decode", "evaluate", "repair"]


def build_mdkp(instance: Any) -> BinaryProgram:
    """The MDKP of ``instance`` (``profits``, ``weights``, ``capacities``) as a BinaryProgram.

    Stored as ``min -p.x`` with ``metadata["sense"] = "max"``; rows in group
    ``"capacity"``; variables ``item_{i}``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> inst = NS(name="toy", profits=np.array([3.0, 2.0]), weights=np.array([[2.0, 1.0]]),
    ...           capacities=np.array([2.0]))
    >>> p = build_mdkp(inst)
    >>> p.native_objective(np.array([[1, 0]])).tolist(), p.is_feasible(np.array([[1, 1]])).tolist()
    ([3.0], [False])
    """
    p = np.asarray(instance.profits, dtype=np.float64)
    W = np.asarray(instance.weights, dtype=np.float64)
    b = np.asarray(instance.capacities, dtype=np.float64)
    n = p.shape[0]
    if W.ndim != 2 or W.shape[1] != n or b.shape != (W.shape[0],):
        raise ValidationError(
            f"inconsistent MDKP shapes: profits {p.shape}, weights {W.shape}, capacities {b.shape}"
        )
    m = W.shape[0]
    return BinaryProgram(
        Q=zero_q(n),
        c=-p,
        const=0.0,
        A=W,
        b=b,
        sense=("<=",) * m,
        var_names=tuple(f"item_{i}" for i in range(n)),
        con_names=tuple(f"capacity_{k}" for k in range(m)),
        con_groups=("capacity",) * m,
        name=getattr(instance, "name", "mdkp"),
        metadata={"problem": "mdkp", "sense": "max", "optimum": getattr(instance, "optimum", None)},
    )


def decode(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """Indices of the chosen items (by variable name)."""
    return chosen(program, x)


def evaluate(program: BinaryProgram, x: np.ndarray) -> float | None:
    """Total profit of ``x``, None when a capacity is exceeded."""
    return feasible_objective(program, x)


def repair(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """Drop items (lowest profit per relative weight first) until feasible, then add
    items that still fit (best ratio first).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> inst = NS(profits=np.array([3.0, 2.0, 1.0]), weights=np.array([[2.0, 1.0, 1.0]]),
    ...           capacities=np.array([2.0]))
    >>> repair(build_mdkp(inst), np.array([1, 1, 1])).tolist()
    [0, 1, 1]
    """
    x = np.asarray(x, dtype=np.uint8).reshape(-1).copy()
    W, b = program.A, program.b
    profit = -program.c
    rel = (W / np.maximum(b, 1e-12)[:, None]).sum(axis=0)
    ratio = profit / np.maximum(rel, 1e-12)
    load = W @ x
    for i in np.argsort(ratio, kind="stable"):
        if np.all(load <= b + 1e-9):
            break
        if x[i]:
            x[i] = 0
            load -= W[:, i]
    for i in np.argsort(-ratio, kind="stable"):
        if not x[i] and profit[i] > 0 and np.all(load + W[:, i] <= b + 1e-9):
            x[i] = 1
            load += W[:, i]
    return x
