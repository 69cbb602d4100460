"""The dual loop: exact-oracle optima vs the LP relaxation (HiGHS), resume, options, signs, purity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qslack.baselines.ortools import lp_relaxation_mdkp
from qslack.dual import METHODS, DualProblem, DualState, ask, init_state, step
from qslack.exceptions import OptionError
from qslack.model.lagrangian import LagrangianForm
from qslack.problems import hooks_for
from qslack.problems.catalog import build_program, load_instance
from qslack.runs import solve_dual as _solve_dual
from qslack.samplers.exact import ExactSampler
from qslack.samplers.random import RandomSampler


def solve_dual(form, sampler, *, maxiter, optimum=None, certified_bound=None, problem="mdkp", **kw):  # type: ignore[no-untyped-def]
    prob = DualProblem(form, hooks_for(problem), optimum, certified_bound)
    return _solve_dual(prob, sampler, iters=maxiter, **kw)


SPECS = ["mknap1#1", "mknap1#2", "mknap1#3", "gen:mdkp?n=12&m=4&tightness=0.3&seed=7"]


def _setup(spec: str):  # type: ignore[no-untyped-def]
    ld = load_instance(spec)
    form = LagrangianForm(build_program(ld))
    lp = lp_relaxation_mdkp(ld.instance.profits, ld.instance.weights, ld.instance.capacities)[0]
    return ld, form, lp


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("method", ["cutting-plane", "bundle"])
def test_exact_dual_reaches_lp_relaxation(spec: str, method: str) -> None:
    """With rho = 0 and an exact oracle, the Lagrangian dual of MDKP equals its LP relaxation."""
    ld, form, lp = _setup(spec)
    res = solve_dual(
        form, ExactSampler(n_lowest=1), method=method, rho0=0.0, maxiter=300, optimum=ld.known_optimum
    )
    assert res.reason == "converged"
    assert res.dual_bound_certified
    assert res.dual_bound == pytest.approx(lp, rel=1e-6)
    if ld.known_optimum is not None:
        assert res.dual_bound >= ld.known_optimum - 1e-9


@pytest.mark.parametrize("spec", SPECS[:3])
def test_subgradient_diminishing_within_one_percent(spec: str) -> None:
    _, form, lp = _setup(spec)
    res = solve_dual(
        form,
        ExactSampler(n_lowest=1),
        method="subgradient",
        rho0=0.0,
        maxiter=300,
        options={"step": "diminishing"},
    )
    assert lp - 1e-9 <= res.dual_bound <= lp * 1.01


def test_polyak_bound_is_valid_but_may_stall() -> None:
    ld, form, lp = _setup("mknap1#1")
    res = solve_dual(form, ExactSampler(n_lowest=1), method="subgradient", rho0=0.0, maxiter=100)
    assert res.dual_bound >= lp - 1e-9  # any dual value bounds the LP (and the optimum) from above
    assert res.best_objective is not None and res.best_objective <= ld.known_optimum


def test_bound_not_certified_with_rho_on_inequalities() -> None:
    _, form, _ = _setup("mknap1#1")
    res = solve_dual(form, ExactSampler(n_lowest=1), method="subgradient", maxiter=5)  # default rho > 0
    assert not res.dual_bound_certified and res.dual_bound is None
    assert res.dual_estimate is not None  # the estimate is kept apart from the bound
    # the LP bound passed in is certified whatever the sampler
    res2 = solve_dual(form, RandomSampler(shots=50), method="subgradient", maxiter=3, certified_bound=4134.07)
    assert res2.dual_bound_certified and res2.dual_bound == pytest.approx(4134.07)


@pytest.mark.parametrize("method", sorted(set(METHODS) - {"slack-penalty"}))
def test_state_roundtrip_resume_is_identical(method: str) -> None:
    """Kill after 4 steps, restore from the JSON state, finish: identical to an uninterrupted run."""
    ld = load_instance("gen:mdkp?n=10&m=3&tightness=0.3&seed=2")
    form = LagrangianForm(build_program(ld))
    sampler = RandomSampler(shots=64)
    full = solve_dual(form, sampler, method=method, maxiter=9, seed=11)
    prob = DualProblem(form, hooks_for("mdkp"))
    first = _solve_dual(prob, sampler, method=method, iters=4, seed=11)
    assert first.steps == 4
    # the state after 4 steps, through JSON, in a fresh problem object
    state = init_state(prob, method, seed=11)
    for _ in range(4):
        req = ask(state, prob)
        state, _it = step(state, sampler.sample(req.qubo, seed=req.seed), prob)
    state = DualState.from_dict(json.loads(json.dumps(state.to_dict())))
    second = _solve_dual(DualProblem(form, hooks_for("mdkp")), sampler, method=method, iters=9, state=state)
    resumed_history = [*first.history, *second.history]
    resumed = second
    np.testing.assert_array_equal(resumed.lam, full.lam)
    assert resumed.best_objective == full.best_objective

    def strip(h):  # type: ignore[no-untyped-def]
        d = h.to_dict()
        d.pop("wall_s")
        return d

    assert [strip(h) for h in resumed_history] == [strip(h) for h in full.history]


def test_unknown_method_and_option_rejected() -> None:
    _, form, _ = _setup("mknap1#1")
    prob = DualProblem(form)
    with pytest.raises(OptionError, match="unknown method"):
        init_state(prob, "newton")
    with pytest.raises(OptionError, match="unknown option"):
        init_state(prob, "bundle", options={"stepsize": 1})


def test_inequality_multipliers_stay_nonnegative() -> None:
    _, form, _ = _setup("mknap1#2")
    res = solve_dual(form, RandomSampler(shots=200), method="subgradient", maxiter=10, seed=3)
    assert all(min(h.lam) >= 0 for h in res.history)
    assert res.lam.min() >= 0


def test_mis_product_weights_only_grow() -> None:
    ld = load_instance("gen:mis?n=10&p=0.4&seed=3")
    form = LagrangianForm(build_program(ld))
    res = solve_dual(form, RandomSampler(shots=100), method="subgradient", maxiter=8, seed=1, problem="mis")
    lams = np.array([h.lam for h in res.history] + [res.lam.tolist()])
    assert np.all(np.diff(lams, axis=0) >= -1e-12)
    assert lams[0].min() == 1.0


@pytest.mark.parametrize("method", ["bundle", "cutting-plane", "subgradient"])
def test_mis_weights_never_drop_below_exactness_floor(method: str) -> None:
    """Unit-weight MIS: every product weight stays >= 1, so the optimum stays a ground state."""
    ld = load_instance("gen:mis?n=8&p=0.4&seed=1")
    form = LagrangianForm(build_program(ld))
    assert np.all(form.product_floor == 1.0)
    res = solve_dual(form, RandomSampler(shots=100), method=method, maxiter=8, seed=1, problem="mis")
    assert min(min(h.lam) for h in res.history) >= 1.0 and res.lam.min() >= 1.0


def test_tsp_position_equalities_are_free_and_exact_oracle_finds_tour() -> None:
    ld = load_instance("burma14", take=4)
    form = LagrangianForm(build_program(ld, encoding="position"))
    res = solve_dual(
        form,
        ExactSampler(),
        method="augmented-lagrangian",
        maxiter=10,
        optimum=ld.known_optimum,
        problem="tsp",
    )
    assert res.best_objective == pytest.approx(ld.known_optimum)
    assert res.gap == pytest.approx(0.0)


def test_slack_penalty_baseline_samples_slack_qubo() -> None:
    ld = load_instance("gen:mdkp?n=6&m=1&tightness=0.5&seed=1")
    form = LagrangianForm(build_program(ld))
    res = solve_dual(form, ExactSampler(), method="slack-penalty", maxiter=2, optimum=None)
    assert res.best_objective is not None  # the slack QUBO's ground state is the constrained optimum
    X = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(np.uint8)
    prog = form.program
    assert res.best_objective == pytest.approx(prog.native_objective(X[prog.is_feasible(X)]).max())


def test_lazy_subtour_rows_past_nine_cities() -> None:
    """TSP edge beyond 9 cities: a sample closing two subtours adds their row; state restores it."""
    from qslack.model.qubo import QUBO
    from qslack.problems.tsp import encode
    from qslack.samplers.base import SampleSet

    ld = load_instance("gen:tsp?n=10&seed=4")
    prog = build_program(ld, encoding="edge")
    assert prog.groups == ("degree",) and not prog.metadata["subtours_built"]
    # two 5-cycles: degree-feasible, not a tour
    x = np.zeros(prog.n_vars, dtype=np.uint8)
    for cyc in ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]):
        for a, b in zip(cyc, cyc[1:] + cyc[:1], strict=True):
            x[prog.var_names.index(f"e_{min(a, b)}_{max(a, b)}")] = 1
    tour = encode(prog, list(range(10)))
    prob = DualProblem(LagrangianForm(prog), hooks_for("tsp"))
    state = init_state(prob, "cutting-plane", seed=0)
    q = QUBO(np.zeros((prog.n_vars, prog.n_vars)), var_names=prog.var_names)
    state, it = step(state, SampleSet.from_samples(np.vstack([x, tour]), q), prob)
    grown = prob.form_for(state.rows).program
    assert grown.con_names[-1] == "subtour_0_1_2_3_4" and state.rows == ({"subtour": [0, 1, 2, 3, 4]},)
    assert it.rows_added == 1
    assert state.lam.shape == (11,) and state.rho[-1] == 0.0
    assert not grown.is_feasible(x)[0] and grown.is_feasible(tour)[0]
    assert it.best_objective == pytest.approx(ld.instance.tour_length(list(range(10))))
    again = DualState.from_dict(json.loads(json.dumps(state.to_dict())))
    fresh = DualProblem(LagrangianForm(prog), hooks_for("tsp"))
    assert fresh.form_for(again.rows).program.con_names == grown.con_names
    np.testing.assert_array_equal(again.lam, state.lam)
    assert ask(again, fresh).qubo.n_vars == 45


def test_step_is_pure() -> None:
    """The same state and samples give the same next state, and the state itself never changes."""
    ld = load_instance("gen:mdkp?n=8&m=2&tightness=0.4&seed=5")
    prob = DualProblem(LagrangianForm(build_program(ld)), hooks_for("mdkp"))
    sampler = RandomSampler(shots=64)
    for method in sorted(METHODS):
        state = init_state(prob, method, seed=2)
        for _ in range(3):
            before = state.to_dict()
            ss = sampler.sample(ask(state, prob).qubo, seed=3)
            a, it_a = step(state, ss, prob)
            b, it_b = step(state, ss, prob)
            assert state.to_dict() == before
            assert a == b and it_a.to_dict() == it_b.to_dict()
            with pytest.raises(ValueError):
                state.lam[0] = 99.0  # read-only arrays
            state = a


def test_model_stop_needs_every_cut_exact() -> None:
    """Issue 9.11: a cut from a step that was not proven optimal keeps bundle/Kelley from stopping."""
    from dataclasses import replace

    ld = load_instance("mknap1#1")
    prob = DualProblem(LagrangianForm(build_program(ld)), hooks_for("mdkp"))
    exact = ExactSampler(n_lowest=1)
    for method in ("bundle", "cutting-plane"):
        state = init_state(prob, method, rho0=0.0)
        for k in range(60):
            ss = exact.sample(ask(state, prob).qubo)
            if k == 0:
                ss = replace(ss, exact=False)  # as a CP-SAT solve stopped by its time limit
            state, _ = step(state, ss, prob)
            if any(not c.exact for c in state.cuts):
                assert state.converged is None, f"{method} stopped on an inexact cut model"
        # the same run with every step exact stops
        state = init_state(prob, method, rho0=0.0)
        for _ in range(60):
            state, _ = step(state, exact.sample(ask(state, prob).qubo), prob)
            if state.converged:
                break
        assert state.converged is not None
