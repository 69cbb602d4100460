"""Run lifecycle: Ctrl-C at any moment stores and exits 130, bad options leave no run, stale runs,
resume from another folder, resume with more steps, what ran is what is stored."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qslack.cli import app
from qslack.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
cli = CliRunner()


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m qslack ARGS`` in its own session (Ctrl-C goes to its whole process group)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("QISKIT_IBM_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "qslack", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def _wait_for_steps(db: Path, n: int, proc: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """The id of the first run with at least ``n`` stored steps."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read()[-2000:]}"
        time.sleep(0.2)
        if not db.exists():
            continue
        try:
            with Store(db) as s:
                for r in s.list_runs():
                    if len(s.steps(r["run_id"])) >= n:
                        return str(r["run_id"])
        except Exception:
            continue
    raise AssertionError(f"no run reached {n} steps in {timeout} s")


def _ctrl_c(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _statuses(db: Path) -> list[str]:
    with Store(db) as s:
        return [r["status"] for r in s.list_runs()]


# --------------------------------------------------------------------------- Ctrl-C
# the legacy ansatz (X mixer, COBYLA from a ramp): 150 evaluations a step keep the run busy
LEGACY_ANSATZ = ["--mixer", "x", "--init", "uniform", "--schedule", "default", "--params", "angles"]
SLOW_SOLVE = [
    *LEGACY_ANSATZ, "--method", "bundle", "--p", "3", "--qaoa-maxiter", "150", "--optimizer", "cobyla",
    "--shots", "200", "--iters", "60",
]


@pytest.mark.parametrize("command", ["solve", "demo"])
def test_ctrl_c_stores_exits_130_and_says_how_to_resume(command: str, tmp_path: Path) -> None:
    """A fresh run (its OR-Tools reference solve included) stops on Ctrl-C with its steps stored."""
    db = tmp_path / "s.db"
    args = ["solve", "mknap1#2", *SLOW_SOLVE] if command == "solve" else ["demo"]
    proc = _spawn([*args, "--db", str(db)], tmp_path)
    if command == "solve":
        run_id = _wait_for_steps(db, 1, proc)
    else:  # the demo's first run takes ~2 s: Ctrl-C the moment it says it started
        line = ""
        while "started" not in line:
            line = proc.stderr.readline()
            assert line, "the demo ended before its first run started"
        run_id = line.split(" run ")[1].split()[0]
    rc, _, err = _ctrl_c(proc)
    assert rc == 130, err[-2000:]
    assert f"qslack solve --resume {run_id}" in err and "Traceback" not in err
    with Store(db) as s:
        run = s.get_run(run_id)
        assert run["status"] == "interrupted" and run["lease_owner"] is None
        done = len(s.steps(run_id))
    assert done >= (1 if command == "solve" else 0)
    if command == "solve":  # and it resumes from there
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "qslack",
                "solve",
                "--resume",
                run_id,
                "--iters",
                str(done + 2),
                "--db",
                str(db),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["steps"] == done + 2


def test_ctrl_c_during_the_reference_solve_leaves_no_run(tmp_path: Path) -> None:
    """OR-Tools' CP-SAT used to take SIGINT over and the process died (-2) without a word."""
    db = tmp_path / "s.db"
    proc = _spawn(["solve", "mknapcb1#1", "--sampler", "cpsat", "--iters", "50", "--db", str(db)], tmp_path)
    time.sleep(6.0)  # imports, then CP-SAT's reference solve (about 8 s alone) or the first CP-SAT steps
    rc, _, err = _ctrl_c(proc)
    assert rc == 130, err[-2000:]
    assert "Traceback" not in err
    assert "running" not in (_statuses(db) if db.exists() else [])


def test_ctrl_c_on_a_sweep_leaves_no_running_run_and_a_rerun_finishes(tmp_path: Path) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "ctrlc"\nseeds = [0, 1]\nmethods = ["subgradient", "bundle"]\n'
        '[budget]\nsampler = "qaoa"\np = 3\nqaoa_maxiter = 150\nshots = 100\niters = 12\n'
        'mixer = "x"\ninit = "uniform"\nschedule = "default"\nparams = "angles"\noptimizer = "cobyla"\n'
        '[[instance]]\nspec = "mknap1#2"\n'
    )
    db = tmp_path / "s.db"
    proc = _spawn(["sweep", str(suite), "--workers", "2", "--db", str(db), "--no-report"], tmp_path)
    _wait_for_steps(db, 2, proc)
    rc, _, err = _ctrl_c(proc)
    assert rc == 130, err[-2000:]
    assert "qslack sweep" in err and "Traceback" not in err
    assert "running" not in _statuses(db)
    # the same command again resumes what was interrupted and runs the rest
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qslack",
            "sweep",
            str(suite),
            "--workers",
            "2",
            "--db",
            str(db),
            "--no-report",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    with Store(db) as s:
        runs = s.list_runs()
        assert len(runs) == 4 and {r["status"] for r in runs} == {"finished"}
        assert all([st["step"] for st in s.steps(r["run_id"])] == list(range(12)) for r in runs)


