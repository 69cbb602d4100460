"""Sweeps on Dask: a LocalCluster, a scheduler and workers started by hand, a worker killed mid-sweep,
Ctrl-C and resume, two drivers on one store, placement by resources, the Slurm job script.

Every sweep's numbers are checked against plain in-process stored runs of the same configurations
(``qslack.runs.stored.solve``, what ``qslack solve`` runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qslack.cli import app
from qslack.exceptions import OptionError, ParseError
from qslack.runs import stored
from qslack.runs.cluster import parse_cluster
from qslack.runs.resources import RunResources, memory_need
from qslack.runs.sweep import load_suite, run_suite
from qslack.store.db import Store

runner = CliRunner()
DASK = Path(sys.executable).parent / "dask"

EXACT_SUITE = (
    'name = "tiny-exact"\nseeds = [0, 1]\nmethods = ["bundle"]\n'
    'baselines = [{ method = "fixed-penalty", sampler = "random" }]\n'
    '[budget]\nsampler = "exact"\niters = 3\nshots = 50\nreference_time_limit = 5.0\n'
    '[[instance]]\nspec = "mknap1#1"\n'
)
# QAOA steps of ~0.1 s (p=1, 15 COBYLA evaluations): slow enough to interrupt or kill mid-run
QAOA_SUITE = (
    'name = "tiny-qaoa"\nseeds = [0, 1]\nmethods = ["bundle", "subgradient"]\n'
    '[budget]\nsampler = "qaoa"\np = 1\nshots = 100\nqaoa_maxiter = 15\niters = 4\n'
    'mixer = "x"\ninit = "uniform"\nschedule = "default"\nparams = "angles"\noptimizer = "cobyla"\n'
    "reference_time_limit = 5.0\n"
    '[[instance]]\nspec = "mknap1#1"\n'
)


def _write(tmp: Path, text: str, name: str = "suite.toml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _final(store: Store, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    res = run["result"]
    keep = ("lam", "best_objective", "best_objective_repaired", "dual_bound", "p_feasible", "steps")
    hist = [{k: v for k, v in s["record"].items() if k != "wall_s"} for s in store.steps(run_id)]
    return {"summary": {k: res[k] for k in keep}, "steps": hist}


def _by_config(db: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """``(method, sampler, seed) -> final numbers`` of every run in a store (one run per config)."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    with Store(db) as store:
        keys = [r["run_key"] for r in store.list_runs()]
        assert len(keys) == len(set(keys)), "a configuration was run twice"
        for r in store.list_runs():
            cfg = r["options"]["config"]
            assert r["status"] == "finished", (r["run_id"], r["status"], r["message"])
            steps = [s["step"] for s in store.steps(r["run_id"])]
            assert steps == list(range(len(steps))), steps
            out[(cfg["method"], cfg["sampler"], cfg["seed"])] = _final(store, r["run_id"])
    return out


