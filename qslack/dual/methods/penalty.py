"""Baselines with a fixed QUBO: the form frozen, unbalanced penalisation, a tuned penalty, the slack QUBO.

- ``fixed-penalty`` samples ``H(x; lam0, rho0)`` at every step (with the
  default ``lam0`` this is step 0 of every Lagrangian method).
- ``unbalanced``: Montañez-Barrera, Willsch, Maldonado-Romo and Michielsen,
  *Unbalanced penalization: a new approach to encode inequality constraints of
  combinatorial problems for quantum optimization algorithms*, Quantum Sci.
  Technol. 9, 025022 (2024), arXiv:2211.13914.  An inequality ``h(x) = b - a.x >= 0``
  adds ``-lambda1 h(x) + lambda2 h(x)**2`` to the objective (weight 1): in
  this form's terms ``lam = lambda1``, ``rho = 2 lambda2`` (``g = -h``).  The
  defaults ``lambda1 = 0.96, lambda2 = 0.0371`` are the paper's knapsack
  values, used on the raw data as the first author's own examples do
  (PennyLane's QUBO demo; D-Wave Ocean's
  ``add_linear_inequality_constraint(..., penalization_method="unbalanced")``
  with ``lagrange_multiplier=[0.96, 0.0371]``).  They are not scale-free:
  ``scale="normalised"`` applies them to the objective divided by its largest
  coefficient and each row divided by its largest coefficient
  (``lam_k = lambda1 c_max / a_k,max``, ``rho_k = 2 lambda2 c_max / a_k,max**2``).
  Equality and product rows keep the default penalty (the method is about
  inequalities; on TSP and MIS it *is* ``fixed-penalty``).
- ``penalty-grid``: the default penalty times each of ``scales`` (quadratic
  weights, and product weights kept at least at their exactness floor) for
  ``steps_per_scale`` steps each, then the scale whose samples hit the best
  feasible value seen in the grid most often (ties: the larger feasible
  share) for the remaining steps.  The grid's steps are steps of the run:
  their budget is counted.
- ``slack-penalty`` samples qiskit-optimization's slack QUBO (one scalar
  penalty, binary slack bits): the encoding the qubit savings are measured
  against.

Examples
--------
>>> from qslack.dual import DualProblem, init_state
>>> from qslack.model.lagrangian import LagrangianForm
>>> from qslack.model.program import BinaryProgram
>>> p = BinaryProgram.from_arrays(c=[-5.0, -4.0], A=[[2.0, 3.0]], b=[3.0], sense="<=")
>>> s = init_state(DualProblem(LagrangianForm(p)), "unbalanced")
>>> s.lam.tolist(), s.rho.tolist()
([0.96], [0.0742])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options
from qslack.exceptions import OptionError

__all__ = ["FIXED", "GRID", "SLACK", "UNBALANCED"]


def _init(name: str):  # type: ignore[no-untyped-def]
    def init(
        ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return resolve_options(name, {}, options), {"t": 0}

    return init


def _update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    return Update(state.lam, {**state.method_state, "t": int(state.method_state["t"]) + 1}, 0.0, "fixed")


# ----------------------------------------------------------------------------- unbalanced
UNBALANCED_DEFAULTS: dict[str, Any] = {"lambda1": 0.96, "lambda2": 0.0371, "scale": "raw"}


def _unbalanced_init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    opt = resolve_options("unbalanced", UNBALANCED_DEFAULTS, options)
    for key in ("lambda1", "lambda2"):
        v = opt[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise OptionError(f"unbalanced {key} must be a finite number >= 0, got {v!r}")
    if opt["scale"] not in ("raw", "normalised"):
        raise OptionError(f"unbalanced scale must be 'raw' or 'normalised', not {opt['scale']!r}")
    return opt, {"t": 0}


def _unbalanced_start(
    ctx: MethodContext, opt: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    form = ctx.form
    p = form.program
    ineq = ~form.is_equality & ~form.is_product
    lam, rho = np.array(lam, dtype=np.float64), np.array(rho, dtype=np.float64)
    if opt["scale"] == "raw":
        lam_k, rho_k = (
            np.full(p.n_cons, float(opt["lambda1"])),
            np.full(p.n_cons, 2.0 * float(opt["lambda2"])),
        )
    else:
        c_max = float(max(np.abs(p.c).max(initial=0.0), np.abs(p.Q).max(initial=0.0), 1e-12))
        a_max = np.maximum(np.abs(p.A).max(axis=1), 1e-12) if p.n_cons else np.zeros(0)
        lam_k = float(opt["lambda1"]) * c_max / a_max
        rho_k = 2.0 * float(opt["lambda2"]) * c_max / a_max**2
    lam[ineq], rho[ineq] = lam_k[ineq], rho_k[ineq]
    return lam, rho


# ----------------------------------------------------------------------------- penalty grid
GRID_DEFAULTS: dict[str, Any] = {"scales": [0.1, 0.3, 1.0, 3.0], "steps_per_scale": 1, "top": 64}


def _scaled(
    ctx: MethodContext, lam_ref: np.ndarray, rho_ref: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The default penalty times ``s``: quadratic weights, and product weights (floored)."""
    form = ctx.form
    lam = np.array(lam_ref, dtype=np.float64)
    lam[form.is_product] = s * lam[form.is_product]
    return form.project(lam), s * np.asarray(rho_ref, dtype=np.float64)


