"""The dual loop's whole state: one frozen, serialisable value.

Every update method is a function of a :class:`DualState` (and of what the
last samples showed); no method writes into a solver object.  A state
round-trips through JSON (:meth:`DualState.to_dict` / :meth:`DualState.from_dict`),
which is what makes a run resumable after a crash and lets hardware jobs
outlive the process.  The per-step history is *not* part of the state: it is
the sequence of :class:`~qslack.dual.result.DualIterate` records that the
driver hands to its sink (the store's ``steps`` table).

All values inside are in the internal (minimisation) sense.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["STATE_VERSION", "Cut", "DualState", "Incumbent"]

STATE_VERSION = 2
"""Layout version written by :meth:`DualState.to_dict` (1 was the pre-0.2 solver's ``state_dict``)."""


def _frozen_array(a: Any, dtype: Any = np.float64) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True).reshape(-1)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Cut:
    """One affine minorant-candidate of the dual function: ``lam -> intercept + g . lam``.

    ``exact`` says whether it came from a step whose inner solve was a proven
    minimiser (only then is ``intercept + g . lam`` the dual value at that
    ``lam``, and model-based stopping rules may trust it).
    """

    intercept: float
    g: np.ndarray
    exact: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "g", _frozen_array(self.g))
        object.__setattr__(self, "intercept", float(self.intercept))
        object.__setattr__(self, "exact", bool(self.exact))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"intercept": self.intercept, "g": self.g.tolist(), "exact": self.exact}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Cut:
        """Inverse of :meth:`to_dict`."""
        return cls(d["intercept"], d["g"], d["exact"])


@dataclass(frozen=True, eq=False)
class Incumbent:
    """A best feasible solution so far (internal sense), or none yet."""

    x: np.ndarray | None = None
    objective: float | None = None
    step: int | None = None

    def __post_init__(self) -> None:
        if self.x is not None:
            object.__setattr__(self, "x", _frozen_array(self.x, np.uint8))

    def better(self, objective: float) -> bool:
        """Whether ``objective`` improves on this incumbent (by more than 1e-12)."""
        return self.objective is None or objective < self.objective - 1e-12

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "x": None if self.x is None else self.x.tolist(),
            "objective": self.objective,
            "step": self.step,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Incumbent:
        """Inverse of :meth:`to_dict`."""
        if not d:
            return cls()
        return cls(d.get("x"), d.get("objective"), d.get("step"))


@dataclass(frozen=True, eq=False)
class DualState:
    """Multipliers, quadratic weights, cut model, method state, incumbents and step.

    Parameters
    ----------
    method : str
        The update method's name (a key of :data:`qslack.dual.METHODS`).
    seed : int
        Seeds every step (:func:`qslack.dual.step_seed`).
    lam, rho : numpy.ndarray
        Multipliers and quadratic weights, one per row of the current program
        (rows added lazily extend them).
    step : int
        Steps done.
    options : dict
        The method's options with every default resolved (so a resumed run
        does not recompute them).
    method_state : dict
        The method's own JSON-able state.
    cuts : tuple of Cut
        The cut model (restarted whenever ``rho`` or the row set changes).
    best, best_repaired : Incumbent
        Best feasible raw sample, and best after problem repair.
    dual_bound : float or None
        Best certified dual value (exact oracle, rho-terms vanishing on
        feasible points).
    dual_estimate : float or None
        Best ``H(x_hat)`` seen: an estimate of the dual value unless exact.
    params : dict or None
        The sampler's variational parameters of the last step (warm start).
    rows : tuple of dict
        Row specs added lazily, in order (opaque: only the problem's hooks read them).
    converged : str or None
        Why the method proved it may stop, once it has.
    """

    method: str
    seed: int
    lam: np.ndarray
    rho: np.ndarray
    step: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    method_state: Mapping[str, Any] = field(default_factory=dict)
    cuts: tuple[Cut, ...] = ()
    best: Incumbent = field(default_factory=Incumbent)
    best_repaired: Incumbent = field(default_factory=Incumbent)
    dual_bound: float | None = None
    dual_estimate: float | None = None
    params: Mapping[str, Any] | None = None
    rows: tuple[Mapping[str, Any], ...] = ()
    converged: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lam", _frozen_array(self.lam))
        object.__setattr__(self, "rho", _frozen_array(self.rho))
        if self.lam.shape != self.rho.shape:
            raise ValidationError(f"lam has {self.lam.size} entries, rho {self.rho.size}")
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "step", int(self.step))
        object.__setattr__(self, "cuts", tuple(self.cuts))
        object.__setattr__(self, "rows", tuple(dict(r) for r in self.rows))

    @property
    def incumbent(self) -> np.ndarray | None:
        """The best feasible solution known, raw or repaired (a copy), or None before one.

        Examples
        --------
        >>> s = DualState("margin", seed=0, lam=[0.0], rho=[1.0], best=Incumbent([1, 0], 3.0, 1))
        >>> s.incumbent.tolist(), s.replace(best_repaired=Incumbent([0, 1], 2.0, 1)).incumbent.tolist()
        ([1, 0], [0, 1])
        """
        cands = [b for b in (self.best_repaired, self.best) if b.x is not None and b.objective is not None]
        if not cands:
            return None
        return np.array(min(cands, key=lambda b: b.objective).x)

    def replace(self, **changes: Any) -> DualState:
        """A copy with ``changes`` applied (the state itself never changes)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ serialise
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to continue, JSON-able.

        Examples
        --------
        >>> s = DualState("bundle", seed=3, lam=[0.0, 1.0], rho=[2.0, 2.0])
        >>> DualState.from_dict(s.to_dict()) == s
        True
        """
        return {
            "version": STATE_VERSION,
            "method": self.method,
            "seed": self.seed,
            "step": self.step,
            "lam": self.lam.tolist(),
            "rho": self.rho.tolist(),
            "options": dict(self.options),
            "method_state": dict(self.method_state),
            "cuts": [c.to_dict() for c in self.cuts],
            "best": self.best.to_dict(),
            "best_repaired": self.best_repaired.to_dict(),
            "dual_bound": self.dual_bound,
            "dual_estimate": self.dual_estimate,
            "params": None if self.params is None else dict(self.params),
            "rows": [dict(r) for r in self.rows],
            "converged": self.converged,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DualState:
        """Inverse of :meth:`to_dict`; a state of another layout version is refused in one line."""
        version = d.get("version")
        if version != STATE_VERSION:
            raise ValidationError(
                f"solver state of layout version {version!r}; this qslack reads version {STATE_VERSION} "
                "(a run stored by qslack 0.1 cannot be resumed: start it again)"
            )
        return cls(
            method=d["method"],
            seed=d["seed"],
            lam=d["lam"],
            rho=d["rho"],
            step=d["step"],
            options=d.get("options") or {},
            method_state=d.get("method_state") or {},
            cuts=tuple(Cut.from_dict(c) for c in d.get("cuts") or ()),
            best=Incumbent.from_dict(d.get("best")),
            best_repaired=Incumbent.from_dict(d.get("best_repaired")),
            dual_bound=d.get("dual_bound"),
            dual_estimate=d.get("dual_estimate"),
            params=d.get("params"),
            rows=tuple(d.get("rows") or ()),
            converged=d.get("converged"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DualState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
