"""Tests of the classical OR-Tools baselines (qslack.baselines.ortools).

Every solver is checked against brute force on small seeded instances, its
solutions are checked for validity with their objective recomputed from the
data, and the fast subset of the shipped benchmark files must reproduce the
published optima.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from qslack.baselines.ortools import (
    BaselineResult,
    lp_relaxation_mdkp,
    solve_mdkp,
    solve_mis,
    solve_tsp,
    tsp_lower_bound,
)
from qslack.exceptions import ValidationError
from qslack.formats import dimacs, orlib, tsplib

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
TL = 20.0  # generous limits: these instances solve in milliseconds


# --------------------------------------------------------------------------- #
# brute-force oracles
# --------------------------------------------------------------------------- #
def brute_tsp(d: np.ndarray) -> float:
    n = d.shape[0]
    perms = np.array(list(itertools.permutations(range(1, n))), dtype=np.int64)
    tours = np.hstack([np.zeros((len(perms), 1), dtype=np.int64), perms])
    lengths = d[tours, np.roll(tours, -1, axis=1)].sum(axis=1)
    return float(lengths.min())


def all_bits(n: int) -> np.ndarray:
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def brute_mdkp(p: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    bits = all_bits(p.shape[0]).astype(float)
    ok = np.all(bits @ w.T <= b + 1e-9, axis=1)
    return float((bits @ p)[ok].max())


def brute_mis(n: int, edges: np.ndarray, weights: np.ndarray) -> float:
    bits = all_bits(n)
    ok = np.ones(len(bits), dtype=bool)
    for u, v in edges:
        ok &= ~((bits[:, u] == 1) & (bits[:, v] == 1))
    return float((bits.astype(float) @ weights)[ok].max())


def random_dist(rng: np.random.Generator, n: int, *, integral: bool = True) -> np.ndarray:
    pts = rng.random((n, 2)) * 100
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    return np.rint(d) if integral else d


def random_graph(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    iu = np.array(np.triu_indices(n, 1)).T
    return iu[rng.random(len(iu)) < p]


# --------------------------------------------------------------------------- #
# validity checks shared by the tests
# --------------------------------------------------------------------------- #
def check_tour(r: BaselineResult, d: np.ndarray) -> None:
    n = d.shape[0]
    tour = np.asarray(r.solution)
    assert tour.shape == (n,)
    assert tour[0] == 0
    assert sorted(tour.tolist()) == list(range(n))  # a Hamiltonian cycle
    assert math.isclose(float(d[tour, np.roll(tour, -1)].sum()), r.objective, rel_tol=1e-12)
    assert r.bound <= r.objective + 1e-9 * abs(r.objective)
    if r.optimal:
        assert r.bound == r.objective


def check_knapsack(r: BaselineResult, p: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    x = np.asarray(r.solution)
    assert x.dtype == np.uint8 and x.shape == p.shape
    assert set(np.unique(x).tolist()) <= {0, 1}
    assert np.all(w @ x <= b + 1e-9)  # satisfies every capacity
    assert math.isclose(float(p @ x), r.objective, rel_tol=1e-12, abs_tol=1e-12)
    assert r.bound >= r.objective - 1e-9 * abs(r.objective)
    if r.optimal:
        assert r.bound == r.objective


def check_independent(r: BaselineResult, edges: np.ndarray, weights: np.ndarray) -> None:
    x = np.asarray(r.solution)
    assert x.dtype == np.uint8 and x.shape == weights.shape
    assert not np.any((x[edges[:, 0]] == 1) & (x[edges[:, 1]] == 1))  # independent
    assert math.isclose(float(weights @ x), r.objective, rel_tol=1e-12, abs_tol=1e-12)
    assert r.bound >= r.objective - 1e-9 * abs(r.objective)
    if r.optimal:
        assert r.bound == r.objective


# --------------------------------------------------------------------------- #
# TSP
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n", [5, 6, 7, 8])
def test_tsp_cpsat_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    for _ in range(2):
        d = random_dist(rng, n)
        r = solve_tsp(d, time_limit=TL, method="cp-sat", seed=n)
        assert r.problem == "tsp" and r.solver == "cp-sat"
        assert r.status == "OPTIMAL" and r.optimal
        check_tour(r, d)
        assert r.objective == brute_tsp(d)
        assert r.solution[1] < r.solution[-1]  # canonical orientation


def test_tsp_decimal_distances_are_scaled_exactly() -> None:
    rng = np.random.default_rng(7)
    d = np.round(random_dist(rng, 7, integral=False), 2)
    r = solve_tsp(d, time_limit=TL)
    check_tour(r, d)
    assert r.info["scale"] == 100 and r.info["rounded"] is False
    assert r.optimal
    assert math.isclose(r.objective, brute_tsp(d), rel_tol=1e-12)


def test_tsp_real_distances_keep_a_valid_bound() -> None:
    rng = np.random.default_rng(8)
    d = random_dist(rng, 7, integral=False)  # irrational: rounded at 1e-6
    r = solve_tsp(d, time_limit=TL)
    check_tour(r, d)
    opt = brute_tsp(d)
    assert r.info["rounded"] is True
    assert math.isclose(r.objective, opt, rel_tol=1e-9)
    assert r.bound <= opt + 1e-12 * opt
    assert r.objective - r.bound <= 1e-5  # widened by at most n * 0.5e-6 + round-off


def test_tsp_routing_heuristic_and_bound() -> None:
    rng = np.random.default_rng(11)
    d = random_dist(rng, 8)
    opt = brute_tsp(d)
    r = solve_tsp(d, time_limit=0.3, method="routing")
    assert r.solver == "routing-gls"
    check_tour(r, d)
    assert r.objective >= opt
    assert r.bound <= opt
    assert r.info["bound_method"] == "held-karp-1-tree"
    assert r.optimal == (r.bound == r.objective)


def test_tsp_auto_uses_routing_beyond_60_cities() -> None:
    rng = np.random.default_rng(3)
    d = random_dist(rng, 61)
    r = solve_tsp(d, time_limit=0.5)
    assert r.solver == "routing-gls"
    check_tour(r, d)
    assert 0 < r.bound <= r.objective
    assert r.gap < 0.1  # Held-Karp is within a few percent on random Euclidean data


@pytest.mark.parametrize("n", [5, 6, 7, 8])
def test_held_karp_bound_is_a_lower_bound(n: int) -> None:
    rng = np.random.default_rng(200 + n)
    d = random_dist(rng, n)
    lb = tsp_lower_bound(d)
    opt = brute_tsp(d)
    assert lb <= opt
    assert lb >= 0.8 * opt  # and not a trivial one
    assert lb == math.ceil(lb)  # integral data give an integral bound


def test_tsp_bad_input() -> None:
    good = random_dist(np.random.default_rng(0), 5)
    with pytest.raises(ValidationError, match="square"):
        solve_tsp(good[:, :4])
    with pytest.raises(ValidationError, match="at least 3"):
        solve_tsp(good[:2, :2])
    asym = good.copy()
    asym[0, 1] += 1
    with pytest.raises(ValidationError, match="symmetric"):
        solve_tsp(asym)
    neg = good.copy()
    neg[0, 1] = neg[1, 0] = -1
    with pytest.raises(ValidationError, match="negative"):
        solve_tsp(neg)
    nan = good.copy()
    nan[0, 1] = nan[1, 0] = np.nan
    with pytest.raises(ValidationError, match="non-finite"):
        solve_tsp(nan)
    with pytest.raises(ValidationError, match="method"):
        solve_tsp(good, method="lkh")
    with pytest.raises(ValidationError, match="time_limit"):
        solve_tsp(good, time_limit=0)
    with pytest.raises(ValidationError, match="workers"):
        solve_tsp(good, workers=0)


# --------------------------------------------------------------------------- #
# MDKP
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n,m", [(6, 1), (10, 2), (12, 3), (14, 5)])
def test_mdkp_matches_brute_force(n: int, m: int) -> None:
    rng = np.random.default_rng(10 * n + m)
    for _ in range(3):
        p = rng.integers(1, 100, n).astype(float)
        w = rng.integers(0, 60, (m, n)).astype(float)
        b = np.floor(w.sum(axis=1) * rng.uniform(0.25, 0.75, m))
        r = solve_mdkp(p, w, b, time_limit=TL, seed=1)
        assert r.problem == "mdkp" and r.status == "OPTIMAL" and r.optimal
        check_knapsack(r, p, w, b)
        assert r.objective == brute_mdkp(p, w, b)


def test_mdkp_decimal_data_scaled_exactly() -> None:
    rng = np.random.default_rng(5)
    n, m = 12, 3
    p = np.round(rng.uniform(1, 100, n), 1)
    w = np.round(rng.uniform(0, 50, (m, n)), 2)
    b = np.round(w.sum(axis=1) * 0.5, 3)
    r = solve_mdkp(p, w, b, time_limit=TL)
    assert r.info["scale"] == 10 and r.info["rows_rounded"] == []
    assert r.optimal
    check_knapsack(r, p, w, b)
    assert math.isclose(r.objective, brute_mdkp(p, w, b), rel_tol=1e-12)


def test_mdkp_real_weights_stay_feasible_and_bounded() -> None:
    rng = np.random.default_rng(6)
    n, m = 12, 2
    p = rng.integers(1, 50, n).astype(float)
    w = rng.random((m, n)) * 10 / 3  # not decimal: rounded conservatively at 1e-6
    b = w.sum(axis=1) * 0.4
    r = solve_mdkp(p, w, b, time_limit=TL)
    opt = brute_mdkp(p, w, b)
    assert r.info["rows_rounded"] == [0, 1]
    check_knapsack(r, p, w, b)  # feasible for the native data
    assert r.objective <= opt <= r.bound
    if r.optimal:
        assert r.objective == opt


def test_mdkp_single_row_and_infeasible() -> None:
    r = solve_mdkp([3, 4, 5], [2, 3, 4], 5, time_limit=TL)  # 1-D weights: one row
    assert r.objective == 7.0 and r.solution.tolist() == [1, 1, 0]
    r = solve_mdkp([1, 2], [[1, 1]], [-1], time_limit=TL)
    assert r.status == "INFEASIBLE" and not r.optimal
    assert math.isnan(r.objective) and r.bound == -math.inf and r.solution.size == 0


def test_mdkp_bad_input() -> None:
    with pytest.raises(ValidationError, match="columns"):
        solve_mdkp([1, 2, 3], [[1, 2]], [3])
    with pytest.raises(ValidationError, match="capacities"):
        solve_mdkp([1, 2], [[1, 2], [3, 4]], [3])
    with pytest.raises(ValidationError, match="non-finite"):
        solve_mdkp([1, np.inf], [[1, 2]], [3])
    with pytest.raises(ValidationError, match="empty"):
        solve_mdkp([], np.zeros((1, 0)), [3])
    with pytest.raises(ValidationError, match="seed"):
        solve_mdkp([1], [[1]], [1], seed=1.5)


@pytest.mark.parametrize("seed", range(4))
def test_lp_relaxation_bounds_the_integer_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 12, 3
    p = rng.integers(1, 100, n).astype(float)
    w = rng.integers(1, 60, (m, n)).astype(float)
    b = np.floor(w.sum(axis=1) * 0.5)
    lp, x = lp_relaxation_mdkp(p, w, b)
    opt = brute_mdkp(p, w, b)
    assert lp >= opt - 1e-9
    assert np.all((x >= -1e-9) & (x <= 1 + 1e-9))
    assert np.all(w @ x <= b + 1e-7)
    assert math.isclose(float(p @ x), lp, rel_tol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_lp_relaxation_single_row_equals_dantzig_bound(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    n = 15
    p = rng.integers(1, 100, n).astype(float)
    w = rng.integers(1, 60, n).astype(float)
    cap = float(np.floor(w.sum() * rng.uniform(0.2, 0.8)))
    # Dantzig: items by decreasing p/w, the last one fractional.
    room, dantzig = cap, 0.0
    for j in np.argsort(-p / w, kind="stable"):
        take = min(1.0, room / w[j])
        dantzig += take * p[j]
        room -= take * w[j]
        if room <= 0:
            break
    lp, _ = lp_relaxation_mdkp(p, w[None, :], [cap])
    assert math.isclose(lp, dantzig, rel_tol=1e-9)
    assert lp >= brute_mdkp(p, w[None, :], np.array([cap])) - 1e-9


def test_lp_relaxation_infeasible() -> None:
    lp, x = lp_relaxation_mdkp([1, 2], [[1, 1]], [-1])
    assert lp == -math.inf and np.all(np.isnan(x))


# --------------------------------------------------------------------------- #
# MIS
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n,p", [(8, 0.3), (12, 0.25), (14, 0.4), (16, 0.2)])
def test_mis_matches_brute_force(n: int, p: float) -> None:
    rng = np.random.default_rng(n)
    edges = random_graph(rng, n, p)
    for weights in (np.ones(n), rng.integers(1, 10, n).astype(float)):
        r = solve_mis(n, edges, weights, time_limit=TL)
        assert r.problem == "mis" and r.status == "OPTIMAL" and r.optimal
        check_independent(r, edges, weights)
        assert r.objective == brute_mis(n, edges, weights)


def test_mis_decimal_and_real_weights() -> None:
    rng = np.random.default_rng(21)
    n = 14
    edges = random_graph(rng, n, 0.3)
    w = np.round(rng.uniform(0, 5, n), 3)
    r = solve_mis(n, edges, w, time_limit=TL)
    assert r.info["scale"] == 1000 and r.optimal
    check_independent(r, edges, w)
    assert math.isclose(r.objective, brute_mis(n, edges, w), rel_tol=1e-12)
    w = rng.uniform(0, 5, n)  # rounded at 1e-6: bound widened
    r = solve_mis(n, edges, w, time_limit=TL)
    check_independent(r, edges, w)
    opt = brute_mis(n, edges, w)
    assert r.info["rounded"] is True
    assert math.isclose(r.objective, opt, rel_tol=1e-9)
    assert opt <= r.bound <= opt + n * 1e-6


def test_mis_named_graphs() -> None:
    for g, alpha in ((nx.petersen_graph(), 4), (nx.heawood_graph(), 7), (nx.pappus_graph(), 9)):
        edges = np.array(g.edges(), dtype=np.int64)
        r = solve_mis(g.number_of_nodes(), edges, time_limit=TL)
        assert r.objective == alpha and r.optimal
        check_independent(r, edges, np.ones(g.number_of_nodes()))


def test_mis_edge_cases() -> None:
    r = solve_mis(0, np.zeros((0, 2), dtype=int))
    assert r.objective == 0.0 and r.optimal and r.solution.size == 0
    r = solve_mis(4, [])  # no edges: take everything
    assert r.objective == 4.0 and r.solution.tolist() == [1, 1, 1, 1]
    r = solve_mis(3, [[0, 1], [1, 0], [0, 1]])  # duplicates are harmless
    assert r.objective == 2.0 and r.solution[2] == 1 and r.solution[0] + r.solution[1] == 1


def test_mis_bad_input() -> None:
    with pytest.raises(ValidationError, match="outside"):
        solve_mis(3, [[0, 3]])
    with pytest.raises(ValidationError, match="self-loop"):
        solve_mis(3, [[1, 1]])
    with pytest.raises(ValidationError, match=r"\(E, 2\)"):
        solve_mis(3, [[0, 1, 2]])
    with pytest.raises(ValidationError, match="entries"):
        solve_mis(3, [[0, 1]], [1.0, 2.0])
    with pytest.raises(ValidationError, match="n_nodes"):
        solve_mis(-1, [])
    with pytest.raises(ValidationError, match="integer"):
        solve_mis(3, [[0, 1.5]])


# --------------------------------------------------------------------------- #
# the result type
# --------------------------------------------------------------------------- #
def test_result_to_dict_is_json_and_records_options() -> None:
    r = solve_mdkp([1, 2], [[1, 1]], [-1], time_limit=2.5, workers=1, seed=7)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))  # nan/inf -> None
    assert d["objective"] is None and d["bound"] is None and d["solution"] == []
    assert d["info"]["time_limit"] == 2.5
    assert d["info"]["workers"] == 1 and d["info"]["seed"] == 7
    r = solve_tsp(random_dist(np.random.default_rng(1), 6), time_limit=TL)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["solution"] == r.solution.tolist() and d["optimal"] is True and d["gap"] == 0.0
    assert d["wall_s"] >= 0 and d["solver"] == "cp-sat"


def test_gap_is_nonnegative_in_both_senses() -> None:
    tsp = BaselineResult("tsp", 110.0, 100.0, False, "FEASIBLE", np.zeros(0), 0.0, "x")
    mdkp = BaselineResult("mdkp", 90.0, 100.0, False, "FEASIBLE", np.zeros(0), 0.0, "x")
    assert math.isclose(tsp.gap, 10 / 110) and math.isclose(mdkp.gap, 10 / 90)
    assert math.isnan(BaselineResult("mis", math.nan, 1.0, False, "UNKNOWN", [], 0, "x").gap)


def test_single_worker_is_deterministic() -> None:
    rng = np.random.default_rng(9)
    n = 14
    p = rng.integers(1, 100, n).astype(float)
    w = rng.integers(1, 60, (3, n)).astype(float)
    b = np.floor(w.sum(axis=1) * 0.5)
    a = solve_mdkp(p, w, b, workers=1, seed=3, time_limit=TL)
    c = solve_mdkp(p, w, b, workers=1, seed=3, time_limit=TL)
    assert np.array_equal(a.solution, c.solution) and a.objective == c.objective


# --------------------------------------------------------------------------- #
# shipped benchmark instances (fast subset)
# --------------------------------------------------------------------------- #
def _instance(*parts: str) -> Path:
    path = INSTANCES.joinpath(*parts)
    assert path.is_file(), f"shipped instance file {path} is missing"
    return path


def test_five_d_optimum() -> None:
    inst = tsplib.read_distance_matrix(_instance("tsp_tiny", "five_d.txt"))
    r = solve_tsp(inst.dist, time_limit=TL)
    assert r.objective == 19 and r.optimal
    assert r.solution.tolist() == [0, 2, 1, 4, 3]  # 1-3-2-5-4-1 in 0-based ids
    check_tour(r, np.asarray(inst.dist, dtype=float))


def test_burma14_optimum() -> None:
    inst = tsplib.read_tsplib(_instance("tsplib", "burma14.tsp"))
    r = solve_tsp(inst.dist, time_limit=60)
    assert r.objective == 3323 and r.optimal
    check_tour(r, np.asarray(inst.dist, dtype=float))


@pytest.mark.parametrize("index,optimum", [(1, 3800), (2, 8706.1), (3, 4015), (4, 6120)])
def test_mknap1_optima(index: int, optimum: float) -> None:
    inst = orlib.read_mknap(_instance("mdkp", "mknap1.txt"), index)
    r = solve_mdkp(inst.profits, inst.weights, inst.capacities, time_limit=60)
    assert r.optimal
    assert r.objective == optimum  # 8706.1 exactly: scaled by 10, reported natively
    if inst.optimum is not None:
        assert r.objective == inst.optimum
    check_knapsack(r, inst.profits, np.atleast_2d(inst.weights), inst.capacities)
    lp, _ = lp_relaxation_mdkp(inst.profits, inst.weights, inst.capacities)
    assert lp >= optimum - 1e-9


@pytest.mark.parametrize("name,alpha", [("farm", 10), ("karate", 20)])
def test_qoblib_mis_optima(name: str, alpha: int) -> None:
    g = dimacs.read_dimacs(_instance("mis", f"{name}.gph"))
    weights = np.ones(g.n_nodes) if g.weights is None else np.asarray(g.weights)
    r = solve_mis(g.n_nodes, g.edges, weights, time_limit=60)
    assert r.objective == alpha and r.optimal
    check_independent(r, np.asarray(g.edges), weights)
    stated, nodes = dimacs.read_opt_sol(_instance("mis", f"{name}.opt.sol"))
    assert stated == alpha and len(nodes) == alpha
