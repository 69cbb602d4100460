"""The one driver of the dual loop: a sample source in, a sink out.

Every run — an in-memory :func:`solve_dual`, a stored ``qslack solve``, a
hardware run whose jobs outlive the process, a sweep task on a Dask worker —
is this loop::

    while steps remain:
        request = ask(state)
        ticket  = the sink's ticket in flight for this step, or source.submit(request)
        samples = source.result(ticket)          # may be pending (hardware) or failed
        state, record = step(state, samples)     # pure
        sink.record_step(state, record, ticket)  # committed before the next step

A *source* is synchronous (:class:`SamplerSource`: any
:class:`~qslack.samplers.base.Sampler`, the ticket holds the samples) or
future-based (hardware jobs: the ticket is a job id the sink stores before
anything waits; dimod's ``SampleSet.from_future`` is the pattern).  Stop
rules, warm starts, time limits and Ctrl-C live here once.  A
``KeyboardInterrupt`` (Ctrl-C) ends the drive as ``"interrupted"`` with the
last *committed* state.

Examples
--------
>>> from qslack.dual import DualProblem, init_state
>>> from qslack.model.lagrangian import LagrangianForm
>>> from qslack.problems.catalog import build_program, load_instance
>>> from qslack.samplers.exact import ExactSampler
>>> problem = DualProblem(LagrangianForm(build_program(load_instance("mknap1#1"))))
>>> out = drive(init_state(problem, "bundle", rho0=0.0), problem, SamplerSource(ExactSampler()),
...             MemorySink(), iters=30)
>>> out.status, out.reason, out.state.step < 30
('finished', 'converged', True)
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.dual import DualIterate, DualProblem, DualState, Request, ask, init_state, result, step
from qslack.exceptions import QslackError
from qslack.samplers.base import Sampler, SampleSet

__all__ = [
    "MemorySink",
    "Outcome",
    "SampleFailedError",
    "SamplePendingError",
    "SampleSource",
    "SamplerSource",
    "Sink",
    "Ticket",
    "drive",
    "restore_sigint",
]


class SamplePendingError(QslackError):
    """The samples of a ticket are not ready yet (a queued or running job)."""

    def __init__(self, message: str, status: str = "QUEUED") -> None:
        super().__init__(message)
        self.status = status


class SampleFailedError(QslackError):
    """The samples of a ticket will never come (a failed or cancelled job); the step is resubmitted."""

    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Ticket:
    """A submitted request: a job id and its metadata (durable sources), or the samples themselves."""

    step: int
    job_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    status: str = "submitted"
    sampleset: SampleSet | None = None
    submitted_at: float = field(default_factory=time.perf_counter)
    result: dict[str, Any] | None = None  # JSON-able job result to store with the step (durable sources)


def recentre_options(sampler: Sampler, request: Request) -> dict[str, Any]:
    """``{"warm_start": incumbent}`` for a sampler that recentres its warm ansatz, once there is one."""
    if sampler.recentre and request.incumbent is not None:
        return {"warm_start": np.asarray(request.incumbent, dtype=np.float64)}
    return {}


class SampleSource:
    """Where samples come from: ``submit(request) -> Ticket``, ``result(ticket, request) -> SampleSet``.

    ``durable`` sources (hardware) have tickets worth storing: a later process
    collects them.
    """

    durable: bool = False
    sampler: Sampler

    def submit(self, request: Request) -> Ticket:  # pragma: no cover - interface
        """Start sampling ``request.qubo``."""
        raise NotImplementedError

    def result(self, ticket: Ticket, request: Request, *, wait: bool = True) -> SampleSet:  # pragma: no cover
        """The samples of ``ticket``; :class:`SamplePendingError` / :class:`SampleFailedError` otherwise."""
        raise NotImplementedError


class SamplerSource(SampleSource):
    """A synchronous sampler as a source: ``submit`` samples at once (warm-started when it can be)."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def submit(self, request: Request) -> Ticket:
        """Sample now; the ticket holds the SampleSet (memory only)."""
        kw = recentre_options(self.sampler, request)
        if request.init is not None and self.sampler.accepts_init:
            kw["init"] = request.init
        t0 = time.perf_counter()
        ss = self.sampler.sample(request.qubo, seed=request.seed, **kw)
        restore_sigint()  # native solvers (OR-Tools) may have taken over SIGINT
        return Ticket(request.step, sampleset=ss, status="done", submitted_at=t0)

    def result(self, ticket: Ticket, request: Request, *, wait: bool = True) -> SampleSet:
        """The samples taken by :meth:`submit`."""
        assert ticket.sampleset is not None
        return ticket.sampleset


