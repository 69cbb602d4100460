"""CP-SAT as an exact QUBO oracle beyond brute force.

The QUBO ``sum_i Q_ii x_i + sum_{i<j} Q_ij x_i x_j + offset`` becomes a 0/1
integer program: one Boolean ``x_i`` per variable and one Boolean ``y_ij`` per
non-zero off-diagonal ``Q_ij``, tied to the product by the three clauses

    y_ij -> x_i,    y_ij -> x_j,    (x_i and x_j) -> y_ij

which are the standard linearisation ``y <= x_i, y <= x_j,
y >= x_i + x_j - 1`` written as clauses.  For 0/1 variables these three
inequalities describe the convex hull of ``{(x_i, x_j, x_i x_j)}``, so no
formulation of a single product is tighter; as clauses they go to CP-SAT's
SAT core (unit propagation, clause learning) *and* to its LP relaxation,
whereas ``AddMultiplicationEquality`` is a non-linear constraint that is only
bound-propagated and linearised less tightly.  All three clauses are kept
(not only the side the sign of ``Q_ij`` needs) so ``y_ij = x_i x_j`` holds in
every solution CP-SAT reports, and its objective is the energy of that
solution.  The LP relaxation does most of the work on these models:
``linearization_level=2`` (the ``max_lp`` worker) proves optimality in
milliseconds where CP-SAT's default portfolio on two workers times out.

CP-SAT needs integer coefficients.  They are scaled by the smallest
``10**k`` (``k <= 9``) that makes every coefficient integral (up to float
noise); otherwise they are multiplied by ``scale`` and rounded, and the bound
is widened by the worst rounding error so that it stays valid.  Energies are
always recomputed from the QUBO, never read from the scaled objective.

OR-Tools is imported inside the methods, never at module import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from qslack._cpsat import Scaled, new_solver, solve, to_integers
from qslack._rng import normalize_seed
from qslack.exceptions import DependencyError, QslackError, ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["CPSATSampler"]

_MAX_DIGITS = 9
# Workers, best first, given to CP-SAT's portfolio when ``workers >= 2``.
_SUBSOLVERS = (
    "max_lp",
    "core",
    "default_lp",
    "quick_restart",
    "reduced_costs",
    "pseudo_costs",
    "lb_tree_search",
    "no_lp",
    "probing",
)


@dataclass(frozen=True)
class _Terms:
    """The QUBO's non-zero terms: ``coef * x_i * x_j`` (``i == j`` is linear)."""

    i: np.ndarray
    j: np.ndarray
    coef: np.ndarray


def _terms(qubo: QUBO) -> _Terms:
    """Diagonal and strictly-upper non-zeros of ``Q``, without densifying a sparse ``Q``."""
    if qubo.is_sparse:
        coo = qubo.Q.tocoo(copy=True)
        coo.sum_duplicates()
        i, j, v = coo.row, coo.col, coo.data
    else:
        i, j = np.nonzero(qubo.Q)
        v = qubo.Q[i, j]
    keep = (v != 0) & (i <= j)
    order = np.lexsort((j[keep], i[keep]))
    return _Terms(
        np.asarray(i[keep][order], dtype=np.int64),
        np.asarray(j[keep][order], dtype=np.int64),
        np.asarray(v[keep][order], dtype=np.float64),
    )


