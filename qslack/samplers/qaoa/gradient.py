"""Exact QAOA gradients by the adjoint method, batched evaluations, hardware costing.

For ``E(theta) = <psi|W|psi>`` with ``psi = U_{2p} ... U_1 |+>`` and every gate
``U_j = exp(-i theta_j G_j)`` (phases ``G = D`` per unit of ``gamma / scale``,
mixers ``G = sum_q X_q``)::

    dE / d theta_j = 2 Im <lam_j| G_j |psi_j>,   lam_j = U_{j+1}^dag ... U_{2p}^dag W psi

where ``psi_j`` and ``lam_j`` are the state and the back-propagated ``W psi``
just after gate ``j``.  One forward sweep builds ``psi``; the last forward pass
also forms ``lam = W psi`` and starts the backward sweep, which undoes the
gates on both states and reads each derivative from values it already holds:
``Im <lam|D|psi>`` elementwise in the phase pass, ``Im <lam|X_q|psi>`` from the
amplitude pairs of qubit ``q`` while its rotation is undone (the same cache
blocking as the forward kernel, so a chunk gets every operation of its pass).
The derivative of the whole mixer is the sum over qubits; each term may be
taken anywhere inside the layer's mixer because the rotations of other qubits
commute with ``X_q``.

The backward sweep (scripts/bench_qaoa.py measures it; ~2.7-2.9 evaluations at
24 qubits):

* the rotations are undone in the forward kernel's tangent form on both states
  (32-byte vectors, so the two states' streams stay in registers), their scalars
  tracked as one factor common to both states and folded into the next phase
  undo; two qubits' derivative terms come from the sums the rotation forms
  anyway (two fused multiply-adds);
* chunks whose two states exceed the L2 cache get their two top bits in one
  sweep, the other bits one L2-sized quarter after the other;
* the fused last pass leaves ``x`` as it found it (the forward's pre-pass state
  is still in memory) and writes only ``y``;
* the first pass (phase 0 and mixer 0 on the lowest group) does not read
  ``x``: it rebuilds ``exp(-i g_0 D)|+>`` from the diagonal, undoes the mixer on
  ``y`` alone and reads the derivative terms in a sweep that writes nothing, so
  the second pass does not write ``x`` back either;
* the diagonal rows of gathered passes are prefetched (short rows defeat the
  hardware prefetcher).

One extra state of memory.

Objectives: ``W = D`` (expectation) or, for CVaR_alpha,
``W_k = min(D_k - D*, 0) / alpha`` with ``D*`` the energy at the tail's
boundary (the derivative of the piecewise-linear CVaR with respect to the
probabilities, exact wherever the boundary state does not change).

:func:`hardware_circuit_evals` counts what a gradient costs on a device.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from qslack.samplers.qaoa._ops import (
    _FL,
    _FM,
    _U,
    PHASE_SUB,
    _float_array,
    _fma,
    _scalars,
    _shuffle,
    _splat,
    as_like,
    copy_slice,
    cos_sin_reduced32,
    expect_slice,
    phase_slice_fast,
    prefetch_slice,
    reduce_pi,
    sincos_fast_like,
    trot_bits,
)

__all__ = ["adjoint_gradient", "batch_expectations", "hardware_circuit_evals"]

_ANALYTIC_FIRST = True  # rebuild x in the first backward pass (tests switch it off)
_ACC_LANES = 4 * 64  # accumulator reals per thread: _NSLOT slots of the widest vector


def hardware_circuit_evals(n_evals: int, n_grad_evals: int, p: int, *, shifts_per_angle: int = 2) -> int:
    """Circuit executions an optimisation run would cost on hardware.

    A value evaluation is one circuit (run for its shots).  A gradient by the
    parameter-shift rule costs ``shifts_per_angle`` circuits for each of the
    ``2 p`` angles: the two-term rule (``f(theta + pi/4) - f(theta - pi/4)``
    for a generator with eigenvalues +-1/2 after scaling) gives ``2``, so a
    gradient is ``4 p`` circuits.  That treats each angle as one gate; an angle
    shared by ``m`` gates (``gamma`` on every ``ZZ`` term, ``beta`` on every
    ``RX``) needs, strictly, two shifted circuits per occurrence or a
    generalised shift rule with as many shifts as the generator has distinct
    eigenvalue gaps: pass that number as ``shifts_per_angle``.

    Parameters
    ----------
    n_evals : int
        Value evaluations (``SampleSet.info["n_evals"]``).
    n_grad_evals : int
        Gradient evaluations (``SampleSet.info["n_grad_evals"]``).
    p : int
        QAOA depth (``2 p`` angles).
    shifts_per_angle : int
        Circuits per angle and gradient (default 2).

    Examples
    --------
    >>> hardware_circuit_evals(30, 0, 2)
    30
    >>> hardware_circuit_evals(12, 12, 3)   # 12 value circuits + 12 gradients of 4 p = 12 circuits
    156
    """
    n_evals, n_grad_evals, p, k = int(n_evals), int(n_grad_evals), int(p), int(shifts_per_angle)
    if min(n_evals, n_grad_evals, p, k) < 0:
        raise ValueError(f"counts must be >= 0, got {n_evals}, {n_grad_evals}, {p}, {k}")
    return n_evals + n_grad_evals * k * 2 * p


# --------------------------------------------------------------------------- backward intrinsics
# The backward sweep undoes ``exp(-i b X)`` with ``exp(+i b X) = z X^flip (I - i t X)`` per qubit
# (:func:`~qslack.samplers.qaoa.kernel.mixer_forms` of ``-b``): the tangent form of the forward
# kernel on both states, one fused multiply-add and one shuffle per vector, qubit and state; the
# scalar ``z`` is left out, so both states carry a common factor ``sigma`` (``1 / z`` per qubit
# undone) until the next phase undo or the end of the pass folds it back in.  Derivative terms
# taken from the stored states are ``|sigma|**2`` times the true ones; the passes rescale them.
#
# Each call adds its derivative terms to an accumulator vector at acc[aoff:]; the callers rotate
# over _NSLOT slots so that consecutive calls do not wait on each other's accumulator (a
# store-to-load chain would bound the loop otherwise).

_NSLOT = 4
# two states at a time: 32-byte vectors (one AVX2 register) per stream and 2**4 (complex64) or
# 2**3 (complex128) amplitudes in the in-register step keep the live values in the 16 registers
_ADJ_VEC_BYTES = 32
_ADJ_LOW32 = 4
_ADJ_LOW64 = 3
_ADJ_CACHE_BYTES = 1 << 18  # both states' share of the L2 cache (512 KiB per core)


def _acc_ptr(context, builder, signature, args, iacc, vty):
    aa = context.make_array(signature.args[iacc])(context, builder, args[iacc])
    off = context.cast(builder, args[iacc + 1], signature.args[iacc + 1], types.uint64)
    return builder.bitcast(builder.gep(aa.data, [off], inbounds=True), vty.as_pointer())


def _tvec(builder, vty, tv):
    fty = vty.element
    return _splat(builder, vty, [tv, builder.fmul(tv, ir.Constant(fty, -1.0))])


def _make_tblow(nbits: int, flip: bool):
    """Intrinsic ``f(x, y, idx, t, acc, aoff)``: the tangent form on bits 0..nbits-1 of one vector
    of both states (then, with ``flip``, ``X`` on those bits); first
    ``acc[aoff:aoff+lanes] += sum_q y * partner_q(x)`` (the derivative terms before the rotations)."""
    lanes = 2 << nbits

    @intrinsic
    def tblow(typingctx, x, y, idx, t, acc, aoff):
        if not (_float_array(x) and _float_array(y) and _float_array(acc)):
            return None
        sig = types.void(x, y, idx, t, acc, aoff)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            xa = context.make_array(aty)(context, builder, args[0])
            ya = context.make_array(signature.args[1])(context, builder, args[1])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 3, 1, aty)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            ix = context.cast(builder, args[2], signature.args[2], types.uint64)
            px = builder.bitcast(builder.gep(xa.data, [ix], inbounds=True), vty.as_pointer())
            py = builder.bitcast(builder.gep(ya.data, [ix], inbounds=True), vty.as_pointer())
            pa = _acc_ptr(context, builder, signature, args, 4, vty)
            v = builder.load(px, align=al)
            u = builder.load(py, align=al)
            tvec = _tvec(builder, vty, tv)
            perms = [[lane ^ (2 << q) ^ 1 for lane in range(lanes)] for q in range(nbits)]
            d = builder.fmul(u, _shuffle(builder, v, perms[0]), flags=_FL)
            for q in range(1, nbits):
                d = _fma(builder, u, _shuffle(builder, v, perms[q]), d)
            for q in range(nbits):
                v = _fma(builder, tvec, _shuffle(builder, v, perms[q]), v)
                u = _fma(builder, tvec, _shuffle(builder, u, perms[q]), u)
            if flip:
                allbits = lanes - 2
                v = _shuffle(builder, v, [lane ^ allbits for lane in range(lanes)])
                u = _shuffle(builder, u, [lane ^ allbits for lane in range(lanes)])
            builder.store(v, px, align=al)
            builder.store(u, py, align=al)
            builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tblow


def _make_tbpair(flip: bool):
    """Intrinsic ``f(x, y, i0, d1, t, acc, aoff)``: the tangent form on one vector pair of both
    states, accumulating ``ya * swap(xb) + yb * swap(xa)`` (before the rotation)."""

    @intrinsic
    def tbpair(typingctx, x, y, i0, d1, t, acc, aoff):
        if not (_float_array(x) and _float_array(y) and _float_array(acc)):
            return None
        sig = types.void(x, y, i0, d1, t, acc, aoff)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            xa = context.make_array(aty)(context, builder, args[0])
            ya = context.make_array(signature.args[1])(context, builder, args[1])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 4, 1, aty)
            lanes = _ADJ_VEC_BYTES * 8 // aty.dtype.bitwidth
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            base = context.cast(builder, args[2], signature.args[2], types.uint64)
            ib = builder.add(base, context.cast(builder, args[3], signature.args[3], types.uint64))

            def ptr(ary, ix):
                return builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer())

            px0, px1, py0, py1 = ptr(xa, base), ptr(xa, ib), ptr(ya, base), ptr(ya, ib)
            pa = _acc_ptr(context, builder, signature, args, 5, vty)
            a, b = builder.load(px0, align=al), builder.load(px1, align=al)
            ua, ub = builder.load(py0, align=al), builder.load(py1, align=al)
            tvec = _tvec(builder, vty, tv)
            sw = [lane ^ 1 for lane in range(lanes)]
            sa, sb = _shuffle(builder, a, sw), _shuffle(builder, b, sw)
            sua, sub = _shuffle(builder, ua, sw), _shuffle(builder, ub, sw)
            d = _fma(builder, ub, sa, builder.fmul(ua, sb, flags=_FL))
            a2, b2 = _fma(builder, tvec, sb, a), _fma(builder, tvec, sa, b)
            ua2, ub2 = _fma(builder, tvec, sub, ua), _fma(builder, tvec, sua, ub)
            if flip:
                a2, b2, ua2, ub2 = b2, a2, ub2, ua2
            builder.store(a2, px0, align=al)
            builder.store(b2, px1, align=al)
            builder.store(ua2, py0, align=al)
            builder.store(ub2, py1, align=al)
            builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tbpair


def _make_tbquad(flip: bool):
    """Intrinsic ``f(x, y, i0, d1, d2, t, acc, aoff)``: two tangent-form qubits on the streams
    i0, +d1, +d2, +d1+d2 of both states, accumulating both qubits' derivative terms, which
    reduce to ``Im(conj(y0 + y3) (x1 + x2) + conj(y1 + y2) (x0 + x3))``: the sums the
    rotations form anyway, two fused multiply-adds."""

    @intrinsic
    def tbquad(typingctx, x, y, i0, d1, d2, t, acc, aoff):
        if not (_float_array(x) and _float_array(y) and _float_array(acc)):
            return None
        sig = types.void(x, y, i0, d1, d2, t, acc, aoff)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            xa = context.make_array(aty)(context, builder, args[0])
            ya = context.make_array(signature.args[1])(context, builder, args[1])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 5, 1, aty)
            lanes = _ADJ_VEC_BYTES * 8 // aty.dtype.bitwidth
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            base = context.cast(builder, args[2], signature.args[2], types.uint64)
            o1 = context.cast(builder, args[3], signature.args[3], types.uint64)
            o2 = context.cast(builder, args[4], signature.args[4], types.uint64)
            idx = [base, builder.add(base, o1), builder.add(base, o2), builder.add(builder.add(base, o1), o2)]

            def ptr(ary, ix):
                return builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer())

            px = [ptr(xa, ix) for ix in idx]
            py = [ptr(ya, ix) for ix in idx]
            pa = _acc_ptr(context, builder, signature, args, 6, vty)
            tvec = _tvec(builder, vty, tv)
            ntt = _splat(builder, vty, [builder.fmul(builder.fmul(tv, tv), ir.Constant(fty, -1.0))])
            sw = [lane ^ 1 for lane in range(lanes)]

            def quad(v):
                s12 = builder.fadd(v[1], v[2])
                s03 = builder.fadd(v[0], v[3])
                w12 = _shuffle(builder, s12, sw)
                w03 = _shuffle(builder, s03, sw)
                r0 = _fma(builder, tvec, w12, _fma(builder, ntt, v[3], v[0]))
                r3 = _fma(builder, tvec, w12, _fma(builder, ntt, v[0], v[3]))
                r1 = _fma(builder, tvec, w03, _fma(builder, ntt, v[2], v[1]))
                r2 = _fma(builder, tvec, w03, _fma(builder, ntt, v[1], v[2]))
                res = (r3, r2, r1, r0) if flip else (r0, r1, r2, r3)
                return res, s12, s03, w12, w03

            rx, _, _, w12x, w03x = quad([builder.load(p_, align=al) for p_ in px])
            ry, y12, y03, _, _ = quad([builder.load(p_, align=al) for p_ in py])
            d = _fma(builder, y03, w12x, builder.fmul(y12, w03x, flags=_FL))
            for p_, r in zip(px, rx, strict=True):
                builder.store(r, p_, align=al)
            for p_, r in zip(py, ry, strict=True):
                builder.store(r, p_, align=al)
            builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tbquad


_tbl32 = _make_tblow(_ADJ_LOW32, False)
_tbl32x = _make_tblow(_ADJ_LOW32, True)
_tbl64 = _make_tblow(_ADJ_LOW64, False)
_tbl64x = _make_tblow(_ADJ_LOW64, True)
_tbpair = _make_tbpair(False)
_tbpairx = _make_tbpair(True)
_tbquad = _make_tbquad(False)
_tbquadx = _make_tbquad(True)


@njit(fastmath=_FM, cache=True)
def _scalar_tbpair(x0, x1, y0, y1, t, flip):
    """Tangent form on the pairs (x0[u], x1[u]) and (y0[u], y1[u]) (then ``X`` with ``flip``);
    returns sum Im(conj(y0) x1 + conj(y1) x0) before the rotation."""
    acc = 0.0
    for u in range(_U(x0.shape[0] // 2)):
        i = _U(2) * u
        j = i + _U(1)
        ar = x0[i]
        ai = x0[j]
        br = x1[i]
        bi = x1[j]
        ur = y0[i]
        ui = y0[j]
        vr = y1[i]
        vi = y1[j]
        acc += np.float64(ur * bi - ui * br) + np.float64(vr * ai - vi * ar)
        nar, nai, nbr, nbi = ar + t * bi, ai - t * br, br + t * ai, bi - t * ar
        nur, nui, nvr, nvi = ur + t * vi, ui - t * vr, vr + t * ui, vi - t * ur
        if flip:
            nar, nai, nbr, nbi = nbr, nbi, nar, nai
            nur, nui, nvr, nvi = nvr, nvi, nur, nui
        x0[i] = nar
        x0[j] = nai
        x1[i] = nbr
        x1[j] = nbi
        y0[i] = nur
        y0[j] = nui
        y1[i] = nvr
        y1[j] = nvi
    return acc


@njit(fastmath=_FM, cache=True)
def _take_acc(acc):
    """sum over the accumulator's complex lanes of (re - im) (float64), then zero it."""
    total = 0.0
    for k in range(acc.shape[0] // 2):
        total += np.float64(acc[2 * k]) - np.float64(acc[2 * k + 1])
        acc[2 * k] = 0.0
        acc[2 * k + 1] = 0.0
    return total


@njit(fastmath=_FM, cache=True)
def trot_bits_adj(xs, ys, lo, hi, t, flip, zz, acc):
    """The tangent form ``X^flip (I - i t X_q)`` on bits lo <= q < hi of both states (float views).

    Returns ``sum_q zz**k_q Im <y| X_q |x>``, each term taken just before qubit q's step from
    the stored values, ``k_q`` the qubits rotated before that step (``zz = |z|**2``: the terms
    in units of the states at the call).  ``acc``: scratch of ``_NSLOT * 64`` reals of the
    states' dtype.

    When the two states exceed :data:`_ADJ_CACHE_BYTES` and ``hi`` is their top bit, the two
    top bits are applied first in one sweep over both, then the other bits to one quarter
    after the other (which stays in the L2 cache), and so on.
    """
    total = 0.0
    f = 1.0
    nsub = xs.shape[0]
    top = hi
    if (2 << hi) == nsub:
        while 2 * nsub * xs.itemsize > _ADJ_CACHE_BYTES and top - 2 > lo + 4:
            total += f * _trot_adj_range(xs, ys, top - 2, top, t, flip, zz, acc)
            f *= zz * zz
            top -= 2
            nsub //= 4
    if nsub == xs.shape[0]:
        return _trot_adj_range(xs, ys, lo, hi, t, flip, zz, acc)
    for c in range(xs.shape[0] // nsub):
        total += f * _trot_adj_range(
            xs[c * nsub : (c + 1) * nsub], ys[c * nsub : (c + 1) * nsub], lo, top, t, flip, zz, acc
        )
    return total


@njit(fastmath=_FM, cache=True)
def _trot_adj_range(xs, ys, lo, hi, t, flip, zz, acc):
    """:func:`trot_bits_adj` without the cache blocking."""
    for k in range(acc.shape[0]):
        acc[k] = 0.0
    total = 0.0
    f = 1.0
    nn = _U(xs.shape[0] // 2)
    va = _U(_ADJ_VEC_BYTES // (2 * xs.itemsize))
    va_bits = 1 if xs.itemsize == 8 else 2
    lb = _ADJ_LOW64 if xs.itemsize == 8 else _ADJ_LOW32
    q = lo
    if q == 0 and hi >= lb:
        step = _U(2 << lb)
        ng = _U(xs.shape[0]) // step
        if xs.itemsize == 4:
            if flip:
                for h in range(ng):
                    _tbl32x(xs, ys, step * h, t, acc, (h & _U(3)) * _U(64))
            else:
                for h in range(ng):
                    _tbl32(xs, ys, step * h, t, acc, (h & _U(3)) * _U(64))
        elif flip:
            for h in range(ng):
                _tbl64x(xs, ys, step * h, t, acc, (h & _U(3)) * _U(64))
        else:
            for h in range(ng):
                _tbl64(xs, ys, step * h, t, acc, (h & _U(3)) * _U(64))
        total += _take_acc(acc)
        f *= zz**lb
        q = lb
    while q < hi:
        s1 = _U(1) << _U(q)
        d1 = _U(2) * s1
        part = 0.0
        nq = 1
        if q < va_bits:
            for h in range(_U(0), nn, _U(2) * s1):
                b = _U(2) * h
                part += _scalar_tbpair(
                    xs[b : b + d1],
                    xs[b + d1 : b + _U(2) * d1],
                    ys[b : b + d1],
                    ys[b + d1 : b + _U(2) * d1],
                    t,
                    flip,
                )
        elif q + 1 < hi:
            nq = 2
            s2 = _U(2) * s1
            d2 = _U(2) * s2
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s2):
                for m in range(h, h + s2, _U(2) * s1):
                    for u in range(_U(0), s1, va):
                        if flip:
                            _tbquadx(xs, ys, _U(2) * (m + u), d1, d2, t, acc, (k & _U(3)) * _U(64))
                        else:
                            _tbquad(xs, ys, _U(2) * (m + u), d1, d2, t, acc, (k & _U(3)) * _U(64))
                        k += _U(1)
            part = _take_acc(acc)
        else:
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    if flip:
                        _tbpairx(xs, ys, _U(2) * (h + u), d1, t, acc, (k & _U(3)) * _U(64))
                    else:
                        _tbpair(xs, ys, _U(2) * (h + u), d1, t, acc, (k & _U(3)) * _U(64))
                    k += _U(1)
            part = _take_acc(acc)
        total += f * part
        f *= zz**nq
        q += nq
    return total


@njit(fastmath=True, cache=True)
def _phase_deriv(xs, ys, ds, shift):
    """sum_k (ds[k] + shift) Im(conj(ys[k]) xs[k]) in float64 (a vectorised reduction).

    ``shift`` may be any constant: it adds ``shift Im <lam|psi>``, which is
    zero for the true states (real energies), so callers centre the diagonal
    (``shift`` = its offset minus a typical value) to keep float32 sums exact.
    """
    acc = 0.0
    for t in range(_U(ds.shape[0])):
        i = _U(2) * t
        d = np.float64(ds[t]) + shift
        acc += d * (
            np.float64(ys[i]) * np.float64(xs[i + _U(1)]) - np.float64(ys[i + _U(1)]) * np.float64(xs[i])
        )
    return acc


@njit(fastmath=_FM, cache=True)
def phase_adj_slice(xs, ys, ds, g, shift, dshift, undo, mag, arg, rb, qb):
    """``sum_k (ds[k] + dshift) Im(conj(ys[k]) xs[k])`` (float64); then with ``undo`` both
    states times ``mag exp(+i (g (ds + shift) + arg))`` (the phase undone, the pending
    scalar ``mag exp(i arg)`` of the tangent-form rotations folded in).  ``rb, qb``: float32
    scratch of :data:`~qslack.samplers.qaoa._ops.PHASE_SUB` (the two-loop float32 phase of
    :func:`~qslack.samplers.qaoa._ops.phase_slice_fast`)."""
    acc = _phase_deriv(xs, ys, ds, dshift)
    if not undo:
        return acc
    n = ds.shape[0]
    g0 = g * shift + arg
    m = as_like(xs[0], mag)
    if xs.itemsize == 4:
        for s0 in range(0, n, PHASE_SUB):
            nn = _U(min(PHASE_SUB, n - s0))
            reduce_pi(ds[s0 : s0 + PHASE_SUB], g, g0, rb, qb)
            xv = xs[2 * s0 : 2 * s0 + 2 * PHASE_SUB]
            yv = ys[2 * s0 : 2 * s0 + 2 * PHASE_SUB]
            for t in range(nn):
                c, s = cos_sin_reduced32(rb[t], qb[t], m)
                i = _U(2) * t
                j = i + _U(1)
                xr = xv[i]
                xi = xv[j]
                yr = yv[i]
                yi = yv[j]
                xv[i] = xr * c - xi * s
                xv[j] = xi * c + xr * s
                yv[i] = yr * c - yi * s
                yv[j] = yi * c + yr * s
        return acc
    for t in range(_U(n)):
        i = _U(2) * t
        j = i + _U(1)
        c, s = sincos_fast_like(m, g * ds[t] + g0)
        c = c * m
        s = s * m
        xr = xs[i]
        xi = xs[j]
        yr = ys[i]
        yi = ys[j]
        xs[i] = xr * c - xi * s
        xs[j] = xi * c + xr * s
        ys[i] = yr * c - yi * s
        ys[j] = yi * c + yr * s
    return acc


@njit(fastmath=_FM, cache=True)
def _copy_out(dst, src, fr, fi, scaled):
    """dst = src, times the complex scalar ``fr + i fi`` if ``scaled`` (float views)."""
    if not scaled:
        copy_slice(dst, src)
        return
    a = as_like(src[0], fr)
    b = as_like(src[0], fi)
    for t in range(_U(dst.shape[0] // 2)):
        i = _U(2) * t
        re = src[i]
        im = src[i + _U(1)]
        dst[i] = a * re - b * im
        dst[i + _U(1)] = a * im + b * re


# --------------------------------------------------------------------------- read-only derivative sweeps
# The first pass of the backward sweep needs ``x`` only for the derivative terms: there it is
# rebuilt from the diagonal (``exp(-i g D) |+>``), so the mixer is undone on ``y`` alone and the
# terms ``sum_q Im <y|X_q|x>`` are read in one sweep that writes nothing.


def _make_dlow(nbits: int):
    """Intrinsic ``f(x, y, idx, acc, aoff)``: ``acc[aoff:] += sum_q y * partner_q(x)`` on bits
    0..nbits-1 of one vector."""
    lanes = 2 << nbits

    @intrinsic
    def dlow(typingctx, x, y, idx, acc, aoff):
        if not (_float_array(x) and _float_array(y) and _float_array(acc)):
            return None
        sig = types.void(x, y, idx, acc, aoff)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            xa = context.make_array(aty)(context, builder, args[0])
            ya = context.make_array(signature.args[1])(context, builder, args[1])
            fty = context.get_value_type(aty.dtype)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            ix = context.cast(builder, args[2], signature.args[2], types.uint64)
            v = builder.load(
                builder.bitcast(builder.gep(xa.data, [ix], inbounds=True), vty.as_pointer()), align=al
            )
            u = builder.load(
                builder.bitcast(builder.gep(ya.data, [ix], inbounds=True), vty.as_pointer()), align=al
            )
            pa = _acc_ptr(context, builder, signature, args, 3, vty)
            d = None
            for q in range(nbits):
                pv = _shuffle(builder, v, [lane ^ (2 << q) ^ 1 for lane in range(lanes)])
                d = builder.fmul(u, pv, flags=_FL) if d is None else _fma(builder, u, pv, d)
            builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return dlow


@intrinsic
def _dquad(typingctx, x, y, i0, d1, d2, acc, aoff):
    """Intrinsic: the derivative terms of two qubits on the streams i0, +d1, +d2, +d1+d2:
    ``acc[aoff:] += (y0 + y3) * swap(x1 + x2) + (y1 + y2) * swap(x0 + x3)``."""
    if not (_float_array(x) and _float_array(y) and _float_array(acc)):
        return None
    sig = types.void(x, y, i0, d1, d2, acc, aoff)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        xa = context.make_array(aty)(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        fty = context.get_value_type(aty.dtype)
        lanes = _ADJ_VEC_BYTES * 8 // aty.dtype.bitwidth
        vty = ir.VectorType(fty, lanes)
        al = aty.dtype.bitwidth // 8
        base = context.cast(builder, args[2], signature.args[2], types.uint64)
        o1 = context.cast(builder, args[3], signature.args[3], types.uint64)
        o2 = context.cast(builder, args[4], signature.args[4], types.uint64)
        idx = [base, builder.add(base, o1), builder.add(base, o2), builder.add(builder.add(base, o1), o2)]

        def load(ary, ix):
            return builder.load(
                builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer()), align=al
            )

        xv = [load(xa, ix) for ix in idx]
        yv = [load(ya, ix) for ix in idx]
        sw = [lane ^ 1 for lane in range(lanes)]
        w12 = _shuffle(builder, builder.fadd(xv[1], xv[2]), sw)
        w03 = _shuffle(builder, builder.fadd(xv[0], xv[3]), sw)
        d = _fma(
            builder, builder.fadd(yv[0], yv[3]), w12, builder.fmul(builder.fadd(yv[1], yv[2]), w03, flags=_FL)
        )
        pa = _acc_ptr(context, builder, signature, args, 5, vty)
        builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _dpair(typingctx, x, y, i0, d1, acc, aoff):
    """Intrinsic: ``acc[aoff:] += ya * swap(xb) + yb * swap(xa)`` on one vector pair."""
    if not (_float_array(x) and _float_array(y) and _float_array(acc)):
        return None
    sig = types.void(x, y, i0, d1, acc, aoff)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        xa = context.make_array(aty)(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        fty = context.get_value_type(aty.dtype)
        lanes = _ADJ_VEC_BYTES * 8 // aty.dtype.bitwidth
        vty = ir.VectorType(fty, lanes)
        al = aty.dtype.bitwidth // 8
        base = context.cast(builder, args[2], signature.args[2], types.uint64)
        ib = builder.add(base, context.cast(builder, args[3], signature.args[3], types.uint64))

        def load(ary, ix):
            return builder.load(
                builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer()), align=al
            )

        sw = [lane ^ 1 for lane in range(lanes)]
        sa, sb = _shuffle(builder, load(xa, base), sw), _shuffle(builder, load(xa, ib), sw)
        d = _fma(builder, load(ya, ib), sa, builder.fmul(load(ya, base), sb, flags=_FL))
        pa = _acc_ptr(context, builder, signature, args, 4, vty)
        builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
        return context.get_dummy_value()

    return sig, codegen


_dl32 = _make_dlow(_ADJ_LOW32)
_dl64 = _make_dlow(_ADJ_LOW64)


@njit(fastmath=_FM, cache=True)
def _scalar_dpair(x0, x1, y0, y1):
    """sum Im(conj(y0) x1 + conj(y1) x0) over the pairs (float64)."""
    acc = 0.0
    for u in range(_U(x0.shape[0] // 2)):
        i = _U(2) * u
        j = i + _U(1)
        acc += np.float64(y0[i] * x1[j] - y0[j] * x1[i]) + np.float64(y1[i] * x0[j] - y1[j] * x0[i])
    return acc


@njit(fastmath=_FM, cache=True)
def deriv_bits(xs, ys, lo, hi, acc):
    """``sum_q Im <y| X_q |x>`` over the bits lo <= q < hi of the float views xs, ys (nothing
    written but ``acc``, scratch of ``_NSLOT * 64`` reals)."""
    for k in range(acc.shape[0]):
        acc[k] = 0.0
    total = 0.0
    nn = _U(xs.shape[0] // 2)
    va = _U(_ADJ_VEC_BYTES // (2 * xs.itemsize))
    va_bits = 1 if xs.itemsize == 8 else 2
    lb = _ADJ_LOW64 if xs.itemsize == 8 else _ADJ_LOW32
    q = lo
    if q == 0 and hi >= lb:
        step = _U(2 << lb)
        ng = _U(xs.shape[0]) // step
        if xs.itemsize == 4:
            for h in range(ng):
                _dl32(xs, ys, step * h, acc, (h & _U(3)) * _U(64))
        else:
            for h in range(ng):
                _dl64(xs, ys, step * h, acc, (h & _U(3)) * _U(64))
        q = lb
    while q < hi:
        s1 = _U(1) << _U(q)
        d1 = _U(2) * s1
        if q < va_bits:
            for h in range(_U(0), nn, _U(2) * s1):
                b = _U(2) * h
                total += _scalar_dpair(
                    xs[b : b + d1], xs[b + d1 : b + _U(2) * d1], ys[b : b + d1], ys[b + d1 : b + _U(2) * d1]
                )
            q += 1
        elif q + 1 < hi:
            s2 = _U(2) * s1
            d2 = _U(2) * s2
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s2):
                for m in range(h, h + s2, _U(2) * s1):
                    for u in range(_U(0), s1, va):
                        _dquad(xs, ys, _U(2) * (m + u), d1, d2, acc, (k & _U(3)) * _U(64))
                        k += _U(1)
            q += 2
        else:
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    _dpair(xs, ys, _U(2) * (h + u), d1, acc, (k & _U(3)) * _U(64))
                    k += _U(1)
            q += 1
    return total + _take_acc(acc)


@njit(fastmath=_FM, cache=True)
def _adj_first_range(y, diag, shift, dshift, bb, X, Y, acc, t, flip, g, phi, mag, blk0, blk1, out):
    """The first pass of the backward sweep (group 0: phase 0 and the mixer of layer 0 on the
    bits 0..bb-1) on the blocks blk0..blk1-1, without ``x``: ``Y`` is undone alone
    (``X^flip (I - i t X)`` per bit), ``X = mag exp(-i (g (D + shift) - phi))`` is the state
    after phase 0 in the same units, and ``out[0] += sum_q Im <Y|X_q|X>``, ``out[1] += Im
    <Y|D + dshift|X>`` (unscaled)."""
    blen = 1 << bb
    Xs = X[: 2 * blen]
    Ys = Y[: 2 * blen]
    rb = np.empty(PHASE_SUB, np.float32)
    qb = np.empty(PHASE_SUB, np.float32)
    for blk in range(blk0, blk1):
        off = blk * blen
        ds = diag[off : off + blen]
        prefetch_slice(diag, off, off + blen)
        copy_slice(Ys, y[2 * off : 2 * (off + blen)])
        trot_bits(Ys, 0, bb, t, flip)
        phase_slice_fast(Xs, ds, g, phi, mag, shift, True, rb, qb)
        out[0] += deriv_bits(Xs, Ys, 0, bb, acc)
        out[1] += _phase_deriv(Xs, Ys, ds, dshift)


@njit(parallel=True, fastmath=_FM, cache=True)
def _adj_first_pass(y, diag, shift, dshift, n, bb, X, Y, acc, t, flip, g, phi, mag, nthreads):
    nblk = 1 << (n - bb)
    nt = min(nthreads, nblk, X.shape[0])
    outs = np.zeros((nt, 2))
    for i in prange(nt):
        _adj_first_range(
            y, diag, shift, dshift, bb, X[i], Y[i], acc[i], t, flip, g, phi, mag,
            i * nblk // nt, (i + 1) * nblk // nt, outs[i],
        )  # fmt: skip
    return outs.sum(axis=0)


@njit(fastmath=_FM, cache=True)
def init_adj_slice(xs, ys, ds, shift, dshift, mode, thr, inv_alpha):
    """ys = W xs with W = ds + dshift (mode 1) or min(ds + shift - thr, 0) / alpha (mode 2).

    Returns ``sum |xs|^2 (ds + shift)`` (the energy share; mode 1).  ``dshift``
    is ``shift`` minus a centring constant: the gradient of ``<psi|D - c|psi>``
    is that of ``<psi|D|psi>``, without the rounding of a large ``c``.
    """
    acc = 0.0
    n = _U(ds.shape[0])
    if mode == 1:
        acc = expect_slice(xs, ds, shift)
        for t in range(n):
            i = _U(2) * t
            d = np.float64(ds[t]) + dshift
            ys[i] = xs[i] * d
            ys[i + _U(1)] = xs[i + _U(1)] * d
    else:
        for t in range(n):
            i = _U(2) * t
            wv = min(np.float64(ds[t]) + shift - thr, 0.0) * inv_alpha
            ys[i] = xs[i] * wv
            ys[i + _U(1)] = xs[i + _U(1)] * wv
    return acc


# --------------------------------------------------------------------------- adjoint passes


@njit(fastmath=_FM, cache=True)
def _adj_range(x, y, diag, shift, dshift, lowp, a, b, cbits, X, Y, acc, fops, bops, flags, ch0, ch1, out):
    """One pass of the backward sweep on the chunks ch0..ch1-1 (see module docstring).

    Group 0 is ``a == 0`` (a contiguous block of ``2**b``).  ``fops = (fgam, fphi, fmag, ftt,
    fflip)``: optional forward ops first (the fused last forward pass).  ``flags = (fill, init,
    thr, inv_alpha, write_x, write_y, fold_r, fold_i, fold)``: with ``init`` > 0 ``Y = W X``
    (``out[0]`` collects the energy, init mode 1).  ``bops = (bt, bflip, bzz, bpre, bgam, bundo,
    bmag, barg, bps)``, one entry per backward op ``j``: the mixer undone in the tangent form
    ``(bt[j], bflip[j])``, ``out[1 + j] += bpre[j] * sum_q zz**k Im <Y|X_q|X>``; then if
    ``bgam[j]`` is not NaN the phase derivative ``out[1 + nb + j] += bps[j] * Im <Y|D|X>`` and,
    if ``bundo[j]``, the phase undone with the pending scalar ``bmag[j] exp(i barg[j])``.  The
    chunks are written back (``x`` if ``write_x``, ``y`` if ``write_y``) times ``fold_r + i
    fold_i`` if ``fold``.
    """
    fgam, fphi, fmag, ftt, fflip = fops
    bt, bflip, bzz, bpre, bgam, bundo, bmag, barg, bps = bops
    fill, init, thr, inv_alpha, write_x, write_y, fold_r, fold_i, fold = flags
    nb = bt.shape[0]
    # one mixer and no phase, x not written: X need not be undone (the fused last pass)
    keep_x = nb == 1 and not write_x and write_y and bgam[0] != bgam[0]
    if a == 0:
        nrows = 1
        rlen = 1 << b
        w = b
        lo_bit = 0
    else:
        nrows = 1 << (b - a)
        rlen = 1 << cbits
        w = b - a + cbits
        lo_bit = cbits
    rlen2 = 2 * rlen
    nlow = 1 << (a - cbits)
    Xs = X[: 2 << w]
    Ys = Y[: 2 << w]
    rb = np.empty(PHASE_SUB, np.float32)
    qb = np.empty(PHASE_SUB, np.float32)
    use_d = init > 0
    for j in range(nb):
        use_d = use_d or bgam[j] == bgam[j]
    for ch in range(ch0, ch1):
        up = ch // nlow
        lo = ch - up * nlow
        base = (up << b) + (lo << cbits)
        if use_d:
            # the diagonal rows are read after the rotations: start their loads now
            for r in range(nrows):
                k = base + (r << a)
                prefetch_slice(diag, k, k + rlen)
        for r in range(nrows):
            k = base + (r << a)
            dst = r * rlen2
            if not fill:
                copy_slice(Xs[dst : dst + rlen2], x[2 * k : 2 * k + rlen2])
            if init == 0:
                copy_slice(Ys[dst : dst + rlen2], y[2 * k : 2 * k + rlen2])
        for i in range(fgam.shape[0]):
            g = fgam[i]
            if g == g:
                for r in range(nrows):
                    k = base + (r << a)
                    dst = r * rlen2
                    phase_slice_fast(
                        Xs[dst : dst + rlen2],
                        diag[k : k + rlen],
                        g,
                        fphi[i],
                        fmag[i],
                        shift,
                        fill and i == 0,
                        rb,
                        qb,
                    )
            trot_bits(Xs, lo_bit, w, ftt[i], fflip[i])
        if init > 0:
            for r in range(nrows):
                k = base + (r << a)
                dst = r * rlen2
                out[0] += init_adj_slice(
                    Xs[dst : dst + rlen2],
                    Ys[dst : dst + rlen2],
                    diag[k : k + rlen],
                    shift,
                    dshift,
                    init,
                    thr,
                    inv_alpha,
                )
        for j in range(nb):
            if keep_x:
                # x is not written back: read the terms at the start, undo the mixer on Y alone
                out[1 + j] += bpre[j] * deriv_bits(Xs, Ys, lo_bit, w, acc)
                trot_bits(Ys, lo_bit, w, bt[j], bflip[j])
            else:
                out[1 + j] += bpre[j] * trot_bits_adj(Xs, Ys, lo_bit, w, bt[j], bflip[j], bzz[j], acc)
            g = bgam[j]
            if g == g:
                part = 0.0
                for r in range(nrows):
                    k = base + (r << a)
                    dst = r * rlen2
                    part += phase_adj_slice(
                        Xs[dst : dst + rlen2],
                        Ys[dst : dst + rlen2],
                        diag[k : k + rlen],
                        g,
                        shift,
                        dshift,
                        bundo[j],
                        bmag[j],
                        barg[j],
                        rb,
                        qb,
                    )
                out[1 + nb + j] += bps[j] * part
        for r in range(nrows):
            k = base + (r << a)
            src = r * rlen2
            if write_x:
                _copy_out(x[2 * k : 2 * k + rlen2], Xs[src : src + rlen2], fold_r, fold_i, fold)
            if write_y:
                _copy_out(y[2 * k : 2 * k + rlen2], Ys[src : src + rlen2], fold_r, fold_i, fold)


@njit(parallel=True, fastmath=_FM, cache=True)
def _adj_pass(x, y, diag, shift, dshift, lowp, n, a, b, cbits, X, Y, acc, fops, bops, flags, nthreads):
    w = b - a + cbits
    nchunk = 1 << (n - w)
    nt = min(nthreads, nchunk, X.shape[0])
    nb = bops[0].shape[0]
    outs = np.zeros((nt, 1 + 2 * nb))
    for t in prange(nt):
        _adj_range(
            x,
            y,
            diag,
            shift,
            dshift,
            lowp,
            a,
            b,
            cbits,
            X[t],
            Y[t],
            acc[t],
            fops,
            bops,
            flags,
            t * nchunk // nt,
            (t + 1) * nchunk // nt,
            outs[t],
        )
    res = np.zeros(1 + 2 * nb)
    for t in range(nt):
        for k in range(1 + 2 * nb):
            res[k] += outs[t, k]
    return res


def _backward_ops(rev, g, b, k, first_pass, rdt, inv):
    """Per-op arrays of one backward pass (see :func:`_adj_range`) and the fold of its output.

    ``rev``: the pass's ops reversed, ``k``: qubits of the pass's group.  Tracks the scalar
    ``inv`` (true states = ``inv`` x stored states) from its value at the pass start: each
    mixer undone multiplies it by ``z**k``, a phase undo folds it back to 1.  Returns the
    arrays and ``inv`` at the end of the pass.
    """
    from qslack.samplers.qaoa.kernel import mixer_forms

    nb = len(rev)
    bt = np.zeros(nb, dtype=rdt)
    bflip = np.zeros(nb, dtype=np.bool_)
    bzz = np.ones(nb)
    bpre = np.ones(nb)
    bgam = np.full(nb, np.nan)
    bundo = np.zeros(nb, dtype=np.bool_)
    bmag = np.ones(nb)
    barg = np.zeros(nb)
    bps = np.ones(nb)
    for j, (ph, m) in enumerate(rev):
        t1, f1, mag1, _ = mixer_forms(np.array([-b[m]]), 1)
        _, _, magk, argk = mixer_forms(np.array([-b[m]]), k)
        bt[j], bflip[j], bzz[j] = t1[0], f1[0], mag1[0] ** 2
        bpre[j] = abs(inv) ** 2
        inv *= magk[0] * np.exp(1j * argk[0])
        if ph >= 0:
            bgam[j] = g[ph]  # undone by exp(+i g D)
            bps[j] = abs(inv) ** 2
            bundo[j] = not (first_pass and j == nb - 1)
            bmag[j], barg[j] = abs(inv), float(np.angle(inv))
            if bundo[j]:
                inv = 1.0 + 0.0j
    return (bt, bflip, bzz, bpre, bgam, bundo, bmag, barg, bps), inv


def _first_pass(sim, y, d, g, b, shift, dshift, X, Y, acc, inv, parallel, nt):
    """The first backward pass without ``x`` (:func:`_adj_first_range`); returns the derivatives
    ``(d / d g_0, d / d beta_0)`` of its share.  ``inv``: the scalar of the stored ``y``."""
    from qslack.samplers.qaoa.kernel import mixer_forms

    n, bb = sim.n, sim._groups[0][1]
    t1, f1, _, _ = mixer_forms(np.array([-b[0]]), 1)
    _, _, magk, argk = mixer_forms(np.array([-b[0]]), bb)
    inv = inv * magk[0] * np.exp(1j * argk[0])  # after the mixer is undone on the bb qubits
    mag = 2.0 ** (-0.5 * n) / abs(inv)  # x after phase 0 in the units of the stored y
    phi = -float(np.angle(inv))
    t = sim._rdt(t1[0])
    if parallel:
        res = _adj_first_pass(y, d, shift, dshift, n, bb, X, Y, acc, t, f1[0], g[0], phi, mag, nt)
    else:
        res = np.zeros(2)
        _adj_first_range(
            y, d, shift, dshift, bb, X[0], Y[0], acc[0], t, f1[0], g[0], phi, mag, 0, 1 << (n - bb), res
        )
    sc = 2.0 * abs(inv) ** 2
    return sc * float(res[1]), sc * float(res[0])


def adjoint_gradient(sim, d, g, b, shift, objective, alpha):
    """Value and gradient (per unit of ``g = gamma / scale`` and of ``beta``) on ``sim``.

    Internal: called by :meth:`StatevectorSimulator.gradient`, which checks the
    arguments.  ``sim._adjoint`` is the second state.
    """
    from qslack.samplers.qaoa.kernel import _PARALLEL_MIN_QUBITS, _schedule, mixer_forms

    n = sim.n
    p = g.size
    rdt = sim._rdt
    if p == 0:
        sim._run(d, g, b, shift)
        sim._ready = True
        v = sim.expectation(d, shift=shift) if objective == "expectation" else sim.cvar(d, alpha, shift=shift)
        return v, np.zeros(0), np.zeros(0)
    groups = sim._groups
    passes = _schedule(p, len(groups))
    nt = numba.get_num_threads()
    parallel = n >= _PARALLEL_MIN_QUBITS and nt > 1
    nthr = nt if parallel else 1
    wmax = 2 << min(n, sim.block_bits)
    X = np.empty((nthr, wmax), dtype=rdt)
    Y = np.empty((nthr, wmax), dtype=rdt)
    acc = np.empty((nthr, _ACC_LANES), dtype=rdt)
    x, y = sim._x, sim._adjoint.view(rdt)
    empty_f = np.zeros(0)
    no_fops = (empty_f, empty_f, empty_f, np.zeros(0, dtype=rdt), np.zeros(0, dtype=np.bool_))
    value = 0.0
    thr = 0.0
    # centre the diagonal for lam and the phase derivatives (any constant is exact)
    sample = d[:: max(1, d.size // 4096)]
    dshift = -float(np.mean(sample, dtype=np.float64))  # D - centre = ds - mean(ds)
    if objective == "expectation":
        for ipass, (grp, ops) in enumerate(passes[:-1]):
            sim._apply_pass(grp, ops, d, g, b, shift, ipass == 0, False)
        init = 1
    else:
        sim._run(d, g, b, shift)
        sim._ready = True
        value, thr = sim._cvar_and_threshold(d, alpha, shift)
        init = 2
        dshift = shift - thr
    dg = np.zeros(p)
    db = np.zeros(p)
    inv = 1.0 + 0.0j  # true states = inv x stored states (see _backward_ops)
    # a first pass of phase 0 and mixer 0 on group 0 only: x is rebuilt there (_first_pass)
    analytic_first = _ANALYTIC_FIRST and len(passes) > 1 and passes[0] == (0, [(0, 0)])
    for ipass in range(len(passes) - 1, -1, -1):
        grp, ops = passes[ipass]
        a, bq, cbits = groups[grp]
        if grp == 0:
            a, cbits = 0, 0
        last = ipass == len(passes) - 1
        fused = last and objective == "expectation"
        fill = False
        fops = no_fops
        if fused:
            fgam, fphi, fmag, ftt, fflip = sim._pass_ops(ops, g, b)
            fill = ipass == 0
            if fill:
                fmag = fmag.copy()
                fmag[0] *= 2.0 ** (-0.5 * n)
            fops = (fgam, fphi, fmag, ftt, fflip)
        rev = ops[::-1]
        k = bq - a
        if ipass == 0 and analytic_first:
            dg0, db0 = _first_pass(sim, y, d, g, b, shift, dshift, X, Y, acc, inv, parallel, nt)
            dg[0] += dg0
            db[0] += db0
            break
        bops, inv_end = _backward_ops(rev, g, b, k, ipass == 0, rdt, inv)
        fold = 1.0 + 0.0j
        if fused and ipass > 0:
            # x is not written: the forward's pre-pass state is still in memory, which is the
            # true state times z**k (the forward folds the scalars of the k rotations still
            # to come into the layer's phase); y is brought to the same factor
            assert len(ops) == 1 and ops[0][0] < 0
            _, _, magf, argf = mixer_forms(np.array([b[ops[0][1]]]), k)
            zf = magf[0] * np.exp(1j * argf[0])
            fold = inv_end * zf
            inv_end = 1.0 / zf
        inv = inv_end
        # nothing reads x after the second pass when the first rebuilds it
        write_x = ipass > 0 and not fused and not (ipass == 1 and analytic_first)
        write_y = ipass > 0
        flags = (
            fill,
            init if last else 0,
            thr,
            1.0 / alpha,
            write_x,
            write_y,
            float(fold.real),
            float(fold.imag),
            fold != 1.0,
        )
        if parallel:
            res = _adj_pass(
                x, y, d, shift, dshift, sim._lowp, n, a, bq, cbits, X, Y, acc, fops, bops, flags, nt
            )
        else:
            res = np.zeros(1 + 2 * len(rev))
            w = bq - a + cbits
            _adj_range(
                x, y, d, shift, dshift, sim._lowp, a, bq, cbits, X[0], Y[0], acc[0], fops, bops, flags,
                0, 1 << (n - w), res,
            )  # fmt: skip
        if last and init == 1:
            value = float(res[0])
        nb = len(rev)
        for j, (ph, m) in enumerate(rev):
            db[m] += 2.0 * res[1 + j]
            if ph >= 0:
                dg[ph] += 2.0 * res[1 + nb + j]
    return value, dg, db


# --------------------------------------------------------------------------- batches

# angle sets run one per thread for 15..19 qubits: measured 2.8x (n=16) and 3.7x
# (n=18) faster than one after the other for 8 sets of depth 3 on 2 threads;
# below 15 qubits the evaluations are too short to pay for the batch's setup
# (0.05x at n=10, 0.7x at n=14), above 19 the threaded passes are as good
_BATCH_MIN_QUBITS = 15
_BATCH_MAX_QUBITS = 19


@njit(parallel=True, fastmath=_FM, cache=True)
def _batch_run(states, scratch, d, n, groups, pass_grp, pass_nops, gam, phi, mag, tt, flip, shift, lowp, out):
    """Evaluate every angle set i (one state each) serially inside, in parallel across sets."""
    nset = states.shape[0]
    npass = pass_grp.shape[0]
    for i in prange(nset):
        x = states[i]
        e = 0.0
        for k in range(npass):
            gi = pass_grp[k]
            a = groups[gi, 0]
            b = groups[gi, 1]
            cb = groups[gi, 2]
            no = pass_nops[k]
            want = k == npass - 1
            if gi == 0:
                e = _block_range_ext(
                    x,
                    d,
                    b,
                    gam[i, k, :no],
                    phi[i, k, :no],
                    mag[i, k, :no],
                    tt[i, k, :no],
                    flip[i, k, :no],
                    shift,
                    k == 0,
                    lowp,
                    want,
                    0,
                    1 << (n - b),
                )
            else:
                nchunk = 1 << (n - (b - a) - cb)
                e = _gather_range_ext(
                    x,
                    d,
                    a,
                    b,
                    cb,
                    scratch[i],
                    gam[i, k, :no],
                    phi[i, k, :no],
                    mag[i, k, :no],
                    tt[i, k, :no],
                    flip[i, k, :no],
                    shift,
                    lowp,
                    want,
                    True,
                    0,
                    nchunk,
                )
        out[i] = e


def _kernel_ranges():
    from qslack.samplers.qaoa.kernel import _block_range, _gather_range

    return _block_range, _gather_range


_block_range_ext, _gather_range_ext = _kernel_ranges()


def batch_expectations(sim, d, G, B, shift):
    """Energies of the angle sets (rows of G = gammas / scale, B = betas) on ``sim``."""
    nset, p = G.shape
    out = np.empty(nset)
    if nset == 0:
        return out
    small = not _BATCH_MIN_QUBITS <= sim.n <= _BATCH_MAX_QUBITS
    if p == 0 or small or nset == 1 or numba.get_num_threads() == 1:
        for i in range(nset):
            out[i] = sim._run(d, G[i], B[i], shift, True)
        return out
    from qslack.samplers.qaoa.kernel import _schedule, check_memory, state_bytes

    n = sim.n
    check_memory(n, sim.dtype, extra_bytes=nset * state_bytes(n, sim.dtype), diag_itemsize=0)
    passes = _schedule(p, len(sim._groups))
    mo = max(len(ops) for _, ops in passes)
    shape = (nset, len(passes), mo)
    gam = np.full(shape, np.nan)
    phi = np.zeros(shape)
    mag = np.ones(shape)
    tt = np.zeros(shape, dtype=sim._rdt)
    flip = np.zeros(shape, dtype=np.bool_)
    for i in range(nset):
        for k, (_, ops) in enumerate(passes):
            a_, b_, c_, t_, f_ = sim._pass_ops(ops, G[i], B[i])
            no = len(ops)
            gam[i, k, :no], phi[i, k, :no], mag[i, k, :no], tt[i, k, :no], flip[i, k, :no] = (
                a_,
                b_,
                c_,
                t_,
                f_,
            )
        mag[i, 0, 0] *= 2.0 ** (-0.5 * n)
    groups = np.array(sim._groups, dtype=np.int64)
    pass_grp = np.array([grp for grp, _ in passes], dtype=np.int64)
    pass_nops = np.array([len(ops) for _, ops in passes], dtype=np.int64)
    states = np.empty((nset, 2 << n), dtype=sim._rdt)
    scratch = np.empty((nset, 2 << min(n, sim.block_bits)), dtype=sim._rdt)
    _batch_run(
        states, scratch, d, n, groups, pass_grp, pass_nops, gam, phi, mag, tt, flip, shift, sim._lowp, out
    )
    sim._x[:] = states[-1]
    return out
