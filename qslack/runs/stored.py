"""Stored runs: a configuration becomes a run in the store, driven step by step, resumable.

This is the orchestration under ``qslack solve`` (the CLI only parses and
prints).  A run's lifecycle:

- everything is validated first (options, method, instance, that the QUBO
  fits the sampler): a bad option never leaves a run behind;
- ``running`` with the process's pid, host and heartbeat, while steps are
  committed one by one (step record and state after it in one transaction);
- ended as ``finished``, ``interrupted`` (Ctrl-C: resumable), ``failed``
  (with the error's message: resumable from its last step) or
  ``does-not-fit`` (the QUBO is too large for the sampler, said in words).

A run whose process is gone while it says ``running`` is *stale*
(:meth:`qslack.store.Store.is_stale`); ``resume`` takes it over.  The per-step
seeds and the stored state make a resumed run end exactly where an
uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qslack.dual import DualIterate, DualResult, DualState, default_multipliers, init_state, result
from qslack.exceptions import QslackError, ResourceError, ValidationError
from qslack.model.qubo import coefficient_stats
from qslack.problems.catalog import resolve_spec
from qslack.runs.config import SolveConfig, make_sampler, run_key
from qslack.runs.driver import Outcome, SamplerSource, SampleSource, Sink, Ticket, drive
from qslack.runs.prepare import Prepared, prepare
from qslack.samplers.base import Sampler
from qslack.store.provenance import provenance

__all__ = [
    "Callback",
    "RunHandle",
    "StoreSink",
    "create_run",
    "does_not_fit",
    "finish",
    "mark_interrupted",
    "open_run",
    "result_summary",
    "resume",
    "solve",
]

Callback = Callable[[DualIterate, DualState], Any]


class StoreSink(Sink):
    """Commits every step (record + state) to the store in one transaction; keeps the run's heartbeat."""

    def __init__(self, store: Any, run_id: str, owner: str | None = None, lease_ttl: float = 600.0) -> None:
        self.store, self.run_id = store, run_id
        self.owner, self.lease_ttl = owner, lease_ttl
        self.history: list[DualIterate] = []

    def ticket_for(self, step: int) -> Ticket | None:
        jobs = [j for j in self.store.jobs(self.run_id) if j["step"] == step]
        live = [j for j in jobs if j["status"] not in ("failed", "cancelled")]
        if not live:
            return None
        j = live[-1]
        return Ticket(step, job_id=j["job_id"], meta=(j["info"] or {}).get("meta", {}), status=j["status"])

    def record_ticket(self, ticket: Ticket, state: DualState) -> None:
        with self.store.transaction():
            self.store.add_job(
                self.run_id,
                ticket.step,
                ticket.job_id,
                ticket.meta.get("backend", "?"),
                "submitted",
                info={"meta": ticket.meta},
            )
            self.store.save_state(self.run_id, state.to_dict())

    def record_failure(self, ticket: Ticket, error: Any) -> None:
        if ticket.job_id is not None:
            self.store.update_job(ticket.job_id, error.status, info={"reason": str(error)})

    def record_pending(self, ticket: Ticket, error: Any) -> None:
        if ticket.job_id is not None:
            self.store.update_job(ticket.job_id, error.status)

    def record_step(self, state: DualState, iterate: DualIterate, ticket: Ticket) -> None:
        with self.store.transaction():
            if ticket.job_id is not None:
                done = [j for j in self.store.jobs(self.run_id) if j["job_id"] == ticket.job_id]
                if done and done[0]["status"] == "done":
                    raise _AlreadyStoredError(ticket.job_id)
                self.store.update_job(ticket.job_id, "done", result=ticket.result)
            self.store.add_step(self.run_id, iterate.step, iterate.to_dict())
            self.store.save_state(self.run_id, state.to_dict())
        self.history.append(iterate)
        if self.owner is not None:
            self.store.claim(self.run_id, self.owner, ttl=self.lease_ttl)
        else:
            self.store.heartbeat(self.run_id)


