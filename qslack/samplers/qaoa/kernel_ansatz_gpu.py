"""The structured-ansatz statevector kernel on a GPU (CuPy raw CUDA kernels).

Same state, conventions and blocks as :mod:`~qslack.samplers.qaoa.kernel_ansatz`:
per layer one elementwise phase kernel, then one kernel launch per mixer block
in which each CUDA thread owns one setting of the qubits outside the block and
applies the block's gates (XY pair rotations on ``{|01>, |10>}``, 2x2 gates on
single qubits) to its ``2**k`` amplitudes in order.  Threads touch disjoint
amplitudes, so no synchronisation is needed.

CuPy is imported inside the functions only; this module imports with numpy
alone.  Without CuPy or a CUDA device :class:`GPUAnsatzSimulator` raises
:class:`~qslack.exceptions.DependencyError`.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import DependencyError, ResourceError, ValidationError
from qslack.samplers.qaoa.ansatz import Ansatz
from qslack.samplers.qaoa.kernel_ansatz import cvar_of, mixer_blocks

__all__ = ["GPUAnsatzSimulator"]

_THREADS = 256

_SOURCE = r"""
#define T REAL
extern "C" __global__ void phase(T* __restrict__ x, const double* __restrict__ d, const double g,
                                 const long long N)
{
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < N;
         k += (long long)gridDim.x * blockDim.x) {
        double s, c;
        sincos(g * d[k], &s, &c);
        const double re = (double)x[2 * k];
        const double im = (double)x[2 * k + 1];
        x[2 * k] = (T)(re * c + im * s);
        x[2 * k + 1] = (T)(im * c - re * s);
    }
}

