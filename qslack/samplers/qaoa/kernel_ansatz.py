"""Statevector kernel for the structured ansätze of :mod:`~qslack.samplers.qaoa.ansatz` (numba, CPU).

The state after ``p`` layers is::

    |psi> = prod_{l=1..p} U_M(beta_l) exp(-i gamma_l D / scale) |s>

with ``|s>`` the ansatz's initial state, ``D`` the cost diagonal and ``U_M`` the
mixer layer of :meth:`Ansatz.mixer_ops` (XY pair rotations inside the one-hot
groups, a general 2x2 per qubit for the warm-start mixer, ``exp(-i beta X)``
on free qubits).  Basis index ``k`` has bit ``j`` = qubit ``j``, as in
:mod:`~qslack.samplers.qaoa.kernel`.

Layout of a layer: one elementwise pass for the phase, then one pass per
*block*.  A block is a set of at most a few qubits whose gates are applied
together: an XY group with all its pair rotations, or up to
:data:`SINGLE_BLOCK_QUBITS` qubits with single-qubit gates.  A pass walks over
the ``2**(n - k)`` settings of the other qubits (split among threads), gathers
the ``2**k`` amplitudes of the block into a per-thread buffer, applies the
block's gates in order and scatters them back.  An XY pair rotation touches
only the ``{|01>, |10>}`` amplitudes of its qubit pair, in place.

The initial state is built once (numpy) and copied in by each ``run``; the
plain X-mixer ansatz from ``|+>^n`` is the job of the faster
:class:`~qslack.samplers.qaoa.kernel.StatevectorSimulator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from qslack.exceptions import ValidationError
from qslack.samplers.qaoa.ansatz import Ansatz
from qslack.samplers.qaoa.kernel import check_memory

__all__ = ["SINGLE_BLOCK_QUBITS", "AnsatzSimulator", "cvar_of", "mixer_blocks"]

#: single-qubit gates are applied in blocks of up to this many qubits per pass
SINGLE_BLOCK_QUBITS = 10
_PARALLEL_MIN = 1 << 16  # below this many amplitudes one thread does the work (as the fast kernel)

_KIND = {"single": 0, "pair": 1}


# --------------------------------------------------------------------------- kernels
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
def _phase_slice(psi, diag, g, k0, k1):
    for k in range(k0, k1):
        t = g * diag[k]
        psi[k] = psi[k] * complex(np.cos(t), -np.sin(t))


@njit(cache=True)
def _expect_slice(psi, diag, k0, k1):
    acc = 0.0
    for k in range(k0, k1):
        a = psi[k]
        acc += (np.float64(a.real) * a.real + np.float64(a.imag) * a.imag) * diag[k]
    return acc


@njit(cache=True)
def _probs_slice(psi, out, k0, k1):
    for k in range(k0, k1):
        a = psi[k]
        out[k] = np.float64(a.real) * a.real + np.float64(a.imag) * a.imag


@njit(parallel=True, cache=True)
def _phase_par(psi, diag, g, nt):
    N = psi.shape[0]
    for t in prange(nt):
        _phase_slice(psi, diag, g, t * N // nt, (t + 1) * N // nt)


@njit(parallel=True, cache=True)
def _expect_par(psi, diag, nt):
    N = psi.shape[0]
    parts = np.zeros(nt)
    for t in prange(nt):
        parts[t] = _expect_slice(psi, diag, t * N // nt, (t + 1) * N // nt)
    return parts.sum()


@njit(parallel=True, cache=True)
def _probs_par(psi, out, nt):
    N = psi.shape[0]
    for t in prange(nt):
        _probs_slice(psi, out, t * N // nt, (t + 1) * N // nt)


# --------------------------------------------------------------------------- plan
def mixer_blocks(ansatz: Ansatz) -> list[tuple[tuple[int, ...], list[int]]]:
    """Blocks of the mixer layer: ``[(qubits, indices into mixer_ops)]``.

    One block per XY group (its pairs, in order); the qubits with single-qubit
    gates in blocks of up to :data:`SINGLE_BLOCK_QUBITS`.

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


def _compile_blocks(ansatz: Ansatz) -> list[_Block]:
    """The mixer blocks with their generators ``M_o`` (``U_o(beta) = cos(beta) I - i sin(beta) M_o``)."""
    ops = ansatz.mixer_ops(np.pi / 2)  # cos = 0, sin = 1: U = -i M
    out = []
    for qubits, idx in mixer_blocks(ansatz):
        k = len(qubits)
        m = np.arange(1 << k, dtype=np.int64)
        offsets = np.zeros(1 << k, dtype=np.int64)
        for j, q in enumerate(qubits):
            offsets += ((m >> j) & 1) << q
        local = {q: j for j, q in enumerate(qubits)}
        out.append(
            _Block(
                np.array(sorted(qubits), dtype=np.int64),
                offsets,
                np.array([_KIND[ops[o][0]] for o in idx], dtype=np.int64),
                np.array([local[ops[o][1][0]] for o in idx], dtype=np.int64),
                np.array([local[ops[o][1][-1]] for o in idx], dtype=np.int64),
                np.array([1j * ops[o][2] for o in idx], dtype=np.complex128),
            )
        )
    return out