def _grid_init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    opt = resolve_options("penalty-grid", GRID_DEFAULTS, options)
    sc = opt["scales"]
    if (
        not isinstance(sc, (list, tuple))
        or not sc
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v > 0 for v in sc
        )
    ):
        raise OptionError(f"penalty-grid scales must be a non-empty list of positive numbers, got {sc!r}")
    opt["scales"] = [float(v) for v in sc]
    for key in ("steps_per_scale", "top"):
        v = opt[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise OptionError(f"penalty-grid {key} must be an integer >= 1, got {v!r}")
    ms = {
        "t": 0,
        "lam_ref": np.asarray(lam, dtype=np.float64).tolist(),
        "rho_ref": np.asarray(rho, dtype=np.float64).tolist(),
        "seen": [],  # per grid step: [scale, feasible share, [[objective, count], ...]]
        "chosen": None,
    }
    return opt, ms


def _grid_start(
    ctx: MethodContext, opt: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return _scaled(ctx, lam, rho, opt["scales"][0])


def _grid_update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    opt = state.options
    ms = dict(state.method_state)
    t = int(ms["t"]) + 1
    ms["t"] = t
    scales, k = opt["scales"], int(opt["steps_per_scale"])
    n_grid = len(scales) * k
    lam_ref, rho_ref = np.asarray(ms["lam_ref"]), np.asarray(ms["rho_ref"])
    if ms["chosen"] is not None:
        return Update(state.lam, ms, 0.0, f"penalty scale {ms['chosen']:g}")
    # this step sampled scale scales[(t - 1) // k]: keep its best feasible values
    prog = ctx.form.program
    feas = prog.is_feasible(obs.X)
    total = float(obs.counts.sum())
    hist: dict[float, int] = {}
    if feas.any():
        for v, c in zip(prog.objective(obs.X[feas]), obs.counts[feas], strict=True):
            hist[float(v)] = hist.get(float(v), 0) + int(c)
    top = sorted(hist.items())[: int(opt["top"])]
    share = float(obs.counts[feas].sum() / max(total, 1.0))
    ms["seen"] = [*ms["seen"], [scales[(t - 1) // k], share, [[v, c, total] for v, c in top]]]
    if t < n_grid:
        lam, rho = _scaled(ctx, lam_ref, rho_ref, scales[t // k])
        return Update(lam, ms, 0.0, f"grid: next scale {scales[t // k]:g}", rho=rho, reset_cuts=True)
    # choose: most shots at the best feasible value seen anywhere in the grid
    values = [v for _, _, top_s in ms["seen"] for v, _, _ in top_s]
    best = min(values) if values else None
    score: dict[float, list[float]] = {}
    for s, share_s, top_s in ms["seen"]:
        hit = (
            0.0
            if best is None
            else sum(c / tot for v, c, tot in top_s if v <= best + 1e-9 * max(1.0, abs(best)))
        )
        acc = score.setdefault(s, [0.0, 0.0])
        acc[0] += hit / k
        acc[1] += share_s / k
    chosen = max(scales, key=lambda s: (score[s][0], score[s][1], -scales.index(s)))
    ms["chosen"] = chosen
    ms["scores"] = [[s, score[s][0], score[s][1]] for s in scales]
    lam, rho = _scaled(ctx, lam_ref, rho_ref, chosen)
    return Update(lam, ms, 0.0, f"grid done: scale {chosen:g}", rho=rho, reset_cuts=True)


FIXED = Method("fixed-penalty", {}, _init("fixed-penalty"), _update, doc=__doc__ or "")
UNBALANCED = Method(
    "unbalanced", UNBALANCED_DEFAULTS, _unbalanced_init, _update, start=_unbalanced_start, doc=__doc__ or ""
)
GRID = Method("penalty-grid", GRID_DEFAULTS, _grid_init, _grid_update, start=_grid_start, doc=__doc__ or "")
SLACK = Method("slack-penalty", {}, _init("slack-penalty"), _update, slack_qubo=True, doc=__doc__ or "")
