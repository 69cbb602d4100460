"""Cost diagonals at memory speed (numba): one write pass, no intermediate larger than the output.

A basis index ``k = h 2**L + l`` splits into ``L`` low bits ``l`` and the high
bits ``h``.  For ``E(x) = x'Ux + c'x + const`` (``U`` strictly upper)::

    E(h, l) = T(l) + C(h) + sum_{i < L} L_i(h) l_i
    T(l)    = sum_{i<j<L} U_ij l_i l_j + sum_{i<L} c_i l_i           (one table of 2**L, by doubling)
    C(h)    = const + high-bit terms,   L_i(h) = sum_{j >= L} U_ij h_j  (O(n (n - L)) per block)

so each block of ``2**L`` outputs costs a doubling of ``L_i(h)`` in a
cache-resident scratch and two additions per element, and blocks run in
parallel.  ``L = 12`` keeps the table and the scratch (32 KiB each) in L1/L2.
The output may be float64 or float32 and is written minus ``shift`` (a float32
diagonal stored around its midpoint keeps its precision).

Sums are accumulated in float64 in a fixed order, so results do not depend on
the thread count.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["feasible_mask_blocked", "linear_blocked", "quadratic_blocked"]

LOW_BITS = 12


@njit(cache=True)
def _low_table(U, c, L):
    """T[l] = sum_{i<j<L} U_ij l_i l_j + sum_{i<L} c_i l_i for l < 2**L, by doubling."""
    T = np.empty(1 << L)
    lin = np.empty(1 << L)
    T[0] = 0.0
    for j in range(L):
        h = 1 << j
        # lin[k] = c_j + sum_{i<j} U_ij bit_i(k) for k < h, itself by doubling
        lin[0] = c[j]
        for i in range(j):
            s = 1 << i
            u = U[i, j]
            for k in range(s):
                lin[s + k] = lin[k] + u
        for k in range(h):
            T[h + k] = T[k] + lin[k]
    return T


@njit(cache=True)
def _block(U, c, const, n, L, blk, T, lin, Lh, out, shift):
    """out[:2**L] = E(blk, l) - shift for every l (one block)."""
    C = const
    for j in range(L, n):
        if (blk >> (j - L)) & 1:
            C += c[j]
            for i in range(j + 1, n):
                if (blk >> (i - L)) & 1:
                    C += U[j, i]
    for i in range(L):
        acc = 0.0
        for j in range(L, n):
            if (blk >> (j - L)) & 1:
                acc += U[i, j]
        Lh[i] = acc
    lin[0] = 0.0
    for i in range(L):
        s = 1 << i
        v = Lh[i]
        for k in range(s):
            lin[s + k] = lin[k] + v
    C -= shift
    for k in range(1 << L):
        out[k] = T[k] + (lin[k] + C)


@njit(parallel=True, cache=True)
def _quadratic(U, c, const, out, shift, L, nthreads):
    n = c.shape[0]
    T = _low_table(U, c, L)
    nblk = 1 << (n - L)
    nt = max(1, min(nthreads, nblk))
    blen = 1 << L
    for t in prange(nt):
        lin = np.empty(blen)
        Lh = np.empty(max(L, 1))
        for blk in range((t * nblk) // nt, ((t + 1) * nblk) // nt):
            _block(U, c, const, n, L, blk, T, lin, Lh, out[blk * blen : (blk + 1) * blen], shift)


@njit(cache=True)
def _quadratic_serial(U, c, const, out, shift, L):
    n = c.shape[0]
    T = _low_table(U, c, L)
    blen = 1 << L
    lin = np.empty(blen)
    Lh = np.empty(max(L, 1))
    for blk in range(1 << (n - L)):
        _block(U, c, const, n, L, blk, T, lin, Lh, out[blk * blen : (blk + 1) * blen], shift)


_PARALLEL_MIN_BITS = 16  # below, one thread (waking the pool costs more than the work)


def quadratic_blocked(
    U: np.ndarray,
    c: np.ndarray,
    const: float = 0.0,
    *,
    out: np.ndarray | None = None,
    dtype=np.float64,
    shift: float = 0.0,
) -> np.ndarray:
    """``x'Ux + c'x + const - shift`` for every ``x`` in ``{0,1}^n`` (``U`` strictly upper).

    Parameters
    ----------
    U : (n, n) float
        Strictly upper-triangular couplings (the diagonal and lower triangle are ignored).
    c : (n,) float
        Linear coefficients.
    const : float
        Constant term.
    out : (2**n,) float64 or float32 array, optional
        Written in place.
    dtype : numpy dtype
        Output dtype when ``out`` is None (float64 or float32).
    shift : float
        Subtracted from every entry (before rounding to the output dtype).

    Examples
    --------
    >>> U = np.array([[0.0, 2.0], [0.0, 0.0]])
    >>> quadratic_blocked(U, np.array([1.0, -1.0])).tolist()
    [0.0, 1.0, -1.0, 2.0]
    """
    U = np.ascontiguousarray(np.triu(np.asarray(U, dtype=np.float64), 1))
    c = np.ascontiguousarray(c, dtype=np.float64).reshape(-1)
    n = c.shape[0]
    if U.shape != (n, n):
        raise ValueError(f"U has shape {U.shape}, expected ({n}, {n})")
    if out is None:
        out = np.empty(1 << n, dtype=dtype)
    if out.shape != (1 << n,) or out.dtype not in (np.float64, np.float32) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a contiguous float64/float32 array of shape ({1 << n},)")
    if n < _PARALLEL_MIN_BITS or numba.get_num_threads() == 1:
        _quadratic_serial(U, c, float(const), out, float(shift), min(n, LOW_BITS))
    else:
        _quadratic(U, c, float(const), out, float(shift), min(n, LOW_BITS), numba.get_num_threads())
    return out


def linear_blocked(
    a: np.ndarray, const: float = 0.0, *, out: np.ndarray | None = None, dtype=np.float64
) -> np.ndarray:
    """``const + a . x`` for every ``x`` (blocked, parallel).

    Examples
    --------
    >>> linear_blocked(np.array([1.0, 10.0]), 0.5).tolist()
    [0.5, 1.5, 10.5, 11.5]
    """
    a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    n = a.shape[0]
    return quadratic_blocked(np.zeros((n, n)), a, const, out=out, dtype=dtype)


@njit(parallel=True, cache=True)
def _feasible(A, b, is_eq, pu, pv, tol, out, L, nthreads):
    m, n = A.shape
    blen = 1 << L
    nblk = 1 << (n - L)
    # per-row low tables of the linear parts
    T = np.empty((m, blen))
    for k in range(m):
        T[k, 0] = 0.0
        for i in range(L):
            s = 1 << i
            for q in range(s):
                T[k, s + q] = T[k, q] + A[k, i]
    nt = max(1, min(nthreads, nblk))
    for t in prange(nt):
        for blk in range((t * nblk) // nt, ((t + 1) * nblk) // nt):
            o = out[blk * blen : (blk + 1) * blen]
            for q in range(blen):
                o[q] = True
            for k in range(m):
                if pu[k] >= 0:  # product row: infeasible where both bits are set
                    u = pu[k]
                    v = pv[k]
                    for q in range(blen):
                        idx = blk * blen + q
                        if (idx >> u) & 1 and (idx >> v) & 1:
                            o[q] = False
                    continue
                C = -b[k]
                for j in range(L, n):
                    if (blk >> (j - L)) & 1:
                        C += A[k, j]
                if is_eq[k]:
                    for q in range(blen):
                        o[q] = o[q] and abs(T[k, q] + C) <= tol
                else:
                    for q in range(blen):
                        o[q] = o[q] and T[k, q] + C <= tol


def feasible_mask_blocked(
    A: np.ndarray, b: np.ndarray, is_eq: np.ndarray, pairs: np.ndarray, tol: float = 1e-9
) -> np.ndarray:
    """Boolean ``2**n`` mask: every row ``k`` satisfied (``|A_k x - b_k| <= tol`` on
    equalities, ``A_k x - b_k <= tol`` otherwise; rows with ``pairs[k] = (u, v)``,
    ``u >= 0``: not both ``x_u`` and ``x_v``).  No per-row ``2**n`` vector is built.

    Examples
    --------
    >>> A = np.array([[1.0, 1.0]]); b = np.array([1.0])
    >>> feasible_mask_blocked(A, b, np.array([True]), np.full((1, 2), -1)).tolist()
    [False, True, True, False]
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"A must be 2-d, got shape {A.shape}")
    m, n = A.shape
    b = np.ascontiguousarray(b, dtype=np.float64).reshape(m)
    is_eq = np.ascontiguousarray(is_eq, dtype=np.bool_).reshape(m)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(m, 2)
    out = np.empty(1 << n, dtype=np.bool_)
    pu = np.ascontiguousarray(pairs[:, 0])
    pv = np.ascontiguousarray(pairs[:, 1])
    _feasible(A, b, is_eq, pu, pv, float(tol), out, min(n, LOW_BITS), numba.get_num_threads())
    return out
