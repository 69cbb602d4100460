"""The one sampler interface (as dimod's) and its result type.

Every sampler implements ``sample(qubo, *, seed=None, **options) -> SampleSet``;
unknown options raise :class:`~qslack.exceptions.OptionError`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from qslack.exceptions import OptionError, ValidationError
from qslack.model.bits import X_to_index, index_to_X
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO

__all__ = ["SampleSet", "Sampler"]


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Distinct samples with their energies and counts.

    Parameters
    ----------
    X : numpy.ndarray
        ``(k, n)`` uint8 samples; column ``j`` is ``var_names[j]``.
    energy : numpy.ndarray
        ``(k,)`` QUBO energies.
    counts : numpy.ndarray
        ``(k,)`` occurrences (shots) of each row.
    var_names : tuple of str
    info : dict
        What ran: backend, shots, seed, job ids, timings, the counted budget
        (``circuit_evals``, ``shots_total``) — JSON-able metadata only.
    columns : dict
        Extra per-row columns (``objective``, ``max_violation``, ``feasible``
        after :meth:`evaluate`).
    probabilities : numpy.ndarray, optional
        The final state's distribution over all ``2**n`` basis states
        (statevector backends; memory only, never stored), so feasible and
        optimal probability are exact rather than estimated from shots.
    params : dict, optional
        The sampler's variational parameters (QAOA angles) that produced the
        samples: what a warm-started next call takes as ``init``.
    exact : bool
        The lowest-energy row is a proven minimiser of the QUBO (brute force,
        or CP-SAT with a proof and exact coefficients).

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, 0.0], [0.0, -1.0]]))
    >>> ss = SampleSet.from_samples(np.array([[1, 0], [0, 1], [0, 1]]), q)
    >>> ss.X.tolist(), ss.counts.tolist(), ss.energy.tolist()
    ([[0, 1], [1, 0]], [2, 1], [-1.0, 1.0])
    """

    X: np.ndarray
    energy: np.ndarray
    counts: np.ndarray
    var_names: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    probabilities: np.ndarray | None = field(default=None, repr=False)
    params: Mapping[str, Any] | None = None
    exact: bool = False

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.uint8)
        if X.ndim != 2:
            raise ValidationError(f"X must be 2-D, got shape {X.shape}")
        k = X.shape[0]
        energy = np.asarray(self.energy, dtype=np.float64).reshape(-1)
        counts = np.asarray(self.counts, dtype=np.int64).reshape(-1)
        if energy.shape != (k,) or counts.shape != (k,):
            raise ValidationError("energy and counts must have one entry per sample")
        if len(self.var_names) != X.shape[1]:
            raise ValidationError(f"{len(self.var_names)} var_names for {X.shape[1]} columns")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "var_names", tuple(self.var_names))

    # -------------------------------------------------------------- build
    @classmethod
    def from_samples(
        cls,
        X: np.ndarray,
        qubo: QUBO,
        *,
        counts: np.ndarray | None = None,
        info: dict[str, Any] | None = None,
        aggregate: bool = True,
        **fields: Any,
    ) -> SampleSet:
        """Samples (one row per shot, or with ``counts``) with energies from ``qubo``.

        Rows are aggregated (unique, counts summed) and sorted by energy.
        ``fields`` sets ``probabilities``, ``params`` or ``exact``.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.uint8))
        if X.shape[1] != qubo.n_vars:
            raise ValidationError(f"samples have {X.shape[1]} columns, the QUBO {qubo.n_vars}")
        counts = np.ones(X.shape[0], dtype=np.int64) if counts is None else np.asarray(counts)
        energy = qubo.energies(X) if X.shape[0] else np.zeros(0)
        ss = cls(X, energy, counts, qubo.var_names, dict(info or {}), **fields)
        return ss.aggregate() if aggregate else ss

    @classmethod
    def from_indices(
        cls,
        index: np.ndarray,
        counts: np.ndarray,
        qubo: QUBO,
        *,
        info: dict[str, Any] | None = None,
        diagonal: np.ndarray | None = None,
        **fields: Any,
    ) -> SampleSet:
        """Samples given as basis-state indices with counts (energies from the diagonal if given).

        ``fields`` sets ``probabilities``, ``params`` or ``exact``.
        """
        index = np.asarray(index, dtype=np.int64)
        X = index_to_X(index, qubo.n_vars)
        energy = diagonal[index] if diagonal is not None else qubo.energies(X)
        ss = cls(X, energy, counts, qubo.var_names, dict(info or {}), **fields)
        return ss.aggregate()

    # -------------------------------------------------------------- views
    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_vars(self) -> int:
        """Number of variables."""
        return int(self.X.shape[1])

    @property
    def n_shots(self) -> int:
        """Total number of shots (sum of counts)."""
        return int(self.counts.sum())

    def aggregate(self) -> SampleSet:
        """Merge equal rows (counts summed) and sort by energy then index."""
        if len(self) == 0:
            return self
        if self.n_vars <= 62:
            key = X_to_index(self.X)
            uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        else:
            _, first, inv = np.unique(self.X, axis=0, return_index=True, return_inverse=True)
            uniq = first
        counts = np.bincount(inv.reshape(-1), weights=self.counts, minlength=len(uniq)).astype(np.int64)
        order = np.lexsort((np.arange(len(first)), self.energy[first]))
        sel = first[order]
        cols = {k: np.asarray(v)[sel] for k, v in self.columns.items()}
        return replace(self, X=self.X[sel], energy=self.energy[sel], counts=counts[order], columns=cols)

    def lowest(self, k: int = 1) -> SampleSet:
        """The ``k`` lowest-energy rows (after aggregation)."""
        ss = self.aggregate()
        idx = np.arange(min(k, len(ss)))
        cols = {c: np.asarray(v)[idx] for c, v in ss.columns.items()}
        return replace(ss, X=ss.X[idx], energy=ss.energy[idx], counts=ss.counts[idx], columns=cols)

    def first(self) -> tuple[np.ndarray, float]:
        """``(x, energy)`` of the lowest-energy sample."""
        ss = self.lowest(1)
        if not len(ss):
            raise ValidationError("empty SampleSet")
        return ss.X[0], float(ss.energy[0])

    def evaluate(self, program: BinaryProgram, tol: float = 1e-9) -> SampleSet:
        """A copy with ``objective`` (native sense), ``max_violation`` and ``feasible`` columns.

        Samples are matched to the program's variables by name.
        """
        X = self.X
        if tuple(program.var_names) != self.var_names:
            pos = {v: j for j, v in enumerate(self.var_names)}
            missing = [v for v in program.var_names if v not in pos]
            if missing:
                raise ValidationError(f"samples lack variable {missing[0]!r} of program {program.name!r}")
            X = X[:, [pos[v] for v in program.var_names]]
        viol = program.max_violation(X) if len(X) else np.zeros(0)
        cols = dict(self.columns)
        cols["objective"] = np.asarray(program.native_objective(X)) if len(X) else np.zeros(0)
        cols["max_violation"] = viol
        cols["feasible"] = viol <= tol
        return replace(self, columns=cols)

    def feasible_share(self) -> float:
        """Share of shots that are feasible (needs :meth:`evaluate` first)."""
        if "feasible" not in self.columns:
            raise ValidationError("call evaluate(program) first")
        return float(self.counts[self.columns["feasible"]].sum() / max(self.n_shots, 1))

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-friendly rows (bitstrings as lists of ints)."""
        out = []
        for r in range(len(self)):
            row = {"x": self.X[r].tolist(), "energy": float(self.energy[r]), "count": int(self.counts[r])}
            for k, v in self.columns.items():
                val = np.asarray(v)[r]
                row[k] = val.item() if hasattr(val, "item") else val
            out.append(row)
        return out


