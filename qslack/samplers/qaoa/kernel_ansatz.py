"""Statevector kernel for the structured ansätze of :mod:`~qslack.samplers.qaoa.ansatz` (numba, CPU).

The state after ``p`` layers is::

    |psi> = prod_{l=1..p} U_M(beta_l) exp(-i gamma_l (D + shift) / scale) |s>

with ``|s>`` the ansatz's initial state, ``D`` the cost diagonal and ``U_M`` the
mixer layer of :meth:`Ansatz.mixer_ops` (XY pair rotations inside the one-hot
groups, a general 2x2 per qubit for the warm-start mixer, ``exp(-i beta X)``
on free qubits).  Basis index ``k`` has bit ``j`` = qubit ``j``, as in
:mod:`~qslack.samplers.qaoa.kernel`.

Performance design
------------------
The one-qubit gates of the warm-start and X mixers are all of the form
``exp(-i beta (z Z + x X)) = ar I + i (ai Z + w X)`` (``z**2 + x**2 = 1``; the
warm mixer's ``M_j``, ``X`` itself).  They commute, so they take the pass
structure of the plain X-mixer kernel (:mod:`~qslack.samplers.qaoa.kernel`):

* the qubits are split into the same groups (group 0: the ``B`` lowest qubits,
  one contiguous L2-sized block; higher groups: gathered rows through a
  per-thread scratch buffer), and a pass applies to each chunk every
  operation it can while the chunk sits in the cache: the phase of a layer,
  then the gates of the group's qubits;
* the gates are explicit SIMD (:func:`~qslack.samplers.qaoa._ops.zxrot_bits`:
  one multiply, two fused multiply-adds and two in-register swaps per vector
  and qubit, two qubits per load and store); qubits below 11 (complex128) or
  12 (complex64) are applied to one L1-sized sub-chunk after the other;
* when ``|cos beta| >= 1/sqrt(2)`` a layer's gates are divided by ``cos beta``
  (one multiply less per vector) and the scalar ``cos(beta)**n`` is folded
  into the layer's phase;
* consecutive layers share a pass (the last group of layer ``l``, the phase of
  layer ``l + 1`` and its first group), so a depth-``p`` evaluation makes
  ``p + 1`` passes over the state up to ``2 B - row_bits`` qubits (25 at
  complex128, 26 at complex64) and ``run_expectation`` sums the energy in the
  last one;
* ``cos``/``sin`` of the phase: the vectorised Cephes polynomials of
  :mod:`~qslack.samplers.qaoa._ops`; complex64 states take the two-loop phase
  of the X-mixer kernel (:func:`~qslack.samplers.qaoa._ops.phase_slice_fast`:
  per 512 amplitudes, the float64 reduction by pi into float32 scratch, then
  float32-only polynomials and multiply, 8 wide), also in the initial-state fill;
* product initial states (``|+>^n``, the warm start ``prod_j RY(theta_j)|0>``,
  basis states) are generated in the first pass from one-qubit factors (a
  table of the ``2**10`` lowest amplitudes times a per-row factor); only the
  one-hot (W) state is stored, as real amplitudes of the state's precision;
* the diagonal may be float64 or float32 (with the ``shift`` it was stored
  without); it is never copied.

XY pair rotations (and any one-qubit gate not of that form) keep the general
gather/scatter path: a *block* is a set of at most a few qubits whose gates are
applied together (an XY group with all its pair rotations, in order); a pass
walks over the ``2**(n - k)`` settings of the other qubits (split among
threads), gathers the ``2**k`` amplitudes of the block into a per-thread
buffer, applies the block's gates in order and scatters them back.  These
passes come right after the pass that applies the layer's phase (they commute
with the one-qubit gates of the other qubits).

Numerics: as the X-mixer kernel (``fastmath={"contract"}`` except in the
reductions); the state agrees with the dense reference to ~1e-14 at
complex128 and ~1e-6 at complex64.  :class:`_ReferenceSimulator` is the
previous, generic implementation (every mixer on the gather/scatter path),
kept for tests and ``scripts/bench_ansatz.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from qslack.exceptions import ValidationError
from qslack.samplers.qaoa._ops import (
    _FM,
    PHASE_SUB,
    as_like,
    copy_slice,
    cos_sin_reduced32,
    expect_slice,
    phase_slice_fast,
    reduce_pi,
    sincos_like,
    zxrot_bits,
)
from qslack.samplers.qaoa.ansatz import Ansatz
from qslack.samplers.qaoa.kernel import (
    _PARALLEL_MIN_QUBITS,
    _expectation,
    _groups,
    _probabilities,
    _probs_slice,
    _schedule,
    check_angles,
    check_memory,
    default_block_bits,
    default_row_bits,
    state_buffers,
    state_bytes,
    with_threads,
)

__all__ = ["SINGLE_BLOCK_QUBITS", "AnsatzSimulator", "cvar_of", "mixer_blocks"]

#: one-qubit gates on the general path are applied in blocks of up to this many qubits per pass
SINGLE_BLOCK_QUBITS = 10
_PARALLEL_MIN = 1 << 16  # _ReferenceSimulator: below this many amplitudes one thread does the work
_FILL_BITS = 10  # product initial states: a table of the 2**10 lowest amplitudes times a row factor
_U64 = np.uint64

_KIND = {"single": 0, "pair": 1}


# --------------------------------------------------------------------------- structured passes
@njit(fastmath=_FM, cache=True)
def _fill_phase(xs, ds, amp, g, m, shift, rb, qb):
    """xs[t] <- m * amp[t] * exp(-i g (ds[t] + shift)) (``amp`` real: the initial state).

    float32 views: the two loops of :func:`~qslack.samplers.qaoa._ops.phase_slice_fast` per
    sub-block of ``PHASE_SUB`` amplitudes (the float64 reduction by pi into the float32
    scratch ``rb, qb``, then float32 polynomials); float64 views: :func:`cos_sin`.
    """
    mm = as_like(xs[0], m)
    g0 = g * shift
    n = ds.shape[0]
    if xs.itemsize == 8:
        for t in range(_U64(n)):
            c, s = sincos_like(mm, g * ds[t] + g0)
            a = mm * as_like(mm, amp[t])
            i = _U64(2) * t
            xs[i] = a * c
            xs[i + _U64(1)] = -a * s
        return
    for s0 in range(0, n, PHASE_SUB):
        nn = _U64(min(PHASE_SUB, n - s0))
        reduce_pi(ds[s0 : s0 + PHASE_SUB], g, g0, rb, qb)
        xv = xs[2 * s0 : 2 * s0 + 2 * PHASE_SUB]
        av = amp[s0 : s0 + PHASE_SUB]
        for t in range(nn):
            c, s = cos_sin_reduced32(rb[t], qb[t], mm)
            a = as_like(mm, av[t])
            i = _U64(2) * t
            xv[i] = a * c
            xv[i + _U64(1)] = -a * s


@njit(fastmath=_FM, cache=True)
def _fill_block(xs, ds, off, g, m, shift, ini, rb, qb):
    """The initial state times ``m exp(-i g (D + shift))`` on the block at state index ``off``.

    ``ini = (tlo, lbits, vq, masks, gamps, fmag, onehot)`` (see :meth:`_InitialState.args`): a product
    state is ``tlo[k mod 2**lbits]`` (its ``lbits`` low qubits) times the product of ``vq[j, bit j of k]``
    over the qubits ``j >= lbits``; the one-hot state is, per group ``masks[i]``, ``gamps[i]`` if
    exactly one of its bits is set, else 0, times ``fmag`` (the ``|+>`` of the free qubits).
    """
    tlo, lbits, vq, masks, gamps, fmag, onehot = ini
    rlen = 1 << lbits
    buf = np.empty(rlen) if onehot else tlo
    for r in range(ds.shape[0] // rlen):
        k0 = off + r * rlen
        fac = 1.0
        if onehot:
            for li in range(rlen):
                k = k0 + li
                v = 1.0
                for i in range(masks.shape[0]):
                    kb = k & masks[i]
                    v = v * gamps[i] if kb != 0 and (kb & (kb - 1)) == 0 else 0.0
                buf[li] = v * fmag
        else:
            for j in range(lbits, vq.shape[0]):
                fac *= vq[j, (k0 >> j) & 1]
        xr = xs[2 * r * rlen : 2 * (r + 1) * rlen]
        _fill_phase(xr, ds[r * rlen : (r + 1) * rlen], buf, g, m * fac, shift, rb, qb)


@njit(fastmath=_FM, cache=True)
def _low_range(x, diag, bb, gam, mag, cf, unit, shift, fill, ini, lowp, want_e, blk0, blk1, rb, qb):
    """Group 0 (qubits 0..bb-1) on the contiguous blocks blk0..blk1-1 of ``2**bb`` amplitudes.

    For each op i: the phase ``mag[i] exp(-i gam[i] (D + shift))`` (skipped if
    gam[i] is NaN; with ``fill`` the first op writes the initial state times
    the phase), then the gates ``cf[i]`` (rows: qubits 0..bb-1).  With
    ``want_e`` returns the blocks' share of <psi|D + shift|psi> (else 0).
    """
    blen = 1 << bb
    acc = 0.0
    for blk in range(blk0, blk1):
        off = blk * blen
        xs = x[2 * off : 2 * (off + blen)]
        ds = diag[off : off + blen]
        for i in range(gam.shape[0]):
            g = gam[i]
            if fill and i == 0:
                _fill_block(xs, ds, off, g, mag[i], shift, ini, rb, qb)
            elif g == g:
                phase_slice_fast(xs, ds, g, 0.0, mag[i], shift, False, rb, qb)
            zxrot_bits(xs, 0, bb, cf[i], unit[i])
        if want_e:
            acc += expect_slice(xs, ds, shift)
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _low_pass(x, diag, n, bb, gam, mag, cf, unit, shift, fill, ini, lowp, want_e, nthreads, ps):
    """One pass of group 0 over the whole state, blocks split among threads."""
    nblk = 1 << (n - bb)
    nt = min(nthreads, nblk, ps.shape[0])
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _low_range(
            x, diag, bb, gam, mag, cf, unit, shift, fill, ini, lowp, want_e,
            t * nblk // nt, (t + 1) * nblk // nt, ps[t, 0], ps[t, 1],
        )  # fmt: skip
    return parts.sum()


@njit(fastmath=_FM, cache=True)
def _high_range(x, diag, a, b, cbits, y, gam, mag, cf, unit, shift, lowp, want_e, ch0, ch1, rb, qb):
    """The qubit group [a, b) on the chunks ch0..ch1-1, through the scratch y.

    A chunk is the ``2**(b-a)`` rows of ``2**cbits`` contiguous amplitudes that
    differ only in the bits a..b-1; it is gathered into y (row r at r << cbits),
    the ops are applied (phase, then the gates of bits cbits..cbits+b-a-1 of
    the scratch index) and it is scattered back.  With ``want_e`` returns the
    chunks' share of <psi|D + shift|psi> (else 0).
    """
    gb = b - a
    w = gb + cbits
    nrows = 1 << gb
    rlen = 1 << cbits
    rlen2 = 2 * rlen
    nlow = 1 << (a - cbits)
    ys = y[: 2 << w]
    acc = 0.0
    for ch in range(ch0, ch1):
        up = ch // nlow
        lo = ch - up * nlow
        base = (up << b) + (lo << cbits)
        for r in range(nrows):
            src = 2 * (base + (r << a))
            dst = r * rlen2
            copy_slice(ys[dst : dst + rlen2], x[src : src + rlen2])
        for i in range(gam.shape[0]):
            g = gam[i]
            if g == g:
                for r in range(nrows):
                    k = base + (r << a)
                    dst = r * rlen2
                    phase_slice_fast(
                        ys[dst : dst + rlen2], diag[k : k + rlen], g, 0.0, mag[i], shift, False, rb, qb
                    )
            zxrot_bits(ys, cbits, w, cf[i], unit[i])
        for r in range(nrows):
            src = r * rlen2
            k = base + (r << a)
            copy_slice(x[2 * k : 2 * k + rlen2], ys[src : src + rlen2])
            if want_e:
                acc += expect_slice(ys[src : src + rlen2], diag[k : k + rlen], shift)
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _high_pass(x, diag, n, a, b, cbits, scratch, gam, mag, cf, unit, shift, lowp, want_e, nthreads, ps):
    """One pass of the qubit group [a, b), chunks split among threads."""
    nchunk = 1 << (n - (b - a) - cbits)
    nt = min(nthreads, nchunk, scratch.shape[0], ps.shape[0])
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _high_range(
            x, diag, a, b, cbits, scratch[t], gam, mag, cf, unit, shift, lowp, want_e,
            t * nchunk // nt, (t + 1) * nchunk // nt, ps[t, 0], ps[t, 1],
        )  # fmt: skip
    return parts.sum()


# --------------------------------------------------------------------------- general path (gather/scatter)
@njit(cache=True)
def _block_ops(loc, kinds, la, lb, U):
    """Apply the block's gates to the local amplitudes ``loc`` (bit ``j`` = block qubit ``j``)."""
    K = loc.shape[0]
    for o in range(kinds.shape[0]):
        u00 = U[o, 0, 0]
        u01 = U[o, 0, 1]
        u10 = U[o, 1, 0]
        u11 = U[o, 1, 1]
        if kinds[o] == 0:
            ma = 1 << la[o]
            for m in range(K):
                if m & ma == 0:
                    j = m | ma
                    x0 = loc[m]
                    x1 = loc[j]
                    loc[m] = u00 * x0 + u01 * x1
                    loc[j] = u10 * x0 + u11 * x1
        else:
            ma = 1 << la[o]
            mb = 1 << lb[o]
            for m in range(K):
                if (m & ma) != 0 and (m & mb) == 0:
                    j = m ^ ma ^ mb
                    x0 = loc[m]
                    x1 = loc[j]
                    loc[m] = u00 * x0 + u01 * x1
                    loc[j] = u10 * x0 + u11 * x1


