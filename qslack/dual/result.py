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

    Objective values are in the problem's native sense.  ``dual_value`` is
    ``H(x_hat)`` of the lowest-energy sample in the native sense: the dual
    function's value at ``lam`` only when ``dual_value_exact`` (a proven
    minimiser), an estimate otherwise.  The state metrics (``p_feasible``,
    ``p_optimal``, ``approx_ratio*``, ``tts99_shots``, ``ground_rank``,
    ``ground_margin``) are defined in :mod:`qslack.dual.metrics`.  The budget:
    ``circuit_evals`` counts every circuit the step asked for (each objective
    evaluation of the angle optimiser as one circuit of ``shots`` shots, a
    gradient by parameter shift as ``4p`` circuits, plus the final sampling
    circuit), ``shots_total`` their shots.
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
    estimated_from_shots: bool = False
    approx_ratio: float | None = None
    approx_ratio_feasible: float | None = None
    tts99_shots: int | None = None
    ground_rank: int | None = None
    ground_margin: float | None = None
    circuit_evals: int = 0
    shots_total: int = 0
    rows_added: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly record."""
        return asdict(self)


@dataclass
class DualResult:
    """Outcome of a dual-loop run (:func:`qslack.runs.solve_dual` or a stored run).

    Attributes
    ----------
    lam, rho : numpy.ndarray
        Final multipliers and quadratic weights.
    dual_bound : float or None
        A *certified* bound in the native sense (exact oracle with rho-terms
        that vanish on feasible points, or a bound proven elsewhere such as
        the LP relaxation), else None.
    dual_estimate : float or None
        The best ``H(x_hat)`` seen, native sense: an estimate of the dual
        value (it may sit on either side of the optimum with a sampler that
        is not exact).
    best_x, best_objective : raw samples only.
    best_x_repaired, best_objective_repaired : after problem-specific repair.
    gap : of ``best_objective`` against the known optimum (>= 0 is worse).
    p_feasible, p_optimal : of the last step's final state.
    status : "finished" or "interrupted".
    reason : why it stopped: "iters", "converged", "time_limit", "callback", "interrupted".
    message, steps, sampler_calls, circuit_evals, shots_total, wall_s, history.
    """

    lam: np.ndarray
    rho: np.ndarray
    dual_bound: float | None
    dual_estimate: float | None
    best_x: np.ndarray | None
    best_objective: float | None
    best_x_repaired: np.ndarray | None
    best_objective_repaired: float | None
    gap: float | None
    gap_repaired: float | None
    p_feasible: float | None
    p_optimal: float | None
    status: str
    reason: str
    message: str
    steps: int
    sampler_calls: int
    circuit_evals: int
    shots_total: int
    wall_s: float
    history: list[DualIterate] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether a raw sample was feasible."""
        return self.best_x is not None

    @property
    def dual_bound_certified(self) -> bool:
        """Whether :attr:`dual_bound` is set (it is only ever a certified bound)."""
        return self.dual_bound is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (history included)."""
        d = {k: v for k, v in self.__dict__.items() if k != "history"}
        for k in ("lam", "rho", "best_x", "best_x_repaired"):
            if d[k] is not None:
                d[k] = np.asarray(d[k]).tolist()
        d["feasible"] = self.feasible
        d["history"] = [h.to_dict() for h in self.history]
        return d