def test_ctrl_c_on_jobs_fetch_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qslack.runs import hardware

    db = tmp_path / "s.db"
    with Store(db) as s:
        rid = s.create_run(
            run_key="k", instance={}, program_hash="h", n_qubits=3, method="bundle", seed=0, provenance={}
        )
        s.set_status(rid, "interrupted")

    def waiting(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hardware, "run_until_done", waiting)
    res = cli.invoke(app, ["jobs", "fetch", rid, "--wait", "--db", str(db)])
    assert res.exit_code == 130
    assert f"qslack jobs fetch {rid} --wait" in res.output


# --------------------------------------------------------------------------- no ghost runs
@pytest.mark.parametrize(
    "extra",
    [
        ["--method", "bogus"],
        ["--rho", "-1"],
        ["--rho", "nan"],
        ["-o", "foo=1"],
        ["--seed", "-1"],
        ["--iters", "0"],
        ["--time-limit", "-1"],
        ["--profile", "aer-gpu"],
        ["--sampler", "nosuch"],
    ],
)
def test_bad_options_leave_no_run(extra: list[str], tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res = cli.invoke(app, ["solve", "mknap1#1", "--iters", "2", *extra, "--db", str(db)])
    assert res.exit_code == 2, res.output
    assert not db.exists() or _statuses(db) == []


def test_bad_instance_leaves_no_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res = cli.invoke(app, ["solve", "gen:mis?n=0", "--db", str(db)])
    assert res.exit_code == 2
    assert not db.exists() or _statuses(db) == []


def test_too_large_is_recorded_as_does_not_fit_in_words(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    res = cli.invoke(
        app, ["solve", "att48", "--encoding", "edge", "--method", "slack-penalty", "--db", str(db), "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "does-not-fit" and "about 2^" in out["message"]
    with Store(db) as s:
        (run,) = s.list_runs()
        assert run["status"] == "does-not-fit" and run["qubits_slack"] > 2**40
        # sizes beyond 64 bits are stored exactly too
        rid = s.create_run(
            run_key="k",
            instance={},
            program_hash="h",
            n_qubits=3,
            qubits_slack=2**70 + 1,
            method="slack-penalty",
            seed=0,
            provenance={},
        )
        assert s.get_run(rid)["qubits_slack"] == 2**70 + 1


# --------------------------------------------------------------------------- stale runs, resume
def test_killed_run_is_stale_and_resumes_from_another_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "inst").mkdir(parents=True)
    b.mkdir()
    shutil.copy(ROOT / "instances" / "tsplib" / "burma14.tsp", a / "inst" / "b14.tsp")
    db = tmp_path / "s.db"
    proc = _spawn(["solve", "inst/b14.tsp", "--take", "5", *SLOW_SOLVE[:-1], "30", "--db", str(db)], a)
    run_id = _wait_for_steps(db, 1, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    listed = json.loads(cli.invoke(app, ["runs", "--status", "stale", "--json", "--db", str(db)]).stdout)
    assert [r["run_id"] for r in listed] == [run_id]
    # from another folder: the stored path is absolute
    with Store(db) as s:
        done = len(s.steps(run_id))
        assert Path(s.get_run(run_id)["options"]["config"]["instance"]).is_absolute()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "qslack",
            "solve",
            "--resume",
            run_id,
            "--iters",
            str(done + 1),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=b,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["steps"] == done + 1


def test_resume_checks_iters_and_the_program(tmp_path: Path) -> None:
    inst = tmp_path / "five.tsp"
    shutil.copy(ROOT / "instances" / "tsplib" / "burma14.tsp", inst)
    db = tmp_path / "s.db"
    res = cli.invoke(
        app,
        ["solve", str(inst), "--take", "4", "--sampler", "exact", "--iters", "3", "--db", str(db), "--json"],
    )
    assert res.exit_code == 0, res.output
    rid = json.loads(res.stdout)["run_id"]
    with Store(db) as s:
        s.set_status(rid, "interrupted")  # as if stopped: finished runs are not resumed
    res = cli.invoke(app, ["solve", "--resume", rid, "--iters", "3", "--db", str(db)])
    assert res.exit_code == 2 and "not more than the 3 steps" in res.output
    inst.write_text(inst.read_text().replace("16.47", "16.48"))  # the file changed since
    res = cli.invoke(app, ["solve", "--resume", rid, "--iters", "5", "--db", str(db)])
    assert res.exit_code == 2 and "another program" in res.output


def test_what_ran_is_what_is_stored(tmp_path: Path) -> None:
    """A hardware profile's shots are the ones recorded (not the CLI default)."""
    pytest.importorskip("qiskit_ibm_runtime")
    db = tmp_path / "s.db"
    res = cli.invoke(
        app,
        [
            "solve",
            "mknap1#1",
            "--profile",
            "fake-torino",
            "--iters",
            "1",
            "--p",
            "1",
            "--qaoa-maxiter",
            "5",
            "--shots",
            "77",
            "--db",
            str(db),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    with Store(db) as s:
        run = s.get_run(out["run_id"])
        step = s.steps(out["run_id"])[0]["record"]
    assert run["sampler"]["shots"] == 2048 == step["sampler_info"]["shots"]  # the profile's
    assert out["reference_wall_s"] is not None and out["wall_s"] >= 0  # solve and reference timed apart
