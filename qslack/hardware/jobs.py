"""Hardware runs that outlive the process: ask, submit, store, return; later fetch, tell, submit next.

The dual solver's ask/tell shape makes this possible: the state stored after
every step is enough to rebuild the QUBO of the step in flight, so results can
arrive hours later in another process.

- :func:`submit_run` starts a stored run whose sampling steps go to a backend:
  it asks, submits, and writes the job id and the solver state into the store
  **before** anything waits.
- :func:`advance` looks at a run's job in flight: a finished job is collected,
  told to the solver and committed (job result, step, state in one
  transaction), then the next step is submitted; a failed or cancelled job is
  recorded with its reason and its step is submitted again; a pending job is
  left alone.  Fetching twice stores once: a job already marked done is skipped.
- A step with no job on record (the process died between the service
  accepting the job and the store writing its id) is submitted again.

Every call to IBM's service goes through :mod:`qslack.hardware.service`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qslack.exceptions import QslackError

__all__ = ["PENDING", "Outcome", "advance", "cancel_job", "run_until_done", "service_for_run", "submit_run"]

PENDING = ("submitted", "QUEUED", "RUNNING")


@dataclass
class Outcome:
    """What :func:`advance` did."""

    run_id: str
    action: str  # "collected", "pending", "resubmitted", "finished", "submitted"
    step: int
    job_id: str | None = None
    detail: str = ""


def _rebuild(store: Any, run_id: str, service: Any = None):  # type: ignore[no-untyped-def]
    from qslack import runner

    run = store.get_run(run_id)
    cfg = runner.SolveConfig(**run["options"]["config"])
    prep = runner.prepare(cfg, reference=run.get("reference"))
    sampler = runner.make_sampler(cfg, service=service)
    solver = runner.new_solver(prep, sampler)
    state = store.load_state(run["run_id"])
    if state is None:
        raise QslackError(f"run {run_id} has no stored solver state")
    solver.load_state(state)
    return run, cfg, prep, sampler, solver


def _submit_step(store: Any, run_id: str, solver: Any, sampler: Any) -> str:
    ask = solver.ask()
    job_id, meta = sampler.submit(ask.qubo, ask.init, seed=ask.seed)
    with store.transaction():
        store.add_job(run_id, ask.step, job_id, sampler.profile.backend, "submitted", info={"meta": meta})
        store.save_state(run_id, solver.state_dict())
    return job_id


def submit_run(cfg: Any, store: Any, *, service: Any = None) -> tuple[str, str]:
    """Create a hardware run and submit its first step: ``(run_id, job_id)``."""
    from qslack import runner

    if cfg.profile is None:
        raise QslackError("a hardware run needs a profile (--profile NAME)")
    prep = runner.prepare(cfg)
    sampler = runner.make_sampler(cfg, service=service)
    if not hasattr(sampler, "submit"):
        raise QslackError(f"profile {cfg.profile!r} runs locally; use `qslack solve --profile {cfg.profile}`")
    run_id = runner.create_run(store, prep, extra_provenance={"profile": sampler.profile.to_dict()})
    solver = runner.new_solver(prep, sampler)
    store.save_state(run_id, solver.state_dict())
    return run_id, _submit_step(store, run_id, solver, sampler)


def _current_job(store: Any, run_id: str, step: int) -> dict[str, Any] | None:
    jobs = [j for j in store.jobs(run_id) if j["step"] == step]
    live = [j for j in jobs if j["status"] not in ("failed", "cancelled")]
    return live[-1] if live else None


def advance(
    store: Any,
    run_id: str,
    *,
    service: Any = None,
    wait: bool = False,
    submit_next: bool = True,
    timeout: float | None = None,
) -> Outcome:
    """One move of a hardware run: collect the job in flight (if done) and submit the next step."""
    from qslack.hardware.service import JobFailedError, JobPendingError

    run, cfg, prep, sampler, solver = _rebuild(store, run_id, service)
    run_id = run["run_id"]
    if run["status"] == "finished":
        return Outcome(run_id, "finished", solver.step, detail="run already finished")
    step = solver.step
    job = _current_job(store, run_id, step)
    if job is None:
        if step >= cfg.iters:
            return _finish(store, run_id, prep, solver)
        job_id = _submit_step(store, run_id, solver, sampler)
        return Outcome(run_id, "resubmitted", step, job_id, "no live job on record for this step")
    job_id = job["job_id"]
    if job["status"] == "done":  # fetched before: results are stored once
        return Outcome(run_id, "collected", step, job_id, "already stored")
    ask = solver.ask()
    try:
        ss = sampler.collect(job_id, ask.qubo, job["info"]["meta"], wait=wait, timeout=timeout)
    except JobPendingError as exc:
        store.update_job(job_id, getattr(exc, "status", "QUEUED"))
        return Outcome(run_id, "pending", step, job_id, str(exc))
    except JobFailedError as exc:
        store.update_job(job_id, "failed", info={"reason": str(exc)})
        if submit_next:
            new = _submit_step(store, run_id, solver, sampler)
            return Outcome(run_id, "resubmitted", step, new, f"job {job_id} failed: {exc}")
        return Outcome(run_id, "failed", step, job_id, str(exc))
    from qslack.model.bits import X_to_index

    it = solver.tell(ss)
    counts = {str(int(i)): int(c) for i, c in zip(X_to_index(ss.X), ss.counts, strict=True)}
    with store.transaction():
        # another fetch may have collected this job meanwhile: results are stored once
        if any(j["job_id"] == job_id and j["status"] == "done" for j in store.jobs(run_id)):
            return Outcome(run_id, "collected", step, job_id, "already stored")
        store.update_job(job_id, "done", result={"counts": counts, "n_shots": ss.n_shots})
        store.add_step(run_id, it.step, it.to_dict())
        store.save_state(run_id, solver.state_dict())
    if solver.step >= cfg.iters:
        _finish(store, run_id, prep, solver)
        return Outcome(run_id, "finished", it.step, job_id, "last step collected")
    if submit_next:
        new = _submit_step(store, run_id, solver, sampler)
        return Outcome(run_id, "collected", it.step, job_id, f"next step submitted as {new}")
    return Outcome(run_id, "collected", it.step, job_id)


def _finish(store: Any, run_id: str, prep: Any, solver: Any) -> Outcome:
    from qslack import runner

    runner.finish(
        store, run_id, prep, solver, "finished", f"reached {prep.cfg.iters} steps", 0.0, solver.step
    )
    return Outcome(run_id, "finished", solver.step)


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
    """Advance a run until it finishes (waiting between polls)."""
    moves = 0
    while True:
        out = advance(store, run_id, service=service)
        moves += 1
        if on_outcome is not None:
            on_outcome(out)
        if out.action == "finished" or (max_moves is not None and moves >= max_moves):
            return out
        if out.action == "pending":
            sleep(poll_interval)


def service_for_run(store: Any, run_id: str) -> Any:
    """The (retrying) service a stored hardware run talks to, from its profile."""
    from qslack.hardware.profiles import load_profile
    from qslack.hardware.service import LocalFakeService, RetryingService, RuntimeService

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
