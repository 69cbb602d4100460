"""What defines a run: :class:`SolveConfig`, its validation, its sampler and its identity.

Everything is checked *before* a run is recorded (:meth:`SolveConfig.validate`,
then :func:`make_sampler`), so a bad option never leaves a run behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from qslack.dual.methods import get_method
from qslack.exceptions import OptionError, ValidationError
from qslack.hardware.profiles import load_profile
from qslack.samplers.base import Sampler
from qslack.samplers.exact import ExactSampler
from qslack.samplers.random import RandomSampler

__all__ = ["RUN_KEY_VERSION", "SAMPLERS", "SolveConfig", "make_sampler", "run_key"]

SAMPLERS = ("qaoa", "exact", "cpsat", "random", "sa", "tabu")
"""Sampler names a configuration may use (hardware profiles choose their own)."""

RUN_KEY_VERSION = 2
"""Bumped when what a run computes for the same configuration changes (old runs are not reused)."""

_ENCODINGS = ("position", "edge")


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int)


@dataclass
class SolveConfig:
    """Everything that defines a solve (stored with the run).

    ``iters`` is the number of outer (dual) steps asked for; ``qaoa_maxiter``
    the angle optimiser's evaluation budget per step; ``rho`` scales the
    default quadratic weights (:func:`qslack.dual.default_multipliers`).
    """

    instance: str
    method: str = "subgradient"
    take: int | None = None
    encoding: str = "position"
    fmt: str | None = None
    problem: str | None = None
    sampler: str = "qaoa"
    backend: str = "statevector"
    p: int = 2
    shots: int = 1000
    qaoa_maxiter: int = 60
    iters: int = 15
    rho: float = 1.0
    seed: int = 0
    time_limit: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reference_time_limit: float = 30.0
    threads: int | None = None
    profile: str | None = None
    optimize_on: str = "statevector"

    def validate(self) -> SolveConfig:
        """Check every value (one-line errors naming the option and the value); returns self."""
        get_method(self.method)
        if self.sampler not in SAMPLERS:
            raise OptionError(f"unknown sampler {self.sampler!r}; choose from {', '.join(SAMPLERS)}")
        if self.encoding not in _ENCODINGS:
            raise OptionError(f"unknown encoding {self.encoding!r}; choose from {', '.join(_ENCODINGS)}")
        checks = (
            ("--iters", self.iters, 1),
            ("--p", self.p, 1),
            ("--shots", self.shots, 1),
            ("--qaoa-maxiter", self.qaoa_maxiter, 0),
            ("--seed", self.seed, 0),
        )
        for name, value, low in checks:
            if not _is_int(value) or value < low:
                raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.take is not None and (not _is_int(self.take) or self.take < 1):
            raise ValidationError(f"--take must be an integer >= 1, got {self.take!r}")
        if self.threads is not None and (not _is_int(self.threads) or self.threads < 1):
            raise ValidationError(f"--threads must be an integer >= 1, got {self.threads!r}")
        if not isinstance(self.rho, (int, float)) or not math.isfinite(self.rho) or self.rho < 0:
            raise ValidationError(f"--rho must be a finite number >= 0, got {self.rho!r}")
        for name, value in (
            ("--time-limit", self.time_limit),
            ("reference_time_limit", self.reference_time_limit),
        ):
            if value is not None and (
                not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
            ):
                raise ValidationError(f"{name} must be a positive number of seconds, got {value!r}")
        if not isinstance(self.options, dict):
            raise ValidationError(f"method options must be a table of KEY=VALUE, got {self.options!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the run)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SolveConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error naming them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValidationError(f"unknown run configuration key(s) {sorted(unknown)}")
        return cls(**d)


def make_sampler(cfg: SolveConfig, *, service: Any = None) -> Sampler:
    """The sampler a configuration names (a hardware profile, when given, decides the backend).

    ``service`` replaces IBM's service (tests pass a fake one).
    """
    if cfg.profile is not None:
        prof = load_profile(cfg.profile)
        if prof.kind.startswith("aer"):
            from qslack.samplers.qaoa.sampler import QAOASampler

            return QAOASampler(
                p=cfg.p,
                backend="mps" if prof.kind == "aer-mps" else "aer",  # MPS never asks for 2**n probabilities
                shots=prof.shots,
                maxiter=cfg.qaoa_maxiter,
                device="GPU" if prof.kind == "aer-gpu" else "CPU",
            )
        from qslack.hardware.sampler import IBMSampler

        return IBMSampler(
            prof, service=service, p=cfg.p, maxiter=cfg.qaoa_maxiter, optimize_on=cfg.optimize_on
        )
    if cfg.sampler == "qaoa":
        from qslack.samplers.qaoa.sampler import QAOASampler

        return QAOASampler(
            p=cfg.p, backend=cfg.backend, shots=cfg.shots, maxiter=cfg.qaoa_maxiter, threads=cfg.threads
        )
    if cfg.sampler == "exact":
        return ExactSampler(n_lowest=16)
    if cfg.sampler == "cpsat":
        from qslack.samplers.ortools import CPSATSampler

        return CPSATSampler()
    if cfg.sampler == "random":
        return RandomSampler(shots=cfg.shots)
    if cfg.sampler == "sa":  # as many reads as QAOA has shots: equal samples
        from qslack.samplers.dimod import SASampler

        return SASampler(num_reads=cfg.shots)
    if cfg.sampler == "tabu":
        from qslack.samplers.dimod import TabuSampler

        return TabuSampler(num_reads=cfg.shots)
    raise OptionError(f"unknown sampler {cfg.sampler!r}; choose from {', '.join(SAMPLERS)}")


def run_key(program_hash: str, cfg: SolveConfig, sampler_config: dict[str, Any]) -> str:
    """Identity of a run: program, method, canonical options, rho, steps, the sampler as it runs, seed."""
    body = json.dumps(
        {
            "version": RUN_KEY_VERSION,
            "program": program_hash,
            "method": cfg.method,
            "options": cfg.options,
            "rho": cfg.rho,
            "iters": cfg.iters,
            "sampler": sampler_config,
            "seed": cfg.seed,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:24]
