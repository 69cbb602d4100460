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
commute with ``X_q``.  Cost: the forward passes, then one backward sweep over
two states, ~3 evaluations; one extra state of memory.

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
    LOW_BITS,
    VEC_BYTES,
    _float_array,
    _fma,
    _scalars,
    _shuffle,
    _splat,
    _vec_lanes,
    copy_slice,
    expect_slice,
    phase_slice,
    sincos_like,
    trot_bits,
)

__all__ = ["adjoint_gradient", "batch_expectations", "hardware_circuit_evals"]

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
# Each call adds its derivative terms to an accumulator vector at acc[aoff:]; the
# callers rotate over _NSLOT slots so that consecutive calls do not wait on each
# other's accumulator (a store-to-load chain would bound the loop otherwise).

_NSLOT = 4


def _acc_ptr(context, builder, signature, args, iacc, vty):
    aa = context.make_array(signature.args[iacc])(context, builder, args[iacc])
    off = context.cast(builder, args[iacc + 1], signature.args[iacc + 1], types.uint64)
    return builder.bitcast(builder.gep(aa.data, [off], inbounds=True), vty.as_pointer())


def _make_blow(nbits: int):
    """Intrinsic ``f(x, y, idx, c, s, acc, aoff)``: exp(-i b X) (``c, s``) on bits
    0..nbits-1 of one vector of both states; ``acc[aoff:aoff+lanes] += y * swap_partner(x)``
    before each qubit."""
    lanes = 2 << nbits

    @intrinsic
    def blow(typingctx, x, y, idx, c, s, acc, aoff):
        if not (_float_array(x) and _float_array(y) and _float_array(acc)):
            return None
        sig = types.void(x, y, idx, c, s, acc, aoff)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            xa = context.make_array(aty)(context, builder, args[0])
            ya = context.make_array(signature.args[1])(context, builder, args[1])
            fty = context.get_value_type(aty.dtype)
            cv, sv = _scalars(context, builder, signature, args, 3, 2, aty)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            ix = context.cast(builder, args[2], signature.args[2], types.uint64)
            px = builder.bitcast(builder.gep(xa.data, [ix], inbounds=True), vty.as_pointer())
            py = builder.bitcast(builder.gep(ya.data, [ix], inbounds=True), vty.as_pointer())
            pa = _acc_ptr(context, builder, signature, args, 5, vty)
            v = builder.load(px, align=al)
            u = builder.load(py, align=al)
            cvec = _splat(builder, vty, [cv])
            svec = _splat(builder, vty, [sv, builder.fmul(sv, ir.Constant(fty, -1.0))])
            d = None
            for q in range(nbits):
                perm = [lane ^ (2 << q) ^ 1 for lane in range(lanes)]
                pv = _shuffle(builder, v, perm)
                pu = _shuffle(builder, u, perm)
                t = builder.fmul(u, pv, flags=_FL)
                d = t if d is None else builder.fadd(d, t, flags=_FL)
                v = _fma(builder, svec, pv, builder.fmul(cvec, v, flags=_FL))
                u = _fma(builder, svec, pu, builder.fmul(cvec, u, flags=_FL))
            builder.store(v, px, align=al)
            builder.store(u, py, align=al)
            builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return blow


_bl5 = _make_blow(LOW_BITS)


