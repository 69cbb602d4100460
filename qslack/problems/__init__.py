"""Problem builders (TSP, MDKP, MIS) and their interpreters.

:func:`repair`, :func:`evaluate` and :func:`decode` dispatch on
``program.metadata["problem"]``, so the dual loop can call them without
knowing which problem it solves.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from qslack.model.program import BinaryProgram

__all__ = ["decode", "evaluate", "problem_module", "repair"]

_MODULES = {"tsp": "qslack.problems.tsp", "mdkp": "qslack.problems.mdkp", "mis": "qslack.problems.mis"}


def problem_module(program: BinaryProgram) -> Any | None:
    """The module interpreting ``program`` (None for a general binary program)."""
    name = _MODULES.get(str(program.metadata.get("problem")))
    return import_module(name) if name else None


def decode(program: BinaryProgram, x: np.ndarray) -> Any:
    """Problem-specific reading of ``x`` (tour, chosen items, node set); ``x`` itself otherwise."""
    mod = problem_module(program)
    return np.asarray(x) if mod is None else mod.decode(program, x)


def evaluate(program: BinaryProgram, x: np.ndarray) -> float | None:
    """Native objective of ``x`` without penalties, None when infeasible."""
    mod = problem_module(program)
    if mod is not None:
        return mod.evaluate(program, x)
    return float(program.native_objective(x)[0]) if program.is_feasible(x)[0] else None


def repair(program: BinaryProgram, X: np.ndarray) -> np.ndarray:
    """Feasible bit vectors near each row of ``X`` (rows unchanged where no repair is known)."""
    mod = problem_module(program)
    X = np.atleast_2d(np.asarray(X, dtype=np.uint8))
    if mod is None:
        return X.copy()
    return np.array([mod.repair(program, x) for x in X], dtype=np.uint8).reshape(X.shape)


def lazy_rows(program: BinaryProgram, X: np.ndarray) -> BinaryProgram | None:
    """The program with the constraint rows that ``X`` shows missing, or None.

    TSP edge encoding beyond :data:`~qslack.problems.tsp.MAX_SUBTOUR_CITIES`
    cities builds no subtour rows; a sample that meets every degree row but
    closes a subtour adds that subtour's row here.
    """
    meta = program.metadata
    if meta.get("problem") != "tsp" or meta.get("encoding") != "edge" or meta.get("subtours_built", True):
        return None
    from qslack.problems.tsp import find_subtours, with_subtour_rows

    sets = find_subtours(program, X)
    new = with_subtour_rows(program, sets) if sets else program
    return None if new is program else new
