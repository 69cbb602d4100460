"""The task a Dask worker runs for a sweep: one stored run's steps, sent back to the driver as they happen.

Workers never open the store.  The driver (the ``qslack sweep`` process)
creates or resumes the run, then submits :func:`run_task` with a *task spec*:
the run's configuration, the state to start from (the last one stored), the
known optimum and certified bound the driver already computed, and the
program hash to check.  The worker rebuilds the program from the instance
(no OR-Tools reference solve, no slack encoding: those were the driver's),
drives it with
:func:`~qslack.runs.driver.drive`, and after every step puts one message
``{run, attempt, step, record, state}`` (canonical JSON text) on the sweep's
``distributed.Queue``.  The driver stores each message's step and state in one
transaction, so a task that dies resumes from its last stored step.

Why a Queue: a ``put`` returns once the scheduler holds the message, so a step
the worker has sent outlives the worker; one producer's messages stay in
order; the driver drains them in batches without blocking the workers (they
never wait for the store).  Per-step futures would rebuild the run (instance,
form caches, compiled kernels) at every step; Pub/Sub and event topics are
fire-and-forget.  The task's return value repeats every record of this
attempt and the final state, so nothing depends on draining the queue in time.

A stop flag (``distributed.Event``) set by the driver on Ctrl-C ends the drive
after the step in progress (status ``"interrupted"``).

Examples
--------
Without Dask, ``put`` can be any callable (here a list):

>>> from qslack.runs.config import SolveConfig, make_sampler
>>> from qslack.runs.prepare import prepare
>>> from qslack.dual import init_state
>>> cfg = SolveConfig(instance="mknap1#1", sampler="exact", method="bundle", iters=2,
...                   reference_time_limit=5.0)
>>> prep = prepare(cfg)
>>> state = init_state(prep.problem(), "bundle", rho0=None, seed=0)
>>> spec = task_spec("r1", 1, cfg, state, prep)
>>> sent = []
>>> out = run_task(spec, put=sent.append)
>>> out["status"], [decode(m)["step"] for m in sent], len(out["records"])
('finished', [0, 1], 2)
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from qslack.exceptions import QslackError
from qslack.runs.config import SolveConfig
from qslack.runs.driver import Sink, Ticket

__all__ = ["QueueSink", "decode", "encode", "run_task", "task_spec", "warm_up"]


def _json_default(obj: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"a {type(obj).__name__} is not JSON-serialisable")


def encode(obj: Any) -> str:
    """Canonical JSON text (NumPy values as Python numbers, NaN and inf kept), as the store writes it.

    Examples
    --------
    >>> import numpy as np
    >>> encode({"b": np.array([1.0, np.inf]), "a": np.int64(2)})
    '{"a":2,"b":[1.0,Infinity]}'
    """
    return json.dumps(obj, default=_json_default, allow_nan=True, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> Any:
    """Inverse of :func:`encode`."""
    return json.loads(text)


def task_spec(
    run_id: str,
    attempt: int,
    cfg: SolveConfig,
    state: Any,
    prep: Any,
    *,
    queue: str | None = None,
    stop: str | None = None,
) -> dict[str, Any]:
    """What a worker needs to run (the rest of) one stored run; plain JSON-able data.

    ``state`` is a :class:`~qslack.dual.DualState` or its dict; ``prep`` the
    driver's :class:`~qslack.runs.prepare.Prepared` (its optimum, certified
    bound and program hash travel); ``queue`` and ``stop`` name the sweep's
    Dask Queue and stop Event (None: no Dask).
    """
    state_d = state.to_dict() if hasattr(state, "to_dict") else dict(state)
    return {
        "run_id": run_id,
        "attempt": int(attempt),
        "config": cfg.to_dict(),
        "state": decode(encode(state_d)),
        "optimum": prep.optimum,
        "certified_bound": prep.certified_bound,
        "program_hash": prep.program.fingerprint(),
        "queue": queue,
        "stop": stop,
    }


class QueueSink(Sink):
    """Sends every step (record + state after it) to the driver through ``put`` (one JSON text each)."""

    def __init__(self, put: Callable[[str], Any], run_id: str, attempt: int) -> None:
        self.put, self.run_id, self.attempt = put, run_id, attempt
        self.records: list[dict[str, Any]] = []

    def record_step(self, state: Any, iterate: Any, ticket: Ticket) -> None:
        """Send the step; it is in the scheduler's hands when this returns."""
        rec = iterate.to_dict()
        self.records.append(rec)
        self.put(
            encode(
                {
                    "run": self.run_id,
                    "attempt": self.attempt,
                    "step": int(iterate.step),
                    "record": rec,
                    "state": state.to_dict(),
                }
            )
        )