def _check_positive(name: str, value: Any, *, integer: bool) -> None:
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValidationError(f"{name} must be an integer >= 1, got {value!r}")
    elif (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(f"{name} must be a positive finite number, got {value!r}")


def _cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError("CPSATSampler needs the 'ortools' package: pip install ortools") from exc
    return cp_model


class CPSATSampler(Sampler):
    """Exact QUBO minimisation with OR-Tools CP-SAT.

    Parameters
    ----------
    time_limit : float
        Wall-clock limit of one solve, in seconds.
    workers : int
        CP-SAT search workers.  One worker runs the ``max_lp`` strategy
        (``linearization_level=2``); more run a portfolio led by ``max_lp``
        and ``core`` (plus CP-SAT's LNS helpers).
    n_solutions : int
        How many distinct solutions to return: the best ``n_solutions`` of
        the improving solutions CP-SAT reports on its way to the optimum (not
        the ``n_solutions`` lowest states of the QUBO).
    scale : float, optional
        Multiplier used, with rounding, when no ``10**k`` (``k <= 9``) makes
        every coefficient integral (up to ``1e-12`` relative float noise);
        default: the largest power of ten that keeps the sum of
        the scaled magnitudes within ``2**50``, which makes the rounding
        error negligible.
    deterministic_time : float, optional
        CP-SAT's ``max_deterministic_time`` (its own work units, about a
        second each on a typical core): a limit that stops the search at the
        same point on every machine, so a stopped solve is reproducible for a
        given seed (with ``workers=1`` or ``deterministic=True``).
    deterministic : bool
        With ``workers >= 2``, run CP-SAT's ``interleave_search`` so that a
        seed gives the same answer whatever the thread timing (a solve that
        completes before ``time_limit``).  ``False`` runs the free parallel
        portfolio: often several times faster on hard models, but among
        equal-energy optima the one returned may vary from run to run.

    Notes
    -----
    ``info`` holds ``backend`` (``"cpsat"``), ``status`` (``"OPTIMAL"``,
    ``"FEASIBLE"`` or ``"UNKNOWN"`` when the limit struck before any
    solution: the all-zero state is then returned), ``bound`` (a valid lower
    bound on the energy, offset included; widened by the worst rounding error
    when the scaling was inexact), ``proven_optimal`` (the lowest energy
    returned meets ``bound``, so it is the QUBO's ground energy), ``exact``
    (the coefficients were represented exactly *and* CP-SAT proved
    optimality), ``scale``, ``wall_s``, ``seed`` (the seed used; drawn at
    random when ``seed=None``), ``time_limit``, ``workers``,
    ``n_solutions``.  A solve stopped by ``time_limit`` depends on the
    machine's speed and is not reproducible.

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]), offset=0.5)
    >>> ss = CPSATSampler(time_limit=5.0).sample(q, seed=0)
    >>> ss.X[0].tolist(), float(ss.energy[0]), ss.info["proven_optimal"], ss.info["bound"]
    ([1, 1], -0.5, True, -0.5)
    """

    parameters: ClassVar[dict[str, str]] = {
        "time_limit": "wall-clock limit in seconds",
        "workers": "number of CP-SAT search workers",
        "n_solutions": "number of distinct improving solutions returned",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "cpsat", "exact": True}

    def __init__(
        self,
        time_limit: float = 10.0,
        workers: int = 2,
        n_solutions: int = 1,
        scale: float | None = None,
        *,
        deterministic_time: float | None = None,
        deterministic: bool = True,
    ) -> None:
        _check_positive("time_limit", time_limit, integer=False)
        _check_positive("workers", workers, integer=True)
        _check_positive("n_solutions", n_solutions, integer=True)
        if scale is not None:
            _check_positive("scale", scale, integer=False)
        self.time_limit = float(time_limit)
        self.workers = int(workers)
        self.n_solutions = int(n_solutions)
        self.scale = None if scale is None else float(scale)
        self.deterministic = bool(deterministic)
        if deterministic_time is not None:
            _check_positive("deterministic_time", deterministic_time, integer=False)
        self.deterministic_time = None if deterministic_time is None else float(deterministic_time)

    def config(self) -> dict[str, Any]:
        """Every setting that changes the samples."""
        return {
            "sampler": "cpsat",
            "time_limit": self.time_limit,
            "workers": self.workers,
            "n_solutions": self.n_solutions,
            "scale": self.scale,
            "deterministic": self.deterministic,
            "deterministic_time": self.deterministic_time,
        }

    def __repr__(self) -> str:
        return (
            f"CPSATSampler(time_limit={self.time_limit}, workers={self.workers}, "
            f"n_solutions={self.n_solutions}, scale={self.scale}, deterministic={self.deterministic})"
        )

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Minimise ``qubo`` with CP-SAT; see the class docstring for ``info``.

        Parameters
        ----------
        qubo : QUBO
        seed : int, optional
            CP-SAT's ``random_seed`` (taken modulo ``2**31``); ``None`` draws one.
        **options
            ``time_limit``, ``workers``, ``n_solutions`` override the
            constructor's values for this call.
        """
        self._check_options(options)
        time_limit = options.get("time_limit", self.time_limit)
        workers = options.get("workers", self.workers)
        n_solutions = options.get("n_solutions", self.n_solutions)
        _check_positive("time_limit", time_limit, integer=False)
        _check_positive("workers", workers, integer=True)
        _check_positive("n_solutions", n_solutions, integer=True)
        seed = normalize_seed(seed)

        t0 = self._timer()
        cp_model = _cp_model()
        n = qubo.n_vars
        terms = _terms(qubo)
        if terms.coef.size:
            sc = to_integers(
                terms.coef, max_digits=_MAX_DIGITS, fallback_scale=self.scale, what="QUBO coefficients"
            )
        else:
            sc = Scaled(np.zeros(0, dtype=np.int64), 1.0, True, np.zeros(0))

        model = cp_model.CpModel()
        x = [model.new_bool_var(f"x{i}") for i in range(n)]
        lits: list[Any] = []
        coefs: list[int] = []
        for i, j, c in zip(terms.i.tolist(), terms.j.tolist(), sc.ints.tolist(), strict=True):
            if c == 0:
                continue
            if i == j:
                lits.append(x[i])
            else:
                y = model.new_bool_var(f"y{i}_{j}")
                model.add_implication(y, x[i])
                model.add_implication(y, x[j])
                model.add_bool_or([~x[i], ~x[j], y])
                lits.append(y)
            coefs.append(c)
        model.minimize(cp_model.LinearExpr.weighted_sum(lits, coefs))

        solver = new_solver(time_limit, workers, seed)
        prm = solver.parameters
        if self.deterministic_time is not None:
            prm.max_deterministic_time = self.deterministic_time
        if workers == 1:
            prm.linearization_level = 2
        else:
            prm.subsolvers.extend(_SUBSOLVERS[: int(workers)])
            prm.interleave_search = self.deterministic

        found: list[tuple[int, ...]] = []
        if n_solutions > 1:

            class _Collect(cp_model.CpSolverSolutionCallback):
                def on_solution_callback(self) -> None:
                    found.append(tuple(int(self.boolean_value(v)) for v in x))

            status = solve(solver, model, _Collect())
        else:
            status = solve(solver, model)
        status_name = str(solver.status_name(status))
        if status_name in ("MODEL_INVALID", "INFEASIBLE"):  # pragma: no cover - cannot happen for a QUBO
            raise QslackError(f"CP-SAT reported {status_name} on a QUBO model")

        if status_name in ("OPTIMAL", "FEASIBLE"):
            found.append(tuple(int(solver.boolean_value(v)) for v in x))
            bound_scaled = float(solver.best_objective_bound)
            bound_scaled = math.ceil(bound_scaled - 1e-6) if math.isfinite(bound_scaled) else bound_scaled
        else:
            found = [(0,) * n]
            bound_scaled = -math.inf
        bound = bound_scaled / sc.scale + qubo.offset + float(np.minimum(sc.err, 0.0).sum())

        X = np.unique(np.asarray(found, dtype=np.uint8).reshape(len(found), n), axis=0)
        ss = SampleSet.from_samples(X, qubo).lowest(int(n_solutions))
        best = float(ss.energy[0])
        # 1e-9 relative to the largest |E(x) - offset| any state can have, plus float noise
        tol = 1e-9 * float(np.abs(terms.coef).sum()) + 1e-15 * abs(qubo.offset)
        proven = bool(status_name == "OPTIMAL" and best - bound <= tol)
        if proven and sc.exact:
            bound = best  # equal up to float noise: report the energy itself
        ss.info.update(
            {
                "backend": "cpsat",
                "status": status_name,
                "proven_optimal": proven,
                "bound": bound,
                "exact": bool(sc.exact and status_name == "OPTIMAL"),
                "scale": sc.scale,
                "seed": seed,
                "time_limit": float(time_limit),
                "workers": int(workers),
                "n_solutions": int(n_solutions),
                "deterministic": self.deterministic,
                "deterministic_time": self.deterministic_time,
                "n_terms": len(coefs),
                "circuit_evals": 0,
                "shots_total": 0,
                "wall_s": self._timer() - t0,
            }
        )
        return replace(ss, exact=bool(sc.exact and proven))
