"""Augmented Lagrangian: ``lam <- proj(lam + rho g)``; ``rho`` grows when the violation falls too little.

Rows with ``rho = 0`` (subtour, product rows) step with ``rho_floor`` (default:
the median of the positive starting weights).  ``rho`` is multiplied by
``growth`` (capped at ``rho_max``) when the violation norm did not fall by the
fraction ``decrease``; the cut model then restarts (cuts belong to one ``rho``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options

__all__ = ["METHOD"]

DEFAULTS = {"growth": 2.0, "decrease": 0.25, "rho_floor": None, "rho_max": 1e8}


def init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolve ``rho_floor`` from the starting weights."""
    opt = resolve_options("augmented-lagrangian", DEFAULTS, options)
    if opt["rho_floor"] is None:
        pos = rho[rho > 0]
        opt["rho_floor"] = float(np.median(pos)) if pos.size else 0.5
    return opt, {"t": 0, "last_violation": None}


def update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    """The multiplier step, and ``rho`` growth when the violation stalls."""
    form, opt = ctx.form, state.options
    g = np.asarray(obs.g_hat, dtype=np.float64)
    lin_eq = form.is_equality & ~form.is_product
    viol = float(np.linalg.norm(np.where(lin_eq, g, np.maximum(g, 0.0))))
    rho = np.asarray(state.rho)
    rho_eff = np.where(rho > 0, rho, opt["rho_floor"])
    lam = form.project(state.lam + rho_eff * g)
    note = "multiplier step"
    last = state.method_state["last_violation"]
    new_rho = None
    if last is not None and viol > (1 - opt["decrease"]) * last and viol > 0:
        new_rho = np.where(rho > 0, np.minimum(rho * opt["growth"], opt["rho_max"]), 0.0)
        note = f"rho x{opt['growth']:g}"
    ms = {"t": int(state.method_state["t"]) + 1, "last_violation": viol}
    return Update(
        lam, ms, float(np.linalg.norm(rho_eff * g)), note, rho=new_rho, reset_cuts=new_rho is not None
    )


METHOD = Method("augmented-lagrangian", DEFAULTS, init, update, doc=__doc__ or "")
