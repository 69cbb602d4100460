"""Fast QAOA statevector kernel (numba, CPU).

The state after ``p`` layers is::

    |psi> = prod_{l=1..p} exp(-i beta_l sum_j X_j) exp(-i gamma_l D / scale) |+>^n

where ``D = diag(diag)`` is the cost of every basis state, basis index ``k`` has
bit ``j`` equal to qubit ``j`` (= binary variable ``x_j``, Qiskit's little-endian
order) and ``exp(-i b X) = cos(b) I - i sin(b) X`` on every qubit.

Performance design
------------------
The simulator owns **one** state buffer of ``2**n`` amplitudes; an evaluation
allocates nothing else of that size.

* The qubits are split into groups.  Group 0 is the ``B`` lowest qubits
  (``B = block_bits``, default 15: a block of ``2**15`` complex128 amplitudes is
  512 KiB and stays in the per-core L2 cache).  The higher qubits are split into
  groups of at most ``B - 5`` qubits.
* A *pass* walks over the state once, one L2-sized chunk at a time (``prange``
  over chunks), and applies to each chunk every operation it can before the chunk
  goes back to memory.  For group 0 a chunk is a contiguous block; for a higher
  group ``[a, b)`` a chunk is the ``2**(b - a)`` rows of ``2**c`` contiguous
  amplitudes that differ only in the qubits ``a..b-1``; they are gathered into a
  per-thread scratch buffer of ``2**B`` amplitudes (power-of-two strides would
  thrash the cache sets in place), rotated, and scattered back.
* The phase ``exp(-i gamma D / scale)`` is elementwise, so it joins any pass;
  the mixer rotations of different qubits commute, so the layers alternate the
  order of their groups and one pass carries the last group of layer ``l``, the
  phase of layer ``l + 1`` and the first group of layer ``l + 1``.  The initial
  ``|+>`` fill is fused into the first pass.  With two groups (``B < n <= 25``)
  an evaluation of depth ``p`` makes ``p + 1`` passes over the state.
* Inside a chunk the rotations are explicit SIMD (numba ``@intrinsic`` emitting
  LLVM vector code: one 64-byte vector of interleaved re/im per stream):
  qubits 0..4 are rotated inside a 32-amplitude vector with shuffles, the
  others two at a time on 4-amplitude groups (the tensor product of the two
  rotations, 16 vector operations per 4 vectors).  The loop vectoriser alone
  was 2-4x slower here (interleaved complex data, partners in the same vector).
* ``cos``/``sin`` of the phase are computed on the fly by a branch-free
  Cody--Waite reduction and Cephes polynomials that the compiler vectorises
  (about 1 ulp for ``|gamma * D / scale| < 1e6``); no ``2**n`` phase vector is
  ever built.
* :meth:`StatevectorSimulator.run_expectation` also sums ``<psi|D|psi>`` in the
  last pass, saving the separate read of :meth:`~StatevectorSimulator.expectation`.

Numerics: the kernels are compiled with ``fastmath={"contract"}`` only (fused
multiply-add allowed; no reassociation, no NaN/Inf assumptions: full fastmath
could reassociate the range reduction of the phase), so the results are
deterministic for a given machine and thread count and agree with a plain
numpy reference to ~1e-15.  Only the expectation reduction uses full
``fastmath`` (reassociation lets it vectorise; it changes the sum by rounding
only).  Every kernel is compiled with ``cache=True``: the first call in a fresh
environment pays the compile time once (~10 s), later processes load the
machine code from disk (numba's cache is keyed by CPU, so a copied cache is
recompiled on another machine).

Measured on 2 cores (AMD EPYC Zen 4, 24 GiB), p = 2, one ``run`` +
``expectation``: n = 20 in ~7 ms, n = 24 in ~0.12-0.14 s (QOKit's C simulator:
0.12 s and 1.7-3.4 s on the same machine); see ``scripts/bench_qaoa.py``.

``complex64`` states are supported (``dtype=np.complex64``): the diagonal stays
float64, phases are computed in float64 and rounded to float32.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from qslack._sys import available_memory
from qslack.exceptions import ResourceError, ValidationError

__all__ = [
    "DEFAULT_BLOCK_BITS",
    "StatevectorSimulator",
    "available_memory",
    "check_memory",
    "qaoa_state",
    "state_bytes",
]

DEFAULT_BLOCK_BITS = 15
_MIN_ROW_BITS = 5
_FM = {"contract"}

# --------------------------------------------------------------------------- memory


def state_bytes(n: int, dtype=np.complex128) -> int:
    """Bytes of a ``2**n`` state vector of ``dtype``.

    Examples
    --------
    >>> state_bytes(20) // 2**20
    16
    """
    return (1 << int(n)) * np.dtype(dtype).itemsize


def validate_args(n: int, dtype, block_bits: int, bb_range: tuple[int, int]) -> tuple[int, np.dtype, int]:
    """Checked ``(n, dtype, block_bits)`` of a simulator (shared by the CPU and GPU kernels)."""
    n = int(n)
    if n < 1:
        raise ValidationError(f"number of qubits must be >= 1, got {n}")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.complex128), np.dtype(np.complex64)):
        raise ValidationError(f"dtype must be complex128 or complex64, got {dt}")
    bb = int(block_bits)
    if not bb_range[0] <= bb <= bb_range[1]:
        raise ValidationError(f"block_bits must be in [{bb_range[0]}, {bb_range[1]}], got {bb}")
    return n, dt, bb


def _gib(x: float) -> str:
    return f"{x / 2**30:.1f} GiB"


def check_memory(
    n: int,
    dtype=np.complex128,
    *,
    extra_bytes: int = 0,
    available: int | None = None,
) -> None:
    """Raise :class:`ResourceError` if a ``2**n`` state (+ its diagonal) does not fit.

    Parameters
    ----------
    n : int
        Number of qubits.
    dtype : numpy dtype
        State dtype (complex128 or complex64).
    extra_bytes : int
        Further bytes that the caller will need beside the state (for example
        more ``2**n`` vectors).
    available : int, optional
        Bytes available; read from ``/proc/meminfo`` (``MemAvailable``) if None.

    The diagonal (``2**n`` float64) is counted as well: a simulation needs it.
    Nothing is allocated.

    Examples
    --------
    >>> check_memory(10)
    >>> check_memory(40, available=2**34)
    Traceback (most recent call last):
    ...
    qslack.exceptions.ResourceError: n=40 needs 16384.0 GiB for the complex128 state (+ diagonal); \
