"""Uniform random bitstrings: the baseline any quantum sampler must beat."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from qslack._rng import normalize_seed
from qslack.exceptions import ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """``shots`` uniform random bitstrings.

    Examples
    --------
    >>> q = QUBO(np.eye(3))
    >>> RandomSampler(shots=100).sample(q, seed=1).n_shots
    100
    """

    parameters: ClassVar[dict[str, str]] = {"shots": "number of bitstrings"}
    properties: ClassVar[dict[str, Any]] = {"name": "random", "exact": False}

    def __init__(self, shots: int = 1000) -> None:
        if isinstance(shots, bool) or int(shots) < 1:
            raise ValidationError(f"shots must be an integer >= 1, got {shots!r}")
        self.shots = int(shots)

    def config(self) -> dict[str, Any]:
        """``{"sampler": "random", "shots": ...}``."""
        return {"sampler": "random", "shots": self.shots}

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Draw ``shots`` uniform bitstrings with ``numpy.random.default_rng(seed)``."""
        self._check_options(options)
        shots = int(options.get("shots", self.shots))
        seed = normalize_seed(seed)
        t0 = self._timer()
        rng = np.random.default_rng(seed)
        X = rng.integers(0, 2, size=(shots, qubo.n_vars), dtype=np.uint8)
        info = {"backend": "random", "shots": shots, "seed": seed, "circuit_evals": 0, "shots_total": shots}
        ss = SampleSet.from_samples(X, qubo, info=info)
        ss.info["wall_s"] = self._timer() - t0
        return ss
