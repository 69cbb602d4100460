"""Benchmark suites on Dask: instances x methods x seeds, one task per run, one writer, resumable.

A suite is a TOML file::

    name = "quantum-small"
    seeds = [0, 1, 2]
    methods = ["subgradient", "cutting-plane", "bundle", "augmented-lagrangian",
               "fixed-penalty", "slack-penalty"]
    baselines = [{ method = "fixed-penalty", sampler = "random" }]

    [budget]                # every SolveConfig field except instance/method/seed
    sampler = "qaoa"
    p = 2
    qaoa_maxiter = 60
    iters = 15
    shots = 1000

    [[instance]]
    spec = "burma14"
    take = 6
    encoding = "edge"

    [cluster]               # optional: where the runs go (--cluster overrides it)
    kind = "slurm"          # "local" (with workers = N), "slurm", or a scheduler address
    cores = 8
    memory = "32GiB"
    jobs = 4

A field of :data:`~qslack.runs.config.AUTO_FIELDS` set to ``"auto"`` (and ``methods = ["auto"]``)
takes the instance's per-problem default (:func:`qslack.runs.config.defaults_for`), resolved
before the run's identity is computed.

A run's identity is :func:`qslack.runs.config.run_key` (program hash, method,
canonical options, the sampler's effective configuration, seed): a rerun skips every run whose
identity already has a finished (or does-not-fit) run in the store — including
runs made by hand with ``qslack solve`` — and resumes interrupted, failed and
stale ones from their last stored step.

How a sweep runs (:func:`run_suite`): this process is the *driver* and the
store's only writer.  For each run, when a worker slot is free, it takes the
run's lease (:meth:`qslack.store.Store.claim`, renewed while the run goes on,
so two drivers on one store never run the same job and a dead driver's runs
become free when its lease expires), creates the run (validation and
does-not-fit first, as ``qslack solve`` does) or reopens it, and submits one
Dask task (:func:`qslack.runs.remote.run_task`) with the stored state and the
run's resources (:mod:`qslack.runs.resources`).  Workers send every step back
through a ``distributed.Queue``; the driver stores each one (record and state
in one transaction).  A task whose worker dies is resubmitted from the last
stored step (at most ``max_attempts`` times, then the run is recorded as
failed with the reason); a task that raises is recorded as failed with its
message.  Ctrl-C stores what arrived, marks unfinished runs ``interrupted``
and raises ``KeyboardInterrupt``; the same command resumes them.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qslack._paths import safe_filename
from qslack._sys import load_toml
from qslack.dual import DualIterate, DualState, default_multipliers, init_state
from qslack.exceptions import ParseError, QslackError
from qslack.problems.catalog import build_program, load_instance, resolve_spec
from qslack.runs.cluster import capacity, connect, local_gpus, parse_cluster
from qslack.runs.config import AUTO_FIELDS, SolveConfig, make_sampler, run_key
from qslack.runs.driver import Outcome, Ticket
from qslack.runs.prepare import prepare
from qslack.runs.remote import decode, run_task, task_spec, warm_up
from qslack.runs.resources import format_bytes, run_resources, uses_gpu
from qslack.runs.stored import StoreSink, create_run, does_not_fit, finish, open_run
from qslack.store.db import Store

__all__ = ["Suite", "load_suite", "plan", "run_suite"]

_TOP = {"name", "seeds", "methods", "baselines", "budget", "instance", "description", "cluster"}
_INSTANCE_KEYS = {"spec", "take", "encoding", "fmt", "problem", "label"}
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(SolveConfig)}
DONE = ("finished", "does-not-fit")


@dataclass(frozen=True)
class Suite:
    """A parsed suite file."""

    name: str
    path: str
    configs: tuple[SolveConfig, ...]
    cluster: dict[str, Any] = field(default_factory=dict)


def load_suite(path: str | Path) -> Suite:
    """Parse and validate a suite TOML (unknown keys are errors naming the file and key).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = f.write_text('seeds=[0,1]\\nmethods=["bundle"]\\n[budget]\\nsampler="exact"\\n'
    ...                  '[[instance]]\\nspec="mknap1#1"\\n')
    >>> len(load_suite(f).configs)
    2
    """
    path = Path(path)
    data = load_toml(path, "suite file")
    unknown = set(data) - _TOP
    if unknown:
        raise ParseError(f"unknown key(s) {sorted(unknown)}; accepted: {sorted(_TOP)}", path=path)
    budget = dict(data.get("budget", {}))
    bad = set(budget) - (_CONFIG_FIELDS - {"instance", "method", "seed"})
    if bad:
        raise ParseError(f"[budget] has unknown key(s) {sorted(bad)}", path=path)
    seeds = data.get("seeds", [0])
    methods = data.get("methods", [])
    baselines = data.get("baselines", [])
    instances = data.get("instance", [])
    if not isinstance(seeds, list) or not all(_is_int(x) and x >= 0 for x in seeds) or not seeds:
        raise ParseError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}", path=path)
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise ParseError(f"methods must be a list of method names, got {methods!r}", path=path)
    if not isinstance(baselines, list) or not all(isinstance(b, dict) for b in baselines):
        raise ParseError("baselines must be a list of tables ({ method = ..., sampler = ... })", path=path)
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise ParseError("instance must be [[instance]] tables", path=path)
    if not instances:
        raise ParseError("no [[instance]] entries", path=path)
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise ParseError(f"name must be a string, got {name!r}", path=path)
    _check_types(budget, "[budget]", path)
    rows: list[dict[str, Any]] = [{"method": m} for m in methods] + [dict(b) for b in baselines]
    for r in rows:
        extra = set(r) - _CONFIG_FIELDS
        if extra:
            raise ParseError(f"baseline entry has unknown key(s) {sorted(extra)}", path=path)
        _check_types(r, "baseline entry", path)
    configs = []
    for k, inst in enumerate(instances, start=1):
        extra = set(inst) - _INSTANCE_KEYS
        if extra or "spec" not in inst:
            raise ParseError(f"[[instance]] #{k}: needs 'spec'; unknown key(s) {sorted(extra)}", path=path)
        _check_types(inst, f"[[instance]] #{k}", path)
        for row in rows:
            for seed in seeds:
                kw = {**budget, **{key: v for key, v in inst.items() if key not in ("spec", "label")}, **row}
                configs.append(SolveConfig(instance=inst["spec"], seed=int(seed), **kw))
    cluster = data.get("cluster", {})
    if not isinstance(cluster, dict):
        raise ParseError("[cluster] must be a table", path=path)
    if cluster:
        try:
            parse_cluster(None, table=cluster)
        except QslackError as exc:
            raise ParseError(f"[cluster]: {exc}", path=path) from None
    # the name becomes a file name (the default report): never a path
    name = safe_filename(name, default=safe_filename(path.stem))
    return Suite(name, str(path), tuple(configs), dict(cluster))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# TOML types each SolveConfig field (and the instance keys) may take; None is never TOML
_TYPES: dict[str, tuple[type, ...]] = {
    "instance": (str,),
    "spec": (str,),
    "label": (str,),
    "method": (str,),
    "encoding": (str,),
    "fmt": (str,),
    "problem": (str,),
    "sampler": (str,),
    "backend": (str,),
    "profile": (str,),
    "optimize_on": (str,),
    "take": (int,),
    "p": (int,),
    "shots": (int,),
    "qaoa_maxiter": (int,),
    "iters": (int,),
    "threads": (int,),
    "seed": (int,),
    "rho": (int, float),
    "time_limit": (int, float),
    "reference_time_limit": (int, float),
    "options": (dict,),
    "mixer": (str,),
    "init": (str,),
    "warm_start": (str,),
    "onehot": (str,),
    "schedule": (str,),
    "params": (str,),
    "optimizer": (str,),
    "eps": (int, float),
    "lr_slopes": (list,),
    "sampler_time_limit": (int, float),
}


def _check_types(table: dict[str, Any], where: str, path: Path) -> None:
    """Each value of ``table`` has the TOML type its key takes (a ParseError naming the key)."""
    for key, val in table.items():
        types = _TYPES.get(key)
        if types is None or (key in AUTO_FIELDS and val == "auto"):  # "auto": the problem's default
            continue
        ok = isinstance(val, types) and not isinstance(val, bool)
        if not ok:
            want = " or ".join("integer" if t is int else t.__name__ for t in types)
            raise ParseError(f"{where}: {key} must be {want}, got {val!r}", path=path)


def plan(suite: Suite, store: Any) -> list[tuple[SolveConfig, str, str | None]]:
    """``(config, run_key, existing run id or None)`` for every run of the suite."""
    out = []
    cache: dict[tuple[Any, ...], str] = {}
    for cfg in suite.configs:
        key = (cfg.instance, cfg.take, cfg.encoding, cfg.fmt, cfg.problem)
        if key not in cache:
            loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
            cache[key] = build_program(loaded, encoding=cfg.encoding).fingerprint()
        rk = run_key(cache[key], cfg, make_sampler(cfg).config())
        done = [r for r in store.find_runs(rk) if r["status"] in DONE]
        out.append((cfg, rk, done[0]["run_id"] if done else None))
    return out


# --------------------------------------------------------------------------- the driver

OnDone = Callable[[SolveConfig, str, str, float], None]


@dataclass
class _Job:
    """One run this driver holds the lease of, and its task in flight."""

    cfg: SolveConfig
    run_id: str
    prep: Any
    resources: Any
    state: Any  # the last stored DualState
    history: list[Any]  # the stored DualIterates
    attempt: int = 0
    future: Any = None
    t0: float = field(default_factory=time.perf_counter)
    resumed: bool = False
    sink: Any = None

    @property
    def stored(self) -> int:
        return len(self.history)


class _LeaseKeeper(threading.Thread):
    """Renews this driver's leases every ``ttl / 3`` seconds, with its own store connection."""

    def __init__(self, db: str | Path, owner: str, ttl: float) -> None:
        super().__init__(name="qslack-leases", daemon=True)
        self.db, self.owner, self.ttl = db, owner, ttl
        self.held: set[str] = set()
        self.lost: set[str] = set()
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def hold(self, run_id: str) -> None:
        """Renew this run's lease from now on."""
        with self._lock:
            self.held.add(run_id)

    def drop(self, run_id: str) -> None:
        """Stop renewing it."""
        with self._lock:
            self.held.discard(run_id)

    def run(self) -> None:

        with Store(self.db) as store:
            while not self._halt.wait(self.ttl / 3):
                with self._lock:
                    ids = sorted(self.held)
                for rid in ids:
                    try:
                        if not store.claim(rid, self.owner, ttl=self.ttl):
                            with self._lock:
                                self.lost.add(rid)
                    except QslackError:
                        continue  # busy store: the next round renews it

    def stop(self) -> None:
        """End the thread (within ``ttl / 3`` seconds)."""
        self._halt.set()
        self.join(timeout=5)


