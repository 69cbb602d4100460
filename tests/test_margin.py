"""The margin method and the fixed-QUBO baselines (unbalanced, penalty-grid), against brute force."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from qslack.dual import DualProblem, DualState, ask, init_state, step
from qslack.dual.methods.margin import ising_coefficient_map, margin_lp, pack, unpack
from qslack.dual.problem import default_multipliers
from qslack.exceptions import OptionError
from qslack.model.lagrangian import LagrangianForm
from qslack.problems import hooks_for
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.exact import ExactSampler
from qslack.samplers.random import RandomSampler


class _ExactState(ExactSampler):
    """ExactSampler whose 'final state' is its lowest sample (so the step records ground_rank)."""

    def sample(self, qubo, *, seed=None, **options):  # type: ignore[no-untyped-def]
        ss = super().sample(qubo, seed=seed, **options)
        probs = np.zeros(1 << qubo.n_vars)
        idx = int((ss.X[int(np.argmin(ss.energy))].astype(np.int64) << np.arange(qubo.n_vars)).sum())
        probs[idx] = 1.0
        return dataclasses.replace(ss, probabilities=probs)


def _problem(spec: str, **form_kw):  # type: ignore[no-untyped-def]
    from qslack.baselines import solve_loaded

    ld = load_instance(spec)
    opt = ld.known_optimum
    if opt is None:
        opt = solve_loaded(ld, time_limit=10).objective
    return DualProblem(LagrangianForm(build_program(ld), **form_kw), hooks_for(ld.problem), opt)


def _run(problem, method, iters, sampler=None, options=None, seed=0):  # type: ignore[no-untyped-def]
    sampler = sampler or _ExactState(n_lowest=16)
    state = init_state(problem, method, options=options, seed=seed)
    hist = []
    for _ in range(iters):
        req = ask(state, problem)
        state, it = step(state, sampler.sample(req.qubo, seed=req.seed), problem)
        hist.append(it)
    return state, hist


def _brute_rank(problem, lam, rho) -> int:  # type: ignore[no-untyped-def]
    """Rank of the optimum among all 2**n states, energies from the definition (no caches)."""
    form = problem.form
    n = form.n_vars
    X = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    E = form.energy(X, lam, rho)
    opt = form.program.is_feasible(X) & np.isclose(
        form.program.objective(X), problem.internal(problem.optimum), atol=1e-6
    )
    return 1 + int(np.count_nonzero(E < E[opt].min() - 1e-9))


@pytest.mark.parametrize(
    ("seed", "options"),
    [
        (1, {}),
        (2, {}),
        (1, {"rho_scale": "fixed"}),
        (1, {"neighbourhood": 0, "local_search": False, "rho_scale": "fixed"}),
    ],
)
def test_margin_makes_tight_mdkp_optimum_the_ground_state(seed: int, options: dict) -> None:
    problem = _problem(f"gen:mdkp?n=12&m=4&tightness=0.25&seed={seed}")
    state, hist = _run(problem, "margin", 6, options=options)
    assert hist[-1].ground_rank == 1 and hist[-1].ground_margin > 0
    assert _brute_rank(problem, state.lam, state.rho) == 1  # the next QUBO too, checked from scratch
    assert state.method_state["margin"] > 0
    assert np.all(state.lam >= 0)  # inequality multipliers stay signed


def test_margin_without_help_starts_off_the_ground_state() -> None:
    """The default multipliers do not make this optimum the ground state: the method is what does."""
    problem = _problem("gen:mdkp?n=12&m=4&tightness=0.25&seed=1")
    lam0, rho0 = default_multipliers(problem.form)
    assert _brute_rank(problem, lam0, rho0) > 1


def test_margin_lp_margin_is_what_the_qubo_shows() -> None:
    """The LP's optimum t is the smallest (H(x) - H(x*)) / scale of the QUBO it returns, and no
    multiplier in the box does better (random search over the box)."""
    problem = _problem("gen:mdkp?n=10&m=3&tightness=0.3&seed=3")
    form = problem.form
    prog = form.program
    n = form.n_vars
    X = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    feas = prog.is_feasible(X)
    obj = np.where(feas, prog.objective(X), np.inf)
    x_star = X[int(np.argmin(obj))]
    comp = X[~(feas & (prog.objective(X) <= obj.min() + 1e-9))]
    rho = default_multipliers(form, 1.0)[1]
    F = prog.objective(np.vstack([x_star, comp])) + 0.5 * form.residuals(np.vstack([x_star, comp])) ** 2 @ rho
    G = form.residuals(np.vstack([x_star, comp]))
    c0, C, _ = ising_coefficient_map(form, rho)
    lo, hi = np.zeros(form.n_cons), np.full(form.n_cons, 50.0)
    lam, r, t = margin_lp(F[1:] - F[0], G[1:] - G[0], None, c0, C, None, lo, hi, np.zeros(form.n_cons, bool))
    assert r is None and t > 0

    def normalised(lam_):  # type: ignore[no-untyped-def]
        q = form.qubo(lam_, rho)
        e = q.energies(np.vstack([x_star, comp]))
        return float((e[1:] - e[0]).min() / q.to_ising().scale)

    assert normalised(lam) == pytest.approx(t, rel=1e-6)
    rng = np.random.default_rng(0)
    best_random = max(normalised(rng.uniform(lo, hi)) for _ in range(200))
    assert best_random <= t + 1e-9
    # a quadratic weight too small for any multiplier in the box: no positive margin, lam is None
    rho0 = default_multipliers(form, 1e-4)[1]
    F0 = prog.objective(np.vstack([x_star, comp])) + 0.5 * G**2 @ rho0
    c0, C, _ = ising_coefficient_map(form, rho0)
    out = margin_lp(F0[1:] - F0[0], G[1:] - G[0], None, c0, C, None, lo, hi, np.zeros(form.n_cons, bool))
    assert out is not None and out[0] is None and out[2] == 0.0


def test_margin_moves_mis_weights_and_keeps_their_floor() -> None:
    """The subgradient of product rows is zero once the lowest sample is feasible; the margin
    method still moves the weights where a vertex has one neighbour in the optimum (a tie at
    the floor), and never below the floor."""
    problem = _problem("gen:mis?n=12&p=0.3&seed=2")
    form = problem.form
    lam0 = init_state(problem, "margin").lam
    state, hist = _run(problem, "margin", 4)
    assert hist[-1].ground_rank == 1
    assert not np.allclose(state.lam[form.is_product], lam0[form.is_product])  # the weights moved
    assert np.all(state.lam[form.is_product] >= form.product_floor[form.is_product] - 1e-12)


def test_margin_state_roundtrips_through_json_and_resumes_identically() -> None:
    problem = _problem("gen:mdkp?n=10&m=3&tightness=0.3&seed=3")
    sampler = RandomSampler(shots=200)
    state, _ = _run(problem, "margin", 3, sampler=sampler, options={"max_pool": 50})
    assert len(state.method_state["pool"]) <= 50 + 1
    restored = DualState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    outs = []
    for s in (state, restored):
        req = ask(s, problem)
        outs.append(step(s, sampler.sample(req.qubo, seed=req.seed), problem)[0])
    assert np.array_equal(outs[0].lam, outs[1].lam) and outs[0].method_state == outs[1].method_state


def test_pack_roundtrip() -> None:
    X = np.random.default_rng(1).integers(0, 2, size=(7, 13), dtype=np.uint8)
    assert np.array_equal(unpack(pack(X), 13), X)


def test_dual_then_margin() -> None:
    problem = _problem("gen:mdkp?n=10&m=3&tightness=0.3&seed=3")
    _, hist = _run(problem, "margin", 5, options={"dual_steps": 2, "dual_method": "bundle"})
    notes = [h.note for h in hist]
    assert all(n.startswith("dual phase (bundle)") for n in notes[:2])
    assert all(n.startswith("margin") for n in notes[2:]), notes
    assert hist[-1].ground_rank == 1


@pytest.mark.parametrize(
    "options",
    [
        {"bogus": 1},
        {"normalise": "max"},
        {"rho_scale": "yes"},
        {"rho_bounds": [2.0, 1.0]},
        {"max_pool": 0},
        {"neighbourhood": 3},
        {"local_search": "no"},
        {"dual_steps": 2, "dual_method": "margin"},
        {"dual_steps": 2, "dual_method": "slack-penalty"},
        {"dual_steps": 2, "dual_method": "nope"},
    ],
)
def test_margin_bad_options_are_option_errors(options: dict) -> None:
    problem = _problem("mknap1#1")
    with pytest.raises(OptionError):
        init_state(problem, "margin", options=options)


def test_enforced_rows_stay_out_of_the_pool() -> None:
    """TSP with the column rows enforced (XY mixer): competitors are one-hot per column only."""
    ld = load_instance("gen:tsp?n=4&seed=1")
    prog = build_program(ld)
    cols = [k for k, g in enumerate(prog.con_groups) if g == "col"]
    problem = DualProblem(LagrangianForm(prog, enforced=cols), hooks_for("tsp"), None)
    state, _ = _run(problem, "margin", 3, sampler=RandomSampler(shots=300))
    pool = unpack(state.method_state["pool"], prog.n_vars)
    assert pool.shape[0] > 0
    assert np.all(np.abs(prog.residuals(pool)[:, cols]) < 1e-9)
    assert np.all(state.lam[cols] == 0) and np.all(state.rho[cols] == 0)


# ----------------------------------------------------------------------------- baselines
def test_unbalanced_uses_the_published_parameters_on_inequalities_only() -> None:
    problem = _problem("mknap1#1")
    s = init_state(problem, "unbalanced")
    assert np.allclose(s.lam, 0.96) and np.allclose(s.rho, 2 * 0.0371)
    p = problem.program
    s2 = init_state(problem, "unbalanced", options={"scale": "normalised"})
    a_max = np.abs(p.A).max(axis=1)
    assert np.allclose(s2.lam, 0.96 * np.abs(p.c).max() / a_max)
    # H = f - lambda1 h + lambda2 h^2 with h = b - a.x, checked on every state from the definition
    X = ((np.arange(1 << p.n_vars)[:, None] >> np.arange(p.n_vars)) & 1).astype(np.uint8)
    h = p.b[None, :] - X @ p.A.T
    H = p.objective(X) + (-0.96 * h + 0.0371 * h**2).sum(axis=1)
    assert np.allclose(problem.form.qubo(s.lam, s.rho).energies(X), H)
    # TSP (equalities only): the same QUBO as fixed-penalty
    tsp = _problem("five_d")
    a, b = init_state(tsp, "unbalanced"), init_state(tsp, "fixed-penalty")
    assert np.array_equal(a.lam, b.lam) and np.array_equal(a.rho, b.rho)
    with pytest.raises(OptionError):
        init_state(problem, "unbalanced", options={"lambda1": -1.0})
    with pytest.raises(OptionError):
        init_state(problem, "unbalanced", options={"scale": "cooked"})


def test_penalty_grid_samples_each_scale_then_keeps_the_best() -> None:
    problem = _problem("gen:mdkp?n=10&m=3&tightness=0.3&seed=3")
    rho0 = default_multipliers(problem.form)[1]
    scales = [0.1, 1.0, 10.0]
    opts = {"scales": scales}
    state, hist = _run(problem, "penalty-grid", 5, sampler=RandomSampler(shots=300), options=opts)
    for k, s in enumerate(scales):
        assert np.allclose(hist[k].rho, s * rho0)
    chosen = state.method_state["chosen"]
    scores = {s: hit for s, hit, _ in state.method_state["scores"]}
    assert scores[chosen] == max(scores.values())
    assert np.allclose(hist[-1].rho, chosen * rho0)
    with pytest.raises(OptionError):
        init_state(problem, "penalty-grid", options={"scales": []})


def test_penalty_grid_floors_mis_weights() -> None:
    problem = _problem("gen:mis?n=10&p=0.3&seed=2")
    s = init_state(problem, "penalty-grid", options={"scales": [0.1, 2.0]})
    form = problem.form
    assert np.allclose(s.lam[form.is_product], form.product_floor[form.is_product])
