"""Maximum (weight) independent set: ``max w.x`` s.t. ``x_u + x_v <= 1`` per edge.

The edge rows stay linear rows of the program (group ``"edge"``), so the
slack baseline can read them; :class:`~qslack.model.lagrangian.LagrangianForm`
encodes them with the exact product penalty ``w_e x_u x_v``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.model.program import BinaryProgram
from qslack.problems._common import chosen, dense_rows, feasible_objective, zero_q

__all__ = ["build_mis", "decode", "evaluate", "repair"]


def build_mis(graph: Any) -> BinaryProgram:
    """The MIS of ``graph`` (``n_nodes``, ``edges`` 0-based, optional ``weights``).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> g = NS(name="path3", n_nodes=3, edges=np.array([[0, 1], [1, 2]]), weights=np.ones(3))
    >>> p = build_mis(g)
    >>> p.n_vars, p.n_cons, p.native_objective(np.array([[1, 0, 1]])).tolist()
    (3, 2, [2.0])
    """
    n = int(graph.n_nodes)
    edges = np.asarray(graph.edges, dtype=np.int64).reshape(-1, 2)
    w = np.asarray(
        getattr(graph, "weights", None) if getattr(graph, "weights", None) is not None else np.ones(n),
        dtype=np.float64,
    )
    if w.shape != (n,):
        raise ValidationError(f"{w.shape[0]} node weights for {n} nodes")
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValidationError("edge endpoint outside 0..n-1")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise ValidationError("self-loop in the graph")
    m = edges.shape[0]
    A = dense_rows(m, n, f"MIS of {getattr(graph, 'name', 'graph')} ({n} nodes, {m} edges)")
    A[np.arange(m), edges[:, 0]] = 1.0
    A[np.arange(m), edges[:, 1]] = 1.0
    return BinaryProgram(
        Q=zero_q(n),
        c=-w,
        const=0.0,
        A=A,
        b=np.ones(m),
        sense=("<=",) * m,
        var_names=tuple(f"v_{i}" for i in range(n)),
        con_names=tuple(f"edge_{min(u, v)}_{max(u, v)}" for u, v in edges),
        con_groups=("edge",) * m,
        name=getattr(graph, "name", "mis"),
        metadata={"problem": "mis", "sense": "max"},
    )


def decode(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """Node ids in the set (by variable name)."""
    return chosen(program, x)


def evaluate(program: BinaryProgram, x: np.ndarray) -> float | None:
    """Weight of the set, None when two chosen nodes are adjacent."""
    return feasible_objective(program, x)


def repair(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """Remove the node with most conflicts (lightest first on ties) until independent,
    then add free nodes (heaviest, then least connected first).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> g = NS(n_nodes=3, edges=np.array([[0, 1], [1, 2]]), weights=np.ones(3))
    >>> repair(build_mis(g), np.array([1, 1, 1])).tolist()
    [1, 0, 1]
    """
    x = np.asarray(x, dtype=np.uint8).reshape(-1).copy()
    A = program.A
    n = x.shape[0]
    w = -program.c
    adj = (A.T @ A) > 0
    np.fill_diagonal(adj, False)
    while True:
        conflicts = (adj[:, x.astype(bool)].sum(axis=1)) * x
        if conflicts.max(initial=0) == 0:
            break
        worst = np.lexsort((w, -conflicts))[0]
        x[worst] = 0
    degree = adj.sum(axis=1)
    for i in np.lexsort((degree, -w)):
        if not x[i] and w[i] > 0 and not np.any(adj[i] & x.astype(bool)):
            x[i] = 1
    return x[:n]