# errors that say a task's worker, or the connection to it, went away (not the run itself): the
# driver resubmits the run from its last stored step; a loaded scheduler can also time a restarted
# worker's connection out (TimeoutError, ConnectionError, RPCClosed) before the task gets to its run
_LOST = frozenset(
    {"KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError", "TimeoutError",
     "ConnectionError", "RPCClosed"}
)


def _lost_worker(exc: BaseException) -> bool:
    """Whether a task's error means its worker (or the connection to it) died, not the run itself.

    Examples
    --------
    >>> _lost_worker(ConnectionResetError("peer gone")), _lost_worker(FileNotFoundError("x.txt"))
    (True, False)
    """
    return any(k.__name__ in _LOST for k in type(exc).__mro__)


class _Driver:
    """The single writer of one sweep: leases, run creation, task submission, step storage."""

    def __init__(
        self,
        store: Any,
        db: str | Path,
        client: Any,
        spec: Any,
        *,
        threads: int | None,
        lease_ttl: float,
        max_attempts: int,
        on_done: OnDone | None,
        on_note: Callable[[str], None] | None,
    ) -> None:
        from distributed import Event, Queue, as_completed


        self.store, self.client, self.spec = store, client, spec
        self.owner = f"sweep-{uuid.uuid4().hex[:10]}"
        self.lease_ttl, self.max_attempts = float(lease_ttl), int(max_attempts)
        self.on_done, self.on_note = on_done, on_note
        self.queue_name = f"qslack-steps-{self.owner}"
        self.stop_name = f"qslack-stop-{self.owner}"
        self.queue = Queue(self.queue_name, client=client)
        self.stop_event = Event(self.stop_name, client=client)
        self.ac = as_completed([], with_results=False)
        self.jobs: dict[str, _Job] = {}
        self.by_key: dict[str, str] = {}
        self.refs: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.cap = capacity(client)
        self._cap_t = time.monotonic()
        self.gpus = local_gpus() if spec.kind == "local" else None
        self.threads = threads
        self.poll = 0.05  # seconds between looks at the queue when nothing happened
        self.keeper = _LeaseKeeper(db, self.owner, self.lease_ttl)
        self.counts: dict[str, Any] = {
            "statuses": {},
            "resumed": 0,
            "resubmitted": 0,
            "replayed": 0,
            "elsewhere": 0,
            "reused_now": 0,
            "unplaced": [],
        }

    # ------------------------------------------------------------------ helpers
    def _note(self, text: str) -> None:
        if self.on_note is not None:
            self.on_note(text)

    def _done(self, cfg: SolveConfig, run_id: str, status: str, wall: float) -> None:
        st = self.counts["statuses"]
        st[status] = st.get(status, 0) + 1
        if self.on_done is not None:
            self.on_done(cfg, run_id, status, wall)

    def _capacity(self) -> Any:

        if time.monotonic() - self._cap_t > 2.0:
            self.cap, self._cap_t = capacity(self.client), time.monotonic()
        return self.cap

    def _threads_for(self, cfg: SolveConfig) -> int | None:
        if cfg.threads is not None:
            return cfg.threads
        if self.threads is not None:
            return self.threads
        return 1 if self.cap.slots > 1 else None

    def _reference(self, cfg: SolveConfig) -> dict[str, Any] | None:
        key = (cfg.instance, cfg.take, cfg.encoding, cfg.fmt, cfg.problem, cfg.reference_time_limit)
        return self.refs.get(key)

    def _keep_reference(self, cfg: SolveConfig, ref: dict[str, Any]) -> None:
        key = (cfg.instance, cfg.take, cfg.encoding, cfg.fmt, cfg.problem, cfg.reference_time_limit)
        self.refs[key] = ref

    def _takeable(self, run: dict[str, Any]) -> bool:
        """Not running, or *stale* as the store defines it for every command (its process gone on this
        host; elsewhere: no live lease and no heartbeat for 10 minutes)."""
        if run["status"] != "running":
            return True
        return bool(self.store.is_stale(run))

    def _claim_existing(self, runs: list[dict[str, Any]]) -> tuple[str, str | None]:
        """Under the write lock: ``("reused" | "elsewhere" | "resume" | "new", run id)``."""
        done = [r for r in runs if r["status"] in DONE]
        if done:
            return "reused", done[0]["run_id"]
        live = [r for r in runs if r["status"] in ("running", "interrupted", "failed")]
        if not live:
            return "new", None
        run = live[-1]
        if run["status"] == "running":  # its process is gone (same host) or silent past its lease: take it
            if not self._takeable(run):
                return "elsewhere", run["run_id"]
            self.store.claim(run["run_id"], self.owner, ttl=self.lease_ttl, steal=True)
        elif not self.store.claim(run["run_id"], self.owner, ttl=self.lease_ttl):
            return "elsewhere", run["run_id"]
        self.store.set_status(run["run_id"], "running", "running (qslack sweep)")
        return "resume", run["run_id"]

    def _placement(self, res: Any) -> str | None:
        """Why no worker of the cluster can take a run with resources ``res`` (None: some can)."""

        cap = self._capacity()
        where = self.spec.describe()
        if res.gpu:
            have = self.gpus if self.spec.kind == "local" else cap.resources.get("GPU", 0)
            if not have:
                return (
                    f"needs a GPU and no worker of {where} offers one "
                    "(start workers with --resources GPU=1, or slurm gpus = 1)"
                )
        mem = cap.resources.get("MEMORY")
        if mem is not None and res.memory > mem:
            hint = " (use fewer local workers)" if self.spec.kind == "local" else ""
            return (
                f"needs {format_bytes(res.memory)} and the largest worker of {where} offers "
                f"{format_bytes(int(mem))}{hint}"
            )
        return None

    # ------------------------------------------------------------------ starting runs
    def start(self, cfg: SolveConfig, rk: str) -> None:
        """Take one run of the suite: reuse, skip (another driver has it), resume or create; submit."""
        with self.store.transaction():
            what, rid = self._claim_existing(self.store.find_runs(rk))
        if what == "reused":
            self.counts["reused_now"] += 1
            self._done(cfg, rid or "-", "reused", 0.0)
            return
        if what == "elsewhere":
            self.counts["elsewhere"] += 1
            self._note(f"run {rid} ({cfg.instance} {cfg.method} seed {cfg.seed}) is held by another driver")
            self._done(cfg, rid or "-", "elsewhere", 0.0)
            return
        if what == "resume":
            assert rid is not None
            self._resume(cfg, rid)
            return
        self._create(cfg, rk)

    def _resume(self, cfg: SolveConfig, rid: str) -> None:

        self.keeper.hold(rid)
        try:
            h = open_run(self.store, rid)
        except QslackError as exc:
            self.store.set_status(rid, "failed", f"cannot resume: {exc}")
            self._release(rid)
            self._note(f"run {rid}: cannot resume: {exc}")
            self._done(cfg, rid, "failed", 0.0)
            return
        res = run_resources(h.prep, h.sampler, self._threads_for(h.prep.cfg))
        why = self._placement(res)
        if why is not None:
            self.store.set_status(rid, "interrupted", f"not placed: {why}")
            self._release(rid)
            self._unplaced(cfg, rid, why)
            return
        job = _Job(h.prep.cfg, rid, h.prep, res, h.state, list(h.history), resumed=True)
        job.sink = StoreSink(self.store, rid, owner=self.owner, lease_ttl=self.lease_ttl)
        self.counts["resumed"] += 1
        self._note(f"run {rid}: resuming from step {job.stored}")
        self._submit(job)

    def _unplaced(self, cfg: SolveConfig, rid: str, why: str) -> None:
        self.counts["unplaced"].append(f"{cfg.instance} {cfg.method} seed {cfg.seed}: {why}")
        self._note(f"not run: {cfg.instance} {cfg.method} seed {cfg.seed}: {why}")
        self._done(cfg, rid, "unplaced", 0.0)

    def _create(self, cfg: SolveConfig, rk: str) -> None:

        threads = self._threads_for(cfg)
        # a relative path is stored absolute (as `qslack solve` stores it): resumable from any folder
        cfg = dataclasses.replace(cfg, threads=threads, instance=resolve_spec(cfg.instance, fmt=cfg.fmt))
        cfg.validate()
        prep = prepare(cfg, reference=self._reference(cfg))
        self._keep_reference(cfg, prep.reference)
        sampler = make_sampler(cfg)
        res = run_resources(prep, sampler, threads)
        mem = self._capacity().resources.get("MEMORY")
        statevector = sampler.config().get("sampler") == "qaoa"
        if self.spec.kind != "local" and statevector and res.memory > 0 and mem is not None:
            # a simulated state fits or not by memory alone: the workers' memory, not this machine's
            why = None
            if res.memory > mem:
                why = (
                    f"does not fit: needs {format_bytes(res.memory)}; the largest worker of "
                    f"{self.spec.describe()} offers {format_bytes(int(mem))}"
                )
        else:  # this machine's view, as `qslack solve` has it (size caps such as brute force's)
            why = does_not_fit(prep, sampler)
        place = None if why is not None else self._placement(res)
        if place is not None:
            self._unplaced(cfg, "-", place)
            return
        problem = prep.problem()
        state = init_state(
            problem,
            cfg.method,
            rho0=default_multipliers(prep.form, rho=cfg.rho)[1],
            options=cfg.options,
            seed=cfg.seed,
        )
        with self.store.transaction():
            what, rid = self._claim_existing(self.store.find_runs(rk))  # again, under the lock
            if what == "new":
                rid = create_run(self.store, prep, sampler)
                if why is None:
                    self.store.save_state(rid, state.to_dict())
                    self.store.claim(rid, self.owner, ttl=self.lease_ttl)
                else:
                    self.store.finish_run(
                        rid,
                        "does-not-fit",
                        {
                            "message": why,
                            "qubits_slack": prep.qubits_slack,
                            "qubits_slack_free": prep.program.n_vars,
                            "instance": prep.loaded.name,
                            "method": cfg.method,
                        },
                        message=why,
                    )
        if what != "new":  # another driver got there while this one prepared
            if what == "resume":
                assert rid is not None
                self._resume(cfg, rid)
            else:
                self.counts["elsewhere" if what == "elsewhere" else "reused_now"] += 1
                self._done(cfg, rid or "-", what, 0.0)
            return
        assert rid is not None
        if why is not None:
            self._done(cfg, rid, "does-not-fit", 0.0)
            return
        self.keeper.hold(rid)
        job = _Job(cfg, rid, prep, res, state, [])
        job.sink = StoreSink(self.store, rid, owner=self.owner, lease_ttl=self.lease_ttl)
        self._submit(job)

    def _submit(self, job: _Job) -> None:

        job.attempt += 1
        spec = task_spec(
            job.run_id,
            job.attempt,
            job.cfg,
            job.state,
            job.prep,
            queue=self.queue_name,
            stop=self.stop_name,
        )
        job.future = self.client.submit(
            run_task,
            spec,
            key=f"qslack-run-{job.run_id}-{job.attempt}",
            resources=job.resources.dask(self._capacity().offered()) or None,
            pure=False,
            retries=0,
        )
        self.jobs[job.run_id] = job
        self.by_key[job.future.key] = job.run_id
        self.ac.add(job.future)

    def _gpu_busy(self) -> int:
        return sum(1 for j in self.jobs.values() if j.resources.gpu)

    # ------------------------------------------------------------------ steps and ends
    def drain(self) -> int:
        """Store the steps waiting in the queue (without waiting for more); how many."""

        msgs = self.queue.get(batch=True)
        for text in msgs:
            self._store_step(decode(text))
        return len(msgs)

    def _store_step(self, msg: dict[str, Any]) -> None:

        job = self.jobs.get(msg["run"])
        if job is None or msg["step"] != job.stored:
            # a run no longer held, or a step stored already (a task rerun from an older state replays it)
            self.counts["replayed"] += 1
            return
        it = DualIterate(**msg["record"])
        state = DualState.from_dict(msg["state"])
        job.sink.record_step(state, it, Ticket(it.step))
        job.state = state
        job.history.append(it)

    def complete(self, fut: Any) -> None:
        """A task ended: store its end (or resubmit it after a worker died)."""
        rid = self.by_key.pop(fut.key, None)
        job = self.jobs.get(rid) if rid is not None else None
        if job is None or job.future is not fut:
            return
        if fut.status == "finished":
            self._finished(job, fut.result())
            return
        exc: BaseException | None = None
        if fut.status in ("error", "cancelled"):
            try:
                exc = fut.exception()
            except BaseException as e:  # cancelled futures raise here
                exc = e
        # no error ("lost", "pending"): the task had finished but its result was held by a worker
        # that died before it was fetched; the scheduler would recompute the whole run, which this
        # loop must not wait for: resubmit it from its last stored step instead
        why = "its result was lost with its worker" if exc is None else f"{type(exc).__name__}: {exc}"
        if exc is None or _lost_worker(exc):
            if job.attempt < self.max_attempts:
                self.counts["resubmitted"] += 1
                self._note(
                    f"run {job.run_id}: its worker died ({why}); "
                    f"resubmitted from step {job.stored} (attempt {job.attempt + 1})"
                )
                fut.cancel()
                self._submit(job)
                return
            message = f"its worker or connection was lost {job.attempt} times (last: {why})"
        else:
            message = why
        self.store.set_status(job.run_id, "failed", message)
        self._end(job, "failed")

    def _finished(self, job: _Job, out: dict[str, Any]) -> None:

        missing = [r for r in out["records"] if r["step"] >= job.stored]
        state = DualState.from_dict(out["state"])
        if missing:  # steps whose messages were not drained yet: store them with the final state
            with self.store.transaction():
                for rec in missing:
                    self.store.add_step(job.run_id, rec["step"], DualIterate(**rec).to_dict())
                self.store.save_state(job.run_id, state.to_dict())
            job.history.extend(DualIterate(**r) for r in missing)
        job.state = state
        outcome = Outcome(state, out["status"], out["reason"], out["message"], out["calls"], job.history)
        status = out["status"] if out["status"] in ("finished", "interrupted", "failed") else "failed"
        finish(self.store, job.run_id, job.prep, outcome, job.history, status, time.perf_counter() - job.t0)
        self._end(job, status)

    def _release(self, rid: str) -> None:
        self.keeper.drop(rid)
        self.store.release(rid, self.owner)

    def _end(self, job: _Job, status: str) -> None:
        self.jobs.pop(job.run_id, None)
        self._release(job.run_id)
        self._done(job.cfg, job.run_id, status, time.perf_counter() - job.t0)

    def abandon_lost(self) -> None:
        """Forget runs whose lease another driver took (this one stalled past its lease): no more writes."""
        with self.keeper._lock:
            lost, self.keeper.lost = set(self.keeper.lost), set()
        for rid in lost:
            job = self.jobs.pop(rid, None)
            if job is not None:
                job.future.cancel()
                self.keeper.drop(rid)
                self._note(f"run {rid}: its lease was taken by another driver; left to it")
                self._done(job.cfg, rid, "elsewhere", time.perf_counter() - job.t0)

    # ------------------------------------------------------------------ the loop
    def warm_up(self, items: list[tuple[SolveConfig, str]]) -> None:
        """Have every worker load what the runs need while this process prepares the first ones."""

        kinds = {}
        for cfg, _ in items:
            kinds.setdefault((cfg.sampler, cfg.backend, cfg.profile), dataclasses.replace(cfg, threads=1))
        configs = [c.to_dict() for c in kinds.values()]
        try:
            workers = list(self.client.scheduler_info().get("workers", {}))
        except Exception:
            return
        self._warm = [
            self.client.submit(warm_up, configs, workers=[w], pure=False, key=f"qslack-warm-{self.owner}-{i}")
            for i, w in enumerate(workers)
        ]

    def run(self, items: list[tuple[SolveConfig, str]]) -> None:
        """Drive every item to its end."""
        pending = deque(items)
        self.keeper.start()
        self.warm_up(items)
        while pending or self.jobs:
            cap = self._capacity()
            deferred: list[tuple[SolveConfig, str]] = []
            # one run queued behind each running one, so a worker finds its next task ready
            while pending and len(self.jobs) < 2 * cap.slots:
                cfg, rk = pending.popleft()
                if self.gpus is not None and self._needs_gpu(cfg) and self._gpu_busy() >= max(self.gpus, 1):
                    deferred.append((cfg, rk))  # one run per local GPU at a time
                    if not self.jobs:
                        break
                    continue
                self.start(cfg, rk)
            pending.extendleft(reversed(deferred))
            if not self.jobs:
                continue
            got = self.drain()
            if self.ac.has_ready():
                self.drain()  # steps first, so that an end finds them stored
                for fut in self.ac.next_batch(block=False):
                    self.complete(fut)
            elif not got:
                time.sleep(self.poll)
            self.abandon_lost()

    def _needs_gpu(self, cfg: SolveConfig) -> bool:

        return cfg.profile is not None and uses_gpu(make_sampler(cfg))

    def interrupt(self, why: str = "interrupted by the user") -> list[str]:
        """Ctrl-C (or the driver's own error): stop the tasks, store what arrived, mark unfinished runs
        interrupted (resumable) with ``why``; their ids."""
        try:
            self.stop_event.set()
        except Exception:  # the cluster may be going away too
            pass
        try:
            self.drain()
        except Exception:
            pass
        ids = []
        for rid, job in list(self.jobs.items()):
            try:
                job.future.cancel()
            except Exception:
                pass
            self.store.set_status(
                rid, "interrupted", f"{why} at step {job.stored} (qslack sweep); rerun the sweep to resume"
            )
            self._release(rid)
            ids.append(rid)
        self.jobs.clear()
        return ids

    def close(self) -> None:
        self.keeper.stop()
        try:
            self.queue.close()
        except Exception:
            pass


