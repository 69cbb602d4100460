"""Problem builders (TSP, MDKP, MIS) and their interpreters.

Each problem module builds a :class:`~qslack.model.program.BinaryProgram` and
interprets bit vectors of it (``decode``, ``evaluate``, ``repair``).  The dual
loop reaches those through a :class:`~qslack.model.hooks.ProblemHooks` object
that :func:`hooks_for` makes for the problem *kind* the caller built (the
``problem`` of a loaded instance), never by reading the program's metadata.

Examples
--------
>>> from qslack.problems.catalog import build_program, load_instance
>>> loaded = load_instance("mknap1#1")
>>> hooks = hooks_for(loaded.problem)
>>> prog = build_program(loaded)
>>> import numpy as np
>>> bool(prog.is_feasible(hooks.repair(prog, np.ones((1, prog.n_vars))))[0])
True
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.model.hooks import ProblemHooks
from qslack.model.program import BinaryProgram

__all__ = ["PROBLEMS", "decode", "evaluate", "hooks_for", "repair"]

_MODULES = {"tsp": "qslack.problems.tsp", "mdkp": "qslack.problems.mdkp", "mis": "qslack.problems.mis"}
PROBLEMS = tuple(_MODULES)
"""Problem kinds with their own builder and interpreter."""


def _module(problem: str | None) -> Any | None:
    if problem is None or problem in ("program", "lp", "qubo"):
        return None
    name = _MODULES.get(problem)
    if name is None:
        raise ValidationError(f"unknown problem kind {problem!r}; known: {', '.join(PROBLEMS)}")
    return import_module(name)


def hooks_for(problem: str | None) -> ProblemHooks:
    """The :class:`~qslack.model.hooks.ProblemHooks` of a problem kind (None: a general program).

    TSP hooks also separate subtour rows that samples reveal (edge encoding
    beyond :data:`~qslack.problems.tsp.MAX_SUBTOUR_CITIES` cities builds none
    up front).
    """
    mod = _module(problem)
    if mod is None:
        return ProblemHooks()

    def _repair(program: BinaryProgram, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=np.uint8))
        return np.array([mod.repair(program, x) for x in X], dtype=np.uint8).reshape(X.shape)

    kw: dict[str, Any] = {"repair": _repair, "decode": mod.decode, "name": str(problem)}
    if problem == "tsp":
        kw["separate"] = mod.separate_subtours
        kw["add_rows"] = mod.add_subtour_rows
    return ProblemHooks(**kw)


def decode(program: BinaryProgram, x: np.ndarray, problem: str | None) -> Any:
    """Problem-specific reading of ``x`` (tour, chosen items, node set); ``x`` itself otherwise."""
    return hooks_for(problem).decode(program, x)


def evaluate(program: BinaryProgram, x: np.ndarray, problem: str | None) -> float | None:
    """Native objective of ``x`` without penalties, None when infeasible."""
    mod = _module(problem)
    if mod is not None:
        return mod.evaluate(program, x)
    return float(program.native_objective(x)[0]) if program.is_feasible(x)[0] else None


def repair(program: BinaryProgram, X: np.ndarray, problem: str | None) -> np.ndarray:
    """Feasible bit vectors near each row of ``X`` (rows unchanged where no repair is known)."""
    return hooks_for(problem).repair(program, X)
