"""The dual loop as an ask/tell state machine, one entry point, methods from one registry.

``DualSolver.ask()`` gives the next QUBO (with ``lam``, ``rho`` and warm-start
angles); ``tell(sampleset)`` evaluates every sample on the original program,
keeps the best feasible raw sample and, separately, the best repaired one,
records the cut ``lam' -> f(x) + sum rho/2 g(x)^2 + lam' . g(x)`` of the
lowest-energy sample and lets the method update ``lam`` (and ``rho``).  Its
whole state serialises (:meth:`DualSolver.state_dict`), so a run resumes after a
crash and hardware jobs may outlive the process.

On inequality rows with ``rho > 0`` the update is a feedback rule judged by
primal results (feasible probability, gap), not a dual guarantee: the
quadratic term does not vanish on feasible points with slack (DESIGN.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qslack.dual.methods import METHODS, make_method
from qslack.dual.result import DualIterate, DualResult, gap
from qslack.exceptions import ValidationError
from qslack.model.lagrangian import LagrangianForm
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["METHODS", "Ask", "DualSolver", "default_multipliers", "solve_dual", "step_seed"]


def step_seed(seed: int, step: int) -> int:
    """The sampler seed of outer step ``step``: from ``SeedSequence([seed, step])``.

    A resumed run draws exactly what an uninterrupted one would.

    Examples
    --------
    >>> step_seed(1, 3) == step_seed(1, 3) != step_seed(1, 4)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(step)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def default_multipliers(form: LagrangianForm, rho: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem defaults ``(lam0, rho0)``; ``rho`` scales the quadratic weights.

    ``rho_k = rho * F / max|a_k|**2`` with ``F`` the largest objective
    coefficient, so a unit violation of row ``k`` costs about ``rho * F``:
    TSP position — row/col equalities; TSP edge — degree equalities (subtour
    rows get ``rho = 0``); MDKP — capacity rows (the unbalanced shape); MIS —
    product rows start at weight 1 with ``rho = 0``.  ``lam0 = 0`` elsewhere.
    """
    p = form.program
    F = float(max(np.abs(p.c).max(initial=0.0), np.abs(p.quadratic_terms()[2]).max(initial=0.0), 1e-12))
    amax = np.abs(p.A).max(axis=1) if p.n_cons else np.zeros(0)
    rho0 = rho * F / np.maximum(amax, 1e-12) ** 2
    lam0 = np.zeros(p.n_cons)
    groups = np.array(p.con_groups, dtype=object)
    rho0[groups == "subtour"] = 0.0
    rho0[form.is_product] = 0.0
    lam0[form.is_product] = 1.0
    return lam0, rho0


@dataclass
class Ask:
    """What the solver wants sampled next."""

    step: int
    qubo: QUBO
    lam: np.ndarray
    rho: np.ndarray
    init: dict[str, list[float]] | None
    seed: int


class DualSolver:
    """Ask/tell dual loop over a :class:`~qslack.model.lagrangian.LagrangianForm`.

    Parameters
    ----------
    form : LagrangianForm
    method : str
        One of :data:`METHODS`: ``"subgradient"``, ``"cutting-plane"``,
        ``"bundle"``, ``"augmented-lagrangian"``, ``"fixed-penalty"``,
        ``"slack-penalty"``.
    lam0, rho0 : array_like, optional
        Start multipliers and quadratic weights (default
        :func:`default_multipliers`).
    options : dict, optional
        Method options (see each method's docstring); unknown ones are an error.
    seed : int
        Seeds every step through :func:`step_seed`.
    optimum : float, optional
        Known optimum in the native sense, for gaps and optimal probability.
    certified_bound : float, optional
        A bound proven elsewhere (e.g. the LP relaxation), native sense.
    exact_oracle : bool
        Whether the sampler returns a true minimiser (ExactSampler, CP-SAT
        proven optimal): then ``H(x_hat)`` is the dual value and, where the
        rho-terms vanish on feasible points, a certified bound.

    Examples
    --------
    >>> from qslack.problems.catalog import load_instance, build_program
    >>> from qslack.samplers.exact import ExactSampler
    >>> form = LagrangianForm(build_program(load_instance("mknap1#1")))
    >>> solver = DualSolver(form, method="subgradient", rho0=0.0, exact_oracle=True, seed=0)
    >>> for _ in range(3):
    ...     ask = solver.ask()
    ...     it = solver.tell(ExactSampler().sample(ask.qubo, seed=ask.seed))
    >>> solver.step
    3
    """

    def __init__(
        self,
        form: LagrangianForm,
        *,
        method: str = "subgradient",
        lam0: Any = None,
        rho0: Any = None,
        options: dict[str, Any] | None = None,
        seed: int = 0,
        optimum: float | None = None,
        certified_bound: float | None = None,
        exact_oracle: bool = False,
    ) -> None:
        self.form = form
        self.program = form.program
        self.method_name = method
        d_lam, d_rho = default_multipliers(form)
        self.lam = form.project(d_lam if lam0 is None else form._vec(lam0, "lam"))
        self.rho = d_rho if rho0 is None else form._vec(rho0, "rho")
        self.seed = int(seed)
        self.optimum = optimum
        self.certified_bound = certified_bound
        self.exact_oracle = bool(exact_oracle)
        self.step = 0
        self.angles: dict[str, list[float]] | None = None
        self.best_x: np.ndarray | None = None
        self.best_obj: float | None = None  # internal (minimisation) sense
        self.best_x_rep: np.ndarray | None = None
        self.best_obj_rep: float | None = None
        self.dual_bound: float | None = None  # certified (exact oracle, valid rho), internal sense
        self.dual_estimate: float | None = None  # best H(x_hat) seen: an estimate unless exact
        self.cuts: list[tuple[float, list[float]]] = []
        self.history: list[DualIterate] = []
        self.lazy_names: list[str] = []
        self.method = make_method(method, self, dict(options or {}))
        self._slack = None
        if method == "slack-penalty":
            from qslack.model.slack import slack_qubo

            self._slack = slack_qubo(self.program)

    # ------------------------------------------------------------------ sense
    def native(self, v: float | None) -> float | None:
        """Internal (minimisation) value to the native sense."""
        return None if v is None else float(self.program.native(v))

    @property
    def sense(self) -> str:
        """``"max"`` or ``"min"``."""
        return str(self.program.metadata["sense"])

    def best_bound(self) -> tuple[float | None, bool]:
        """``(bound in the native sense, certified)``: the tighter of the proven ones, else the estimate."""
        cands = []
        if self.certified_bound is not None:
            cands.append(float(self.certified_bound))
        if self.dual_bound is not None and self.exact_oracle and self.form.bound_is_valid(self.rho):
            cands.append(float(self.native(self.dual_bound)))
        if cands:
            b = min(cands) if self.sense == "max" else max(cands)
            return b, True
        return self.native(self.dual_estimate), False

    # --------------------------------------------------------------- ask/tell
    def current_qubo(self) -> QUBO:
        """The QUBO the next sample is drawn from."""
        if self._slack is not None:
            return self._slack.qubo
        return self.form.qubo(self.lam, self.rho)

    def ask(self) -> Ask:
        """The next QUBO to sample, with its multipliers, warm-start angles and seed."""
        return Ask(
            step=self.step,
            qubo=self.current_qubo(),
            lam=self.lam.copy(),
            rho=self.rho.copy(),
            init=self.angles,
            seed=step_seed(self.seed, self.step),
        )

    def _program_columns(self, ss: SampleSet) -> np.ndarray:
        names = self.program.var_names
        if ss.var_names[: len(names)] == names:
            return ss.X[:, : len(names)]
        pos = {v: j for j, v in enumerate(ss.var_names)}
        return ss.X[:, [pos[v] for v in names]]

    def _masses(
        self, ss: SampleSet, X: np.ndarray, feasible: np.ndarray
    ) -> tuple[float | None, float | None]:
        """Feasible and optimal probability of the final state (statevector), else from shots."""
        probs = ss.info.get("probabilities")
        n = self.program.n_vars
        opt_internal = None if self.optimum is None else float(self.program.native(self.optimum))
        if probs is not None and self.form.use_cache:
            probs = np.asarray(probs)
            feas_mask = self.form.feasible_mask()
            if probs.size != feas_mask.size:  # slack QUBO: program bits are the low n bits
                idx = np.arange(probs.size) & ((1 << n) - 1)
                feas = feas_mask[idx]
                obj = self.form.objective_diagonal[idx]
            else:
                feas, obj = feas_mask, self.form.objective_diagonal
            p_feas = float(probs[feas].sum())
            p_opt = None
            if opt_internal is not None:
                tol = 1e-6 * max(1.0, abs(opt_internal))
                p_opt = float(probs[feas & (np.abs(obj - opt_internal) <= tol)].sum())
            return p_feas, p_opt
        w = ss.counts / max(ss.n_shots, 1)
        p_feas = float(w[feasible].sum())
        p_opt = None
        if opt_internal is not None:
            obj = self.program.objective(X)
            tol = 1e-6 * max(1.0, abs(opt_internal))
            p_opt = float(w[feasible & (np.abs(obj - opt_internal) <= tol)].sum())
        return p_feas, p_opt

    def tell(self, ss: SampleSet, *, wall_s: float | None = None) -> DualIterate:
        """Take the samples of the last :meth:`ask` and update the state."""
        from qslack.problems import repair

        if len(ss) == 0:
            raise ValidationError("tell() got an empty SampleSet")
        X = self._program_columns(ss)
        if self._slack is None:
            self._add_lazy_rows(X)
        prog = self.program
        obj = prog.objective(X)
        viol = prog.max_violation(X)
        feasible = viol <= 1e-9
        # best raw feasible sample
        step_best = None
        if feasible.any():
            k = int(np.argmin(np.where(feasible, obj, np.inf)))
            step_best = float(obj[k])
            if self.best_obj is None or obj[k] < self.best_obj - 1e-12:
                self.best_obj, self.best_x = float(obj[k]), X[k].copy()
        # best after repair (lowest-energy rows first; repair is per sample)
        order = np.argsort(ss.energy, kind="stable")[: min(len(ss), 32)]
        Xr = repair(prog, X[order])
        feas_r = prog.is_feasible(Xr)
        if feas_r.any():
            objr = np.where(feas_r, prog.objective(Xr), np.inf)
            k = int(np.argmin(objr))
            if self.best_obj_rep is None or objr[k] < self.best_obj_rep - 1e-12:
                self.best_obj_rep, self.best_x_rep = float(objr[k]), Xr[k].copy()
        # lowest-energy sample: cut, dual estimate, subgradient
        i0 = int(np.argmin(ss.energy))
        x_hat = X[i0]
        g_hat = self.form.residuals(x_hat[None, :])[0]
        f_hat = float(prog.objective(x_hat[None, :])[0])
        if self._slack is None:
            energy = float(self.form.energy(x_hat[None, :], self.lam, self.rho)[0])
            intercept = f_hat + float(0.5 * self.rho @ (g_hat * g_hat))
            self.cuts.append((intercept, g_hat.tolist()))
            exact = self.exact_oracle and bool(ss.info.get("exact", True))
            if exact and self.form.bound_is_valid(self.rho):
                self.dual_bound = energy if self.dual_bound is None else max(self.dual_bound, energy)
            self.dual_estimate = energy if self.dual_estimate is None else max(self.dual_estimate, energy)
        else:
            energy = float(ss.energy[i0])
            exact = False
        p_feas, p_opt = self._masses(ss, X, feasible)
        share = float(ss.counts[feasible].sum() / max(ss.n_shots, 1))
        mean_gap = None
        if self.optimum not in (None, 0) and feasible.any():  # gap() is undefined at optimum 0
            gaps = [gap(float(v), self.optimum, self.sense) for v in prog.native(obj[feasible])]
            mean_gap = float(np.average(gaps, weights=ss.counts[feasible]))
        stats = {"g_hat": g_hat, "energy": energy, "f_hat": f_hat, "ss": ss, "X": X}
        lam_before = self.lam.copy()
        step_size, note = self.method.update(stats)
        self.angles = ss.info.get("angles", self.angles)
        it = DualIterate(
            step=self.step,
            lam=lam_before.tolist(),
            rho=self.rho.tolist(),
            subgradient=g_hat.tolist(),
            energy=energy,
            dual_value=float(self.native(energy)),
            dual_value_exact=exact,
            best_objective=self.native(self.best_obj),
            best_objective_repaired=self.native(self.best_obj_rep),
            step_objective=self.native(step_best),
            feasible_share=share,
            p_feasible=p_feas,
            p_optimal=p_opt,
            mean_feasible_gap=mean_gap,
            max_violation=float(viol[i0]),
            step_size=float(step_size),
            n_evals=int(ss.info.get("n_evals", 0)),
            wall_s=float(wall_s if wall_s is not None else ss.info.get("timings", {}).get("total_s", 0.0)),
            note=note,
            angles=ss.info.get("angles"),
            sampler_info={
                k: ss.info[k]
                for k in ("backend", "seed", "shots", "scale", "isa", "job_id", "profile")
                if k in ss.info
            },
        )
        self.history.append(it)
        self.step += 1
        return it

    def _add_lazy_rows(self, X: np.ndarray) -> None:
        """Rows the samples show missing (TSP subtours past 9 cities) join the program;
        their multipliers start at 0 with rho 0 and the cut model restarts."""
        from qslack.problems import lazy_rows

        new = lazy_rows(self.program, X)
        if new is None:
            return
        k = new.n_cons - self.program.n_cons
        self.lazy_names.extend(new.con_names[-k:])
        self._set_program(new)
        self.lam = np.concatenate([self.lam, np.zeros(k)])
        self.rho = np.concatenate([self.rho, np.zeros(k)])
        self.cuts = []
        self.method.extend(k)

    def _set_program(self, program: Any) -> None:
        self.program = program
        self.form = self.form.with_program(program)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: JSON-able."""

        def arr(a: np.ndarray | None) -> list[Any] | None:
            return None if a is None else np.asarray(a).tolist()

        return {
            "version": 1,
            "method": self.method_name,
            "seed": self.seed,
            "step": self.step,
            "lam": arr(self.lam),
            "rho": arr(self.rho),
            "angles": self.angles,
            "best_x": arr(self.best_x),
            "best_obj": self.best_obj,
            "best_x_rep": arr(self.best_x_rep),
            "best_obj_rep": self.best_obj_rep,
            "dual_bound": self.dual_bound,
            "dual_estimate": self.dual_estimate,
            "cuts": self.cuts,
            "method_state": self.method.state(),
            "lazy_rows": list(self.lazy_names),
            "history": [h.to_dict() for h in self.history],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (same form, method and options)."""
        if state.get("method") != self.method_name:
            raise ValidationError(f"state is for method {state.get('method')!r}, not {self.method_name!r}")
        lazy = [name for name in state.get("lazy_rows", []) if name not in self.program.con_names]
        if lazy:
            from qslack.problems.tsp import with_subtour_rows

            sets = [tuple(int(v) for v in name.split("_")[1:]) for name in lazy]
            self._set_program(with_subtour_rows(self.program, sets))
            self.lazy_names.extend(lazy)
            self.method.extend(len(lazy))
        self.seed = int(state["seed"])
        self.step = int(state["step"])
        self.lam = np.asarray(state["lam"], dtype=np.float64)
        self.rho = np.asarray(state["rho"], dtype=np.float64)
        self.angles = state["angles"]
        self.best_x = None if state["best_x"] is None else np.asarray(state["best_x"], dtype=np.uint8)
        self.best_obj = state["best_obj"]
        self.best_x_rep = (
            None if state["best_x_rep"] is None else np.asarray(state["best_x_rep"], dtype=np.uint8)
        )
        self.best_obj_rep = state["best_obj_rep"]
        self.dual_bound = state["dual_bound"]
        self.dual_estimate = state["dual_estimate"]
        self.cuts = [(float(a), list(g)) for a, g in state["cuts"]]
        self.method.load(state["method_state"])
        self.history = [DualIterate(**h) for h in state["history"]]

    # --------------------------------------------------------------- result
    def result(self, status: str, message: str, wall_s: float, n_calls: int) -> DualResult:
        """The :class:`DualResult` of the run so far."""
        bound, certified = self.best_bound()
        best = self.native(self.best_obj)
        best_rep = self.native(self.best_obj_rep)
        last = self.history[-1] if self.history else None
        return DualResult(
            lam=self.lam.copy(),
            rho=self.rho.copy(),
            dual_bound=bound,
            dual_bound_certified=certified,
            best_x=self.best_x,
            best_objective=best,
            best_x_repaired=self.best_x_rep,
            best_objective_repaired=best_rep,
            gap=gap(best, self.optimum, self.sense),
            gap_repaired=gap(best_rep, self.optimum, self.sense),
            p_feasible=None if last is None else last.p_feasible,
            status=status,
            message=message,
            nit=self.step,
            n_sampler_calls=n_calls,
            wall_s=wall_s,
            history=list(self.history),
        )


def solve_dual(
    form: LagrangianForm,
    sampler: Sampler,
    *,
    method: str = "subgradient",
    lam0: Any = None,
    rho0: Any = None,
    maxiter: int = 20,
    time_limit: float | None = None,
    callback: Callable[[DualIterate, DualSolver], bool | None] | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    optimum: float | None = None,
    certified_bound: float | None = None,
    solver: DualSolver | None = None,
) -> DualResult:
    """Run the dual loop: ask, sample, tell, ``maxiter`` times (the plain loop for local samplers).

    Parameters
    ----------
    form : LagrangianForm
    sampler : Sampler
        Any sampler; ``sampler.properties["exact"]`` marks an exact oracle.
    method : str
        See :class:`DualSolver`.
    lam0, rho0 : array_like, optional
    maxiter : int
        Outer steps (in total, a resumed solver counts those already done).
    time_limit : float, optional
        Seconds; the loop stops after the step that crosses it.
    callback : callable, optional
        ``callback(iterate, solver)`` after every step; returning True stops.
    options : dict, optional
        Method options.
    seed : int
    optimum, certified_bound : float, optional
        Native sense.
    solver : DualSolver, optional
        Continue this solver (e.g. restored from the store) instead of a new one.

    Returns
    -------
    DualResult

    Examples
    --------
    >>> from qslack.problems.catalog import load_instance, build_program
    >>> from qslack.samplers.exact import ExactSampler
    >>> form = LagrangianForm(build_program(load_instance("mknap1#1")))
    >>> res = solve_dual(form, ExactSampler(), method="bundle", rho0=0.0, maxiter=30)
    >>> res.dual_bound_certified, res.dual_bound >= 3800
    (True, True)
    """
    exact = bool(getattr(sampler, "properties", {}).get("exact", False))
    if solver is None:
        solver = DualSolver(
            form,
            method=method,
            lam0=lam0,
            rho0=rho0,
            options=options,
            seed=seed,
            optimum=optimum,
            certified_bound=certified_bound,
            exact_oracle=exact,
        )
    t0 = time.perf_counter()
    calls = 0
    status, message = "maxiter", f"reached {maxiter} steps"
    while solver.step < maxiter:
        ask = solver.ask()
        ts = time.perf_counter()
        kw: dict[str, Any] = {}
        if ask.init is not None and "init" in getattr(sampler, "parameters", {}):
            kw["init"] = ask.init
        ss = sampler.sample(ask.qubo, seed=ask.seed, **kw)
        calls += 1
        it = solver.tell(ss, wall_s=time.perf_counter() - ts)
        if callback is not None and callback(it, solver):
            status, message = "stopped", "callback asked to stop"
            break
        if solver.method.converged():
            status, message = "converged", solver.method.converged_message()
            break
        if time_limit is not None and time.perf_counter() - t0 >= time_limit:
            status, message = "time_limit", f"time limit {time_limit:g} s reached"
            break
    return solver.result(status, message, time.perf_counter() - t0, calls)
