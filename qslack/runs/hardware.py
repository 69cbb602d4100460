"""Hardware runs that outlive the process: the same driver with a future-based sample source.

:class:`JobSource` turns an :class:`~qslack.hardware.sampler.IBMSampler` into a
durable source: ``submit`` optimises the angles, transpiles and submits the
step's circuit and returns a ticket (job id + JSON meta) that the store keeps
*before* anything waits; ``result`` collects the job, now or in a later
process.  On that, the driver (:func:`qslack.runs.driver.drive`) gives:

- :func:`submit_run`: create the run and submit its first step, return;
- :func:`advance`: collect the job in flight if it is done, tell it, commit
  (job result, step, state in one transaction), submit the next step; a
  failed or cancelled job is recorded with its reason and its step submitted
  again; a pending job is left alone.  Fetching twice stores once.  A step
  with no job on record (the process died between the service accepting
  the job and the store writing its id) is submitted again.

Every call to IBM's service goes through :mod:`qslack.hardware.service`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qslack.exceptions import QslackError
from qslack.hardware import JobFailedError, JobPendingError, LocalFakeService, RetryingService, RuntimeService
from qslack.hardware.profiles import load_profile
from qslack.model.bits import X_to_index
from qslack.runs.config import SolveConfig
from qslack.runs.driver import SampleFailedError, SamplePendingError, SampleSource, Ticket, recentre_options
from qslack.runs.stored import RunHandle, _AlreadyStoredError, open_run, run_handle, start
from qslack.samplers.base import SampleSet

__all__ = ["JobSource", "Outcome", "advance", "cancel_job", "run_until_done", "service_for_run", "submit_run"]


class JobSource(SampleSource):
    """A hardware sampler (``submit`` / ``collect``) as a durable sample source."""

    durable = True

    def __init__(self, sampler: Any, *, timeout: float | None = None) -> None:
        self.sampler = sampler
        self.timeout = timeout

    def submit(self, request: Any) -> Ticket:
        """Prepare and submit the step's circuit; the ticket carries the job id and meta."""
        job_id, meta = self.sampler.submit(
            request.qubo, request.init, seed=request.seed, **recentre_options(self.sampler, request)
        )
        return Ticket(request.step, job_id=job_id, meta=meta)

    def result(self, ticket: Ticket, request: Any, *, wait: bool = True) -> SampleSet:
        """Collect the job (waiting unless ``wait=False``)."""
        try:
            ss = self.sampler.collect(
                ticket.job_id, request.qubo, ticket.meta, wait=wait, timeout=self.timeout
            )
        except JobPendingError as exc:
            raise SamplePendingError(str(exc), getattr(exc, "status", "QUEUED")) from exc
        except JobFailedError as exc:
            status = "cancelled" if "CANCEL" in str(getattr(exc, "status", "")).upper() else "failed"
            raise SampleFailedError(f"job {ticket.job_id} failed: {exc}", status) from exc
        counts = {str(int(i)): int(c) for i, c in zip(X_to_index(ss.X), ss.counts, strict=True)}
        ticket.result = {"counts": counts, "n_shots": ss.n_shots}
        return ss


@dataclass
class Outcome:
    """What :func:`advance` did: ``action`` is collected, pending, resubmitted, failed or finished."""

    run_id: str
    action: str
    step: int
    job_id: str | None = None
    detail: str = ""


def submit_run(cfg: SolveConfig, store: Any, *, service: Any = None) -> tuple[str, str]:
    """Create a hardware run and submit its first step: ``(run_id, job_id)``."""
    if cfg.profile is None:
        raise QslackError("a hardware run needs a profile (--profile NAME)")
    h = start(cfg, store, service=service)
    if not isinstance(h, RunHandle):
        raise QslackError(h[1])
    if not hasattr(h.sampler, "submit"):
        raise QslackError(f"profile {cfg.profile!r} runs locally; use `qslack solve --profile {cfg.profile}`")
    out, _ = run_handle(store, h, source=JobSource(h.sampler), wait=False, stop_after=0)
    if out.ticket is None:
        raise QslackError(f"run {h.run_id}: no job was submitted ({out.message})")
    return h.run_id, str(out.ticket.job_id)