extern "C" __global__ void block_apply(
    T* __restrict__ x, const long long* __restrict__ sorted_q, const int nq,
    const long long* __restrict__ offsets, const int K,
    const int* __restrict__ kinds, const int* __restrict__ la, const int* __restrict__ lb,
    const double* __restrict__ U, const int nops, const long long nouter)
{
    const long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= nouter) return;
    long long base = r;
    for (int t = 0; t < nq; ++t) {
        const long long q = sorted_q[t];
        base = ((base >> q) << (q + 1)) | (base & ((1LL << q) - 1));
    }
    for (int o = 0; o < nops; ++o) {
        const double* u = U + 8 * o;  /* u00, u01, u10, u11 as (re, im) */
        const int ma = 1 << la[o];
        const int mb = kinds[o] ? (1 << lb[o]) : 0;
        for (int m = 0; m < K; ++m) {
            int j;
            if (kinds[o] == 0) {
                if (m & ma) continue;
                j = m | ma;
            } else {
                if (!(m & ma) || (m & mb)) continue;
                j = m ^ ma ^ mb;
            }
            const long long i0 = base + offsets[m];
            const long long i1 = base + offsets[j];
            const double ar = (double)x[2 * i0], ai = (double)x[2 * i0 + 1];
            const double br = (double)x[2 * i1], bi = (double)x[2 * i1 + 1];
            x[2 * i0] = (T)(u[0] * ar - u[1] * ai + u[2] * br - u[3] * bi);
            x[2 * i0 + 1] = (T)(u[0] * ai + u[1] * ar + u[2] * bi + u[3] * br);
            x[2 * i1] = (T)(u[4] * ar - u[5] * ai + u[6] * br - u[7] * bi);
            x[2 * i1 + 1] = (T)(u[4] * ai + u[5] * ar + u[6] * bi + u[7] * br);
        }
    }
}
"""

_MODULES: dict = {}


def _cupy():
    from qslack.samplers.qaoa.kernel_gpu import gpu_available

    if not gpu_available():
        raise DependencyError(
            "the GPU ansatz kernel needs CuPy (pip install cupy-cuda12x) and a CUDA device; none is available"
        )
    import cupy

    return cupy


def _module(real: str):
    cp = _cupy()
    key = (real, cp.cuda.runtime.getDevice())
    if key not in _MODULES:
        mod = cp.RawModule(code=_SOURCE.replace("REAL", real, 1))
        _MODULES[key] = {name: mod.get_function(name) for name in ("phase", "block_apply")}
    return _MODULES[key]


class GPUAnsatzSimulator:
    """:class:`~qslack.samplers.qaoa.kernel_ansatz.AnsatzSimulator` on a CUDA GPU (CuPy).

    Parameters
    ----------
    ansatz : Ansatz
    dtype : {np.complex128, np.complex64}

    Examples
    --------
    >>> from qslack.samplers.qaoa.kernel_gpu import gpu_available
    >>> if gpu_available():
    ...     sim = GPUAnsatzSimulator(Ansatz.build(3, mixer="xy-ring", groups=[[0, 1, 2]]))
    ...     _ = sim.run(np.arange(8.0), [0.3], [0.2])
    """

    def __init__(self, ansatz: Ansatz, *, dtype=np.complex128) -> None:
        cp = _cupy()
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.complex128), np.dtype(np.complex64)):
            raise ValidationError(f"dtype must be complex128 or complex64, got {dt}")
        n = ansatz.n
        free, _total = cp.cuda.runtime.memGetInfo()
        need = (1 << n) * (2 * dt.itemsize + 8)
        if need > free:
            raise ResourceError(
                f"n={n} needs {need / 2**30:.1f} GiB on the GPU (state, initial state, diagonal); "
                f"this GPU has {free / 2**30:.1f} GiB free"
            )
        self.ansatz = ansatz
        self.n = n
        self.dtype = dt
        self._real = "double" if dt == np.complex128 else "float"
        self._fn = _module(self._real)
        self._init = cp.asarray(ansatz.initial_state().astype(dt))
        self._state = cp.empty(1 << n, dtype=dt)
        self._x = self._state.view(np.float64 if dt == np.complex128 else np.float32)
        self._blocks = []
        for qubits, idx in mixer_blocks(ansatz):
            k = len(qubits)
            m = np.arange(1 << k, dtype=np.int64)
            offsets = np.zeros(1 << k, dtype=np.int64)
            for j, q in enumerate(qubits):
                offsets += ((m >> j) & 1) << q
            self._blocks.append(
                (cp.asarray(np.array(sorted(qubits), dtype=np.int64)), cp.asarray(offsets), qubits, idx)
            )
        self._ready = False

    @property
    def state(self):
        """The device state (a CuPy array, overwritten by the next ``run``)."""
        return self._state

    def _device_diag(self, diag):
        cp = _cupy()
        d = cp.ascontiguousarray(cp.asarray(diag), dtype=cp.float64)
        if d.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {d.shape}")
        return d

    def run(self, diag, gammas, betas, *, scale: float = 1.0):
        """Prepare the state in place on the device; returns the CuPy state."""
        from qslack.samplers.qaoa.kernel_ansatz import AnsatzSimulator

        cp = _cupy()
        d = self._device_diag(diag)
        g, b = AnsatzSimulator._angles(gammas, betas, scale)
        N = 1 << self.n
        cp.copyto(self._state, self._init)
        grid = int(min(65535, max(1, N // _THREADS)))
        for layer in range(g.size):
            self._fn["phase"]((grid,), (_THREADS,), (self._x, d, np.float64(g[layer]), np.int64(N)))
            ops = self.ansatz.mixer_ops(float(b[layer]))
            for sorted_q, offsets, qubits, idx in self._blocks:
                local = {q: j for j, q in enumerate(qubits)}
                kinds = np.array([0 if ops[o][0] == "single" else 1 for o in idx], dtype=np.int32)
                la = np.array([local[ops[o][1][0]] for o in idx], dtype=np.int32)
                lb = np.array([local[ops[o][1][-1]] for o in idx], dtype=np.int32)
                U = np.array([ops[o][2] for o in idx], dtype=np.complex128).view(np.float64).reshape(-1)
                k = len(qubits)
                nouter = N >> k
                blocks = (nouter + _THREADS - 1) // _THREADS
                self._fn["block_apply"](
                    (blocks,),
                    (_THREADS,),
                    (
                        self._x,
                        sorted_q,
                        np.int32(k),
                        offsets,
                        np.int32(1 << k),
                        cp.asarray(kinds),
                        cp.asarray(la),
                        cp.asarray(lb),
                        cp.asarray(U),
                        np.int32(len(idx)),
                        np.int64(nouter),
                    ),
                )
        self._ready = True
        return self._state

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    def probabilities_device(self):
        """``|psi|**2`` as a CuPy float64 array."""
        self._require_state()
        s = self._state
        return (s.real.astype(np.float64) ** 2 + s.imag.astype(np.float64) ** 2).astype(np.float64)

    def probabilities(self, out: np.ndarray | None = None) -> np.ndarray:
        """``|psi|**2`` as a numpy float64 array (copied to the host)."""
        p = self.probabilities_device().get()
        if out is None:
            return p
        if out.shape != p.shape or out.dtype != np.float64:
            raise ValidationError(f"out must be a float64 array of shape ({1 << self.n},)")
        out[...] = p
        return out

    def expectation(self, diag) -> float:
        """``<psi|D|psi>``."""
        return float((self.probabilities_device() * self._device_diag(diag)).sum())

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0) -> float:
        """``run`` then ``expectation``."""
        self.run(diag, gammas, betas, scale=scale)
        return self.expectation(diag)

    def cvar(self, diag, alpha: float) -> float:
        """CVaR_alpha of the energy distribution (on the host, :func:`cvar_of`)."""
        return cvar_of(np.asarray(diag, dtype=np.float64), self.probabilities(), alpha)
