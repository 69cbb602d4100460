"""Pieces several methods share: the multiplier box, a quiet HiGHS, the cut model as arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qslack.model.lagrangian import LagrangianForm

__all__ = ["cut_arrays", "multiplier_box", "quiet_highs"]


def multiplier_box(form: LagrangianForm) -> tuple[np.ndarray, np.ndarray]:
    """A box holding the optimal multipliers, derived from the data.

    ``U_k = R / s_k`` with ``R = sum|c| + sum|Q| + 1`` (the objective's range)
    and ``s_k = |b_k|`` on inequality rows with ``b_k > 0`` (for MDKP this is
    ``sum(p) / b_k``), else the smallest nonzero ``|a_k|``.  Free rows get
    ``[-U, U]``, sign-constrained rows ``[lam_lower, U]``.

    Examples
    --------
    >>> from qslack.model.program import BinaryProgram
    >>> p = BinaryProgram.from_arrays(c=[-3.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="<=")
    >>> lo, hi = multiplier_box(LagrangianForm(p))
    >>> lo.tolist(), hi.tolist()
    ([0.0], [5.0])
    """
    p = form.program
    R = float(np.abs(p.c).sum() + np.abs(p.Q).sum()) + 1.0
    U = np.empty(p.n_cons)
    for k in range(p.n_cons):
        nz = np.abs(p.A[k][p.A[k] != 0])
        s = nz.min() if nz.size else 1.0
        if not form.is_equality[k] and p.b[k] > 0:
            s = max(s, p.b[k])
        U[k] = R / s
    lo = np.where(np.isfinite(form.lam_lower), form.lam_lower, -U)
    return lo, U


def cut_arrays(cuts: Sequence[Any], m: int) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts ``(k,)`` and slopes ``(k, m)`` of a cut model."""
    a = np.array([c.intercept for c in cuts], dtype=np.float64)
    G = np.array([c.g for c in cuts], dtype=np.float64).reshape(len(cuts), m)
    return a, G


def quiet_highs(highspy: Any) -> Any:
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
