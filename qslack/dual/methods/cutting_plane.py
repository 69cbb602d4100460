"""Kelley's cutting plane: maximise the cut model over a data-derived box (an LP, HiGHS via scipy).

The box (:func:`~qslack.dual.methods._common.multiplier_box`) is widened
(doubled on the rows concerned, at most ``max_widen`` times) when the LP's
answer touches it.  The method stops when the model exceeds the best certified
dual value by less than ``tol`` — and only when every cut in the model came
from a step whose inner solve was a proven minimiser.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options
from qslack.dual.methods._common import cut_arrays, multiplier_box

__all__ = ["METHOD"]

DEFAULTS = {"tol": 1e-7, "max_widen": 30}


def init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The initial box."""
    opt = resolve_options("cutting-plane", DEFAULTS, options)
    lo, hi = multiplier_box(ctx.form)
    return opt, {"t": 0, "lo": lo.tolist(), "hi": hi.tolist(), "widened": 0}


def _lp(state: Any, lo: np.ndarray, hi: np.ndarray, m: int) -> tuple[np.ndarray | None, float]:
    from scipy.optimize import linprog

    a, G = cut_arrays(state.cuts, m)
    cost = np.zeros(m + 1)
    cost[-1] = -1.0
    A_ub = np.hstack([-G, np.ones((len(state.cuts), 1))])
    bounds = [(float(lo_k), float(hi_k)) for lo_k, hi_k in zip(lo, hi, strict=True)] + [(None, None)]
    res = linprog(cost, A_ub=A_ub, b_ub=a, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the box keeps the LP bounded and feasible
        return None, float("inf")
    return np.asarray(res.x[:m]), float(-res.fun)


def update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    """Solve the Kelley LP; widen the box where the answer touches it."""
    ms = state.method_state
    lo, hi = np.asarray(ms["lo"], dtype=np.float64), np.asarray(ms["hi"], dtype=np.float64)
    widened = int(ms["widened"])
    lam_new, model = _lp(state, lo, hi, ctx.form.n_cons)
    if lam_new is None:  # pragma: no cover
        lam_new = np.asarray(state.lam)
    note = "kelley"
    span = hi - lo
    free = ~np.isfinite(ctx.form.lam_lower)
    at_hi = np.abs(lam_new - hi) <= 1e-9 * (1 + span)
    at_lo = free & (np.abs(lam_new - lo) <= 1e-9 * (1 + span))
    on_box = at_hi | at_lo
    if on_box.any() and widened < state.options["max_widen"]:
        hi = np.where(at_hi, hi * 2, hi)
        lo = np.where(at_lo, lo * 2, lo)
        widened += 1
        note = f"kelley (box widened on {int(on_box.sum())} rows)"
    converged = None
    best = state.dual_bound
    if (
        best is not None
        and all(c.exact for c in state.cuts)
        and model - best <= state.options["tol"] * (1 + abs(best))
    ):
        converged = f"cut model within {state.options['tol']:g} of the dual value"
    step = float(np.linalg.norm(lam_new - state.lam))
    new_ms = {"t": int(ms["t"]) + 1, "lo": lo.tolist(), "hi": hi.tolist(), "widened": widened}
    return Update(ctx.form.project(lam_new), new_ms, step, note, converged=converged)


def extend(state: Any, ctx: MethodContext, k: int) -> dict[str, Any]:
    """The box grows by the new rows' boxes."""
    lo, hi = multiplier_box(ctx.form)
    ms = dict(state.method_state)
    ms["lo"] = [*ms["lo"], *lo[-k:].tolist()]
    ms["hi"] = [*ms["hi"], *hi[-k:].tolist()]
    return ms


METHOD = Method("cutting-plane", DEFAULTS, init, update, extend, doc=__doc__ or "")