def _plain(suite_path: Path, db: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The same configurations as plain stored runs in this process (what `qslack solve` does)."""
    with Store(db) as store:
        for cfg in load_suite(suite_path).configs:
            stored.solve(cfg, store)
    return _by_config(db)


@pytest.fixture(scope="module")
def qaoa_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, int], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("ref")
    return _plain(_write(tmp, QAOA_SUITE), tmp / "plain.db")


# --------------------------------------------------------------------------- a scheduler and two workers


class _Cluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (Dask's default settings: a
    task whose worker dies is rerun by Dask itself, from the state it was given)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        self.logdir = Path(tempfile.mkdtemp(prefix="qslack-dask-"))
        self.logs = [open(self.logdir / f"w{i}.log", "w") for i in range(2)]
        self.procs: list[subprocess.Popen[str]] = []
        sched = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.procs.append(sched)
        self.address = self._address(sched)
        for i in range(2):
            self.procs.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        self.address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                        "--resources",
                        "MEMORY=2000000000,THREADS=1",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=self.logs[i],  # read when a test fails
                    env=env,
                )
            )
        from distributed import Client

        self.client = Client(self.address, timeout="60s")
        self.client.wait_for_workers(2, timeout=120)

    @staticmethod
    def _address(proc: subprocess.Popen[str]) -> str:
        found: list[str] = []

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                m = re.search(r"Scheduler at:\s+(tcp://\S+)", line)
                if m and not found:
                    found.append(m.group(1))
            # keep draining so the scheduler never blocks on a full pipe

        threading.Thread(target=read, daemon=True).start()
        deadline = time.time() + 60
        while not found and time.time() < deadline:
            time.sleep(0.05)
        assert found, "dask scheduler printed no address"
        return found[0]

    def log_tails(self, chars: int = 3000) -> str:
        """The end of each worker's log (what a failed test prints)."""
        return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-chars:]}" for f in
                         sorted(self.logdir.glob("*.log")))

    def kill_busy_worker(self) -> int:
        """SIGKILL the process of a worker that is running a sweep task (its nanny starts a new one)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            processing = self.client.processing()
            busy = [w for w, keys in processing.items() if any("qslack-run-" in str(k) for k in keys)]
            if busy:
                pid = self.client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                return int(pid)
            time.sleep(0.05)
        raise AssertionError("no worker was running a task")

    def close(self) -> None:
        import psutil

        self.client.close()
        for p in self.procs:  # workers (nanny and its worker process) and the scheduler, at once
            try:
                tree = [*psutil.Process(p.pid).children(recursive=True), psutil.Process(p.pid)]
            except psutil.NoSuchProcess:
                continue
            for q in tree:
                try:
                    q.kill()
                except psutil.NoSuchProcess:
                    pass
        for p in self.procs:
            p.wait(timeout=20)
        for f in [*self.logs, *(p.stderr for p in self.procs if p.stderr is not None)]:
            f.close()
        shutil.rmtree(self.logdir, ignore_errors=True)


@pytest.fixture(scope="module")
def tcp_cluster() -> Any:
    c = _Cluster()
    yield c
    c.close()


def _wait_for_steps(db: Path, n: int, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.05)
        if not db.exists():
            continue
        try:
            with Store(db) as s:
                if sum(len(s.steps(r["run_id"])) for r in s.list_runs()) >= n:
                    return
        except Exception:  # the store is being created
            continue
    raise AssertionError(f"fewer than {n} steps stored in {timeout} s")


def _sweep_cmd(suite: Path, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "qslack", "sweep", str(suite), "--db", str(db), "--no-report", "--json",
            *extra]


# --------------------------------------------------------------------------- the tests


def test_local_cluster_sweep_equals_plain_runs(tmp_path: Path) -> None:
    """`--cluster local:2` (a real LocalCluster of two worker processes) stores what plain runs store."""
    suite = _write(tmp_path, EXACT_SUITE)
    db = tmp_path / "s.db"
    args = ["--db", str(db), "--no-report", "--json"]
    res = runner.invoke(app, ["sweep", str(suite), "--cluster", "local:2", *args])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["cluster"] == "local:2" and out["ran"] == 4 and out["statuses"] == {"finished": 4}
    assert _by_config(db) == _plain(suite, tmp_path / "plain.db")
    with Store(db) as s:  # the driver wrote every run; no lease is left behind
        assert all(r["lease_owner"] is None and r["pid"] == os.getpid() for r in s.list_runs())
    again = json.loads(runner.invoke(app, ["sweep", str(suite), "--workers", "2", *args]).stdout)
    assert again["ran"] == 0 and again["reused"] == 4


def test_tcp_cluster_ctrl_c_then_resume(tmp_path: Path, tcp_cluster: _Cluster, qaoa_reference: Any) -> None:
    """A sweep through `tcp://127.0.0.1:PORT`; Ctrl-C (SIGINT to this process) marks unfinished runs
    interrupted and exits 130; the same command resumes them from their last stored step to the plain
    runs' numbers."""
    suite = _write(tmp_path, QAOA_SUITE)
    db = tmp_path / "s.db"
    args = ["sweep", str(suite), "--cluster", tcp_cluster.address, "--db", str(db), "--no-report", "--json"]

    def ctrl_c() -> None:
        _wait_for_steps(db, 2)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=ctrl_c)
    t.start()
    res = runner.invoke(app, args)
    t.join()
    assert res.exit_code == 130, res.output
    assert "Resume with the same command" in res.output and "--cluster" in res.output
    with Store(db) as s:
        statuses = [r["status"] for r in s.list_runs()]
        steps_before = {r["run_id"]: len(s.steps(r["run_id"])) for r in s.list_runs()}
        assert "interrupted" in statuses and "running" not in statuses, statuses
        assert all(r["lease_owner"] is None for r in s.list_runs())
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)
    assert out["cluster"] == tcp_cluster.address and out["resumed"] >= 1
    assert out["reused"] + out["ran"] == 4
    assert _by_config(db) == qaoa_reference
    with Store(db) as s:  # resumed runs kept their steps: a resume adds, it never restarts
        assert all(len(s.steps(rid)) >= n for rid, n in steps_before.items())
        assert len(s.list_runs()) == 4


