"""The dual loop: exact-oracle optima vs the LP relaxation (HiGHS), resume, options, signs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qslack.baselines.ortools import lp_relaxation_mdkp
from qslack.dual import METHODS, DualSolver, solve_dual
from qslack.exceptions import OptionError
from qslack.model.lagrangian import LagrangianForm
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.exact import ExactSampler
from qslack.samplers.random import RandomSampler

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
    assert res.status == "converged"
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
    assert not res.dual_bound_certified
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
    first = DualSolver(form, method=method, seed=11)
    solve_dual(form, sampler, maxiter=4, solver=first)
    state = json.loads(json.dumps(first.state_dict()))
    second = DualSolver(form, method=method, seed=0)
    second.load_state(state)
    resumed = solve_dual(form, sampler, maxiter=9, solver=second)
    np.testing.assert_array_equal(resumed.lam, full.lam)
    assert resumed.best_objective == full.best_objective

    def strip(h):  # type: ignore[no-untyped-def]
        d = h.to_dict()
        d.pop("wall_s")
        return d

    assert [strip(h) for h in resumed.history] == [strip(h) for h in full.history]


def test_unknown_method_and_option_rejected() -> None:
    _, form, _ = _setup("mknap1#1")
    with pytest.raises(OptionError, match="unknown method"):
        DualSolver(form, method="newton")
    with pytest.raises(OptionError, match="unknown option"):
        DualSolver(form, method="bundle", options={"stepsize": 1})


def test_inequality_multipliers_stay_nonnegative() -> None:
    _, form, _ = _setup("mknap1#2")
    res = solve_dual(form, RandomSampler(shots=200), method="subgradient", maxiter=10, seed=3)
    assert all(min(h.lam) >= 0 for h in res.history)
    assert res.lam.min() >= 0


def test_mis_product_weights_only_grow() -> None:
    ld = load_instance("gen:mis?n=10&p=0.4&seed=3")
    form = LagrangianForm(build_program(ld))
    res = solve_dual(form, RandomSampler(shots=100), method="subgradient", maxiter=8, seed=1)
    lams = np.array([h.lam for h in res.history] + [res.lam.tolist()])
    assert np.all(np.diff(lams, axis=0) >= -1e-12)
    assert lams[0].min() == 1.0


@pytest.mark.parametrize("method", ["bundle", "cutting-plane", "subgradient"])
def test_mis_weights_never_drop_below_exactness_floor(method: str) -> None:
    """Unit-weight MIS: every product weight stays >= 1, so the optimum stays a ground state."""
    ld = load_instance("gen:mis?n=8&p=0.4&seed=1")
    form = LagrangianForm(build_program(ld))
    assert np.all(form.product_floor == 1.0)
    res = solve_dual(form, RandomSampler(shots=100), method=method, maxiter=8, seed=1)
    assert min(min(h.lam) for h in res.history) >= 1.0 and res.lam.min() >= 1.0


def test_tsp_position_equalities_are_free_and_exact_oracle_finds_tour() -> None:
    ld = load_instance("burma14", take=4)
    form = LagrangianForm(build_program(ld, encoding="position"))
    res = solve_dual(
        form, ExactSampler(), method="augmented-lagrangian", maxiter=10, optimum=ld.known_optimum
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
    solver = DualSolver(LagrangianForm(prog), method="cutting-plane", seed=0)
    q = QUBO(np.zeros((prog.n_vars, prog.n_vars)), var_names=prog.var_names)
    it = solver.tell(SampleSet.from_samples(np.vstack([x, tour]), q))
    assert solver.program.con_names[-1] == "subtour_0_1_2_3_4"
    assert solver.lam.shape == (11,) and solver.rho[-1] == 0.0
    assert not solver.program.is_feasible(x)[0] and solver.program.is_feasible(tour)[0]
    assert it.best_objective == pytest.approx(ld.instance.tour_length(list(range(10))))
    state = json.loads(json.dumps(solver.state_dict()))
    again = DualSolver(LagrangianForm(prog), method="cutting-plane", seed=0)
    again.load_state(state)
    assert again.program.con_names == solver.program.con_names
    np.testing.assert_array_equal(again.lam, solver.lam)
    ask = again.ask()
    assert ask.qubo.n_vars == 45
