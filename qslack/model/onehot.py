"""One-hot groups of a program: the rows an XY mixer can keep satisfied by construction.

A one-hot row is an equality ``sum_{j in S} x_j = 1`` (all coefficients 1 on
``S``, rhs 1).  An XY mixer acting inside ``S`` from a state with one 1 in
``S`` keeps it so, so the row needs no multiplier; rows over disjoint ``S``
can all be enforced at once.  :func:`one_hot_groups` picks such a family; the
form then leaves those rows out of the QUBO
(``LagrangianForm(program, enforced=rows)``) and the sampler gets the
variable groups (``QAOASampler(mixer="xy-ring", groups=...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from qslack.model.program import BinaryProgram

__all__ = ["OneHotGroup", "one_hot_groups", "one_hot_rows"]


@dataclass(frozen=True)
class OneHotGroup:
    """One one-hot row: ``sum_{j in variables} x_j = 1``.

    Attributes
    ----------
    row : int
        Row index in the program.
    name : str
        The row's name.
    group : str
        The row's constraint group (``"row"``, ``"col"`` ...).
    variables : tuple of int
        Column indices of the row's variables, in increasing order.
    """

    row: int
    name: str
    group: str
    variables: tuple[int, ...]


def one_hot_rows(program: BinaryProgram) -> np.ndarray:
    """Boolean mask of the rows ``sum_{j in S} x_j == 1`` (coefficients exactly 1, ``|S| >= 1``).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[0.0] * 3, A=[[1, 1, 0], [1, 2, 0], [0, 1, 1]], b=[1, 1, 1],
    ...                               sense=["==", "==", "<="])
    >>> one_hot_rows(p).tolist()
    [True, False, False]
    """
    A = program.A
    ok = program.is_equality & (program.b == 1.0)
    nz = A != 0
    ok &= nz.any(axis=1) & np.all(np.where(nz, A == 1.0, True), axis=1)
    return ok


def one_hot_groups(
    program: BinaryProgram, con_groups: str | Iterable[str] | None = None
) -> list[OneHotGroup]:
    """A maximal family of one-hot rows over pairwise disjoint variable sets.

    Parameters
    ----------
    program : BinaryProgram
    con_groups : str or iterable of str, optional
        Consider only rows of these constraint groups (e.g. ``"col"`` for the
        TSP position encoding: one group of cities per position).

    Returns
    -------
    list of OneHotGroup
        Greedy in row order: a one-hot row is taken when its variables are
        disjoint from those already taken, so the family is maximal (no
        further one-hot row can join it), not necessarily the largest.

    Examples
    --------
    >>> from qslack.problems.tsp import build_tsp
    >>> d = np.array([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]])
    >>> prog = build_tsp(d, "position")                  # x_{city}_{position}, city 0 fixed
    >>> [g.name for g in one_hot_groups(prog)]           # row order: the "row" (per city) rows
    ['city_1', 'city_2', 'city_3']
    >>> [(g.name, g.variables) for g in one_hot_groups(prog, "col")]
    [('pos_1', (0, 3, 6)), ('pos_2', (1, 4, 7)), ('pos_3', (2, 5, 8))]
    """
    ok = one_hot_rows(program)
    if con_groups is not None:
        ok &= program.group_mask(con_groups)
    taken = np.zeros(program.n_vars, dtype=bool)
    out: list[OneHotGroup] = []
    for k in np.flatnonzero(ok):
        vars_k = np.flatnonzero(program.A[k])
        if taken[vars_k].any():
            continue
        taken[vars_k] = True
        out.append(
            OneHotGroup(int(k), program.con_names[k], program.con_groups[k], tuple(int(j) for j in vars_k))
        )
    return out