class _AlreadyStoredError(QslackError):
    """Another process stored this job's step first."""


@dataclass
class RunHandle:
    """A stored run ready to drive: its id, what it needs, its sampler and state."""

    run_id: str
    prep: Prepared
    sampler: Sampler
    state: DualState
    history: list[DualIterate]


def does_not_fit(prep: Prepared, sampler: Sampler) -> str | None:
    """Why the QUBO of this run cannot be sampled here (in words), or None when it fits."""
    n = prep.n_qubits()
    try:
        sampler.check_fits(n)
    except ResourceError as exc:
        return f"does not fit: {exc}"
    return None


def create_run(store: Any, prep: Prepared, sampler: Sampler) -> str:
    """Record a new run (configuration, what the sampler runs, reference, provenance); its id."""
    cfg = prep.cfg
    extra = {"profile": sampler.profile.to_dict()} if hasattr(sampler, "profile") else None
    sampler_cfg = sampler.config()
    return store.create_run(
        run_key=run_key(prep.program.fingerprint(), cfg, sampler_cfg),
        instance={**prep.loaded.describe(), "resolved": prep.loaded.source},
        program_hash=prep.program.fingerprint(),
        n_qubits=int(prep.n_qubits()),
        qubits_slack=prep.qubits_slack,
        known_optimum=prep.optimum,
        reference=prep.reference,
        method=cfg.method,
        sampler=sampler_cfg,
        options={"config": cfg.to_dict(), "optimum_source": prep.optimum_source},
        seed=cfg.seed,
        provenance=provenance(extra),
    )