@intrinsic
def _bpair(typingctx, x, y, i0, d1, c, s, acc, aoff):
    """Intrinsic: exp(-i b X) on one vector pair of both states, accumulating
    ``acc[aoff:aoff+lanes] += ya * swap(xb) + yb * swap(xa)``."""
    if not (_float_array(x) and _float_array(y) and _float_array(acc)):
        return None
    sig = types.void(x, y, i0, d1, c, s, acc, aoff)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        xa = context.make_array(aty)(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        fty = context.get_value_type(aty.dtype)
        cv, sv = _scalars(context, builder, signature, args, 4, 2, aty)
        lanes = _vec_lanes(aty)
        vty = ir.VectorType(fty, lanes)
        al = aty.dtype.bitwidth // 8
        base = context.cast(builder, args[2], signature.args[2], types.uint64)
        ib = builder.add(base, context.cast(builder, args[3], signature.args[3], types.uint64))

        def ptr(ary, ix):
            return builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer())

        px0, px1, py0, py1 = ptr(xa, base), ptr(xa, ib), ptr(ya, base), ptr(ya, ib)
        pa = _acc_ptr(context, builder, signature, args, 6, vty)
        a, b = builder.load(px0, align=al), builder.load(px1, align=al)
        ua, ub = builder.load(py0, align=al), builder.load(py1, align=al)
        cvec = _splat(builder, vty, [cv])
        svec = _splat(builder, vty, [sv, builder.fmul(sv, ir.Constant(fty, -1.0))])
        sw = [lane ^ 1 for lane in range(lanes)]
        sa, sb = _shuffle(builder, a, sw), _shuffle(builder, b, sw)
        sua, sub = _shuffle(builder, ua, sw), _shuffle(builder, ub, sw)
        d = _fma(builder, ub, sa, builder.fmul(ua, sb, flags=_FL))

        def rot(p, q):
            return _fma(builder, svec, q, builder.fmul(cvec, p, flags=_FL))

        builder.store(rot(a, sb), px0, align=al)
        builder.store(rot(b, sa), px1, align=al)
        builder.store(rot(ua, sub), py0, align=al)
        builder.store(rot(ub, sua), py1, align=al)
        builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _bquad(typingctx, x, y, i0, d1, d2, c, s, acc, aoff):
    """Intrinsic: exp(-i b X) on two qubits (streams at i0, +d1, +d2, +d1+d2) of both
    states, accumulating the derivative terms of both qubits at acc[aoff:]."""
    if not (_float_array(x) and _float_array(y) and _float_array(acc)):
        return None
    sig = types.void(x, y, i0, d1, d2, c, s, acc, aoff)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        xa = context.make_array(aty)(context, builder, args[0])
        ya = context.make_array(signature.args[1])(context, builder, args[1])
        fty = context.get_value_type(aty.dtype)
        cv, sv = _scalars(context, builder, signature, args, 5, 2, aty)
        lanes = _vec_lanes(aty)
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
        pa = _acc_ptr(context, builder, signature, args, 7, vty)
        a = [builder.load(p_, align=al) for p_ in px]
        u = [builder.load(p_, align=al) for p_ in py]
        sw = [lane ^ 1 for lane in range(lanes)]
        sa = [_shuffle(builder, v, sw) for v in a]
        # derivative terms: qubit 1 pairs (0,1), (2,3); qubit 2 pairs (0,2), (1,3)
        d = builder.fmul(u[0], sa[1], flags=_FL)
        for i, j in ((1, 0), (2, 3), (3, 2), (0, 2), (2, 0), (1, 3), (3, 1)):
            d = _fma(builder, u[i], sa[j], d)
        minus = ir.Constant(fty, -1.0)
        cc = _splat(builder, vty, [builder.fmul(cv, cv)])
        nss = _splat(builder, vty, [builder.fmul(builder.fmul(sv, sv), minus)])
        csv_ = builder.fmul(cv, sv)
        csv = _splat(builder, vty, [csv_, builder.fmul(csv_, minus)])

        def quad(v):
            w12 = builder.fmul(csv, _shuffle(builder, builder.fadd(v[1], v[2]), sw), flags=_FL)
            w03 = builder.fmul(csv, _shuffle(builder, builder.fadd(v[0], v[3]), sw), flags=_FL)

            def out(p_, q_, t_):
                return builder.fadd(_fma(builder, nss, q_, builder.fmul(cc, p_, flags=_FL)), t_, flags=_FL)

            return (out(v[0], v[3], w12), out(v[1], v[2], w03), out(v[2], v[1], w03), out(v[3], v[0], w12))

        for p_, r in zip(px, quad(a), strict=True):
            builder.store(r, p_, align=al)
        for p_, r in zip(py, quad(u), strict=True):
            builder.store(r, p_, align=al)
        builder.store(builder.fadd(builder.load(pa, align=al), d, flags=_FL), pa, align=al)
        return context.get_dummy_value()

    return sig, codegen


@njit(fastmath=_FM, cache=True)
def _scalar_bpair(x0, x1, y0, y1, c, s):
    """Plain-form rotation of the pairs (x0[u], x1[u]) and (y0[u], y1[u]); returns
    sum Im(conj(y0) x1 + conj(y1) x0) before the rotation."""
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
        x0[i] = c * ar + s * bi
        x0[j] = c * ai - s * br
        x1[i] = c * br + s * ai
        x1[j] = c * bi - s * ar
        y0[i] = c * ur + s * vi
        y0[j] = c * ui - s * vr
        y1[i] = c * vr + s * ui
        y1[j] = c * vi - s * ur
    return acc


