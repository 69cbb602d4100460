"""Classical OR-Tools baselines on the native problems.

These solvers give the optimum (or the best proven bound) that every quantum
run is compared with.  They work on the raw numbers of an instance, not on the
QUBO: a tour-length matrix for the TSP, profits / weights / capacities for the
multi-dimensional knapsack (MDKP), a graph for maximum (weight) independent set
(MIS).

- :func:`solve_tsp` -- CP-SAT ``add_circuit`` (proves optimality) or the
  OR-Tools routing solver with guided local search (heuristic, with a
  Held-Karp 1-tree lower bound).
- :func:`solve_mdkp` -- CP-SAT, ``max p.x  s.t.  W x <= b``.
- :func:`solve_mis` -- CP-SAT, ``max w.x  s.t.  x_u + x_v <= 1``.
- :func:`lp_relaxation_mdkp` -- the LP bound of the MDKP (HiGHS via scipy).

CP-SAT needs integer coefficients.  Decimal data (mknap1 problem 2 has one
decimal digit) are scaled by the smallest power of ten ``10**k`` (``k <= 6``)
that makes them integral up to ``1e-9``; values and bounds are reported in the
native units.  Data that no such power makes integral are rounded at
``10**6``: the objective then stays exact (it is recomputed from the native
data), the bound is widened by the largest possible rounding error so that it
stays valid, and ``optimal`` is only ``True`` when that widened bound still
meets the objective.  Constraint rows that cannot be scaled exactly are
rounded conservatively (weights up, capacities down), so every solution
returned is feasible for the native data; the bound then comes from the LP
relaxation.  ``info["scale"]`` and ``info["rounded"]`` record what was done.

OR-Tools is imported inside the functions, never at module import.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack._cpsat import Scaled, new_solver, solve, to_integers
from qslack.exceptions import ValidationError

__all__ = [
    "BaselineResult",
    "lp_relaxation_mdkp",
    "solve_mdkp",
    "solve_mis",
    "solve_tsp",
    "tsp_lower_bound",
]

_MAX_DIGITS = 6
_INT_TOL = 1e-9
_ROUNDING = 10.0**_MAX_DIGITS  # scale of rounded data (no exact 10**k up to 10**6)


def _scale(values: np.ndarray, what: str) -> Scaled:
    """Data as CP-SAT integers (exact at the smallest 10**k <= 10**6, else rounded at 10**6)."""
    return to_integers(values, max_digits=_MAX_DIGITS, abs_tol=_INT_TOL, fallback_scale=_ROUNDING, what=what)


# --------------------------------------------------------------------------- #
# Result type
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class BaselineResult:
    """Result of a classical baseline solve, in the problem's native sense.

    Attributes
    ----------
    problem : str
        ``"tsp"``, ``"mdkp"`` or ``"mis"``.
    objective : float
        Value of ``solution`` in the native sense: tour length (minimised),
        total profit or independent-set weight (maximised).  ``nan`` when no
        solution was found.
    bound : float
        Best proven bound in the native sense (a lower bound for the TSP, an
        upper bound for MDKP and MIS); equal to ``objective`` when the
        solution is proven optimal, ``nan`` when none is known.
    optimal : bool
        ``True`` when ``solution`` is proven optimal for the native data.
    status : str
        The solver's status name: CP-SAT's ``"OPTIMAL"``, ``"FEASIBLE"``,
        ``"INFEASIBLE"``, ``"MODEL_INVALID"``, ``"UNKNOWN"``; for the routing
        solver ``"FEASIBLE"`` (``"OPTIMAL"`` when the lower bound meets the
        tour) or ``"UNKNOWN"``.
    solution : numpy.ndarray
        TSP: the tour as 0-based cities, starting at city 0, each city once
        (the return to 0 is implied).  MDKP / MIS: 0/1 vector (``uint8``).
        Empty when no solution was found.
    wall_s : float
        Wall-clock seconds spent in the solver call.
    solver : str
        ``"cp-sat"`` or ``"routing-gls"``.
    info : dict
        Extra facts: ``scale`` (the power of ten the objective was multiplied
        by), ``rounded``, ``time_limit``, ``workers``, ``seed`` and
        solver-specific entries.

    Examples
    --------
    >>> import numpy as np
    >>> r = solve_mis(3, np.array([[0, 1], [1, 2]]))
    >>> r.objective, r.optimal, r.solution.tolist()
    (2.0, True, [1, 0, 1])
    >>> r.to_dict()["solution"]
    [1, 0, 1]
    """

    problem: str
    objective: float
    bound: float
    optimal: bool
    status: str
    solution: np.ndarray
    wall_s: float
    solver: str
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def gap(self) -> float:
        """Relative gap between bound and objective (``>= 0``; ``nan`` if unknown).

        ``(objective - bound) / |objective|`` for the TSP (minimisation) and
        ``(bound - objective) / |objective|`` for MDKP and MIS.
        """
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return math.nan
        diff = self.objective - self.bound if self.problem == "tsp" else self.bound - self.objective
        return max(diff, 0.0) / max(abs(self.objective), 1e-12)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary (lists for arrays, ``None`` for ``nan``).

        Returns
        -------
        dict
            The fields, with ``solution`` as a list of ints, non-finite floats
            as ``None``, plus ``gap``.
        """

        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, np.ndarray):
                return clean(v.tolist())
            if isinstance(v, (np.bool_, bool)):
                return bool(v)
            if isinstance(v, (np.integer, int)):
                return int(v)
            if isinstance(v, (np.floating, float)):
                f = float(v)
                return f if math.isfinite(f) else None
            return v

        return {
            "problem": self.problem,
            "objective": clean(self.objective),
            "bound": clean(self.bound),
            "optimal": bool(self.optimal),
            "status": self.status,
            "solution": [int(v) for v in np.asarray(self.solution).ravel()],
            "wall_s": float(self.wall_s),
            "solver": self.solver,
            "gap": clean(self.gap),
            "info": clean(self.info),
        }