@njit(cache=True)
def _block_range(psi, sorted_q, offsets, kinds, la, lb, U, r0, r1, loc):
    K = offsets.shape[0]
    for r in range(r0, r1):
        base = r
        for t in range(sorted_q.shape[0]):
            q = sorted_q[t]
            base = ((base >> q) << (q + 1)) | (base & ((1 << q) - 1))
        for m in range(K):
            loc[m] = psi[base + offsets[m]]
        _block_ops(loc, kinds, la, lb, U)
        for m in range(K):
            psi[base + offsets[m]] = loc[m]


@njit(parallel=True, cache=True)
def _block_pass(psi, sorted_q, offsets, kinds, la, lb, U, nthreads):
    K = offsets.shape[0]
    nouter = psi.shape[0] // K
    nt = max(1, min(nthreads, nouter))
    for t in prange(nt):
        loc = np.empty(K, dtype=psi.dtype)
        _block_range(psi, sorted_q, offsets, kinds, la, lb, U, t * nouter // nt, (t + 1) * nouter // nt, loc)


@njit(cache=True)
def _ref_phase_slice(psi, diag, g, k0, k1):
    for k in range(k0, k1):
        t = g * diag[k]
        psi[k] = psi[k] * complex(np.cos(t), -np.sin(t))


@njit(cache=True)
def _ref_expect_slice(psi, diag, k0, k1):
    acc = 0.0
    for k in range(k0, k1):
        a = psi[k]
        acc += (np.float64(a.real) * a.real + np.float64(a.imag) * a.imag) * diag[k]
    return acc


@njit(cache=True)
def _ref_probs_slice(psi, out, k0, k1):
    for k in range(k0, k1):
        a = psi[k]
        out[k] = np.float64(a.real) * a.real + np.float64(a.imag) * a.imag


@njit(parallel=True, cache=True)
def _ref_phase_par(psi, diag, g, nt):
    N = psi.shape[0]
    for t in prange(nt):
        _ref_phase_slice(psi, diag, g, t * N // nt, (t + 1) * N // nt)


@njit(parallel=True, cache=True)
def _ref_expect_par(psi, diag, nt):
    N = psi.shape[0]
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _ref_expect_slice(psi, diag, t * N // nt, (t + 1) * N // nt)
    return parts.sum()


@njit(parallel=True, cache=True)
def _ref_probs_par(psi, out, nt):
    N = psi.shape[0]
    for t in prange(nt):
        _ref_probs_slice(psi, out, t * N // nt, (t + 1) * N // nt)


def _apply_blocks(psi: np.ndarray, blocks: list[_Block], beta: float, nt: int) -> None:
    """The general-path gates of one mixer layer, block by block (in place on the complex state)."""
    cb, sb = np.cos(beta), np.sin(beta)
    for blk in blocks:
        U = cb * _EYE - (1j * sb) * blk.M  # exp(-i beta M_o) = cos I - i sin M_o (M_o**2 = I)
        if nt > 1:
            _block_pass(psi, blk.sorted_q, blk.offsets, blk.kinds, blk.la, blk.lb, U, nt)
        else:
            loc = np.empty(blk.offsets.shape[0], dtype=psi.dtype)
            nouter = psi.shape[0] // blk.offsets.shape[0]
            _block_range(psi, blk.sorted_q, blk.offsets, blk.kinds, blk.la, blk.lb, U, 0, nouter, loc)


# --------------------------------------------------------------------------- plan
def mixer_blocks(ansatz: Ansatz) -> list[tuple[tuple[int, ...], list[int]]]:
    """Blocks of the mixer layer on the general path: ``[(qubits, indices into mixer_ops)]``.

    One block per XY group (its pairs, in order); the qubits with single-qubit
    gates in blocks of up to :data:`SINGLE_BLOCK_QUBITS` (the GPU kernel and
    :class:`_ReferenceSimulator` run every gate this way; :class:`AnsatzSimulator`
    only the XY groups and one-qubit gates outside the ``ar I + i (ai Z + w X)`` form).

    Examples
    --------
    >>> a = Ansatz.build(5, mixer="xy-ring", groups=[[0, 2, 4]])
    >>> mixer_blocks(a)
    [((0, 2, 4), [0, 1, 2]), ((1, 3), [3, 4])]
    """
    ops = ansatz.mixer_ops(0.0)
    blocks: list[tuple[tuple[int, ...], list[int]]] = []
    i = 0
    for g, plist in zip(ansatz.groups, ansatz.pairs(), strict=True):
        if plist:
            blocks.append((tuple(g), list(range(i, i + len(plist)))))
            i += len(plist)
    singles = list(range(i, len(ops)))
    for s in range(0, len(singles), SINGLE_BLOCK_QUBITS):
        chunk = singles[s : s + SINGLE_BLOCK_QUBITS]
        blocks.append((tuple(ops[o][1][0] for o in chunk), chunk))
    return blocks


_EYE = np.eye(2, dtype=np.complex128)


@dataclass(frozen=True)
class _Block:
    """Static arrays of one mixer block: its gates are ``exp(-i beta M[o])``."""

    sorted_q: np.ndarray  # the block's qubits, increasing (to insert zero bits)
    offsets: np.ndarray  # offsets[m] = state index of local index m (bit j = block qubit j)
    kinds: np.ndarray  # 0 single-qubit gate, 1 XY pair
    la: np.ndarray  # local qubit (single) or first qubit of the pair
    lb: np.ndarray  # second qubit of the pair
    M: np.ndarray  # (nops, 2, 2) generators with M**2 = I


def _make_block(ops: list, qubits: tuple[int, ...], idx: list[int]) -> _Block:
    """The block of the gates ``ops[o], o in idx`` (``ops = mixer_ops(pi / 2)``: ``U = -i M``)."""
    k = len(qubits)
    m = np.arange(1 << k, dtype=np.int64)
    offsets = np.zeros(1 << k, dtype=np.int64)
    for j, q in enumerate(qubits):
        offsets += ((m >> j) & 1) << q
    local = {q: j for j, q in enumerate(qubits)}
    return _Block(
        np.array(sorted(qubits), dtype=np.int64),
        offsets,
        np.array([_KIND[ops[o][0]] for o in idx], dtype=np.int64),
        np.array([local[ops[o][1][0]] for o in idx], dtype=np.int64),
        np.array([local[ops[o][1][-1]] for o in idx], dtype=np.int64),
        np.array([1j * ops[o][2] for o in idx], dtype=np.complex128),
    )


def _compile_blocks(ansatz: Ansatz) -> list[_Block]:
    """Every mixer block with its generators ``M_o`` (``U_o(beta) = cos(beta) I - i sin(beta) M_o``)."""
    ops = ansatz.mixer_ops(np.pi / 2)  # cos = 0, sin = 1: U = -i M
    return [_make_block(ops, qubits, idx) for qubits, idx in mixer_blocks(ansatz)]


def _zx_form(M: np.ndarray) -> tuple[float, float] | None:
    """``(z, x)`` if the generator is ``z Z + x X`` (real, symmetric, traceless), else None."""
    tol = 1e-12 * max(1.0, float(np.abs(M).max()))
    if np.abs(M.imag).max() <= tol and abs(M[0, 1] - M[1, 0]) <= tol and abs(M[0, 0] + M[1, 1]) <= tol:
        return float(M[0, 0].real), float(M[0, 1].real)
    return None


@dataclass(frozen=True)
class _Plan:
    """How a mixer layer runs: one-qubit ``zx`` gates on the group passes, the rest on blocks."""

    zx: np.ndarray  # (n, 2): (z, x) of qubit q's gate exp(-i beta (z Z + x X)), 0 where inactive
    active: np.ndarray  # (n,) bool: qubit q has a zx gate
    blocks: list[_Block]  # the general path: XY groups and other one-qubit gates


def _compile_plan(ansatz: Ansatz, *, structured: bool = True) -> _Plan:
    """Split the mixer layer into zx gates and general blocks (``structured=False``: all general)."""
    n = ansatz.n
    ops = ansatz.mixer_ops(np.pi / 2)  # U = -i M
    zx = np.zeros((n, 2))
    active = np.zeros(n, dtype=bool)
    blocks: list[_Block] = []
    general: list[int] = []
    for qubits, idx in mixer_blocks(ansatz):
        if ops[idx[0]][0] == "pair":
            blocks.append(_make_block(ops, qubits, idx))
            continue
        for o in idx:
            form = _zx_form(1j * ops[o][2]) if structured else None
            if form is None:
                general.append(o)
            else:
                q = ops[o][1][0]
                zx[q] = form
                active[q] = True
    for s in range(0, len(general), SINGLE_BLOCK_QUBITS):
        chunk = general[s : s + SINGLE_BLOCK_QUBITS]
        blocks.append(_make_block(ops, tuple(ops[o][1][0] for o in chunk), chunk))
    return _Plan(zx, active, blocks)


@dataclass(frozen=True)
class _InitialState:
    """The initial state as one-qubit factors (product states) or one-hot groups (see :func:`_fill_block`)."""

    tlo: np.ndarray  # (2**lbits,) amplitudes of the low qubits (product states)
    lbits: int
    vq: np.ndarray  # (n, 2) one-qubit amplitudes (product states)
    masks: np.ndarray  # (groups,) int64 bit masks (one-hot)
    gamps: np.ndarray  # (groups,) 1 / sqrt(group size) (one-hot)
    fmag: float  # 2**(-free / 2) (one-hot)
    onehot: bool

    @classmethod
    def of(cls, ansatz: Ansatz, lbits: int) -> _InitialState:
        n = ansatz.n
        masks = np.zeros(0, dtype=np.int64)
        gamps = np.zeros(0)
        fmag = 1.0
        vq = np.ones((n, 2))
        tlo = np.ones(1 << lbits)
        if ansatz.initial == "one-hot":
            masks = np.array([sum(1 << q for q in g) for g in ansatz.groups], dtype=np.int64)
            gamps = np.array([1.0 / np.sqrt(len(g)) for g in ansatz.groups])
            free = n - sum(len(g) for g in ansatz.groups)
            fmag = 2.0 ** (-0.5 * free)
            return cls(tlo, lbits, vq, masks, gamps, fmag, True)
        if ansatz.initial == "uniform":  # exactly 2**(-n/2) everywhere
            tlo = np.full(1 << lbits, 2.0 ** (-0.5 * n))
            return cls(tlo, lbits, vq, masks, gamps, fmag, False)
        if ansatz.initial == "warm":
            assert ansatz.warm is not None
            c = np.asarray(ansatz.warm)
            vq = np.stack([np.sqrt(1.0 - c), np.sqrt(c)], axis=1)
        else:  # basis state
            assert ansatz.bits is not None
            b = np.asarray(ansatz.bits, dtype=np.float64)
            vq = np.stack([1.0 - b, b], axis=1)
        t = np.ones(1)
        for q in range(lbits):  # as Ansatz.initial_state: qubit q is bit q
            t = np.kron(vq[q], t)
        return cls(t, lbits, vq, masks, gamps, fmag, False)

    def args(self) -> tuple:
        """The tuple the numba fill takes."""
        return (self.tlo, self.lbits, self.vq, self.masks, self.gamps, self.fmag, self.onehot)


# --------------------------------------------------------------------------- simulator
#: an item of the schedule: ("g", group, [(phase layer or -1, mixer layer)]) or ("b", layer), the
#: general-path blocks of a layer
_Pass = tuple


class AnsatzSimulator:
    """QAOA statevector simulator for an :class:`~qslack.samplers.qaoa.ansatz.Ansatz` (numba, in place).

    Same interface as :class:`~qslack.samplers.qaoa.kernel.StatevectorSimulator`
    (``run``, ``run_expectation``, ``expectation``, ``probabilities``, ``cvar``,
    a float64 or float32 diagonal and its ``shift``).

    Parameters
    ----------
    ansatz : Ansatz
    dtype : {np.complex128, np.complex64}
        State dtype (gates are computed in float64 and rounded).
    threads : int, optional
        numba threads for this simulator (default: numba's setting).
    diag_dtype : {np.float64, np.float32}
        The diagonal's dtype this simulator is sized for (memory check only;
        every method accepts a float64 or a float32 diagonal).
    block_bits, row_bits : int, optional
        Chunk sizes of the passes (see
        :class:`~qslack.samplers.qaoa.kernel.StatevectorSimulator`); exposed so
        tests can force small blocks.

    Notes
    -----
    Memory: the state (``2**n`` amplitudes, after :func:`check_memory`) and
    ``threads * 2**block_bits`` amplitudes of scratch, as the X-mixer kernel;
    no copy of the initial state or of the diagonal.

    Examples
    --------
    >>> a = Ansatz.build(4, mixer="xy-ring", groups=[[0, 1, 2, 3]])
    >>> sim = AnsatzSimulator(a)
    >>> psi = sim.run(np.arange(16.0), [0.4, 0.2], [-0.3, -0.5])
    >>> round(float(sim.probabilities()[a.subspace_mask()].sum()), 12)   # stays one-hot
    1.0
    """

    def __init__(
        self,
        ansatz: Ansatz,
        *,
        dtype=np.complex128,
        threads: int | None = None,
        diag_dtype=np.float64,
        block_bits: int | None = None,
        row_bits: int | None = None,
    ) -> None:
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.complex128), np.dtype(np.complex64)):
            raise ValidationError(f"dtype must be complex128 or complex64, got {dt}")
        if threads is not None and not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
            raise ValidationError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {threads}")
        ddt = np.dtype(diag_dtype)
        if ddt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValidationError(f"diag_dtype must be float64 or float32, got {ddt}")
        bb = default_block_bits(dt) if block_bits is None else int(block_bits)
        if not 3 <= bb <= 24:
            raise ValidationError(f"block_bits must be in [3, 24], got {bb}")
        rb = min(default_row_bits(dt), bb - 1) if row_bits is None else int(row_bits)
        if not 0 <= rb < bb:
            raise ValidationError(f"row_bits must be in [0, {bb}), got {row_bits}")
        n = ansatz.n
        self.ansatz = ansatz
        self.n = n
        self.dtype = dt
        self.threads = None if threads is None else int(threads)
        self.block_bits = bb
        self._plan = _compile_plan(ansatz)
        groups = _groups(n, bb, rb)
        # group 0 always (it writes the initial state); the others only where a qubit has a zx gate
        self._groups = [groups[0]] + [g for g in groups[1:] if self._plan.active[g[0] : g[1]].any()]
        nt = self.threads or numba.config.NUMBA_NUM_THREADS
        scratch = nt * state_bytes(min(n, bb), dt) if len(self._groups) > 1 else 0
        check_memory(n, dt, extra_bytes=scratch, diag_itemsize=ddt.itemsize)
        self._init = _InitialState.of(ansatz, min(n, bb, _FILL_BITS))
        self._state, self._rdt, self._x, self._lowp, self._scratch = state_buffers(
            n, dt, bb, nt, len(self._groups) > 1
        )
        # per thread: the reduced angles and half-turn counts of the complex64 phase (PHASE_SUB each)
        self._phase_scratch = np.empty((nt, 2, PHASE_SUB), dtype=np.float32)
        self._ready = False

    # -- helpers
    @property
    def state(self) -> np.ndarray:
        """The state buffer (overwritten by the next ``run``)."""
        return self._state

    def _check_diag(self, diag) -> np.ndarray:
        d = np.asarray(diag)
        if d.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {d.shape}")
        if d.dtype not in (np.float64, np.float32) or not d.flags.c_contiguous:
            d = np.ascontiguousarray(d, dtype=np.float64)
        return d

    @staticmethod
    def _angles(gammas, betas, scale):
        """``(gammas / scale, betas)`` as checked float64 arrays (shared with the GPU kernel)."""
        g, b, scale, _ = check_angles(gammas, betas, scale)
        return g / scale, b

    def _with_threads(self, fn, *args):
        return with_threads(self.threads, fn, *args)

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    def n_passes(self, p: int) -> int:
        """Passes over the state that :meth:`run` makes at depth ``p`` (general-path blocks count one each).

        Examples
        --------
        >>> AnsatzSimulator(Ansatz.build(20, mixer="warm", warm_start=[0.3] * 20)).n_passes(2)
        3
        """
        if p == 0:
            return 1
        return sum(1 if item[0] == "g" else len(self._plan.blocks) for item in self._passes(int(p)))

    # -- schedule
    def _passes(self, p: int) -> list[_Pass]:
        """The group passes of the X-mixer kernel's schedule, with each layer's general blocks
        right after the pass that applies the layer's phase (split there if that pass also
        holds the next layer's phase); passes with nothing to do are dropped."""
        base = _schedule(p, len(self._groups))
        active = self._plan.active
        out: list[_Pass] = []

        def add(grp: int, ops: list[tuple[int, int]]) -> None:
            a, b, _ = self._groups[grp]
            if any(ph >= 0 for ph, _ in ops) or active[a:b].any():
                out.append(("g", grp, ops))

        if not self._plan.blocks:
            for grp, ops in base:
                add(grp, ops)
            return out
        done: set[int] = set()
        for grp, ops in base:
            seg: list[tuple[int, int]] = []
            for ph, mx in ops:
                if ph >= 1 and ph - 1 not in done:
                    if seg:
                        add(grp, seg)
                        seg = []
                    out.append(("b", ph - 1))
                    done.add(ph - 1)
                seg.append((ph, mx))
            add(grp, seg)
            for ph, _ in seg:
                if ph >= 0 and ph not in done:
                    out.append(("b", ph))
                    done.add(ph)
        return out

    def _layers(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per layer: the zx rows ``(n, 3)``, the unit flag and the scalar folded into its phase."""
        p = b.size
        z, x = self._plan.zx[:, 0], self._plan.zx[:, 1]
        act = self._plan.active
        nact = int(act.sum())
        rows = np.zeros((p, self.n, 3))
        rows[:, :, 0] = 1.0
        unit = np.zeros(p, dtype=np.bool_)
        scal = np.ones(p)
        for layer in range(p):
            cb, sb = np.cos(b[layer]), np.sin(b[layer])
            if abs(cb) >= 0.5**0.5:  # divide the gates by cos b; cos(b)**nact rides on the phase
                tb = sb / cb
                rows[layer, act, 1] = -tb * z[act]
                rows[layer, act, 2] = -tb * x[act]
                unit[layer] = True
                scal[layer] = cb**nact
            else:
                rows[layer, act, 0] = cb
                rows[layer, act, 1] = -sb * z[act]
                rows[layer, act, 2] = -sb * x[act]
        return rows, unit, scal

    def _group_pass(self, grp, gam, mag, cf, unit, d, shift, fill, want_e) -> float:
        n = self.n
        nt = numba.get_num_threads()
        parallel = n >= _PARALLEL_MIN_QUBITS and nt > 1
        a, bq, cbits = self._groups[grp]
        ps = self._phase_scratch
        if grp == 0:
            ini = self._init.args()
            if parallel:
                return _low_pass(
                    self._x, d, n, bq, gam, mag, cf, unit, shift, fill, ini, self._lowp, want_e, nt, ps
                )
            return _low_range(
                self._x, d, bq, gam, mag, cf, unit, shift, fill, ini, self._lowp, want_e, 0, 1 << (n - bq),
                ps[0, 0], ps[0, 1],
            )  # fmt: skip
        if parallel:
            return _high_pass(
                self._x, d, n, a, bq, cbits, self._scratch, gam, mag, cf, unit, shift, self._lowp, want_e,
                nt, ps,
            )  # fmt: skip
        nchunk = 1 << (n - (bq - a) - cbits)
        y = self._scratch[0]
        return _high_range(
            self._x, d, a, bq, cbits, y, gam, mag, cf, unit, shift, self._lowp, want_e, 0, nchunk,
            ps[0, 0], ps[0, 1],
        )  # fmt: skip

    def _run(self, d, g, b, shift, want_e=False) -> float:
        """Apply the schedule; with ``want_e`` returns <D + shift> (summed in the last pass if it can)."""
        p = g.size
        if p == 0:
            a, bq, _ = self._groups[0]
            cf = np.zeros((1, bq - a, 3))
            cf[:, :, 0] = 1.0
            one = np.ones(1)
            e = self._group_pass(0, np.zeros(1), one, cf, np.zeros(1, np.bool_), d, shift, True, want_e)
            return float(e)
        rows, unit, scal = self._layers(b)
        passes = self._passes(p)
        nt = numba.get_num_threads() if self.n >= _PARALLEL_MIN_QUBITS else 1
        energy = None
        first = True
        for ip, item in enumerate(passes):
            last = ip == len(passes) - 1
            if item[0] == "b":
                _apply_blocks(self._state, self._plan.blocks, float(b[item[1]]), nt)
                continue
            _, grp, ops = item
            a, bq, _ = self._groups[grp]
            gam = np.array([g[ph] if ph >= 0 else np.nan for ph, _ in ops])
            mag = np.array([scal[ph] if ph >= 0 else 1.0 for ph, _ in ops])
            cf = np.ascontiguousarray(rows[[mx for _, mx in ops], a:bq])
            un = unit[[mx for _, mx in ops]]
            e = self._group_pass(grp, gam, mag, cf, un, d, shift, first, want_e and last)
            first = False
            if want_e and last:
                energy = e
        if want_e and energy is None:
            energy = self._energy(d, shift)
        return float(energy) if want_e else 0.0

    def _energy(self, d, shift: float) -> float:
        if self.n < _PARALLEL_MIN_QUBITS:
            return float(expect_slice(self._x, d, shift))
        return float(_expectation(self._x, d, shift, numba.get_num_threads()))

    # -- API
    def run(self, diag, gammas, betas, *, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
        """Prepare the state in place and return it (a view of the buffer); ``p = 0`` gives ``|s>``.

        Parameters
        ----------
        diag : (2**n,) float64 or float32
            Cost of every basis state (minus ``shift``); never copied.
        gammas, betas : sequences of length p
            Phase and mixer angles.
        scale : float
            The phase of layer l is ``exp(-i gammas[l] (diag + shift) / scale)``.
        shift : float
            Constant the diagonal was stored without (see
            :meth:`qslack.model.qubo.QUBO.diagonal`).
        """
        d = self._check_diag(diag)
        g, b, scale, shift = check_angles(gammas, betas, scale, shift)
        self._with_threads(self._run, d, g / scale, b, shift)
        self._ready = True
        return self._state

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0, shift: float = 0.0) -> float:
        """``run`` and ``expectation`` in one (the energy is summed in the last pass)."""
        d = self._check_diag(diag)
        g, b, scale, shift = check_angles(gammas, betas, scale, shift)
        e = self._with_threads(self._run, d, g / scale, b, shift, True)
        self._ready = True
        return e

    def expectation(self, diag, *, shift: float = 0.0) -> float:
        """``<psi|D + shift|psi>`` of the current state (float64 sum)."""
        self._require_state()
        d = self._check_diag(diag)
        return self._with_threads(self._energy, d, float(shift))

    def probabilities(self, out: np.ndarray | None = None) -> np.ndarray:
        """``|psi|**2`` as float64 (allocates unless ``out`` is given)."""
        self._require_state()
        if out is None:
            out = np.empty(1 << self.n, dtype=np.float64)
        elif out.shape != (1 << self.n,) or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValidationError(f"out must be a contiguous float64 array of shape ({1 << self.n},)")
        if self.n < _PARALLEL_MIN_QUBITS:
            _probs_slice(self._x, out)
        else:
            self._with_threads(lambda: _probabilities(self._x, out, numba.get_num_threads()))
        return out

    def cvar(self, diag, alpha: float, *, shift: float = 0.0) -> float:
        """CVaR_alpha of the energy distribution of the current state (see :func:`cvar_of`)."""
        self._require_state()
        d = self._check_diag(diag)
        if d.dtype != np.float64 or shift:
            d = d.astype(np.float64) + float(shift)
        return cvar_of(d, self.probabilities(), alpha)


class _ReferenceSimulator:
    """The previous, generic implementation: every mixer gate on the gather/scatter path,
    a stored copy of the initial state, a float64 diagonal (copied if needed).

    Kept as the reference of the tests and of ``scripts/bench_ansatz.py``; same
    ``run`` / ``run_expectation`` / ``expectation`` / ``probabilities`` as
    :class:`AnsatzSimulator` (without ``shift``).
    """

    def __init__(self, ansatz: Ansatz, *, dtype=np.complex128, threads: int | None = None) -> None:
        dt = np.dtype(dtype)
        n = ansatz.n
        check_memory(n, dt, extra_bytes=(1 << n) * dt.itemsize)  # state + initial state
        self.ansatz = ansatz
        self.n = n
        self.dtype = dt
        self.threads = None if threads is None else int(threads)
        self._init = ansatz.initial_state().astype(dt)
        self._state = np.empty(1 << n, dtype=dt)
        self._blocks = _compile_blocks(ansatz)

    def _nt(self) -> int:
        if (1 << self.n) < _PARALLEL_MIN:
            return 1
        return self.threads or numba.get_num_threads()

    def _with_threads(self, fn, *args):
        return with_threads(self.threads, fn, *args)

    def _run(self, d, g, b) -> None:
        np.copyto(self._state, self._init)
        nt = self._nt()
        psi = self._state
        for layer in range(g.size):
            if nt > 1:
                _ref_phase_par(psi, d, g[layer], nt)
            else:
                _ref_phase_slice(psi, d, g[layer], 0, psi.shape[0])
            _apply_blocks(psi, self._blocks, float(b[layer]), nt)

    def run(self, diag, gammas, betas, *, scale: float = 1.0) -> np.ndarray:
        d = np.ascontiguousarray(diag, dtype=np.float64)
        g, b = AnsatzSimulator._angles(gammas, betas, scale)
        self._with_threads(self._run, d, g, b)
        return self._state

    def expectation(self, diag) -> float:
        d = np.ascontiguousarray(diag, dtype=np.float64)
        nt = self._nt()
        if nt > 1:
            return float(self._with_threads(_ref_expect_par, self._state, d, nt))
        return float(_ref_expect_slice(self._state, d, 0, d.shape[0]))

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0) -> float:
        self.run(diag, gammas, betas, scale=scale)
        return self.expectation(diag)

    def probabilities(self) -> np.ndarray:
        out = np.empty(1 << self.n, dtype=np.float64)
        nt = self._nt()
        if nt > 1:
            self._with_threads(_ref_probs_par, self._state, out, nt)
        else:
            _ref_probs_slice(self._state, out, 0, out.shape[0])
        return out


def cvar_of(diag: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """Mean energy of the lowest ``alpha`` probability mass (the boundary state counts in part).

    Examples
    --------
    >>> cvar_of(np.array([0.0, 1.0, 2.0]), np.array([0.2, 0.3, 0.5]), 0.5)
    0.6
    """
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:
        raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
    order = np.argsort(diag, kind="stable")
    w = probs[order]
    e = diag[order]
    c = np.cumsum(w)
    k = min(int(np.searchsorted(c, alpha)), len(w) - 1)
    head = c[k - 1] if k else 0.0
    return float((w[:k] @ e[:k] + (alpha - head) * e[k]) / alpha)
