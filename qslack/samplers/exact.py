"""Brute force over all ``2**n`` states: the test oracle for everything else."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from qslack._rng import normalize_seed
from qslack._sizes import format_count
from qslack.exceptions import ResourceError
from qslack.model.bits import quadratic_diagonal
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["ExactSampler"]


def _count(n: int) -> str:
    return format_count(n)

MAX_VARS = 26


class ExactSampler(Sampler):
    """Exhaustive enumeration (vectorised, chunked), up to 26 variables.

    Parameters
    ----------
    n_lowest : int
        How many of the lowest-energy states to return (ties at the ground
        energy beyond ``n_lowest`` are counted in ``info["n_ground"]``).
    chunk_bits : int
        States are enumerated in chunks of ``2**chunk_bits``.

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]))
    >>> ss = ExactSampler().sample(q)
    >>> ss.X[0].tolist(), float(ss.energy[0])
    ([1, 1], -1.0)
    """

    parameters: ClassVar[dict[str, str]] = {"n_lowest": "number of lowest states returned"}
    properties: ClassVar[dict[str, Any]] = {"name": "exact", "max_vars": MAX_VARS, "exact": True}

    def __init__(self, n_lowest: int = 8, chunk_bits: int = 22) -> None:
        self.n_lowest = int(n_lowest)
        self.chunk_bits = int(chunk_bits)

    def config(self) -> dict[str, Any]:
        """``{"sampler": "exact", "n_lowest": ...}``."""
        return {"sampler": "exact", "n_lowest": self.n_lowest}

    def check_fits(self, n_vars: int) -> None:
        """At most :data:`MAX_VARS` variables."""
        if n_vars > MAX_VARS:
            raise ResourceError(
                f"{_count(n_vars)} qubits: brute force enumerates at most {MAX_VARS} variables"
            )

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Return the ``n_lowest`` states of lowest energy (``counts`` = 1 each)."""
        self._check_options(options)
        k_keep = int(options.get("n_lowest", self.n_lowest))
        n = qubo.n_vars
        if n > MAX_VARS:
            raise ResourceError(f"ExactSampler enumerates at most {MAX_VARS} variables; this QUBO has {n}")
        from qslack.memory import estimate_bytes, require

        require(estimate_bytes(n, "exact"), f"ExactSampler on {n} variables")
        t0 = self._timer()
        best_idx = np.zeros(0, dtype=np.int64)
        best_e = np.zeros(0)
        ground = np.inf
        n_ground = 0
        for base, energies in self._chunks(qubo):
            e_min = float(energies.min())
            tol = 1e-9 * max(1.0, abs(e_min))
            if not np.isfinite(ground) or e_min < ground - tol:
                # a new ground energy: earlier chunks hold no ties of it, except within tol
                n_ground = int(np.count_nonzero(best_e <= e_min + tol)) if best_e.size else 0
                ground = e_min
            n_ground += int(np.count_nonzero(energies <= ground + tol))
            kk = min(k_keep, energies.size)
            part = np.argpartition(energies, kk - 1)[:kk]
            best_idx = np.concatenate([best_idx, base + part.astype(np.int64)])
            best_e = np.concatenate([best_e, energies[part]])
            keep = np.lexsort((best_idx, best_e))[:k_keep]
            best_idx, best_e = best_idx[keep], best_e[keep]
        info = {
            "backend": "exact",
            "exact": True,
            "ground_energy": ground,
            "n_ground": n_ground,
            "seed": normalize_seed(seed),
            "circuit_evals": 0,
            "shots_total": 0,
            "wall_s": self._timer() - t0,
        }
        counts = np.ones(best_idx.size, dtype=np.int64)
        return SampleSet.from_indices(best_idx, counts, qubo, info=info, exact=True)

    def _chunks(self, qubo: QUBO):  # type: ignore[no-untyped-def]
        n = qubo.n_vars
        if n <= self.chunk_bits:
            yield 0, np.asarray(qubo.diagonal())
            return
        L = self.chunk_bits
        Q = qubo.dense()
        c = np.diag(Q).copy()
        U = np.triu(Q, 1)
        U_ll, U_lh, U_hh = U[:L, :L], U[:L, L:], U[L:, L:]
        c_l, c_h = c[:L], c[L:]
        out = np.empty(1 << L)
        for hi in range(1 << (n - L)):
            xh = np.array([(hi >> j) & 1 for j in range(n - L)], dtype=np.float64)
            const = qubo.offset + xh @ U_hh @ xh + c_h @ xh
            quadratic_diagonal(U_ll, c_l + U_lh @ xh, const, out=out)
            yield hi << L, out
