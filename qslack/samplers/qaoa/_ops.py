"""Chunk operations of the numba QAOA kernels: phases, mixer rotations, reductions.

Every operation acts on a *float view* ``x`` of amplitudes (real and imaginary
parts interleaved) of a contiguous region that sits in the L1/L2 cache; the
pass drivers in :mod:`~qslack.samplers.qaoa.kernel` and
:mod:`~qslack.samplers.qaoa.gradient` decide which region.

Mixer forms
-----------
``exp(-i b X) = c I - i s X`` (``c, s = cos b, sin b``) acts on an amplitude pair
``(a0, a1)`` (partners in one qubit).  The forward kernel uses the *tangent form*
(one fused multiply-add and one in-register shuffle per vector instead of a
multiply, a fused multiply-add and a shuffle)::

    exp(-i b X) = c (I - i t X),          t = tan b        (|t| <= 1)
                = -i s X (I - i t' X),    t' = -cot b      (otherwise)

so a qubit costs ``a0' = a0 - i t a1, a1' = a1 - i t a0`` (and, in the second
form, the two outputs are stored exchanged: the ``X``).  The scalar ``c`` or
``-i s`` of every qubit of a layer is folded into that layer's phase (the
phase is elementwise, scalars commute with everything), so the state after a
complete layer is the exact state; in between, amplitudes stay below 1 in
modulus because ``|c|, |s| >= 1/sqrt(2)`` in the form chosen.  Two qubits at a
time use the tensor product::

    (I - i t X1)(I - i t X2):  a0' = a0 - t^2 a3 - i t (a1 + a2),  a3' = a3 - t^2 a0 - i t (a1 + a2)
                               a1' = a1 - t^2 a2 - i t (a0 + a3),  a2' = a2 - t^2 a1 - i t (a0 + a3)

(12 vector operations for 4 vectors and 2 qubits).  The adjoint (backward)
sweep uses the plain ``(c, s)`` form on two states and accumulates
``Im <lam| X_q |psi>`` from the values it already holds in registers.

Explicit SIMD: the loop vectoriser handles interleaved complex data and
partners inside one vector poorly, so the rotations are numba intrinsics that
emit LLVM vector code: one 64-byte vector (4 complex128 or 8 complex64
amplitudes) per stream; qubits whose partner sits inside a vector are rotated
with shuffles on a vector of ``2 ** k`` amplitudes.

``cos``/``sin`` of the phase: branch-free Cody--Waite reduction in float64 and
Cephes polynomials (float64; or float32 polynomials after the float64
reduction for complex64 states, ~1 float32 ulp), which the compiler vectorises.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

_FM = {"contract"}  # fused multiply-add only: no reassociation, no finite-math assumptions
_U = np.uint64
# Index arithmetic in the inner loops is done in uint64 on 1-d slices: numba then
# emits no negative-index wrap-around code and LLVM vectorises the loops.

VEC_BYTES = 64  # bytes per stream and intrinsic call (4 complex128 / 8 complex64 amplitudes)
LOW_BITS = 5  # qubits rotated inside one vector of 2**LOW_BITS amplitudes

# --------------------------------------------------------------------------- sincos

_TWO_OVER_PI = 0.636619772367581343076
_PIO2_1 = 1.57079632673412561417e00  # first 33 bits of pi/2
_PIO2_2 = 6.07710050630396597660e-11  # next 33 bits
_PIO2_3 = 2.02226624871116645580e-21  # next 33 bits
# Cephes sin.c / cos polynomials on [-pi/4, pi/4]
_S0 = 1.58962301576546568060e-10
_S1 = -2.50507477628578072866e-8
_S2 = 2.75573136213857245213e-6
_S3 = -1.98412698295895385996e-4
_S4 = 8.33333333332211858878e-3
_S5 = -1.66666666666666307295e-1
_C0 = -1.13585365213876817300e-11
_C1 = 2.08757008419747316778e-9
_C2 = -2.75573141792967388112e-7
_C3 = 2.48015872888517045348e-5
_C4 = -1.38888888888730564116e-3
_C5 = 4.16666666666665929218e-2
# Cephes sinf.c / cosf polynomials (float32) on [-pi/4, pi/4]
_FS0 = np.float32(-1.9515295891e-4)
_FS1 = np.float32(8.3321608736e-3)
_FS2 = np.float32(-1.6666654611e-1)
_FC0 = np.float32(2.443315711809948e-5)
_FC1 = np.float32(-1.388731625493765e-3)
_FC2 = np.float32(4.166664568298827e-2)
_F_HALF = np.float32(0.5)
_F_ONE = np.float32(1.0)


@njit(inline="always", fastmath=_FM)
def _reduce(x):
    """(r, quadrant q as float) with x = q pi/2 + r, |r| <= pi/4 (float64)."""
    q = np.floor(x * _TWO_OVER_PI + 0.5)
    r = x - q * _PIO2_1
    r = r - q * _PIO2_2
    r = r - q * _PIO2_3
    return r, q - 4.0 * np.floor(q * 0.25)


@njit(inline="always", fastmath=_FM)
def _quadrant(cp, sp, m):
    swap = (m == 1.0) | (m == 3.0)
    cs = sp if swap else cp
    sn = cp if swap else sp
    c = -cs if (m == 1.0) | (m == 2.0) else cs
    s = -sn if m >= 2.0 else sn
    return c, s


@njit(inline="always", fastmath=_FM)
def cos_sin(x):
    """(cos x, sin x) in float64, branch-free so that loops calling it vectorise."""
    r, m = _reduce(x)
    z = r * r
    sp = r + r * z * (((((_S0 * z + _S1) * z + _S2) * z + _S3) * z + _S4) * z + _S5)
    cp = 1.0 - 0.5 * z + z * z * (((((_C0 * z + _C1) * z + _C2) * z + _C3) * z + _C4) * z + _C5)
    return _quadrant(cp, sp, m)


@njit(inline="always", fastmath=_FM)
def cos_sin32(x):
    """(cos x, sin x) as float32: float64 range reduction, float32 polynomials."""
    r64, m = _reduce(x)
    r = np.float32(r64)
    z = r * r
    sp = r + r * z * ((_FS0 * z + _FS1) * z + _FS2)
    cp = _F_ONE - _F_HALF * z + z * z * ((_FC0 * z + _FC1) * z + _FC2)
    swap = (m == 1.0) | (m == 3.0)
    cs = sp if swap else cp
    sn = cp if swap else sp
    c = -cs if (m == 1.0) | (m == 2.0) else cs
    s = -sn if m >= 2.0 else sn
    return c, s


_INV_PI = 0.318309886183790671538
_PI_1 = 3.14159265346825122833  # first 33 bits of pi (q * _PI_1 is exact for |q| < 2**20)
_PI_2 = 1.21542010130123852257e-10  # the next bits
# float32 polynomials on [-pi/2, pi/2] (least-squares fits on Chebyshev nodes, weighted by
# their share of the result; max error 1.0e-7 for sin, 7.4e-8 for cos, ~1 float32 ulp)
_HS0 = np.float32(-0.16666656729531007)
_HS1 = np.float32(0.008333010281525383)
_HS2 = np.float32(-0.0001980619880328294)
_HS3 = np.float32(2.5992711066300314e-06)
_HC0 = np.float32(0.04166665532094035)
_HC1 = np.float32(-0.0013888561124828045)
_HC2 = np.float32(2.476885144317854e-05)
_HC3 = np.float32(-2.618563205215342e-07)
_F_TWO = np.float32(2.0)


@njit(inline="always", fastmath=_FM)
def cos_sin32h(x):
    """(cos x, sin x) as float32 from a float64 ``x``: reduction by pi, not pi/2.

    ``x = q pi + r`` with ``|r| <= pi/2`` (float64), degree-12/9 float32
    polynomials in ``r``, and the sign ``(-1)**q`` as a multiply: no quadrant
    selects, so the loop around it is shorter than :func:`cos_sin32`'s
    (~1.4x faster in the phase loops, ~1 float32 ulp).
    """
    q = np.floor(x * _INV_PI + 0.5)
    r = (x - q * _PI_1) - q * _PI_2
    par = q - 2.0 * np.floor(0.5 * q)
    rr = np.float32(r)
    z = rr * rr
    sp = rr + rr * z * (((_HS3 * z + _HS2) * z + _HS1) * z + _HS0)
    cp = _F_ONE - _F_HALF * z + z * z * (((_HC3 * z + _HC2) * z + _HC1) * z + _HC0)
    sg = _F_ONE - _F_TWO * np.float32(par)
    return cp * sg, sp * sg


# --------------------------------------------------------------------------- phases


def sincos_like(ref, x):
    """(cos x, sin x) in the precision of ``ref`` (a float32 or float64 scalar); numba only."""
    raise NotImplementedError("numba-only helper")


def sincos_fast_like(ref, x):
    """(cos x, sin x) in the precision of ``ref``: :func:`cos_sin32h` for float32, else
    :func:`cos_sin`; numba only."""
    raise NotImplementedError("numba-only helper")


def as_like(ref, v):
    """``v`` cast to the type of ``ref``; numba only."""
    raise NotImplementedError("numba-only helper")


def _is_f32(ty) -> bool:
    return isinstance(ty, types.Float) and ty.bitwidth == 32


@overload(sincos_like, jit_options={"fastmath": _FM})
def _ol_sincos_like(ref, x):
    if _is_f32(ref):
        return lambda ref, x: cos_sin32(x)
    return lambda ref, x: cos_sin(x)


@overload(sincos_fast_like, jit_options={"fastmath": _FM})
def _ol_sincos_fast_like(ref, x):
    if _is_f32(ref):
        return lambda ref, x: cos_sin32h(x)
    return lambda ref, x: cos_sin(x)


@overload(as_like)
def _ol_as_like(ref, v):
    if _is_f32(ref):
        return lambda ref, v: np.float32(v)
    return lambda ref, v: np.float64(v)


@njit(fastmath=_FM, cache=True)
def phase_slice(xs, ds, g, phi, mag, shift, fill, lowp):
    """xs[t] <- mag * exp(-i (g (ds[t] + shift) - phi)) * (xs[t], or 1 if ``fill``).

    ``xs`` is a float view of ``len(ds)`` amplitudes; ``mag * exp(i phi)`` is a
    scalar folded into the phase (the mixer scalars of the layer, the ``|+>``
    amplitude); ``shift`` is added to the diagonal (the offset a float32
    diagonal was stored without).  float32 views use float32 polynomials after
    the float64 range reduction (``lowp`` is implied by the dtype).
    """
    g0 = g * shift - phi
    n = _U(ds.shape[0])
    m = as_like(xs[0], mag)
    if fill:
        for t in range(n):
            c, s = sincos_like(m, g * ds[t] + g0)
            i = _U(2) * t
            xs[i] = m * c
            xs[i + _U(1)] = -m * s
    else:
        for t in range(n):
            c, s = sincos_like(m, g * ds[t] + g0)
            c = c * m
            s = s * m
            i = _U(2) * t
            re = xs[i]
            im = xs[i + _U(1)]
            xs[i] = re * c + im * s
            xs[i + _U(1)] = im * c - re * s


#: amplitudes per sub-block of the two-loop float32 phase (its reduced angles stay in L1)
PHASE_SUB = 512


@njit(fastmath=_FM, cache=True)
def reduce_pi(ds, g, g0, rb, qb):
    """``g ds[t] + g0 = q pi + r`` (float64, ``|r| <= pi/2``): ``rb[t], qb[t] = float32(r), float32(q)``."""
    for t in range(_U(ds.shape[0])):
        x = g * ds[t] + g0
        q = np.floor(x * _INV_PI + 0.5)
        r = (x - q * _PI_1) - q * _PI_2
        rb[t] = np.float32(r)
        qb[t] = np.float32(q)


@njit(inline="always", fastmath=_FM)
def cos_sin_reduced32(rr, qf, m):
    """``m (cos x, sin x)`` (float32) from the reduced ``x = qf pi + rr`` of :func:`reduce_pi`
    (the same values as :func:`cos_sin32h` times ``m``)."""
    z = rr * rr
    sp = rr + rr * z * (((_HS3 * z + _HS2) * z + _HS1) * z + _HS0)
    cp = _F_ONE - _F_HALF * z + z * z * (((_HC3 * z + _HC2) * z + _HC1) * z + _HC0)
    sg = m * (_F_ONE - _F_TWO * (qf - _F_TWO * np.floor(_F_HALF * qf)))
    return cp * sg, sp * sg


@njit(fastmath=_FM, cache=True)
def phase_slice_fast(xs, ds, g, phi, mag, shift, fill, rb, qb):
    """:func:`phase_slice` with the sincos reduced by pi (:func:`cos_sin32h`) for float32 views.

    float32 views run two loops per sub-block of :data:`PHASE_SUB` amplitudes: the float64
    reduction into the float32 scratch ``rb, qb`` (length >= :data:`PHASE_SUB`), then a
    float32-only loop (polynomials and the multiply), which vectorises twice as wide as one
    loop mixing float64 and float32 (~1.9x faster than :func:`phase_slice`).  float64 views:
    :func:`cos_sin`, as :func:`phase_slice`.
    """
    g0 = g * shift - phi
    n = ds.shape[0]
    m = as_like(xs[0], mag)
    if xs.itemsize == 8:
        phase_slice(xs, ds, g, phi, mag, shift, fill, False)
        return
    for s0 in range(0, n, PHASE_SUB):
        nn = _U(min(PHASE_SUB, n - s0))
        reduce_pi(ds[s0 : s0 + PHASE_SUB], g, g0, rb, qb)
        xv = xs[2 * s0 : 2 * s0 + 2 * PHASE_SUB]
        if fill:
            for t in range(nn):
                c, s = cos_sin_reduced32(rb[t], qb[t], m)
                i = _U(2) * t
                xv[i] = c
                xv[i + _U(1)] = -s
        else:
            for t in range(nn):
                c, s = cos_sin_reduced32(rb[t], qb[t], m)
                i = _U(2) * t
                re = xv[i]
                im = xv[i + _U(1)]
                xv[i] = re * c + im * s
                xv[i + _U(1)] = im * c - re * s


@njit(fastmath=True, cache=True)
def expect_slice(xs, ds, shift):
    """sum_k |xs[k]|^2 (ds[k] + shift) (xs a float view: re, im interleaved), float64 sum."""
    acc = 0.0
    for k in range(_U(ds.shape[0])):
        re = np.float64(xs[_U(2) * k])
        im = np.float64(xs[_U(2) * k + _U(1)])
        acc += (re * re + im * im) * (np.float64(ds[k]) + shift)
    return acc


@njit(fastmath=True, cache=True)
def norm_slice(xs):
    """sum_k |xs[k]|^2 (float64 sum)."""
    acc = 0.0
    for k in range(_U(xs.shape[0] // 2)):
        re = np.float64(xs[_U(2) * k])
        im = np.float64(xs[_U(2) * k + _U(1)])
        acc += re * re + im * im
    return acc


@njit(fastmath=_FM, cache=True)
def copy_slice(dst, src):
    for i in range(_U(dst.shape[0])):
        dst[i] = src[i]


# --------------------------------------------------------------------------- LLVM helpers


def _vec_lanes(aty) -> int:
    """Reals per vector for the array type ``aty``."""
    return VEC_BYTES * 8 // aty.dtype.bitwidth


def _float_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(arr.dtype, types.Float)


def _scalars(context, builder, signature, args, first, count, aty):
    return [
        context.cast(builder, args[first + j], signature.args[first + j], aty.dtype) for j in range(count)
    ]


def _splat(builder, vty, values):
    """A vector whose lane L is values[L % len(values)]."""
    i32 = ir.IntType(32)
    vec = ir.Constant(vty, ir.Undefined)
    for lane in range(vty.count):
        vec = builder.insert_element(vec, values[lane % len(values)], ir.Constant(i32, lane))
    return vec


def _shuffle(builder, v, perm):
    i32 = ir.IntType(32)
    return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, len(perm)), perm))


def _ptrs(context, builder, signature, args, ary, vty, arg_base, nidx):
    """Vector pointers at x[base] + every sum of the nidx offsets that follow ``base``."""
    base = context.cast(builder, args[arg_base], signature.args[arg_base], types.uint64)
    offs = [
        context.cast(builder, args[arg_base + 1 + j], signature.args[arg_base + 1 + j], types.uint64)
        for j in range(nidx)
    ]
    ptrs = []
    for b in range(1 << nidx):
        ix = base
        for j in range(nidx):
            if b >> j & 1:
                ix = builder.add(ix, offs[j])
        ptrs.append(builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer()))
    return ptrs


_FL = ("contract",)


def _fma(builder, a, b, c):
    """a * b + c (contractable)."""
    return builder.fadd(builder.fmul(a, b, flags=_FL), c, flags=_FL)


@intrinsic
def prefetch(typingctx, arr, idx):
    """Intrinsic ``prefetch(a, i)``: a software prefetch of the cache line of ``a[i]`` (a hint;
    ``llvm.prefetch`` for reading, high locality)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        ix = context.cast(builder, args[1], signature.args[1], types.uint64)
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), i8p)
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        )
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(fastmath=_FM, cache=True)
def prefetch_slice(a, k0, k1):
    """Software prefetches of the cache lines of a[k0:k1] (one per 64 bytes)."""
    step = _U(64 // a.itemsize)
    for k in range(_U(k0), _U(k1), step):
        prefetch(a, k)


# --------------------------------------------------------------------------- tangent-form intrinsics


def _make_tlow(nbits: int, flip: bool):
    """Intrinsic ``f(x, idx, t)``: tangent-form rotations of bits 0..nbits-1 of the
    ``2**nbits`` amplitudes at float index ``idx`` (one LLVM vector), then with
    ``flip`` the ``X`` on all those bits (a lane permutation)."""
    lanes = 2 << nbits

    @intrinsic
    def tlow(typingctx, arr, idx, t):
        if not _float_array(arr):
            return None
        sig = types.void(arr, idx, t)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 2, 1, aty)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            (vptr,) = _ptrs(context, builder, signature, args, ary, vty, 1, 0)
            v = builder.load(vptr, align=al)
            tvec = _splat(builder, vty, [tv, builder.fmul(tv, ir.Constant(fty, -1.0))])
            for q in range(nbits):
                pv = _shuffle(builder, v, [lane ^ (2 << q) ^ 1 for lane in range(lanes)])
                v = _fma(builder, tvec, pv, v)
            if flip:
                allbits = lanes - 2  # lane bits 1..nbits = amplitude bits 0..nbits-1
                v = _shuffle(builder, v, [lane ^ allbits for lane in range(lanes)])
            builder.store(v, vptr, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tlow


def _make_tpair(flip: bool):
    """Intrinsic ``f(x, i0, d1, t)``: tangent form on the vector pair (x[i0..], x[i0+d1..])."""

    @intrinsic
    def tpair(typingctx, arr, i0, d1, t):
        if not _float_array(arr):
            return None
        sig = types.void(arr, i0, d1, t)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 3, 1, aty)
            lanes = _vec_lanes(aty)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            p0, p1 = _ptrs(context, builder, signature, args, ary, vty, 1, 1)
            a = builder.load(p0, align=al)
            b = builder.load(p1, align=al)
            tvec = _splat(builder, vty, [tv, builder.fmul(tv, ir.Constant(fty, -1.0))])
            swap = [lane ^ 1 for lane in range(lanes)]
            a2 = _fma(builder, tvec, _shuffle(builder, b, swap), a)
            b2 = _fma(builder, tvec, _shuffle(builder, a, swap), b)
            if flip:
                a2, b2 = b2, a2
            builder.store(a2, p0, align=al)
            builder.store(b2, p1, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tpair


def _make_tquad(flip: bool):
    """Intrinsic ``f(x, i0, d1, d2, t)``: two tangent-form qubits on 4 vector streams.

    Streams a0..a3 at x[i0], x[i0+d1], x[i0+d2], x[i0+d1+d2] (bits q1, q2).
    """

    @intrinsic
    def tquad(typingctx, arr, i0, d1, d2, t):
        if not _float_array(arr):
            return None
        sig = types.void(arr, i0, d1, d2, t)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            (tv,) = _scalars(context, builder, signature, args, 4, 1, aty)
            lanes = _vec_lanes(aty)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            ptrs = _ptrs(context, builder, signature, args, ary, vty, 1, 2)
            a0, a1, a2, a3 = (builder.load(p, align=al) for p in ptrs)
            minus = ir.Constant(fty, -1.0)
            tvec = _splat(builder, vty, [tv, builder.fmul(tv, minus)])
            ntt = _splat(builder, vty, [builder.fmul(builder.fmul(tv, tv), minus)])
            swap = [lane ^ 1 for lane in range(lanes)]
            w12 = _shuffle(builder, builder.fadd(a1, a2), swap)
            w03 = _shuffle(builder, builder.fadd(a0, a3), swap)
            r0 = _fma(builder, tvec, w12, _fma(builder, ntt, a3, a0))
            r3 = _fma(builder, tvec, w12, _fma(builder, ntt, a0, a3))
            r1 = _fma(builder, tvec, w03, _fma(builder, ntt, a2, a1))
            r2 = _fma(builder, tvec, w03, _fma(builder, ntt, a1, a2))
            res = (r3, r2, r1, r0) if flip else (r0, r1, r2, r3)
            for p, r in zip(ptrs, res, strict=True):
                builder.store(r, p, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return tquad


_tl5 = _make_tlow(LOW_BITS, False)
_tx5 = _make_tlow(LOW_BITS, True)
_tpair = _make_tpair(False)
_tpairx = _make_tpair(True)
_tquad = _make_tquad(False)
_tquadx = _make_tquad(True)


@njit(fastmath=_FM, cache=True)
def _scalar_tpair(p0, p1, t, flip):
    """Tangent form on the amplitude pairs (p0[u], p1[u]) (float views), scalar code."""
    for u in range(_U(p0.shape[0] // 2)):
        i = _U(2) * u
        j = i + _U(1)
        ar = p0[i]
        ai = p0[j]
        br = p1[i]
        bi = p1[j]
        nar = ar + t * bi
        nai = ai - t * br
        nbr = br + t * ai
        nbi = bi - t * ar
        if flip:
            nar, nai, nbr, nbi = nbr, nbi, nar, nai
        p0[i] = nar
        p0[j] = nai
        p1[i] = nbr
        p1[j] = nbi


@njit(fastmath=_FM, cache=True)
def _trot_low(xs, k, t, flip):
    """Tangent form on bits 0..k-1 (1 <= k <= LOW_BITS) of the amplitudes of xs.

    ``k = LOW_BITS``: one vector intrinsic per ``2**LOW_BITS`` amplitudes; fewer
    bits (tiny blocks only) go through scalar code.
    """
    if k == LOW_BITS:
        step = _U(2 << LOW_BITS)
        ng = _U(xs.shape[0]) // step
        if flip:
            for h in range(ng):
                _tx5(xs, step * h, t)
        else:
            for h in range(ng):
                _tl5(xs, step * h, t)
        return
    nn = _U(xs.shape[0] // 2)
    for q in range(k):
        s1 = _U(1) << _U(q)
        d1 = _U(2) * s1
        for h in range(_U(0), nn, _U(2) * s1):
            b = _U(2) * h
            _scalar_tpair(xs[b : b + d1], xs[b + d1 : b + _U(2) * d1], t, flip)


@njit(fastmath=_FM, cache=True)
def _trot1(xs, q, t, flip):
    """Tangent form on bit q of the amplitudes of xs."""
    s1 = _U(1) << _U(q)
    nn = _U(xs.shape[0] // 2)
    d1 = _U(2) * s1
    va = _U(VEC_BYTES // (2 * xs.itemsize))  # amplitudes per vector
    if s1 % va != 0:
        for h in range(_U(0), nn, _U(2) * s1):
            b = _U(2) * h
            _scalar_tpair(xs[b : b + d1], xs[b + d1 : b + _U(2) * d1], t, flip)
        return
    if flip:
        for h in range(_U(0), nn, _U(2) * s1):
            for u in range(_U(0), s1, va):
                _tpairx(xs, _U(2) * (h + u), d1, t)
    else:
        for h in range(_U(0), nn, _U(2) * s1):
            for u in range(_U(0), s1, va):
                _tpair(xs, _U(2) * (h + u), d1, t)


@njit(fastmath=_FM, cache=True)
def _trot2(xs, q1, q2, t, flip):
    """Tangent form on bits q1 < q2 of the amplitudes of xs (vectorised: 2**q1 >= vector)."""
    s1 = _U(1) << _U(q1)
    s2 = _U(1) << _U(q2)
    nn = _U(xs.shape[0] // 2)
    d1 = _U(2) * s1
    d2 = _U(2) * s2
    va = _U(VEC_BYTES // (2 * xs.itemsize))
    if flip:
        for h in range(_U(0), nn, _U(2) * s2):
            for m in range(h, h + s2, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    _tquadx(xs, _U(2) * (m + u), d1, d2, t)
    else:
        for h in range(_U(0), nn, _U(2) * s2):
            for m in range(h, h + s2, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    _tquad(xs, _U(2) * (m + u), d1, d2, t)


@njit(fastmath=_FM, cache=True)
def trot_bits(xs, lo, hi, t, flip):
    """Tangent-form mixer on every bit lo <= q < hi of the amplitudes of the float view xs.

    ``flip``: the second form (``X`` applied on every rotated bit).
    """
    va_bits = 2 if xs.itemsize == 8 else 3  # log2 amplitudes per vector
    q = lo
    if q == 0:
        q = min(hi, LOW_BITS)
        _trot_low(xs, q, t, flip)
    while q < hi:
        if q + 1 < hi and q >= va_bits:
            _trot2(xs, q, q + 1, t, flip)
            q += 2
        else:
            _trot1(xs, q, t, flip)
            q += 1


# --------------------------------------------------------------------------- structured one-qubit gates
#
# The warm-start and X mixers of :mod:`~qslack.samplers.qaoa.ansatz` are one-qubit gates
# of the form ``U = ar I + i (ai Z + w X)`` (ar, ai, w real):
#
#     U = [[ar + i ai, i w], [i w, ar - i ai]]
#
# (``exp(-i b M)`` with ``M = z Z + x X``: ``ar = cos b``, ``ai = -z sin b``,
# ``w = -x sin b``).  On a float view ``x0 = (p, q), x1 = (r, s)``::
#
#     x0' = ar x0 + (-ai, +ai) * (q, p) + (-w, +w) * (s, r)
#     x1' = ar x1 + (+ai, -ai) * (s, r) + (-w, +w) * (q, p)
#
# i.e. per vector one multiply, two fused multiply-adds and two in-register
# swaps of (re, im).  With ``unit`` the caller has divided ``U`` by ``ar``
# (``ar = 1`` is implied and its multiply skipped; the scalar goes elsewhere).


def _zx_patterns(builder, vty, ai, w, bit):
    """(B, C) coefficient vectors: B on the x0 side (lane bit ``bit`` clear) is (-ai, +ai), on the
    x1 side (+ai, -ai); C is (-w, +w) everywhere.  ``bit = None``: B is the x0 pattern everywhere."""
    fty = vty.element
    minus = ir.Constant(fty, -1.0)
    nai = builder.fmul(ai, minus)
    nw = builder.fmul(w, minus)
    lanes = vty.count
    bvals = []
    for lane in range(lanes):
        first = lane % 2 == 0  # the real part
        side1 = bit is not None and (lane >> (bit + 1)) & 1 == 1
        bvals.append(nai if first != side1 else ai)
    return _splat(builder, vty, bvals), _splat(builder, vty, [nw, w])


def _zx_streams(builder, a, b, A, B, nB, C, unit):
    """The gate on the stream pair (a = x0 amplitudes, b = x1 amplitudes)."""
    lanes = a.type.count
    swap = [lane ^ 1 for lane in range(lanes)]
    sa = _shuffle(builder, a, swap)
    sb = _shuffle(builder, b, swap)
    a0 = a if unit else builder.fmul(A, a, flags=_FL)
    b0 = b if unit else builder.fmul(A, b, flags=_FL)
    a2 = _fma(builder, C, sb, _fma(builder, B, sa, a0))
    b2 = _fma(builder, C, sa, _fma(builder, nB, sb, b0))
    return a2, b2


def _make_zxlow(nbits: int, unit: bool):
    """Intrinsic ``f(x, idx, cf)``: the gates of bits 0..nbits-1 on the ``2**nbits`` amplitudes at
    float index ``idx`` (one LLVM vector); ``cf`` is a tuple ``(ar_0, ai_0, w_0, ar_1, ...)``."""
    lanes = 2 << nbits

    @intrinsic
    def zxlow(typingctx, arr, idx, cf):
        if not _float_array(arr) or not (isinstance(cf, types.UniTuple) and cf.count == 3 * nbits):
            return None
        sig = types.void(arr, idx, cf)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            tty = signature.args[2]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            vals = [
                context.cast(builder, builder.extract_value(args[2], j), tty.dtype, aty.dtype)
                for j in range(3 * nbits)
            ]
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            (vptr,) = _ptrs(context, builder, signature, args, ary, vty, 1, 0)
            v = builder.load(vptr, align=al)
            sw1 = [lane ^ 1 for lane in range(lanes)]
            for q in range(nbits):
                ar, ai, w = vals[3 * q : 3 * q + 3]
                B, C = _zx_patterns(builder, vty, ai, w, q)
                s1 = _shuffle(builder, v, sw1)
                sq = _shuffle(builder, v, [lane ^ (2 << q) ^ 1 for lane in range(lanes)])
                v0 = v if unit else builder.fmul(_splat(builder, vty, [ar]), v, flags=_FL)
                v = _fma(builder, C, sq, _fma(builder, B, s1, v0))
            builder.store(v, vptr, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return zxlow


def _make_zxpair(unit: bool):
    """Intrinsic ``f(x, i0, d1, ar, ai, w)``: the gate on the vector pair (x[i0..], x[i0+d1..])."""

    @intrinsic
    def zxpair(typingctx, arr, i0, d1, ar, ai, w):
        if not _float_array(arr):
            return None
        sig = types.void(arr, i0, d1, ar, ai, w)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            arv, aiv, wv = _scalars(context, builder, signature, args, 3, 3, aty)
            vty = ir.VectorType(fty, _vec_lanes(aty))
            al = aty.dtype.bitwidth // 8
            p0, p1 = _ptrs(context, builder, signature, args, ary, vty, 1, 1)
            a = builder.load(p0, align=al)
            b = builder.load(p1, align=al)
            B, C = _zx_patterns(builder, vty, aiv, wv, None)
            nB, _ = _zx_patterns(builder, vty, builder.fmul(aiv, ir.Constant(fty, -1.0)), wv, None)
            A = _splat(builder, vty, [arv])
            a2, b2 = _zx_streams(builder, a, b, A, B, nB, C, unit)
            builder.store(a2, p0, align=al)
            builder.store(b2, p1, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return zxpair


def _make_zxquad(unit: bool):
    """Intrinsic ``f(x, i0, d1, d2, ar1, ai1, w1, ar2, ai2, w2)``: the gates of two bits on the
    four vector streams x[i0], x[i0+d1], x[i0+d2], x[i0+d1+d2] (bit 1, then bit 2; they commute)."""

    @intrinsic
    def zxquad(typingctx, arr, i0, d1, d2, ar1, ai1, w1, ar2, ai2, w2):
        if not _float_array(arr):
            return None
        sig = types.void(arr, i0, d1, d2, ar1, ai1, w1, ar2, ai2, w2)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            fty = context.get_value_type(aty.dtype)
            c = _scalars(context, builder, signature, args, 4, 6, aty)
            vty = ir.VectorType(fty, _vec_lanes(aty))
            al = aty.dtype.bitwidth // 8
            ptrs = _ptrs(context, builder, signature, args, ary, vty, 1, 2)
            a0, a1, a2, a3 = (builder.load(p, align=al) for p in ptrs)
            minus = ir.Constant(fty, -1.0)
            coef = []
            for k in (0, 3):
                B, C = _zx_patterns(builder, vty, c[k + 1], c[k + 2], None)
                nB, _ = _zx_patterns(builder, vty, builder.fmul(c[k + 1], minus), c[k + 2], None)
                coef.append((_splat(builder, vty, [c[k]]), B, nB, C))
            a0, a1 = _zx_streams(builder, a0, a1, *coef[0], unit)
            a2, a3 = _zx_streams(builder, a2, a3, *coef[0], unit)
            a0, a2 = _zx_streams(builder, a0, a2, *coef[1], unit)
            a1, a3 = _zx_streams(builder, a1, a3, *coef[1], unit)
            for p, r in zip(ptrs, (a0, a1, a2, a3), strict=True):
                builder.store(r, p, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return zxquad


_zxl2 = _make_zxlow(2, False)
_zxl2u = _make_zxlow(2, True)
_zxl3 = _make_zxlow(3, False)
_zxl3u = _make_zxlow(3, True)
_zxpair = _make_zxpair(False)
_zxpairu = _make_zxpair(True)
_zxquad = _make_zxquad(False)
_zxquadu = _make_zxquad(True)

#: rotations of bits below this run on sub-chunks of ``2**ZX_L1_BITS`` amplitudes
#: (complex128; one more for complex64: 32 KiB, the L1 data cache) before the higher bits
ZX_L1_BITS = 11


@njit(fastmath=_FM, cache=True)
def _zx_scalar_bit(xs, q, ar, ai, w, unit):
    """The gate on bit q of the amplitudes of the float view xs (scalar code, any stride)."""
    s = _U(1) << _U(q)
    nn = _U(xs.shape[0] // 2)
    if unit:
        ar = as_like(xs[0], 1.0)
    for h in range(_U(0), nn, _U(2) * s):
        for u in range(s):
            i = _U(2) * (h + u)
            j = i + _U(2) * s
            p = xs[i]
            q_ = xs[i + _U(1)]
            r = xs[j]
            t = xs[j + _U(1)]
            xs[i] = ar * p - ai * q_ - w * t
            xs[i + _U(1)] = ar * q_ + ai * p + w * r
            xs[j] = ar * r + ai * t - w * q_
            xs[j + _U(1)] = ar * t - ai * r + w * p


@njit(inline="always")
def _zx_identity(cf, j, unit):
    return cf[j, 1] == 0.0 and cf[j, 2] == 0.0 and (unit or cf[j, 0] == 1.0)


@njit(fastmath=_FM, cache=True)
def _zx_stream_bits(xs, lo, hi, cf, j0, unit):
    """Gates of the bits lo..hi-1 (all at strides of at least one vector), rows cf[j0 + q - lo]."""
    va = _U(VEC_BYTES // (2 * xs.itemsize))  # amplitudes per vector
    nn = _U(xs.shape[0] // 2)
    one = as_like(xs[0], 1.0)
    q1 = -1
    for q in range(lo, hi + 1):
        if q < hi:
            j = j0 + q - lo
            if _zx_identity(cf, j, unit):
                continue
            if q1 < 0:
                q1 = q
                continue
        elif q1 < 0:
            break
        ja = j0 + q1 - lo
        ar1 = one if unit else as_like(xs[0], cf[ja, 0])
        ai1 = as_like(xs[0], cf[ja, 1])
        w1 = as_like(xs[0], cf[ja, 2])
        s1 = _U(1) << _U(q1)
        d1 = _U(2) * s1
        if q == hi:  # a last bit without a partner
            for h in range(_U(0), nn, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    if unit:
                        _zxpairu(xs, _U(2) * (h + u), d1, ar1, ai1, w1)
                    else:
                        _zxpair(xs, _U(2) * (h + u), d1, ar1, ai1, w1)
            break
        jb = j0 + q - lo
        ar2 = one if unit else as_like(xs[0], cf[jb, 0])
        ai2 = as_like(xs[0], cf[jb, 1])
        w2 = as_like(xs[0], cf[jb, 2])
        s2 = _U(1) << _U(q)
        d2 = _U(2) * s2
        for h in range(_U(0), nn, _U(2) * s2):
            for m in range(h, h + s2, _U(2) * s1):
                for u in range(_U(0), s1, va):
                    if unit:
                        _zxquadu(xs, _U(2) * (m + u), d1, d2, ar1, ai1, w1, ar2, ai2, w2)
                    else:
                        _zxquad(xs, _U(2) * (m + u), d1, d2, ar1, ai1, w1, ar2, ai2, w2)
        q1 = -1


@njit(fastmath=_FM, cache=True)
def _zx_range(xs, lo, hi, cf, j0, unit):
    """Gates of the bits lo..hi-1 on the float view xs; bit q uses row cf[j0 + q - lo]."""
    vb = 2 if xs.itemsize == 8 else 3  # log2 amplitudes per vector
    nn = xs.shape[0] // 2
    if nn < (1 << vb) or (lo < vb and (lo > 0 or hi < vb)):
        # tiny chunks, or in-vector bits that do not start at 0: scalar code for those
        top = hi if nn < (1 << vb) else min(hi, vb)
        for q in range(lo, top):
            j = j0 + q - lo
            if not _zx_identity(cf, j, unit):
                _zx_scalar_bit(
                    xs, q, as_like(xs[0], cf[j, 0]), as_like(xs[0], cf[j, 1]), as_like(xs[0], cf[j, 2]), unit
                )
        if top < hi:
            _zx_stream_bits(xs, top, hi, cf, j0 + top - lo, unit)
        return
    q = lo
    if lo == 0:  # bits 0..vb-1 inside one vector
        if vb == 2:
            c2 = (cf[j0, 0], cf[j0, 1], cf[j0, 2], cf[j0 + 1, 0], cf[j0 + 1, 1], cf[j0 + 1, 2])
            step = _U(8)
            ng = _U(nn) // _U(4)
            if unit:
                for h in range(ng):
                    _zxl2u(xs, step * h, c2)
            else:
                for h in range(ng):
                    _zxl2(xs, step * h, c2)
        else:
            c3 = (
                cf[j0, 0], cf[j0, 1], cf[j0, 2],
                cf[j0 + 1, 0], cf[j0 + 1, 1], cf[j0 + 1, 2],
                cf[j0 + 2, 0], cf[j0 + 2, 1], cf[j0 + 2, 2],
            )  # fmt: skip
            step = _U(16)
            ng = _U(nn) // _U(8)
            if unit:
                for h in range(ng):
                    _zxl3u(xs, step * h, c3)
            else:
                for h in range(ng):
                    _zxl3(xs, step * h, c3)
        q = vb
    if q < hi:
        _zx_stream_bits(xs, q, hi, cf, j0 + q - lo, unit)


@njit(fastmath=_FM, cache=True)
def zxrot_bits(xs, lo, hi, cf, unit):
    """The gates ``U_j = ar I + i (ai Z + w X)`` on the bits lo <= q < hi of the float view xs.

    Parameters
    ----------
    xs : float32 or float64 array
        Amplitudes (real and imaginary parts interleaved), ``2**k`` of them.
    lo, hi : int
        The bit range (``hi <= k``).
    cf : (hi - lo, 3) float64 array
        ``(ar, ai, w)`` of bit ``lo + j`` in row ``j``; identity rows are skipped.
    unit : bool
        ``ar = 1`` is implied (the caller has divided the gates by ``ar``).

    Bits below :data:`ZX_L1_BITS` (+1 for float32) are applied to one L1-sized
    sub-chunk after the other, then the higher bits to the whole view.
    """
    l1 = ZX_L1_BITS + (1 if xs.itemsize == 4 else 0)
    nn = xs.shape[0] // 2
    if lo < l1 < hi and nn > (1 << l1):
        sub = 2 << l1
        for c in range(xs.shape[0] // sub):
            _zx_range(xs[c * sub : (c + 1) * sub], lo, l1, cf, 0, unit)
        _zx_range(xs, l1, hi, cf, l1 - lo, unit)
    else:
        _zx_range(xs, lo, hi, cf, 0, unit)
