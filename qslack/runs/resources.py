"""What one run needs from the machine that runs it: threads, memory, a GPU.

A sweep task declares these to Dask as *worker resources*
(``resources={"MEMORY": bytes, "THREADS": k, "GPU": 1}``); a worker started
with ``--resources "MEMORY=...,THREADS=...,GPU=..."`` runs tasks only while
the sum of what they declare stays within what it offers, so concurrent runs
never exceed a worker's memory.  A resource no worker offers is not asked for
(a task asking for it would wait forever): a GPU run on a cluster without
one is refused before it is recorded.

The memory need is the peak of the whole solve on this run's QUBO (the
sampler's state, the QUBO diagonal, the Lagrangian form's caches).  The one
place that knows these formulas is ``qslack.memory.estimate_bytes(n, "solve",
...)`` where that module exists; :func:`memory_need` falls back to the
formula below otherwise (``N = 2**n``, ``s`` = 16 bytes per complex128
amplitude, 8 per complex64, ``T`` threads):

=====================  ===================================================
sampler                bytes
=====================  ===================================================
QAOA statevector       ``(s + 8) N + T s 2**15 + 16 N`` + the form's caches
QAOA on Aer            ``32 N`` + the form's caches
exact (brute force)    ``16 N`` for ``n <= 22``, else ``25 * 2**22``; + caches
anything else          0 (samples a QUBO without enumerating its states)
=====================  ===================================================

Examples
--------
>>> RunResources(threads=2, memory=3 << 30, gpu=False).dask({"MEMORY", "THREADS", "GPU"})
{'THREADS': 2, 'MEMORY': 3221225472}
>>> RunResources(threads=1, memory=0, gpu=True).dask({"GPU", "MEMORY"})
{'GPU': 1}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["RunResources", "format_bytes", "memory_need", "run_resources", "uses_gpu"]

_EXACT_CHUNK_BITS = 22
_BLOCK_BITS = 15


def format_bytes(x: int) -> str:
    """A byte count in words (exact powers of two past a petabyte).

    Examples
    --------
    >>> format_bytes(3 << 29), format_bytes(1 << 20), format_bytes(16 << 52)
    ('1.5 GiB', '1.0 MiB', '2^56 bytes')
    """
    x = int(x)
    if x >= 1 << 50:
        return f"2^{x.bit_length() - 1} bytes" if x & (x - 1) == 0 else f"~2^{x.bit_length() - 1} bytes"
    if x >= 1 << 30:
        return f"{x / 2**30:.1f} GiB"
    return f"{x / 2**20:.1f} MiB"


@dataclass(frozen=True)
class RunResources:
    """What one run declares: numba/BLAS ``threads``, peak ``memory`` in bytes, whether it needs a ``gpu``."""

    threads: int
    memory: int
    gpu: bool = False

    def dask(self, offered: Iterable[str]) -> dict[str, int]:
        """The ``resources=`` of the run's Dask task, limited to the resource names some worker offers.

        (A task asking for a resource no worker has would wait forever: the
        driver refuses a GPU run on a cluster without GPUs before it records
        it, and on a local cluster it runs one GPU run per local GPU itself.)
        """
        have = set(offered)
        out: dict[str, int] = {}
        if "THREADS" in have:
            out["THREADS"] = int(self.threads)
        if "MEMORY" in have and self.memory > 0:
            out["MEMORY"] = int(self.memory)
        if "GPU" in have and self.gpu:
            out["GPU"] = 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the run's task record)."""
        return {"threads": self.threads, "memory": self.memory, "gpu": self.gpu}


def uses_gpu(sampler: Any) -> bool:
    """Whether the sampler runs on a GPU (``device="GPU"``: CuPy kernels or Aer GPU).

    Examples
    --------
    >>> from qslack.samplers.exact import ExactSampler
    >>> uses_gpu(ExactSampler())
    False
    """
    return str(getattr(sampler, "device", "CPU")).upper() == "GPU"


def _estimator() -> Callable[..., int] | None:
    """``qslack.memory.estimate_bytes`` when this qslack has it (the hook), else None."""
    try:
        from qslack.memory import estimate_bytes  # type: ignore[import-not-found]
    except ImportError:
        return None
    return estimate_bytes  # type: ignore[no-any-return]


def _form_cache_bytes(form: Any) -> int:
    """Bytes the Lagrangian form's cached diagonals take when the form uses them."""
    try:
        return int(form.cache_bytes) if form.use_cache else 0
    except (AttributeError, OverflowError):
        return 0


def memory_need(n: int, sampler: Any, *, threads: int = 1, form: Any = None) -> int:
    """Peak bytes of a solve of ``n`` qubits with ``sampler`` (0: no estimate needed).

    Parameters
    ----------
    n : int
        Qubits (variables) of the QUBO the run samples.
    sampler : Sampler
        The run's sampler (its ``config()`` says the backend and dtype).
    threads : int
        Kernel threads (the per-thread scratch blocks).
    form : LagrangianForm, optional
        The run's form: its cached diagonals count when it uses them.

    Examples
    --------
    >>> from qslack.samplers.qaoa.sampler import QAOASampler
    >>> need = memory_need(20, QAOASampler(p=1), threads=1)
    >>> need >= 24 * 2**20        # at least the complex128 state and the float64 diagonal
    True
    >>> from qslack.samplers.random import RandomSampler
    >>> memory_need(60, RandomSampler())
    0
    """
    n = int(n)
    cfg = sampler.config() if hasattr(sampler, "config") else {}
    name = cfg.get("sampler")
    if name not in ("qaoa", "exact"):
        return 0
    backend = "exact" if name == "exact" else "aer" if cfg.get("backend") == "aer" else "statevector"
    dtype = cfg.get("dtype", "complex128")
    if hasattr(sampler, "state_dtype"):  # resolves dtype="auto" for n qubits
        dtype = sampler.state_dtype(n)
    diag_dtype = cfg.get("diag_dtype", "float64")
    est = _estimator()
    if est is not None:
        try:
            return int(
                est(n, "solve", backend=backend, dtype=dtype, diag_dtype=diag_dtype, threads=threads)
            )
        except (TypeError, ValueError):  # another signature: use the formula below
            pass
    N = 1 << n
    cache = _form_cache_bytes(form) if form is not None and getattr(form, "n_vars", None) == n else 0
    if backend == "exact":
        return (16 * N if n <= _EXACT_CHUNK_BITS else 25 << _EXACT_CHUNK_BITS) + cache
    if backend == "aer":
        return 32 * N + cache
    s = 8 if dtype == "complex64" else 16
    kernel = (s + 8) * N + int(threads) * s * (1 << min(n, _BLOCK_BITS))
    return kernel + 16 * N + cache


def run_resources(prep: Any, sampler: Any, threads: int | None) -> RunResources:
    """The :class:`RunResources` of a prepared run (``threads`` None counts as one).

    Examples
    --------
    >>> from qslack.runs.config import SolveConfig, make_sampler
    >>> from qslack.runs.prepare import prepare
    >>> cfg = SolveConfig(instance="mknap1#1", sampler="exact", reference_time_limit=5.0)
    >>> r = run_resources(prepare(cfg), make_sampler(cfg), threads=2)
    >>> r.threads, r.memory >= 16 * 2**6, r.gpu
    (2, True, False)
    """
    t = 1 if threads is None else int(threads)
    need = memory_need(prep.n_qubits(), sampler, threads=t, form=prep.form)
    return RunResources(threads=t, memory=need, gpu=uses_gpu(sampler))
