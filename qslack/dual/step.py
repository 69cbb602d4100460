"""The dual loop's one pure step: ``step(state, sampleset, problem) -> (state, iterate)``.

- :func:`init_state` makes the first :class:`~qslack.dual.state.DualState` of a method;
- :func:`ask` says what to sample next (the QUBO of the current ``lam, rho``,
  the warm-start parameters and the step's seed);
- :func:`step` takes the samples of that QUBO: it evaluates every sample on
  the program, adds the rows the samples show missing (lazy rows, through the
  problem's hooks), keeps the best feasible raw sample and, separately, the
  best repaired one, adds the cut ``lam' -> f(x) + sum rho/2 g(x)^2 + lam' . g(x)``
  of the lowest-energy sample, measures the final state
  (:mod:`qslack.dual.metrics`) and lets the method choose the next
  multipliers.  It returns a new state; nothing is mutated.

Who drives the loop (and stores what it does) is :mod:`qslack.runs`.

On inequality rows with ``rho > 0`` the update is a feedback rule judged by
primal results (feasible probability, gap), not a dual guarantee: the
quadratic term does not vanish on feasible points with slack (see the design).

Examples
--------
>>> from qslack.model.lagrangian import LagrangianForm
>>> from qslack.problems import hooks_for
>>> from qslack.problems.catalog import build_program, load_instance
>>> from qslack.samplers.exact import ExactSampler
>>> problem = DualProblem(LagrangianForm(build_program(load_instance("mknap1#1"))), hooks=hooks_for("mdkp"))
>>> state = init_state(problem, "subgradient", rho0=0.0, seed=0)
>>> for _ in range(3):
...     req = ask(state, problem)
...     state, it = step(state, ExactSampler().sample(req.qubo, seed=req.seed), problem)
>>> state.step, it.dual_value_exact
(3, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qslack._rng import step_seed
from qslack.dual.methods import MethodContext, Observation, get_method
from qslack.dual.metrics import MAX_RANK_VARS, state_metrics
from qslack.dual.problem import DualProblem, default_multipliers
from qslack.dual.result import DualIterate, DualResult, gap
from qslack.dual.state import Cut, DualState, Incumbent
from qslack.exceptions import ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import SampleSet

__all__ = ["Request", "ask", "init_state", "result", "step"]

#: How many of the lowest-energy distinct samples are repaired each step.
N_REPAIR = 32


@dataclass(frozen=True, eq=False)
class Request:
    """What the loop wants sampled next."""

    step: int
    qubo: QUBO
    lam: np.ndarray
    rho: np.ndarray
    init: Any
    seed: int
    incumbent: np.ndarray | None = None
    """The best feasible solution known (raw or repaired), program variables; None before one."""


def _ctx(state: DualState, problem: DualProblem) -> MethodContext:
    return MethodContext(problem.form_for(state.rows))


def init_state(
    problem: DualProblem,
    method: str = "subgradient",
    *,
    lam0: Any = None,
    rho0: Any = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
) -> DualState:
    """The state before the first step: start multipliers, resolved method options.

    ``lam0`` / ``rho0`` default to :func:`~qslack.dual.problem.default_multipliers`;
    unknown methods or options raise :class:`~qslack.exceptions.OptionError`.
    """
    form = problem.form
    meth = get_method(method)
    d_lam, d_rho = default_multipliers(form)
    lam = form.project(d_lam if lam0 is None else form._vec(lam0, "lam"))
    rho = form._vec(d_rho if rho0 is None else rho0, "rho")  # rows the ansatz enforces: 0
    opts, ms = meth.init(MethodContext(form), dict(options or {}), lam, rho)
    if meth.start is not None:
        lam, rho = meth.start(MethodContext(form), opts, lam, rho)
        lam, rho = form.project(lam), form._vec(rho, "rho")
    return DualState(method=method, seed=int(seed), lam=lam, rho=rho, options=opts, method_state=ms)


def ask(state: DualState, problem: DualProblem) -> Request:
    """The next QUBO to sample, with its multipliers, warm-start parameters and seed."""
    if get_method(state.method).slack_qubo:
        qubo = problem.slack.qubo
    else:
        qubo = problem.form_for(state.rows).qubo(state.lam, state.rho)
    return Request(
        step=state.step,
        qubo=qubo,
        lam=np.array(state.lam),
        rho=np.array(state.rho),
        init=state.params,
        seed=step_seed(state.seed, state.step),
        incumbent=state.incumbent,
    )


def _program_columns(ss: SampleSet, names: tuple[str, ...]) -> np.ndarray:
    if ss.var_names[: len(names)] == names:
        return ss.X[:, : len(names)]
    pos = {v: j for j, v in enumerate(ss.var_names)}
    return ss.X[:, [pos[v] for v in names]]


def _add_lazy_rows(state: DualState, problem: DualProblem, X: np.ndarray) -> tuple[DualState, int]:
    """Rows the samples show missing join the state: multipliers 0, rho 0, the cut model restarts."""
    form = problem.form_for(state.rows)
    new = problem.hooks.separate(form.program, X)
    if not new:
        return state, 0
    k = len(new)
    state = state.replace(
        rows=(*state.rows, *new),
        lam=np.concatenate([state.lam, np.zeros(k)]),
        rho=np.concatenate([state.rho, np.zeros(k)]),
        cuts=(),
    )
    ms = get_method(state.method).extend(state, _ctx(state, problem), k)
    return state.replace(method_state=ms), k


def step(
    state: DualState, ss: SampleSet, problem: DualProblem, *, wall_s: float | None = None
) -> tuple[DualState, DualIterate]:
    """Take the samples of the QUBO :func:`ask` gave for ``state``; the next state and this step's record."""
    if len(ss) == 0:
        raise ValidationError("step() got an empty SampleSet")
    meth = get_method(state.method)
    X = _program_columns(ss, problem.program.var_names)
    rows_added = 0
    if not meth.slack_qubo:
        state, rows_added = _add_lazy_rows(state, problem, X)
    form = problem.form_for(state.rows)
    prog = form.program
    obj = prog.objective(X)
    viol = prog.max_violation(X)
    feasible = viol <= 1e-9
    updates: dict[str, Any] = {}

    # best raw feasible sample
    step_best = None
    if feasible.any():
        k = int(np.argmin(np.where(feasible, obj, np.inf)))
        step_best = float(obj[k])
        if state.best.better(float(obj[k])):
            updates["best"] = Incumbent(X[k], float(obj[k]), state.step)
    # best after repair (lowest-energy rows first; repair is per sample)
    order = np.argsort(ss.energy, kind="stable")[: min(len(ss), N_REPAIR)]
    Xr = problem.hooks.repair(prog, X[order])
    feas_r = prog.is_feasible(Xr)
    if feas_r.any():
        objr = np.where(feas_r, prog.objective(Xr), np.inf)
        k = int(np.argmin(objr))
        if state.best_repaired.better(float(objr[k])):
            updates["best_repaired"] = Incumbent(Xr[k], float(objr[k]), state.step)

    # lowest-energy sample: cut, dual value, subgradient
    i0 = int(np.argmin(ss.energy))
    x_hat = X[i0]
    g_hat = form.residuals(x_hat[None, :])[0]
    f_hat = float(prog.objective(x_hat[None, :])[0])
    exact = False
    if not meth.slack_qubo:
        energy = float(form.energy(x_hat[None, :], state.lam, state.rho)[0])
        intercept = f_hat + float(0.5 * state.rho @ (g_hat * g_hat))
        exact = bool(ss.exact)
        updates["cuts"] = (*state.cuts, Cut(intercept, g_hat, exact))
        if exact and form.bound_is_valid(state.rho):
            updates["dual_bound"] = energy if state.dual_bound is None else max(state.dual_bound, energy)
        updates["dual_estimate"] = energy if state.dual_estimate is None else max(state.dual_estimate, energy)
    else:
        energy = float(ss.energy[i0])
    state = state.replace(**updates)

    # what the final state is worth
    w = ss.counts / max(ss.n_shots, 1)
    opt_internal = problem.internal(problem.optimum)
    use_cache = form.use_cache and ss.probabilities is not None
    energy_diag = None
    if use_cache and not meth.slack_qubo and form.n_vars <= MAX_RANK_VARS and opt_internal is not None:
        energy_diag = form.diagonal(state.lam, state.rho)
    metrics = state_metrics(
        probabilities=ss.probabilities if use_cache else None,
        feasible_mask=form.feasible_mask() if use_cache else None,
        objective_diagonal=form.objective_diagonal if use_cache else None,
        shots_feasible=feasible,
        shots_objective=obj,
        shots_weight=w,
        optimum_internal=opt_internal,
        native=problem.native,
        optimum=problem.optimum,
        sense=problem.sense,
        energy_diagonal=energy_diag,
        subspace=form.enforced_mask() if energy_diag is not None else None,
    )
    share = float(ss.counts[feasible].sum() / max(ss.n_shots, 1))
    mean_gap = None
    if problem.optimum not in (None, 0) and feasible.any():  # gap() is undefined at optimum 0
        gaps = [gap(float(v), problem.optimum, problem.sense) for v in prog.native(obj[feasible])]
        mean_gap = float(np.average(gaps, weights=ss.counts[feasible]))

    # the method's update
    obs = Observation(g_hat, energy, f_hat, X, ss.counts, ss.energy, exact)
    upd = meth.update(state, obs, _ctx(state, problem))
    lam_before, rho_before = state.lam, state.rho
    new: dict[str, Any] = {
        "lam": upd.lam,
        "method_state": upd.method_state,
        "step": state.step + 1,
        "params": ss.params if ss.params is not None else state.params,
    }
    if upd.rho is not None:
        new["rho"] = upd.rho
    if upd.reset_cuts:
        new["cuts"] = ()
    if upd.converged is not None:
        new["converged"] = upd.converged
    it = DualIterate(
        step=state.step,
        lam=lam_before.tolist(),
        rho=rho_before.tolist(),
        subgradient=g_hat.tolist(),
        energy=energy,
        dual_value=float(problem.native(energy)),
        dual_value_exact=exact,
        best_objective=problem.native(state.best.objective),
        best_objective_repaired=problem.native(state.best_repaired.objective),
        step_objective=problem.native(step_best),
        feasible_share=share,
        p_feasible=metrics["p_feasible"],
        p_optimal=metrics["p_optimal"],
        mean_feasible_gap=mean_gap,
        max_violation=float(viol[i0]),
        step_size=float(upd.step_size),
        n_evals=int(ss.info.get("n_evals", 0)),
        wall_s=float(wall_s if wall_s is not None else ss.info.get("timings", {}).get("total_s", 0.0)),
        note=upd.note,
        angles=None if ss.params is None else dict(ss.params),
        sampler_info={
            k: ss.info[k]
            for k in ("backend", "seed", "shots", "scale", "isa", "job_id", "profile", "mps", "centre")
            if k in ss.info
        },
        estimated_from_shots=metrics["estimated_from_shots"],
        approx_ratio=metrics["approx_ratio"],
        approx_ratio_feasible=metrics["approx_ratio_feasible"],
        tts99_shots=metrics["tts99_shots"],
        ground_rank=metrics["ground_rank"],
        ground_margin=metrics["ground_margin"],
        circuit_evals=int(ss.info.get("circuit_evals", 0)),
        shots_total=int(ss.info.get("shots_total", 0)),
        rows_added=rows_added,
    )
    return state.replace(**new), it


