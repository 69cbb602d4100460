"""From a configuration to what a run needs: instance, program, hooks, form, reference, bounds.

Nothing here writes to a store: :func:`prepare` is also what validates an
INSTANCE before a run is recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from qslack.baselines import reference_optimum, solve_loaded
from qslack.baselines.ortools import lp_relaxation_mdkp
from qslack.dual import DualProblem
from qslack.exceptions import QslackError
from qslack.model.hooks import ProblemHooks
from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram
from qslack.model.slack import slack_summary
from qslack.problems import hooks_for
from qslack.problems.catalog import build_program, load_instance
from qslack.runs.config import SolveConfig, make_form
from qslack.runs.driver import restore_sigint

__all__ = ["Prepared", "prepare", "reference_solve"]


@dataclass
class Prepared:
    """What a run needs, built from its configuration."""

    cfg: SolveConfig
    loaded: Any
    program: BinaryProgram
    hooks: ProblemHooks
    form: LagrangianForm
    reference: dict[str, Any]
    optimum: float | None
    optimum_source: str | None
    certified_bound: float | None
    qubits_slack: int

    def problem(self) -> DualProblem:
        """The dual loop's view of the run."""
        return DualProblem(self.form, self.hooks, self.optimum, self.certified_bound)

    def n_qubits(self) -> int:
        """Qubits of the QUBO this run samples (the slack encoding's for ``slack-penalty``)."""
        return self.qubits_slack if self.cfg.method == "slack-penalty" else self.program.n_vars


def reference_solve(loaded: Any, time_limit: float) -> dict[str, Any]:
    """OR-Tools on the native problem: ``{objective, optimal, bound, solver, wall_s}`` or ``{error}``."""
    t0 = time.perf_counter()
    try:
        res = solve_loaded(loaded, time_limit=time_limit)
    except QslackError as exc:
        return {"error": str(exc), "wall_s": time.perf_counter() - t0}
    finally:
        restore_sigint()  # CP-SAT takes SIGINT over while it runs
    return {
        "objective": res.objective,
        "optimal": res.optimal,
        "bound": res.bound,
        "solver": res.solver,
        "wall_s": res.wall_s,
    }


def prepare(cfg: SolveConfig, *, reference: dict[str, Any] | None = None) -> Prepared:
    """Load, build, compute the OR-Tools reference (unless given) and the certified bound.

    The known optimum comes from the instance (manifest, solution files) when
    there is one, else from a reference solve that *proved* optimality;
    ``optimum_source`` says which.
    """
    cfg.validate()
    loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
    program = build_program(loaded, encoding=cfg.encoding)
    hooks = hooks_for(loaded.problem)
    form = make_form(cfg, program)  # without the rows an XY mixer keeps
    if reference is None:
        reference = reference_solve(loaded, cfg.reference_time_limit)
    opt = reference_optimum(loaded, reference)  # the instance's known optimum first, then OR-Tools
    optimum, source = opt.for_gaps, opt.source
    reference = {**reference, "optimum_source": source}
    certified = None
    if loaded.problem == "mdkp":
        inst = loaded.instance
        certified = float(lp_relaxation_mdkp(inst.profits, inst.weights, inst.capacities)[0])
    sl = slack_summary(program)
    return Prepared(
        cfg, loaded, program, hooks, form, reference, optimum, source, certified, int(sl["qubits_slack"])
    )
