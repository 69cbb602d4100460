"""Golden runs through the Python API (what the CLI cannot do: stop after a step, pick sampler knobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def lazy_rows_resumed() -> dict[str, Any]:
    """TSP edge encoding, 10 cities (subtour rows added lazily), CP-SAT with a deterministic limit.

    Two steps, the state serialised, a new solver restored from it, two more steps.
    """
    import json

    from qslack.dual import DualProblem, DualState, ask, default_multipliers, init_state, step
    from qslack.model.lagrangian import LagrangianForm
    from qslack.problems import hooks_for
    from qslack.problems.catalog import build_program, load_instance
    from qslack.samplers.ortools import CPSATSampler

    program = build_program(load_instance("gen:tsp?n=10&seed=4"), encoding="edge")
    sampler = CPSATSampler(time_limit=600.0, workers=1, deterministic_time=0.5)
    problem = DualProblem(LagrangianForm(program), hooks_for("tsp"))
    _, rho0 = default_multipliers(problem.form, rho=1.0)

    state = init_state(problem, "subgradient", rho0=rho0, seed=11)
    hist = []
    for _ in range(2):
        req = ask(state, problem)
        state, it = step(state, sampler.sample(req.qubo, seed=req.seed), problem)
        hist.append(it)
    saved = json.loads(json.dumps(state.to_dict()))
    problem = DualProblem(LagrangianForm(program), hooks_for("tsp"))  # a fresh process's view
    state = DualState.from_dict(saved)
    for _ in range(2):
        req = ask(state, problem)
        state, it = step(state, sampler.sample(req.qubo, seed=req.seed), problem)
        hist.append(it)
    out = [h.to_dict() for h in hist]
    for h in out:
        h.pop("wall_s")
    return {
        "history": out,
        "lam": state.lam.tolist(),
        "rows": list(problem.form_for(state.rows).program.con_names),
        "best_objective": problem.native(state.best.objective),
    }


def fake_hardware_resumed(db: Path) -> str:
    """mknap1#1, bundle, fake-torino profile, p=1: one step, stop, resume to 3 steps; the run id."""
    from qslack.runs.config import SolveConfig
    from qslack.runs.stored import resume, solve
    from qslack.store.db import Store

    cfg = SolveConfig(
        instance="mknap1#1",
        method="bundle",
        sampler="qaoa",
        p=1,
        shots=1000,
        qaoa_maxiter=10,
        iters=3,
        seed=7,
        rho=1.0,
        encoding="position",
        profile="fake-torino",
        optimize_on="statevector",
        reference_time_limit=30.0,
    )
    with Store(db) as store:
        run_id, res, _ = solve(cfg, store, stop_after=1)
        assert res is not None and res.status == "interrupted"
        resume(run_id, store)
    return run_id
