"""The QAOA statevector kernel on a GPU (CuPy raw CUDA kernels).

Same state, conventions and schedule as :mod:`qslack.samplers.qaoa.kernel`:
the qubits are split into groups; one kernel launch (a *pass*) loads a chunk of
``2**11`` amplitudes per CUDA block into shared memory (group 0: a contiguous
block; higher groups: rows of ``2**c >= 32`` contiguous amplitudes, so global
reads stay coalesced), applies every phase and rotation of that group that the
schedule puts in the pass, and writes the chunk back.  Phases use ``sincos`` in
float64 (cast for complex64 states); the initial ``|+>`` fill is fused into the
first pass.

CuPy is imported inside the functions only; this module imports with numpy and
numba alone.  :func:`gpu_available` never raises.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import DependencyError, ResourceError, ValidationError
from qslack.samplers.qaoa.kernel import _as_angles, _gib, _groups, _schedule, validate_args

__all__ = ["GPUStatevectorSimulator", "gpu_available"]

_GPU_BLOCK_BITS = 11  # 2**11 amplitudes per CUDA block in shared memory
_THREADS = 256

_SOURCE = r"""
#define T REAL
extern "C" __global__ void group_pass(
    T* __restrict__ x, const double* __restrict__ diag,
    const int a, const int b, const int cbits,
    const double* __restrict__ gam, const double* __restrict__ cs,
    const double* __restrict__ sn, const int nops, const double fill)
{
    extern __shared__ double smem_raw[];
    const int w = (b - a) + cbits;
    const long long W = 1LL << w;
    T* sr = reinterpret_cast<T*>(smem_raw);
    T* si = sr + W;
    const long long ch = (long long)blockIdx.x + (long long)blockIdx.y * gridDim.x;
    const long long nlow = 1LL << (a - cbits);
    const long long up = ch / nlow;
    const long long lo = ch - up * nlow;
    const long long base = (up << b) + (lo << cbits);
    const long long cmask = (1LL << cbits) - 1;
    if (fill <= 0.0) {
        for (long long L = threadIdx.x; L < W; L += blockDim.x) {
            const long long k = base + ((L >> cbits) << a) + (L & cmask);
            sr[L] = x[2 * k];
            si[L] = x[2 * k + 1];
        }
    }
    for (int op = 0; op < nops; ++op) {
        const double g = gam[op];
        const bool do_fill = (op == 0) && (fill > 0.0);
        if (!isnan(g) || do_fill) {
            if (op > 0) __syncthreads();
            const double gg = isnan(g) ? 0.0 : g;
            for (long long L = threadIdx.x; L < W; L += blockDim.x) {
                const long long k = base + ((L >> cbits) << a) + (L & cmask);
                double s, c;
                sincos(gg * diag[k], &s, &c);
                if (do_fill) {
                    sr[L] = (T)(fill * c);
                    si[L] = (T)(-fill * s);
                } else {
                    const double re = (double)sr[L];
                    const double im = (double)si[L];
                    sr[L] = (T)(re * c + im * s);
                    si[L] = (T)(im * c - re * s);
                }
            }
        }
        const T c = (T)cs[op];
        const T s = (T)sn[op];
        for (int q = cbits; q < w; ++q) {
            __syncthreads();
            const long long qm = (1LL << q) - 1;
            for (long long P = threadIdx.x; P < (W >> 1); P += blockDim.x) {
                const long long L0 = ((P >> q) << (q + 1)) | (P & qm);
                const long long L1 = L0 | (1LL << q);
                const T ar = sr[L0], ai = si[L0], br = sr[L1], bi = si[L1];
                sr[L0] = c * ar + s * bi;
                si[L0] = c * ai - s * br;
                sr[L1] = c * br + s * ai;
                si[L1] = c * bi - s * ar;
            }
        }
    }
    __syncthreads();
    for (long long L = threadIdx.x; L < W; L += blockDim.x) {
        const long long k = base + ((L >> cbits) << a) + (L & cmask);
        x[2 * k] = sr[L];
        x[2 * k + 1] = si[L];
    }
}

extern "C" __global__ void expect_partial(
    const T* __restrict__ x, const double* __restrict__ d, double* __restrict__ out,
    const long long N)
{
    __shared__ double buf[256];
    double acc = 0.0;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < N;
         k += (long long)gridDim.x * blockDim.x) {
        const double re = (double)x[2 * k];
        const double im = (double)x[2 * k + 1];
        acc += (re * re + im * im) * d[k];
    }
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = buf[0];
}

extern "C" __global__ void probs(
    const T* __restrict__ x, double* __restrict__ out, const long long N)
{
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < N;
         k += (long long)gridDim.x * blockDim.x) {
        const double re = (double)x[2 * k];
        const double im = (double)x[2 * k + 1];
        out[k] = re * re + im * im;
    }
}
"""

_MODULES: dict = {}


def gpu_available() -> bool:
    """True if CuPy is installed and sees at least one CUDA device (never raises)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:
        return False