def run_suite(
    suite: Suite,
    db: str | Path,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    threads: int | None = None,
    slurm: dict[str, Any] | None = None,
    on_done: OnDone | None = None,
    on_note: Callable[[str], None] | None = None,
    lease_ttl: float = 60.0,
    max_attempts: int = 3,
) -> dict[str, Any]:
    """Run every missing run of ``suite`` on a Dask cluster; store each step as it arrives.

    Parameters
    ----------
    suite : Suite
    db : str or Path
        The store (this process is its only writer for the sweep's runs).
    workers : int, optional
        Shorthand for ``cluster="local:N"``.
    cluster : str, optional
        ``local``, ``local:N``, ``tcp://HOST:PORT`` or ``slurm``
        (:func:`qslack.runs.cluster.parse_cluster`); default the suite's
        ``[cluster]`` table, else ``local:1``.
    threads : int, optional
        Threads of each run (numba kernels; BLAS on local workers) unless its
        configuration sets them; default 1 when the cluster has several run
        slots, else the kernel's default.
    slurm : dict, optional
        ``--slurm KEY=VALUE`` options (override the suite's ``[cluster]`` table).
    on_done : callable, optional
        ``on_done(cfg, run_id, status, wall_s)`` as each run ends (statuses
        also ``"reused"``, ``"elsewhere"``: held by another driver, and
        ``"unplaced"``: no worker can take it).
    on_note : callable, optional
        ``on_note(text)`` for events worth a line (resubmissions, resumes).
    lease_ttl : float
        Seconds a run's lease lasts without renewal (renewed every third of it).
    max_attempts : int
        Tasks per run whose worker may die before the run is recorded as failed.

    Returns
    -------
    dict
        ``suite, cluster, runs, reused, ran, statuses, resumed, resubmitted,
        replayed`` (step messages dropped: already stored, as when Dask reruns a
        task itself), ``elsewhere, unplaced, wall_s``.

    Raises
    ------
    KeyboardInterrupt
        After storing what arrived and marking unfinished runs interrupted
        (``exc.args[0]`` lists their ids).
    """

    t0 = time.perf_counter()
    spec = parse_cluster(cluster, workers=workers, table=suite.cluster, slurm=slurm)
    with Store(db) as store:
        todo = plan(suite, store)
        missing = [(cfg, rk) for cfg, rk, rid in todo if rid is None]
        reused = len(todo) - len(missing)
        driver = None
        if missing:
            with connect(spec, threads=threads) as client:
                driver = _Driver(
                    store,
                    db,
                    client,
                    spec,
                    threads=threads,
                    lease_ttl=lease_ttl,
                    max_attempts=max_attempts,
                    on_done=on_done,
                    on_note=on_note,
                )
                try:
                    driver.run(missing)
                except KeyboardInterrupt:
                    ids = driver.interrupt()
                    raise KeyboardInterrupt(ids) from None
                except BaseException as exc:  # the driver itself failed: leave nothing "running"
                    driver.interrupt(f"the sweep's driver stopped ({type(exc).__name__}: {exc})")
                    raise
                finally:
                    driver.close()
    counts = driver.counts if driver is not None else {}
    statuses = {k: v for k, v in counts.get("statuses", {}).items() if k not in ("reused", "elsewhere")}
    return {
        "suite": suite.name,
        "cluster": spec.describe(),
        "runs": len(todo),
        "reused": reused + counts.get("reused_now", 0),
        "ran": sum(v for k, v in statuses.items() if k != "unplaced"),
        "statuses": statuses,
        "resumed": counts.get("resumed", 0),
        "resubmitted": counts.get("resubmitted", 0),
        "replayed": counts.get("replayed", 0),
        "elsewhere": counts.get("elsewhere", 0),
        "unplaced": counts.get("unplaced", []),
        "wall_s": time.perf_counter() - t0,
    }
