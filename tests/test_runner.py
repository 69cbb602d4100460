"""Stored solves: a killed run resumed from the store ends where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qslack.runs import config as runner
from qslack.runs import stored
from qslack.store.db import Store

# the X-mixer QAOA with optimised angles that ran before per-problem defaults (keeps the step times)
LEGACY_QAOA = ["--mixer", "x", "--schedule", "default", "--params", "angles", "--optimizer", "cobyla"]


def _cfg(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        instance="mknap1#1",
        method="subgradient",
        sampler="qaoa",
        p=1,
        shots=200,
        qaoa_maxiter=15,
        iters=6,
        seed=5,
        reference_time_limit=5.0,
    )
    base.update(kw)
    return runner.SolveConfig(**base)


def _final(store: Store, run_id: str) -> dict:
    run = store.get_run(run_id)
    steps = store.steps(run_id)
    res = run["result"]
    keep = ("lam", "best_objective", "best_objective_repaired", "dual_bound", "p_feasible", "steps")
    hist = [{k: v for k, v in s["record"].items() if k != "wall_s"} for s in steps]
    return {"summary": {k: res[k] for k in keep}, "steps": hist}


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        rid_full, _res_full, _ = stored.solve(_cfg(), store)
        full = _final(store, rid_full)
    with Store(tmp_path / "b.db") as store:
        rid, res, _ = stored.solve(_cfg(), store, stop_after=2)
        assert res is not None and res.status == "interrupted"
        assert store.get_run(rid)["status"] == "interrupted"
        rid2, res2, _ = stored.resume(rid, store)
        assert rid2 == rid and res2.steps == 6
        resumed = _final(store, rid)
    assert resumed == full


def test_killed_process_resumes_identically(tmp_path: Path) -> None:
    """SIGKILL a `qslack solve` mid-run; `--resume` finishes with the uninterrupted run's numbers."""
    db = tmp_path / "kill.db"
    # steps of ~0.3 s each (p=3, 150 COBYLA evaluations on 10 qubits), so the kill lands mid-run
    args = [
        "solve",
        "mknap1#2",
        "--method",
        "bundle",
        "--p",
        "3",
        "--shots",
        "200",
        "--qaoa-maxiter",
        "150",
        "--iters",
        "12",
        "--seed",
        "3",
        *LEGACY_QAOA,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qslack", *args, "--db", str(db), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.time() + 120
    run_id = None
    while time.time() < deadline:
        time.sleep(0.2)
        if not db.exists():
            continue
        try:
            with Store(db) as s:
                runs = s.list_runs()
                if runs and len(s.steps(runs[0]["run_id"])) >= 2:
                    run_id = runs[0]["run_id"]
                    break
        except Exception:
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert run_id is not None, "the solve never stored 3 steps"
    with Store(db) as s:
        n_before = len(s.steps(run_id))
        assert n_before < 12, "the run finished before it was killed; the test proves nothing"
    out = subprocess.run(
        [sys.executable, "-m", "qslack", "solve", "--resume", run_id, "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    resumed = json.loads(out.stdout)
    db2 = tmp_path / "full.db"
    out2 = subprocess.run(
        [sys.executable, "-m", "qslack", *args, "--db", str(db2), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    full = json.loads(out2.stdout)
    for key in (
        "best_objective",
        "best_objective_repaired",
        "dual_bound",
        "p_feasible",
        "lam",
        "steps",
    ):
        assert resumed[key] == full[key], key
    with Store(db) as s:
        assert [st["step"] for st in s.steps(run_id)] == list(range(12))


def test_slack_penalty_that_does_not_fit_is_recorded(tmp_path: Path) -> None:
    with Store(tmp_path / "c.db") as store:
        rid, res, _prep = stored.solve(_cfg(instance="mknap1#2", method="slack-penalty"), store)
        assert res is None
        run = store.get_run(rid)
        assert run["status"] == "does-not-fit"
        assert "99 qubits" in run["result"]["message"]


@pytest.mark.parametrize("sampler", ["exact", "random"])
def test_cli_solve_json_fields(tmp_path: Path, sampler: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qslack",
            "solve",
            "five_d",
            "--method",
            "augmented-lagrangian",
            "--sampler",
            sampler,
            "--iters",
            "4",
            "--db",
            str(tmp_path / "d.db"),
            "--json",
            "--write-solution",
            str(tmp_path / "s.tour"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    for key in (
        "run_id",
        "best_objective",
        "best_objective_repaired",
        "feasible",
        "gap",
        "p_feasible",
        "dual_bound",
        "dual_estimate",
        "p_optimal",
        "steps",
        "circuit_evals",
        "shots_total",
        "qubits_slack_free",
        "qubits_slack",
        "wall_s",
    ):
        assert key in res
    assert res["qubits_slack_free"] == 16
    if sampler == "exact":
        assert res["best_objective"] == 19 and res["gap"] == 0
        from qslack.formats.tsplib import read_tour

        assert sorted(read_tour(tmp_path / "s.tour").tolist()) == [0, 1, 2, 3, 4]