# --------------------------------------------------------------------------- #
# Helpers: validation and decimal scaling
# --------------------------------------------------------------------------- #
def _as_float_array(x: Any, name: str, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if a.ndim != ndim:
        raise ValidationError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValidationError(f"{name} contains non-finite values (nan or inf)")
    return a


def _check_options(time_limit: float, workers: int, seed: int) -> None:
    if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
        raise ValidationError(f"time_limit must be a positive number, got {time_limit!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValidationError(f"workers must be an integer >= 1, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValidationError(f"seed must be an integer, got {seed!r}")











def _cp_status_name(solver: Any, status: Any) -> str:
    return str(solver.status_name(status))




def _weighted_sum(coefs: Any, lits: list[Any]) -> Any:
    """CP-SAT linear expression ``sum c_j lit_j`` over the non-zero integer ``c_j``."""
    from ortools.sat.python import cp_model

    pairs = [(int(c), v) for c, v in zip(coefs, lits, strict=True) if int(c) != 0]
    return cp_model.LinearExpr.weighted_sum([v for _, v in pairs], [c for c, _ in pairs])


def _info(time_limit: float, workers: int, seed: int, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "time_limit": float(time_limit),
        "workers": int(workers),
        "seed": int(seed),
    }
    d.update(extra)
    return d


def _import_ortools() -> None:
    try:
        import ortools  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from qslack.exceptions import DependencyError

        raise DependencyError(
            "the OR-Tools baselines need the 'ortools' package: pip install ortools"
        ) from exc


# --------------------------------------------------------------------------- #
# TSP
# --------------------------------------------------------------------------- #
def _validate_dist(dist: Any) -> np.ndarray:
    d = _as_float_array(dist, "dist", 2)
    n = d.shape[0]
    if d.shape != (n, n):
        raise ValidationError(f"dist must be a square matrix, got shape {d.shape}")
    if n < 3:
        raise ValidationError(f"a TSP needs at least 3 cities, got {n}")
    off = ~np.eye(n, dtype=bool)
    if np.any(d[off] < 0):
        i, j = np.argwhere((d < 0) & off)[0]
        raise ValidationError(f"dist has a negative entry: dist[{i}, {j}] = {d[i, j]}")
    tol = 1e-9 * np.maximum(1.0, np.abs(d))
    if np.any(np.abs(d - d.T) > tol):
        i, j = np.argwhere(np.abs(d - d.T) > tol)[0]
        raise ValidationError(
            f"dist must be symmetric: dist[{i}, {j}] = {d[i, j]} but dist[{j}, {i}] = {d[j, i]}"
        )
    d = 0.5 * (d + d.T)  # exact for symmetric data; removes round-off asymmetry
    np.fill_diagonal(d, 0.0)  # the diagonal is never used
    return d


def _canonical_tour(tour: list[int]) -> np.ndarray:
    """Start at city 0 and run in the direction whose second city is the smaller."""
    t = np.asarray(tour, dtype=np.int64)
    t = np.roll(t, -int(np.flatnonzero(t == 0)[0]))
    if t.size > 2 and t[1] > t[-1]:
        t = np.concatenate([t[:1], t[1:][::-1]])
    return t


def _tour_length(d: np.ndarray, tour: np.ndarray) -> float:
    return float(d[tour, np.roll(tour, -1)].sum())


def _one_tree(w: np.ndarray) -> tuple[float, np.ndarray]:
    """Minimum 1-tree (special node 0) of the weight matrix ``w``: value and degrees."""
    n = w.shape[0]
    deg = np.zeros(n, dtype=np.int64)
    # Prim on nodes 1..n-1.
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    in_tree[1] = True
    best = w[1].copy()
    parent = np.full(n, 1, dtype=np.int64)
    total = 0.0
    for _ in range(n - 2):
        cand = np.where(in_tree, np.inf, best)
        j = int(np.argmin(cand))
        total += float(best[j])
        deg[j] += 1
        deg[parent[j]] += 1
        in_tree[j] = True
        closer = w[j] < best
        best = np.where(closer, w[j], best)
        parent = np.where(closer, j, parent)
    # Two cheapest edges at node 0.
    row = w[0, 1:]
    two = np.argpartition(row, 1)[:2] + 1
    total += float(w[0, two].sum())
    deg[0] = 2
    deg[two] += 1
    return total, deg


def tsp_lower_bound(dist: np.ndarray, *, n_iter: int = 200) -> float:
    """Held-Karp lower bound on the shortest tour (1-tree with node penalties).

    Subgradient ascent on the node penalties ``pi``: for every ``pi`` the
    minimum 1-tree on ``d_ij + pi_i + pi_j`` minus ``2 sum(pi)`` is a valid
    lower bound; the best one found is returned (rounded up when every
    distance is an integer).

    Parameters
    ----------
    dist : (n, n) array_like
        Symmetric non-negative distances, ``n >= 3``.
    n_iter : int, default 200
        Subgradient iterations (each costs one ``O(n^2)`` Prim pass).

    Returns
    -------
    float
        A lower bound on the optimal tour length.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [0, 3], [4, 3], [4, 0]])
    >>> d = np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1))
    >>> tsp_lower_bound(d)  # the rectangle's perimeter is the optimum
    14.0
    """
    d = _validate_dist(dist)
    n = d.shape[0]
    integral = to_integers(d, max_digits=0, abs_tol=_INT_TOL, fallback_scale=1.0).exact
    pi = np.zeros(n)
    best = -math.inf
    # Step size: Held & Karp / Volgenant & Jonker style, from an upper estimate.
    upper = _nearest_neighbour_length(d)
    t = 0.01 * upper / n if upper > 0 else 0.0
    prev_sub = np.zeros(n)
    no_improve = 0
    for _ in range(max(1, int(n_iter))):
        w = d + pi[:, None] + pi[None, :]
        val, deg = _one_tree(w)
        val -= 2.0 * pi.sum()
        if val > best + 1e-12:
            best = val
            no_improve = 0
        else:
            no_improve += 1
            if no_improve >= 10:
                t *= 0.5
                no_improve = 0
        sub = (deg - 2).astype(float)
        if not sub.any() or t < 1e-12 * max(1.0, upper / n):
            break
        pi = pi + t * (0.7 * sub + 0.3 * prev_sub)
        prev_sub = sub
    # Guard the floating-point sums (their error is ~1e-14 relative).
    best -= 1e-10 * max(1.0, abs(best))
    if integral:
        best = float(math.ceil(best))
    return float(best)


def _nearest_neighbour_length(d: np.ndarray) -> float:
    n = d.shape[0]
    seen = np.zeros(n, dtype=bool)
    cur, total = 0, 0.0
    seen[0] = True
    for _ in range(n - 1):
        row = np.where(seen, np.inf, d[cur])
        nxt = int(np.argmin(row))
        total += float(d[cur, nxt])
        seen[nxt] = True
        cur = nxt
    return total + float(d[cur, 0])


def solve_tsp(
    dist: np.ndarray,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
    method: str = "auto",
    seed: int = 0,
) -> BaselineResult:
    """Shortest Hamiltonian cycle of a symmetric distance matrix.

    Parameters
    ----------
    dist : (n, n) array_like
        Symmetric, non-negative distances; ``n >= 3``.  The diagonal is
        ignored.  Non-integer data are scaled by a power of ten (see the
        module notes) and reported in native units.
    time_limit : float, default 30.0
        Seconds given to the solver.
    workers : int, default 2
        CP-SAT search workers (unused by the routing solver).
    method : {"auto", "cp-sat", "routing"}, default "auto"
        ``"cp-sat"``: ``add_circuit`` over the arcs ``i -> j`` in both
        directions, minimising ``sum d_ij arc_ij``; proves optimality.
        ``"routing"``: the routing solver (path-cheapest-arc start, guided
        local search until ``time_limit``); a heuristic, with the Held-Karp
        bound of :func:`tsp_lower_bound` as ``bound`` (``optimal`` only when
        that bound meets the tour).  ``"auto"``: CP-SAT when ``n <= 60``,
        else routing.
    seed : int, default 0
        CP-SAT random seed (the routing search is deterministic).

    Returns
    -------
    BaselineResult
        ``solution`` is the tour as 0-based cities starting at 0, oriented so
        that ``solution[1] < solution[-1]``.

    Raises
    ------
    ValidationError
        Non-square, asymmetric, negative or non-finite distances, ``n < 3``,
        an unknown ``method`` or bad options.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [0, 3], [4, 3], [4, 0]])
    >>> d = np.rint(np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1)))
    >>> r = solve_tsp(d, time_limit=5)
    >>> r.objective, r.optimal, r.solution.tolist()
    (14.0, True, [0, 1, 2, 3])
    """
    _check_options(time_limit, workers, seed)
    if method not in ("auto", "cp-sat", "routing"):
        raise ValidationError(f"unknown TSP method {method!r}; use 'auto', 'cp-sat' or 'routing'")
    d = _validate_dist(dist)
    n = d.shape[0]
    _import_ortools()
    if method == "auto":
        method = "cp-sat" if n <= 60 else "routing"
    iu = np.triu_indices(n, 1)
    sc = _scale(d[iu], "distances")
    di = np.zeros((n, n), dtype=np.int64)
    di[iu] = sc.ints
    di = di + di.T
    if method == "cp-sat":
        return _solve_tsp_cpsat(d, di, sc, time_limit, workers, seed)
    return _solve_tsp_routing(d, di, sc, time_limit, workers, seed)


def _rounding_slack_tsp(sc: Scaled, n: int) -> float:
    """Largest amount by which rounding can overstate a tour's native length."""
    if sc.exact:
        return 0.0
    # native = scaled/scale + sum of err over the n tour edges >= ... + sum of n smallest err.
    err = np.sort(sc.err)[:n]
    return float(-min(err.sum(), 0.0))


def _solve_tsp_cpsat(
    d: np.ndarray, di: np.ndarray, sc: Scaled, time_limit: float, workers: int, seed: int
) -> BaselineResult:
    from ortools.sat.python import cp_model

    n = d.shape[0]
    model = cp_model.CpModel()
    arcs = []
    lits: dict[tuple[int, int], Any] = {}
    for i in range(n):
        for j in range(n):
            if i != j:
                lit = model.new_bool_var(f"a{i}_{j}")
                lits[i, j] = lit
                arcs.append((i, j, lit))
    model.add_circuit(arcs)
    keys = list(lits)
    model.minimize(_weighted_sum([di[i, j] for i, j in keys], [lits[k] for k in keys]))
    solver = new_solver(time_limit, workers, seed)
    t0 = time.perf_counter()
    status = solve(solver, model)
    wall = time.perf_counter() - t0
    name = _cp_status_name(solver, status)
    info = _info(time_limit, workers, seed, scale=sc.scale, rounded=not sc.exact, method="cp-sat")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return BaselineResult(
            "tsp", math.nan, math.nan, False, name, np.zeros(0, np.int64), wall, "cp-sat", info
        )
    succ = {i: j for (i, j), lit in lits.items() if solver.boolean_value(lit)}
    tour = [0]
    while len(tour) < n:
        tour.append(succ[tour[-1]])
    tour_arr = _canonical_tour(tour)
    if sc.exact:
        objective = float(solver.objective_value) / sc.scale
        bound = float(solver.best_objective_bound) / sc.scale
    else:
        objective = _tour_length(d, tour_arr)
        bound = float(solver.best_objective_bound) / sc.scale - _rounding_slack_tsp(sc, n)
        bound = max(bound, tsp_lower_bound(d))
        info["bound_method"] = "max(cp-sat widened, held-karp-1-tree)"
    proven = status == cp_model.OPTIMAL
    optimal, bound = _settle(objective, bound, proven and sc.exact, minimise=True)
    return BaselineResult("tsp", objective, bound, optimal, name, tour_arr, wall, "cp-sat", info)


def _settle(
    objective: float, bound: float, exact_optimal: bool, *, minimise: bool
) -> tuple[bool, float]:
    """Decide ``optimal`` and tidy the bound (never past the objective)."""
    if exact_optimal:
        return True, objective
    if not math.isfinite(bound):
        return False, bound
    tol = 1e-9 * max(1.0, abs(objective))
    if minimise:
        if bound >= objective - tol:
            return True, objective
        return False, bound
    if bound <= objective + tol:
        return True, objective
    return False, bound


def _solve_tsp_routing(
    d: np.ndarray, di: np.ndarray, sc: Scaled, time_limit: float, workers: int, seed: int
) -> BaselineResult:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = d.shape[0]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    rows = [[int(v) for v in row] for row in di]
    if hasattr(routing, "RegisterTransitMatrix"):
        cb = routing.RegisterTransitMatrix(rows)
    else:  # pragma: no cover - older OR-Tools

        def _cb(a: int, b: int) -> int:
            return rows[manager.IndexToNode(a)][manager.IndexToNode(b)]

        cb = routing.RegisterTransitCallback(_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    ms = max(1, round(time_limit * 1000))
    params.time_limit.seconds = ms // 1000
    params.time_limit.nanos = (ms % 1000) * 1_000_000
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    wall = time.perf_counter() - t0
    info = _info(time_limit, workers, seed, scale=sc.scale, rounded=not sc.exact, method="routing")
    info["routing_status"] = int(routing.status())
    if sol is None:
        return BaselineResult(
            "tsp",
            math.nan,
            math.nan,
            False,
            "UNKNOWN",
            np.zeros(0, np.int64),
            wall,
            "routing-gls",
            info,
        )
    tour = []
    idx = routing.Start(0)
    while not routing.IsEnd(idx):
        tour.append(manager.IndexToNode(idx))
        idx = sol.Value(routing.NextVar(idx))
    tour_arr = _canonical_tour(tour)
    objective = float(di[tour_arr, np.roll(tour_arr, -1)].sum()) / sc.scale
    if not sc.exact:
        objective = _tour_length(d, tour_arr)
    t1 = time.perf_counter()
    bound = tsp_lower_bound(d)
    info["bound_s"] = time.perf_counter() - t1
    info["bound_method"] = "held-karp-1-tree"
    optimal, bound = _settle(objective, bound, False, minimise=True)
    status = "OPTIMAL" if optimal else "FEASIBLE"
    return BaselineResult(
        "tsp", objective, bound, optimal, status, tour_arr, wall, "routing-gls", info
    )


# --------------------------------------------------------------------------- #
# MDKP
# --------------------------------------------------------------------------- #
def _validate_mdkp(
    profits: Any, weights: Any, capacities: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = _as_float_array(profits, "profits", 1)
    if np.ndim(weights) == 1:  # a single capacity row
        w = _as_float_array(weights, "weights", 1)[None, :]
    else:
        w = _as_float_array(weights, "weights", 2)
    b = _as_float_array(np.atleast_1d(np.asarray(capacities, dtype=float)), "capacities", 1)
    n = p.shape[0]
    if n == 0:
        raise ValidationError("profits is empty: an MDKP needs at least one item")
    if w.shape[1] != n:
        raise ValidationError(f"weights has {w.shape[1]} columns but there are {n} profits")
    if b.shape[0] != w.shape[0]:
        raise ValidationError(
            f"capacities has {b.shape[0]} entries but weights has {w.shape[0]} rows"
        )
    return p, w, b


def lp_relaxation_mdkp(
    profits: np.ndarray, weights: np.ndarray, capacities: np.ndarray
) -> tuple[float, np.ndarray]:
    """LP relaxation of the MDKP: ``max p.x  s.t.  W x <= b, 0 <= x <= 1`` (HiGHS).

    Parameters
    ----------
    profits : (n,) array_like
    weights : (m, n) array_like
        One row per capacity constraint (a 1-D array is one row).
    capacities : (m,) array_like

    Returns
    -------
    bound : float
        The LP optimum, an upper bound on the integer optimum (``-inf`` when
        the LP is infeasible).
    x : numpy.ndarray
        The LP solution (``nan`` entries when infeasible).

    Raises
    ------
    ValidationError
        Inconsistent shapes or non-finite data.

    Examples
    --------
    >>> bound, x = lp_relaxation_mdkp([10, 6, 4], [[5, 4, 3]], [7])
    >>> round(bound, 6), x.round(3).tolist()
    (13.0, [1.0, 0.5, 0.0])
    """
    from scipy.optimize import linprog

    p, w, b = _validate_mdkp(profits, weights, capacities)
    res = linprog(-p, A_ub=w, b_ub=b, bounds=[(0.0, 1.0)] * p.shape[0], method="highs")
    if res.status == 2:
        return -math.inf, np.full(p.shape[0], np.nan)
    if res.status != 0:  # pragma: no cover - bounded LP: only numerical trouble gets here
        from qslack.exceptions import QslackError

        raise QslackError(f"HiGHS failed on the MDKP LP relaxation: {res.message}")
    return float(-res.fun), np.asarray(res.x, dtype=float)


def solve_mdkp(
    profits: np.ndarray,
    weights: np.ndarray,
    capacities: np.ndarray,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
    seed: int = 0,
) -> BaselineResult:
    """Multi-dimensional knapsack ``max p.x  s.t.  W x <= b,  x in {0,1}^n`` (CP-SAT).

    Parameters
    ----------
    profits : (n,) array_like
    weights : (m, n) array_like
        One row per capacity constraint (a 1-D array is one row).
    capacities : (m,) array_like
    time_limit : float, default 30.0
        Seconds given to CP-SAT.
    workers : int, default 2
        CP-SAT search workers.
    seed : int, default 0
        CP-SAT random seed.

    Returns
    -------
    BaselineResult
        ``solution`` is the 0/1 item vector; ``bound`` is CP-SAT's best
        objective bound (an upper bound) in native units.

    Raises
    ------
    ValidationError
        Inconsistent shapes, non-finite data or bad options.

    Notes
    -----
    Decimal data are scaled row by row (each constraint row together with its
    capacity, and the profits separately) by the smallest power of ten that
    makes them integral -- mknap1 problem 2 is solved exactly and reported as
    8706.1.

    Examples
    --------
    >>> r = solve_mdkp([10, 6, 4], [[5, 4, 3], [1, 1, 1]], [7, 2], time_limit=5)
    >>> r.objective, r.optimal, r.solution.tolist()
    (10.0, True, [1, 0, 0])
    """
    _check_options(time_limit, workers, seed)
    p, w, b = _validate_mdkp(profits, weights, capacities)
    _import_ortools()
    m = w.shape[0]
    ps = _scale(p, "profits")
    rows_rounded: list[int] = []
    inner: list[tuple[np.ndarray, int]] = []  # restriction: weights up, capacity down
    outer: list[tuple[np.ndarray, int]] = []  # relaxation: weights down, capacity up
    for i in range(m):
        row_sc = _scale(np.append(w[i], b[i]), f"weights row {i}")
        if row_sc.exact:
            inner.append((row_sc.ints[:-1], int(row_sc.ints[-1])))
            outer.append(inner[-1])
            continue
        rows_rounded.append(i)
        hi = np.append(np.ceil(w[i] * _ROUNDING - 1e-9), np.floor(b[i] * _ROUNDING + 1e-9))
        lo = np.append(np.floor(w[i] * _ROUNDING + 1e-9), np.ceil(b[i] * _ROUNDING - 1e-9))
        inner.append((hi[:-1].astype(np.int64), int(hi[-1])))
        outer.append((lo[:-1].astype(np.int64), int(lo[-1])))
    info = _info(
        time_limit, workers, seed, scale=ps.scale, rounded=not ps.exact, rows_rounded=rows_rounded
    )
    status, sol, obj_scaled, bound_scaled, wall = _solve_knapsack_cpsat(
        ps.ints, inner, time_limit, workers, seed
    )
    if sol is None:
        bound = -math.inf if status == "INFEASIBLE" and not rows_rounded else math.nan
        return BaselineResult(
            "mdkp", math.nan, bound, False, status, np.zeros(0, np.uint8), wall, "cp-sat", info
        )
    objective = obj_scaled / ps.scale + 0.0 if ps.exact else float(p @ sol)
    if rows_rounded:
        # Every solution of the restricted model is feasible for the native data;
        # a second solve on the relaxed rounding gives a valid upper bound.
        _, _, _, outer_bound, wall2 = _solve_knapsack_cpsat(
            ps.ints, outer, time_limit, workers, seed
        )
        wall += wall2
        bound = outer_bound / ps.scale
        info["bound_method"] = "cp-sat on the relaxed rounding"
    else:
        bound = bound_scaled / ps.scale
    if not ps.exact:
        bound += float(np.clip(ps.err, 0.0, None).sum())
    exact_opt = status == "OPTIMAL" and ps.exact and not rows_rounded
    optimal, bound = _settle(objective, bound, exact_opt, minimise=False)
    return BaselineResult("mdkp", objective, bound, optimal, status, sol, wall, "cp-sat", info)


def _solve_knapsack_cpsat(
    profit_ints: np.ndarray,
    rows: list[tuple[np.ndarray, int]],
    time_limit: float,
    workers: int,
    seed: int,
) -> tuple[str, np.ndarray | None, float, float, float]:
    """Solve ``max c.x  s.t.  a_i.x <= b_i`` over integers: status, x, objective, bound, wall."""
    from ortools.sat.python import cp_model

    n = profit_ints.shape[0]
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(n)]
    for coefs, cap in rows:
        model.add(_weighted_sum(coefs, x) <= cap)
    model.maximize(_weighted_sum(profit_ints, x))
    solver = new_solver(time_limit, workers, seed)
    t0 = time.perf_counter()
    status = solve(solver, model)
    wall = time.perf_counter() - t0
    name = _cp_status_name(solver, status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, None, math.nan, math.nan, wall
    sol = np.array([solver.boolean_value(v) for v in x], dtype=np.uint8)
    return name, sol, float(solver.objective_value), float(solver.best_objective_bound), wall


# --------------------------------------------------------------------------- #
# MIS
# --------------------------------------------------------------------------- #
def _validate_graph(n_nodes: Any, edges: Any, weights: Any) -> tuple[int, np.ndarray, np.ndarray]:
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 0:
        raise ValidationError(f"n_nodes must be a non-negative integer, got {n_nodes!r}")
    n = int(n_nodes)
    e = np.asarray(edges)
    if e.size == 0:
        e = np.zeros((0, 2), dtype=np.int64)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValidationError(f"edges must have shape (E, 2), got {e.shape}")
    if not np.issubdtype(e.dtype, np.integer):
        ef = np.asarray(e, dtype=float)
        if not np.all(np.isfinite(ef)) or not np.all(ef == np.rint(ef)):
            raise ValidationError("edges must hold integer node indices")
        e = ef.astype(np.int64)
    e = e.astype(np.int64)
    if e.size and (e.min() < 0 or e.max() >= n):
        raise ValidationError(
            f"edges refer to nodes outside 0..{n - 1} (min {e.min()}, max {e.max()}); "
            "edges are 0-based"
        )
    loops = e[:, 0] == e[:, 1]
    if np.any(loops):
        raise ValidationError(f"edges contain a self-loop at node {int(e[loops][0, 0])}")
    if weights is None:
        w = np.ones(n)
    else:
        w = _as_float_array(weights, "weights", 1)
        if w.shape[0] != n:
            raise ValidationError(f"weights has {w.shape[0]} entries but n_nodes is {n}")
    return n, e, w


def solve_mis(
    n_nodes: int,
    edges: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
    seed: int = 0,
) -> BaselineResult:
    """Maximum (weight) independent set ``max w.x  s.t.  x_u + x_v <= 1`` (CP-SAT).

    Parameters
    ----------
    n_nodes : int
        Number of nodes (0-based ids ``0..n_nodes-1``).
    edges : (E, 2) array_like of int
        Undirected edges, 0-based; duplicates are harmless, self-loops are an
        error.
    weights : (n_nodes,) array_like, optional
        Node weights (default 1: the independence number alpha).
    time_limit : float, default 30.0
        Seconds given to CP-SAT.
    workers : int, default 2
        CP-SAT search workers.
    seed : int, default 0
        CP-SAT random seed.

    Returns
    -------
    BaselineResult
        ``solution`` is the 0/1 membership vector.

    Raises
    ------
    ValidationError
        Bad shapes, out-of-range or self-loop edges, non-finite weights.

    Examples
    --------
    >>> import numpy as np
    >>> cycle5 = np.array([[i, (i + 1) % 5] for i in range(5)])
    >>> r = solve_mis(5, cycle5, time_limit=5)
    >>> r.objective, r.optimal, int(r.solution.sum())
    (2.0, True, 2)
    """
    _check_options(time_limit, workers, seed)
    n, e, w = _validate_graph(n_nodes, edges, weights)
    _import_ortools()
    from ortools.sat.python import cp_model

    ws = _scale(w, "weights")
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(n)]
    for u, v in {(min(a, b), max(a, b)) for a, b in e.tolist()}:
        model.add_bool_or([x[u].Not(), x[v].Not()])  # x_u + x_v <= 1
    model.maximize(_weighted_sum(ws.ints, x))
    solver = new_solver(time_limit, workers, seed)
    t0 = time.perf_counter()
    status = solve(solver, model)
    wall = time.perf_counter() - t0
    name = _cp_status_name(solver, status)
    info = _info(time_limit, workers, seed, scale=ws.scale, rounded=not ws.exact)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return BaselineResult(
            "mis", math.nan, math.nan, False, name, np.zeros(0, np.uint8), wall, "cp-sat", info
        )
    sol = np.array([solver.boolean_value(v) for v in x], dtype=np.uint8)
    if ws.exact:
        objective = float(solver.objective_value) / ws.scale + 0.0
        bound = float(solver.best_objective_bound) / ws.scale
    else:
        objective = float(w @ sol)
        bound = float(solver.best_objective_bound) / ws.scale
        bound += float(np.clip(ws.err, 0.0, None).sum())
    exact_opt = status == cp_model.OPTIMAL and ws.exact
    optimal, bound = _settle(objective, bound, exact_opt, minimise=False)
    return BaselineResult("mis", objective, bound, optimal, name, sol, wall, "cp-sat", info)
