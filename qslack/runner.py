"""A stored solve: instance -> program -> form -> dual loop, every step committed to the store.

This is the orchestration under ``qslack solve`` (the CLI only parses and
prints).  A run's configuration is stored with it, so ``resume`` rebuilds the
same form, sampler and solver and continues from the last committed step:
the per-step seeds (``SeedSequence([seed, step])``) and the stored warm-start
angles make a resumed run end exactly where an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from qslack.dual.api import DualSolver
from qslack.dual.result import DualIterate, DualResult
from qslack.exceptions import OptionError, QslackError
from qslack.model.lagrangian import LagrangianForm
from qslack.samplers.base import Sampler

__all__ = [
    "MAX_SIM_QUBITS",
    "SAMPLERS",
    "SolveConfig",
    "make_sampler",
    "prepare",
    "resume",
    "run_key",
    "solve",
]

SAMPLERS = ("qaoa", "exact", "cpsat", "random")
MAX_SIM_QUBITS = 24


@dataclass
class SolveConfig:
    """Everything that defines a solve (stored with the run)."""

    instance: str
    method: str = "subgradient"
    take: int | None = None
    encoding: str = "position"
    fmt: str | None = None
    problem: str | None = None
    sampler: str = "qaoa"
    backend: str = "statevector"
    p: int = 2
    shots: int = 1000
    qaoa_maxiter: int = 60
    iters: int = 15
    rho: float = 1.0
    seed: int = 0
    time_limit: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reference_time_limit: float = 30.0
    threads: int | None = None
    profile: str | None = None
    optimize_on: str = "statevector"

    def sampler_config(self) -> dict[str, Any]:
        """The sampler's identity."""
        if self.profile is not None:
            return {
                "sampler": "qaoa",
                "profile": self.profile,
                "p": self.p,
                "shots": self.shots,
                "maxiter": self.qaoa_maxiter,
                "optimize_on": self.optimize_on,
            }
        if self.sampler == "qaoa":
            return {
                "sampler": "qaoa",
                "backend": self.backend,
                "p": self.p,
                "shots": self.shots,
                "maxiter": self.qaoa_maxiter,
                "optimizer": "cobyla",
                "objective": "expectation",
            }
        if self.sampler == "random":
            return {"sampler": "random", "shots": self.shots}
        return {"sampler": self.sampler}


def make_sampler(cfg: SolveConfig, *, service: Any = None) -> Sampler:
    """The sampler a configuration names (a hardware profile, when given, decides the backend).

    ``service`` replaces IBM's service (tests pass a fake one).
    """
    if cfg.profile is not None:
        from qslack.hardware.profiles import load_profile

        prof = load_profile(cfg.profile)
        if prof.kind.startswith("aer"):
            from qslack.samplers.qaoa.sampler import QAOASampler

            return QAOASampler(
                p=cfg.p,
                backend="aer",
                shots=prof.shots,
                maxiter=cfg.qaoa_maxiter,
                aer_method="matrix_product_state" if prof.kind == "aer-mps" else "statevector",
                device="GPU" if prof.kind == "aer-gpu" else "CPU",
            )
        from qslack.samplers.qaoa.backends.ibm import IBMSampler

        return IBMSampler(
            prof, service=service, p=cfg.p, maxiter=cfg.qaoa_maxiter, optimize_on=cfg.optimize_on
        )
    if cfg.sampler == "qaoa":
        from qslack.samplers.qaoa.sampler import QAOASampler

        return QAOASampler(
            p=cfg.p, backend=cfg.backend, shots=cfg.shots, maxiter=cfg.qaoa_maxiter, threads=cfg.threads
        )
    if cfg.sampler == "exact":
        from qslack.samplers.exact import ExactSampler

        return ExactSampler(n_lowest=16)
    if cfg.sampler == "cpsat":
        from qslack.samplers.ortools import CPSATSampler

        return CPSATSampler()
    if cfg.sampler == "random":
        from qslack.samplers.random import RandomSampler

        return RandomSampler(shots=cfg.shots)
    raise OptionError(f"unknown sampler {cfg.sampler!r}; choose from {SAMPLERS}")