class AnsatzSimulator:
    """QAOA statevector simulator for an :class:`~qslack.samplers.qaoa.ansatz.Ansatz` (numba, in place).

    Same interface as :class:`~qslack.samplers.qaoa.kernel.StatevectorSimulator`
    (``run``, ``run_expectation``, ``expectation``, ``probabilities``, ``cvar``).

    Parameters
    ----------
    ansatz : Ansatz
    dtype : {np.complex128, np.complex64}
        State dtype (gates are computed in float64 and rounded).
    threads : int, optional
        numba threads for this simulator (default: numba's setting).

    Examples
    --------
    >>> a = Ansatz.build(4, mixer="xy-ring", groups=[[0, 1, 2, 3]])
    >>> sim = AnsatzSimulator(a)
    >>> psi = sim.run(np.arange(16.0), [0.4, 0.2], [-0.3, -0.5])
    >>> round(float(sim.probabilities()[a.subspace_mask()].sum()), 12)   # stays one-hot
    1.0
    """

    def __init__(self, ansatz: Ansatz, *, dtype=np.complex128, threads: int | None = None) -> None:
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.complex128), np.dtype(np.complex64)):
            raise ValidationError(f"dtype must be complex128 or complex64, got {dt}")
        if threads is not None and not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
            raise ValidationError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], got {threads}")
        n = ansatz.n
        check_memory(n, dt, extra_bytes=(1 << n) * dt.itemsize)  # state + initial state
        self.ansatz = ansatz
        self.n = n
        self.dtype = dt
        self.threads = None if threads is None else int(threads)
        self._init = ansatz.initial_state().astype(dt)
        self._state = np.empty(1 << n, dtype=dt)
        self._blocks = _compile_blocks(ansatz)
        self._ready = False

    @property
    def state(self) -> np.ndarray:
        """The state buffer (overwritten by the next ``run``)."""
        return self._state

    def _nt(self) -> int:
        if (1 << self.n) < _PARALLEL_MIN:
            return 1
        return self.threads or numba.get_num_threads()

    def _check_diag(self, diag) -> np.ndarray:
        d = np.asarray(diag)
        if d.shape != (1 << self.n,):
            raise ValidationError(f"diag must have shape ({1 << self.n},) for n={self.n}, got {d.shape}")
        return np.ascontiguousarray(d, dtype=np.float64)

    @staticmethod
    def _angles(gammas, betas, scale):
        g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
        if g.ndim != 1 or g.shape != b.shape:
            raise ValidationError(f"gammas and betas must be 1-d of one length, got {g.shape} and {b.shape}")
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
            raise ValidationError("angles must be finite")
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValidationError(f"scale must be finite and > 0, got {scale}")
        return g / scale, b

    def _with_threads(self, fn, *args):
        if self.threads is None:
            return fn(*args)
        old = numba.get_num_threads()
        numba.set_num_threads(self.threads)
        try:
            return fn(*args)
        finally:
            numba.set_num_threads(old)

    def _run(self, d, g, b) -> None:
        np.copyto(self._state, self._init)
        nt = self._nt()
        psi = self._state
        for layer in range(g.size):
            if nt > 1:
                _phase_par(psi, d, g[layer], nt)
            else:
                _phase_slice(psi, d, g[layer], 0, psi.shape[0])
            cb, sb = np.cos(b[layer]), np.sin(b[layer])
            for blk in self._blocks:
                U = cb * _EYE - (1j * sb) * blk.M  # exp(-i beta M_o) = cos I - i sin M_o (M_o**2 = I)
                if nt > 1:
                    _block_pass(psi, blk.sorted_q, blk.offsets, blk.kinds, blk.la, blk.lb, U, nt)
                else:
                    loc = np.empty(blk.offsets.shape[0], dtype=psi.dtype)
                    nouter = psi.shape[0] // blk.offsets.shape[0]
                    _block_range(psi, blk.sorted_q, blk.offsets, blk.kinds, blk.la, blk.lb, U, 0, nouter, loc)

    def run(self, diag, gammas, betas, *, scale: float = 1.0) -> np.ndarray:
        """Prepare the state in place and return it (a view of the buffer); ``p = 0`` gives ``|s>``."""
        d = self._check_diag(diag)
        g, b = self._angles(gammas, betas, scale)
        self._with_threads(self._run, d, g, b)
        self._ready = True
        return self._state

    def run_expectation(self, diag, gammas, betas, *, scale: float = 1.0) -> float:
        """``run`` then ``expectation``."""
        self.run(diag, gammas, betas, scale=scale)
        return self.expectation(diag)

    def _require_state(self) -> None:
        if not self._ready:
            raise ValidationError("no state yet: call run() first")

    def expectation(self, diag) -> float:
        """``<psi|D|psi>`` of the current state."""
        self._require_state()
        d = self._check_diag(diag)
        nt = self._nt()
        if nt > 1:
            return float(self._with_threads(_expect_par, self._state, d, nt))
        return float(_expect_slice(self._state, d, 0, d.shape[0]))

    def probabilities(self, out: np.ndarray | None = None) -> np.ndarray:
        """``|psi|**2`` as float64 (allocates unless ``out`` is given)."""
        self._require_state()
        if out is None:
            out = np.empty(1 << self.n, dtype=np.float64)
        elif out.shape != (1 << self.n,) or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValidationError(f"out must be a contiguous float64 array of shape ({1 << self.n},)")
        nt = self._nt()
        if nt > 1:
            self._with_threads(_probs_par, self._state, out, nt)
        else:
            _probs_slice(self._state, out, 0, out.shape[0])
        return out

    def cvar(self, diag, alpha: float) -> float:
        """CVaR_alpha of the energy distribution of the current state (see :func:`cvar_of`)."""
        self._require_state()
        return cvar_of(self._check_diag(diag), self.probabilities(), alpha)


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
