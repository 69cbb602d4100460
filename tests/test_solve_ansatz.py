"""Structured ansätze in the loop: SolveConfig fields, per-problem defaults, sampler and form wiring, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from qslack.cli import app
from qslack.exceptions import OptionError, ValidationError
from qslack.model.onehot import one_hot_groups
from qslack.model.relax import greedy_solution, lp_relaxation
from qslack.runs.config import LEGACY, SolveConfig, defaults_for, make_sampler
from qslack.runs.prepare import prepare

cli = CliRunner()


def test_resolve_fills_per_problem_defaults_and_keeps_given_values() -> None:
    cfg = SolveConfig(
        "gen:mdkp?n=8&m=2&seed=1",
        method=None,
        p=None,
        mixer=None,
        init=None,
        rho=None,
        warm_start=None,
        eps=None,
        schedule=None,
        params=None,
        optimizer=None,
        qaoa_maxiter=None,
        options=None,
    ).validate()
    d = defaults_for("mdkp")
    assert {k: getattr(cfg, k) for k in d} == d
    # a value given stays; an explicit mixer brings its own initial state
    cfg2 = SolveConfig("five_d", p=3, mixer="x", init=None, method=None, options=None).validate()
    assert cfg2.p == 3 and cfg2.mixer == "x" and cfg2.init == "uniform"
    assert cfg2.method == defaults_for("tsp")["method"]
    # another method than the default does not inherit the default method's options
    cfg3 = SolveConfig("five_d", method="bundle", options=None).validate()
    assert cfg3.options == {}
    assert all(
        v is not None and v != "auto" for k, v in cfg3.to_dict().items() if k in ("p", "mixer", "method")
    )


def test_legacy_stored_config_reads_as_what_it_ran() -> None:
    old = {"instance": "mknap1#1", "method": "bundle", "p": 2, "rho": 1.0}  # stored before the new fields
    cfg = SolveConfig.from_dict(old)
    for k in ("mixer", "init", "schedule", "params", "optimizer", "eps"):
        assert getattr(cfg, k) == LEGACY[k]
    assert make_sampler(cfg).config()["p"] == 2 and "mixer" not in make_sampler(cfg).config()


@pytest.mark.parametrize(
    ("kw", "exc"),
    [
        ({"mixer": "zz"}, OptionError),
        ({"init": "ghz"}, OptionError),
        ({"params": "ramp", "schedule": "default"}, OptionError),
        ({"mixer": "warm", "init": "warm", "warm_start": None}, OptionError),
        ({"warm_start": "qp"}, OptionError),
        ({"eps": 0.7}, ValidationError),
        ({"optimizer": "adam"}, OptionError),
        ({"p": -1}, ValidationError),
        ({"sampler_time_limit": 1.0}, OptionError),  # only for sa / tabu
    ],
)
def test_bad_ansatz_options_fail_validation(kw: dict, exc: type) -> None:
    with pytest.raises(exc):
        SolveConfig("mknap1#1", **kw).validate()


def test_xy_mixer_gets_groups_and_the_form_enforces_their_rows() -> None:
    cfg = SolveConfig(
        "five_d",
        method="margin",
        mixer="xy-ring",
        init="one-hot",
        onehot="col",
        p=1,
        qaoa_maxiter=0,
        optimizer="none",
        schedule="lr",
        shots=300,
        iters=1,
    )
    prep = prepare(cfg)
    groups = one_hot_groups(prep.program, "col")
    assert prep.form.enforced.tolist() == [k in {g.row for g in groups} for k in range(prep.program.n_cons)]
    sampler = make_sampler(cfg, program=prep.program)
    assert sampler.config()["groups"] == [list(g.variables) for g in groups]
    from qslack.dual import ask, init_state, step

    problem = prep.problem()
    state = init_state(problem, "margin", seed=0)
    req = ask(state, problem)
    ss = sampler.sample(req.qubo, seed=1)
    cols = [g.row for g in groups]
    assert np.all(np.abs(prep.program.residuals(ss.X)[:, cols]) < 1e-9)  # every shot one-hot per column
    _, it = step(state, ss, problem)
    assert it.ground_rank is not None  # ranked inside the one-hot subspace


def test_warm_start_vectors_come_from_the_program() -> None:
    for ws, ref in (("lp", lambda p: lp_relaxation(p)[1]), ("greedy", greedy_solution)):
        cfg = SolveConfig("mknap1#2", mixer="warm", init="warm", warm_start=ws, eps=0.1, p=0, qaoa_maxiter=0)
        prep = prepare(cfg)
        s = make_sampler(cfg, program=prep.program)
        assert np.allclose(s.config()["warm_start"], ref(prep.program))
        assert s.config()["eps"] == 0.1 and s.p == 0


def test_slack_penalty_refuses_a_warm_start_on_inequalities() -> None:
    cfg = SolveConfig("mknap1#1", method="slack-penalty", mixer="warm", init="warm", warm_start="lp")
    with pytest.raises(OptionError):
        make_sampler(cfg.validate())


def test_cli_solve_with_ansatz_flags_and_p0(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "q.db")
    args = [
        "solve",
        "five_d",
        "--method",
        "margin",
        "--mixer",
        "xy-ring",
        "--onehot",
        "col",
        "--p",
        "0",
        "--iters",
        "2",
        "--shots",
        "200",
        "--db",
        db,
        "--json",
    ]
    res = cli.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["p_feasible"] > 0 and out["circuit_evals"] == 2  # p = 0: one sampling circuit per step
    exp = json.loads(cli.invoke(app, ["runs", "--export", out["run_id"], "--db", db]).stdout)
    cfg = exp["run"]["options"]["config"]
    assert cfg["mixer"] == "xy-ring" and cfg["init"] == "one-hot" and cfg["p"] == 0
    assert all(cfg[k] is not None for k in ("method", "rho", "schedule", "params", "optimizer", "eps"))
    bad = cli.invoke(app, ["solve", "five_d", "--mixer", "xy-ring", "--onehot", "nope", "--db", db])
    assert bad.exit_code == 2 and "nope" in bad.output


def test_ibm_sampler_runs_the_ansatz_circuit() -> None:
    pytest.importorskip("qiskit_ibm_runtime")
    from qslack.hardware.sampler import IBMSampler
    from qslack.model.qubo import QUBO
    from qslack.samplers.qaoa.ansatz import Ansatz

    q = QUBO(np.diag([-1.0, -2.0, -1.5, -0.5]) + np.triu(np.full((4, 4), 0.3), 1))
    ans = Ansatz.build(4, mixer="xy-ring", groups=[[0, 1], [2, 3]])
    ss = IBMSampler("fake-torino", p=1, shots=400, maxiter=0, seed=3, ansatz=ans).sample(q)
    one_hot = (ss.X[:, 0] + ss.X[:, 1] == 1) & (ss.X[:, 2] + ss.X[:, 3] == 1)
    assert ss.counts[one_hot].sum() / ss.n_shots > 0.7  # noise only: the X mixer gives 1/4
    assert IBMSampler("fake-torino", p=1, ansatz=ans).config()["ansatz"]["mixer"] == "xy-ring"


def test_a_sweep_worker_samples_the_same_hamiltonian_as_solve(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: the Dask task built its form without the XY mixer's enforced rows (another H)."""
    from qslack.runs.remote import run_task, task_spec
    from qslack.runs.stored import run_handle, start
    from qslack.store.db import Store

    cfg = SolveConfig(
        "five_d", method="margin", mixer="xy-ring", init="one-hot", onehot="col", p=2,
        schedule="lr", params="angles", optimizer="none", qaoa_maxiter=0, iters=3, shots=200,
        seed=1, reference_time_limit=5.0,
    ).validate()
    with Store(tmp_path / "s.db") as store:
        h = start(cfg, store)
        assert h.prep.form.enforced.sum() == 4
        out = run_task(task_spec(h.run_id, 1, cfg, h.state, h.prep))
        _, res = run_handle(store, h)
    remote = [r["p_optimal"] for r in out["records"]]
    local = [it.p_optimal for it in res.history]
    assert len(remote) == len(local) == 3
    assert np.allclose(remote, local, rtol=1e-9, atol=0)
    assert local[-1] > 1e-3  # inside the one-hot subspace the optimum carries weight