def run_key(program_hash: str, cfg: SolveConfig) -> str:
    """Identity of a run: hash of program, method, canonical options, sampler and seed."""
    body = json.dumps(
        {
            "program": program_hash,
            "method": cfg.method,
            "options": cfg.options,
            "rho": cfg.rho,
            "iters": cfg.iters,
            "sampler": cfg.sampler_config(),
            "seed": cfg.seed,
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:24]


@dataclass
class Prepared:
    """What a run needs, built from its configuration."""

    cfg: SolveConfig
    loaded: Any
    program: Any
    form: LagrangianForm
    reference: dict[str, Any]
    optimum: float | None
    certified_bound: float | None
    qubits_slack: int | None
    slack_fits: bool


def prepare(cfg: SolveConfig, *, reference: dict[str, Any] | None = None) -> Prepared:
    """Load, build, compute the OR-Tools reference and the certified bound."""
    from qslack.baselines import reference_optimum, solve_loaded
    from qslack.model.slack import slack_summary
    from qslack.problems.catalog import build_program, load_instance

    loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
    program = build_program(loaded, encoding=cfg.encoding)
    form = LagrangianForm(program)
    if reference is None:
        try:
            res = solve_loaded(loaded, time_limit=cfg.reference_time_limit)
            reference = {
                "objective": res.objective,
                "optimal": res.optimal,
                "bound": res.bound,
                "solver": res.solver,
                "wall_s": res.wall_s,
            }
        except QslackError as exc:
            reference = {"error": str(exc)}
    opt = reference_optimum(loaded, reference)  # the instance's known optimum first, then OR-Tools
    optimum, reference = opt.for_gaps, {**reference, "optimum_source": opt.source}
    certified = None
    if loaded.problem == "mdkp":
        from qslack.baselines.ortools import lp_relaxation_mdkp

        inst = loaded.instance
        certified = float(lp_relaxation_mdkp(inst.profits, inst.weights, inst.capacities)[0])
    sl = slack_summary(program)
    return Prepared(
        cfg,
        loaded,
        program,
        form,
        reference,
        optimum,
        certified,
        sl["qubits_slack"],
        sl["qubits_slack"] <= MAX_SIM_QUBITS,
    )


def new_solver(prep: Prepared, sampler: Sampler) -> DualSolver:
    """A fresh dual solver for a prepared run."""
    from qslack.dual.api import default_multipliers

    cfg = prep.cfg
    _, rho0 = default_multipliers(prep.form, rho=prep.cfg.rho)
    return DualSolver(
        prep.form,
        method=cfg.method,
        rho0=rho0,
        options=cfg.options,
        seed=cfg.seed,
        optimum=prep.optimum,
        certified_bound=prep.certified_bound,
        exact_oracle=bool(sampler.properties.get("exact", False)),
    )


Callback = Callable[[DualIterate, DualSolver], None]


def _loop(
    store: Any,
    run_id: str,
    prep: Prepared,
    solver: DualSolver,
    sampler: Sampler,
    callback: Callback | None,
    t_start: float,
    stop_after: int | None = None,
) -> DualResult:
    cfg = prep.cfg
    calls = 0
    status, message = "finished", f"reached {cfg.iters} steps"
    try:
        while solver.step < cfg.iters:
            if stop_after is not None and calls >= stop_after:
                status, message = "interrupted", f"stopped after {calls} steps on request"
                break
            ask = solver.ask()
            ts = time.perf_counter()
            kw: dict[str, Any] = {}
            if ask.init is not None and "init" in sampler.parameters:
                kw["init"] = ask.init
            ss = sampler.sample(ask.qubo, seed=ask.seed, **kw)
            calls += 1
            it = solver.tell(ss, wall_s=time.perf_counter() - ts)
            with store.transaction():
                store.add_step(run_id, it.step, it.to_dict())
                store.save_state(run_id, solver.state_dict())
            if callback is not None:
                callback(it, solver)
            if solver.method.converged():
                status, message = "finished", solver.method.converged_message()
                break
            if cfg.time_limit is not None and time.perf_counter() - t_start >= cfg.time_limit:
                status, message = "finished", f"time limit {cfg.time_limit:g} s reached"
                break
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
    return finish(store, run_id, prep, solver, status, message, time.perf_counter() - t_start, calls)


def finish(
    store: Any,
    run_id: str,
    prep: Prepared,
    solver: DualSolver,
    status: str,
    message: str,
    wall_s: float,
    calls: int,
) -> DualResult:
    """Store the best solutions and the run's summary; return the result."""
    result = solver.result(status, message, wall_s, calls)
    summary = result_summary(result, prep)
    if result.best_x is not None:
        store.add_solution(run_id, "raw", result.best_x.tolist(), result.best_objective, True, solver.step)
    if result.best_x_repaired is not None:
        store.add_solution(
            run_id,
            "repaired",
            result.best_x_repaired.tolist(),
            result.best_objective_repaired,
            True,
            solver.step,
        )
    store.finish_run(run_id, status, summary)
    return result


def result_summary(result: DualResult, prep: Prepared) -> dict[str, Any]:
    """The JSON summary of a run (what ``--json`` prints, without the run id)."""
    return {
        "instance": prep.loaded.name,
        "method": prep.cfg.method,
        "sampler": prep.cfg.sampler,
        "status": result.status,
        "message": result.message,
        "best_objective": result.best_objective,
        "best_objective_repaired": result.best_objective_repaired,
        "feasible": result.feasible,
        "gap": result.gap,
        "gap_repaired": result.gap_repaired,
        "p_feasible": result.p_feasible,
        "dual_bound": result.dual_bound,
        "dual_bound_certified": result.dual_bound_certified,
        "n_iterations": result.nit,
        "qubits_slack_free": prep.program.n_vars,
        "qubits_slack": prep.qubits_slack,
        "optimum": prep.optimum,
        "reference": prep.reference,
        "wall_s": result.wall_s,
        "lam": result.lam.tolist(),
        "profile": prep.cfg.profile,
        "isa": result.history[-1].sampler_info.get("isa") if result.history else None,
    }


def solve(
    cfg: SolveConfig,
    store: Any,
    *,
    callback: Callback | None = None,
    stop_after: int | None = None,
    service: Any = None,
) -> tuple[str, DualResult | None, Prepared]:
    """Start a stored solve; returns ``(run_id, result, prepared)``.

    A slack-penalty run whose QUBO does not fit the simulator is recorded as
    ``does-not-fit`` with its qubit count, and returns ``result=None``.
    """
    t0 = time.perf_counter()
    prep = prepare(cfg)
    sampler = make_sampler(cfg, service=service)
    extra = {"profile": sampler.profile.to_dict()} if hasattr(sampler, "profile") else None
    run_id = create_run(store, prep, extra_provenance=extra)
    if cfg.method == "slack-penalty" and not prep.slack_fits and cfg.sampler in ("qaoa", "exact"):
        msg = f"does not fit: {prep.qubits_slack} qubits (limit {MAX_SIM_QUBITS})"
        store.finish_run(
            run_id,
            "does-not-fit",
            {"message": msg, "qubits_slack": prep.qubits_slack, "qubits_slack_free": prep.program.n_vars},
        )
        return run_id, None, prep
    solver = new_solver(prep, sampler)
    store.save_state(run_id, solver.state_dict())
    return run_id, _loop(store, run_id, prep, solver, sampler, callback, t0, stop_after), prep


def create_run(store: Any, prep: Prepared, *, extra_provenance: dict[str, Any] | None = None) -> str:
    """Record a new run (configuration, reference, provenance) and return its id."""
    from qslack.store.provenance import provenance

    cfg = prep.cfg
    n_qubits = prep.qubits_slack if cfg.method == "slack-penalty" else prep.program.n_vars
    return store.create_run(
        run_key=run_key(prep.program.fingerprint(), cfg),
        instance=prep.loaded.describe(),
        program_hash=prep.program.fingerprint(),
        n_qubits=int(n_qubits),
        qubits_slack=prep.qubits_slack,
        known_optimum=prep.optimum,
        reference=prep.reference,
        method=cfg.method,
        sampler=cfg.sampler_config(),
        options={"config": asdict(cfg)},
        seed=cfg.seed,
        provenance=provenance(extra_provenance),
    )


def resume(
    run_id: str, store: Any, *, callback: Callback | None = None, service: Any = None
) -> tuple[str, DualResult, Prepared]:
    """Continue an interrupted run from its last committed step."""
    run = store.get_run(run_id)
    run_id = run["run_id"]
    cfg = SolveConfig(**run["options"]["config"])
    state = store.load_state(run_id)
    if state is None:
        raise QslackError(f"run {run_id} has no stored solver state to resume from")
    if run["status"] == "finished":
        raise QslackError(f"run {run_id} already finished; nothing to resume")
    t0 = time.perf_counter()
    prep = prepare(cfg, reference=run.get("reference"))
    sampler = make_sampler(cfg, service=service)
    solver = new_solver(prep, sampler)
    solver.load_state(state)
    store.set_status(run_id, "running", "resumed")
    return run_id, _loop(store, run_id, prep, solver, sampler, callback, t0), prep
