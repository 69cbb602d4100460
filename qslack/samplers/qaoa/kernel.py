"""Fast QAOA statevector kernel (numba, CPU).

The state after ``p`` layers is::

    |psi> = prod_{l=1..p} exp(-i beta_l sum_j X_j) exp(-i gamma_l D / scale) |+>^n

where ``D = diag(diag)`` is the cost of every basis state, basis index ``k`` has
bit ``j`` equal to qubit ``j`` (= binary variable ``x_j``, Qiskit's little-endian
order) and ``exp(-i b X) = cos(b) I - i sin(b) X`` on every qubit.

Performance design
------------------
The simulator owns **one** state buffer of ``2**n`` amplitudes; an evaluation
allocates nothing else of that size (the gradient adds one more state, kept).

* The qubits are split into groups.  Group 0 is the ``B`` lowest qubits
  (``B = block_bits``: a block of ``2**B`` amplitudes, 512 KiB by default, stays
  in the per-core L2 cache).  The higher qubits are split into as few groups as
  possible, each of at most ``B - row_bits`` qubits.
* A *pass* walks over the state once, one L2-sized chunk at a time (``prange``
  over chunks), and applies to each chunk every operation it can before the chunk
  goes back to memory.  For group 0 a chunk is a contiguous block; for a higher
  group ``[a, b)`` a chunk is the ``2**(b - a)`` rows of ``2**c`` contiguous
  amplitudes (``c >= row_bits``: rows of at least 512 bytes) that differ
  only in the qubits ``a..b-1``; they are gathered into a per-thread scratch
  buffer (power-of-two strides would thrash the cache sets in place), rotated,
  and scattered back.
* The phase is elementwise, so it joins any pass; the mixer rotations of
  different qubits commute, so the layers alternate the order of their groups
  and one pass carries the last group of layer ``l``, the phase of layer
  ``l + 1`` and the first group of layer ``l + 1``.  The initial ``|+>`` fill is
  fused into the first pass.  With two groups (``n <= 2 B - row_bits``: 25 qubits
  at complex128, 26 at complex64 by default) an evaluation of depth ``p`` makes
  ``p + 1`` passes over the state; with ``k`` groups, ``(k - 1) p + 1``.
* The mixer uses the tangent form of :mod:`~qslack.samplers.qaoa._ops` (one
  fused multiply-add and one shuffle per vector and qubit, 1.5 per qubit two
  qubits at a time), its scalars folded into the phase; the rotations are
  explicit SIMD (numba intrinsics emitting LLVM vector code).
* ``cos``/``sin`` of the phase are computed on the fly (no ``2**n`` phase
  vector), branch-free so that they vectorise; complex64 states reduce the
  angle by pi in float64 into a small float32 scratch, then evaluate float32
  polynomials and the sign in a float32-only loop (8 lanes instead of 4:
  :func:`~qslack.samplers.qaoa._ops.phase_slice_fast`).
* Gathered passes prefetch their diagonal rows (short rows defeat the hardware
  prefetcher).
* The diagonal may be float64 or float32 (half the memory and traffic; pass
  the ``shift`` it was stored without, see :meth:`qslack.model.qubo.QUBO.diagonal`).

Numerics: the kernels are compiled with ``fastmath={"contract"}`` only (fused
multiply-add allowed; no reassociation, no NaN/Inf assumptions), so the results
are deterministic for a given machine and thread count and agree with a plain
numpy reference to ~1e-14 at complex128.  complex64 states carry ~1e-7
relative error per amplitude (see ``docs`` in the README: the probabilities
differ from complex128 by far less than the shot noise ``1/sqrt(shots)``).
Only the reductions use full ``fastmath``.  Every kernel is compiled with
``cache=True``.

Measured figures: ``scripts/bench_qaoa.py`` and ``reports/bench-qaoa.txt``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from qslack._sys import available_memory
from qslack.exceptions import ResourceError, ValidationError
from qslack.memory import format_bytes
from qslack.samplers.qaoa._ops import (
    _FM,
    PHASE_SUB,
    copy_slice,
    expect_slice,
    phase_slice_fast,
    prefetch_slice,
    trot_bits,
)

__all__ = [
    "DEFAULT_BLOCK_BITS",
    "StatevectorSimulator",
    "available_memory",
    "check_memory",
    "mixer_forms",
    "qaoa_state",
    "state_bytes",
]

DEFAULT_BLOCK_BITS = 15  # 2**15 complex128 = 512 KiB, the L2 cache (complex64: 16)
_MIN_ROW_BITS = 5  # the GPU kernel's rows (coalesced global reads)

# --------------------------------------------------------------------------- memory


def state_bytes(n: int, dtype=np.complex128) -> int:
    """Bytes of a ``2**n`` state vector of ``dtype`` (a Python int: never overflows).

    Examples
    --------
    >>> state_bytes(20) // 2**20
    16
    >>> state_bytes(52) == 16 * 2**52
    True
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