def _incumbent_cfg(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        instance="mknap1#2", method="margin", mixer="warm", init="warm", warm_start="incumbent", eps=0.25,
        p=2, schedule="lr", params="angles", optimizer="none", qaoa_maxiter=0, lr_slopes=[1.6, 0.2],
        rho=1.0, iters=5, shots=200, seed=3, reference_time_limit=5.0,
    )
    base.update(kw)
    return SolveConfig(**base).validate()


def test_incumbent_warm_start_recentres_every_later_step_and_resumes_identically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qslack.runs import stored
    from qslack.store.db import Store

    known: list = []  # the incumbent after each step, as the driver's state holds it
    with Store(tmp_path / "a.db") as store:
        _, res, prep = stored.solve(
            _incumbent_cfg(), store, callback=lambda it, st: known.append(st.incumbent)
        )
    hist = res.history
    assert "centre" not in hist[0].sampler_info  # no incumbent yet: the sampler's own LP point
    for k in range(1, len(hist)):
        assert known[k - 1] is not None, "mknap1#2 has a feasible sample after one step"
        # centred on the incumbent known when step k was asked for
        assert hist[k].sampler_info["centre"] == known[k - 1].astype(float).tolist()
    assert res.best_objective_repaired is not None
    assert np.array_equal(known[-1], res.best_x_repaired)  # repaired >= raw on a knapsack: ties go to it
    # the sampler records the recentring; its stored identity says so
    s = make_sampler(_incumbent_cfg(), program=prep.program)
    assert s.recentre and s.config()["recentre"] is True

    with Store(tmp_path / "b.db") as store:
        rid, part, _ = stored.solve(_incumbent_cfg(), store, stop_after=2)
        assert part is not None and part.status == "interrupted"
        _, res2, _ = stored.resume(rid, store)
    again = [(it.p_optimal, it.p_feasible, it.sampler_info.get("centre")) for it in res2.history]
    assert again == [(it.p_optimal, it.p_feasible, it.sampler_info.get("centre")) for it in hist]