def result(
    state: DualState,
    problem: DualProblem,
    history: list[DualIterate],
    *,
    status: str,
    reason: str,
    message: str,
    wall_s: float,
    sampler_calls: int,
) -> DualResult:
    """The :class:`~qslack.dual.result.DualResult` of a run at ``state`` (``history``: each step's record)."""
    cands = []
    if problem.certified_bound is not None:
        cands.append(float(problem.certified_bound))
    if state.dual_bound is not None and problem.form_for(state.rows).bound_is_valid(state.rho):
        cands.append(float(problem.native(state.dual_bound)))
    bound = None
    if cands:
        bound = min(cands) if problem.sense == "max" else max(cands)
    best = problem.native(state.best.objective)
    best_rep = problem.native(state.best_repaired.objective)
    last = history[-1] if history else None
    return DualResult(
        lam=np.array(state.lam),
        rho=np.array(state.rho),
        dual_bound=bound,
        dual_estimate=problem.native(state.dual_estimate),
        best_x=None if state.best.x is None else np.array(state.best.x),
        best_objective=best,
        best_x_repaired=None if state.best_repaired.x is None else np.array(state.best_repaired.x),
        best_objective_repaired=best_rep,
        gap=gap(best, problem.optimum, problem.sense),
        gap_repaired=gap(best_rep, problem.optimum, problem.sense),
        p_feasible=None if last is None else last.p_feasible,
        p_optimal=None if last is None else last.p_optimal,
        status=status,
        reason=reason,
        message=message,
        steps=state.step,
        sampler_calls=sampler_calls,
        circuit_evals=sum(h.circuit_evals for h in history),
        shots_total=sum(h.shots_total for h in history),
        wall_s=wall_s,
        history=list(history),
    )
