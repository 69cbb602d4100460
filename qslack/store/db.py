"""The embedded SQLite store: runs, dual-loop steps, solver states, solutions and jobs.

One file (default ``qslack.db``) holds every solve run.  Each step of the dual
loop and the solver state after it are committed as soon as they finish, so a
run that is interrupted (crash, Ctrl-C, a hardware job that outlives the
process) resumes from what was stored.  The store knows nothing of the
solver's classes: it keeps plain JSON-able dicts.  NumPy arrays and scalars
are converted on the way in (arrays become nested lists); NaN and infinities
round-trip.

Only the standard library's :mod:`sqlite3` is used.  The database runs in WAL
mode with foreign keys on and a 5 s busy timeout, so one process can write
while others read.  The schema carries a version number (table ``meta``);
older stores are migrated on open through :data:`MIGRATIONS`, a store written
by a newer qslack is refused.

The store never holds credentials: any JSON written with a key named like
``token``, ``api_key``/``apikey``, ``password`` or ``secret`` (any case, at any
depth) whose value is set is refused with a :class:`~qslack.exceptions.QslackError`
that names the key but never the value.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> path = Path(tempfile.mkdtemp()) / "qslack.db"
>>> with Store(path) as store:
...     run_id = store.create_run(run_key="k", instance={"name": "mknap1#1"}, program_hash="h",
...                               n_qubits=6, method="subgradient", seed=1)
...     with store.transaction():
...         store.add_step(run_id, 0, {"lam": np.array([0.5, 1.0]), "bound": float("inf")})
...         store.save_state(run_id, {"step": 0, "lam": [0.5, 1.0]})
>>> with Store(path) as store:
...     store.steps(run_id)[0]["record"]
...     store.load_state(run_id)["step"]
{'bound': inf, 'lam': [0.5, 1.0]}
0
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qslack.exceptions import QslackError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Store",
    "content_hash",
]

SCHEMA_VERSION = 2
"""Version of the layout written by this code (kept in ``meta.schema_version``).

2: runs carry their process (``pid``, ``host``), a ``heartbeat_at`` and a
lease (``lease_owner``, ``lease_until``), so a run whose process is gone is
seen as *stale* and two drivers never run the same job."""

STATUSES = ("running", "finished", "failed", "interrupted", "does-not-fit")
"""The statuses a run may have."""

_SQLITE_NOTADB = 26

# Version 1 of the layout.  Every statement is idempotent (IF NOT EXISTS), so the
# same list creates a fresh store and completes a version-0 one.
_SCHEMA_V1 = (
    """CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id        TEXT PRIMARY KEY,
        run_key       TEXT NOT NULL,
        instance_name TEXT,
        instance      TEXT NOT NULL,
        program_hash  TEXT NOT NULL,
        n_qubits      INTEGER NOT NULL,
        qubits_slack  INTEGER,
        known_optimum REAL,
        reference     TEXT,
        method        TEXT NOT NULL,
        sampler       TEXT NOT NULL,
        options       TEXT NOT NULL,
        seed,
        status        TEXT NOT NULL,
        message       TEXT,
        created_at    TEXT NOT NULL,
        finished_at   TEXT,
        result        TEXT,
        provenance    TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS runs_run_key ON runs (run_key)",
    "CREATE INDEX IF NOT EXISTS runs_instance_method ON runs (instance_name, method)",
    """CREATE TABLE IF NOT EXISTS steps (
        run_id     TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        step       INTEGER NOT NULL,
        record     TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
    )""",
    """CREATE TABLE IF NOT EXISTS states (
        run_id     TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        step       INTEGER,
        state      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS solutions (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id     TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        step       INTEGER,
        x          TEXT NOT NULL,
        objective  REAL,
        feasible   INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS solutions_run_kind ON solutions (run_id, kind)",
    """CREATE TABLE IF NOT EXISTS jobs (
        job_id     TEXT PRIMARY KEY,
        run_id     TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        step       INTEGER,
        backend    TEXT NOT NULL,
        status     TEXT NOT NULL,
        info       TEXT,
        result     TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_run_step ON jobs (run_id, step)",
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status)",
)


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)


def _migrate_0_to_1(conn: sqlite3.Connection) -> None:
    """Schema 0 (a versioned store whose tables may be missing) -> 1: create what is missing."""
    _create_v1(conn)


_V2_COLUMNS = (
    ("pid", "INTEGER"),
    ("host", "TEXT"),
    ("heartbeat_at", "TEXT"),
    ("lease_owner", "TEXT"),
    ("lease_until", "REAL"),
)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the run's process, heartbeat and lease columns."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    for name, kind in _V2_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS runs_status ON runs (status)")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _migrate_0_to_1, 1: _migrate_1_to_2}
"""``{from_version: migrate(conn)}``; each step moves the layout from one version to the next.

Migrations run in order inside one transaction when a store is opened; the
version in ``meta`` is bumped after each step.
"""

