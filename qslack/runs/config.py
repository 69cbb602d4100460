"""What defines a run: :class:`SolveConfig`, its validation, its sampler and its identity.

Everything is checked *before* a run is recorded (:meth:`SolveConfig.validate`,
then :func:`make_sampler`), so a bad option never leaves a run behind.

Fields whose value is ``None`` (or the string ``"auto"``) take the default of
the instance's problem class (:func:`defaults_for`); :meth:`SolveConfig.resolve`
fills them in place, so the stored configuration spells out what ran.  The
QAOA ansatz (mixer, initial state, warm start, schedule) is built from the
program: :func:`ansatz_options` gives the sampler its one-hot groups and
warm-start vector, :func:`enforced_rows` the rows an XY mixer keeps (left out
of the QUBO by :class:`~qslack.model.lagrangian.LagrangianForm`).
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

__all__ = [
    "AUTO_FIELDS",
    "LEGACY",
    "RUN_KEY_VERSION",
    "SAMPLERS",
    "SolveConfig",
    "ansatz_options",
    "defaults_for",
    "enforced_rows",
    "make_sampler",
    "run_key",
]

SAMPLERS = ("qaoa", "exact", "cpsat", "random", "sa", "tabu")
"""Sampler names a configuration may use (hardware profiles choose their own)."""

FLOAT32_DIAG_QUBITS = 28
"""From this many variables the statevector backend keeps the cost diagonal in float32 (stored minus
its shift; a phase error ~1e-6 rad, far below shot noise): 28-29 qubits then fit in 24 GiB."""

RUN_KEY_VERSION = 2
"""Bumped when what a run computes for the same configuration changes (old runs are not reused)."""

_ENCODINGS = ("position", "edge")
_MIXERS = ("x", "xy-ring", "xy-complete", "warm")
_INITS = ("uniform", "one-hot", "warm")
_WARM = ("lp", "greedy", "incumbent")
_SCHEDULES = ("default", "lr")
_PARAMS = ("angles", "ramp")
_OPTIMIZERS = ("cobyla", "nelder-mead", "l-bfgs-b", "powell", "none")

LEGACY: dict[str, Any] = {
    "method": "subgradient",
    "p": 2,
    "qaoa_maxiter": 60,
    "rho": 1.0,
    "mixer": "x",
    "init": "uniform",
    "warm_start": None,
    "eps": 0.25,
    "onehot": None,
    "schedule": "default",
    "params": "angles",
    "optimizer": "cobyla",
    "lr_slopes": None,
    "options": {},
}
"""What every per-problem field meant before per-problem defaults existed (a stored
configuration that lacks a field, and the fallback of :func:`defaults_for`)."""

AUTO_FIELDS = tuple(LEGACY)
"""Fields that ``None`` / ``"auto"`` resolve per problem class."""

_LR_FIXED = {"schedule": "lr", "params": "angles", "optimizer": "none", "qaoa_maxiter": 0, "rho": 1.0}
_PROBLEM_DEFAULTS: dict[str, dict[str, Any]] = {
    # measured in reports/quantum-targets.md (scripts/suites/quantum-targets-*.toml)
    "mdkp": {
        "method": "margin",
        "mixer": "warm",
        "init": "warm",
        "warm_start": "incumbent",
        "eps": 0.25,
        "p": 8,
        "lr_slopes": [1.6, 0.2],
        **_LR_FIXED,
    },
    "tsp/position": {
        "method": "margin",
        "mixer": "xy-ring",
        "init": "one-hot",
        "onehot": "col",
        "p": 10,
        "lr_slopes": [0.6, 0.3],
        **_LR_FIXED,
    },
    "mis": {
        "method": "margin",
        "mixer": "warm",
        "init": "warm",
        "warm_start": "incumbent",
        "eps": 0.1,
        "p": 4,
        "lr_slopes": [1.2, 0.3],
        **_LR_FIXED,
    },
}


def defaults_for(problem: str, encoding: str = "position") -> dict[str, Any]:
    """The default configuration of ``qslack solve`` for a problem class.

    Every key of :data:`LEGACY` is given; a class without measured defaults
    gets the legacy ones.

    Examples
    --------
    >>> sorted(defaults_for("program")) == sorted(LEGACY)
    True
    """
    out = dict(LEGACY)
    out.update(_PROBLEM_DEFAULTS.get(f"{problem}/{encoding}", _PROBLEM_DEFAULTS.get(problem, {})))
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in out.items()}


def _problem_of(cfg: SolveConfig) -> str:
    """The problem class of ``cfg.instance`` (``gen:`` specs without loading anything)."""
    if cfg.problem is not None:
        return cfg.problem
    if cfg.instance.startswith("gen:"):
        from qslack.problems.generators import parse_spec

        return parse_spec(cfg.instance)[0]
    from qslack.problems.catalog import load_instance

    return load_instance(cfg.instance, fmt=cfg.fmt, take=cfg.take).problem


def _is_num(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float))


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
    method: str | None = "subgradient"
    take: int | None = None
    encoding: str = "position"
    fmt: str | None = None
    problem: str | None = None
    sampler: str = "qaoa"
    backend: str = "statevector"
    p: int | None = 2
    shots: int = 1000
    qaoa_maxiter: int | None = 60
    iters: int = 15
    rho: float | None = 1.0
    seed: int = 0
    time_limit: float | None = None
    options: dict[str, Any] | None = field(default_factory=dict)
    reference_time_limit: float = 30.0
    threads: int | None = None
    profile: str | None = None
    optimize_on: str = "statevector"
    mixer: str | None = "x"
    init: str | None = "uniform"
    warm_start: str | None = None
    eps: float | None = 0.25
    onehot: str | None = None
    schedule: str | None = "default"
    params: str | None = "angles"
    optimizer: str | None = "cobyla"
    lr_slopes: list[float] | None = None
    sampler_time_limit: float | None = None

    def resolve(self) -> SolveConfig:
        """Fill every field left ``None`` / ``"auto"`` from :func:`defaults_for` (in place); returns self.

        A configuration with nothing left to fill is returned as it is, without
        looking at the instance.  ``warm_start`` and ``onehot`` may stay None
        when the ansatz does not use them.

        Examples
        --------
        >>> cfg = SolveConfig("gen:mdkp?n=8&m=2&seed=1", p=None, mixer="auto").resolve()
        >>> cfg.p == defaults_for("mdkp")["p"], cfg.mixer == defaults_for("mdkp")["mixer"]
        (True, True)
        """
        auto = [k for k in AUTO_FIELDS if getattr(self, k) is None or getattr(self, k) == "auto"]
        optional = {"warm_start", "onehot", "lr_slopes"}
        if not any(k not in optional or getattr(self, k) == "auto" for k in auto):
            return self
        d = defaults_for(_problem_of(self), self.encoding)
        given = {k for k in AUTO_FIELDS if k not in auto}
        if "mixer" in given and "init" not in given:  # an explicit mixer brings its own initial state
            d["init"] = {"x": "uniform", "warm": "warm"}.get(str(self.mixer), "one-hot")
        if "params" in given and "schedule" not in given:
            d["schedule"] = "lr" if self.params == "ramp" else d["schedule"]
        if "method" in given and "options" not in given and self.method != d["method"]:
            d["options"] = {}  # the default options belong to the default method
        if "schedule" in given and "params" not in given and self.schedule != "lr":
            d["params"] = "angles"
        # an optimiser budget asks for an optimiser, and an optimiser for a budget
        if "qaoa_maxiter" in given and "optimizer" not in given and (self.qaoa_maxiter or 0) > 0:
            d["optimizer"] = d["optimizer"] if d["optimizer"] != "none" else LEGACY["optimizer"]
        if "optimizer" in given and "qaoa_maxiter" not in given and self.optimizer != "none":
            d["qaoa_maxiter"] = d["qaoa_maxiter"] or LEGACY["qaoa_maxiter"]
        for k in auto:
            setattr(self, k, d[k])
        return self

    def validate(self) -> SolveConfig:
        """Resolve the per-problem defaults, then check every value (one-line errors naming the
        option and the value); returns self."""
        self.resolve()
        get_method(self.method)
        if self.sampler not in SAMPLERS:
            raise OptionError(f"unknown sampler {self.sampler!r}; choose from {', '.join(SAMPLERS)}")
        if self.encoding not in _ENCODINGS:
            raise OptionError(f"unknown encoding {self.encoding!r}; choose from {', '.join(_ENCODINGS)}")
        checks = (
            ("--iters", self.iters, 1),
            ("--p", self.p, 0),
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
        for name, value, choices in (
            ("--mixer", self.mixer, _MIXERS),
            ("--init", self.init, _INITS),
            ("--schedule", self.schedule, _SCHEDULES),
            ("--params", self.params, _PARAMS),
            ("--optimizer", self.optimizer, _OPTIMIZERS),
        ):
            if value not in choices:
                raise OptionError(f"unknown {name[2:]} {value!r}; choose from {', '.join(choices)}")
        if self.warm_start is not None and self.warm_start not in _WARM:
            raise OptionError(f"unknown warm-start {self.warm_start!r}; choose from {', '.join(_WARM)}")
        if not isinstance(self.eps, (int, float)) or not 0.0 <= self.eps <= 0.5:
            raise ValidationError(f"--eps must be a number in [0, 0.5], got {self.eps!r}")
        if self.lr_slopes is not None:
            v = self.lr_slopes
            if (
                not isinstance(v, (list, tuple))
                or len(v) != 2
                or not all(_is_num(a) and math.isfinite(a) for a in v)
            ):
                raise ValidationError(f"--lr-slopes must be two numbers DGAMMA,DBETA, got {v!r}")
            self.lr_slopes = [float(v[0]), float(v[1])]
        if self.params == "ramp" and self.schedule != "lr":
            raise OptionError("--params ramp optimises the LR-QAOA slopes: it needs --schedule lr")
        if (self.mixer == "warm" or self.init == "warm") and self.warm_start is None:
            raise OptionError("--mixer warm and --init warm need --warm-start lp, greedy or incumbent")
        if self.sampler_time_limit is not None and (
            not isinstance(self.sampler_time_limit, (int, float))
            or not math.isfinite(self.sampler_time_limit)
            or self.sampler_time_limit <= 0
        ):
            raise ValidationError(
                f"sampler_time_limit must be a positive number of seconds, got {self.sampler_time_limit!r}"
            )
        if self.sampler_time_limit is not None and self.sampler not in ("sa", "tabu"):
            raise OptionError(
                "sampler_time_limit is the SA / tabu wall-time budget: use it with --sampler sa|tabu"
            )
        return self

    @property
    def structured_ansatz(self) -> bool:
        """Whether the QAOA ansatz is other than the X mixer from ``|+>^n``."""
        return self.mixer != "x" or self.init != "uniform"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the run)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SolveConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error naming them).

        A key the stored configuration lacks (one stored before the field
        existed) takes its :data:`LEGACY` value: what that run really ran.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValidationError(f"unknown run configuration key(s) {sorted(unknown)}")
        legacy = {k: v for k, v in LEGACY.items() if k not in d}
        return cls(**{**legacy, **d})


def _program(cfg: SolveConfig) -> Any:
    from qslack.problems.catalog import build_program, load_instance

    loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
    return build_program(loaded, encoding=cfg.encoding)


def _groups(cfg: SolveConfig, program: Any) -> list[Any]:
    from qslack.model.onehot import one_hot_groups

    names = None if cfg.onehot in (None, "all") else [g.strip() for g in cfg.onehot.split(",")]
    groups = one_hot_groups(program, names)
    if not groups:
        what = "any constraint group" if names is None else f"group(s) {', '.join(names)}"
        raise OptionError(
            f"mixer {cfg.mixer!r} / init {cfg.init!r} need one-hot rows (sum x = 1); program "
            f"{program.name!r} has none in {what}"
        )
    return groups


def enforced_rows(cfg: SolveConfig, program: Any) -> list[int] | None:
    """Rows the ansatz keeps exactly (the one-hot rows of an XY mixer), or None.

    Examples
    --------
    >>> from qslack.problems.catalog import build_program, load_instance
    >>> prog = build_program(load_instance("five_d"))
    >>> cfg = SolveConfig("five_d", mixer="xy-ring", init="one-hot", onehot="col")
    >>> [prog.con_names[k] for k in enforced_rows(cfg, prog)]
    ['pos_1', 'pos_2', 'pos_3', 'pos_4']
    >>> enforced_rows(SolveConfig("five_d"), prog) is None
    True
    """
    if cfg.sampler != "qaoa" and cfg.profile is None:
        return None
    if not str(cfg.mixer).startswith("xy") or cfg.method == "slack-penalty":
        return None
    return [g.row for g in _groups(cfg, program)]


def make_form(cfg: SolveConfig, program: Any) -> Any:
    """The run's :class:`~qslack.model.lagrangian.LagrangianForm`: ``program`` with the rows the
    ansatz keeps exactly (:func:`enforced_rows`) left out of ``H``.

    The one place a run's form is built (the driver's :func:`~qslack.runs.prepare.prepare` and
    a Dask worker's :func:`~qslack.runs.remote.run_task` both call it), so a sweep samples the
    same Hamiltonian as ``qslack solve``.

    Examples
    --------
    >>> from qslack.problems.catalog import build_program, load_instance
    >>> prog = build_program(load_instance("five_d"))
    >>> cfg = SolveConfig("five_d", mixer="xy-ring", init="one-hot", onehot="col")
    >>> int(make_form(cfg, prog).enforced.sum())
    4
    """
    from qslack.model.lagrangian import LagrangianForm

    return LagrangianForm(program, enforced=enforced_rows(cfg, program))


def ansatz_options(cfg: SolveConfig, program: Any = None) -> dict[str, Any]:
    """``QAOASampler`` ansatz keywords (mixer, initial state, groups, warm start, eps) of ``cfg``.

    Empty for the plain ansatz (no program needed); otherwise ``program``
    (built from ``cfg`` when not given) supplies the one-hot groups and the
    warm-start vector (:func:`qslack.model.relax.lp_relaxation` or
    :func:`~qslack.model.relax.greedy_solution`); ``incumbent`` starts from the
    LP point and recentres every later step on the run's best feasible solution
    (``recentre=True``).

    Examples
    --------
    >>> ansatz_options(SolveConfig("mknap1#1"))
    {}
    >>> kw = ansatz_options(SolveConfig("mknap1#1", mixer="warm", init="warm", warm_start="greedy", eps=0.1))
    >>> kw["mixer"], kw["warm_start"].tolist()
    ('warm', [0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    """
    if not cfg.structured_ansatz:
        return {}
    program = _program(cfg) if program is None else program
    kw: dict[str, Any] = {"mixer": cfg.mixer, "initial_state": cfg.init, "eps": float(cfg.eps)}
    if str(cfg.mixer).startswith("xy") or cfg.init == "one-hot":
        kw["groups"] = [list(g.variables) for g in _groups(cfg, program)]
    if cfg.mixer == "warm" or cfg.init == "warm":
        from qslack.model.relax import greedy_solution, lp_relaxation

        kw["warm_start"] = (
            greedy_solution(program).astype(float)
            if cfg.warm_start == "greedy"
            else lp_relaxation(program)[1]
        )
        if cfg.warm_start == "incumbent":
            kw["recentre"] = True
    if cfg.method == "slack-penalty" and program.n_cons and not program.is_equality.all():
        raise OptionError(
            "slack-penalty samples the slack QUBO (slack bits beyond the program's variables): "
            "run it with --mixer x --init uniform"
        )
    return kw


def make_sampler(cfg: SolveConfig, *, service: Any = None, program: Any = None) -> Sampler:
    """The sampler a configuration names (a hardware profile, when given, decides the backend).

    ``service`` replaces IBM's service (tests pass a fake one); ``program``
    (the run's program) supplies a structured ansatz its groups and warm
    start (built from ``cfg`` when not given).  Fields left to their
    per-problem default are resolved first.
    """
    cfg.resolve()
    qaoa_kw: dict[str, Any] = {}
    if cfg.sampler == "qaoa" or cfg.profile is not None:
        program = _program(cfg) if program is None else program  # built once: ansatz, size, dtype
        qaoa_kw = ansatz_options(cfg, program)
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
                optimizer=cfg.optimizer,
                schedule=cfg.schedule,
                params=cfg.params,
                ramp=cfg.lr_slopes,
                **qaoa_kw,
            )
        from qslack.hardware.sampler import IBMSampler

        ansatz = None
        if qaoa_kw:
            from qslack.samplers.qaoa.ansatz import Ansatz

            ansatz = Ansatz.build(
                program.n_vars,
                mixer=qaoa_kw["mixer"],
                initial_state=qaoa_kw["initial_state"],
                groups=qaoa_kw.get("groups"),
                warm_start=qaoa_kw.get("warm_start"),
                eps=qaoa_kw["eps"],
            )
        return IBMSampler(
            prof,
            service=service,
            p=cfg.p,
            maxiter=cfg.qaoa_maxiter,
            optimize_on=cfg.optimize_on,
            ansatz=ansatz,
            recentre=bool(qaoa_kw.get("recentre", False)),
        )
    if cfg.sampler == "qaoa":
        from qslack.samplers.qaoa.sampler import QAOASampler

        diag_dtype = "float64"
        if cfg.backend == "statevector":
            diag_dtype = "float32" if program.n_vars >= FLOAT32_DIAG_QUBITS else "float64"
        return QAOASampler(
            p=cfg.p,
            backend=cfg.backend,
            diag_dtype=diag_dtype,
            shots=cfg.shots,
            maxiter=cfg.qaoa_maxiter,
            threads=cfg.threads,
            optimizer=cfg.optimizer,
            schedule=cfg.schedule,
            params=cfg.params,
            ramp=cfg.lr_slopes,
            **qaoa_kw,
        )
    if cfg.sampler == "exact":
        return ExactSampler(n_lowest=16)
    if cfg.sampler == "cpsat":
        from qslack.samplers.ortools import CPSATSampler

        return CPSATSampler()
    if cfg.sampler == "random":
        return RandomSampler(shots=cfg.shots)
    if cfg.sampler == "sa":  # as many reads as QAOA has shots: equal samples (+ a wall-time budget)
        from qslack.samplers.dimod import SASampler

        return SASampler(num_reads=cfg.shots, time_limit=cfg.sampler_time_limit)
    if cfg.sampler == "tabu":
        from qslack.samplers.dimod import TabuSampler

        return TabuSampler(num_reads=cfg.shots, time_limit=cfg.sampler_time_limit)
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