_gib = format_bytes  # the GPU kernel's name for it


def state_buffers(
    n: int, dt: np.dtype, bb: int, nt: int, gathered: bool
) -> tuple[np.ndarray, type, np.ndarray, bool, np.ndarray]:
    """A CPU kernel's buffers: ``(state, real dtype, real view of the state, complex64?, scratch)``.

    ``scratch`` holds one gathered block (``2**min(n, bb)`` amplitudes as reals) per
    thread when the kernel has gathered passes (``gathered``), else a dummy.

    Examples
    --------
    >>> st, rdt, x, lowp, scr = state_buffers(4, np.dtype(np.complex64), 3, 2, True)
    >>> st.size, rdt.__name__, x.size, lowp, scr.shape
    (16, 'float32', 32, True, (2, 16))
    """
    state = np.empty(1 << n, dtype=dt)
    rdt = np.float64 if dt == np.complex128 else np.float32
    scratch = np.empty((nt, 2 << min(n, bb)) if gathered else (1, 2), dtype=rdt)
    return state, rdt, state.view(rdt), bool(dt == np.complex64), scratch


def check_memory(
    n: int,
    dtype=np.complex128,
    *,
    extra_bytes: int = 0,
    available: int | None = None,
    diag_itemsize: int = 8,
) -> None:
    """Raise :class:`ResourceError` if a ``2**n`` state (+ its diagonal) does not fit.

    Parameters
    ----------
    n : int
        Number of qubits.
    dtype : numpy dtype
        State dtype (complex128 or complex64).
    extra_bytes : int
        Further bytes that the caller will need beside the state.
    available : int, optional
        Bytes available; default :func:`qslack._sys.available_memory`
        (``min(MemAvailable, cgroup limit - usage)``).
    diag_itemsize : int
        Bytes per diagonal entry (8: float64, 4: float32).

    Nothing is allocated; sizes are Python ints (never overflow).

    Examples
    --------
    >>> check_memory(10)
    >>> check_memory(40, available=2**34)
    Traceback (most recent call last):
    ...
    qslack.exceptions.ResourceError: n=40 needs 16384.0 GiB for the complex128 state (+ diagonal, \
24576.0 GiB in all); 16.0 GiB available (min of MemAvailable and the cgroup limit)
    >>> check_memory(52, available=2**34)
    Traceback (most recent call last):
    ...
    qslack.exceptions.ResourceError: n=52 needs 2^56 bytes for the complex128 state (+ diagonal, \
~2^56.6 bytes in all); 16.0 GiB available (min of MemAvailable and the cgroup limit)
    """
    n = int(n)
    if n < 0:
        raise ValidationError(f"number of qubits must be >= 0, got {n}")
    dt = np.dtype(dtype)
    need = state_bytes(n, dt)
    total = need + (1 << n) * int(diag_itemsize) + int(extra_bytes)
    avail = available_memory() if available is None else int(available)
    if total > avail:
        raise ResourceError(
            f"n={n} needs {format_bytes(need)} for the {dt.name} state (+ diagonal, "
            f"{format_bytes(total)} in all); {format_bytes(avail)} available "
            "(min of MemAvailable and the cgroup limit)"
        )


