"""Travelling salesman: two encodings, decode, evaluate and repair.

``position`` encoding: city 0 is fixed at position 0; ``x_{i}_{t}`` = city
``i`` (1..n-1) at position ``t`` (1..n-1): ``(n-1)**2`` variables, one-hot
equalities per city (group ``"row"``) and per position (group ``"col"``).

``edge`` encoding: ``e_{i}_{j}`` = undirected edge ``i<j`` in the tour:
``n(n-1)/2`` variables, degree-2 equalities (group ``"degree"``) and
subtour eliminations ``sum_{i<j in S} x_ij <= |S| - 1`` for
``3 <= |S| <= n/2`` (group ``"subtour"``; for ``|S| = n/2`` only the ``S``
holding city 0, since the degree rows make ``S`` and its complement
equivalent).  They are enumerated up to :data:`MAX_SUBTOUR_CITIES` cities;
beyond, :func:`subtour_slack_bits` counts what their slack would cost.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.model.program import BinaryProgram
from qslack.problems._common import dense_rows, zero_q

__all__ = [
    "MAX_SUBTOUR_CITIES",
    "add_subtour_rows",
    "build_tsp",
    "decode",
    "evaluate",
    "repair",
    "separate_subtours",
    "subtour_sets",
    "subtour_slack_bits",
    "tour_length",
]

MAX_SUBTOUR_CITIES = 9
ENCODINGS = ("position", "edge")


def tour_length(dist: np.ndarray, tour: np.ndarray | list[int]) -> float:
    """Length of the closed tour ``tour`` (0-based city order).

    Examples
    --------
    >>> tour_length(np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]]), [0, 1, 2])
    6.0
    """
    t = np.asarray(tour, dtype=int)
    return float(np.asarray(dist)[t, np.roll(t, -1)].sum())


def subtour_sets(n: int) -> list[tuple[int, ...]]:
    """City sets ``S`` with ``3 <= |S| <= n/2`` (one of ``S``/complement at ``n/2``).

    Examples
    --------
    >>> len(subtour_sets(5)), len(subtour_sets(6)), len(subtour_sets(8))
    (0, 10, 91)
    """
    out: list[tuple[int, ...]] = []
    for size in range(3, n // 2 + 1):
        for S in itertools.combinations(range(n), size):
            if 2 * size == n and 0 not in S:
                continue
            out.append(S)
    return out


def subtour_slack_bits(n: int) -> tuple[int, int]:
    """``(rows, slack bits)`` of the subtour rows for ``n`` cities, counted not built.

    Row ``S`` has slack range ``|S| - 1``, hence ``floor(log2(|S|-1)) + 1`` bits.

    Examples
    --------
    >>> subtour_slack_bits(6)
    (10, 20)
    """
    rows = bits = 0
    for size in range(3, n // 2 + 1):
        count = math.comb(n, size)
        if 2 * size == n:
            count //= 2
        rows += count
        bits += count * (math.floor(math.log2(size - 1)) + 1)
    return rows, bits


def _dist_of(instance: Any) -> tuple[np.ndarray, str]:
    dist = np.asarray(getattr(instance, "dist", instance), dtype=np.float64)
    name = getattr(instance, "name", "tsp")
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValidationError(f"distance matrix must be square, got {dist.shape}")
    if dist.shape[0] < 3:
        raise ValidationError(f"a tour needs at least 3 cities, got {dist.shape[0]}")
    if not np.allclose(dist, dist.T):
        raise ValidationError("only symmetric TSP is supported: the distance matrix is asymmetric")
    return dist, name


def build_tsp(instance: Any, encoding: str = "position", *, subtours: bool | None = None) -> BinaryProgram:
    """The TSP of ``instance`` (a ``TSPInstance`` or a distance matrix) as a BinaryProgram.

    Parameters
    ----------
    instance : TSPInstance or array_like
        Anything with a ``dist`` matrix, or the matrix itself.
    encoding : {"position", "edge"}
    subtours : bool, optional
        Edge encoding only: build the subtour rows (default: when
        ``n <= MAX_SUBTOUR_CITIES``).

    Examples
    --------
    >>> d = np.array([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]])
    >>> p = build_tsp(d, "position")
    >>> p.n_vars, p.n_cons, p.groups
    (9, 6, ('row', 'col'))
    >>> build_tsp(d, "edge").n_vars
    6
    """
    if encoding not in ENCODINGS:
        raise ValidationError(f"unknown TSP encoding {encoding!r}; choose from {ENCODINGS}")
    dist, name = _dist_of(instance)
    n = dist.shape[0]
    meta: dict[str, Any] = {
        "problem": "tsp",
        "encoding": encoding,
        "n_cities": n,
        "dist": dist,
        "sense": "min",
    }
    if encoding == "position":
        return _build_position(dist, name, meta)
    return _build_edge(dist, name, meta, subtours)


def _build_position(dist: np.ndarray, name: str, meta: dict[str, Any]) -> BinaryProgram:
    import scipy.sparse as sp

    n = dist.shape[0]
    k = n - 1
    N = k * k
    names = [f"x_{i}_{t}" for i in range(1, n) for t in range(1, n)]
    # variable of (city i, position t), both 1-based: (i - 1) * k + (t - 1)
    c = np.zeros(N)
    cities = np.arange(1, n)
    c[(cities - 1) * k] += dist[0, cities]  # position 1 follows city 0
    c[(cities - 1) * k + (k - 1)] += dist[cities, 0]  # position k returns to city 0
    # x_{i,t} x_{j,t+1} for i != j and t = 1..k-1: (n-1)(n-2)(n-2) terms, built sparse
    ii, jj = np.meshgrid(cities, cities, indexing="ij")
    off = ii != jj
    ii, jj = ii[off], jj[off]
    tt = np.arange(1, k)
    rows = ((ii[:, None] - 1) * k + (tt[None, :] - 1)).reshape(-1)
    cols = ((jj[:, None] - 1) * k + tt[None, :]).reshape(-1)
    vals = np.repeat(dist[ii, jj], tt.size)
    Q = sp.coo_array((vals, (rows, cols)), shape=(N, N))
    A = dense_rows(2 * k, N, f"TSP {name} ({n} cities, position encoding)")
    for i in range(1, n):
        A[i - 1, (i - 1) * k : i * k] = 1.0  # city i takes one position
    for t in range(1, n):
        A[k + t - 1, (cities - 1) * k + (t - 1)] = 1.0  # position t holds one city
    cnames = [f"city_{i}" for i in range(1, n)] + [f"pos_{t}" for t in range(1, n)]
    groups = ["row"] * k + ["col"] * k
    return BinaryProgram(
        Q=Q,
        c=c,
        const=0.0,
        A=A,
        b=np.ones(2 * k),
        sense=("==",) * (2 * k),
        var_names=tuple(names),
        con_names=tuple(cnames),
        con_groups=tuple(groups),
        name=name,
        metadata=meta,
    )


def _build_edge(dist: np.ndarray, name: str, meta: dict[str, Any], subtours: bool | None) -> BinaryProgram:
    n = dist.shape[0]
    edges = list(itertools.combinations(range(n), 2))
    eidx = {e: r for r, e in enumerate(edges)}
    N = len(edges)
    E = np.array(edges, dtype=np.int64).reshape(-1, 2)
    c = dist[E[:, 0], E[:, 1]].astype(np.float64)
    A_deg = dense_rows(n, N, f"TSP {name} ({n} cities, edge encoding)")
    A_deg[E[:, 0], np.arange(N)] = 1.0
    A_deg[E[:, 1], np.arange(N)] = 1.0
    rows: list[np.ndarray] = []
    b, sense = [2.0] * n, ["=="] * n
    cnames, groups = [f"degree_{v}" for v in range(n)], ["degree"] * n
    if subtours is None:
        subtours = n <= MAX_SUBTOUR_CITIES
    meta["subtours_built"] = bool(subtours)
    n_rows, bits = subtour_slack_bits(n)
    meta["subtour_rows_total"] = n_rows
    meta["subtour_slack_bits"] = bits
    meta["unbuilt_slack_bits"] = 0 if subtours else bits
    if subtours:
        dense_rows(n_rows, N, f"TSP {name}: {n_rows} subtour rows")  # refuses before the loop
        for S in subtour_sets(n):
            row = np.zeros(N)
            for e in itertools.combinations(S, 2):
                row[eidx[e]] = 1.0
            rows.append(row)
            b.append(len(S) - 1.0)
            sense.append("<=")
            cnames.append("subtour_" + "_".join(map(str, S)))
            groups.append("subtour")
    return BinaryProgram(
        Q=zero_q(N),
        c=c,
        const=0.0,
        A=np.vstack([A_deg, *rows]) if rows else A_deg,
        b=np.array(b),
        sense=tuple(sense),
        var_names=tuple(f"e_{i}_{j}" for i, j in edges),
        con_names=tuple(cnames),
        con_groups=tuple(groups),
        name=name,
        metadata=meta,
    )


# ----------------------------------------------------------------- decoding
def _parse(program: BinaryProgram) -> tuple[str, list[tuple[int, int]]]:
    enc = program.metadata.get("encoding")
    pairs = []
    for v in program.var_names:
        parts = v.split("_")
        if len(parts) != 3:
            raise ValidationError(f"variable {v!r} is not a TSP variable name")
        pairs.append((int(parts[1]), int(parts[2])))
    return str(enc), pairs


def _degree_two_adjacency(pairs: list[tuple[int, int]], x: np.ndarray, n: int) -> dict[int, list[int]] | None:
    """Neighbours of each city under the chosen edges, or None unless every degree is 2."""
    adj: dict[int, list[int]] = {v: [] for v in range(n)}
    for (i, j), val in zip(pairs, np.asarray(x).reshape(-1), strict=True):
        if val:
            adj[i].append(j)
            adj[j].append(i)
    return adj if all(len(a) == 2 for a in adj.values()) else None


def decode(program: BinaryProgram, x: np.ndarray) -> np.ndarray | None:
    """The tour (0-based city order from city 0) that ``x`` encodes, or None.

    Variables are matched by name (``x_{city}_{pos}`` or ``e_{i}_{j}``).
    """
    enc, pairs = _parse(program)
    n = int(program.metadata["n_cities"])
    x = np.asarray(x).reshape(-1)
    if enc == "position":
        at: dict[int, list[int]] = {}
        for (i, t), val in zip(pairs, x, strict=True):
            if val:
                at.setdefault(t, []).append(i)
        if sorted(at) != list(range(1, n)) or any(len(v) != 1 for v in at.values()):
            return None
        tour = [0] + [at[t][0] for t in range(1, n)]
        return np.array(tour) if len(set(tour)) == n else None
    adj = _degree_two_adjacency(pairs, x, n)
    if adj is None:
        return None
    tour, prev, cur = [0], -1, 0
    while True:
        nxt = adj[cur][0] if adj[cur][0] != prev else adj[cur][1]
        if nxt == 0:
            break
        tour.append(nxt)
        prev, cur = cur, nxt
        if len(tour) > n:
            return None
    return np.array(tour) if len(tour) == n else None


def evaluate(program: BinaryProgram, x: np.ndarray) -> float | None:
    """Native tour length of ``x`` (no penalties), None when ``x`` is not a tour."""
    tour = decode(program, x)
    if tour is None:
        return None
    return tour_length(program.metadata["dist"], tour)


def encode(program: BinaryProgram, tour: np.ndarray | list[int]) -> np.ndarray:
    """The bit vector of ``program`` that encodes ``tour`` (rotated to start at city 0)."""
    enc, pairs = _parse(program)
    t = [int(v) for v in tour]
    n = int(program.metadata["n_cities"])
    if sorted(t) != list(range(n)):
        raise ValidationError(f"tour {t} is not a permutation of {n} cities")
    r = t.index(0)
    t = t[r:] + t[:r]
    if enc == "position":
        want = {(t[p], p) for p in range(1, n)}
    else:
        want = {tuple(sorted((t[p], t[(p + 1) % n]))) for p in range(n)}
    return np.array([1 if pr in want else 0 for pr in pairs], dtype=np.uint8)


def repair(program: BinaryProgram, x: np.ndarray) -> np.ndarray:
    """A feasible tour near ``x``.

    ``position``: the permutation agreeing with most ones of ``x`` (an
    assignment problem, ties broken by distance).  ``edge``: keep the chosen
    edges that keep every degree <= 2 and close no early cycle (shortest
    first), then join the path pieces nearest-end first.
    """
    from scipy.optimize import linear_sum_assignment

    enc, pairs = _parse(program)
    dist = np.asarray(program.metadata["dist"])
    n = dist.shape[0]
    x = np.asarray(x).reshape(-1)
    if enc == "position":
        score = np.zeros((n - 1, n - 1))
        for (i, t), val in zip(pairs, x, strict=True):
            score[i - 1, t - 1] = float(val)
        rows, cols = linear_sum_assignment(-score)
        tour = [0] * n
        for i, t in zip(rows, cols, strict=True):
            tour[t + 1] = i + 1
        return encode(program, tour)
    chosen = sorted(((dist[i, j], i, j) for (i, j), val in zip(pairs, x, strict=True) if val))
    deg = np.zeros(n, dtype=int)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    kept: list[tuple[int, int]] = []
    for _, i, j in chosen:
        if deg[i] < 2 and deg[j] < 2 and find(i) != find(j):
            kept.append((i, j))
            deg[i] += 1
            deg[j] += 1
            parent[find(i)] = find(j)
    # join path pieces: repeatedly connect the closest pair of free ends in different pieces
    while len(kept) < n - 1:
        ends = [v for v in range(n) if deg[v] < 2]
        best = None
        for a_pos, a in enumerate(ends):
            for bb in ends[a_pos + 1 :]:
                if find(a) != find(bb) and (best is None or dist[a, bb] < best[0]):
                    best = (dist[a, bb], a, bb)
        assert best is not None  # a forest of paths always has two free ends in different pieces
        _, a, bb = best
        kept.append((min(a, bb), max(a, bb)))
        deg[a] += 1
        deg[bb] += 1
        parent[find(a)] = find(bb)
    ends = [v for v in range(n) if deg[v] < 2]
    kept.append((min(ends), max(ends)))
    want = set(kept)
    return np.array([1 if pr in want else 0 for pr in pairs], dtype=np.uint8)


# -------------------------------------------------------------- lazy subtours
def find_subtours(program: BinaryProgram, X: np.ndarray) -> list[tuple[int, ...]]:
    """City sets of the subtours in the degree-feasible rows of ``X`` (edge encoding).

    Each set ``S`` is reported as the side with ``3 <= |S| <= n/2`` (the one
    holding city 0 when ``|S| = n/2``), as :func:`subtour_sets` enumerates them.
    """
    enc, pairs = _parse(program)
    if enc != "edge":
        return []
    n = int(program.metadata["n_cities"])
    import networkx as nx

    X = np.atleast_2d(np.asarray(X))
    found: set[tuple[int, ...]] = set()
    for x in X:
        adj = _degree_two_adjacency(pairs, x, n)
        if adj is None:
            continue
        graph = nx.Graph([(i, j) for i, nbrs in adj.items() for j in nbrs])
        for comp in nx.connected_components(graph):
            if len(comp) == n:
                break
            S = sorted(comp)
            if len(S) > n // 2 or (2 * len(S) == n and 0 not in S):
                S = sorted(set(range(n)) - set(S))
            if len(S) >= 3:
                found.add(tuple(S))
    return sorted(found)


def separate_subtours(program: BinaryProgram, X: np.ndarray) -> list[dict[str, list[int]]]:
    """Row specs ``{"subtour": S}`` of subtours in ``X`` whose rows the program lacks.

    Only the edge encoding built without its subtour rows (beyond
    :data:`MAX_SUBTOUR_CITIES` cities) separates them lazily; otherwise ``[]``.
    """
    meta = program.metadata
    if meta.get("encoding") != "edge" or meta.get("subtours_built", True):
        return []
    have = set(program.con_names)
    return [{"subtour": list(S)} for S in find_subtours(program, X) if _subtour_name(S) not in have]


def add_subtour_rows(program: BinaryProgram, rows: Sequence[Mapping[str, Any]]) -> BinaryProgram:
    """``program`` plus the subtour rows of the specs ``rows`` (see :func:`separate_subtours`)."""
    sets = []
    for spec in rows:
        if set(spec) != {"subtour"}:
            raise ValidationError(f"not a TSP subtour row spec: {dict(spec)!r}")
        sets.append(tuple(int(v) for v in spec["subtour"]))
    return with_subtour_rows(program, sets)


def _subtour_name(S: Sequence[int]) -> str:
    return "subtour_" + "_".join(map(str, S))


def with_subtour_rows(program: BinaryProgram, sets: list[tuple[int, ...]]) -> BinaryProgram:
    """``program`` plus the subtour rows of ``sets`` (rows already present are skipped)."""
    _, pairs = _parse(program)
    have = set(program.con_names)
    rows, names, rhs = [], [], []
    for S in sets:
        name = _subtour_name(S)
        if name in have:
            continue
        inside = set(S)
        rows.append([1.0 if (i in inside and j in inside) else 0.0 for i, j in pairs])
        names.append(name)
        rhs.append(len(S) - 1.0)
        have.add(name)
    if not rows:
        return program
    meta = dict(program.metadata)
    meta["lazy_subtour_rows"] = int(meta.get("lazy_subtour_rows", 0)) + len(rows)
    return BinaryProgram(
        Q=program.Q,
        c=program.c,
        const=program.const,
        A=np.vstack([program.A, np.array(rows)]),
        b=np.concatenate([program.b, rhs]),
        sense=(*program.sense, *("<=",) * len(rows)),
        var_names=program.var_names,
        con_names=(*program.con_names, *names),
        con_groups=(*program.con_groups, *("subtour",) * len(rows)),
        name=program.name,
        metadata=meta,
    )
