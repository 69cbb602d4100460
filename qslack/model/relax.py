"""Warm-start vectors ``c*`` in ``[0, 1]^n`` for warm-start QAOA (Egger et al., Quantum 5, 479 (2021)).

- :func:`lp_relaxation`: the LP relaxation ``min c.x`` s.t. the program's rows and
  ``0 <= x <= 1`` (HiGHS through scipy), for programs with a linear objective
  (MDKP, MIS, any linear-objective program).  Its optimum is fractional where
  the rows bind.
- :func:`greedy_solution`: a feasible 0/1 point of a packing program (linear
  objective, ``<=`` rows with non-negative coefficients and right-hand sides:
  MDKP, MIS): variables with a reward are added in order of reward per unit of
  relative row use while every row still holds.  As a warm start it is the
  "rounded" variant: after regularisation each ``c_j`` is ``eps`` or ``1 - eps``.

The regularisation into ``[eps, 1 - eps]`` and the angles belong to the ansatz
(:func:`qslack.samplers.qaoa.ansatz.regularise`).
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import QslackError, ValidationError
from qslack.model.program import BinaryProgram

__all__ = ["greedy_solution", "lp_relaxation"]


def _require_linear(program: BinaryProgram, what: str) -> None:
    if np.any(program.Q != 0):
        raise ValidationError(
            f"{what} needs a linear objective; program {program.name!r} has quadratic terms "
            "(give warm_start= a vector of your own, e.g. from a QP relaxation)"
        )


def lp_relaxation(program: BinaryProgram) -> tuple[float, np.ndarray]:
    """The LP relaxation of a linear-objective program: ``(value, x)``, ``x`` in ``[0, 1]^n``.

    ``value`` is the internal (minimisation) LP optimum, a lower bound on the
    program's optimum (``program.native(value)`` in the native sense).

    Raises
    ------
    ValidationError
        The objective has quadratic terms, or the LP is infeasible.

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-10.0, -6.0, -4.0], A=[[5.0, 4.0, 3.0]], b=[7.0])
    >>> value, x = lp_relaxation(p)
    >>> round(value, 6), x.round(3).tolist()
    (-13.0, [1.0, 0.5, 0.0])
    """
    from scipy.optimize import linprog

    _require_linear(program, "the LP relaxation")
    eq = program.is_equality
    n = program.n_vars
    res = linprog(
        program.c,
        A_ub=program.A[~eq] if (~eq).any() else None,
        b_ub=program.b[~eq] if (~eq).any() else None,
        A_eq=program.A[eq] if eq.any() else None,
        b_eq=program.b[eq] if eq.any() else None,
        bounds=[(0.0, 1.0)] * n,
        method="highs",
    )
    if res.status == 2:
        raise ValidationError(f"the LP relaxation of program {program.name!r} is infeasible")
    if res.status != 0:  # pragma: no cover - bounded LP: only numerical trouble gets here
        raise QslackError(f"HiGHS failed on the LP relaxation of {program.name!r}: {res.message}")
    x = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, 1.0)
    return float(res.fun + program.const), x


def greedy_solution(program: BinaryProgram) -> np.ndarray:
    """A feasible 0/1 point of a packing program, built greedily (uint8).

    Variables with ``c_j < 0`` (a reward) are considered in decreasing order
    of ``-c_j / sum_k A_kj / b_k`` (reward per relative row use; ties by index)
    and set to 1 when every row still holds.  For MIS this is "heaviest per
    degree first"; for MDKP the classical efficiency ratio.

    Raises
    ------
    ValidationError
        Quadratic objective, an equality row, a negative coefficient or a
        negative right-hand side (the all-zero point must be feasible).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-10.0, -6.0, -4.0], A=[[5.0, 4.0, 3.0]], b=[7.0])
    >>> greedy_solution(p).tolist()
    [1, 0, 0]
    """
    _require_linear(program, "the greedy warm start")
    A, b = program.A, program.b
    if program.is_equality.any():
        raise ValidationError("the greedy warm start needs '<=' rows only (a packing program)")
    if np.any(A < 0) or np.any(b < 0):
        raise ValidationError(
            "the greedy warm start needs non-negative row coefficients and right-hand sides"
        )
    use = (A / np.where(b > 0, b, 1e-12)[:, None]).sum(axis=0) if program.n_cons else np.zeros(program.n_vars)
    reward = -program.c
    ratio = np.where(use > 0, reward / np.maximum(use, 1e-300), np.inf)
    x = np.zeros(program.n_vars, dtype=np.uint8)
    load = np.zeros(program.n_cons)
    for j in np.lexsort((np.arange(program.n_vars), -ratio)):
        if reward[j] <= 0:
            continue
        if np.all(load + A[:, j] <= b + 1e-9):
            x[j] = 1
            load += A[:, j]
    return x
