"""CP-SAT plumbing shared by the QUBO sampler and the native-problem baselines.

- :func:`to_integers`: CP-SAT needs integer coefficients.  Values are scaled
  by the smallest ``10**k`` (``k <= max_digits``) that makes every one of them
  integral (up to float noise); otherwise they are multiplied by a fallback
  scale and rounded, and the rounding errors are returned so that callers can
  widen their bounds.  The sum of the scaled magnitudes stays below ``2**53``
  (exact in a double, far from CP-SAT's int64 limits).
- :func:`new_solver` / :func:`solve`: a solve that Ctrl-C can interrupt.  CP-SAT
  installs its own C-level SIGINT handler, which swallows Ctrl-C (the search
  stops quietly) or, once the solve is over, leaves the process to die on the
  next one without saving.  Here the handler is off and the solve runs in a
  worker thread (CP-SAT releases the GIL); a ``KeyboardInterrupt`` in the main
  thread stops the search and is re-raised.

OR-Tools is imported inside the functions, never at module import.

Examples
--------
>>> sc = to_integers(np.array([0.5, 1.25, -3.0]), max_digits=6)
>>> sc.ints.tolist(), sc.scale, sc.exact
([50, 125, -300], 100.0, True)
>>> to_integers(np.array([1 / 3]), max_digits=2, fallback_scale=1e4).ints.tolist()
[3333]
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["Scaled", "new_solver", "solve", "to_integers"]

MAX_SCALED = float(2**53)


@dataclass(frozen=True)
class Scaled:
    """Integer coefficients: ``ints ~= values * scale``; ``err = values - ints / scale``."""

    ints: np.ndarray
    scale: float
    exact: bool
    err: np.ndarray


def _integral(s: np.ndarray, abs_tol: float) -> bool:
    """Every entry an integer up to float noise (relative 1e-12, or ``abs_tol``)."""
    return bool(np.all(np.abs(s - np.rint(s)) <= np.maximum(abs_tol, 1e-12 * np.abs(s))))


def _fits(s: np.ndarray) -> bool:
    return float(np.abs(s).sum()) < MAX_SCALED


def _auto_scale(values: np.ndarray) -> float:
    """Largest power of ten keeping the sum of ``|scaled values|`` within ``2**50``."""
    total = float(np.abs(values).sum())
    if total == 0.0:
        return 1.0
    k = min(math.floor(50 * math.log10(2.0) - math.log10(total)), 300)
    while not _fits(np.rint(values * 10.0**k)):
        k -= 1
    return 10.0**k


def to_integers(
    values: np.ndarray,
    *,
    max_digits: int,
    abs_tol: float = 0.0,
    fallback_scale: float | None = None,
    what: str = "coefficients",
) -> Scaled:
    """Integers for CP-SAT: exact at the smallest ``10**k`` if one works, else rounded.

    Parameters
    ----------
    values : numpy.ndarray
        Finite coefficients.
    max_digits : int
        Largest ``k`` tried for an exact ``10**k``.
    abs_tol : float
        Absolute tolerance of "integral" (besides the relative 1e-12).
    fallback_scale : float, optional
        Scale of the rounded fallback; default the largest power of ten that
        keeps the scaled sum within ``2**50`` (the finest safe rounding).
    what : str
        Named in errors.
    """
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValidationError(f"{what} hold a non-finite value")
    for k in range(max_digits + 1):
        s = v * 10.0**k
        if not _fits(s):
            break
        if _integral(s, abs_tol):
            ints = np.rint(s).astype(np.int64)
            return Scaled(ints, float(10**k), True, v - ints / 10.0**k)
    scale = _auto_scale(v) if fallback_scale is None else float(fallback_scale)
    s = np.rint(v * scale)
    if not _fits(s):
        raise ValidationError(
            f"{what} are too large for exact integer arithmetic after scaling by {scale:g} "
            "(sum of |scaled values| >= 2**53); rescale the data"
        )
    ints = s.astype(np.int64)
    exact = bool(np.all(np.abs(v * scale - s) <= 1e-9))
    return Scaled(ints, scale, exact, v - ints / scale)


def new_solver(time_limit: float, workers: int, seed: int) -> Any:
    """A ``CpSolver`` with qslack's settings: limits, seed, no log, no SIGINT handler of its own."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = float(time_limit)
    prm.num_workers = int(workers)
    prm.random_seed = int(seed) % (2**31)
    prm.log_search_progress = False
    prm.catch_sigint_signal = False
    return solver


def solve(solver: Any, model: Any, callback: Any = None) -> Any:
    """``solver.solve(model)`` in a worker thread, so Ctrl-C stops the search and reaches the caller.

    Outside the main thread the solve simply runs in place.
    """
    solver.parameters.catch_sigint_signal = False
    if threading.current_thread() is not threading.main_thread():
        return solver.solve(model, callback) if callback is not None else solver.solve(model)
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["status"] = solver.solve(model, callback) if callback is not None else solver.solve(model)
        except BaseException as exc:  # pragma: no cover - re-raised below
            out["error"] = exc

    worker = threading.Thread(target=run, name="cp-sat", daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        # a stop that lands before the search has begun is lost (solve() resets it): repeat it
        # until the worker is done
        while worker.ident is not None and worker.is_alive():
            solver.stop_search()
            worker.join(0.05)
        raise
    if "error" in out:
        raise out["error"]
    return out["status"]