def advance(
    store: Any,
    run_id: str,
    *,
    service: Any = None,
    wait: bool = False,
    timeout: float | None = None,
) -> Outcome:
    """One move of a hardware run: collect the job in flight (if done), commit, submit the next step."""
    run = store.get_run(run_id)
    run_id = run["run_id"]
    if run["status"] == "finished":
        return Outcome(run_id, "finished", len(store.steps(run_id)), detail="run already finished")
    h = open_run(store, run_id, service=service)
    step0 = h.state.step
    before = {j["job_id"]: j["status"] for j in store.jobs(run_id)}
    try:
        out, _ = run_handle(
            store, h, source=JobSource(h.sampler, timeout=timeout), wait=wait, stop_after=None if wait else 1
        )
    except _AlreadyStoredError as exc:
        return Outcome(run_id, "collected", step0, str(exc), "already stored")
    jobs = store.jobs(run_id)
    failed = [
        j
        for j in jobs
        if j["status"] in ("failed", "cancelled") and before.get(j["job_id"]) not in ("failed", "cancelled")
    ]
    new = [j for j in jobs if j["job_id"] not in before]
    if out.status == "finished":
        return Outcome(run_id, "finished", out.state.step, detail=out.message)
    if out.status == "pending":
        job = out.ticket.job_id if out.ticket else None
        resub = [j["job_id"] for j in new if j["step"] == step0]
        if failed:
            reason = (failed[-1]["info"] or {}).get("reason")
            return Outcome(
                run_id,
                "resubmitted",
                step0,
                resub[-1] if resub else job,
                f"job {failed[-1]['job_id']} failed: {reason}",
            )
        if resub:
            return Outcome(run_id, "resubmitted", step0, resub[-1], "no live job on record for this step")
        if out.calls:
            done = [j["job_id"] for j in jobs if j["step"] == step0 and j["status"] == "done"]
            return Outcome(
                run_id,
                "collected",
                step0,
                done[-1] if done else None,
                f"step {step0} stored; next step submitted as {job}",
            )
        return Outcome(run_id, "pending", step0, job, out.message)
    if out.status == "failed":
        return Outcome(run_id, "failed", step0, out.ticket.job_id if out.ticket else None, out.message)
    # interrupted after one collected step (stop_after=1): submit the next one now
    job = new[-1]["job_id"] if new else None
    return Outcome(run_id, "collected", step0, job, out.message)


def run_until_done(
    store: Any,
    run_id: str,
    *,
    service: Any = None,
    poll_interval: float = 10.0,
    on_outcome: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    max_moves: int | None = None,
) -> Outcome:
    """Advance a run until it finishes (waiting ``poll_interval`` between polls of a pending job)."""
    moves = 0
    while True:
        out = advance(store, run_id, service=service)
        moves += 1
        if on_outcome is not None:
            on_outcome(out)
        if out.action in ("finished", "failed") or (max_moves is not None and moves >= max_moves):
            return out
        if out.action == "pending":
            sleep(poll_interval)


def service_for_run(store: Any, run_id: str) -> Any:
    """The (retrying) service a stored hardware run talks to, from its profile."""
    run = store.get_run(run_id)
    name = run["options"]["config"].get("profile")
    if name is None:
        raise QslackError(f"run {run_id} has no hardware profile")
    prof = load_profile(name)
    return RetryingService(LocalFakeService() if prof.kind == "fake" else RuntimeService())


def cancel_job(store: Any, job_id: str, *, service: Any = None) -> None:
    """Cancel a job at the service and record it (`jobs fetch` then resubmits its step)."""
    jobs = [j for j in store.jobs() if j["job_id"] == job_id]
    if not jobs:
        raise QslackError(f"no job {job_id!r} in the store; see `qslack jobs list`")
    if service is None:
        service = service_for_run(store, jobs[0]["run_id"])
    service.cancel(job_id)
    store.update_job(job_id, "cancelled", info={"reason": "cancelled by the user"})