# --------------------------------------------------------------------------- passes


@njit(fastmath=_FM, cache=True)
def _block_range(x, diag, bb, gam, phi, mag, tt, flip, shift, fill, lowp, want_e, blk0, blk1):
    """Group 0 (qubits 0..bb-1) on the contiguous blocks blk0..blk1-1 of 2**bb.

    For each op i: the phase ``mag[i] exp(-i (gam[i] D - phi[i]))`` (skipped if
    gam[i] is NaN; with ``fill`` the first op sets the block instead of
    multiplying it), then the tangent-form mixer ``(tt[i], flip[i])`` on qubits
    0..bb-1.  With ``want_e`` returns the blocks' share of <psi|D|psi> (else 0).
    """
    blen = 1 << bb
    nops = gam.shape[0]
    acc = 0.0
    rb = np.empty(PHASE_SUB, np.float32)
    qb = np.empty(PHASE_SUB, np.float32)
    for blk in range(blk0, blk1):
        off = blk * blen
        xs = x[2 * off : 2 * (off + blen)]
        ds = diag[off : off + blen]
        for i in range(nops):
            g = gam[i]
            if g == g:
                phase_slice_fast(xs, ds, g, phi[i], mag[i], shift, fill and i == 0, rb, qb)
            trot_bits(xs, 0, bb, tt[i], flip[i])
        if want_e:
            acc += expect_slice(xs, ds, shift)
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _pass_block(x, diag, n, bb, gam, phi, mag, tt, flip, shift, fill, lowp, want_e, nthreads):
    """One pass of group 0 over the whole state, blocks split among threads."""
    nblk = 1 << (n - bb)
    nt = min(nthreads, nblk)
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _block_range(
            x,
            diag,
            bb,
            gam,
            phi,
            mag,
            tt,
            flip,
            shift,
            fill,
            lowp,
            want_e,
            t * nblk // nt,
            (t + 1) * nblk // nt,
        )
    return parts.sum()


@njit(fastmath=_FM, cache=True)
def _gather_range(x, diag, a, b, cbits, y, gam, phi, mag, tt, flip, shift, lowp, want_e, write, ch0, ch1):
    """The qubit group [a, b) on the chunks ch0..ch1-1, through the scratch y.

    A chunk is the 2**(b-a) rows of 2**cbits contiguous amplitudes that differ
    only in the bits a..b-1; it is gathered into y (row r at r << cbits), the
    ops are applied (phase, then the rotations of bits cbits..cbits+b-a-1 of
    the scratch index), and it is scattered back (unless ``write`` is False:
    a read-only last pass).  With ``want_e`` returns the chunks' share of
    <psi|D|psi> (else 0).
    """
    gb = b - a
    w = gb + cbits
    nrows = 1 << gb
    rlen = 1 << cbits
    rlen2 = 2 * rlen
    nlow = 1 << (a - cbits)
    nops = gam.shape[0]
    ys = y[: 2 << w]
    acc = 0.0
    rb = np.empty(PHASE_SUB, np.float32)
    qb = np.empty(PHASE_SUB, np.float32)
    use_d = want_e
    for i in range(nops):
        use_d = use_d or gam[i] == gam[i]
    for ch in range(ch0, ch1):
        up = ch // nlow
        lo = ch - up * nlow
        base = (up << b) + (lo << cbits)
        if use_d:
            # rows of the diagonal: start their loads before the gather (short rows defeat
            # the hardware prefetcher)
            for r in range(nrows):
                k = base + (r << a)
                prefetch_slice(diag, k, k + rlen)
        for r in range(nrows):
            src = 2 * (base + (r << a))
            dst = r * rlen2
            copy_slice(ys[dst : dst + rlen2], x[src : src + rlen2])
        for i in range(nops):
            g = gam[i]
            if g == g:
                for r in range(nrows):
                    k = base + (r << a)
                    dst = r * rlen2
                    phase_slice_fast(
                        ys[dst : dst + rlen2], diag[k : k + rlen], g, phi[i], mag[i], shift, False, rb, qb
                    )
            trot_bits(ys, cbits, w, tt[i], flip[i])
        for r in range(nrows):
            src = r * rlen2
            k = base + (r << a)
            if write:
                copy_slice(x[2 * k : 2 * k + rlen2], ys[src : src + rlen2])
            if want_e:
                acc += expect_slice(ys[src : src + rlen2], diag[k : k + rlen], shift)
    return acc


