"""Result types of the dual loop (one type for every method, as scipy's OptimizeResult)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["DualIterate", "DualResult", "gap"]


def gap(found: float | None, optimum: float | None, sense: str) -> float | None:
    """Relative gap, ``>= 0`` meaning worse than the optimum, in the native sense.

    ``(optimum - found) / |optimum|`` for maximisation, ``(found - optimum) / |optimum|``
    for minimisation.

    Examples
    --------
    >>> gap(90.0, 100.0, "max"), gap(110.0, 100.0, "min")
    (0.1, 0.1)
    """
    if found is None or optimum is None or optimum == 0:
        return None
    d = (optimum - found) if sense == "max" else (found - optimum)
    return float(d / abs(optimum))


@dataclass
class DualIterate:
    """One outer step: what was asked, what came back, what it changed.

    Objective values are in the problem's native sense; ``dual_value`` and
    ``dual_bound`` too (a lower bound for minimisation, an upper bound for
    maximisation).
    """

    step: int
    lam: list[float]
    rho: list[float]
    subgradient: list[float]
    energy: float
    dual_value: float
    dual_value_exact: bool
    best_objective: float | None
    best_objective_repaired: float | None
    step_objective: float | None
    feasible_share: float
    p_feasible: float | None
    p_optimal: float | None
    mean_feasible_gap: float | None
    max_violation: float
    step_size: float
    n_evals: int
    wall_s: float
    note: str = ""
    angles: dict[str, list[float]] | None = None
    sampler_info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record."""
        return asdict(self)


@dataclass
class DualResult:
    """Outcome of :func:`qslack.dual.solve_dual`.

    Attributes
    ----------
    lam, rho : numpy.ndarray
        Final multipliers and quadratic weights.
    dual_bound : float or None
        Best bound in the native sense; ``dual_bound_certified`` says whether
        it is proven (exact oracle and rho-terms vanishing on feasible points,
        or the LP relaxation), else it is an estimate.
    best_x, best_objective : raw samples only.
    best_x_repaired, best_objective_repaired : after problem-specific repair.
    gap : of ``best_objective`` against the known optimum (>= 0 is worse).
    status, message, nit, n_sampler_calls, history, wall_s.
    """

    lam: np.ndarray
    rho: np.ndarray
    dual_bound: float | None
    dual_bound_certified: bool
    best_x: np.ndarray | None
    best_objective: float | None
    best_x_repaired: np.ndarray | None
    best_objective_repaired: float | None
    gap: float | None
    gap_repaired: float | None
    p_feasible: float | None
    status: str
    message: str
    nit: int
    n_sampler_calls: int
    wall_s: float
    history: list[DualIterate] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether a raw sample was feasible."""
        return self.best_x is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (history included)."""
        d = {k: v for k, v in self.__dict__.items() if k != "history"}
        for k in ("lam", "rho", "best_x", "best_x_repaired"):
            if d[k] is not None:
                d[k] = np.asarray(d[k]).tolist()
        d["feasible"] = self.feasible
        d["history"] = [h.to_dict() for h in self.history]
        return d
