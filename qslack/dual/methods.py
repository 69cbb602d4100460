"""Multiplier-update methods, one registry (as ``scipy.optimize.minimize(method=...)``).

Every method sees the solver (``lam``, ``rho``, cuts, best values) and, after
each step, updates ``lam`` (and ``rho``) in place.  Options are validated:
unknown ones raise :class:`~qslack.exceptions.OptionError`.

- ``subgradient``: projected ascent; ``step="polyak"`` (target: best feasible
  value; falls back to the diminishing step when the numerator is not positive
  — QAOA's value estimate can overshoot — and skips a zero subgradient) or
  ``"diminishing"`` (``a0 / sqrt(t)`` along ``g / ||g||``); ``stochastic=True``
  uses the count-weighted mean of ``g`` over the CVaR tail of the samples.
- ``cutting-plane``: Kelley — maximise the cut model over a box derived from
  the data (an LP, HiGHS through scipy), widened where the answer touches it.
- ``bundle``: proximal bundle — the model minus ``mu/2 ||lam - center||^2``
  (a QP solved by HiGHS through highspy); serious/null steps, ``mu`` adapted.
- ``augmented-lagrangian``: ``lam <- proj(lam + rho g)``; ``rho`` grown by
  ``growth`` when the violation fails to fall by ``decrease``.
- ``fixed-penalty`` / ``slack-penalty``: baselines, no updates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.exceptions import OptionError

__all__ = ["METHODS", "make_method", "multiplier_box"]


def multiplier_box(solver: Any) -> tuple[np.ndarray, np.ndarray]:
    """A box holding the optimal multipliers, derived from the data.

    ``U_k = F / s_k`` with ``F = sum|c| + sum|Q|`` (the objective's range) and
    ``s_k = |b_k|`` on inequality rows with ``b_k > 0`` (for MDKP this is
    ``sum(p) / b_k``), else the smallest nonzero ``|a_k|``.  Free rows get
    ``[-U, U]``, sign-constrained rows ``[0, U]``.
    """
    form = solver.form
    p = form.program
    F = float(np.abs(p.c).sum() + np.abs(p.Q).sum()) + 1.0
    U = np.empty(p.n_cons)
    for k in range(p.n_cons):
        nz = np.abs(p.A[k][p.A[k] != 0])
        s = nz.min() if nz.size else 1.0
        if not form.is_equality[k] and p.b[k] > 0:
            s = max(s, p.b[k])
        U[k] = F / s
    lo = np.where(np.isfinite(form.lam_lower), form.lam_lower, -U)
    return lo, U


def _quiet_highs(highspy: Any) -> Any:
    """A ``Highs`` object; its one-time copyright banner (printed to fd 1) goes to /dev/null."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


class Method:
    """Base: options, update, state."""

    name = ""
    defaults: dict[str, Any] = {}  # noqa: RUF012 - per-class constant

    def __init__(self, solver: Any, options: dict[str, Any]) -> None:
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise OptionError(
                f"method {self.name!r} got unknown option(s) {sorted(unknown)}; "
                f"accepted: {sorted(self.defaults)}"
            )
        self.solver = solver
        self.opt = {**self.defaults, **options}
        self.t = 0
        self._converged = False
        self._message = ""

    def update(self, stats: dict[str, Any]) -> tuple[float, str]:
        """Update ``solver.lam`` / ``solver.rho`` after a step; return ``(step size, note)``."""
        self.t += 1
        return 0.0, "fixed"

    def extend(self, k: int) -> None:
        """``k`` constraint rows were added (lazy rows): grow per-row state."""

    def converged(self) -> bool:
        """Whether the method proved it can stop (exact oracle only)."""
        return self._converged

    def converged_message(self) -> str:
        """Why it stopped."""
        return self._message

    def state(self) -> dict[str, Any]:
        """JSON-able method state."""
        return {"t": self.t}

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.t = int(state["t"])

    # helpers
    def _project(self, lam: np.ndarray) -> np.ndarray:
        return self.solver.form.project(lam)

    def _direction(self, stats: dict[str, Any]) -> np.ndarray:
        return np.asarray(stats["g_hat"], dtype=np.float64)


class FixedPenalty(Method):
    """Baseline: the slack-free form frozen at ``lam0`` / ``rho0``."""

    name = "fixed-penalty"


class SlackPenalty(Method):
    """Baseline: qiskit-optimization's slack QUBO with its own scalar penalty."""

    name = "slack-penalty"


class Subgradient(Method):
    """Projected subgradient ascent (Polyak or diminishing step; optional stochastic subgradient)."""

    name = "subgradient"
    defaults = {"step": "polyak", "a0": None, "polyak_factor": 1.0, "stochastic": False, "alpha": 0.1}  # noqa: RUF012

    def __init__(self, solver: Any, options: dict[str, Any]) -> None:
        super().__init__(solver, options)
        if self.opt["step"] not in ("polyak", "diminishing"):
            raise OptionError(f"subgradient step must be 'polyak' or 'diminishing', not {self.opt['step']!r}")
        if self.opt["a0"] is None:
            hi = multiplier_box(solver)[1]
            self.opt["a0"] = 0.1 * float(np.median(hi)) if hi.size else 1.0

    def _direction(self, stats: dict[str, Any]) -> np.ndarray:
        if not self.opt["stochastic"]:
            return np.asarray(stats["g_hat"], dtype=np.float64)
        ss = stats["ss"]
        order = np.argsort(ss.energy, kind="stable")
        counts = ss.counts[order].astype(float)
        need = self.opt["alpha"] * counts.sum()
        take = np.minimum(counts, np.maximum(need - (np.cumsum(counts) - counts), 0.0))
        G = self.solver.form.residuals(stats["X"][order])
        return (take[:, None] * G).sum(axis=0) / max(take.sum(), 1e-12)

    def update(self, stats: dict[str, Any]) -> tuple[float, str]:
        self.t += 1
        g = self._direction(stats)
        norm2 = float(g @ g)
        if norm2 <= 1e-18:
            return 0.0, "zero subgradient: step skipped"
        note = "diminishing"
        step = self.opt["a0"] / np.sqrt(self.t) / np.sqrt(norm2)
        target = self.solver.best_obj
        if self.opt["step"] == "polyak" and target is not None:
            num = target - stats["energy"]
            if num > 0:
                step = self.opt["polyak_factor"] * num / norm2
                note = "polyak"
            else:
                note = "polyak overshoot: diminishing"
        self.solver.lam = self._project(self.solver.lam + step * g)
        return float(step), note


class CuttingPlane(Method):
    """Kelley's cutting plane over a data-derived box, widened when the LP answer touches it."""

    name = "cutting-plane"
    defaults = {"tol": 1e-7, "max_widen": 30}  # noqa: RUF012

    def __init__(self, solver: Any, options: dict[str, Any]) -> None:
        super().__init__(solver, options)
        lo, hi = multiplier_box(solver)
        self.lo, self.hi = lo, hi
        self.widened = 0

    def _lp(self) -> tuple[np.ndarray, float]:
        from scipy.optimize import linprog

        cuts = self.solver.cuts
        m = self.solver.form.n_cons
        a = np.array([c[0] for c in cuts])
        G = np.array([c[1] for c in cuts]).reshape(len(cuts), m)
        cost = np.zeros(m + 1)
        cost[-1] = -1.0
        A_ub = np.hstack([-G, np.ones((len(cuts), 1))])
        bounds = [(float(lo), float(hi)) for lo, hi in zip(self.lo, self.hi, strict=True)] + [(None, None)]
        res = linprog(cost, A_ub=A_ub, b_ub=a, bounds=bounds, method="highs")
        if res.status != 0:  # pragma: no cover - the box keeps the LP bounded and feasible
            return self.solver.lam.copy(), float("inf")
        return np.asarray(res.x[:m]), float(-res.fun)

    def update(self, stats: dict[str, Any]) -> tuple[float, str]:
        self.t += 1
        lam_new, model = self._lp()
        note = "kelley"
        span = self.hi - self.lo
        free = ~np.isfinite(self.solver.form.lam_lower)
        at_hi = np.abs(lam_new - self.hi) <= 1e-9 * (1 + span)
        at_lo = free & (np.abs(lam_new - self.lo) <= 1e-9 * (1 + span))
        on_box = at_hi | at_lo
        if on_box.any() and self.widened < self.opt["max_widen"]:
            self.hi = np.where(at_hi, self.hi * 2, self.hi)
            self.lo = np.where(at_lo, self.lo * 2, self.lo)
            self.widened += 1
            note = f"kelley (box widened on {int(on_box.sum())} rows)"
        best_dual = self.solver.dual_bound
        if (
            best_dual is not None
            and self.solver.exact_oracle
            and model - best_dual <= self.opt["tol"] * (1 + abs(best_dual))
        ):
            self._converged, self._message = True, f"cut model within {self.opt['tol']:g} of the dual value"
        step = float(np.linalg.norm(lam_new - self.solver.lam))
        self.solver.lam = self._project(lam_new)
        return step, note

    def extend(self, k: int) -> None:
        lo, hi = multiplier_box(self.solver)
        self.lo = np.concatenate([self.lo, lo[-k:]])
        self.hi = np.concatenate([self.hi, hi[-k:]])

    def state(self) -> dict[str, Any]:
        return {"t": self.t, "lo": self.lo.tolist(), "hi": self.hi.tolist(), "widened": self.widened}

    def load(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        self.lo, self.hi = np.asarray(state["lo"]), np.asarray(state["hi"])
        self.widened = int(state["widened"])


class Bundle(Method):
    """Proximal bundle: serious/null steps, ``mu`` adapted; the QP solved by HiGHS (highspy)."""

    name = "bundle"
    defaults = {  # noqa: RUF012
        "mu": None,
        "m": 0.1,
        "mu_min": 1e-8,
        "mu_max": 1e8,
        "tol": 1e-7,
        "max_cuts": 200,
        "qp_iteration_limit": 5000,
    }

    def __init__(self, solver: Any, options: dict[str, Any]) -> None:
        super().__init__(solver, options)
        self.lo, self.hi = multiplier_box(solver)
        self.center: np.ndarray | None = None
        self.f_center: float | None = None
        self.predicted: float | None = None
        self.mu = self.opt["mu"]
        self.qp_fallbacks = 0

    def _qp(self) -> tuple[np.ndarray, float]:
        import highspy

        cuts = self.solver.cuts[-self.opt["max_cuts"] :]
        m = self.solver.form.n_cons
        k = len(cuts)
        a = np.array([c[0] for c in cuts])
        G = np.array([c[1] for c in cuts]).reshape(k, m)
        assert self.center is not None
        h = _quiet_highs(highspy)
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_ = m + 1
        lp.num_row_ = k
        lp.col_cost_ = np.append(-self.mu * self.center, -1.0)
        lp.col_lower_ = np.append(self.lo, -highspy.kHighsInf)
        lp.col_upper_ = np.append(self.hi, highspy.kHighsInf)
        lp.row_lower_ = np.full(k, -highspy.kHighsInf)
        lp.row_upper_ = a
        M = np.hstack([-G, np.ones((k, 1))])  # t - g.lam <= a
        import scipy.sparse as sp

        csc = sp.csc_matrix(M)
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
        hess.value_ = np.full(m, float(self.mu))
        model.hessian_ = hess
        h.setOptionValue("qp_iteration_limit", int(self.opt["qp_iteration_limit"]))
        h.passModel(model)
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            lam = np.asarray(h.getSolution().col_value)[:m]
        else:
            # HiGHS's active-set QP stalled (badly scaled bundle): take the proximal
            # step of the newest cut alone, lam = center + g / mu, inside the box.
            self.qp_fallbacks += 1
            lam = np.clip(self.center + G[-1] / self.mu, self.lo, self.hi)
        model_val = float(np.min(a + G @ lam)) if k else 0.0
        return lam, model_val

    def update(self, stats: dict[str, Any]) -> tuple[float, str]:
        self.t += 1
        s = self.solver
        value = float(stats["energy"])
        note = "start"
        if self.center is None:
            self.center, self.f_center = s.lam.copy(), value
            if self.mu is None:
                g = np.asarray(stats["g_hat"])
                self.mu = max(float(np.linalg.norm(g)) / max(float(np.median(self.hi)), 1e-9), 1e-6)
        else:
            assert self.f_center is not None and self.predicted is not None
            delta = self.predicted - self.f_center
            if value >= self.f_center + self.opt["m"] * delta:
                self.center, self.f_center = s.lam.copy(), value
                self.mu = max(self.mu / 2, self.opt["mu_min"])
                note = "serious"
            else:
                self.mu = min(self.mu * 2, self.opt["mu_max"])
                note = "null"
        before = self.qp_fallbacks
        lam_new, model_val = self._qp()
        if self.qp_fallbacks > before:
            note += " (QP stalled: proximal step)"
        self.predicted = model_val
        if s.exact_oracle and model_val - self.f_center <= self.opt["tol"] * (1 + abs(self.f_center)):
            self._converged = True
            self._message = f"predicted increase below {self.opt['tol']:g}"
        step = float(np.linalg.norm(lam_new - s.lam))
        s.lam = self._project(lam_new)
        return step, f"{note}, mu={self.mu:.3g}"

    def extend(self, k: int) -> None:
        lo, hi = multiplier_box(self.solver)
        self.lo = np.concatenate([self.lo, lo[-k:]])
        self.hi = np.concatenate([self.hi, hi[-k:]])
        # the cut model restarted: the next step starts a new proximal centre
        self.center, self.f_center, self.predicted = None, None, None

    def state(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "center": None if self.center is None else self.center.tolist(),
            "f_center": self.f_center,
            "predicted": self.predicted,
            "mu": self.mu,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        self.center = None if state["center"] is None else np.asarray(state["center"], dtype=np.float64)
        self.f_center, self.predicted, self.mu = state["f_center"], state["predicted"], state["mu"]


class AugmentedLagrangian(Method):
    """``lam <- proj(lam + rho g)``; ``rho`` grows when the violation does not fall enough.

    Rows with ``rho = 0`` (subtour, product rows) step with ``rho_floor``.
    """

    name = "augmented-lagrangian"
    defaults = {"growth": 2.0, "decrease": 0.25, "rho_floor": None, "rho_max": 1e8}  # noqa: RUF012

    def __init__(self, solver: Any, options: dict[str, Any]) -> None:
        super().__init__(solver, options)
        if self.opt["rho_floor"] is None:
            pos = solver.rho[solver.rho > 0]
            self.opt["rho_floor"] = float(np.median(pos)) if pos.size else 0.5
        self.last_violation: float | None = None

    def update(self, stats: dict[str, Any]) -> tuple[float, str]:
        self.t += 1
        s = self.solver
        g = np.asarray(stats["g_hat"], dtype=np.float64)
        viol = float(np.linalg.norm(np.where(s.form.is_equality & ~s.form.is_product, g, np.maximum(g, 0.0))))
        rho_eff = np.where(s.rho > 0, s.rho, self.opt["rho_floor"])
        s.lam = self._project(s.lam + rho_eff * g)
        note = "multiplier step"
        if (
            self.last_violation is not None
            and viol > (1 - self.opt["decrease"]) * self.last_violation
            and viol > 0
        ):
            s.rho = np.where(s.rho > 0, np.minimum(s.rho * self.opt["growth"], self.opt["rho_max"]), 0.0)
            s.cuts = []  # cuts belong to one fixed rho
            note = f"rho x{self.opt['growth']:g}"
        self.last_violation = viol
        return float(np.linalg.norm(rho_eff * g)), note

    def state(self) -> dict[str, Any]:
        return {"t": self.t, "last_violation": self.last_violation, "rho_floor": self.opt["rho_floor"]}

    def load(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        self.last_violation = state["last_violation"]
        self.opt["rho_floor"] = state["rho_floor"]


METHODS: dict[str, type[Method]] = {
    m.name: m for m in (Subgradient, CuttingPlane, Bundle, AugmentedLagrangian, FixedPenalty, SlackPenalty)
}


def make_method(name: str, solver: Any, options: dict[str, Any]) -> Method:
    """Instantiate method ``name`` from the registry."""
    if name not in METHODS:
        raise OptionError(f"unknown method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](solver, options)