@njit(fastmath=_FM, cache=True)
def rot_bits_adj(xs, ys, lo, hi, c, s, acc):
    """exp(-i b X_q) (``c, s``) on bits lo <= q < hi of both states; returns
    ``sum_q Im <y| X_q |x>`` taken before each qubit's rotation (float64).

    ``acc``: scratch of ``_NSLOT * 64`` reals of the states' dtype.
    """
    for k in range(acc.shape[0]):
        acc[k] = 0.0
    total = 0.0
    nn = _U(xs.shape[0] // 2)
    va = _U(VEC_BYTES // (2 * xs.itemsize))
    va_bits = 2 if xs.itemsize == 8 else 3
    q = lo
    if q == 0 and hi >= LOW_BITS:
        q = LOW_BITS
        step = _U(2 << LOW_BITS)
        ng = _U(xs.shape[0]) // step
        for h in range(ng):
            _bl5(xs, ys, step * h, c, s, acc, (h & _U(3)) * _U(64))
    while q < hi:
        s1 = _U(1) << _U(q)
        d1 = _U(2) * s1
        if q < va_bits:
            for h in range(_U(0), nn, _U(2) * s1):
                b = _U(2) * h
                total += _scalar_bpair(
                    xs[b : b + d1],
                    xs[b + d1 : b + _U(2) * d1],
                    ys[b : b + d1],
                    ys[b + d1 : b + _U(2) * d1],
                    c,
                    s,
                )
            q += 1
        elif q + 1 < hi:
            s2 = _U(2) * s1
            d2 = _U(2) * s2
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s2):
                for m in range(h, h + s2, _U(2) * s1):
                    for u in range(_U(0), s1, va):
                        _bquad(xs, ys, _U(2) * (m + u), d1, d2, c, s, acc, (k & _U(3)) * _U(64))
                        k += _U(1)
            q += 2
        else:
            k = _U(0)
            for h in range(_U(0), nn, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    _bpair(xs, ys, _U(2) * (h + u), d1, c, s, acc, (k & _U(3)) * _U(64))
                    k += _U(1)
            q += 1
    for k in range(acc.shape[0] // 2):
        total += np.float64(acc[2 * k]) - np.float64(acc[2 * k + 1])
    return total


@njit(fastmath=True, cache=True)
def _phase_deriv(xs, ys, ds, shift):
    """sum_k (ds[k] + shift) Im(conj(ys[k]) xs[k]) in float64 (a vectorised reduction).

    Any constant may be added to the diagonal here (``Im <lam|psi> = 0``); the
    callers centre it so that no large constant cancels in float32.
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
def phase_adj_slice(xs, ys, ds, g, shift, dshift, undo, lowp):
    """``sum_k (ds[k] + dshift) Im(conj(ys[k]) xs[k])`` (float64); then with ``undo``
    both states times ``exp(+i g (ds + shift))``."""
    acc = _phase_deriv(xs, ys, ds, dshift)
    if not undo:
        return acc
    n = _U(ds.shape[0])
    g0 = g * shift
    ref = xs[0]
    for t in range(n):
        i = _U(2) * t
        j = i + _U(1)
        c, s = sincos_like(ref, g * ds[t] + g0)
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
def _adj_range(
    x,
    y,
    diag,
    shift,
    dshift,
    lowp,
    a,
    b,
    cbits,
    X,
    Y,
    acc,
    fgam,
    fphi,
    fmag,
    ftt,
    fflip,
    fill,
    init,
    thr,
    inv_alpha,
    bc,
    bs,
    bgam,
    bundo,
    write,
    ch0,
    ch1,
    out,
):
    """One pass of the backward sweep on the chunks ch0..ch1-1 (see module docstring).

    Group 0 is ``a == 0`` (a contiguous block of ``2**b``).  Optional forward
    ops first (``fgam...``: the fused last forward pass), then with ``init`` > 0
    ``Y = W X``, then the backward ops ``j``: the mixer undone with
    ``(bc[j], bs[j])`` (``out[1 + j] += sum_q Im <Y|X_q|X>``), and if
    ``bgam[j]`` is not NaN the phase derivative (``out[1 + nb + j]``) and, if
    ``bundo[j]``, its undo.  ``out[0]`` collects the energy (init mode 1).
    """
    nb = bc.shape[0]
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
    for ch in range(ch0, ch1):
        up = ch // nlow
        lo = ch - up * nlow
        base = (up << b) + (lo << cbits)
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
                    phase_slice(
                        Xs[dst : dst + rlen2],
                        diag[k : k + rlen],
                        g,
                        fphi[i],
                        fmag[i],
                        shift,
                        fill and i == 0,
                        lowp,
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
            out[1 + j] += rot_bits_adj(Xs, Ys, lo_bit, w, bc[j], bs[j], acc)
            g = bgam[j]
            if g == g:
                for r in range(nrows):
                    k = base + (r << a)
                    dst = r * rlen2
                    out[1 + nb + j] += phase_adj_slice(
                        Xs[dst : dst + rlen2],
                        Ys[dst : dst + rlen2],
                        diag[k : k + rlen],
                        g,
                        shift,
                        dshift,
                        bundo[j],
                        lowp,
                    )
        if write:
            for r in range(nrows):
                k = base + (r << a)
                src = r * rlen2
                copy_slice(x[2 * k : 2 * k + rlen2], Xs[src : src + rlen2])
                copy_slice(y[2 * k : 2 * k + rlen2], Ys[src : src + rlen2])


@njit(parallel=True, fastmath=_FM, cache=True)
def _adj_pass(
    x,
    y,
    diag,
    shift,
    dshift,
    lowp,
    n,
    a,
    b,
    cbits,
    X,
    Y,
    acc,
    fgam,
    fphi,
    fmag,
    ftt,
    fflip,
    fill,
    init,
    thr,
    inv_alpha,
    bc,
    bs,
    bgam,
    bundo,
    write,
    nthreads,
):
    w = b - a + cbits
    nchunk = 1 << (n - w)
    nt = min(nthreads, nchunk, X.shape[0])
    nb = bc.shape[0]
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
            fgam,
            fphi,
            fmag,
            ftt,
            fflip,
            fill,
            init,
            thr,
            inv_alpha,
            bc,
            bs,
            bgam,
            bundo,
            write,
            t * nchunk // nt,
            (t + 1) * nchunk // nt,
            outs[t],
        )
    res = np.zeros(1 + 2 * nb)
    for t in range(nt):
        for k in range(1 + 2 * nb):
            res[k] += outs[t, k]
    return res


def adjoint_gradient(sim, d, g, b, shift, objective, alpha):
    """Value and gradient (per unit of ``g = gamma / scale`` and of ``beta``) on ``sim``.

    Internal: called by :meth:`StatevectorSimulator.gradient`, which checks the
    arguments.  ``sim._adjoint`` is the second state.
    """
    from qslack.samplers.qaoa.kernel import _PARALLEL_MIN_QUBITS, _schedule

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
    cb = np.cos(b).astype(rdt)
    sb = (-np.sin(b)).astype(rdt)  # the inverse rotation exp(+i b X)
    empty_f = np.zeros(0)
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
    for ipass in range(len(passes) - 1, -1, -1):
        grp, ops = passes[ipass]
        a, bq, cbits = groups[grp]
        if grp == 0:
            a, cbits = 0, 0
        fused = ipass == len(passes) - 1 and objective == "expectation"
        if fused:
            fgam, fphi, fmag, ftt, fflip = sim._pass_ops(ops, g, b)
            fill = ipass == 0
            if fill:
                fmag = fmag.copy()
                fmag[0] *= 2.0 ** (-0.5 * n)
        else:
            fgam, fphi, fmag = empty_f, empty_f, empty_f
            ftt, fflip = np.zeros(0, dtype=rdt), np.zeros(0, dtype=np.bool_)
            fill = False
        rev = ops[::-1]
        mx = np.array([m for _, m in rev], dtype=np.int64)
        ph = np.array([q for q, _ in rev], dtype=np.int64)
        bc, bs = cb[mx], sb[mx]
        bgam = np.array([g[q] if q >= 0 else np.nan for q in ph])  # undone by exp(+i g D)
        bundo = np.array([not (ipass == 0 and j == len(rev) - 1) for j in range(len(rev))], dtype=np.bool_)
        this_init = init if ipass == len(passes) - 1 else 0
        args = (
            x,
            y,
            d,
            shift,
            dshift,
            sim._lowp,
            n,
            a,
            bq,
            cbits,
            X,
            Y,
            acc,
            fgam,
            fphi,
            fmag,
            ftt,
            fflip,
            fill,
            this_init,
            thr,
            1.0 / alpha,
            bc,
            bs,
            bgam,
            bundo,
            ipass > 0,
        )
        if parallel:
            res = _adj_pass(*args, nt)
        else:
            res = np.zeros(1 + 2 * len(rev))
            w = bq - a + cbits
            _adj_range(*args[:6], *args[7:10], X[0], Y[0], acc[0], *args[13:], 0, 1 << (n - w), res)
        if this_init == 1:
            value = float(res[0])
        nb = len(rev)
        for j in range(nb):
            db[mx[j]] += 2.0 * res[1 + j]
            if ph[j] >= 0:
                dg[ph[j]] += 2.0 * res[1 + nb + j]
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
