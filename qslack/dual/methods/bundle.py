"""Proximal bundle: the cut model minus ``mu/2 ||lam - centre||^2``, serious and null steps.

The proximal QP is solved by HiGHS (highspy); never a hand-written QP solver.
A step is *serious* (the centre moves, ``mu`` halves) when the new value
reaches ``m`` times the increase the model predicted, else *null* (``mu``
doubles).  If HiGHS' active-set QP stalls on a badly scaled bundle (seen on
TSP instances), the proximal step of the newest cut alone is taken and noted.
The method stops when the predicted increase falls below ``tol`` — only when
every cut in the model came from a proven-exact step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options
from qslack.dual.methods._common import cut_arrays, multiplier_box, quiet_highs

__all__ = ["METHOD"]

DEFAULTS = {
    "mu": None,
    "m": 0.1,
    "mu_min": 1e-8,
    "mu_max": 1e8,
    "tol": 1e-7,
    "max_cuts": 200,
    "qp_iteration_limit": 5000,
}


def init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """No centre yet; ``mu`` is set from the first subgradient unless given."""
    opt = resolve_options("bundle", DEFAULTS, options)
    lo, hi = multiplier_box(ctx.form)
    ms = {
        "t": 0,
        "lo": lo.tolist(),
        "hi": hi.tolist(),
        "center": None,
        "f_center": None,
        "predicted": None,
        "mu": opt["mu"],
        "qp_fallbacks": 0,
    }
    return opt, ms


def _qp(
    cuts: list[Any], m: int, mu: float, center: np.ndarray, lo: np.ndarray, hi: np.ndarray, limit: int
) -> tuple[np.ndarray, float, bool]:
    """``argmax_lam min_k (a_k + g_k . lam) - mu/2 ||lam - center||^2`` over the box: ``(lam, model, ok)``."""
    import highspy
    import scipy.sparse as sp

    k = len(cuts)
    a, G = cut_arrays(cuts, m)
    h = quiet_highs(highspy)
    lp = highspy.HighsLp()
    lp.num_col_ = m + 1
    lp.num_row_ = k
    lp.col_cost_ = np.append(-mu * center, -1.0)
    lp.col_lower_ = np.append(lo, -highspy.kHighsInf)
    lp.col_upper_ = np.append(hi, highspy.kHighsInf)
    lp.row_lower_ = np.full(k, -highspy.kHighsInf)
    lp.row_upper_ = a
    csc = sp.csc_matrix(np.hstack([-G, np.ones((k, 1))]))  # t - g.lam <= a
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    lp.a_matrix_.num_col_ = m + 1
    lp.a_matrix_.num_row_ = k
    model = highspy.HighsModel()
    model.lp_ = lp
    hess = highspy.HighsHessian()
    hess.dim_ = m + 1
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = np.append(np.arange(m + 1), m).astype(np.int32)
    hess.index_ = np.arange(m, dtype=np.int32)
    hess.value_ = np.full(m, float(mu))
    model.hessian_ = hess
    h.setOptionValue("qp_iteration_limit", int(limit))
    h.passModel(model)
    h.run()
    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    if ok:
        lam = np.asarray(h.getSolution().col_value)[:m]
    else:
        # HiGHS's active-set QP stalled (badly scaled bundle): take the proximal
        # step of the newest cut alone, lam = center + g / mu, inside the box.
        lam = np.clip(center + G[-1] / mu, lo, hi)
    model_val = float(np.min(a + G @ lam)) if k else 0.0
    return lam, model_val, ok


def update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    """Serious or null step, then the next proximal point."""
    ms = dict(state.method_state)
    opt = state.options
    lo, hi = np.asarray(ms["lo"], dtype=np.float64), np.asarray(ms["hi"], dtype=np.float64)
    value = float(obs.energy)
    mu = ms["mu"]
    note = "start"
    if ms["center"] is None:
        center, f_center = np.asarray(state.lam, dtype=np.float64).copy(), value
        if mu is None:
            g = np.asarray(obs.g_hat)
            mu = max(float(np.linalg.norm(g)) / max(float(np.median(hi)), 1e-9), 1e-6)
    else:
        center, f_center = np.asarray(ms["center"], dtype=np.float64), float(ms["f_center"])
        delta = float(ms["predicted"]) - f_center
        if value >= f_center + opt["m"] * delta:
            center, f_center = np.asarray(state.lam, dtype=np.float64).copy(), value
            mu = max(mu / 2, opt["mu_min"])
            note = "serious"
        else:
            mu = min(mu * 2, opt["mu_max"])
            note = "null"
    cuts = list(state.cuts[-opt["max_cuts"] :])
    lam_new, model_val, ok = _qp(cuts, ctx.form.n_cons, mu, center, lo, hi, opt["qp_iteration_limit"])
    if not ok:
        ms["qp_fallbacks"] = int(ms["qp_fallbacks"]) + 1
        note += " (QP stalled: proximal step)"
    converged = None
    if all(c.exact for c in cuts) and model_val - f_center <= opt["tol"] * (1 + abs(f_center)):
        converged = f"predicted increase below {opt['tol']:g}"
    step = float(np.linalg.norm(lam_new - state.lam))
    ms.update(t=int(ms["t"]) + 1, center=center.tolist(), f_center=f_center, predicted=model_val, mu=mu)
    return Update(ctx.form.project(lam_new), ms, step, f"{note}, mu={mu:.3g}", converged=converged)


def extend(state: Any, ctx: MethodContext, k: int) -> dict[str, Any]:
    """The box grows by the new rows' boxes; the cut model restarted, so a new centre starts."""
    lo, hi = multiplier_box(ctx.form)
    ms = dict(state.method_state)
    ms["lo"] = [*ms["lo"], *lo[-k:].tolist()]
    ms["hi"] = [*ms["hi"], *hi[-k:].tolist()]
    ms.update(center=None, f_center=None, predicted=None)
    return ms


METHOD = Method("bundle", DEFAULTS, init, update, extend, doc=__doc__ or "")
