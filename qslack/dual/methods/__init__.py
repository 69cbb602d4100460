"""Multiplier-update methods: one registry, one file per method, each a function of explicit state.

As ``scipy.optimize.minimize(method=...)``, a method is chosen by name from
:data:`METHODS`.  A :class:`Method` is a bundle of plain functions:

- ``init(ctx, options, lam, rho) -> (options, method_state)`` resolves the
  options' defaults (unknown options are an :class:`~qslack.exceptions.OptionError`)
  and returns the method's initial JSON-able state;
- ``update(state, obs, ctx) -> Update`` reads the :class:`~qslack.dual.state.DualState`
  (which already holds this step's cut and incumbents) and what the samples
  showed (:class:`Observation`), and returns the new multipliers — it never
  writes into anything;
- ``extend(state, ctx, k) -> method_state`` after ``k`` rows were added lazily;
- ``start(ctx, options, lam, rho) -> (lam, rho)`` (optional) sets the multipliers
  of step 0 from the resolved options (the fixed QUBOs of the baselines).

Methods: ``subgradient``, ``cutting-plane``, ``bundle``, ``augmented-lagrangian``,
``margin`` (multipliers that make the best known solution the ground state with
the largest margin in units of the QAOA phase scale), and the baselines
``fixed-penalty`` (no updates), ``unbalanced`` (Montañez-Barrera et al.'s fixed
unbalanced penalisation), ``penalty-grid`` (the best of a few penalty scales,
chosen on the run's own budget) and ``slack-penalty`` (qiskit-optimization's
slack QUBO instead of the slack-free form).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.exceptions import OptionError
from qslack.model.lagrangian import LagrangianForm

__all__ = ["METHODS", "Method", "MethodContext", "Observation", "Update", "get_method", "resolve_options"]


@dataclass(frozen=True)
class MethodContext:
    """What a method may know besides the state: the current form (lazy rows included)."""

    form: LagrangianForm


@dataclass(frozen=True, eq=False)
class Observation:
    """What this step's samples showed.

    ``g_hat``, ``energy`` and ``f_hat`` belong to the lowest-energy sample
    ``x_hat`` (``energy = H(x_hat; lam, rho)``); ``X`` holds every distinct
    sample (program columns) with ``counts`` and ``energies``; ``exact`` says
    whether ``x_hat`` is a proven minimiser of this step's QUBO.
    """

    g_hat: np.ndarray
    energy: float
    f_hat: float
    X: np.ndarray
    counts: np.ndarray
    energies: np.ndarray
    exact: bool


@dataclass(frozen=True, eq=False)
class Update:
    """A method's answer: new multipliers (and weights), its new state, and what it did."""

    lam: np.ndarray
    method_state: Mapping[str, Any]
    step_size: float = 0.0
    note: str = ""
    rho: np.ndarray | None = None
    reset_cuts: bool = False
    converged: str | None = None


StartFn = Callable[[MethodContext, dict[str, Any], np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _no_extend(state: Any, ctx: MethodContext, k: int) -> Mapping[str, Any]:
    return state.method_state


@dataclass(frozen=True)
class Method:
    """A multiplier-update method of the registry."""

    name: str
    defaults: Mapping[str, Any]
    init: Callable[[MethodContext, dict[str, Any], np.ndarray, np.ndarray], tuple[dict[str, Any], dict]]
    update: Callable[[Any, Observation, MethodContext], Update]
    extend: Callable[[Any, MethodContext, int], Mapping[str, Any]] = _no_extend
    slack_qubo: bool = False
    start: StartFn | None = None
    doc: str = field(default="", compare=False)


def resolve_options(name: str, defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated by ``options``; an unknown option is an error naming the accepted ones."""
    unknown = set(options) - set(defaults)
    if unknown:
        raise OptionError(
            f"method {name!r} got unknown option(s) {sorted(unknown)}; accepted: {sorted(defaults)}"
        )
    return {**defaults, **options}


def _registry() -> dict[str, Method]:
    from qslack.dual.methods import augmented, bundle, cutting_plane, margin, penalty, subgradient

    methods = (
        subgradient.METHOD,
        cutting_plane.METHOD,
        bundle.METHOD,
        augmented.METHOD,
        margin.METHOD,
        penalty.FIXED,
        penalty.UNBALANCED,
        penalty.GRID,
        penalty.SLACK,
    )
    return {m.name: m for m in methods}


METHODS: dict[str, Method] = _registry()
"""Every method by name."""


def get_method(name: str) -> Method:
    """The method ``name``; an unknown name is an :class:`~qslack.exceptions.OptionError`."""
    if name not in METHODS:
        raise OptionError(f"unknown method {name!r}; choose from {', '.join(sorted(METHODS))}")
    return METHODS[name]