_RUN_JSON = ("instance", "reference", "sampler", "options", "result", "provenance")
_SECRET_WORDS = ("token", "apikey", "password", "passwd", "secret")


# --------------------------------------------------------------------------- JSON


def _json_default(obj: Any) -> Any:
    np = sys.modules.get("numpy")  # numpy objects can only exist once numpy is imported
    if np is not None:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
    if isinstance(obj, set | frozenset):
        try:
            return sorted(obj)
        except TypeError:
            return sorted(obj, key=repr)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"a {type(obj).__name__} is not JSON-serialisable")


def _to_json(obj: Any) -> str:
    """Canonical JSON text of ``obj`` (sorted keys, compact; NaN and inf kept as ``NaN``/``Infinity``).

    NumPy arrays become nested lists and NumPy scalars Python numbers.  Equal
    data give equal text, which is what makes re-storing a step idempotent.

    Examples
    --------
    >>> import numpy as np
    >>> _to_json({"b": np.array([1.5, np.nan]), "a": np.int64(3), "c": float("-inf")})
    '{"a":3,"b":[1.5,NaN],"c":-Infinity}'
    >>> _from_json(_to_json([float("inf")]))
    [inf]
    """
    return json.dumps(obj, default=_json_default, allow_nan=True, sort_keys=True, separators=(",", ":"))