def _cupy():
    try:
        import cupy
    except ImportError as exc:
        raise DependencyError(
            "the GPU kernel needs CuPy: pip install cupy-cuda12x (or cupy-cuda13x)"
        ) from exc
    if not gpu_available():
        raise DependencyError("CuPy is installed but no CUDA device is available")
    return cupy


def _module(real: str):
    cp = _cupy()
    key = (real, cp.cuda.runtime.getDevice())
    if key not in _MODULES:
        mod = cp.RawModule(code=_SOURCE.replace("REAL", real, 1))
        _MODULES[key] = {name: mod.get_function(name) for name in ("group_pass", "expect_partial", "probs")}
    return _MODULES[key]


class GPUStatevectorSimulator:
    """The QAOA statevector simulator on a CUDA GPU (CuPy).

    Parameters
    ----------
    n : int
        Number of qubits.
    dtype : {np.complex128, np.complex64}
        State dtype (the diagonal is float64 on the device).
    block_bits : int
        log2 of the amplitudes a CUDA block holds in shared memory (default 11).

    Notes
    -----
    ``diag`` may be a numpy or a CuPy array.  A numpy diagonal is copied to the
    device once and reused while the same array (same object, same buffer,
    unchanged on a sample of 256 entries) comes back; :meth:`set_diagonal`
    does the copy explicitly.  ``cvar`` sorts a cached diagonal on the device
    once (a CuPy diagonal passed directly is sorted on every call).

    Examples
    --------
    >>> import numpy as np
    >>> from qslack.samplers.qaoa.kernel import StatevectorSimulator
    >>> if not gpu_available():
    ...     import pytest
    ...     pytest.skip("no CUDA GPU: CuPy missing or no device")
    >>> sim = GPUStatevectorSimulator(3)
    >>> _ = sim.run(np.arange(8.0), [0.3], [0.2])
    >>> cpu = StatevectorSimulator(3)
    >>> _ = cpu.run(np.arange(8.0), [0.3], [0.2])
    >>> bool(np.allclose(sim.probabilities(), cpu.probabilities(), atol=1e-12))
    True
    """

    def __init__(self, n: int, *, dtype=np.complex128, block_bits: int = _GPU_BLOCK_BITS) -> None:
        cp = _cupy()
        n, dt, bb = validate_args(n, dtype, block_bits, (6, 12))
        free, _total = cp.cuda.runtime.memGetInfo()
        need = (1 << n) * dt.itemsize
        total_need = need + (1 << n) * 8
        if total_need > free:
            raise ResourceError(
                f"n={n} needs {_gib(need)} for the {dt.name} state (+ diagonal); "
                f"this GPU has {_gib(free)} free"
            )
        self.n = n
        self.dtype = dt
        self.block_bits = bb
        self._real = "double" if dt == np.complex128 else "float"
        self._fn = _module(self._real)
        self._groups = _groups(n, bb)
        self._state = cp.empty(1 << n, dtype=dt)
        self._x = self._state.view(np.float64 if dt == np.complex128 else np.float32)
        self._diag_key = None
        self._diag = None
        self._diag_cached = False
        self._order = None
        self._ready = False

    # -- diagonal cache
    @staticmethod
    def _fingerprint(d: np.ndarray) -> bytes:
        idx = np.linspace(0, d.size - 1, num=min(256, d.size)).astype(np.int64)
        return d[idx].tobytes()

    def set_diagonal(self, diag):
        """Copy a numpy ``diag`` to the device and keep it (with its sort order,
        once ``cvar`` needs it) for the following calls with the same array.

        Returns the device array.
        """
        cp = _cupy()
        if isinstance(diag, cp.ndarray):
            diag = cp.asnumpy(diag)
        h = np.ascontiguousarray(diag, dtype=np.float64)
        if h.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {h.shape}")
        self._diag = cp.asarray(h)
        self._diag_key = (id(diag), h.ctypes.data, self._fingerprint(h))
        self._diag_cached = True
        self._order = None
        return self._diag

    def _device_diag(self, diag):
        """The device diagonal for ``diag``; sets ``self._diag_cached``.

        A CuPy float64 contiguous array is used as is (and never cached: it may
        change in place).  A numpy array is copied once and reused while the
        same array comes back unchanged (object, buffer, 256 sampled entries).
        """
        cp = _cupy()
        if isinstance(diag, cp.ndarray):
            if diag.shape != (1 << self.n,):
                raise ValidationError(
                    f"diag must have shape ({1 << self.n},) for n={self.n}, got {diag.shape}"
                )
            if diag.dtype == cp.float64 and diag.flags.c_contiguous:
                self._diag_cached = False
                return diag
            d = cp.ascontiguousarray(diag, dtype=cp.float64)
            self._diag_cached = False
            return d
        h = np.asarray(diag)
        key = self._diag_key
        if (
            key is not None
            and key[0] == id(diag)
            and h.shape == (1 << self.n,)
            and h.dtype == np.float64
            and h.ctypes.data == key[1]
            and self._fingerprint(h) == key[2]
        ):
            self._diag_cached = True
            return self._diag
        d = self.set_diagonal(h)
        self._diag_key = (id(diag), *self._diag_key[1:])
        return d

    # -- API
    @property
    def state(self):
        """The device state (a CuPy array, overwritten by the next ``run``)."""
        return self._state

    def run(self, diag, gammas, betas, *, scale: float = 1.0):
        """Prepare the QAOA state in place on the device; returns the CuPy state."""
        cp = _cupy()
        d = self._device_diag(diag)
        g = _as_angles(gammas, "gammas")
        b = _as_angles(betas, "betas")
        if g.shape != b.shape:
            raise ValidationError(f"gammas and betas differ in length: {g.size} != {b.size}")
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValidationError(f"scale must be finite and > 0, got {scale}")
        g = g / scale
        n = self.n
        fill = float(2.0 ** (-0.5 * n))
        if g.size == 0:
            self._state.fill(fill)
            self._ready = True
            return self._state
        cb = np.cos(b)
        sb = np.sin(b)
        itemsize = 8 if self._real == "double" else 4
        first = True
        for grp, ops in _schedule(g.size, len(self._groups)):
            a, bq, cbits = self._groups[grp]
            w = (bq - a) + cbits
            gam = cp.asarray(np.array([g[ph] if ph >= 0 else np.nan for ph, _ in ops]))
            layers = [mx for _, mx in ops]
            c_ops = cp.asarray(cb[layers])
            s_ops = cp.asarray(sb[layers])
            nchunk = 1 << (n - w)
            gx = min(nchunk, 1 << 30)
            gy = nchunk // gx
            self._fn["group_pass"](
                (gx, gy),
                (_THREADS,),
                (
                    self._x,
                    d,
                    np.int32(a),
                    np.int32(bq),
                    np.int32(cbits),
                    gam,
                    c_ops,
                    s_ops,
                    np.int32(len(ops)),
                    np.float64(fill if first else 0.0),
                ),
                shared_mem=2 * itemsize * (1 << w),
            )
            first = False
        self._ready = True
        return self._state

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    def expectation(self, diag) -> float:
        """``<psi|D|psi>`` (one reduction kernel, per-block partial sums)."""
        cp = _cupy()
        self._require_state()
        d = self._device_diag(diag)
        nn = 1 << self.n
        nblk = int(min(4096, max(1, nn // _THREADS)))
        out = cp.empty(nblk, dtype=cp.float64)
        self._fn["expect_partial"]((nblk,), (_THREADS,), (self._x, d, out, np.int64(nn)))
        return float(out.sum())

    def probabilities_device(self, out=None):
        """``|psi|**2`` as a CuPy float64 array."""
        cp = _cupy()
        self._require_state()
        nn = 1 << self.n
        if out is None:
            out = cp.empty(nn, dtype=cp.float64)
        nblk = int(min(65535, max(1, nn // _THREADS)))
        self._fn["probs"]((nblk,), (_THREADS,), (self._x, out, np.int64(nn)))
        return out

    def probabilities(self, out: np.ndarray | None = None) -> np.ndarray:
        """``|psi|**2`` as a numpy float64 array (copied to the host)."""
        p = self.probabilities_device()
        if out is None:
            return p.get()
        if out.shape != (1 << self.n,) or out.dtype != np.float64:
            raise ValidationError(f"out must be a float64 array of shape ({1 << self.n},)")
        p.get(out=out)
        return out

    def cvar(self, diag, alpha: float) -> float:
        """CVaR_alpha of the energy distribution (as the CPU kernel's ``cvar``).

        Sorts the diagonal on the device (once per diagonal, cached) and takes a
        cumulative sum of the sorted probabilities (allocates ``2**n`` vectors).
        """
        cp = _cupy()
        self._require_state()
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        d = self._device_diag(diag)
        if self._diag_cached:
            if self._order is None:
                self._order = cp.argsort(d)
            order = self._order
        else:
            order = cp.argsort(d)
        e = d[order]
        w = self.probabilities_device()[order]
        cum = cp.cumsum(w)
        j = int(cp.searchsorted(cum, cp.asarray([alpha]))[0])
        j = min(j, e.size - 1)
        head = float(cp.dot(w[:j], e[:j])) if j > 0 else 0.0
        mass = float(cum[j - 1]) if j > 0 else 0.0
        return (head + (alpha - mass) * float(e[j])) / alpha