this machine has 16.0 GiB available
    """
    n = int(n)
    if n < 0:
        raise ValidationError(f"number of qubits must be >= 0, got {n}")
    dt = np.dtype(dtype)
    need = state_bytes(n, dt)
    total = need + (1 << n) * 8 + int(extra_bytes)
    avail = available_memory() if available is None else int(available)
    if total > avail:
        raise ResourceError(
            f"n={n} needs {_gib(need)} for the {dt.name} state (+ diagonal); "
            f"this machine has {_gib(avail)} available"
        )


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


@njit(inline="always", fastmath=_FM)
def _cos_sin(x):
    """(cos x, sin x), branch-free so that loops calling it vectorise."""
    q = np.floor(x * _TWO_OVER_PI + 0.5)
    r = x - q * _PIO2_1
    r = r - q * _PIO2_2
    r = r - q * _PIO2_3
    z = r * r
    sp = r + r * z * (((((_S0 * z + _S1) * z + _S2) * z + _S3) * z + _S4) * z + _S5)
    cp = 1.0 - 0.5 * z + z * z * (((((_C0 * z + _C1) * z + _C2) * z + _C3) * z + _C4) * z + _C5)
    m = q - 4.0 * np.floor(q * 0.25)  # quadrant 0..3
    swap = (m == 1.0) | (m == 3.0)
    cs = sp if swap else cp
    sn = cp if swap else sp
    cneg = (m == 1.0) | (m == 2.0)
    sneg = m >= 2.0
    c = -cs if cneg else cs
    s = -sn if sneg else sn
    return c, s


# --------------------------------------------------------------------------- chunk ops
# All chunk operations act on a float view ``x`` (re, im interleaved) of a
# contiguous region of amplitudes starting at amplitude ``off``.


_U = np.uint64
# Index arithmetic in the inner loops is done in uint64 on 1-d slices: numba
# then emits no negative-index wrap-around code and LLVM vectorises the loops
# (separate slices let it check aliasing once per call instead of per element).


@njit(fastmath=_FM, cache=True)
def _phase_slice(xs, ds, g):
    """xs[t] *= exp(-i g ds[t]) on a float view xs of len(ds) amplitudes."""
    for t in range(_U(ds.shape[0])):
        c, s = _cos_sin(g * ds[t])
        i = _U(2) * t
        re = xs[i]
        im = xs[i + _U(1)]
        xs[i] = re * c + im * s
        xs[i + _U(1)] = im * c - re * s


@njit(fastmath=_FM, cache=True)
def _fill_slice(xs, ds, g, amp):
    """xs[t] = amp * exp(-i g ds[t])."""
    for t in range(_U(ds.shape[0])):
        c, s = _cos_sin(g * ds[t])
        i = _U(2) * t
        xs[i] = amp * c
        xs[i + _U(1)] = -amp * s


@njit(fastmath=_FM, cache=True)
def _phase(x, off, diag, doff, length, g, fill):
    """x[off + t] *= exp(-i g diag[doff + t]) for t < length.

    If ``fill`` > 0 the amplitudes are set to ``fill * exp(-i g diag)`` instead
    (the |+> state fused with the first phase).
    """
    xs = x[2 * off : 2 * (off + length)]
    ds = diag[doff : doff + length]
    if fill > 0.0:
        _fill_slice(xs, ds, g, fill)
    else:
        _phase_slice(xs, ds, g)


@njit(fastmath=_FM, cache=True)
def _pair(p0, p1, c, s):
    """exp(-i b X) on the amplitude pairs (p0[t], p1[t]) (float views)."""
    for u in range(_U(p0.shape[0] // 2)):
        i = _U(2) * u
        j = i + _U(1)
        ar = p0[i]
        ai = p0[j]
        br = p1[i]
        bi = p1[j]
        p0[i] = c * ar + s * bi
        p0[j] = c * ai - s * br
        p1[i] = c * br + s * ai
        p1[j] = c * bi - s * ar


@njit(fastmath=_FM, cache=True)
def _quad(p0, p1, p2, p3, c, s):
    """Two rotations on the 4-amplitude groups (p0, p1, p2, p3)[t]: the first on
    the pairs (p0, p1), (p2, p3), the second on (p0, p2), (p1, p3)."""
    for u in range(_U(p0.shape[0] // 2)):
        i = _U(2) * u
        j = i + _U(1)
        a0r = p0[i]
        a0i = p0[j]
        a1r = p1[i]
        a1i = p1[j]
        a2r = p2[i]
        a2i = p2[j]
        a3r = p3[i]
        a3i = p3[j]
        b0r = c * a0r + s * a1i
        b0i = c * a0i - s * a1r
        b1r = c * a1r + s * a0i
        b1i = c * a1i - s * a0r
        b2r = c * a2r + s * a3i
        b2i = c * a2i - s * a3r
        b3r = c * a3r + s * a2i
        b3i = c * a3i - s * a2r
        p0[i] = c * b0r + s * b2i
        p0[j] = c * b0i - s * b2r
        p2[i] = c * b2r + s * b0i
        p2[j] = c * b2i - s * b0r
        p1[i] = c * b1r + s * b3i
        p1[j] = c * b1i - s * b3r
        p3[i] = c * b3r + s * b1i
        p3[j] = c * b3i - s * b1r


# ---- explicit SIMD through LLVM intrinsics
# The loop vectoriser handles the rotations poorly: the real and imaginary
# parts are interleaved and the partner of a low qubit sits in the same vector.
# These intrinsics load whole LLVM vectors of interleaved (re, im) reals and do
# the complex arithmetic with in-register shuffles:
#   exp(-i b X) on (a, b):  a' = c a + (s, -s, s, -s, ...) * swap_re_im(b).

_VEC_BYTES = 64  # bytes per stream and intrinsic call: one zmm register
# (4 complex128 or 8 complex64 amplitudes)


def _vec_lanes(aty) -> int:
    """Reals per vector for the array type ``aty``."""
    return _VEC_BYTES * 8 // aty.dtype.bitwidth


def _vec_setup(context, builder, signature, args, nscalar):
    """Common prologue: array data pointer, element type, scalars cast to it."""
    aty = signature.args[0]
    ary = context.make_array(aty)(context, builder, args[0])
    fty = context.get_value_type(aty.dtype)
    scal = [
        context.cast(builder, v, t, aty.dtype)
        for v, t in zip(args[-nscalar:], signature.args[-nscalar:], strict=False)
    ]
    return aty, ary, fty, scal


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


def _float_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(arr.dtype, types.Float)


def _vec_ptrs(context, builder, signature, args, ary, vty, nidx):
    """Vector pointers at x[i0] + the sums of the offsets args[2:2+nidx-?]."""
    base = context.cast(builder, args[1], signature.args[1], types.uint64)
    offs = [context.cast(builder, args[2 + j], signature.args[2 + j], types.uint64) for j in range(nidx)]
    ptrs = []
    for b in range(1 << nidx):
        ix = base
        for j in range(nidx):
            if b >> j & 1:
                ix = builder.add(ix, offs[j])
        ptrs.append(builder.bitcast(builder.gep(ary.data, [ix], inbounds=True), vty.as_pointer()))
    return ptrs


def _make_low_intrinsic(nbits: int):
    """Intrinsic: rotate bits 0..nbits-1 of the 2**nbits amplitudes at x[idx].

    The ``2 << nbits`` reals are one LLVM vector; qubit q is
    ``v = c * v + (s, -s, ...) * shuffle(v)`` with the shuffle mapping lane L to
    L ^ (2 << q) ^ 1 (the partner amplitude, re <-> im swapped).
    """
    lanes = 2 << nbits

    @intrinsic
    def low(typingctx, arr, idx, c, s):
        if not _float_array(arr):
            return None
        sig = types.void(arr, idx, c, s)

        def codegen(context, builder, signature, args):
            aty, ary, fty, (cv, sv) = _vec_setup(context, builder, signature, args, 2)
            vty = ir.VectorType(fty, lanes)
            al = aty.dtype.bitwidth // 8
            (vptr,) = _vec_ptrs(context, builder, signature, args, ary, vty, 0)
            v = builder.load(vptr, align=al)
            cvec = _splat(builder, vty, [cv])
            svec = _splat(builder, vty, [sv, builder.fmul(sv, ir.Constant(fty, -1.0))])
            fl = ("contract",)
            for q in range(nbits):
                pv = _shuffle(builder, v, [lane ^ (2 << q) ^ 1 for lane in range(lanes)])
                v = builder.fadd(builder.fmul(cvec, v, flags=fl), builder.fmul(svec, pv, flags=fl), flags=fl)
            builder.store(v, vptr, align=al)
            return context.get_dummy_value()

        return sig, codegen

    return low


@intrinsic
def _vpair(typingctx, arr, i0, d1, c, s):
    """Intrinsic: exp(-i b X) on one vector of amplitude pairs (x[i0..], x[i0+d1..])."""
    if not _float_array(arr):
        return None
    sig = types.void(arr, i0, d1, c, s)

    def codegen(context, builder, signature, args):
        aty, ary, fty, (cv, sv) = _vec_setup(context, builder, signature, args, 2)
        lanes = _vec_lanes(aty)
        vty = ir.VectorType(fty, lanes)
        al = aty.dtype.bitwidth // 8
        ptrs = _vec_ptrs(context, builder, signature, args, ary, vty, 1)
        a, b = (builder.load(p, align=al) for p in ptrs)
        cvec = _splat(builder, vty, [cv])
        svec = _splat(builder, vty, [sv, builder.fmul(sv, ir.Constant(fty, -1.0))])
        swap = [lane ^ 1 for lane in range(lanes)]
        fl = ("contract",)

        def rot(x, y):
            t = builder.fmul(svec, _shuffle(builder, y, swap), flags=fl)
            return builder.fadd(builder.fmul(cvec, x, flags=fl), t, flags=fl)

        a2, b2 = rot(a, b), rot(b, a)
        builder.store(a2, ptrs[0], align=al)
        builder.store(b2, ptrs[1], align=al)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _vquad(typingctx, arr, i0, d1, d2, c, s):
    """Intrinsic: two rotations on one vector of 4-amplitude groups.

    Streams a0..a3 at x[i0], x[i0+d1], x[i0+d2], x[i0+d1+d2] (bits q1, q2); the
    tensor product (c - i s X) (x) (c - i s X) gives
        a0' = c^2 a0 - s^2 a3 - i c s (a1 + a2),  a3' = c^2 a3 - s^2 a0 - i c s (a1 + a2)
        a1' = c^2 a1 - s^2 a2 - i c s (a0 + a3),  a2' = c^2 a2 - s^2 a1 - i c s (a0 + a3)
    (16 vector operations for the 4 streams instead of 24 for two sweeps).
    """
    if not _float_array(arr):
        return None
    sig = types.void(arr, i0, d1, d2, c, s)

    def codegen(context, builder, signature, args):
        aty, ary, fty, (cv, sv) = _vec_setup(context, builder, signature, args, 2)
        lanes = _vec_lanes(aty)
        vty = ir.VectorType(fty, lanes)
        al = aty.dtype.bitwidth // 8
        ptrs = _vec_ptrs(context, builder, signature, args, ary, vty, 2)
        a0, a1, a2, a3 = (builder.load(p, align=al) for p in ptrs)
        fl = ("contract",)
        minus = ir.Constant(fty, -1.0)
        cs = builder.fmul(cv, sv)
        ccv = _splat(builder, vty, [builder.fmul(cv, cv)])
        nssv = _splat(builder, vty, [builder.fmul(builder.fmul(sv, sv), minus)])
        csv = _splat(builder, vty, [cs, builder.fmul(cs, minus)])
        swap = [lane ^ 1 for lane in range(lanes)]
        t12 = builder.fmul(csv, _shuffle(builder, builder.fadd(a1, a2), swap), flags=fl)
        t03 = builder.fmul(csv, _shuffle(builder, builder.fadd(a0, a3), swap), flags=fl)

        def out(x, y, t):
            u = builder.fmul(nssv, y, flags=fl)
            u = builder.fadd(builder.fmul(ccv, x, flags=fl), u, flags=fl)
            return builder.fadd(u, t, flags=fl)

        res = (out(a0, a3, t12), out(a1, a2, t03), out(a2, a1, t03), out(a3, a0, t12))
        for p, r in zip(ptrs, res, strict=False):
            builder.store(r, p, align=al)
        return context.get_dummy_value()

    return sig, codegen


_LOW_BITS = 5
_low1 = _make_low_intrinsic(1)
_low2 = _make_low_intrinsic(2)
_low3 = _make_low_intrinsic(3)
_low4 = _make_low_intrinsic(4)
_low5 = _make_low_intrinsic(5)


@njit(fastmath=_FM, cache=True)
def _rot_low(x, off, w, k, c, s):
    """exp(-i b X) on bits 0..k-1 (1 <= k <= 5, k <= w) of the 2**w amplitudes at off."""
    xs = x[2 * off : 2 * (off + (1 << w))]
    step = _U(2 << k)
    ng = _U(xs.shape[0]) // step
    if k == 5:
        for h in range(ng):
            _low5(xs, step * h, c, s)
    elif k == 4:
        for h in range(ng):
            _low4(xs, step * h, c, s)
    elif k == 3:
        for h in range(ng):
            _low3(xs, step * h, c, s)
    elif k == 2:
        for h in range(ng):
            _low2(xs, step * h, c, s)
    else:
        for h in range(ng):
            _low1(xs, step * h, c, s)


@njit(fastmath=_FM, cache=True)
def _rot1(x, off, w, q, c, s):
    """exp(-i b X_q) on bit q of the 2**w amplitudes at off (c = cos b, s = sin b)."""
    s1 = 1 << q
    nn = 1 << w
    d1 = 2 * s1
    va = _VEC_BYTES // (2 * x.itemsize)  # amplitudes per vector
    if s1 % va != 0:
        for h in range(0, nn, 2 * s1):
            b = 2 * (off + h)
            _pair(x[b : b + d1], x[b + d1 : b + 2 * d1], c, s)
        return
    xs = x[2 * off : 2 * (off + nn)]
    us1 = _U(s1)
    ud1 = _U(d1)
    for h in range(_U(0), _U(nn), _U(2) * us1):
        for u in range(_U(0), us1, _U(va)):
            _vpair(xs, _U(2) * (h + u), ud1, c, s)


@njit(fastmath=_FM, cache=True)
def _rot2(x, off, w, q1, q2, c, s):
    """exp(-i b X_q1) exp(-i b X_q2) on the 2**w amplitudes at off (q1 < q2)."""
    s1 = 1 << q1
    s2 = 1 << q2
    nn = 1 << w
    d1 = 2 * s1
    d2 = 2 * s2
    va = _VEC_BYTES // (2 * x.itemsize)  # amplitudes per vector
    if s1 % va != 0:
        for h in range(0, nn, 2 * s2):
            for m in range(h, h + s2, 2 * s1):
                b = 2 * (off + m)
                _quad(
                    x[b : b + d1],
                    x[b + d1 : b + 2 * d1],
                    x[b + d2 : b + d2 + d1],
                    x[b + d2 + d1 : b + d2 + 2 * d1],
                    c,
                    s,
                )
        return
    xs = x[2 * off : 2 * (off + nn)]
    us1 = _U(s1)
    us2 = _U(s2)
    ud1 = _U(d1)
    ud2 = _U(d2)
    for h in range(_U(0), _U(nn), _U(2) * us2):
        for m in range(h, h + us2, _U(2) * us1):
            for u in range(_U(0), us1, _U(va)):
                _vquad(xs, _U(2) * (m + u), ud1, ud2, c, s)


@njit(fastmath=_FM, cache=True)
def _rot_bits(x, off, w, lo, hi, c, s):
    """exp(-i b X_q) for every bit lo <= q < hi of the 2**w amplitudes at off."""
    q = lo
    if q == 0:
        q = min(hi, _LOW_BITS)
        _rot_low(x, off, w, q, c, s)
    while q < hi:
        if q + 1 < hi:
            _rot2(x, off, w, q, q + 1, c, s)
            q += 2
        else:
            _rot1(x, off, w, q, c, s)
            q += 1


# --------------------------------------------------------------------------- passes


@njit(fastmath=True, cache=True)
def _expect_slice(xs, ds):
    """sum_k |xs[k]|^2 ds[k] (xs a float view: re, im interleaved)."""
    acc = 0.0
    for k in range(_U(ds.shape[0])):
        re = np.float64(xs[_U(2) * k])
        im = np.float64(xs[_U(2) * k + _U(1)])
        acc += (re * re + im * im) * ds[k]
    return acc


@njit(fastmath=_FM, cache=True)
def _copy(dst, src):
    for i in range(_U(dst.shape[0])):
        dst[i] = src[i]


@njit(fastmath=_FM, cache=True)
def _block_range(x, diag, bb, gam, cb, sb, fill, want_e, blk0, blk1):
    """Group 0 (qubits 0..bb-1) on the contiguous blocks blk0..blk1-1 of 2**bb.

    For each op i: phase exp(-i gam[i] D) (skipped if gam[i] is NaN), then the
    mixer with (cb[i], sb[i]) on qubits 0..bb-1.  ``fill`` > 0 first sets the
    block to the uniform amplitude ``fill`` (fused with the first phase).  With
    ``want_e`` returns the blocks' share of <psi|D|psi> (else 0).
    """
    blen = 1 << bb
    nops = gam.shape[0]
    acc = 0.0
    for blk in range(blk0, blk1):
        off = blk * blen
        f = fill
        for i in range(nops):
            g = gam[i]
            if g == g:
                _phase(x, off, diag, off, blen, g, f)
                f = 0.0
            elif f > 0.0:
                _phase(x, off, diag, off, blen, 0.0, f)
                f = 0.0
            _rot_bits(x, off, bb, 0, bb, cb[i], sb[i])
        if want_e:
            acc += _expect_slice(x[2 * off : 2 * (off + blen)], diag[off : off + blen])
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _pass_block(x, diag, n, bb, gam, cb, sb, fill, want_e, nthreads):
    """One pass of group 0 over the whole state, blocks split among threads."""
    nblk = 1 << (n - bb)
    nt = min(nthreads, nblk)
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _block_range(x, diag, bb, gam, cb, sb, fill, want_e, t * nblk // nt, (t + 1) * nblk // nt)
    return parts.sum()


@njit(fastmath=_FM, cache=True)
def _gather_range(x, diag, a, b, cbits, y, gam, cb, sb, want_e, ch0, ch1):
    """The qubit group [a, b) on the chunks ch0..ch1-1, through the scratch y.

    A chunk is the 2**(b-a) rows of 2**cbits contiguous amplitudes that differ
    only in the bits a..b-1; it is gathered into y (row r at r << cbits), the
    ops are applied (phase, then the rotations of bits cbits..cbits+b-a-1 of
    the scratch index), and it is scattered back.  With ``want_e`` returns the
    chunks' share of <psi|D|psi> (else 0).
    """
    gb = b - a
    w = gb + cbits
    nrows = 1 << gb
    rlen = 1 << cbits
    rlen2 = 2 * rlen
    nlow = 1 << (a - cbits)
    nops = gam.shape[0]
    acc = 0.0
    for ch in range(ch0, ch1):
        up = ch // nlow
        lo = ch - up * nlow
        base = (up << b) + (lo << cbits)
        for r in range(nrows):
            src = 2 * (base + (r << a))
            dst = r * rlen2
            _copy(y[dst : dst + rlen2], x[src : src + rlen2])
        for i in range(nops):
            g = gam[i]
            if g == g:
                for r in range(nrows):
                    _phase(y, r << cbits, diag, base + (r << a), rlen, g, 0.0)
            _rot_bits(y, 0, w, cbits, w, cb[i], sb[i])
        for r in range(nrows):
            src = r * rlen2
            dst = 2 * (base + (r << a))
            _copy(x[dst : dst + rlen2], y[src : src + rlen2])
            if want_e:
                k = base + (r << a)
                acc += _expect_slice(y[src : src + rlen2], diag[k : k + rlen])
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _pass_gather(x, diag, n, a, b, cbits, scratch, gam, cb, sb, want_e, nthreads):
    """One pass of the qubit group [a, b), chunks split among threads."""
    nchunk = 1 << (n - (b - a) - cbits)
    nt = min(nthreads, nchunk, scratch.shape[0])
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _gather_range(
            x,
            diag,
            a,
            b,
            cbits,
            scratch[t],
            gam,
            cb,
            sb,
            want_e,
            t * nchunk // nt,
            (t + 1) * nchunk // nt,
        )
    return parts.sum()


# below this many qubits one thread does the work (waking threads costs more)
_PARALLEL_MIN_QUBITS = 16


@njit(parallel=True, fastmath=True, cache=True)
def _expectation(x, diag, nthreads):
    nn = diag.shape[0]
    nt = max(1, min(nthreads, nn >> 12))
    parts = np.zeros(nt)
    for t in prange(nt):
        k0 = t * nn // nt
        k1 = (t + 1) * nn // nt
        parts[t] = _expect_slice(x[2 * k0 : 2 * k1], diag[k0:k1])
    return parts.sum()


@njit(fastmath=_FM, cache=True)
def _probs_slice(xs, out):
    for k in range(_U(out.shape[0])):
        re = np.float64(xs[_U(2) * k])
        im = np.float64(xs[_U(2) * k + _U(1)])
        out[k] = re * re + im * im


@njit(parallel=True, fastmath=_FM, cache=True)
def _probabilities(x, out, nthreads):
    nn = out.shape[0]
    nt = max(1, min(nthreads, nn >> 12))
    for t in prange(nt):
        k0 = t * nn // nt
        k1 = (t + 1) * nn // nt
        _probs_slice(x[2 * k0 : 2 * k1], out[k0:k1])


@njit(fastmath=_FM, cache=True)
def _cvar_select(e, w, alpha):
    """CVaR_alpha of the distribution w over energies e (both modified in place).

    Weighted quickselect with a three-way partition: expected O(len(e)).
    """
    lo = 0
    hi = e.shape[0]
    need = alpha
    acc = 0.0
    last = 0.0
    while hi > lo:
        if hi - lo <= 32:
            order = np.argsort(e[lo:hi])
            for j in range(hi - lo):
                k = lo + order[j]
                last = e[k]
                if w[k] >= need:
                    acc += need * e[k]
                    return acc / alpha
                acc += w[k] * e[k]
                need -= w[k]
            return acc / (alpha - need) if alpha > need else last
        # median of three pivot
        p0 = e[lo]
        p1 = e[(lo + hi) // 2]
        p2 = e[hi - 1]
        if p0 > p1:
            p0, p1 = p1, p0
        if p1 > p2:
            p1 = p2
        piv = p0 if p0 > p1 else p1
        # three-way partition: [lo, lt) < piv, [lt, i) == piv, (gt, hi) > piv
        lt = lo
        i = lo
        gt = hi - 1
        while i <= gt:
            v = e[i]
            if v < piv:
                e[i], e[lt] = e[lt], e[i]
                w[i], w[lt] = w[lt], w[i]
                lt += 1
                i += 1
            elif v > piv:
                e[i], e[gt] = e[gt], e[i]
                w[i], w[gt] = w[gt], w[i]
                gt -= 1
            else:
                i += 1
        m_lt = 0.0
        s_lt = 0.0
        for k in range(lo, lt):
            m_lt += w[k]
            s_lt += w[k] * e[k]
        if m_lt >= need:
            hi = lt
            continue
        acc += s_lt
        need -= m_lt
        m_eq = 0.0
        for k in range(lt, gt + 1):
            m_eq += w[k]
        last = piv
        if m_eq >= need:
            acc += need * piv
            return acc / alpha
        acc += m_eq * piv
        need -= m_eq
        lo = gt + 1
    # the total mass fell short of alpha by rounding
    return acc / (alpha - need) if alpha > need else last


# --------------------------------------------------------------------------- schedule


def _groups(n: int, bb: int) -> list[tuple[int, int, int]]:
    """Qubit groups [(a, b, cbits)]: group 0 = [0, min(n, bb)), then balanced groups."""
    b0 = min(n, bb)
    groups = [(0, b0, 0)]
    rest = n - b0
    if rest > 0:
        gmax = max(1, bb - _MIN_ROW_BITS)
        k = -(-rest // gmax)
        size, extra = divmod(rest, k)
        a = b0
        for i in range(k):
            g = size + (1 if i < extra else 0)
            cbits = min(a, bb - g)
            groups.append((a, a + g, cbits))
            a += g
    return groups


def _schedule(p: int, ngroups: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Passes [(group, [(layer or -1 for no phase, layer of the mixer)])].

    Layers alternate the order of their groups so that consecutive layers share
    a pass: ... mixer(l, g), phase(l + 1), mixer(l + 1, g) ...
    """
    ops: list[tuple[str, int, int]] = []
    for layer in range(p):
        ops.append(("phase", layer, -1))
        order = range(ngroups) if layer % 2 == 0 else range(ngroups - 1, -1, -1)
        for g in order:
            ops.append(("mix", layer, g))
    passes: list[tuple[int, list[tuple[int, int]]]] = []
    pending_phase = -1
    for kind, layer, g in ops:
        if kind == "phase":
            pending_phase = layer
            continue
        if passes and passes[-1][0] == g:
            passes[-1][1].append((pending_phase, layer))
        else:
            passes.append((g, [(pending_phase, layer)]))
        pending_phase = -1
    return passes


