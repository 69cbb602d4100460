"""Peak memory of every code path, checked before anything large is allocated.

:func:`estimate_bytes` is the one place that says how many bytes a code path
needs at its peak, as an exact Python ``int`` (never a float, never an
overflow: berlin52's 52 qubits need ``2**56`` bytes of complex128 state, and
that is what the message says).  :func:`require` compares a need with
:func:`qslack._sys.available_memory` (``min(MemAvailable, cgroup limit - usage)``,
cgroup v1 and v2) and refuses in one line, naming both.

The formulas (``N = 2**n`` basis states; ``s`` = bytes per amplitude, 16 for
complex128 and 8 for complex64; ``d`` = bytes per diagonal entry, 8 for
float64 and 4 for float32; ``T`` = threads, ``B`` = the kernel's block bits):

============================  ==================================================================
path                          peak bytes
============================  ==================================================================
``diagonal``                  ``d N``                                (``QUBO.diagonal``: one output)
``statevector``               ``(s + d) N + T s 2**B``               (state + diagonal + scratch)
 ... ``gradient=True``        ``+ s N``                              (the adjoint state)
 ... ``objective="cvar"``     ``+ 16 N``                             (probabilities + a diagonal copy)
``sampler``                   statevector ``+ 16 N``                 (final probabilities and their CDF
                                                                     beside the state; CVaR's work
                                                                     arrays are freed before)
``aer``                       ``(16 + 8 + 8) N``                     (Aer's complex128 state, the
                                                                     probabilities it returns, the
                                                                     diagonal)
``exact``                     ``16 N`` for ``n <= 22``, else         (the diagonal + argpartition's
                              ``25 * 2**22``                         int64 indices; chunks of 2**22)
``form``                      ``9 N`` (+ ``8 m N`` with ``rows``)    (objective diagonal + feasible
                                                                     mask; the per-row diagonals)
``solve``                     ``9 N + sampler``                      (the dual loop: the form's caches
                                                                     stay while the sampler runs; the
                                                                     driver drops each step's
                                                                     probabilities before the next
                                                                     sample; the dual's mass
                                                                     temporaries, two float64 and two
                                                                     bool vectors, come after the
                                                                     sampler has freed more)
============================  ==================================================================

``statevector`` covers both CPU kernels: the X-mixer
:class:`~qslack.samplers.qaoa.kernel.StatevectorSimulator` and the structured-ansatz
:class:`~qslack.samplers.qaoa.kernel_ansatz.AnsatzSimulator` (warm-start, XY and
X mixers from any initial state), which writes its initial state in its first pass
(no stored ``2**n`` copy, the one-hot state included) and reads a float32
diagonal in place (no float64 copy); its scratch is the X-mixer kernel's.

Measured against the peak resident set of a fresh process in
``tests/test_memory.py`` (within 10 % at n = 26 and 27; the ansatz kernel in
``tests/test_kernel_ansatz_speed_ok.py``).
"""

from __future__ import annotations

import math

from qslack._sys import available_memory
from qslack.exceptions import ResourceError, ValidationError

__all__ = ["PATHS", "estimate_bytes", "format_bytes", "require"]

PATHS = ("diagonal", "statevector", "sampler", "aer", "exact", "form", "solve")

_STATE_BYTES = {"complex128": 16, "complex64": 8}
_DIAG_BYTES = {"float64": 8, "float32": 4}
_EXACT_CHUNK_BITS = 22


def format_bytes(x: int) -> str:
    """A byte count in words; sizes past a float's comfort are powers of two, exactly.

    Examples
    --------
    >>> format_bytes(3 * 2**29)
    '1.5 GiB'
    >>> format_bytes(16 * 2**52)
    '2^56 bytes'
    >>> format_bytes(2**20)
    '1.0 MiB'
    """
    x = int(x)
    if x >= 1 << 50:  # a petabyte and up: exact powers of two read better than floats
        if x & (x - 1) == 0:
            return f"2^{x.bit_length() - 1} bytes"
        return f"~2^{math.log2(x):.1f} bytes"
    if x >= 1 << 30:
        return f"{x / 2**30:.1f} GiB"
    return f"{x / 2**20:.1f} MiB"


def _dtype_name(dtype, table: dict[str, int], what: str) -> str:
    import numpy as np

    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in table:
        raise ValidationError(f"{what} must be one of {sorted(table)}, got {dtype!r}")
    return name


