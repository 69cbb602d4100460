"""Golden runs through the Python API (what the CLI cannot do: stop after a step, pick sampler knobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def lazy_rows_resumed() -> dict[str, Any]:
    """TSP edge encoding, 10 cities (subtour rows added lazily), CP-SAT with a deterministic limit.

    Two steps, the state serialised, a new solver restored from it, two more steps.
    """
    import json

    from qslack.dual.api import DualSolver, default_multipliers
    from qslack.model.lagrangian import LagrangianForm
    from qslack.problems.catalog import build_program, load_instance
    from qslack.samplers.ortools import CPSATSampler

    program = build_program(load_instance("gen:tsp?n=10&seed=4"), encoding="edge")
    sampler = CPSATSampler(time_limit=600.0, workers=1, deterministic_time=0.5)
    form = LagrangianForm(program)
    _, rho0 = default_multipliers(form, rho=1.0)

    def new() -> DualSolver:
        return DualSolver(form, method="subgradient", rho0=rho0, seed=11, exact_oracle=True)

    solver = new()
    for _ in range(2):
        ask = solver.ask()
        solver.tell(sampler.sample(ask.qubo, seed=ask.seed))
    state = json.loads(json.dumps(solver.state_dict()))
    solver = new()
    solver.load_state(state)
    for _ in range(2):
        ask = solver.ask()
        solver.tell(sampler.sample(ask.qubo, seed=ask.seed))
    hist = [h.to_dict() for h in solver.history]
    for h in hist:
        h.pop("wall_s")
    return {
        "history": hist,
        "lam": solver.lam.tolist(),
        "rows": list(solver.program.con_names),
        "best_objective": solver.native(solver.best_obj),
    }


def fake_hardware_resumed(db: Path) -> str:
    """mknap1#1, bundle, fake-torino profile, p=1: one step, stop, resume to 3 steps; the run id."""
    from qslack import runner
    from qslack.store.db import Store

    cfg = runner.SolveConfig(
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
        run_id, res, _ = runner.solve(cfg, store, stop_after=1)
        assert res is not None and res.status == "interrupted"
        runner.resume(run_id, store)
    return run_id