def test_a_recentred_sample_is_the_sampler_built_on_that_centre() -> None:
    from qslack.model.qubo import QUBO
    from qslack.samplers.qaoa.sampler import QAOASampler

    rng = np.random.default_rng(4)
    q = QUBO(np.triu(rng.normal(size=(6, 6))))
    lp, inc = rng.uniform(size=6), np.array([1.0, 0, 0, 1, 1, 0])
    kw = dict(p=3, mixer="warm", initial_state="warm", eps=0.2, schedule="lr", optimizer="none")
    kw.update(shots=50, seed=1)
    a = QAOASampler(warm_start=lp, recentre=True, **kw).sample(q, warm_start=inc)
    b = QAOASampler(warm_start=inc, **kw).sample(q)
    assert np.allclose(a.probabilities, b.probabilities, atol=1e-12)
    assert a.info["ansatz"]["warm_start"] == a.info["centre"] == inc.tolist()
    c = QAOASampler(warm_start=lp, **kw).sample(q)
    assert not np.allclose(a.probabilities, c.probabilities, atol=1e-3)  # the centre matters
    # (1 - eps)^n on the centre at p = 0: the recentred state is the regularised product state
    z = QAOASampler(**{**kw, "p": 0}, warm_start=lp).sample(q, warm_start=inc)
    idx = int(sum(int(v) << j for j, v in enumerate(inc)))
    assert z.probabilities[idx] == pytest.approx(0.8**6, rel=1e-9)
    with pytest.raises(OptionError):
        QAOASampler(p=1, recentre=True)


def test_mps_and_ibm_samplers_take_the_same_centre() -> None:
    pytest.importorskip("qiskit_aer")
    from qslack.model.qubo import QUBO
    from qslack.samplers.qaoa.sampler import QAOASampler

    rng = np.random.default_rng(5)
    q = QUBO(np.triu(rng.normal(size=(5, 5))))
    lp, inc = np.full(5, 0.5), np.array([0.0, 1, 1, 0, 1])
    kw = dict(p=2, mixer="warm", initial_state="warm", eps=0.1, schedule="lr", optimizer="none")
    kw.update(shots=4000, seed=2)
    mps = QAOASampler(backend="mps", warm_start=lp, **kw).sample(q, warm_start=inc)
    assert mps.info["centre"] == inc.tolist()
    ref = QAOASampler(warm_start=inc, **kw).sample(q).probabilities
    idx = mps.X @ (1 << np.arange(5))
    est = np.zeros(32)
    np.add.at(est, idx, mps.counts / mps.n_shots)
    assert np.abs(est - ref).max() < 0.03  # 4000 shots of the same state
    pytest.importorskip("qiskit_ibm_runtime")
    from qslack.hardware.sampler import IBMSampler
    from qslack.samplers.qaoa.ansatz import Ansatz

    ans = Ansatz.build(5, mixer="warm", warm_start=lp, eps=0.1)
    smp = IBMSampler("fake-torino", p=1, shots=100, maxiter=0, seed=3, ansatz=ans, recentre=True)
    ss = smp.sample(q, warm_start=inc)
    assert ss.info["centre"] == inc.tolist() and smp.config()["recentre"] is True
    with pytest.raises(OptionError):
        IBMSampler("fake-torino", p=1, recentre=True)
