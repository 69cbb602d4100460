"""One round of local swap against a literal transcription of the authors' loop."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from qslack.exceptions import ValidationError
from qslack.problems.localsearch import local_swap, local_swap_many
from qslack.problems.mdkp import build_mdkp
from qslack.problems.mis import build_mis


def _authors_round(kind, inst, x):
    """SMU-Quantum/quantum-optimization-benchmarks, hardware_cli._run_one_round_local_swap and
    _is_better_reconstructed, transcribed loop for loop (MIS and MKP branches)."""

    def reconstruct(sel):
        if kind == "mis":
            conflicts = sum(1 for u, v in inst.edges if sel[u] == 1 and sel[v] == 1)
            return {"feasible": conflicts == 0, "value": float(sum(sel)), "viol": float(conflicts)}
        used = [
            sum(inst.weights[j][i] * sel[i] for i in range(len(sel))) for j in range(len(inst.capacities))
        ]
        over = [max(0.0, used[j] - inst.capacities[j]) for j in range(len(used))]
        profit = float(sum(inst.profits[i] * sel[i] for i in range(len(sel))))
        return {"feasible": all(v <= 0 for v in over), "value": profit, "viol": float(sum(over))}

    def better(c, b):
        if c["feasible"] and not b["feasible"]:
            return True
        if b["feasible"] and not c["feasible"]:
            return False
        if not c["feasible"] and not b["feasible"]:
            return c["viol"] < b["viol"]
        return math.isfinite(c["value"]) and c["value"] > b["value"]  # maximise

    base = list(int(v) for v in x)
    best, best_r = list(base), reconstruct(base)

    def consider(cand):
        nonlocal best, best_r
        r = reconstruct(cand)
        if better(r, best_r):
            best, best_r = list(cand), r

    n = len(base)
    sel = [i for i in range(n) if base[i] == 1]
    uns = [i for i in range(n) if base[i] == 0]
    for i in range(n):
        c = list(base)
        c[i] = 1 - base[i]
        consider(c)
    for o in sel:
        for i in uns:
            c = list(base)
            c[o], c[i] = 0, 1
            consider(c)
    return best


def _random_mis(rng, n, p):
    edges = np.array([(u, v) for u in range(n) for v in range(u + 1, n) if rng.random() < p]).reshape(-1, 2)
    return SimpleNamespace(name="g", n_nodes=n, edges=edges, weights=np.ones(n))


def _random_mdkp(rng, n, m):
    W = rng.integers(1, 30, size=(m, n))
    return SimpleNamespace(
        name="k", profits=rng.integers(1, 50, size=n), weights=W, capacities=W.sum(axis=1) // 2
    )


@pytest.mark.parametrize("seed", range(6))
def test_mis_matches_authors_loop(seed):
    rng = np.random.default_rng(seed)
    g = _random_mis(rng, 9, 0.35)
    prog = build_mis(g)
    for _ in range(15):
        x = (rng.random(9) < rng.uniform(0.2, 0.8)).astype(np.uint8)
        got = local_swap(prog, x)
        want = _authors_round("mis", g, x)
        assert got.x.tolist() == want
        assert got.improved == (want != x.tolist())


@pytest.mark.parametrize("seed", range(6))
def test_mdkp_matches_authors_loop(seed):
    rng = np.random.default_rng(100 + seed)
    inst = _random_mdkp(rng, 8, 3)
    prog = build_mdkp(inst)
    for _ in range(15):
        x = (rng.random(8) < rng.uniform(0.2, 0.9)).astype(np.uint8)
        got = local_swap(prog, x)
        want = _authors_round("mdkp", inst, x)
        assert got.x.tolist() == want
        assert got.feasible == bool(prog.is_feasible(np.array(want))[0])
        assert got.objective == pytest.approx(float(inst.profits @ np.array(want)))


def test_one_round_is_one_move():
    # two disjoint conflicting edges: one move removes one conflict only
    g = SimpleNamespace(name="2k2", n_nodes=4, edges=np.array([[0, 1], [2, 3]]), weights=np.ones(4))
    r = local_swap(build_mis(g), np.array([1, 1, 1, 1]))
    assert not r.feasible and r.violation == 1.0 and r.move == ("flip", 0)
    assert r.candidates_checked == 4  # 4 flips, no unchosen node to swap in
    assert local_swap_many(build_mis(g), np.array([[1, 1, 1, 1], [1, 0, 1, 0]])).tolist() == [
        [0, 1, 1, 1],
        [1, 0, 1, 0],
    ]


def test_feasible_swap_improves_mdkp():
    # capacity 10: item 0 (profit 3, weight 6) in; item 1 (profit 5, weight 7) out; both do not fit
    inst = SimpleNamespace(
        profits=np.array([3.0, 5.0]), weights=np.array([[6.0, 7.0]]), capacities=np.array([10.0])
    )
    r = local_swap(build_mdkp(inst), np.array([1, 0]))
    assert r.move == ("swap", 0, 1) and r.x.tolist() == [0, 1] and r.objective == 5.0


def test_bad_input():
    g = SimpleNamespace(name="k2", n_nodes=2, edges=np.array([[0, 1]]), weights=np.ones(2))
    with pytest.raises(ValidationError, match="shape"):
        local_swap(build_mis(g), np.array([1, 0, 1]))
    with pytest.raises(ValidationError, match="0/1"):
        local_swap(build_mis(g), np.array([2, 0]))