def test_killed_worker_mid_sweep_runs_finish_once(
    tmp_path: Path, tcp_cluster: _Cluster, qaoa_reference: Any
) -> None:
    """SIGKILL a busy worker of a scheduler started by hand: Dask reruns its tasks elsewhere from the
    state they were given, the driver keeps only steps it has not stored; every run ends once, each
    step is stored once, and the numbers equal the plain runs'."""
    suite = _write(tmp_path, QAOA_SUITE)
    db = tmp_path / "s.db"
    result: dict[str, Any] = {}

    def sweep() -> None:
        result["out"] = run_suite(load_suite(suite), db, cluster=tcp_cluster.address)

    t = threading.Thread(target=sweep)
    t.start()
    _wait_for_steps(db, 1)
    tcp_cluster.kill_busy_worker()
    t.join(timeout=300)
    out = result["out"]
    with Store(db) as s:
        ends = [(r["status"], r["message"]) for r in s.list_runs()]
    assert out["statuses"] == {"finished": 4}, (ends, out, tcp_cluster.log_tails())
    assert _by_config(db) == qaoa_reference
    tcp_cluster.client.wait_for_workers(2, timeout=120)  # the nanny restarted it


def test_killed_local_worker_is_resubmitted_from_the_last_stored_step(
    tmp_path: Path, qaoa_reference: Any
) -> None:
    """On a LocalCluster (allowed-failures 0) a killed worker's task comes back as KilledWorker and
    the driver resubmits it from the run's last stored step: same numbers, each step stored once."""
    import psutil

    suite = _write(tmp_path, QAOA_SUITE)
    db = tmp_path / "s.db"
    notes: list[str] = []
    result: dict[str, Any] = {}

    def sweep() -> None:
        result["out"] = run_suite(load_suite(suite), db, cluster="local:2", on_note=notes.append)

    t = threading.Thread(target=sweep)
    t.start()
    _wait_for_steps(db, 1)
    workers = [
        c for c in psutil.Process().children() if any("spawn_main" in a for a in c.cmdline())
    ]  # the LocalCluster's worker processes (their nannies live in this process)
    assert len(workers) == 2, [c.cmdline() for c in workers]
    workers[0].kill()
    t.join(timeout=300)
    out = result["out"]
    assert out["resubmitted"] >= 1 and any("resubmitted from step" in n for n in notes), (out, notes)
    assert out["statuses"] == {"finished": 4}, out
    assert _by_config(db) == qaoa_reference


def test_two_drivers_on_one_store_run_each_job_once(
    tmp_path: Path, tcp_cluster: _Cluster, qaoa_reference: Any
) -> None:
    """Two `qslack sweep` processes at once on one store: leases give each run to one of them."""
    suite = _write(tmp_path, QAOA_SUITE)
    db = tmp_path / "s.db"
    with Store(db):
        pass  # created once, before both drivers race for it
    cmd = _sweep_cmd(suite, db, "--cluster", tcp_cluster.address)
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = []
    for p in procs:
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(stdout))
    ran = [o["statuses"].get("finished", 0) for o in outs]
    assert sum(ran) == 4, outs  # each configuration was run by exactly one driver
    assert all(o["ran"] + o["reused"] + o["elsewhere"] == 4 for o in outs), outs
    assert _by_config(db) == qaoa_reference  # one run per configuration, steps once each