@njit(parallel=True, fastmath=_FM, cache=True)
def _pass_gather(
    x, diag, n, a, b, cbits, scratch, gam, phi, mag, tt, flip, shift, lowp, want_e, write, nthreads
):
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
            phi,
            mag,
            tt,
            flip,
            shift,
            lowp,
            want_e,
            write,
            t * nchunk // nt,
            (t + 1) * nchunk // nt,
        )
    return parts.sum()


# below this many qubits one thread does the work (waking threads costs more)
_PARALLEL_MIN_QUBITS = 16


@njit(parallel=True, fastmath=True, cache=True)
def _expectation(x, diag, shift, nthreads):
    nn = diag.shape[0]
    nt = max(1, min(nthreads, nn >> 12))
    parts = np.zeros(nt)
    for t in prange(nt):
        k0 = t * nn // nt
        k1 = (t + 1) * nn // nt
        parts[t] = expect_slice(x[2 * k0 : 2 * k1], diag[k0:k1], shift)
    return parts.sum()


@njit(fastmath=_FM, cache=True)
def _probs_slice(xs, out):
    for k in range(np.uint64(out.shape[0])):
        re = np.float64(xs[np.uint64(2) * k])
        im = np.float64(xs[np.uint64(2) * k + np.uint64(1)])
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
    """(CVaR_alpha, boundary energy) of the distribution w over energies e (both modified).

    Weighted quickselect with a three-way partition: expected O(len(e)).  The
    boundary energy is the energy of the state at which the tail mass reaches
    ``alpha`` (the value at risk).
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
                    return acc / alpha, last
                acc += w[k] * e[k]
                need -= w[k]
            return (acc / (alpha - need) if alpha > need else last), last
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
            return acc / alpha, piv
        acc += m_eq * piv
        need -= m_eq
        lo = gt + 1
    # the total mass fell short of alpha by rounding
    return (acc / (alpha - need) if alpha > need else last), last


# --------------------------------------------------------------------------- schedule


def default_block_bits(dtype) -> int:
    """Block size (log2 amplitudes) whose block is 512 KiB: 15 (complex128), 16 (complex64)."""
    return DEFAULT_BLOCK_BITS + (1 if np.dtype(dtype) == np.complex64 else 0)


def default_row_bits(dtype) -> int:
    """log2 of the amplitudes in a 512-byte row: 5 (complex128), 6 (complex64).

    Shorter rows make fewer passes (bigger gathered groups) but a gathered
    pass over rows of 256 bytes or less ran ~2x slower on the development
    machine (one TLB miss and one DRAM page per row), more than the pass saved.
    """
    return 6 if np.dtype(dtype) == np.complex64 else 5


def _groups(n: int, bb: int, min_row_bits: int = _MIN_ROW_BITS) -> list[tuple[int, int, int]]:
    """Qubit groups [(a, b, cbits)]: group 0 = [0, min(n, bb)), then balanced groups.

    A higher group of ``g`` qubits gets rows of ``2**cbits`` amplitudes with
    ``cbits = min(a, bb - g)``, and ``g <= bb - min_row_bits``.
    """
    b0 = min(n, bb)
    groups = [(0, b0, 0)]
    rest = n - b0
    if rest > 0:
        gmax = max(1, bb - min_row_bits)
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

    Examples
    --------
    >>> _schedule(2, 2)
    [(0, [(0, 0)]), (1, [(-1, 0), (1, 1)]), (0, [(-1, 1)])]
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


def mixer_forms(betas: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per layer: the tangent-form parameter, the flip flag and the layer scalar.

    ``exp(-i b X)^{(x) n} = z X^{flip (x) n} (I - i t X)^{(x) n}`` with
    ``t = tan b, z = cos(b)^n`` when ``|tan b| <= 1``, else ``t = -cot b``,
    ``z = (-i sin b)^n`` and ``flip``.  Returns ``(t, flip, |z|, arg z)``.

    Examples
    --------
    >>> t, flip, mag, arg = mixer_forms(np.array([0.0, np.pi / 2]), 3)
    >>> t.tolist(), flip.tolist(), mag.tolist()
    ([0.0, -0.0], [False, True], [1.0, 1.0])
    >>> float(arg[1]) == -3 * np.pi / 2
    True
    """
    b = np.asarray(betas, dtype=np.float64)
    c, s = np.cos(b), np.sin(b)
    flip = np.abs(s) > np.abs(c)
    t = np.where(flip, -c / np.where(flip, s, 1.0), s / np.where(flip, 1.0, c))
    base = np.where(flip, s, c)
    mag = np.abs(base) ** n
    arg = np.where(base < 0, np.pi * (n % 2), 0.0) + np.where(flip, -0.5 * np.pi * n, 0.0)
    return t, flip, mag, arg