# --------------------------------------------------------------------------- API


def _as_angles(v, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=np.float64))
    if a.ndim != 1:
        raise ValidationError(f"{name} must be a 1-d sequence of angles, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValidationError(f"{name} must be finite, got {a}")
    return a


class StatevectorSimulator:
    """QAOA statevector simulator on a cost diagonal (numba, in place).

    Parameters
    ----------
    n : int
        Number of qubits.
    dtype : {np.complex128, np.complex64}
        State dtype.  The diagonal is always float64.
    threads : int, optional
        numba threads for this simulator's kernels (default: numba's setting).
    block_bits : int
        log2 of the chunk size in amplitudes (default 15: 512 KiB of complex128,
        fits the L2 cache).  Exposed so tests can force small blocks.

    Notes
    -----
    One state buffer of ``2**n`` amplitudes is allocated here (after
    :func:`check_memory`), plus ``threads * 2**block_bits`` amplitudes of
    scratch.  ``run``, ``expectation`` allocate nothing of size ``2**n``;
    ``probabilities`` allocates its output unless ``out`` is given; ``cvar``
    allocates two ``2**n`` float64 work arrays.

    Examples
    --------
    >>> import numpy as np
    >>> sim = StatevectorSimulator(3)
    >>> diag = np.arange(8.0)
    >>> psi = sim.run(diag, [0.3], [0.2])
    >>> round(float(np.vdot(psi, psi).real), 12)
    1.0
    >>> e = sim.expectation(diag)
    """

    def __init__(
        self,
        n: int,
        *,
        dtype=np.complex128,
        threads: int | None = None,
        block_bits: int = DEFAULT_BLOCK_BITS,
    ) -> None:
        n, dt, bb = validate_args(n, dtype, block_bits, (3, 24))
        if threads is not None and not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
            raise ValidationError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {threads}")
        self.n = n
        self.dtype = dt
        self.threads = None if threads is None else int(threads)
        self.block_bits = bb
        nt = self.threads or numba.config.NUMBA_NUM_THREADS
        check_memory(n, dt, extra_bytes=nt * state_bytes(min(n, bb), dt))
        self._groups = _groups(n, bb)
        self._state = np.empty(1 << n, dtype=dt)
        self._x = self._state.view(np.float64 if dt == np.complex128 else np.float32)
        self._rdt = np.float64 if dt == np.complex128 else np.float32
        if len(self._groups) > 1:
            self._scratch = np.empty((nt, 2 << min(n, bb)), dtype=self._rdt)
        else:
            self._scratch = np.empty((1, 2), dtype=self._rdt)
        self._ready = False

    # -- helpers
    @property
    def state(self) -> np.ndarray:
        """The state buffer (a view; overwritten by the next ``run``)."""
        return self._state

    def _check_diag(self, diag) -> np.ndarray:
        d = np.asarray(diag)
        if d.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {d.shape}")
        if d.dtype != np.float64 or not d.flags.c_contiguous:
            d = np.ascontiguousarray(d, dtype=np.float64)
        return d

    @staticmethod
    def _par(fn, *args):
        return fn(*args, numba.get_num_threads())

    def _with_threads(self, fn, *args):
        if self.threads is None:
            return fn(*args)
        old = numba.get_num_threads()
        numba.set_num_threads(self.threads)
        try:
            return fn(*args)
        finally:
            numba.set_num_threads(old)

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    # -- API
    def run(self, diag: np.ndarray, gammas, betas, *, scale: float = 1.0) -> np.ndarray:
        """Prepare the QAOA state in place and return it (a view of the buffer).

        Parameters
        ----------
        diag : (2**n,) float64
            Cost of every basis state.
        gammas, betas : sequences of length p
            Phase and mixer angles.
        scale : float
            The phase of layer l is ``exp(-i gammas[l] diag / scale)``.
        """
        d = self._check_diag(diag)
        g, b, scale = self._check_angles(gammas, betas, scale)
        self._with_threads(self._run, d, g / scale, b)
        self._ready = True
        return self._state

    @staticmethod
    def _check_angles(gammas, betas, scale):
        g = _as_angles(gammas, "gammas")
        b = _as_angles(betas, "betas")
        if g.shape != b.shape:
            raise ValidationError(f"gammas and betas differ in length: {g.size} != {b.size}")
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValidationError(f"scale must be finite and > 0, got {scale}")
        return g, b, scale

    def _run(self, d, g, b, want_e=False):
        """Apply the schedule; with ``want_e`` the last pass also returns <D>."""
        n = self.n
        p = g.size
        fill = float(2.0 ** (-0.5 * n))
        if p == 0:
            self._state[:] = fill
            return float(_expect_slice(self._x, d)) if want_e else 0.0
        cb = np.cos(b).astype(self._rdt)
        sb = np.sin(b).astype(self._rdt)
        nt = numba.get_num_threads()
        parallel = n >= _PARALLEL_MIN_QUBITS and nt > 1
        passes = _schedule(p, len(self._groups))
        energy = 0.0
        for ipass, (grp, ops) in enumerate(passes):
            a, bq, cbits = self._groups[grp]
            gam = np.array([g[ph] if ph >= 0 else np.nan for ph, _ in ops])
            layers = [mx for _, mx in ops]
            c_ops = cb[layers]
            s_ops = sb[layers]
            we = want_e and ipass == len(passes) - 1
            if grp == 0:
                f = fill if ipass == 0 else 0.0
                if parallel:
                    energy = _pass_block(self._x, d, n, bq, gam, c_ops, s_ops, f, we, nt)
                else:
                    nblk = 1 << (n - bq)
                    energy = _block_range(self._x, d, bq, gam, c_ops, s_ops, f, we, 0, nblk)
            else:
                x, y = self._x, self._scratch
                if parallel:
                    energy = _pass_gather(x, d, n, a, bq, cbits, y, gam, c_ops, s_ops, we, nt)
                else:
                    nchunk = 1 << (n - (bq - a) - cbits)
                    energy = _gather_range(x, d, a, bq, cbits, y[0], gam, c_ops, s_ops, we, 0, nchunk)
        return float(energy)

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0) -> float:
        """``run`` and ``expectation`` in one: the energy is summed in the last pass.

        Saves the separate read of the state and the diagonal; the state is
        left in the buffer as after :meth:`run`.
        """
        d = self._check_diag(diag)
        g, b, scale = self._check_angles(gammas, betas, scale)
        e = self._with_threads(self._run, d, g / scale, b, True)
        self._ready = True
        return e

    def expectation(self, diag) -> float:
        """``<psi|D|psi>`` of the current state (one fused pass, no temporaries)."""
        self._require_state()
        d = self._check_diag(diag)
        if self.n < _PARALLEL_MIN_QUBITS:
            return float(_expect_slice(self._x, d))
        return float(self._with_threads(self._par, _expectation, self._x, d))

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
            self._with_threads(self._par, _probabilities, self._x, out)
        return out

    def cvar(self, diag, alpha: float) -> float:
        """CVaR_alpha of the energy distribution of the current state.

        The mean energy of the lowest ``alpha`` probability mass, the state at
        the boundary contributing the part of its weight that is needed.
        ``alpha = 1`` is the expectation.  Allocates two ``2**n`` float64 work
        arrays (a copy of the diagonal and the probabilities) and runs a
        weighted quickselect (expected linear time).
        """
        self._require_state()
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        d = self._check_diag(diag)
        w = self.probabilities()
        e = np.array(d, dtype=np.float64, copy=True)
        return float(_cvar_select(e, w, alpha))


def qaoa_state(diag, gammas, betas, *, scale: float = 1.0, dtype=np.complex128) -> np.ndarray:
    """The QAOA state as a new array (convenience wrapper of the simulator).

    Examples
    --------
    >>> import numpy as np
    >>> psi = qaoa_state(np.array([0.0, 1.0]), [0.0], [0.0])
    >>> np.allclose(psi, [2**-0.5, 2**-0.5])
    True
    """
    d = np.asarray(diag, dtype=np.float64)
    n = int(d.size).bit_length() - 1
    if d.ndim != 1 or d.size != 1 << n or n < 1:
        raise ValidationError(f"diag must have length 2**n with n >= 1, got shape {d.shape}")
    sim = StatevectorSimulator(n, dtype=dtype)
    return sim.run(d, gammas, betas, scale=scale)
