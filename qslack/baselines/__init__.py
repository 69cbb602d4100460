"""Classical solvers on the native problem: the optimum every quantum run is compared with."""

from __future__ import annotations

from typing import Any

__all__ = ["ReferenceOptimum", "reference_optimum", "solve_loaded"]


def __getattr__(name: str) -> Any:
    if name in ("ReferenceOptimum", "reference_optimum"):
        from qslack.baselines import optimum

        return getattr(optimum, name)
    raise AttributeError(f"module 'qslack.baselines' has no attribute {name!r}")


def solve_loaded(loaded: Any, *, time_limit: float = 30.0, workers: int = 2, seed: int = 0) -> Any:
    """OR-Tools on a loaded instance (:class:`qslack.problems.catalog.Loaded`), by problem.

    Returns a :class:`qslack.baselines.ortools.BaselineResult` in the native sense.
    """
    from qslack.baselines import ortools as ot
    from qslack.exceptions import ValidationError

    inst = loaded.instance
    kw = {"time_limit": time_limit, "workers": workers, "seed": seed}
    if loaded.problem == "tsp":
        return ot.solve_tsp(inst.dist, **kw)
    if loaded.problem == "mdkp":
        return ot.solve_mdkp(inst.profits, inst.weights, inst.capacities, **kw)
    if loaded.problem == "mis":
        return ot.solve_mis(inst.n_nodes, inst.edges, inst.weights, **kw)
    raise ValidationError(f"no OR-Tools baseline for problem {loaded.problem!r}")