# --------------------------------------------------------------------------- API


def _as_angles(v, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(v, dtype=np.float64))
    if a.ndim != 1:
        raise ValidationError(f"{name} must be a 1-d sequence of angles, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValidationError(f"{name} must be finite, got {a}")
    return a


def check_angles(gammas, betas, scale, shift=0.0) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(gammas, betas, scale, shift)`` checked: two 1-d finite float64 arrays of one length, a
    finite ``scale > 0`` and a finite ``shift`` (every statevector kernel's argument rule)."""
    g = _as_angles(gammas, "gammas")
    b = _as_angles(betas, "betas")
    if g.shape != b.shape:
        raise ValidationError(f"gammas and betas differ in length: {g.size} != {b.size}")
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValidationError(f"scale must be finite and > 0, got {scale}")
    shift = float(shift)
    if not np.isfinite(shift):
        raise ValidationError(f"shift must be finite, got {shift}")
    return g, b, scale, shift


def with_threads(threads: int | None, fn, *args):
    """``fn(*args)`` with numba's thread count set to ``threads`` (unchanged when None), then restored."""
    if threads is None:
        return fn(*args)
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return fn(*args)
    finally:
        numba.set_num_threads(old)


class StatevectorSimulator:
    """QAOA statevector simulator on a cost diagonal (numba, in place).

    Parameters
    ----------
    n : int
        Number of qubits.
    dtype : {np.complex128, np.complex64}
        State dtype.
    threads : int, optional
        numba threads for this simulator's kernels (default: numba's setting).
    block_bits : int, optional
        log2 of the chunk size in amplitudes (default 15 for complex128, 16 for
        complex64: 512 KiB, the L2 cache).  Exposed so tests can force small
        blocks.
    row_bits : int, optional
        Smallest row (log2 amplitudes) of a gathered chunk (default 512 bytes:
        5 for complex128, 6 for complex64).
    diag_dtype : {np.float64, np.float32}
        The diagonal's dtype this simulator is sized for (memory check only;
        every method accepts a float64 or a float32 diagonal).

    Notes
    -----
    One state buffer of ``2**n`` amplitudes is allocated here (after
    :func:`check_memory`), plus ``threads * 2**block_bits`` amplitudes of
    scratch.  ``run``, ``run_expectation`` and ``expectation`` allocate nothing
    of size ``2**n``; ``probabilities`` allocates its output unless ``out`` is
    given; ``cvar`` allocates two ``2**n`` float64 work arrays; ``gradient``
    allocates a second state on first use and keeps it.

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
        block_bits: int | None = None,
        row_bits: int | None = None,
        diag_dtype=np.float64,
    ) -> None:
        bb0 = default_block_bits(dtype) if block_bits is None else block_bits
        n, dt, bb = validate_args(n, dtype, bb0, (3, 24))
        if threads is not None and not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
            raise ValidationError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {threads}")
        ddt = np.dtype(diag_dtype)
        if ddt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValidationError(f"diag_dtype must be float64 or float32, got {ddt}")
        self.n = n
        self.dtype = dt
        self.diag_dtype = ddt
        self.threads = None if threads is None else int(threads)
        self.block_bits = bb
        self.row_bits = min(default_row_bits(dt), bb - 1) if row_bits is None else int(row_bits)
        if not 0 <= self.row_bits < bb:
            raise ValidationError(f"row_bits must be in [0, {bb}), got {row_bits}")
        nt = self.threads or numba.config.NUMBA_NUM_THREADS
        check_memory(n, dt, extra_bytes=nt * state_bytes(min(n, bb), dt), diag_itemsize=ddt.itemsize)
        self._groups = _groups(n, bb, self.row_bits)
        self._state, self._rdt, self._x, self._lowp, self._scratch = state_buffers(
            n, dt, bb, nt, len(self._groups) > 1
        )
        self._adjoint: np.ndarray | None = None  # second state of the gradient
        self._ready = False

    # -- helpers
    @property
    def state(self) -> np.ndarray:
        """The state buffer (a view; overwritten by the next ``run``)."""
        return self._state

    def n_passes(self, p: int) -> int:
        """Passes over the state that :meth:`run` makes at depth ``p``.

        Examples
        --------
        >>> StatevectorSimulator(20).n_passes(2)
        3
        """
        return len(_schedule(int(p), len(self._groups)))

    def _check_diag(self, diag) -> np.ndarray:
        d = np.asarray(diag)
        if d.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {d.shape}")
        if d.dtype not in (np.float64, np.float32) or not d.flags.c_contiguous:
            d = np.ascontiguousarray(d, dtype=np.float64)
        return d

    def _with_threads(self, fn, *args):
        return with_threads(self.threads, fn, *args)

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    _check_angles = staticmethod(check_angles)

    def _pass_ops(self, ops, g, b):
        """Per-op arrays (gam, phi, mag, t, flip) of one pass; g already divided by scale."""
        t, flip, mag, arg = mixer_forms(b, self.n)
        gam = np.array([g[ph] if ph >= 0 else np.nan for ph, _ in ops])
        # the scalar of layer l's mixer rides on layer l's phase
        phi = np.array([arg[ph] if ph >= 0 else 0.0 for ph, _ in ops])
        mg = np.array([mag[ph] if ph >= 0 else 1.0 for ph, _ in ops])
        layers = [mx for _, mx in ops]
        return gam, phi, mg, t[layers].astype(self._rdt), flip[layers].copy()

    def _apply_pass(self, grp, ops, d, g, b, shift, first, want_e, write=True):
        """One pass of the schedule on the state buffer; returns its <D> share (or 0)."""
        n = self.n
        nt = numba.get_num_threads()
        parallel = n >= _PARALLEL_MIN_QUBITS and nt > 1
        a, bq, cbits = self._groups[grp]
        gam, phi, mg, tt, flip = self._pass_ops(ops, g, b)
        if first:
            mg = mg.copy()
            mg[0] *= 2.0 ** (-0.5 * n)  # the |+> amplitude
        if grp == 0:
            if parallel:
                return _pass_block(
                    self._x, d, n, bq, gam, phi, mg, tt, flip, shift, first, self._lowp, want_e, nt
                )
            return _block_range(
                self._x, d, bq, gam, phi, mg, tt, flip, shift, first, self._lowp, want_e, 0, 1 << (n - bq)
            )
        x, y = self._x, self._scratch
        if parallel:
            return _pass_gather(
                x, d, n, a, bq, cbits, y, gam, phi, mg, tt, flip, shift, self._lowp, want_e, write, nt
            )
        nchunk = 1 << (n - (bq - a) - cbits)
        return _gather_range(
            x, d, a, bq, cbits, y[0], gam, phi, mg, tt, flip, shift, self._lowp, want_e, write, 0, nchunk
        )

    def _run(self, d, g, b, shift, want_e=False):
        """Apply the schedule; with ``want_e`` the last pass also returns <D>."""
        p = g.size
        if p == 0:
            self._state[:] = 2.0 ** (-0.5 * self.n)
            return float(expect_slice(self._x, d, shift)) if want_e else 0.0
        passes = _schedule(p, len(self._groups))
        energy = 0.0
        for ipass, (grp, ops) in enumerate(passes):
            last = ipass == len(passes) - 1
            energy = self._apply_pass(grp, ops, d, g, b, shift, ipass == 0, want_e and last)
        return float(energy)

    # -- API
    def run(self, diag: np.ndarray, gammas, betas, *, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
        """Prepare the QAOA state in place and return it (a view of the buffer).

        Parameters
        ----------
        diag : (2**n,) float64 or float32
            Cost of every basis state (minus ``shift``).
        gammas, betas : sequences of length p
            Phase and mixer angles.
        scale : float
            The phase of layer l is ``exp(-i gammas[l] (diag + shift) / scale)``.
        shift : float
            Constant the diagonal was stored without (a float32 diagonal keeps
            its precision that way; see :meth:`qslack.model.qubo.QUBO.diagonal`).
        """
        d = self._check_diag(diag)
        g, b, scale, shift = self._check_angles(gammas, betas, scale, shift)
        self._with_threads(self._run, d, g / scale, b, shift)
        self._ready = True
        return self._state

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0, shift: float = 0.0) -> float:
        """``run`` and ``expectation`` in one: the energy is summed in the last pass.

        Saves the separate read of the state and the diagonal; the state is
        left in the buffer as after :meth:`run`.
        """
        d = self._check_diag(diag)
        g, b, scale, shift = self._check_angles(gammas, betas, scale, shift)
        e = self._with_threads(self._run, d, g / scale, b, shift, True)
        self._ready = True
        return e

    def run_expectation_batch(
        self, diag, gammas, betas, *, scale: float = 1.0, shift: float = 0.0
    ) -> np.ndarray:
        """Energies of ``B`` angle sets: ``gammas, betas`` of shape ``(B, p)``.

        For 15 to 19 qubits the angle sets run in parallel, one per thread,
        each with its own state (``B`` states of ``2**n`` amplitudes are
        allocated for the call): ~3x faster than one after the other on 2
        threads; other sizes evaluate them one after the other.  The simulator's own
        state holds the last angle set's state afterwards.

        Examples
        --------
        >>> sim = StatevectorSimulator(4)
        >>> d = np.arange(16.0)
        >>> es = sim.run_expectation_batch(d, [[0.1], [0.2]], [[0.3], [0.4]])
        >>> bool(np.isclose(es[1], sim.run_expectation(d, [0.2], [0.4])))
        True
        """
        from qslack.samplers.qaoa.gradient import batch_expectations

        d = self._check_diag(diag)
        G = np.atleast_2d(np.asarray(gammas, dtype=np.float64))
        Bt = np.atleast_2d(np.asarray(betas, dtype=np.float64))
        if G.ndim != 2 or G.shape != Bt.shape:
            raise ValidationError(
                f"gammas and betas must have the same shape (B, p), got {G.shape}, {Bt.shape}"
            )
        for row_g, row_b in zip(G, Bt, strict=True):
            self._check_angles(row_g, row_b, scale, shift)
        out = self._with_threads(batch_expectations, self, d, G / float(scale), Bt, float(shift))
        self._ready = True
        return out

    def expectation(self, diag, *, shift: float = 0.0) -> float:
        """``<psi|D|psi>`` of the current state (one fused pass, no temporaries)."""
        self._require_state()
        d = self._check_diag(diag)
        if self.n < _PARALLEL_MIN_QUBITS:
            return float(expect_slice(self._x, d, float(shift)))
        return float(
            self._with_threads(lambda: _expectation(self._x, d, float(shift), numba.get_num_threads()))
        )

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
        """CVaR_alpha of the energy distribution of the current state.

        The mean energy of the lowest ``alpha`` probability mass, the state at
        the boundary contributing the part of its weight that is needed.
        ``alpha = 1`` is the expectation.  Allocates two ``2**n`` float64 work
        arrays (a copy of the diagonal and the probabilities) and runs a
        weighted quickselect (expected linear time).
        """
        return self._cvar_and_threshold(diag, alpha, shift)[0]

    def _cvar_and_threshold(self, diag, alpha: float, shift: float = 0.0) -> tuple[float, float]:
        self._require_state()
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        d = self._check_diag(diag)
        w = self.probabilities()
        e = np.array(d, dtype=np.float64, copy=True)
        if shift:
            e += float(shift)
        v, thr = _cvar_select(e, w, alpha)
        return float(v), float(thr)

    def gradient(
        self,
        diag,
        gammas,
        betas,
        *,
        scale: float = 1.0,
        shift: float = 0.0,
        objective: str = "expectation",
        alpha: float = 1.0,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Value and exact gradient of the objective (adjoint method).

        Returns ``(value, d value / d gammas, d value / d betas)``.  The
        objective is the expectation ``<psi|D|psi>`` or ``"cvar"`` (CVaR_alpha,
        differentiated where the boundary state of the tail is fixed: almost
        everywhere).  Costs about three evaluations: the forward passes, then
        one backward sweep over two states (see
        :mod:`qslack.samplers.qaoa.gradient`).  Allocates a second state on
        first use.  The state buffer does not hold the final state
        afterwards: call :meth:`run` before :meth:`probabilities`.

        Examples
        --------
        >>> sim = StatevectorSimulator(3)
        >>> d = np.array([3.0, 1.0, 2.0, 0.0, 1.0, 2.0, 5.0, 4.0])
        >>> v, dg, db = sim.gradient(d, [0.4], [0.3])
        >>> h = 1e-6
        >>> f = lambda g: sim.run_expectation(d, [g], [0.3])
        >>> bool(abs(dg[0] - (f(0.4 + h) - f(0.4 - h)) / (2 * h)) < 1e-6)
        True
        """
        from qslack.samplers.qaoa.gradient import adjoint_gradient

        d = self._check_diag(diag)
        g, b, scale, shift = self._check_angles(gammas, betas, scale, shift)
        if objective not in ("expectation", "cvar"):
            raise ValidationError(f"objective must be 'expectation' or 'cvar', not {objective!r}")
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        if self._adjoint is None:
            check_memory(self.n, self.dtype, extra_bytes=2 * state_bytes(self.n, self.dtype), diag_itemsize=0)
            self._adjoint = np.empty(1 << self.n, dtype=self.dtype)
        v, dg, db = self._with_threads(adjoint_gradient, self, d, g / scale, b, shift, objective, alpha)
        self._ready = False
        return v, dg / scale, db


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