def _where() -> dict[str, Any]:
    """The worker this task ran on (recorded by the driver)."""
    out: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        from distributed import get_worker

        out["worker"] = get_worker().address
    except (ImportError, ValueError):
        pass
    return out


def run_task(
    spec: dict[str, Any],
    *,
    put: Callable[[str], Any] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Drive one run from ``spec["state"]``; send each step through ``put`` (default: the sweep's Queue).

    Returns ``{run_id, attempt, status, reason, message, calls, records,
    state, wall_s, where}``: ``records`` are this attempt's step records, in
    order, and ``state`` the state after the last one.  Errors propagate (the
    driver records the run as failed with the message).
    """
    from qslack.dual import DualProblem, DualState
    from qslack.problems import hooks_for
    from qslack.problems.catalog import build_program, load_instance
    from qslack.runs.config import make_form, make_sampler
    from qslack.runs.driver import SamplerSource, drive

    t0 = time.perf_counter()
    cfg = SolveConfig.from_dict(spec["config"])
    if put is None and spec.get("queue"):
        from distributed import Queue

        queue = Queue(spec["queue"])
        put = queue.put
    if stop is None and spec.get("stop"):
        from distributed import Event

        event = Event(spec["stop"])
        last = [0.0]

        def stop() -> bool:  # one look at the scheduler's flag per second at most
            now = time.monotonic()
            if now - last[0] < 1.0:
                return False
            last[0] = now
            return bool(event.is_set())

    cfg.validate()
    loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
    program = build_program(loaded, encoding=cfg.encoding)
    if program.fingerprint() != spec["program_hash"]:
        raise QslackError(
            f"run {spec['run_id']}: the instance {cfg.instance!r} reads differently on worker "
            f"{socket.gethostname()} (program hash {program.fingerprint()[:12]}, the driver's "
            f"{spec['program_hash'][:12]}): give the workers the same files"
        )
    problem = DualProblem(
        make_form(cfg, program), hooks_for(loaded.problem), spec["optimum"], spec["certified_bound"]
    )
    sampler = make_sampler(cfg, program=program)
    state = DualState.from_dict(spec["state"])
    sink = QueueSink(put or (lambda _m: None), spec["run_id"], int(spec["attempt"]))
    out = drive(
        state,
        problem,
        SamplerSource(sampler),
        sink,
        iters=cfg.iters,
        time_limit=cfg.time_limit,
        callback=None if stop is None else (lambda _it, _st: bool(stop())),
    )
    status, reason, message = out.status, out.reason, out.message
    if reason == "callback":  # the driver's stop flag: the sweep was interrupted
        status, reason, message = "interrupted", "interrupted", "interrupted by the user (qslack sweep)"
    return {
        "run_id": spec["run_id"],
        "attempt": int(spec["attempt"]),
        "status": status,
        "reason": reason,
        "message": message,
        "calls": out.calls,
        "records": decode(encode(sink.records)),
        "state": decode(encode(out.state.to_dict())),
        "wall_s": time.perf_counter() - t0,
        "where": _where(),
    }


def warm_up(configs: list[dict[str, Any]]) -> float:
    """Load what the runs of ``configs`` will need (imports, compiled-kernel caches) on this worker.

    The driver submits it to each worker when the cluster starts, so workers
    do this while the driver prepares the first runs; its seconds.

    Examples
    --------
    >>> cfg = SolveConfig(instance="mknap1#1", sampler="qaoa", p=1)
    >>> warm_up([cfg.to_dict()]) >= 0
    True
    """
    import dataclasses
    import warnings

    import numpy as np

    from qslack.dual import DualProblem  # noqa: F401 - the dual loop's modules
    from qslack.model.qubo import QUBO
    from qslack.runs.config import make_sampler

    t0 = time.perf_counter()
    seen = set()
    qubo = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]), 0.0)
    for d in configs:
        cfg = SolveConfig.from_dict(d)
        key = (cfg.sampler, cfg.backend, cfg.profile, cfg.threads)
        if key in seen or cfg.sampler == "cpsat" or cfg.profile is not None:
            continue  # hardware profiles and CP-SAT: nothing worth loading ahead
        seen.add(key)
        small = dataclasses.replace(cfg, qaoa_maxiter=min(cfg.qaoa_maxiter, 10), shots=min(cfg.shots, 16))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make_sampler(small).sample(qubo, seed=0)
        except QslackError:
            continue  # a sampler this tiny QUBO does not suit: it loads on its first run instead
    return time.perf_counter() - t0