def test_run_of_a_dead_driver_is_taken_over(tmp_path: Path, tcp_cluster: _Cluster) -> None:
    """A run left `running` with a live lease by a driver whose process is gone is resumed (no ghost)."""
    suite = _write(tmp_path, EXACT_SUITE)
    db = tmp_path / "s.db"
    cfg = load_suite(suite).configs[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(db) as store:
        h = stored.start(cfg, store)
        assert isinstance(h, stored.RunHandle)
        assert store.claim(h.run_id, "ghost-driver", ttl=3600)
        with store.transaction():  # as if that driver's process had died (test-only access)
            store._db().execute("UPDATE runs SET pid = ? WHERE run_id = ?", (dead.pid, h.run_id))
        assert store.is_stale(store.get_run(h.run_id))
    out = run_suite(load_suite(suite), db, cluster=tcp_cluster.address)
    assert out["resumed"] == 1 and out["elsewhere"] == 0 and out["statuses"] == {"finished": 4}, out
    assert _by_config(db) == _plain(suite, tmp_path / "plain.db")


def test_placement_refuses_what_no_worker_can_take(tmp_path: Path, tcp_cluster: _Cluster) -> None:
    """A run needing more memory than any worker offers is recorded as does-not-fit (naming both);
    a GPU run on a cluster without GPUs is not run (and not recorded)."""
    suite = _write(
        tmp_path,
        'name = "placement"\nseeds = [0]\n'
        'baselines = [{ method = "bundle", sampler = "qaoa" }, { method = "bundle", profile = "aer-gpu" }]\n'
        '[budget]\np = 1\niters = 1\nqaoa_maxiter = 5\nshots = 50\nreference_time_limit = 5.0\n'
        '[[instance]]\nspec = "gen:mis?n=26&p=0.2&seed=1"\n[[instance]]\nspec = "mknap1#1"\n',
    )
    db = tmp_path / "p.db"
    out = run_suite(load_suite(suite), db, cluster=tcp_cluster.address)
    # MIS-26 needs > 2 GB with either sampler; mknap1#1 on Aer GPU needs a GPU; mknap1#1 on the kernel runs
    assert out["statuses"] == {"does-not-fit": 2, "finished": 1, "unplaced": 1}, out
    assert len(out["unplaced"]) == 1 and "needs a GPU" in out["unplaced"][0], out
    with Store(db) as s:
        runs = s.list_runs()
        dnf = [r for r in runs if r["status"] == "does-not-fit"]
        assert len(runs) == 3 and len(dnf) == 2 and all(r["n_qubits"] == 26 for r in dnf)
        assert all("largest worker" in r["message"] and "1.9 GiB" in r["message"] for r in dnf)


def test_slurm_job_script_from_suite_table_and_flags(tmp_path: Path) -> None:
    """`--cluster slurm --job-script` prints the script dask-jobqueue would submit (no Slurm here)."""
    pytest.importorskip("dask_jobqueue")
    suite = _write(
        tmp_path,
        EXACT_SUITE
        + '[cluster]\nkind = "slurm"\ncores = 8\nmemory = "32GiB"\nprocesses = 2\ngpus = 2\n'
        'queue = "gpu"\naccount = "qopt"\nwalltime = "02:00:00"\n'
        'job_script_prologue = ["module load cuda/12"]\n',
    )
    res = runner.invoke(app, ["sweep", str(suite), "--job-script", "--slurm", "walltime=04:00:00"])
    assert res.exit_code == 0, res.output
    script = res.stdout
    for line in ("#SBATCH -p gpu", "#SBATCH -A qopt", "#SBATCH -t 04:00:00", "#SBATCH --gres=gpu:2",
                 "#SBATCH --cpus-per-task=8", "module load cuda/12"):
        assert line in script, (line, script)
    assert "--resources MEMORY=17179869184,THREADS=4,GPU=1" in script
    assert "--nworkers 2" in script and "tcp://" in script
    bad = runner.invoke(app, ["sweep", str(suite), "--job-script", "--slurm", "colour=blue"])
    assert bad.exit_code == 2 and "unknown Slurm option" in bad.output


# --------------------------------------------------------------------------- small pieces


def test_cluster_specs_and_errors(tmp_path: Path) -> None:
    assert parse_cluster(None).describe() == "local:1"
    assert parse_cluster(None, table={"kind": "local", "workers": 3}).workers == 3
    assert parse_cluster("tcp://10.0.0.1:8786").kind == "address"
    with pytest.raises(OptionError, match="contradicts"):
        parse_cluster("local:2", workers=3)
    with pytest.raises(OptionError, match="cannot go with"):
        parse_cluster("tcp://h:1", workers=2)
    bad = _write(tmp_path, EXACT_SUITE + '[cluster]\nkind = "slurm"\nnodes = 3\n', "bad.toml")
    with pytest.raises(ParseError, match=r"bad\.toml.*unknown Slurm option"):
        load_suite(bad)
    res = runner.invoke(app, ["sweep", str(_write(tmp_path, EXACT_SUITE)), "--cluster", "ssh://x"])
    assert res.exit_code == 2 and "ssh://x" in res.output


def test_resources_follow_the_memory_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    from qslack.samplers.qaoa.kernel import state_bytes
    from qslack.samplers.qaoa.sampler import QAOASampler

    sv = QAOASampler(p=1, dtype="complex128")
    need = memory_need(24, sv, threads=4)
    assert need >= state_bytes(24) + 8 * 2**24  # at least the state and its diagonal
    assert memory_need(24, QAOASampler(p=1, dtype="complex64")) < need
    assert memory_need(24, QAOASampler(p=1)) == memory_need(24, QAOASampler(p=1, dtype="complex64"))  # auto
    # the hook: qslack.memory.estimate_bytes decides when it exists
    import types

    fake = types.ModuleType("qslack.memory")
    seen: dict[str, Any] = {}

    def estimate_bytes(n: int, path: str, **kw: Any) -> int:
        seen.update(n=n, path=path, **kw)
        return 12345

    fake.estimate_bytes = estimate_bytes  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qslack.memory", fake)
    assert memory_need(24, sv, threads=4) == 12345
    assert seen == {
        "n": 24, "path": "solve", "backend": "statevector", "dtype": "complex128", "diag_dtype": "float64",
        "threads": 4,
    }  # fmt: skip
    r = RunResources(threads=4, memory=12345, gpu=True)
    assert r.dask({"MEMORY", "THREADS", "GPU"}) == {"THREADS": 4, "MEMORY": 12345, "GPU": 1}
    assert r.dask({"MEMORY"}) == {"MEMORY": 12345} and r.dask(set()) == {}


def test_lease_keeper_renews_and_notices_a_stolen_lease(tmp_path: Path) -> None:
    from qslack.runs.sweep import _LeaseKeeper

    db = tmp_path / "l.db"
    with Store(db) as store:
        rid = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3, method="bundle",
                               seed=0, provenance={})
        assert store.claim(rid, "me", ttl=0.6)
        keeper = _LeaseKeeper(db, "me", ttl=0.6)
        keeper.hold(rid)
        keeper.start()
        try:
            first = store.get_run(rid)["lease_until"]
            time.sleep(0.9)  # past the first lease: renewed every 0.2 s, so still held
            assert store.get_run(rid)["lease_until"] > first and not store.claim(rid, "other", ttl=5)
            assert store.claim(rid, "thief", ttl=60, steal=True)
            time.sleep(0.5)
            assert rid in keeper.lost and store.get_run(rid)["lease_owner"] == "thief"
        finally:
            keeper.stop()


