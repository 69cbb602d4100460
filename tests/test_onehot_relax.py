"""One-hot groups, LagrangianForm(enforced=...), LP / greedy warm-start vectors."""

from __future__ import annotations

import numpy as np
import pytest

from qslack.exceptions import ValidationError
from qslack.model.lagrangian import LagrangianForm
from qslack.model.onehot import one_hot_groups, one_hot_rows
from qslack.model.program import BinaryProgram
from qslack.model.relax import greedy_solution, lp_relaxation
from qslack.problems.catalog import build_program, load_instance


def test_one_hot_groups_of_the_tsp_position_encoding() -> None:
    prog = build_program(load_instance("five_d"))  # 4 cities x 4 positions, city 0 fixed
    assert one_hot_rows(prog).all()
    cols = one_hot_groups(prog, "col")
    assert [g.group for g in cols] == ["col"] * 4
    covered = sorted(j for g in cols for j in g.variables)
    assert covered == list(range(16))  # the col groups partition the variables
    for g in cols:  # each group: the 4 cities at one position, read off the names
        positions = {prog.var_names[j].split("_")[2] for j in g.variables}
        assert len(positions) == 1 and len(g.variables) == 4
    # without a preference the greedy family is maximal: no further one-hot row fits
    fam = one_hot_groups(prog)
    used = {j for g in fam for j in g.variables}
    rest = [k for k in range(prog.n_cons) if k not in {g.row for g in fam}]
    assert all(used & set(np.flatnonzero(prog.A[k]).tolist()) for k in rest)


def test_one_hot_rows_reject_other_rows() -> None:
    p = BinaryProgram.from_arrays(
        c=[0.0] * 4,
        A=[[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 2, 2], [0, 0, 1, 1], [0, 1, 0, 1]],
        b=[1, 2, 2, 1, 1],
        sense=["==", "==", "==", "<=", "=="],
    )
    assert one_hot_rows(p).tolist() == [True, False, False, False, True]
    assert [g.row for g in one_hot_groups(p)] == [0]  # row 4 overlaps row 0
    assert one_hot_groups(BinaryProgram.from_arrays(c=[1.0])) == []


def test_enforced_rows_leave_the_qubo_but_not_the_program() -> None:
    prog = build_program(load_instance("five_d"))
    cols = one_hot_groups(prog, "col")
    rows = [g.row for g in cols]
    form = LagrangianForm(prog, enforced=rows)
    rng = np.random.default_rng(0)
    lam, rho = rng.normal(size=prog.n_cons), rng.uniform(0.5, 2.0, prog.n_cons)
    # reference: the same form of the program without those rows (another code path)
    keep = np.ones(prog.n_cons, dtype=bool)
    keep[rows] = False
    ref = LagrangianForm(prog.subset(keep))
    X = rng.integers(0, 2, size=(50, prog.n_vars))
    np.testing.assert_allclose(form.energy(X, lam, rho), ref.energy(X, lam[keep], rho[keep]))
    q = form.qubo(lam, rho)
    np.testing.assert_allclose(q.energies(X), ref.qubo(lam[keep], rho[keep]).energies(X))
    np.testing.assert_allclose(q.diagonal(), ref.diagonal(lam[keep], rho[keep]))
    assert q.info["lam"][rows[0]] == 0.0
    # feasibility still sees every row; the enforced multipliers are held at 0
    np.testing.assert_array_equal(form.feasible_mask(), LagrangianForm(prog).feasible_mask())
    assert np.all(form.project(lam)[rows] == 0.0) and np.all(form.project(lam)[keep] == lam[keep])
    # group names, masks and with_program give the same rows
    assert np.array_equal(LagrangianForm(prog, enforced="col").enforced, form.enforced)
    assert np.array_equal(LagrangianForm(prog, enforced=~keep).enforced, form.enforced)
    assert np.array_equal(form.with_program(prog).enforced, form.enforced)
    with pytest.raises(ValidationError, match="enforced rows"):
        LagrangianForm(prog, enforced=[99])
    with pytest.raises(ValidationError, match="unknown constraint group"):
        LagrangianForm(prog, enforced=["colour"])


def test_lp_relaxation_and_greedy_on_mdkp_and_mis() -> None:
    from qslack.baselines.ortools import lp_relaxation_mdkp

    loaded = load_instance("mknap1#2")
    prog = build_program(loaded)
    value, x = lp_relaxation(prog)
    inst = loaded.instance
    bound, _ = lp_relaxation_mdkp(inst.profits, inst.weights, inst.capacities)
    assert prog.native(value) == pytest.approx(bound, rel=1e-9)
    assert np.all((x >= 0) & (x <= 1)) and np.all(prog.A @ x <= prog.b + 1e-7)
    assert prog.native(value) >= loaded.known_optimum - 1e-6  # an upper bound on the profit
    g = greedy_solution(prog)
    assert g.dtype == np.uint8 and prog.is_feasible(g[None])[0]
    assert 0 < prog.native_objective(g[None])[0] <= loaded.known_optimum
    # greedy is maximal: no left-out item with a reward still fits
    slack = prog.b - prog.A @ g
    assert not any(np.all(prog.A[:, j] <= slack + 1e-9) for j in np.flatnonzero(g == 0))
    mis = build_program(load_instance("gen:mis?n=12&p=0.3&seed=2"))
    gm = greedy_solution(mis)
    assert mis.is_feasible(gm[None])[0] and gm.sum() >= 1
    _, xm = lp_relaxation(mis)
    assert np.all(mis.A @ xm <= 1 + 1e-9)


def test_warm_start_vectors_refuse_what_they_cannot_handle() -> None:
    tsp = build_program(load_instance("five_d"))
    with pytest.raises(ValidationError, match="linear objective"):
        lp_relaxation(tsp)
    eq = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="==")
    with pytest.raises(ValidationError, match="'<='"):
        greedy_solution(eq)
    infeasible = BinaryProgram.from_arrays(c=[1.0], A=[[1.0]], b=[2.0], sense="==")
    with pytest.raises(ValidationError, match="infeasible"):
        lp_relaxation(infeasible)
