"""What the final quantum state is worth: probability of the optimum and of feasibility, and more.

Best-of-shots hides everything on small instances (uniform random bitstrings
reach the optimum too), so every step records what the *state* the sampler
ended in puts on the optimum and on feasible solutions:

- ``p_feasible``, ``p_optimal``: total probability of feasible bitstrings and of
  every bitstring whose objective equals the known optimum (all copies of an
  optimal tour count).  Exact from the final statevector's probabilities; from
  the shots otherwise (``estimated_from_shots`` is then True).
- ``approx_ratio_feasible``: the expected objective of the feasible mass over
  the optimum, oriented so that 1 is optimal and smaller is worse
  (``E[f | feasible] / opt`` for maximisation, ``opt / E[f | feasible]`` for
  minimisation).  ``approx_ratio``: the same over the whole distribution with
  infeasible mass scored 0, i.e. ``p_feasible * approx_ratio_feasible`` (as the
  report counts an infeasible seed as worthless).
- ``tts99_shots``: shots to see the optimum at least once with 99 %
  probability, ``ceil(ln 0.01 / ln(1 - p_optimal))`` (None when ``p_optimal`` is 0).
- ``ground_rank``, ``ground_margin`` (n <= 26, optimum known, exact
  diagonal): rank of the best optimal bitstring in the sampled QUBO's energy
  order (1 = the ground state) and the energy gap from it to the best state
  that is infeasible or worse (> 0 means the optimum is the unique ground
  energy level).  With rows the ansatz keeps exactly (an XY mixer's one-hot
  rows) only the states of that subspace are ranked: the others never carry
  amplitude.

Examples
--------
>>> tts99(0.5), tts99(0.0), tts99(1.0)
(7, None, 1)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MAX_RANK_VARS", "approx_ratios", "ground_rank", "state_metrics", "tts99"]

MAX_RANK_VARS = 26
"""Largest number of variables for which ``ground_rank`` / ``ground_margin`` are computed."""


def tts99(p_optimal: float | None) -> int | None:
    """Shots needed to see the optimum once with probability 0.99 (None if it has probability 0)."""
    if p_optimal is None or p_optimal <= 0.0:
        return None
    if p_optimal >= 0.99:
        return 1
    return math.ceil(math.log(0.01) / math.log1p(-p_optimal))


def approx_ratios(
    mean_feasible_native: float | None, p_feasible: float | None, optimum: float | None, sense: str
) -> tuple[float | None, float | None]:
    """``(approx_ratio_feasible, approx_ratio)`` as defined in the module docstring.

    Examples
    --------
    >>> approx_ratios(90.0, 0.5, 100.0, "max")
    (0.9, 0.45)
    >>> approx_ratios(125.0, 1.0, 100.0, "min")
    (0.8, 0.8)
    """
    if mean_feasible_native is None or optimum is None or optimum == 0 or p_feasible is None:
        return None, None
    if sense == "max":
        r = mean_feasible_native / optimum
    else:
        r = optimum / mean_feasible_native if mean_feasible_native != 0 else None
    if r is None:
        return None, None
    return float(r), float(p_feasible * r)


def ground_rank(
    energy: np.ndarray, optimal: np.ndarray, *, tol: float = 1e-9
) -> tuple[int | None, float | None]:
    """``(rank, margin)`` of the optimal states in a ``2**n`` energy vector.

    ``rank`` is one plus the number of states strictly below the lowest
    optimal state's energy; ``margin`` the lowest non-optimal energy minus
    the lowest optimal one.

    Examples
    --------
    >>> e = np.array([3.0, 1.0, 2.0, 5.0])
    >>> ground_rank(e, np.array([False, False, True, False]))
    (2, -1.0)
    >>> ground_rank(e, np.array([False, True, False, False]))
    (1, 1.0)
    """
    if not optimal.any():
        return None, None
    e_opt = float(energy[optimal].min())
    rest = energy[~optimal]
    e_bad = float(rest.min()) if rest.size else math.inf
    slack = tol * max(1.0, abs(e_opt))
    rank = 1 + int(np.count_nonzero(energy < e_opt - slack))
    return rank, e_bad - e_opt


def state_metrics(
    *,
    probabilities: np.ndarray | None,
    feasible_mask: np.ndarray | None,
    objective_diagonal: np.ndarray | None,
    shots_feasible: np.ndarray,
    shots_objective: np.ndarray,
    shots_weight: np.ndarray,
    optimum_internal: float | None,
    native: Any,
    optimum: float | None,
    sense: str,
    energy_diagonal: np.ndarray | None = None,
    subspace: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every metric of the module docstring for one step.

    ``probabilities`` (final state over ``2**N`` basis states, N >= n), with
    the form's ``feasible_mask`` / ``objective_diagonal`` over the program's
    ``2**n`` states, gives exact masses (a wider state, e.g. with slack bits,
    is read through its low ``n`` bits); otherwise the shots
    (``shots_*``: per distinct sample, weights summing to 1) estimate them.
    ``native`` maps internal objective values to the native sense;
    ``subspace`` (a ``2**n`` mask) limits the ranking to the states an ansatz reaches.
    """
    tol_opt = None if optimum_internal is None else 1e-6 * max(1.0, abs(optimum_internal))
    exact = probabilities is not None and feasible_mask is not None and objective_diagonal is not None
    if exact:
        probs = np.asarray(probabilities)
        if probs.size != feasible_mask.size:  # slack QUBO: program bits are the low n bits
            idx = np.arange(probs.size) & (feasible_mask.size - 1)
            feas, obj = feasible_mask[idx], objective_diagonal[idx]
        else:
            feas, obj = feasible_mask, objective_diagonal
        w = probs
    else:
        feas, obj, w = shots_feasible, shots_objective, shots_weight
    p_feas = float(w[feas].sum())
    p_opt = None
    opt_mask = None
    if tol_opt is not None:
        opt_mask = feas & (np.abs(obj - optimum_internal) <= tol_opt)
        p_opt = float(w[opt_mask].sum())
    mean_feas = None
    if p_feas > 0:
        mean_feas = float(native(float((w[feas] @ obj[feas]) / p_feas)))
    ratio_f, ratio = approx_ratios(mean_feas, p_feas, optimum, sense)
    out: dict[str, Any] = {
        "p_feasible": p_feas,
        "p_optimal": p_opt,
        "estimated_from_shots": not exact,
        "approx_ratio_feasible": ratio_f,
        "approx_ratio": ratio,
        "tts99_shots": tts99(p_opt),
        "ground_rank": None,
        "ground_margin": None,
    }
    if (
        energy_diagonal is not None
        and tol_opt is not None
        and feasible_mask is not None
        and objective_diagonal is not None
        and energy_diagonal.size == feasible_mask.size
    ):
        optimal = feasible_mask & (np.abs(objective_diagonal - optimum_internal) <= tol_opt)
        energy = np.asarray(energy_diagonal)
        if subspace is not None:
            energy, optimal = energy[subspace], optimal[subspace]
        out["ground_rank"], out["ground_margin"] = ground_rank(energy, optimal)
    return out