def _from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def content_hash(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``obj``: a stable identity for run keys.

    Parameters
    ----------
    obj : JSON-able
        Dicts, lists, numbers, strings, NumPy arrays and scalars.

    Returns
    -------
    str
        64 hex digits; dict key order and NumPy-vs-Python types do not matter.

    Examples
    --------
    >>> import numpy as np
    >>> content_hash({"a": 1, "b": [1.0]}) == content_hash({"b": np.array([1.0]), "a": np.int64(1)})
    True
    """
    return hashlib.sha256(_to_json(obj).encode()).hexdigest()


def _is_secret_key(key: Any) -> bool:
    compact = re.sub(r"[^a-z0-9]", "", str(key).lower())
    return any(word in compact for word in _SECRET_WORDS)


def _has_payload(value: Any) -> bool:
    """Whether a value under a secret-like key actually holds something (not None/""/bool)."""
    if value is None or isinstance(value, bool) or (isinstance(value, str) and value == ""):
        return False
    if isinstance(value, Mapping):
        return any(_has_payload(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_payload(v) for v in value)
    return True


def _check_secrets(obj: Any, where: str) -> None:
    """Raise if ``obj`` holds a value under a key named like a credential; the value is never shown."""
    stack: list[tuple[Any, str]] = [(obj, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                sub = f"{path}.{key}"
                if _is_secret_key(key) and _has_payload(value):
                    raise QslackError(
                        f"refusing to store a secret under key {str(key)!r} (at {sub}); "
                        "pass credentials through the environment or a saved account, never in options"
                    )
                if isinstance(value, Mapping | list | tuple):
                    stack.append((value, sub))
        elif isinstance(item, list | tuple):
            for i, value in enumerate(item):
                if isinstance(value, Mapping | list | tuple):
                    stack.append((value, f"{path}[{i}]"))


def _encode(obj: Any, where: str) -> str:
    _check_secrets(obj, where)
    try:
        return _to_json(obj)
    except (TypeError, ValueError) as exc:
        raise QslackError(f"cannot store {where} as JSON: {exc}") from exc


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _int(value: Any, what: str, *, none_ok: bool = False) -> int | None:
    if value is None and none_ok:
        return None
    if isinstance(value, bool):
        raise QslackError(f"{what} must be an integer, got {value!r}")
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        raise QslackError(f"{what} must be an integer, got {value!r}") from None


def _big(value: int | None) -> int | str | None:
    """An int as SQLite can hold it: beyond 64 bits as ``"big:<decimal>"`` (sizes like 2**70 qubits).

    The prefix keeps SQLite's INTEGER column affinity from turning the text into a float.
    """
    if value is None:
        return None
    return value if -(2**63) <= value < 2**63 else f"big:{value}"


def _float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise QslackError(f"{what} must be a number, got {value!r}") from None


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise QslackError(f"unknown run status {status!r}; expected one of {', '.join(STATUSES)}")
    return status


# --------------------------------------------------------------------------- the store


class Store:
    """One SQLite file holding runs, their steps, the latest solver state, solutions and jobs.

    Parameters
    ----------
    path : str or Path, default "qslack.db"
        The database file; its parent directory is created.  ``":memory:"``
        gives a private in-memory store (tests).

    Raises
    ------
    QslackError
        When the file is not an SQLite database, is an SQLite database of
        something else, was written by a newer qslack, or cannot be opened.

    Notes
    -----
    Every write method commits at once.  Group writes that must land together
    (a step and the state after it) in :meth:`transaction`.  Several
    :class:`Store` objects, in one or many processes, may use the same file:
    WAL mode lets readers see each commit while a writer goes on.  A
    :class:`Store` object is not meant to be shared between threads.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "sub" / "qslack.db"
    >>> store = Store(path)
    >>> run_id = store.create_run(run_key="k", instance={"name": "mis-5"}, program_hash="h",
    ...                           n_qubits=5, method="bundle", seed=0)
    >>> store.finish_run(run_id, "finished", {"best_objective": -2.0, "wall_s": 0.1})
    >>> [r["status"] for r in store.list_runs(instance="mis-5")]
    ['finished']
    >>> store.close()
    """

    def __init__(self, path: str | Path = "qslack.db", *, create: bool = True) -> None:
        self._display = str(path)
        self.path = Path(path) if str(path) == ":memory:" else Path(path).expanduser()
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        self.read_only = False
        target = str(self.path)
        if str(path) != ":memory:":
            if self.path.is_dir():
                raise QslackError(f"store {self._display} is a directory, not a database file")
            if not create and not self.path.exists():
                raise QslackError(
                    f"no store at {self._display} (nothing was run with this --db; "
                    "`qslack solve` or `qslack sweep` creates it)"
                )
            if create:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise QslackError(
                        f"cannot create the directory of store {self._display}: {exc.strerror or exc}"
                    ) from exc
            if self.path.exists() and not os.access(self.path, os.W_OK):
                if create:
                    raise QslackError(f"store {self._display} is read-only: this command writes to it")
                self.read_only = True
                target = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(target, timeout=5.0, isolation_level=None, uri=self.read_only)
        except sqlite3.Error as exc:
            raise QslackError(f"cannot open store {self._display}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA foreign_keys = ON")
            if not self.read_only:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
            self._conn = conn
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._conn = None
            if getattr(exc, "sqlite_errorcode", None) == _SQLITE_NOTADB or "not a database" in str(exc):
                raise QslackError(f"{self._display} is not a qslack store (not an SQLite database)") from exc
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise QslackError(f"store {self._display} is read-only: cannot write to it") from exc
            if "unable to open" in str(exc):
                raise QslackError(
                    f"cannot open store {self._display}: its folder is not writable or does not exist"
                ) from exc
            raise QslackError(f"cannot open store {self._display}: {exc}") from exc
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # ------------------------------------------------------------------ plumbing

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"Store({self._display!r}, {state})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent); committed data stay in the file."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._depth = 0

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the file."""
        row = self._db().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row["value"])

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this connection (``"wal"`` unless the filesystem refused it)."""
        return str(self._db().execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise QslackError(f"store {self._display} is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes so that they are committed together or not at all.

        The outermost block takes the write lock (``BEGIN IMMEDIATE``) and
        commits on exit; an exception rolls everything in it back and is
        re-raised.  Nested blocks are savepoints: an exception caught inside
        the outer block undoes only the inner one.

        Yields
        ------
        Store
            This store.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=2,
        ...                           method="subgradient", seed=0)
        >>> try:
        ...     with store.transaction():
        ...         store.add_step(run_id, 0, {"lam": [1.0]})
        ...         raise KeyboardInterrupt
        ... except KeyboardInterrupt:
        ...     pass
        >>> store.steps(run_id)
        []
        >>> store.close()
        """
        conn = self._db()
        if self._depth == 0:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise QslackError(f"cannot write to store {self._display}: {exc}") from exc
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise QslackError(f"cannot commit to store {self._display}: {exc}") from exc
        else:
            name = f"qslack_sp{self._depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._depth -= 1
            conn.execute(f"RELEASE {name}")

    def _read_version(self) -> int | None:
        conn = self._db()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            others = sorted(tables - {"sqlite_sequence"})
            if others:
                raise QslackError(
                    f"{self._display} is an SQLite database but not a qslack store "
                    f"(tables: {', '.join(others[:8])})"
                )
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise QslackError(f"{self._display}: qslack store without a schema_version in its meta table")
        try:
            return int(row["value"])
        except ValueError:
            raise QslackError(
                f"{self._display}: schema_version {row['value']!r} in its meta table is not an integer"
            ) from None

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise QslackError(
                f"{self._display} was written by a newer qslack (schema {version}; this qslack "
                f"reads schema {SCHEMA_VERSION}); upgrade"
            )

    def _init_schema(self) -> None:
        version = self._read_version()
        if version is not None:
            self._check_not_newer(version)
            if version == SCHEMA_VERSION:
                return
        if self.read_only:
            raise QslackError(
                f"store {self._display} is read-only and "
                + ("empty" if version is None else f"of schema {version}; open it writable to migrate it")
            )
        conn = self._db()
        with self.transaction():
            version = self._read_version()  # again, under the write lock
            if version is None:
                _create_v1(conn)
                # a fresh store is laid out as version 1, then migrated like any other
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
                version = 1
            self._check_not_newer(version)
            while version < SCHEMA_VERSION:
                migrate = MIGRATIONS.get(version)
                if migrate is None:
                    raise QslackError(
                        f"{self._display}: no migration from schema {version} to {version + 1}; "
                        "this store cannot be upgraded"
                    )
                try:
                    migrate(conn)
                except sqlite3.Error as exc:
                    raise QslackError(
                        f"migrating {self._display} from schema {version} to {version + 1} failed: {exc}"
                    ) from exc
                version += 1
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(version),),
                )

    def _resolve(self, run_id: str) -> str:
        """The full id of the run named by ``run_id`` or by a unique prefix of it."""
        if not isinstance(run_id, str) or not run_id:
            raise QslackError(f"a run id must be a non-empty string, got {run_id!r}")
        conn = self._db()
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            return run_id
        rows = conn.execute(
            "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY created_at LIMIT 6",
            (len(run_id), run_id),
        ).fetchall()
        if not rows:
            raise QslackError(f"no run {run_id!r} in {self._display}; see `qslack runs`")
        if len(rows) > 1:
            shown = ", ".join(r[0] for r in rows[:5])
            raise QslackError(f"run id prefix {run_id!r} is ambiguous in {self._display}: {shown}, ...")
        return str(rows[0][0])

    def _require_run(self, run_id: str) -> None:
        if not self._db().execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            raise QslackError(f"no run {run_id!r} in {self._display}; see `qslack runs`")

    @staticmethod
    def _decode_run(row: sqlite3.Row) -> dict[str, Any]:
        run = dict(row)
        for key in _RUN_JSON:
            run[key] = _from_json(run[key])
        for key in ("seed", "qubits_slack", "n_qubits"):
            if isinstance(run.get(key), str):
                run[key] = int(run[key].removeprefix("big:"))
        return run

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        *,
        run_key: str,
        instance: dict[str, Any],
        program_hash: str,
        n_qubits: int,
        method: str,
        seed: int,
        qubits_slack: int | None = None,
        known_optimum: float | None = None,
        reference: dict[str, Any] | None = None,
        sampler: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> str:
        """Record a new run with status ``"running"`` and return its id.

        Parameters
        ----------
        run_key : str
            Identity hash of what the run computes (instance, program, method,
            sampler, options, seed); :meth:`find_runs` looks runs up by it.
        instance : dict
            Description of the instance; its ``"name"`` is indexed for
            :meth:`list_runs`.
        program_hash : str
            Hash of the :class:`~qslack.model.program.BinaryProgram` solved.
        n_qubits : int
            Qubits of the slack-free QUBO.
        method : str
            Dual method (``"subgradient"``, ``"bundle"``, ...).
        seed : int
            The seed the run uses (any size; big ints are kept exactly).
        qubits_slack : int, optional
            Qubits the slack baseline would need.
        known_optimum : float, optional
            Native-sense optimum, when known.
        reference : dict, optional
            Classical reference (OR-Tools value, bound, status).
        sampler, options : dict, optional
            Sampler description and method options (``{}`` when omitted).
        provenance : dict, optional
            Software and machine details; :func:`qslack.store.provenance` is
            called when omitted.

        Returns
        -------
        str
            A new 12-hex-digit run id.

        Raises
        ------
        QslackError
            When a value is not JSON-able or holds a secret (a token).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={"name": "burma14"}, program_hash="h",
        ...                           n_qubits=91, method="bundle", seed=3, options={"mu": 1.0},
        ...                           provenance={"python": "3.11"})
        >>> len(run_id), store.get_run(run_id)["options"]
        (12, {'mu': 1.0})
        >>> store.close()
        """
        if provenance is None:
            from qslack.store.provenance import provenance as _provenance

            provenance = _provenance()
        if not isinstance(instance, Mapping):
            raise QslackError(f"instance must be a dict, got {type(instance).__name__}")
        seed_int = _int(seed, "seed")
        seed_value: int | str = seed_int if -(2**63) <= seed_int < 2**63 else str(seed_int)
        name = instance.get("name")
        row = {
            "run_key": str(run_key),
            "instance_name": None if name is None else str(name),
            "instance": _encode(instance, "instance"),
            "program_hash": str(program_hash),
            "n_qubits": _big(_int(n_qubits, "n_qubits")),
            "qubits_slack": _big(_int(qubits_slack, "qubits_slack", none_ok=True)),
            "known_optimum": _float(known_optimum, "known_optimum"),
            "reference": None if reference is None else _encode(reference, "reference"),
            "method": str(method),
            "sampler": _encode({} if sampler is None else sampler, "sampler"),
            "options": _encode({} if options is None else options, "options"),
            "seed": seed_value,
            "status": "running",
            "created_at": _now(),
            "provenance": _encode(provenance, "provenance"),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "heartbeat_at": _now(),
        }
        columns = ", ".join(["run_id", *row])
        marks = ", ".join("?" * (len(row) + 1))
        with self.transaction():
            for _ in range(100):
                run_id = uuid.uuid4().hex[:12]
                if not self._db().execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                    break
            self._db().execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", (run_id, *row.values()))
        return run_id

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run, every column decoded.

        Parameters
        ----------
        run_id : str
            The id, or a unique prefix of it.

        Returns
        -------
        dict
            ``run_id, run_key, instance_name, instance, program_hash, n_qubits,
            qubits_slack, known_optimum, reference, method, sampler, options,
            seed, status, message, created_at, finished_at, result,
            provenance``.

        Raises
        ------
        QslackError
            When no run (or more than one) matches.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.get_run(run_id[:4])["run_id"] == run_id
        True
        >>> store.close()
        """
        full = self._resolve(run_id)
        row = self._db().execute("SELECT * FROM runs WHERE run_id = ?", (full,)).fetchone()
        return self._decode_run(row)

    def find_runs(self, run_key: str) -> list[dict[str, Any]]:
        """Runs recorded under the identity hash ``run_key``, oldest first (for sweep reuse).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> _ = store.create_run(run_key="abc", instance={}, program_hash="h", n_qubits=3,
        ...                      method="subgradient", seed=0, provenance={})
        >>> len(store.find_runs("abc")), len(store.find_runs("other"))
        (1, 0)
        >>> store.close()
        """
        rows = (
            self._db()
            .execute("SELECT * FROM runs WHERE run_key = ? ORDER BY created_at, rowid", (run_key,))
            .fetchall()
        )
        return [self._decode_run(r) for r in rows]

    def list_runs(
        self,
        *,
        instance: str | None = None,
        method: str | None = None,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Runs, oldest first, filtered by instance name, method and status (all optional).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> for m in ("bundle", "subgradient"):
        ...     _ = store.create_run(run_key=m, instance={"name": "mis-5"}, program_hash="h",
        ...                          n_qubits=5, method=m, seed=0, provenance={})
        >>> [r["method"] for r in store.list_runs(instance="mis-5", method="bundle")]
        ['bundle']
        >>> store.close()
        """
        where, args = [], []
        for column, value in (("instance_name", instance), ("method", method), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db().execute(sql + " ORDER BY created_at, rowid", args).fetchall()
        return [self._decode_run(r) for r in rows]

    def finish_run(
        self, run_id: str, status: str, result: dict[str, Any], *, message: str | None = None
    ) -> None:
        """Close a run: set its status and store its result (``wall_s`` and the like live in ``result``).

        Parameters
        ----------
        run_id : str
            The run.
        status : {"finished", "failed", "interrupted", "running"}
            ``finished_at`` is set now, or cleared for ``"running"``.
        result : dict
            JSON-able summary (the :class:`DualResult` as a dict).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.finish_run(run_id, "finished", {"gap": 0.0, "wall_s": 1.5})
        >>> run = store.get_run(run_id)
        >>> run["status"], run["result"]["wall_s"], run["finished_at"] is not None
        ('finished', 1.5, True)
        >>> store.close()
        """
        _check_status(status)
        encoded = _encode(result, "result")
        finished_at = None if status == "running" else _now()
        with self.transaction():
            self._require_run(run_id)
            self._db().execute(
                "UPDATE runs SET status = ?, result = ?, finished_at = ?, message = COALESCE(?, message) "
                "WHERE run_id = ?",
                (status, encoded, finished_at, message, run_id),
            )

    def update_config(self, run_id: str, config: dict[str, Any]) -> None:
        """Replace the run's stored configuration (``options["config"]``), e.g. more steps on resume."""
        run = self.get_run(run_id)
        options = dict(run["options"] or {})
        options["config"] = config
        with self.transaction():
            self._db().execute(
                "UPDATE runs SET options = ? WHERE run_id = ?", (_encode(options, "options"), run["run_id"])
            )

    def set_status(self, run_id: str, status: str, message: str | None = None) -> None:
        """Set a run's status and message (``finished_at`` is set for an end status, cleared for running).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.set_status(run_id, "interrupted", "KeyboardInterrupt at step 4")
        >>> store.get_run(run_id)["message"]
        'KeyboardInterrupt at step 4'
        >>> store.close()
        """
        _check_status(status)
        finished_at = None if status == "running" else _now()
        with self.transaction():
            self._require_run(run_id)
            self._db().execute(
                "UPDATE runs SET status = ?, message = ?, finished_at = ? WHERE run_id = ?",
                (status, None if message is None else str(message), finished_at, run_id),
            )

    # ------------------------------------------------------------------ lifecycle

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's process (this one) is alive and working on it."""
        with self.transaction():
            self._db().execute(
                "UPDATE runs SET heartbeat_at = ?, pid = ?, host = ? WHERE run_id = ?",
                (_now(), os.getpid(), socket.gethostname(), run_id),
            )

    def claim(self, run_id: str, owner: str, *, ttl: float = 120.0, steal: bool = False) -> bool:
        """Take the run's lease for ``ttl`` seconds unless another owner holds a live one.

        Two drivers on one store never run the same run: the second one's
        claim fails until the first one's lease expires (a dead driver
        leaves no ghost).  Renewing one's own lease always succeeds;
        ``steal=True`` takes it anyway (a stale run whose process is gone).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> rid = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                        method="subgradient", seed=0, provenance={})
        >>> store.claim(rid, "a"), store.claim(rid, "b"), store.claim(rid, "a")
        (True, False, True)
        >>> store.release(rid, "a"); store.claim(rid, "b")
        True
        >>> store.close()
        """
        now = time.time()
        free = (
            "1"
            if steal
            else "(lease_owner IS NULL OR lease_owner = ? OR lease_until IS NULL OR lease_until < ?)"
        )
        args: tuple[Any, ...] = () if steal else (owner, now)
        with self.transaction():
            cur = self._db().execute(
                "UPDATE runs SET lease_owner = ?, lease_until = ?, heartbeat_at = ?, pid = ?, host = ? "
                f"WHERE run_id = ? AND {free}",
                (owner, now + float(ttl), _now(), os.getpid(), socket.gethostname(), run_id, *args),
            )
            return cur.rowcount == 1

    def release(self, run_id: str, owner: str) -> None:
        """Give the run's lease back (only the owner's)."""
        with self.transaction():
            self._db().execute(
                "UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE run_id = ? AND lease_owner = ?",
                (run_id, owner),
            )

    def is_stale(self, run: Mapping[str, Any], *, after: float = 600.0) -> bool:
        """Whether a ``running`` run has no live process: its pid is gone (same host) or no
        heartbeat for ``after`` seconds (another host), and no live lease."""
        if run.get("status") != "running":
            return False
        pid, host = run.get("pid"), run.get("host")
        if pid is not None and host == socket.gethostname():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return True  # its process is gone, whatever its lease says
            except PermissionError:  # alive, another user's
                return False
            return False
        lease = run.get("lease_until")
        if lease is not None and float(lease) > time.time():
            return False
        beat = run.get("heartbeat_at") or run.get("created_at")
        age = (datetime.now(UTC) - datetime.fromisoformat(beat)).total_seconds() if beat else math.inf
        return age > after

    def delete_runs(self, run_ids: list[str]) -> list[str]:
        """Delete runs (and their steps, state, solutions, jobs); the full ids deleted."""
        full = [self._resolve(r) for r in run_ids]
        with self.transaction():
            for rid in full:
                self._db().execute("DELETE FROM runs WHERE run_id = ?", (rid,))
        return full

    # ------------------------------------------------------------------ steps and state

    def add_step(self, run_id: str, step: int, record: dict[str, Any]) -> None:
        """Store the record of one outer step; committed at once.

        Storing the same ``(run_id, step)`` again with an identical record does
        nothing (a resumed run may replay its last step); a different record
        is an error.

        Parameters
        ----------
        run_id : str
            The run.
        step : int
            Outer step number.
        record : dict
            JSON-able record; NumPy arrays, NaN and inf are fine.

        Raises
        ------
        QslackError
            When the run does not exist or the step is already stored with
            another record.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.add_step(run_id, 0, {"lam": [0.0]})
        >>> store.add_step(run_id, 0, {"lam": [0.0]})  # identical: no-op
        >>> len(store.steps(run_id))
        1
        >>> store.close()
        """
        step_i = _int(step, "step")
        encoded = _encode(record, f"step {step_i} record")
        with self.transaction():
            self._require_run(run_id)
            row = (
                self._db()
                .execute("SELECT record FROM steps WHERE run_id = ? AND step = ?", (run_id, step_i))
                .fetchone()
            )
            if row is not None:
                if row["record"] == encoded:
                    return
                raise QslackError(
                    f"step {step_i} of run {run_id!r} is already stored in {self._display} "
                    "with a different record"
                )
            self._db().execute(
                "INSERT INTO steps (run_id, step, record, created_at) VALUES (?, ?, ?, ?)",
                (run_id, step_i, encoded, _now()),
            )

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        """The stored steps of a run, ordered by step.

        Returns
        -------
        list of dict
            ``{"step": int, "record": dict, "created_at": str}`` each.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> for t in (1, 0):
        ...     store.add_step(run_id, t, {"t": t})
        >>> [s["record"]["t"] for s in store.steps(run_id)]
        [0, 1]
        >>> store.close()
        """
        rows = (
            self._db()
            .execute("SELECT step, record, created_at FROM steps WHERE run_id = ? ORDER BY step", (run_id,))
            .fetchall()
        )
        return [
            {"step": r["step"], "record": _from_json(r["record"]), "created_at": r["created_at"]}
            for r in rows
        ]

    def save_state(self, run_id: str, state: dict[str, Any]) -> None:
        """Replace the run's serialised solver state by ``state`` (one row per run: the latest).

        The step the state belongs to is taken from ``state["step"]`` when
        present.  Committed at once; pair it with :meth:`add_step` inside
        :meth:`transaction` so that both land or neither.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.save_state(run_id, {"step": 0, "lam": [0.0]})
        >>> store.save_state(run_id, {"step": 1, "lam": [0.5]})
        >>> store.load_state(run_id)
        {'lam': [0.5], 'step': 1}
        >>> store.close()
        """
        if not isinstance(state, Mapping):
            raise QslackError(f"a solver state must be a dict, got {type(state).__name__}")
        step = _int(state.get("step"), "state['step']", none_ok=True)
        encoded = _encode(state, "state")
        with self.transaction():
            self._require_run(run_id)
            self._db().execute(
                "INSERT INTO states (run_id, step, state, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET step = excluded.step, state = excluded.state, "
                "updated_at = excluded.updated_at",
                (run_id, step, encoded, _now()),
            )

    def load_state(self, run_id: str) -> dict[str, Any] | None:
        """The latest saved solver state of a run, or None when none was saved."""
        row = self._db().execute("SELECT state FROM states WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else _from_json(row["state"])

    # ------------------------------------------------------------------ solutions

    def add_solution(
        self,
        run_id: str,
        kind: str,
        x: Any,
        objective: float | None,
        feasible: bool,
        step: int,
    ) -> None:
        """Record a best solution found by a run.

        Storing the very same solution (kind, step, x, objective, feasible)
        twice keeps one row.

        Parameters
        ----------
        run_id : str
            The run.
        kind : str
            ``"raw"`` (as sampled) or ``"repaired"`` (after problem repair).
        x : sequence of int
            The bitstring (a list or a NumPy array).
        objective : float or None
            Its objective value, in the problem's native sense.
        feasible : bool
            Whether it satisfies every constraint.
        step : int
            The outer step that found it.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.add_solution(run_id, "raw", np.array([1, 0, 1], dtype=np.uint8), 7.0, True, step=2)
        >>> sol = store.solutions(run_id)[0]
        >>> sol["x"], sol["objective"], sol["feasible"], sol["step"]
        ([1, 0, 1], 7.0, True, 2)
        >>> store.close()
        """
        if not isinstance(kind, str) or not kind:
            raise QslackError(f"a solution kind must be a non-empty string, got {kind!r}")
        try:
            bits = [_int(v, "x entry") for v in x]
        except TypeError:
            raise QslackError(f"x must be a sequence of integers, got {type(x).__name__}") from None
        x_json = _to_json(bits)
        obj = _float(objective, "objective")
        if obj is not None and obj != obj:  # NaN: SQLite would store NULL anyway
            obj = None
        step_i = _int(step, "step", none_ok=True)
        feas = int(bool(feasible))
        with self.transaction():
            self._require_run(run_id)
            same = (
                self._db()
                .execute(
                    "SELECT 1 FROM solutions WHERE run_id = ? AND kind = ? AND step IS ? AND x = ? "
                    "AND objective IS ? AND feasible = ?",
                    (run_id, kind, step_i, x_json, obj, feas),
                )
                .fetchone()
            )
            if same:
                return
            self._db().execute(
                "INSERT INTO solutions (run_id, kind, step, x, objective, feasible, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, step_i, x_json, obj, feas, _now()),
            )

    def solutions(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The solutions recorded for a run, in the order they were stored (optionally one kind).

        Returns
        -------
        list of dict
            ``{"id", "run_id", "kind", "step", "x", "objective", "feasible", "created_at"}``.
        """
        sql, args = "SELECT * FROM solutions WHERE run_id = ?", [run_id]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self._db().execute(sql + " ORDER BY id", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["x"] = _from_json(d["x"])
            d["feasible"] = bool(d["feasible"])
            out.append(d)
        return out

    # ------------------------------------------------------------------ hardware jobs

    def add_job(
        self,
        run_id: str,
        step: int | None,
        job_id: str,
        backend: str,
        status: str = "submitted",
        info: dict[str, Any] | None = None,
    ) -> None:
        """Record a submitted hardware job of a run's step.

        Adding the same job for the same run, step and backend again does
        nothing; the same job id under another run, step or backend is an
        error.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.add_job(run_id, 0, "d1abc", "ibm_torino", info={"shots": 4096})
        >>> store.update_job("d1abc", "done", result={"counts": {"101": 4096}})
        >>> job = store.jobs(run_id)[0]
        >>> job["status"], job["info"], job["result"]["counts"]
        ('done', {'shots': 4096}, {'101': 4096})
        >>> store.close()
        """
        step_i = _int(step, "step", none_ok=True)
        info_json = None if info is None else _encode(info, f"info of job {job_id}")
        now = _now()
        with self.transaction():
            self._require_run(run_id)
            row = (
                self._db()
                .execute("SELECT run_id, step, backend FROM jobs WHERE job_id = ?", (str(job_id),))
                .fetchone()
            )
            if row is not None:
                if (row["run_id"], row["step"], row["backend"]) == (run_id, step_i, str(backend)):
                    return
                raise QslackError(
                    f"job {job_id!r} is already stored in {self._display} for run {row['run_id']!r} "
                    f"step {row['step']} on {row['backend']}"
                )
            self._db().execute(
                "INSERT INTO jobs (job_id, run_id, step, backend, status, info, result, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (str(job_id), run_id, step_i, str(backend), str(status), info_json, now, now),
            )

    def update_job(
        self,
        job_id: str,
        status: str,
        info: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        """Update a job's status, merge ``info`` into its info, and store its result.

        A job's result is stored once: storing an identical result again does
        nothing, a different one is an error.

        Raises
        ------
        QslackError
            When the job is unknown, its result differs from the stored one,
            or a value holds a secret.
        """
        info_update = None if info is None else dict(info)
        if info_update is not None:
            _check_secrets(info_update, f"info of job {job_id}")
        result_json = None if result is None else _encode(result, f"result of job {job_id}")
        with self.transaction():
            row = (
                self._db()
                .execute("SELECT info, result FROM jobs WHERE job_id = ?", (str(job_id),))
                .fetchone()
            )
            if row is None:
                raise QslackError(f"no job {job_id!r} in {self._display}")
            if result_json is not None and row["result"] is not None and row["result"] != result_json:
                raise QslackError(f"job {job_id!r} already has a different result stored in {self._display}")
            info_json = row["info"]
            if info_update:
                merged = _from_json(row["info"]) or {}
                merged.update(info_update)
                info_json = _encode(merged, f"info of job {job_id}")
            self._db().execute(
                "UPDATE jobs SET status = ?, info = ?, result = COALESCE(?, result), updated_at = ? "
                "WHERE job_id = ?",
                (str(status), info_json, result_json, _now(), str(job_id)),
            )

    def jobs(self, run_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Hardware jobs, oldest first, optionally of one run and/or with one status."""
        where, args = [], []
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db().execute(sql + " ORDER BY created_at, rowid", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["info"] = _from_json(d["info"])
            d["result"] = _from_json(d["result"])
            out.append(d)
        return out

    # ------------------------------------------------------------------ export

    def export_run(self, run_id: str) -> dict[str, Any]:
        """Everything stored about one run as one JSON-able dict.

        Parameters
        ----------
        run_id : str
            The id, or a unique prefix of it.

        Returns
        -------
        dict
            ``{"schema_version", "run", "steps", "solutions", "state", "jobs"}``;
            ``state`` is ``{"step", "state", "updated_at"}`` or None.  NaN and
            inf stay floats (``json.dumps`` writes them as ``NaN``/``Infinity``).

        Examples
        --------
        >>> import json, tempfile
        >>> from pathlib import Path
        >>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
        >>> run_id = store.create_run(run_key="k", instance={}, program_hash="h", n_qubits=3,
        ...                           method="subgradient", seed=0, provenance={})
        >>> store.add_step(run_id, 0, {"bound": float("nan")})
        >>> doc = json.loads(json.dumps(store.export_run(run_id)))
        >>> doc["run"]["run_id"] == run_id, len(doc["steps"]), doc["state"]
        (True, 1, None)
        >>> store.close()
        """
        full = self._resolve(run_id)
        row = (
            self._db()
            .execute("SELECT step, state, updated_at FROM states WHERE run_id = ?", (full,))
            .fetchone()
        )
        state = None
        if row is not None:
            state = {"step": row["step"], "state": _from_json(row["state"]), "updated_at": row["updated_at"]}
        return {
            "schema_version": SCHEMA_VERSION,
            "run": self.get_run(full),
            "steps": self.steps(full),
            "solutions": self.solutions(full),
            "state": state,
            "jobs": self.jobs(full),
        }