class Sink:
    """Where a drive's progress goes.  The base class keeps nothing."""

    def ticket_for(self, step: int) -> Ticket | None:
        """A durable ticket still in flight for ``step`` (hardware runs), else None."""
        return None

    def record_ticket(self, ticket: Ticket, state: DualState) -> None:
        """A durable ticket was submitted at ``state``: store it before anything waits."""

    def record_failure(self, ticket: Ticket, error: SampleFailedError) -> None:
        """A ticket failed for good (its step will be submitted again)."""

    def record_pending(self, ticket: Ticket, error: SamplePendingError) -> None:
        """A ticket is still pending."""

    def record_step(self, state: DualState, iterate: DualIterate, ticket: Ticket) -> None:
        """A step is done: ``state`` is the state after it, ``iterate`` its record."""


class MemorySink(Sink):
    """Keeps the records in memory (``history``)."""

    def __init__(self) -> None:
        self.history: list[DualIterate] = []

    def record_step(self, state: DualState, iterate: DualIterate, ticket: Ticket) -> None:
        """Append the record."""
        self.history.append(iterate)


@dataclass
class Outcome:
    """How a drive ended.

    ``status``: ``"finished"``, ``"interrupted"`` (Ctrl-C, or ``stop_after``),
    ``"pending"`` (a ticket not ready and ``wait=False``) or ``"failed"``
    (a ticket failed and ``resubmit=False``); ``reason`` for finished runs:
    ``"iters"``, ``"converged"``, ``"time_limit"`` or ``"callback"``.
    ``state`` is the last committed state; ``history`` the records of this drive.
    """

    state: DualState
    status: str
    reason: str
    message: str
    calls: int = 0
    history: list[DualIterate] = field(default_factory=list)
    ticket: Ticket | None = None


def restore_sigint() -> None:
    """Give SIGINT back to Python (``KeyboardInterrupt``) after native code took it over.

    OR-Tools' CP-SAT installs a C-level SIGINT handler during a solve; the
    process would then die on Ctrl-C without saving.  Re-registering Python's
    handler fixes that.  A no-op outside the main thread.
    """
    if threading.current_thread() is threading.main_thread():
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) or handler in (signal.SIG_DFL, signal.SIG_IGN):
            signal.signal(signal.SIGINT, handler)


Callback = Callable[[DualIterate, DualState], Any]


