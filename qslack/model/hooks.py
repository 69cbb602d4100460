"""What a multiplier loop may ask of a problem without knowing which problem it is.

The dual loop (:mod:`qslack.dual`) sees a :class:`~qslack.model.program.BinaryProgram`
and a :class:`ProblemHooks` object handed to it by whoever built the program
(:func:`qslack.problems.hooks_for`).  It never imports a problem module and
never reads meaning into row names: rows added on the fly travel as opaque,
JSON-able row specs that only the hooks interpret.

Examples
--------
>>> import numpy as np
>>> from qslack.model.program import BinaryProgram
>>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="<=")
>>> hooks = ProblemHooks()
>>> hooks.repair(p, np.array([[1, 1]])).tolist(), hooks.separate(p, np.array([[1, 1]]))
([[1, 1]], [])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qslack.model.program import BinaryProgram

__all__ = ["ProblemHooks", "RowSpec"]

RowSpec = Mapping[str, Any]
"""A JSON-able description of a constraint row that a problem can add to its program."""


def _no_repair(program: BinaryProgram, X: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(X, dtype=np.uint8)).copy()


def _no_rows(program: BinaryProgram, X: np.ndarray) -> list[RowSpec]:
    return []


def _add_rows(program: BinaryProgram, rows: Sequence[RowSpec]) -> BinaryProgram:
    if rows:
        raise ValueError(f"program {program.name!r} has no lazy rows, got {len(rows)} row specs")
    return program


def _identity(program: BinaryProgram, x: np.ndarray) -> Any:
    return np.asarray(x)


@dataclass(frozen=True)
class ProblemHooks:
    """Problem-specific operations, as plain functions of the program.

    Parameters
    ----------
    repair : callable
        ``repair(program, X) -> X'``: a feasible bit vector near each row of
        ``X`` (rows left as they are where no repair is known).
    separate : callable
        ``separate(program, X) -> [row spec, ...]``: rows the samples ``X``
        show missing from ``program`` (lazy constraints), as JSON-able specs
        not yet in the program; ``[]`` when none.
    add_rows : callable
        ``add_rows(program, specs) -> program'``: the program with those rows
        appended in the given order (used both when rows are found and when a
        stored run is restored).
    decode : callable
        ``decode(program, x)``: the problem's reading of ``x`` (a tour, the
        chosen items, a node set).
    name : str
        The problem these hooks belong to (for messages only).
    """

    repair: Callable[[BinaryProgram, np.ndarray], np.ndarray] = _no_repair
    separate: Callable[[BinaryProgram, np.ndarray], list[RowSpec]] = _no_rows
    add_rows: Callable[[BinaryProgram, Sequence[RowSpec]], BinaryProgram] = _add_rows
    decode: Callable[[BinaryProgram, np.ndarray], Any] = _identity
    name: str = "binary program"
