"""Hardware runs that outlive the process, against fake services: failures, kills, flaky links, secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qslack.hardware import LocalFakeService, RetryingService
from qslack.runs import config as runner
from qslack.runs.hardware import advance, run_until_done, submit_run
from qslack.store.db import Store
from qslack.testing.faults import FakeFaultyService, SimulatedCrash

TOKEN = "sekret-token-9f8e7d"


def _cfg(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        instance="mknap1#1",
        method="subgradient",
        p=1,
        qaoa_maxiter=10,
        iters=3,
        seed=4,
        profile="fake-torino",
        reference_time_limit=5.0,
    )
    base.update(kw)
    return runner.SolveConfig(**base)


def _records(store: Store, run_id: str) -> list[dict]:
    out = []
    for s in store.steps(run_id):
        rec = dict(s["record"])
        rec.pop("wall_s")
        rec["sampler_info"] = {k: v for k, v in rec["sampler_info"].items() if k != "job_id"}
        out.append(rec)
    return out


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """An uninterrupted run through the same fake service path."""
    db = tmp_path_factory.mktemp("ref") / "ref.db"
    with Store(db) as store:
        run_id, _ = submit_run(_cfg(), store, service=LocalFakeService())
        svc = LocalFakeService()
        out = run_until_done(store, run_id, service=svc, sleep=lambda s: None)
        assert out.action == "finished"
        return _records(store, run_id)


def test_killed_after_submit_then_fetch_resumes(tmp_path: Path, reference: list[dict]) -> None:
    """The submitting process dies before results arrive; a new one fetches and finishes."""
    remote = LocalFakeService()  # the service outlives the client processes
    with Store(tmp_path / "k.db") as store:
        run_id, job0 = submit_run(_cfg(), store, service=remote)
        assert store.jobs(run_id)[0]["status"] == "submitted"
    # ... process killed here; a later `qslack jobs fetch` in a new process:
    with Store(tmp_path / "k.db") as store:
        out = advance(store, run_id, service=remote)
        assert out.action == "collected" and out.job_id == job0
        run_until_done(store, run_id, service=remote, sleep=lambda s: None)
        assert _records(store, run_id) == reference
        assert [j["step"] for j in store.jobs(run_id)] == [0, 1, 2]
        assert all(j["status"] == "done" for j in store.jobs(run_id))


def test_crash_between_accept_and_store_resubmits_step(tmp_path: Path, reference: list[dict]) -> None:
    faulty = FakeFaultyService(LocalFakeService(), kill_after_submit=True)
    with Store(tmp_path / "c.db") as store:
        with pytest.raises(SimulatedCrash):
            submit_run(_cfg(), store, service=faulty)
        run_id = store.list_runs()[0]["run_id"]
        assert store.jobs(run_id) == []  # the job id never reached the store
        out = advance(store, run_id, service=LocalFakeService())
        assert out.action == "resubmitted" and out.step == 0
        run_until_done(store, run_id, service=LocalFakeService(), sleep=lambda s: None)
        assert _records(store, run_id) == reference


def test_failed_job_is_recorded_and_step_resubmitted(tmp_path: Path, reference: list[dict]) -> None:
    faulty = FakeFaultyService(LocalFakeService(), fail_jobs={1})
    with Store(tmp_path / "f.db") as store:
        run_id, _ = submit_run(_cfg(), store, service=faulty)
        outs = []
        run_until_done(store, run_id, service=faulty, sleep=lambda s: None, on_outcome=outs.append)
        jobs = store.jobs(run_id)
        failed = [j for j in jobs if j["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["step"] == 1
        assert "8041" in failed[0]["info"]["reason"]
        assert any(o.action == "resubmitted" for o in outs)
        assert [s["step"] for s in store.steps(run_id)] == [0, 1, 2]  # nothing lost or duplicated
        assert _records(store, run_id) == reference


def test_flaky_connection_is_retried_without_duplicates(
    tmp_path: Path,
    reference: list[dict],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    faulty = FakeFaultyService(
        LocalFakeService(),
        flaky_calls=3,
        flaky_methods={"status", "result"},
        flaky_status=503,
        flaky_message=f"HTTP 503 upstream said token={TOKEN}",
    )
    svc = RetryingService(faulty, retries=5, base_delay=0.0, sleep=lambda s: None)
    db = tmp_path / "r.db"
    with Store(db) as store:
        run_id, _ = submit_run(_cfg(), store, service=svc)
        run_until_done(store, run_id, service=svc, sleep=lambda s: None)
        assert faulty.calls["status"] + faulty.calls["result"] >= 3
        assert len(store.jobs(run_id)) == 3 and len(store.steps(run_id)) == 3
        assert _records(store, run_id) == reference
        exported = json.dumps(store.export_run(run_id))
    out = capsys.readouterr()
    for text in (out.out, out.err, caplog.text, exported):
        assert TOKEN not in text
    for f in tmp_path.iterdir():  # database, WAL and anything else written
        assert TOKEN.encode() not in f.read_bytes()


def test_cli_never_prints_token(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "QISKIT_IBM_TOKEN": TOKEN, "QSLACK_LOG": "debug"}
    db = tmp_path / "cli.db"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "qslack",
            "solve",
            "mknap1#1",
            "--profile",
            "fake-torino",
            "--method",
            "bundle",
            "--iters",
            "2",
            "--p",
            "1",
            "--qaoa-maxiter",
            "5",
            "--mixer",
            "x",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "ISA circuit" in res.stdout
    assert TOKEN not in res.stdout + res.stderr
    for f in tmp_path.iterdir():
        assert TOKEN.encode() not in f.read_bytes()


def test_concurrent_fetch_stores_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fetches of the same run (e.g. two terminals): the second is refused while the first holds
    the run's lease; one step stored, one next job submitted."""
    from qslack.exceptions import QslackError
    from qslack.hardware.sampler import IBMSampler

    remote = LocalFakeService()
    db = tmp_path / "d.db"
    with Store(db) as store:
        run_id, _ = submit_run(_cfg(), store, service=remote)
    real_collect = IBMSampler.collect
    calls = {"n": 0, "refused": 0}

    def collect(self, *a, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:  # while fetch B waits for the result, fetch A starts
            with Store(db) as other:
                try:
                    advance(other, run_id, service=remote)
                except QslackError as exc:
                    assert "another process" in str(exc)
                    calls["refused"] += 1
        return real_collect(self, *a, **kw)

    monkeypatch.setattr(IBMSampler, "collect", collect)
    with Store(db) as store:
        out = advance(store, run_id, service=remote)
        assert calls["refused"] == 1
        assert out.action == "collected"
        assert [s["step"] for s in store.steps(run_id)] == [0]
        assert [j["step"] for j in store.jobs(run_id)] == [0, 1]  # no duplicate submission


def test_cancelled_job_is_recorded_and_resubmitted(tmp_path: Path, reference: list[dict]) -> None:
    from qslack.runs.hardware import cancel_job

    remote = LocalFakeService()
    with Store(tmp_path / "x.db") as store:
        run_id, job0 = submit_run(_cfg(), store, service=remote)
        cancel_job(store, job0, service=remote)
        assert store.jobs(run_id)[0]["status"] == "cancelled"
        out = advance(store, run_id, service=remote)
        assert out.action == "resubmitted" and out.step == 0 and out.job_id != job0
        run_until_done(store, run_id, service=remote, sleep=lambda s: None)
        assert _records(store, run_id) == reference