def drive(
    state: DualState,
    problem: DualProblem,
    source: SampleSource,
    sink: Sink,
    *,
    iters: int,
    time_limit: float | None = None,
    callback: Callback | None = None,
    wait: bool = True,
    stop_after: int | None = None,
    resubmit: bool = True,
    max_failures: int = 10,
) -> Outcome:
    """Run the dual loop from ``state`` until ``iters`` steps are done (or another stop rule).

    Parameters
    ----------
    state : DualState
        Where to start (a new state, or one restored from a store).
    problem : DualProblem
    source : SampleSource
    sink : Sink
    iters : int
        Total steps of the run (steps already in ``state`` count).
    time_limit : float, optional
        Seconds for this drive; it stops after the step that crosses it.
    callback : callable, optional
        ``callback(iterate, state)`` after every committed step; returning
        True stops the drive (reason ``"callback"``).
    wait : bool
        Wait for pending tickets (``False``: return ``"pending"``).
    stop_after : int, optional
        Stop after this many steps: as ``"interrupted"``, or for a durable
        source as ``"pending"`` once the next step's ticket is submitted.
    resubmit : bool
        Submit a failed ticket's step again (at most ``max_failures`` times in
        this drive).
    """
    restore_sigint()
    t0 = time.perf_counter()
    calls = failures = 0
    history: list[DualIterate] = []
    committed = state
    reason, message = "iters", f"reached {iters} steps"
    try:
        while committed.step < iters:
            if committed.converged is not None:
                reason, message = "converged", committed.converged
                break
            if stop_after is not None and calls >= stop_after:
                if not source.durable:
                    return Outcome(
                        committed,
                        "interrupted",
                        "interrupted",
                        f"stopped after {calls} steps on request",
                        calls,
                        history,
                    )
                # a hardware run keeps its next step in flight: submit it, then return
                req = ask(committed, problem)
                ticket = sink.ticket_for(req.step)
                if ticket is None:
                    ticket = source.submit(req)
                    sink.record_ticket(ticket, committed)
                return Outcome(
                    committed,
                    "pending",
                    "pending",
                    f"step {req.step} submitted as {ticket.job_id}",
                    calls,
                    history,
                    ticket,
                )
            req = ask(committed, problem)
            ticket = sink.ticket_for(req.step) if source.durable else None
            if ticket is None:
                ticket = source.submit(req)
                if source.durable:
                    sink.record_ticket(ticket, committed)
            try:
                ss = source.result(ticket, req, wait=wait)
            except SamplePendingError as exc:
                sink.record_pending(ticket, exc)
                return Outcome(committed, "pending", "pending", str(exc), calls, history, ticket)
            except SampleFailedError as exc:
                sink.record_failure(ticket, exc)
                failures += 1
                if not resubmit or failures > max_failures:
                    return Outcome(committed, "failed", "failed", str(exc), calls, history, ticket)
                continue
            calls += 1
            new_state, it = step(committed, ss, problem, wall_s=time.perf_counter() - ticket.submitted_at)
            ss = None  # the 2**n probabilities must not outlive the step: the next sample needs the room
            sink.record_step(new_state, it, ticket)
            committed = new_state
            history.append(it)
            if callback is not None and callback(it, committed):
                reason, message = "callback", "callback asked to stop"
                break
            if committed.converged is not None:
                reason, message = "converged", committed.converged
                break
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                reason, message = "time_limit", f"time limit {time_limit:g} s reached"
                break
    except KeyboardInterrupt:
        return Outcome(committed, "interrupted", "interrupted", "interrupted by the user", calls, history)
    return Outcome(committed, "finished", reason, message, calls, history)


def solve_dual(
    problem: DualProblem,
    sampler: Sampler,
    *,
    method: str = "subgradient",
    lam0: Any = None,
    rho0: Any = None,
    iters: int = 20,
    time_limit: float | None = None,
    callback: Callback | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    state: DualState | None = None,
) -> Any:
    """The plain in-memory loop: ``iters`` steps of ``method`` with ``sampler``; a DualResult.

    Examples
    --------
    >>> from qslack.model.lagrangian import LagrangianForm
    >>> from qslack.problems.catalog import build_program, load_instance
    >>> from qslack.samplers.exact import ExactSampler
    >>> problem = DualProblem(LagrangianForm(build_program(load_instance("mknap1#1"))))
    >>> res = solve_dual(problem, ExactSampler(), method="bundle", rho0=0.0, iters=30)
    >>> res.dual_bound is not None and res.dual_bound >= 3800
    True
    """
    if state is None:
        state = init_state(problem, method, lam0=lam0, rho0=rho0, options=options, seed=seed)
    t0 = time.perf_counter()
    sink = MemorySink()
    out = drive(
        state, problem, SamplerSource(sampler), sink, iters=iters, time_limit=time_limit, callback=callback
    )
    return result(
        out.state,
        problem,
        sink.history,
        status=out.status,
        reason=out.reason,
        message=out.message,
        wall_s=time.perf_counter() - t0,
        sampler_calls=out.calls,
    )