def estimate_bytes(
    n: int,
    path: str = "statevector",
    *,
    dtype="complex128",
    diag_dtype="float64",
    threads: int | None = None,
    block_bits: int | None = None,
    gradient: bool = False,
    objective: str = "expectation",
    m: int = 0,
    rows: bool = False,
    backend: str = "statevector",
) -> int:
    """Peak bytes that ``path`` needs for ``n`` variables (see the module's table).

    Parameters
    ----------
    n : int
        Number of qubits / variables.
    path : str
        One of :data:`PATHS`.
    dtype, diag_dtype : str or numpy dtype
        State and diagonal dtypes of the statevector kernel.
    threads : int, optional
        Kernel threads (default numba's setting).
    block_bits : int, optional
        Kernel block bits (default the kernel's for ``dtype``).
    gradient : bool
        The sampler / kernel computes exact gradients (one more state).
    objective : {"expectation", "cvar"}
        CVaR needs two float64 work vectors during each evaluation.
    m : int
        Constraints (``form`` with ``rows=True``).
    rows : bool
        ``form``: also the ``(m, 2**n)`` per-row constraint diagonals.
    backend : {"statevector", "aer", "exact"}
        ``sampler`` / ``solve``: the QAOA backend, or the brute-force sampler.

    Examples
    --------
    >>> estimate_bytes(20, "diagonal") == 8 * 2**20
    True
    >>> estimate_bytes(20, "statevector", threads=1, block_bits=15) == 24 * 2**20 + 16 * 2**15
    True
    >>> estimate_bytes(52, "statevector", threads=1) > 2**56
    True
    """
    n = int(n)
    if n < 0:
        raise ValidationError(f"number of variables must be >= 0, got {n}")
    if path not in PATHS:
        raise ValidationError(f"unknown memory path {path!r}; choose from {PATHS}")
    N = 1 << n
    s = _STATE_BYTES[_dtype_name(dtype, _STATE_BYTES, "dtype")]
    d = _DIAG_BYTES[_dtype_name(diag_dtype, _DIAG_BYTES, "diag_dtype")]
    if path == "diagonal":
        return d * N
    if path == "exact":
        if n <= _EXACT_CHUNK_BITS:
            return 16 * N
        return 25 << _EXACT_CHUNK_BITS
    if path == "aer":
        return 32 * N
    if path == "form":
        return 9 * N + (8 * int(m) * N if rows else 0)
    if threads is None:
        import numba

        threads = numba.config.NUMBA_NUM_THREADS
    if block_bits is None:
        block_bits = 15 + (1 if s == 8 else 0)
    if objective not in ("expectation", "cvar"):
        raise ValidationError(f"objective must be 'expectation' or 'cvar', got {objective!r}")
    kernel = (s + d) * N + int(threads) * s * (1 << min(n, int(block_bits)))
    if gradient:
        kernel += s * N + 2 * int(threads) * s * (1 << min(n, int(block_bits)))
    if path == "statevector":
        return kernel + (16 * N if objective == "cvar" else 0)
    if backend == "aer":
        sampler = 32 * N
    elif backend == "exact":
        sampler = estimate_bytes(n, "exact")
    elif backend == "statevector":
        # the final probabilities and their cumulative sum beside the state and the
        # diagonal; CVaR's two work vectors (the same size) are freed by then
        sampler = kernel + 16 * N
    else:
        raise ValidationError(f"backend must be statevector, aer or exact, got {backend!r}")
    if path == "sampler":
        return sampler
    # solve: the form's caches stay alive while the sampler runs (the driver drops the
    # previous step's SampleSet, probabilities included, before sampling again: measured
    # 37 N at n=26, c64 + float32 diagonal); the dual loop's mass temporaries (17 N beside
    # the probabilities) come after the sampler has returned and freed its state
    masses = 0 if backend == "exact" else 8 * N + 17 * N
    return 9 * N + max(sampler, masses)


def require(nbytes: int, what: str, *, available: int | None = None) -> None:
    """Raise :class:`ResourceError` unless ``nbytes`` fit in the memory available now.

    Parameters
    ----------
    nbytes : int
        The need (a Python int, any size).
    what : str
        What needs it, for the message.
    available : int, optional
        Bytes available; default :func:`qslack._sys.available_memory`.

    Examples
    --------
    >>> require(1, "one byte")
    >>> require(16 << 52, "the complex128 state of 52 qubits", available=2**34)
    Traceback (most recent call last):
    ...
    qslack.exceptions.ResourceError: the complex128 state of 52 qubits needs 2^56 bytes; \
16.0 GiB available (min of MemAvailable and the cgroup limit)
    """
    nbytes = int(nbytes)
    avail = available_memory() if available is None else int(available)
    if nbytes > avail:
        raise ResourceError(
            f"{what} needs {format_bytes(nbytes)}; {format_bytes(avail)} available "
            "(min of MemAvailable and the cgroup limit)"
        )