def start(cfg: SolveConfig, store: Any, *, service: Any = None) -> RunHandle | tuple[str, str]:
    """Validate everything, then record the run: a :class:`RunHandle`, or ``(run_id, message)``
    of a run recorded as ``does-not-fit``."""
    cfg.validate()
    # a relative path is stored absolute, so the run resumes from any folder
    cfg = dataclasses.replace(cfg, instance=resolve_spec(cfg.instance, fmt=cfg.fmt))
    prep = prepare(cfg)
    sampler = make_sampler(cfg, service=service)
    problem = prep.problem()
    state = init_state(problem, cfg.method, rho0=_rho0(prep), options=cfg.options, seed=cfg.seed)
    why = does_not_fit(prep, sampler)
    run_id = create_run(store, prep, sampler)
    if why is not None:
        store.finish_run(
            run_id,
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
        return run_id, why
    store.save_state(run_id, state.to_dict())
    return RunHandle(run_id, prep, sampler, state, [])


def _rho0(prep: Prepared) -> Any:
    return default_multipliers(prep.form, rho=prep.cfg.rho)[1]


def open_run(store: Any, run_id: str, *, service: Any = None, iters: int | None = None) -> RunHandle:
    """Rebuild a stored run from its configuration and last state (checked against the program)."""
    run = store.get_run(run_id)
    run_id = run["run_id"]
    if run["status"] in ("finished", "does-not-fit"):
        raise QslackError(f"run {run_id} is {run['status']}; nothing to resume")
    cfg = SolveConfig.from_dict(run["options"]["config"])
    if iters is not None:
        done = len(store.steps(run_id))
        if iters <= done:
            raise ValidationError(f"--iters {iters} is not more than the {done} steps run {run_id} has done")
        cfg.iters = int(iters)
    saved = store.load_state(run_id)
    if saved is None:
        raise QslackError(
            f"run {run_id} has no stored solver state (it stopped before its first step); start it again"
        )
    prep = prepare(cfg, reference=run.get("reference"))
    if prep.program.fingerprint() != run["program_hash"]:
        raise QslackError(
            f"run {run_id} was made on another program (hash {run['program_hash'][:12]}, now "
            f"{prep.program.fingerprint()[:12]}): the instance file {cfg.instance!r} changed"
        )
    sampler = make_sampler(cfg, service=service)
    state = DualState.from_dict(saved)
    history = [DualIterate(**s["record"]) for s in store.steps(run_id)]
    return RunHandle(run_id, prep, sampler, state, history)


def mark_interrupted(store: Any, run_id: str) -> None:
    """After Ctrl-C: a run still ``running`` becomes ``interrupted`` (resumable) and its lease is
    given back, whoever in this process held it."""
    run = store.get_run(run_id)
    if run["status"] == "running":
        store.set_status(run_id, "interrupted", "interrupted by the user")
    if run.get("lease_owner"):
        store.release(run_id, run["lease_owner"])


def run_handle(
    store: Any,
    h: RunHandle,
    *,
    source: SampleSource | None = None,
    callback: Callback | None = None,
    time_limit: float | None = None,
    stop_after: int | None = None,
    wait: bool = True,
    owner: str | None = None,
) -> tuple[Outcome, DualResult | None]:
    """Drive a stored run; store its end (unless it is only pending); ``(outcome, result or None)``."""
    owner = owner or f"{uuid.uuid4().hex[:8]}"
    if not store.claim(h.run_id, owner):
        run = store.get_run(h.run_id)
        if run["status"] == "running" and not store.is_stale(run):
            raise QslackError(f"run {h.run_id} is being run by another process (its lease is live)")
        store.claim(h.run_id, owner, steal=True)  # its holder is gone
    store.set_status(h.run_id, "running", "running")
    sink = StoreSink(store, h.run_id, owner=owner)
    src = source or SamplerSource(h.sampler)
    t0 = time.perf_counter()
    try:
        out = drive(
            h.state,
            h.prep.problem(),
            src,
            sink,
            iters=h.prep.cfg.iters,
            time_limit=time_limit if time_limit is not None else h.prep.cfg.time_limit,
            callback=callback,
            stop_after=stop_after,
            wait=wait,
        )
    except _AlreadyStoredError:
        store.release(h.run_id, owner)
        raise
    except KeyboardInterrupt:
        mark_interrupted(store, h.run_id)
        raise
    except BaseException as exc:
        msg = str(exc) or type(exc).__name__
        store.set_status(h.run_id, "failed", f"{type(exc).__name__}: {msg}")
        store.release(h.run_id, owner)
        raise
    history = [*h.history, *out.history]
    if out.status in ("pending",):
        store.release(h.run_id, owner)
        return out, None
    res = finish(store, h.run_id, h.prep, out, history, out.status, time.perf_counter() - t0)
    store.release(h.run_id, owner)
    return out, res


def finish(
    store: Any,
    run_id: str,
    prep: Prepared,
    out: Outcome,
    history: list[DualIterate],
    status: str,
    wall_s: float,
) -> DualResult:
    """Store the best solutions and the run's summary; the result."""
    res = result(
        out.state,
        prep.problem(),
        history,
        status=status,
        reason=out.reason,
        message=out.message,
        wall_s=sum(h.wall_s for h in history),
        sampler_calls=len(history),
    )
    summary = result_summary(res, prep)
    summary["solve_wall_s"] = wall_s
    summary["qubo_stats"] = _last_qubo_stats(prep, out.state, history)
    st = out.state
    if st.best.x is not None:
        store.add_solution(run_id, "raw", st.best.x.tolist(), res.best_objective, True, st.best.step)
    if st.best_repaired.x is not None:
        store.add_solution(
            run_id,
            "repaired",
            st.best_repaired.x.tolist(),
            res.best_objective_repaired,
            True,
            st.best_repaired.step,
        )
    store.finish_run(run_id, status, summary, message=out.message)
    return res


def _last_qubo_stats(prep: Prepared, state: DualState, history: list[DualIterate]) -> dict[str, Any] | None:
    """Size and coefficients of the last QUBO the run sampled (for exports such as QOBLIB's)."""
    if not history:
        return None
    if prep.cfg.method == "slack-penalty":
        return coefficient_stats(prep.problem().slack.qubo)
    last = history[-1]
    form = prep.problem().form_for(state.rows)
    if len(last.lam) != form.n_cons:  # rows were added at the last step
        form = prep.problem().form_for(state.rows[: len(last.lam) - prep.form.n_cons])
    return coefficient_stats(form.qubo(last.lam, last.rho))


def result_summary(res: DualResult, prep: Prepared) -> dict[str, Any]:
    """The JSON summary of a run (what ``--json`` prints, without the run id)."""
    last = res.history[-1] if res.history else None
    return {
        "schema_version": SUMMARY_SCHEMA,
        "instance": prep.loaded.name,
        "method": prep.cfg.method,
        "sampler": prep.cfg.sampler if prep.cfg.profile is None else "qaoa",
        "profile": prep.cfg.profile,
        "status": res.status,
        "reason": res.reason,
        "message": res.message,
        "best_objective": res.best_objective,
        "best_objective_repaired": res.best_objective_repaired,
        "feasible": res.feasible,
        "gap": res.gap,
        "gap_repaired": res.gap_repaired,
        "p_feasible": res.p_feasible,
        "p_optimal": res.p_optimal,
        "estimated_from_shots": None if last is None else last.estimated_from_shots,
        "approx_ratio": None if last is None else last.approx_ratio,
        "approx_ratio_feasible": None if last is None else last.approx_ratio_feasible,
        "tts99_shots": None if last is None else last.tts99_shots,
        "ground_rank": None if last is None else last.ground_rank,
        "ground_margin": None if last is None else last.ground_margin,
        "dual_bound": res.dual_bound,
        "dual_estimate": res.dual_estimate,
        "steps": res.steps,
        "sampler_calls": res.sampler_calls,
        "circuit_evals": res.circuit_evals,
        "shots_total": res.shots_total,
        "qubits_slack_free": prep.program.n_vars,
        "qubits_slack": prep.qubits_slack,
        "optimum": prep.optimum,
        "optimum_source": prep.optimum_source,
        "reference": prep.reference,
        "wall_s": res.wall_s,
        "reference_wall_s": (prep.reference or {}).get("wall_s"),
        "lam": res.lam.tolist(),
        "isa": last.sampler_info.get("isa") if last is not None else None,
    }


SUMMARY_SCHEMA = 2
"""Version of the run summary's JSON keys (1: qslack 0.1 — ``dual_bound`` could be an estimate,
``n_iterations``; 2: ``dual_bound`` certified or null, ``dual_estimate``, ``steps``, the state metrics
and the counted budget)."""


def solve(
    cfg: SolveConfig,
    store: Any,
    *,
    callback: Callback | None = None,
    stop_after: int | None = None,
    service: Any = None,
) -> tuple[str, DualResult | None, Prepared | None]:
    """Start and drive a stored solve; ``(run_id, result, prepared)``.

    A run whose QUBO does not fit the sampler is recorded as ``does-not-fit``
    (with the reason in words) and returns ``result=None``.
    """
    h = start(cfg, store, service=service)
    if not isinstance(h, RunHandle):
        return h[0], None, None
    _, res = run_handle(store, h, callback=callback, stop_after=stop_after)
    return h.run_id, res, h.prep


def resume(
    run_id: str,
    store: Any,
    *,
    callback: Callback | None = None,
    service: Any = None,
    iters: int | None = None,
    time_limit: float | None = None,
) -> tuple[str, DualResult | None, Prepared]:
    """Continue an interrupted, failed or stale run from its last committed step."""
    h = open_run(store, run_id, service=service, iters=iters)
    run = store.get_run(h.run_id)
    if run["status"] == "running" and not store.is_stale(run):
        raise QslackError(
            f"run {h.run_id} is running in process {run.get('pid')} on {run.get('host')}; "
            "wait for it, or stop it first"
        )
    if iters is not None:
        cfg = run["options"]["config"]
        cfg["iters"] = int(iters)
        store.update_config(h.run_id, cfg)
    _, res = run_handle(store, h, callback=callback, time_limit=time_limit)
    return h.run_id, res, h.prep
