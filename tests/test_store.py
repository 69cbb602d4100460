"""The SQLite store: schema and migrations, runs, steps, state, solutions, jobs, secrets, provenance."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qslack.exceptions import QslackError
from qslack.store import SCHEMA_VERSION, Store, content_hash, provenance
from qslack.store import db as store_db

RUN = dict(
    run_key="key-1",
    instance={"name": "mknap1#1", "problem": "mdkp"},
    program_hash="ph",
    n_qubits=6,
    qubits_slack=20,
    known_optimum=3800.0,
    reference={"value": 3800.0, "status": "OPTIMAL"},
    method="subgradient",
    sampler={"backend": "statevector", "p": 2},
    options={"a0": 1.0},
    seed=7,
    provenance={"python": "3.11"},
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "qslack.db"


@pytest.fixture
def store(path: Path):
    with Store(path) as s:
        yield s


def new_run(store: Store, **kw) -> str:
    return store.create_run(**{**RUN, **kw})


def raw(path: Path, sql: str, args=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------- schema


def test_schema_created_with_version(store: Store, path: Path) -> None:
    assert path.exists()  # parent directory created
    assert store.schema_version == SCHEMA_VERSION == 2
    assert raw(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "runs", "steps", "states", "solutions", "jobs"} <= tables
    indexes = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_run_key", "runs_instance_method"} <= indexes


def test_wal_mode_and_pragmas(store: Store, path: Path) -> None:
    assert store.journal_mode == "wal"
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]  # persistent in the file
    conn = store._db()
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_reopen_keeps_data(path: Path) -> None:
    with Store(path) as s:
        run_id = new_run(s)
        s.add_step(run_id, 0, {"lam": [1.0, 2.0]})
        s.save_state(run_id, {"step": 0, "lam": [1.0, 2.0]})
    with Store(path) as s:
        assert s.get_run(run_id)["instance"] == RUN["instance"]
        assert [st["record"] for st in s.steps(run_id)] == [{"lam": [1.0, 2.0]}]
        assert s.load_state(run_id) == {"step": 0, "lam": [1.0, 2.0]}


def test_newer_schema_is_refused(path: Path) -> None:
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(QslackError, match=rf"newer qslack \(schema {SCHEMA_VERSION + 1}.*upgrade"):
        Store(path)


def test_garbage_file_is_refused_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not an sqlite database, just some text\n" * 50)
    with pytest.raises(QslackError) as err:
        Store(bad)
    assert str(bad) in str(err.value)
    assert bad.read_bytes().startswith(b"this is not")  # left untouched


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(QslackError, match=r"not a qslack store.*users"):
        Store(other)


def test_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(QslackError, match=re.escape(str(tmp_path))):
        Store(tmp_path)


def test_migration_from_version_0(path: Path) -> None:
    # a version-0 store: a meta table and nothing else
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    conn.commit()
    conn.close()
    assert 0 in store_db.MIGRATIONS
    with Store(path) as s:
        assert s.schema_version == 2
        run_id = new_run(s)
        s.add_step(run_id, 0, {"ok": True})
    assert raw(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]


def test_schema_1_store_migrates_to_2(path: Path) -> None:
    """A store written by qslack 0.1 (schema 1) opens: its runs get the lifecycle columns."""
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    for statement in store_db._SCHEMA_V1:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute(
        "INSERT INTO runs (run_id, run_key, instance_name, instance, program_hash, n_qubits, method, "
        "sampler, options, seed, status, created_at, provenance) VALUES ('abc123abc123', 'k', 'farm', "
        "'{}', 'h', 17, 'bundle', '{}', '{}', 0, 'finished', '2026-01-01T00:00:00+00:00', '{}')"
    )
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.schema_version == 2
        run = s.get_run("abc123abc123")
        assert run["status"] == "finished" and run["pid"] is None and run["lease_owner"] is None
        assert not s.is_stale(run)
    with Store(path, create=False) as s:
        assert s.list_runs()[0]["instance_name"] == "farm"


def test_migration_chain_runs_and_bumps_version(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(path) as s:
        run_id = new_run(s)
    calls = []

    def add_note(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("ALTER TABLE runs ADD COLUMN note TEXT")

    monkeypatch.setattr(store_db, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(store_db.MIGRATIONS, 2, add_note)
    with Store(path) as s:
        assert s.schema_version == 3
        run = s.get_run(run_id)
        assert "note" in run and run["note"] is None
        assert run["instance"] == RUN["instance"]
    with Store(path):
        pass
    assert calls == [1]  # not re-run once the store is at version 3


def test_failing_migration_rolls_back(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE runs ADD COLUMN note TEXT")
        conn.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(store_db, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(store_db.MIGRATIONS, 2, broken)
    with pytest.raises(QslackError, match="from schema 2 to 3 failed"):
        Store(path)
    assert raw(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    columns = [r[1] for r in raw(path, "PRAGMA table_info(runs)")]
    assert "note" not in columns


def test_missing_migration_is_an_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(path).close()
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", 3)
    monkeypatch.delitem(store_db.MIGRATIONS, 2, raising=False)
    with pytest.raises(QslackError, match="no migration from schema 2 to 3"):
        Store(path)


def test_closed_store_raises(path: Path) -> None:
    s = Store(path)
    s.close()
    s.close()  # idempotent
    with pytest.raises(QslackError, match="closed"):
        s.list_runs()


# --------------------------------------------------------------------------- runs


def test_create_get_list_find_runs(store: Store) -> None:
    a = new_run(store)
    b = new_run(store, method="bundle", run_key="key-2", instance={"name": "burma14"})
    c = new_run(store, seed=8)
    assert len({a, b, c}) == 3 and all(len(r) == 12 for r in (a, b, c))
    run = store.get_run(a)
    assert run["status"] == "running" and run["finished_at"] is None
    assert run["instance_name"] == "mknap1#1"
    assert run["reference"] == RUN["reference"] and run["sampler"] == RUN["sampler"]
    assert run["known_optimum"] == 3800.0 and run["qubits_slack"] == 20 and run["seed"] == 7
    assert run["created_at"].endswith("+00:00")
    assert [r["run_id"] for r in store.list_runs()] == [a, b, c]
    assert [r["run_id"] for r in store.list_runs(instance="mknap1#1")] == [a, c]
    assert [r["run_id"] for r in store.list_runs(method="bundle")] == [b]
    assert [r["run_id"] for r in store.list_runs(instance="burma14", method="subgradient")] == []
    store.finish_run(c, "failed", {"error": "boom"})
    assert [r["run_id"] for r in store.list_runs(status="running")] == [a, b]
    assert [r["run_id"] for r in store.find_runs("key-1")] == [a, c]
    assert store.find_runs("nope") == []


def test_create_run_defaults_provenance_and_keeps_big_seeds(store: Store) -> None:
    seed = 2**100 + 3
    run_id = store.create_run(
        run_key="k", instance={}, program_hash="h", n_qubits=np.int64(4), method="bundle", seed=seed
    )
    run = store.get_run(run_id)
    assert run["seed"] == seed and run["n_qubits"] == 4
    assert run["options"] == {} and run["sampler"] == {} and run["reference"] is None
    assert "packages" in run["provenance"] and run["provenance"]["qslack"]


def test_create_run_rejects_bad_values(store: Store) -> None:
    with pytest.raises(QslackError, match="seed"):
        new_run(store, seed=1.5)
    with pytest.raises(QslackError, match="options"):
        new_run(store, options={"f": object()})
    assert store.list_runs() == []


def test_prefix_lookup(store: Store) -> None:
    ids = [new_run(store) for _ in range(40)]
    target = ids[0]
    assert store.get_run(target[:8])["run_id"] == target
    by_first = {}
    for r in ids:
        by_first.setdefault(r[0], []).append(r)
    shared = next(v for v in by_first.values() if len(v) > 1)  # 40 ids, 16 first digits
    with pytest.raises(QslackError, match="ambiguous"):
        store.get_run(shared[0][0])
    with pytest.raises(QslackError, match=r"no run 'zz' in .*qslack\.db; see `qslack runs`"):
        store.get_run("zz")


def test_finish_run_and_status(store: Store) -> None:
    run_id = new_run(store)
    store.finish_run(run_id, "finished", {"best_objective": 3800.0, "gap": 0.0, "wall_s": 2.5})
    run = store.get_run(run_id)
    assert run["status"] == "finished" and run["result"]["wall_s"] == 2.5 and run["finished_at"]
    store.set_status(run_id, "running")
    assert store.get_run(run_id)["finished_at"] is None
    store.set_status(run_id, "interrupted", "KeyboardInterrupt")
    run = store.get_run(run_id)
    assert (run["status"], run["message"]) == ("interrupted", "KeyboardInterrupt")
    with pytest.raises(QslackError, match="unknown run status 'done'"):
        store.finish_run(run_id, "done", {})
    with pytest.raises(QslackError, match="no run 'nope'"):
        store.finish_run("nope", "finished", {})


# --------------------------------------------------------------------------- steps and state


def test_steps_round_trip_numpy_nan_inf(store: Store) -> None:
    run_id = new_run(store)
    record = {
        "lam": np.array([0.5, -1.25, np.nan]),
        "X": np.array([[0, 1], [1, 0]], dtype=np.uint8),
        "bound": -np.inf,
        "upper": float("inf"),
        "gap": np.float32(0.5),
        "n": np.int64(3),
        "ok": np.bool_(True),
        "nested": {"t": (1, 2)},
    }
    store.add_step(run_id, 1, record)
    store.add_step(run_id, np.int64(0), {"first": True})
    got = store.steps(run_id)
    assert [s["step"] for s in got] == [0, 1]
    rec = got[1]["record"]
    assert rec["lam"][:2] == [0.5, -1.25] and math.isnan(rec["lam"][2])
    assert rec["X"] == [[0, 1], [1, 0]]
    assert rec["bound"] == -math.inf and rec["upper"] == math.inf
    assert rec["gap"] == 0.5 and rec["n"] == 3 and rec["ok"] is True
    assert rec["nested"] == {"t": [1, 2]}


def test_duplicate_step_idempotent_conflict_raises(store: Store) -> None:
    run_id = new_run(store)
    store.add_step(run_id, 0, {"lam": np.array([1.0, np.nan]), "b": 1})
    store.add_step(run_id, 0, {"b": 1, "lam": [1.0, float("nan")]})  # same content, other types/order
    assert len(store.steps(run_id)) == 1
    with pytest.raises(QslackError, match=r"step 0 of run .* different record"):
        store.add_step(run_id, 0, {"lam": [2.0, float("nan")], "b": 1})
    assert store.steps(run_id)[0]["record"]["lam"][0] == 1.0
    with pytest.raises(QslackError, match="no run"):
        store.add_step("missing", 0, {})


def test_state_upsert_keeps_latest(store: Store, path: Path) -> None:
    run_id = new_run(store)
    assert store.load_state(run_id) is None
    store.save_state(run_id, {"step": 0, "lam": np.zeros(2)})
    store.save_state(run_id, {"step": 1, "lam": np.ones(2)})
    assert store.load_state(run_id) == {"step": 1, "lam": [1.0, 1.0]}
    assert raw(path, "SELECT run_id, step FROM states") == [(run_id, 1)]
    store.save_state(run_id, {"lam": [2.0]})  # no step: stored as NULL
    assert raw(path, "SELECT step FROM states") == [(None,)]


def test_transaction_commits_both(store: Store, path: Path) -> None:
    run_id = new_run(store)
    with store.transaction():
        store.add_step(run_id, 0, {"a": 1})
        store.save_state(run_id, {"step": 0})
        assert raw(path, "SELECT COUNT(*) FROM steps") == [(0,)]  # not yet visible to others
    assert raw(path, "SELECT COUNT(*) FROM steps") == [(1,)]
    assert raw(path, "SELECT COUNT(*) FROM states") == [(1,)]


def test_transaction_rollback_leaves_nothing(store: Store) -> None:
    run_id = new_run(store)
    with pytest.raises(RuntimeError, match="crash"):
        with store.transaction():
            store.add_step(run_id, 0, {"a": 1})
            store.save_state(run_id, {"step": 0})
            raise RuntimeError("crash")
    assert store.steps(run_id) == [] and store.load_state(run_id) is None
    # the store is usable afterwards
    store.add_step(run_id, 0, {"a": 2})
    assert store.steps(run_id)[0]["record"] == {"a": 2}


def test_nested_transaction_inner_rollback_only(store: Store) -> None:
    run_id = new_run(store)
    with store.transaction():
        store.add_step(run_id, 0, {"a": 0})
        with pytest.raises(QslackError, match="different record"):
            with store.transaction():
                store.save_state(run_id, {"step": 0})
                store.add_step(run_id, 0, {"a": 99})  # conflict: rolls back the inner block
        store.add_step(run_id, 1, {"a": 1})
    assert [s["step"] for s in store.steps(run_id)] == [0, 1]
    assert store.load_state(run_id) is None


def test_two_stores_on_one_file(path: Path) -> None:
    with Store(path) as writer, Store(path) as reader:
        run_id = new_run(writer)
        assert reader.get_run(run_id)["run_id"] == run_id
        writer.add_step(run_id, 0, {"lam": [0.1]})
        writer.save_state(run_id, {"step": 0})
        assert reader.steps(run_id)[0]["record"] == {"lam": [0.1]}
        assert reader.load_state(run_id) == {"step": 0}
        reader.add_step(run_id, 1, {"lam": [0.2]})  # and the other way round
        assert [s["step"] for s in writer.steps(run_id)] == [0, 1]


# --------------------------------------------------------------------------- solutions, jobs, export


def test_solutions(store: Store) -> None:
    run_id = new_run(store)
    store.add_solution(run_id, "raw", np.array([1, 0, 1], dtype=np.uint8), 10.0, False, step=0)
    store.add_solution(run_id, "repaired", [1, 0, 0], np.float64(8.0), True, step=0)
    store.add_solution(run_id, "repaired", [1, 0, 0], 8.0, True, step=0)  # same: kept once
    store.add_solution(run_id, "raw", [0, 1, 1], None, np.bool_(True), step=3)
    sols = store.solutions(run_id)
    assert [(s["kind"], s["x"], s["objective"], s["feasible"], s["step"]) for s in sols] == [
        ("raw", [1, 0, 1], 10.0, False, 0),
        ("repaired", [1, 0, 0], 8.0, True, 0),
        ("raw", [0, 1, 1], None, True, 3),
    ]
    assert [s["x"] for s in store.solutions(run_id, kind="repaired")] == [[1, 0, 0]]
    with pytest.raises(QslackError, match="x entry"):
        store.add_solution(run_id, "raw", [0.5], 1.0, True, step=0)


def test_jobs(store: Store) -> None:
    run_id = new_run(store)
    store.add_job(run_id, 0, "job-a", "ibm_torino", info={"shots": 1024})
    store.add_job(run_id, 0, "job-a", "ibm_torino")  # same job again: no-op
    store.add_job(run_id, 1, "job-b", "ibm_torino", status="queued")
    with pytest.raises(QslackError, match="already stored"):
        store.add_job(run_id, 5, "job-a", "ibm_torino")
    assert [j["job_id"] for j in store.jobs(run_id)] == ["job-a", "job-b"]
    store.update_job("job-a", "done", info={"usage_s": 3}, result={"counts": {"01": 1024}})
    store.update_job("job-a", "done", result={"counts": {"01": 1024}})  # idempotent
    with pytest.raises(QslackError, match="different result"):
        store.update_job("job-a", "done", result={"counts": {"10": 1024}})
    job = store.jobs(status="done")[0]
    assert job["job_id"] == "job-a" and job["step"] == 0 and job["backend"] == "ibm_torino"
    assert job["info"] == {"shots": 1024, "usage_s": 3} and job["result"] == {"counts": {"01": 1024}}
    assert [j["job_id"] for j in store.jobs(status="queued")] == ["job-b"]
    assert store.jobs(run_id="other") == []
    with pytest.raises(QslackError, match="no job 'zz'"):
        store.update_job("zz", "done")


def test_export_run_json_dumps(store: Store) -> None:
    run_id = new_run(store)
    store.add_step(run_id, 0, {"lam": np.array([np.inf, 1.0]), "bound": float("nan")})
    store.save_state(run_id, {"step": 0, "lam": [1.0]})
    store.add_solution(run_id, "raw", [1, 0], 3.0, True, step=0)
    store.add_job(run_id, 0, "j1", "fake_backend")
    store.finish_run(run_id, "finished", {"wall_s": 0.5})
    doc = store.export_run(run_id[:6])
    text = json.dumps(doc)
    back = json.loads(text)
    assert back["schema_version"] == SCHEMA_VERSION
    assert back["run"]["run_id"] == run_id and back["run"]["status"] == "finished"
    assert back["steps"][0]["record"]["lam"][0] == math.inf
    assert math.isnan(back["steps"][0]["record"]["bound"])
    assert back["state"]["step"] == 0 and back["state"]["state"] == {"step": 0, "lam": [1.0]}
    assert back["solutions"][0]["x"] == [1, 0]
    assert back["jobs"][0]["job_id"] == "j1"


# --------------------------------------------------------------------------- secrets


SECRET = "s3cr3t-VALUE-abc123"


@pytest.mark.parametrize(
    "options, key",
    [
        ({"ibm": {"token": SECRET}}, "token"),
        ({"backends": [{"channel": "x", "IBM_API_KEY": SECRET}]}, "IBM_API_KEY"),
        ({"apiKey": SECRET}, "apiKey"),
        ({"db": {"Password": SECRET}}, "Password"),
        ({"client_secret": [SECRET]}, "client_secret"),
        ({"access_token": {"value": SECRET}}, "access_token"),
    ],
)
def test_secret_in_run_is_refused(store: Store, options: dict, key: str) -> None:
    with pytest.raises(QslackError) as err:
        new_run(store, options=options)
    message = str(err.value)
    assert f"refusing to store a secret under key '{key}'" in message
    assert SECRET not in message
    assert store.list_runs() == []


def test_secret_refused_in_state_jobs_and_provenance(store: Store, path: Path) -> None:
    with pytest.raises(QslackError, match="secret"):
        new_run(store, provenance={"profile": {"token": SECRET}})
    run_id = new_run(store)
    with pytest.raises(QslackError, match="secret under key 'token'"):
        store.save_state(run_id, {"step": 0, "service": {"token": SECRET}})
    with pytest.raises(QslackError, match="secret under key 'token'"):
        store.add_job(run_id, 0, "j", "ibm_x", info={"token": SECRET})
    store.add_job(run_id, 0, "j", "ibm_x")
    with pytest.raises(QslackError, match="secret under key 'api_key'"):
        store.update_job("j", "done", info={"api_key": SECRET})
    with pytest.raises(QslackError, match="secret under key 'password'"):
        store.update_job("j", "done", result={"password": SECRET})
    assert store.load_state(run_id) is None
    assert store.jobs()[0]["info"] is None and store.jobs()[0]["result"] is None
    assert SECRET.encode() not in path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or SECRET.encode() not in wal.read_bytes()


def test_unset_secret_keys_are_allowed(store: Store) -> None:
    run_id = new_run(store, options={"token": None, "use_token": False, "password": ""})
    assert store.get_run(run_id)["options"]["token"] is None


# --------------------------------------------------------------------------- helpers and provenance


def test_content_hash_is_canonical() -> None:
    a = content_hash({"x": np.array([1.0, 2.0]), "n": np.int64(2)})
    assert a == content_hash({"n": 2, "x": [1.0, 2.0]})
    assert a != content_hash({"n": 2, "x": [1.0, 2.5]})
    assert len(a) == 64


def test_provenance_keys_and_extra() -> None:
    info = provenance({"hardware_profile": {"name": "cpu"}})
    for key in (
        "python",
        "platform",
        "machine",
        "processor",
        "cpu_count",
        "hostname",
        "qslack",
        "packages",
        "git_commit",
        "git_dirty",
        "timestamp",
    ):
        assert key in info, key
    assert info["hardware_profile"] == {"name": "cpu"}
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["packages"]["numpy"] == np.__version__
    for name in (
        "scipy",
        "numba",
        "qiskit",
        "qiskit-aer",
        "qiskit-optimization",
        "ortools",
        "highspy",
        "cupy",
    ):
        assert name in info["packages"]
    json.dumps(info)
    if info["git_commit"] is not None:
        assert len(info["git_commit"]) == 40 and isinstance(info["git_dirty"], bool)


def test_provenance_imports_nothing_heavy() -> None:
    heavy = ["qiskit", "qiskit_aer", "qiskit_optimization", "qiskit_ibm_runtime", "ortools", "cupy", "numba"]
    code = (
        "import json, sys\n"
        "from qslack.store import provenance\n"
        "info = provenance()\n"
        f"print(json.dumps({{'loaded': [m for m in {heavy!r} if m in sys.modules], "
        "'qiskit': info['packages']['qiskit']}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version("qiskit")
    except PackageNotFoundError:
        expected = None
    assert result["qiskit"] == expected