class Sampler(abc.ABC):
    """Base class: ``sample(qubo, *, seed=None, **options) -> SampleSet``.

    Subclasses list the options ``sample`` accepts in ``parameters``; the
    constructor's options are validated by :meth:`_check_options`.
    """

    #: options accepted by :meth:`sample`, name -> description
    parameters: ClassVar[dict[str, str]] = {}
    #: static properties (name, max_vars, exact ...)
    properties: ClassVar[dict[str, Any]] = {}
    #: whether :meth:`sample` takes ``init=`` (the previous SampleSet's ``params``)
    accepts_init: ClassVar[bool] = False
    #: whether the driver passes ``warm_start=`` the run's incumbent (a recentred warm ansatz)
    recentre: bool = False

    def config(self) -> dict[str, Any]:
        """The effective configuration (what ran, shots included): how the store identifies it.

        Subclasses extend it with every setting that changes their samples.
        """
        return {"sampler": str(self.properties.get("name", type(self).__name__))}

    def check_fits(self, n_vars: int) -> None:  # noqa: B027 - a hook with a sensible default
        """Raise :class:`~qslack.exceptions.ResourceError` (one line, in words) if a QUBO of
        ``n_vars`` variables cannot be sampled here; nothing is allocated.  Default: anything fits."""

    @abc.abstractmethod
    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Sample low-energy states of ``qubo``."""

    def _check_options(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - set(self.parameters)
        if unknown:
            raise OptionError(
                f"{type(self).__name__}.sample got unknown option(s) {sorted(unknown)}; "
                f"accepted: {sorted(self.parameters)}"
            )

    @staticmethod
    def _timer() -> float:
        return time.perf_counter()
