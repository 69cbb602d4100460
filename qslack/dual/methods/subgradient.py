"""Projected subgradient ascent: Polyak or diminishing step, optionally a stochastic subgradient.

``step="polyak"``: ``t = polyak_factor * (target - H(x_hat)) / ||g||^2`` with the
best feasible value as target; QAOA's value estimate can overshoot it, so a
non-positive numerator falls back to the diminishing step.  ``"diminishing"``:
``a0 / sqrt(t)`` along ``g / ||g||`` (``a0`` defaults to a tenth of the median
multiplier box size).  A zero subgradient skips the step.  ``stochastic=True``
uses the count-weighted mean residual over the CVaR-``alpha`` tail of the
samples instead of ``g(x_hat)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options
from qslack.dual.methods._common import multiplier_box
from qslack.exceptions import OptionError

__all__ = ["METHOD"]

DEFAULTS = {"step": "polyak", "a0": None, "polyak_factor": 1.0, "stochastic": False, "alpha": 0.1}


def init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolve ``a0`` from the multiplier box; the state is the step counter."""
    opt = resolve_options("subgradient", DEFAULTS, options)
    if opt["step"] not in ("polyak", "diminishing"):
        raise OptionError(f"subgradient step must be 'polyak' or 'diminishing', not {opt['step']!r}")
    if opt["a0"] is None:
        hi = multiplier_box(ctx.form)[1]
        opt["a0"] = 0.1 * float(np.median(hi)) if hi.size else 1.0
    return opt, {"t": 0}


def direction(state: Any, obs: Observation, ctx: MethodContext) -> np.ndarray:
    """``g(x_hat)``, or the CVaR-tail mean residual with ``stochastic=True``."""
    if not state.options["stochastic"]:
        return np.asarray(obs.g_hat, dtype=np.float64)
    order = np.argsort(obs.energies, kind="stable")
    counts = obs.counts[order].astype(float)
    need = state.options["alpha"] * counts.sum()
    take = np.minimum(counts, np.maximum(need - (np.cumsum(counts) - counts), 0.0))
    G = ctx.form.residuals(obs.X[order])
    return (take[:, None] * G).sum(axis=0) / max(take.sum(), 1e-12)


def update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    """One projected step."""
    t = int(state.method_state["t"]) + 1
    g = direction(state, obs, ctx)
    norm2 = float(g @ g)
    if norm2 <= 1e-18:
        return Update(state.lam, {"t": t}, 0.0, "zero subgradient: step skipped")
    opt = state.options
    note = "diminishing"
    step = opt["a0"] / np.sqrt(t) / np.sqrt(norm2)
    target = state.best.objective
    if opt["step"] == "polyak" and target is not None:
        num = target - obs.energy
        if num > 0:
            step = opt["polyak_factor"] * num / norm2
            note = "polyak"
        else:
            note = "polyak overshoot: diminishing"
    return Update(ctx.form.project(state.lam + step * g), {"t": t}, float(step), note)


METHOD = Method("subgradient", DEFAULTS, init, update, doc=__doc__ or "")
