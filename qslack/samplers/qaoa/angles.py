"""QAOA angle conventions: ``theta = [gamma_1..gamma_p, beta_1..beta_p]``.

Angles act on the cost scaled by its largest Ising coefficient (DESIGN.md), so
they transfer between instances and between steps of the dual loop.  A layer
is ``exp(-i beta M) exp(-i gamma H / scale)`` with the initial state the top
eigenstate of the mixer ``M`` (:mod:`~qslack.samplers.qaoa.ansatz`), so the
annealing direction for minimising ``H`` is ``gamma > 0``, ``beta < 0``.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["LR_SLOPES", "as_theta", "interpolate", "join", "linear_ramp", "lr_schedule", "split"]

#: default LR-QAOA slopes ``(dgamma, dbeta)`` (a choice, see :func:`lr_schedule`)
LR_SLOPES = (0.6, 0.3)


def linear_ramp(p: int, dt: float = 0.75) -> np.ndarray:
    """Trotterised-annealing start: ``gamma_l = (l - 1/2) dt / p``, ``beta_l = (1 - (l - 1/2)/p) dt``.

    Examples
    --------
    >>> linear_ramp(2, dt=1.0).round(3).tolist()
    [0.25, 0.75, 0.75, 0.25]
    """
    if p < 1:
        raise ValidationError(f"QAOA depth p must be >= 1, got {p}")
    f = (np.arange(p) + 0.5) / p
    return np.concatenate([f * dt, (1.0 - f) * dt])


def lr_schedule(p: int, dgamma: float = LR_SLOPES[0], dbeta: float = LR_SLOPES[1]) -> np.ndarray:
    """LR-QAOA's fixed linear ramp (Montanez-Barrera & Michielsen, arXiv:2405.09169), in our convention.

    The paper's layer ``k = 0..p-1`` is ``exp(+i beta_k sum X) exp(-i gamma_k H_C)``
    (``RX(-2 beta_k)``) with ``gamma_k = (k + 1) / p * dgamma`` and
    ``beta_k = (1 - k / p) * dbeta``.  Our mixer is ``exp(-i beta X)``, so the
    same circuit has ``beta_k = -(1 - k / p) * dbeta`` here; the cost is ``H``
    divided by its largest Ising coefficient in both.  The default slopes
    ``LR_SLOPES`` are our choice (the paper scans them per problem class;
    metriq-gym's LR-QAOA benchmark defaults to ``0.3, 0.3``).

    Examples
    --------
    >>> lr_schedule(4, dgamma=1.0, dbeta=1.0).tolist()
    [0.25, 0.5, 0.75, 1.0, -1.0, -0.75, -0.5, -0.25]
    """
    p = int(p)
    if p < 1:
        raise ValidationError(f"QAOA depth p must be >= 1 for a ramp, got {p}")
    k = np.arange(p, dtype=np.float64)
    return np.concatenate([(k + 1.0) / p * float(dgamma), -(1.0 - k / p) * float(dbeta)])


def split(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(gammas, betas)`` of a flat angle vector."""
    theta = np.asarray(theta, dtype=np.float64)
    p = theta.size // 2
    return theta[:p], theta[p:]


def join(gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Flat ``[gammas, betas]``."""
    return np.concatenate([np.asarray(gammas, float), np.asarray(betas, float)])


def interpolate(theta: np.ndarray, p_new: int) -> np.ndarray:
    """Resample a depth-``p`` schedule to depth ``p_new`` by linear interpolation (INTERP).

    Examples
    --------
    >>> interpolate(np.array([0.2, 0.6]), 1).tolist()
    [0.2, 0.6]
    >>> interpolate(np.array([0.1, 0.3, 0.5, 0.1]), 3).round(3).tolist()
    [0.1, 0.2, 0.3, 0.5, 0.3, 0.1]
    """
    g, b = split(theta)
    p = g.size
    if p == p_new:
        return np.asarray(theta, float).copy()
    x_old = np.linspace(0.0, 1.0, p) if p > 1 else np.array([0.5])
    x_new = np.linspace(0.0, 1.0, p_new) if p_new > 1 else np.array([0.5])
    if p == 1:
        return join(np.full(p_new, g[0]), np.full(p_new, b[0]))
    return join(np.interp(x_new, x_old, g), np.interp(x_new, x_old, b))


def as_theta(init: object, p: int) -> np.ndarray:
    """Angles from ``init``: None (ramp), a flat vector of any even length, or a dict with
    ``gammas``/``betas`` (e.g. an earlier SampleSet's ``info["angles"]``); resampled to depth ``p``
    (:func:`interpolate`).  ``p = 0`` has no angles: an empty vector, whatever ``init``.

    Examples
    --------
    >>> as_theta({"gammas": [0.2], "betas": [-0.4]}, 2).tolist()
    [0.2, 0.2, -0.4, -0.4]
    >>> as_theta(None, 0).size
    0
    """
    if p == 0:
        return np.zeros(0)
    if init is None:
        return linear_ramp(p)
    if isinstance(init, dict):
        if "theta" in init:
            init = init["theta"]
        else:
            init = join(init["gammas"], init["betas"])
    theta = np.asarray(init, dtype=np.float64).reshape(-1)
    if theta.size < 2 or theta.size % 2 or not np.all(np.isfinite(theta)):
        raise ValidationError(f"init angles must be 2p finite numbers, got {theta.size}")
    return interpolate(theta, p)