class _EndedFuture:
    """A stand-in for a Dask future in the state ``complete`` sees (no cluster needed)."""

    def __init__(self, key: str, status: str, exc: BaseException | None = None) -> None:
        self.key, self.status, self._exc, self.cancelled = key, status, exc, False

    def exception(self) -> BaseException | None:
        if self.status == "cancelled":
            raise self._exc or RuntimeError("cancelled")
        return self._exc

    def result(self) -> Any:
        raise AssertionError("a future that did not finish has no result to read")

    def cancel(self) -> None:
        self.cancelled = True


@pytest.mark.parametrize(
    ("status", "exc", "resubmitted"),
    [
        ("lost", None, True),  # finished, but its result died with its worker before it was fetched
        ("pending", None, True),  # ... and Dask is recomputing it
        ("error", ConnectionResetError("scheduler gone"), True),
        ("error", ValueError("a bug in the run"), False),
    ],
)
def test_a_lost_result_is_resubmitted_and_an_error_fails_the_run(status, exc, resubmitted) -> None:
    """``_Driver.complete``: a task's future with no error (lost / pending) or a connection error
    resubmits the run from its last stored step; any other error fails it with its message."""
    from qslack.runs import sweep as sw

    drv = object.__new__(sw._Driver)
    job = sw._Job(cfg=None, run_id="r1", prep=None, resources=None, state=None, history=[1, 2], attempt=1)
    fut = _EndedFuture("qslack-run-r1-1", status, exc)
    job.future = fut
    drv.jobs, drv.by_key, drv.max_attempts = {"r1": job}, {fut.key: "r1"}, 3
    drv.counts = {"resubmitted": 0}
    notes: list[str] = []
    drv.on_note = notes.append
    submitted: list[Any] = []
    drv._submit = submitted.append
    failed: list[tuple[str, str]] = []
    drv.store = type("S", (), {"set_status": lambda _s, rid, st, msg: failed.append((st, msg))})()
    drv._end = lambda j, st: None
    drv.complete(fut)
    if resubmitted:
        assert submitted == [job] and fut.cancelled and not failed
        assert "resubmitted from step 2" in notes[0], notes
    else:
        assert not submitted and failed == [("failed", "ValueError: a bug in the run")]
