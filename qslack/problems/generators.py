"""Seeded instance generators, usable wherever an INSTANCE is (``gen:...`` specs).

- ``gen:tsp?n=6&seed=1`` — Euclidean TSP, cities uniform in ``[0, 100)^2``,
  TSPLIB ``EUC_2D`` rounding.
- ``gen:mdkp?n=16&m=5&tightness=0.25&seed=1`` — Chu–Beasley style: weights
  uniform integers in ``[0, 1000]``, ``b_i = floor(t * sum_j r_ij)``,
  ``p_j = floor(sum_i r_ij / m + 500 u_j)``.
- ``gen:mis?n=16&p=0.3&seed=1`` — Erdős–Rényi ``G(n, p)``;
  ``gen:mis?n=16&kind=unit-disk&radius=0.35&seed=1`` — random unit-disk graph.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import unquote_plus

import numpy as np

from qslack._sizes import require_memory
from qslack.exceptions import ValidationError
from qslack.formats.dimacs import Graph
from qslack.formats.orlib import MDKPInstance
from qslack.formats.tsplib import TSPInstance, distance_matrix

__all__ = ["MIS_MAX_NODES", "generate", "parse_spec", "random_mdkp", "random_mis", "random_tsp"]

#: ``G(n, p)`` visits every node pair: beyond this many nodes it takes minutes.
MIS_MAX_NODES = 10_000


def _check_seed(kind: str, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError(f"gen:{kind} needs an integer seed >= 0, got seed={seed!r}")


def random_tsp(n: int, *, seed: int = 0) -> TSPInstance:
    """Euclidean TSP with ``n`` cities (EUC_2D distances).

    Examples
    --------
    >>> random_tsp(5, seed=1).dist.shape
    (5, 5)
    """
    if n < 3:
        raise ValidationError(f"gen:tsp needs n >= 3, got n={n}")
    _check_seed("tsp", seed)
    # the distance matrix and the temporaries of its computation
    require_memory(3 * 8 * n * n, f"gen:tsp n={n}: the {n} x {n} distance matrix")
    rng = np.random.default_rng(seed)
    coords = np.round(rng.uniform(0.0, 100.0, size=(n, 2)), 2)
    dist = distance_matrix(coords, "EUC_2D")
    return TSPInstance(f"gen-tsp-n{n}-s{seed}", dist, coords, "EUC_2D", "FUNCTION", "generated", "")


def random_mdkp(n: int, m: int = 5, *, tightness: float = 0.25, seed: int = 0) -> MDKPInstance:
    """Chu–Beasley style MDKP.

    Examples
    --------
    >>> inst = random_mdkp(10, 3, tightness=0.5, seed=2)
    >>> inst.weights.shape, bool(np.all(inst.capacities > 0))
    ((3, 10), True)
    """
    if n < 1 or m < 1 or not 0.0 < tightness < 1.0:
        raise ValidationError(
            f"gen:mdkp needs n, m >= 1 and 0 < tightness < 1; got n={n} m={m} tightness={tightness}"
        )
    _check_seed("mdkp", seed)
    require_memory(3 * 8 * n * m, f"gen:mdkp n={n} m={m}: the {m} x {n} weight matrix")
    rng = np.random.default_rng(seed)
    W = rng.integers(0, 1001, size=(m, n)).astype(np.float64)
    b = np.floor(tightness * W.sum(axis=1))
    p = np.floor(W.sum(axis=0) / m + 500.0 * rng.uniform(size=n))
    return MDKPInstance(f"gen-mdkp-n{n}-m{m}-t{tightness:g}-s{seed}", p, W, b, None, "")


def random_mis(n: int, p: float = 0.3, *, kind: str = "gnp", radius: float = 0.35, seed: int = 0) -> Graph:
    """A random graph for MIS: ``G(n, p)`` or a unit-disk graph.

    Examples
    --------
    >>> random_mis(8, 0.5, seed=3).n_nodes
    8
    """
    import networkx as nx

    if not 1 <= n <= MIS_MAX_NODES:
        raise ValidationError(f"gen:mis needs 1 <= n <= {MIS_MAX_NODES}, got n={n}")
    if not 0.0 <= p <= 1.0:
        raise ValidationError(f"gen:mis needs 0 <= p <= 1, got p={p}")
    if not 0.0 < radius < math.inf:
        raise ValidationError(f"gen:mis needs a finite radius > 0, got radius={radius}")
    _check_seed("mis", seed)
    if kind not in ("gnp", "unit-disk"):
        raise ValidationError(f"unknown gen:mis kind {kind!r}; choose 'gnp' or 'unit-disk'")
    # expected edges (unit disk: at most every pair) at ~300 bytes each in networkx
    pairs = n * (n - 1) // 2
    edges = pairs * p if kind == "gnp" else pairs * min(1.0, math.pi * radius * radius)
    require_memory(int(300 * edges), f"gen:mis n={n}: a graph of about {int(edges)} edges")
    if kind == "gnp":
        g = nx.gnp_random_graph(n, p, seed=seed)
        name = f"gen-mis-n{n}-p{p:g}-s{seed}"
    else:
        g = nx.random_geometric_graph(n, radius, seed=seed)
        name = f"gen-mis-ud-n{n}-r{radius:g}-s{seed}"
    edge_arr = np.array(sorted(g.edges()), dtype=np.int64).reshape(-1, 2)
    return Graph(name, n, edge_arr, None, "")


_SPECS: dict[str, tuple[Any, dict[str, type]]] = {
    "tsp": (random_tsp, {"n": int, "seed": int}),
    "mdkp": (random_mdkp, {"n": int, "m": int, "tightness": float, "seed": int}),
    "mis": (random_mis, {"n": int, "p": float, "kind": str, "radius": float, "seed": int}),
}


def _number(kind: str, key: str, val: str, typ: type) -> Any:
    try:
        out = typ(val)
    except ValueError:
        raise ValidationError(f"gen:{kind} parameter {key}={val!r} is not a {typ.__name__}") from None
    if typ is float and not math.isfinite(out):
        raise ValidationError(f"gen:{kind} parameter {key}={val!r} is not a finite number")
    return out


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"gen:mdkp?n=16&m=5"`` -> ``("mdkp", {"n": 16, "m": 5})``.

    Unknown, repeated or malformed keys (``n`` without ``=value``) are errors
    naming the spec; ranges are checked by the generators.

    Examples
    --------
    >>> parse_spec("gen:tsp?n=6&seed=1")
    ('tsp', {'n': 6, 'seed': 1})
    >>> parse_spec("gen:tsp?n=5&n=6")
    Traceback (most recent call last):
    ...
    qslack.exceptions.ValidationError: 'gen:tsp?n=5&n=6': parameter 'n' given twice
    """
    if not spec.startswith("gen:"):
        raise ValidationError(f"not a generator spec: {spec!r}")
    body = spec[4:]
    kind, _, query = body.partition("?")
    if kind not in _SPECS:
        raise ValidationError(f"unknown generator {kind!r} in {spec!r}; choose from {sorted(_SPECS)}")
    types = _SPECS[kind][1]
    params: dict[str, Any] = {}
    for field in query.split("&") if query else []:
        key, eq, val = field.partition("=")
        if not eq or not key:
            raise ValidationError(f"{spec!r}: expected key=value, got {field!r}")
        key, val = unquote_plus(key), unquote_plus(val)
        if key not in types:
            raise ValidationError(f"unknown parameter {key!r} for gen:{kind}; accepted: {sorted(types)}")
        if key in params:
            raise ValidationError(f"{spec!r}: parameter {key!r} given twice")
        params[key] = val if types[key] is str else _number(kind, key, val, types[key])
    if "n" not in params:
        raise ValidationError(f"{spec!r} needs n=...")
    return kind, params


def generate(spec: str) -> tuple[str, Any]:
    """Build the instance a ``gen:`` spec names: ``(problem, instance)``."""
    kind, params = parse_spec(spec)
    fn = _SPECS[kind][0]
    n = params.pop("n")
    if kind == "mis" and "p" in params:
        p = params.pop("p")
        return kind, fn(n, p, **params)
    return kind, fn(n, **params)
