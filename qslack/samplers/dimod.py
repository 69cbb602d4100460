"""dimod samplers as qslack samplers, and D-Wave's classical QUBO heuristics (SA, tabu) as baselines.

- :class:`DimodSampler` wraps any ``dimod.Sampler`` (``dimod.ExactSolver``,
  ``dwave.samplers.SteepestDescentSolver``, a Leap sampler ...): the QUBO goes
  in as a ``BinaryQuadraticModel`` (:func:`~qslack.model.interop.to_bqm`),
  the reads come back as a :class:`~qslack.samplers.base.SampleSet` with the
  QUBO's own energies and variable order.
- :class:`SASampler` (name ``"sa"``): dwave-samplers' simulated annealing.
- :class:`TabuSampler` (name ``"tabu"``): dwave-samplers' multistart tabu
  search.

Comparisons with QAOA:

equal samples
    ``num_reads`` = QAOA's ``shots``: each read is one independent anneal /
    tabu run that yields one bitstring, as one shot yields one.
equal wall time
    ``time_limit`` (seconds for the whole ``sample`` call).  Tabu turns it
    into its per-read ``timeout`` after timing a few 1 ms reads, since a read
    lasts its timeout plus a fixed few milliseconds (set-up, clock
    granularity); when the budget is below ``num_reads`` times that fixed
    cost the reads overrun it and ``info["calibration"]["over_budget"]`` says
    so.  SA has no clock: it first times short calibration anneals on the same QUBO
    (doubling the sweeps until one takes ``calibration_share`` of the budget,
    at most 0.2 s), then picks the largest ``num_sweeps`` whose
    ``num_reads`` reads fit what is left of the budget.  The calibration
    counts against the budget; the chosen ``num_sweeps`` is recorded in
    ``info["num_sweeps"]``, so the same reads can be replayed exactly with
    that ``num_sweeps`` and the same seed; ``over_budget`` is set when even
    one sweep per read cannot fit.

Seeds: dwave-samplers take seeds in ``[0, 2**31)``; a qslack seed outside
that range is mapped with ``numpy.random.SeedSequence`` (recorded as
``info["sampler_seed"]``).  ``seed=None`` draws a fresh seed and records it as
``info["seed"]``.  SA is reproducible for a fixed seed and ``num_sweeps``; tabu
only without a ``timeout`` (its reads stop on the clock otherwise).

dimod and dwave-samplers are optional: ``pip install "qslack[dwave]"``.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, ClassVar

import numpy as np

from qslack.exceptions import DependencyError, OptionError, ValidationError
from qslack.model.interop import import_dimod, to_bqm
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["DimodSampler", "SASampler", "TabuSampler", "sampler_seed"]

_SEED_RANGE = 2**31


def sampler_seed(seed: int | None) -> tuple[int, int]:
    """``(seed, sampler_seed)``: the seed to record and the one dwave-samplers accept.

    ``None`` draws a fresh seed; seeds outside ``[0, 2**31)`` are mapped
    deterministically with ``numpy.random.SeedSequence``.

    Examples
    --------
    >>> sampler_seed(7)
    (7, 7)
    >>> s, mapped = sampler_seed(2**40)
    >>> s == 2**40 and 0 <= mapped < 2**31 and sampler_seed(2**40)[1] == mapped
    True
    """
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % _SEED_RANGE)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValidationError(f"seed must be an integer or None, got {seed!r}")
    seed = int(seed)
    if 0 <= seed < _SEED_RANGE:
        return seed, seed
    mapped = int(np.random.SeedSequence(seed % 2**128).generate_state(1)[0] % _SEED_RANGE)
    return seed, mapped


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - needs the package missing
        return None


def _dwave_samplers() -> Any:
    import_dimod()
    try:
        from dwave import samplers
    except ImportError as exc:
        raise DependencyError(
            "dwave-samplers is not installed; install the extra:  pip install 'qslack[dwave]'"
        ) from exc
    return samplers


def _jsonable(obj: Any) -> Any:
    """A JSON-friendly copy of a dimod ``info`` dict (numpy scalars and arrays unwrapped)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


class DimodSampler(Sampler):
    """Any ``dimod.Sampler`` as a qslack sampler.

    Parameters
    ----------
    sampler : dimod.Sampler
        Anything with ``sample(bqm, **kwargs)`` and a ``parameters`` mapping.
    name : str, optional
        ``info["backend"]`` and ``properties["name"]``; default
        ``"dimod:<class name>"``.
    exact : bool
        Whether the wrapped sampler always returns a ground state
        (``dimod.ExactSolver``): the conformance kit then checks it.
    **defaults
        Keyword arguments passed to every ``sampler.sample`` call (for
        instance ``num_reads``); each must be one of ``sampler.parameters``.

    Notes
    -----
    ``sample`` accepts the wrapped sampler's parameters as options (they
    override ``defaults``), except ``seed``: qslack's ``seed`` is passed as
    the sampler's ``seed`` when it has one (mapped into ``[0, 2**31)``, see
    :func:`sampler_seed`), and only recorded otherwise.

    Examples
    --------
    >>> import dimod
    >>> q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]))
    >>> ss = DimodSampler(dimod.ExactSolver(), exact=True).sample(q, seed=0)
    >>> ss.X[0].tolist(), float(ss.energy[0]), ss.info["backend"]
    ([1, 1], -1.0, 'dimod:ExactSolver')
    """

    properties: ClassVar[dict[str, Any]] = {"name": "dimod", "exact": False}

    def __init__(
        self, sampler: Any, *, name: str | None = None, exact: bool = False, **defaults: Any
    ) -> None:
        import_dimod()
        if not hasattr(sampler, "sample") or not hasattr(sampler, "parameters"):
            raise ValidationError(
                "DimodSampler needs a dimod sampler (with sample() and parameters), "
                f"got {type(sampler).__name__}"
            )
        self.sampler = sampler
        accepted = {str(k): "parameter of " + type(sampler).__name__ for k in sampler.parameters}
        self._takes_seed = "seed" in accepted
        accepted.pop("seed", None)
        self.parameters = accepted  # type: ignore[misc]  # per instance: the wrapped sampler's
        self._check_options(defaults)
        self.defaults = dict(defaults)
        self.name = name or f"dimod:{type(sampler).__name__}"
        self.properties = {"name": self.name, "exact": bool(exact)}  # type: ignore[misc]

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store)."""
        return {
            "sampler": self.name,
            "defaults": _jsonable(self.defaults),
            "dimod": _version("dimod"),
        }

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Sample ``qubo`` with the wrapped dimod sampler.

        Returns a SampleSet aggregated over the reads (``counts`` = number of
        reads that returned each bitstring), energies recomputed from
        ``qubo``.
        """
        self._check_options(options)
        kwargs = {**self.defaults, **options}
        seed, mapped = sampler_seed(seed)
        info: dict[str, Any] = {"backend": self.name, "seed": seed}
        if self._takes_seed:
            kwargs["seed"] = mapped
            info["sampler_seed"] = mapped
        return self._sample_bqm(qubo, kwargs, info)

    def _sample_bqm(self, qubo: QUBO, kwargs: dict[str, Any], info: dict[str, Any]) -> SampleSet:
        dimod = import_dimod()
        t0 = self._timer()
        bqm = to_bqm(qubo)
        try:
            result = self.sampler.sample(bqm, **kwargs)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"{self.name}: {exc}") from exc
        wall = self._timer() - t0
        labels = list(result.variables)
        pos = {v: j for j, v in enumerate(labels)}
        missing = [v for v in qubo.var_names if v not in pos]
        if missing:
            raise ValidationError(f"{self.name} returned samples without variable {missing[0]!r}")
        raw = np.asarray(result.record.sample)[:, [pos[v] for v in qubo.var_names]]
        if result.vartype is dimod.SPIN:
            raw = (raw + 1) // 2
        counts = np.asarray(result.record.num_occurrences, dtype=np.int64)
        info.update(
            {
                "num_reads": int(counts.sum()),
                "circuit_evals": 0,
                "shots_total": int(counts.sum()),  # samples drawn: the equal-samples budget
                "wall_s": wall,
                "dimod_info": _jsonable(dict(result.info)),
                "options": _jsonable({k: v for k, v in kwargs.items() if k != "seed"}),
            }
        )
        return SampleSet.from_samples(raw.astype(np.uint8), qubo, counts=counts, info=info)


class SASampler(DimodSampler):
    """Simulated annealing (dwave-samplers' ``SimulatedAnnealingSampler``) as a QUBO baseline.

    Parameters
    ----------
    num_reads : int
        Independent anneals, one bitstring each (set it to QAOA's ``shots``
        for an equal-samples comparison).
    num_sweeps : int
        Sweeps (one Metropolis update of every variable) per anneal; ignored
        when ``time_limit`` is given.
    time_limit : float, optional
        Wall-clock budget in seconds for the whole ``sample`` call; ``num_sweeps``
        is then chosen by calibration (module notes) and recorded in
        ``info["num_sweeps"]``.
    beta_range : (float, float), optional
        Inverse-temperature range; default dwave-samplers' choice from the
        biases.
    beta_schedule_type : {"geometric", "linear"}
        Interpolation of the schedule.
    calibration_share : float
        Share of ``time_limit`` the calibration anneals aim for (in ``(0, 0.5]``).

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]))
    >>> ss = SASampler(num_reads=20, num_sweeps=50).sample(q, seed=1)
    >>> ss.X[0].tolist(), ss.n_shots, ss.info["num_sweeps"]
    ([1, 1], 20, 50)
    """

    parameters: ClassVar[dict[str, str]] = {
        "num_reads": "independent anneals (bitstrings)",
        "num_sweeps": "sweeps per anneal",
        "time_limit": "wall-clock budget in seconds (chooses num_sweeps)",
        "beta_range": "inverse-temperature range",
        "beta_schedule_type": "geometric or linear",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "sa", "exact": False}

    def __init__(
        self,
        num_reads: int = 1000,
        num_sweeps: int = 1000,
        *,
        time_limit: float | None = None,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "geometric",
        calibration_share: float = 0.1,
    ) -> None:
        samplers = _dwave_samplers()
        self.sampler = samplers.SimulatedAnnealingSampler()
        self._takes_seed = True
        self.name = "sa"
        self.num_reads = _positive(num_reads, "num_reads")
        self.num_sweeps = _positive(num_sweeps, "num_sweeps")
        self.time_limit = _budget(time_limit)
        self.beta_range = None if beta_range is None else _beta_range(beta_range)
        if beta_schedule_type not in ("geometric", "linear"):
            raise OptionError(
                f"beta_schedule_type must be 'geometric' or 'linear', not {beta_schedule_type!r}"
            )
        self.beta_schedule_type = beta_schedule_type
        if not 0.0 < float(calibration_share) <= 0.5:
            raise ValidationError(f"calibration_share must be in (0, 0.5], got {calibration_share}")
        self.calibration_share = float(calibration_share)
        self.defaults = {}

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store)."""
        return {
            "sampler": "sa",
            "num_reads": self.num_reads,
            "num_sweeps": None if self.time_limit is not None else self.num_sweeps,
            "time_limit": self.time_limit,
            "beta_range": None if self.beta_range is None else list(self.beta_range),
            "beta_schedule_type": self.beta_schedule_type,
            "dwave_samplers": _version("dwave-samplers"),
            "dimod": _version("dimod"),
        }

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Anneal ``num_reads`` times; ``info`` records ``num_sweeps`` and any calibration."""
        self._check_options(options)
        num_reads = _positive(options.get("num_reads", self.num_reads), "num_reads")
        time_limit = _budget(options.get("time_limit", self.time_limit))
        beta_range = options.get("beta_range", self.beta_range)
        schedule = options.get("beta_schedule_type", self.beta_schedule_type)
        seed, mapped = sampler_seed(seed)
        kwargs: dict[str, Any] = {"num_reads": num_reads, "beta_schedule_type": schedule, "seed": mapped}
        if beta_range is not None:
            kwargs["beta_range"] = _beta_range(beta_range)
        elif not (qubo.Q.count_nonzero() if qubo.is_sparse else np.any(qubo.Q)):
            kwargs["beta_range"] = (0.1, 1.0)  # dwave-samplers' own choice here, without its warning
        info: dict[str, Any] = {"backend": "sa", "seed": seed, "sampler_seed": mapped}
        info["time_limit"] = time_limit
        if time_limit is None:
            kwargs["num_sweeps"] = _positive(options.get("num_sweeps", self.num_sweeps), "num_sweeps")
        else:
            t0 = self._timer()
            kwargs["num_sweeps"], info["calibration"] = self._calibrate(qubo, kwargs, time_limit)
            info["calibration"]["wall_s"] = self._timer() - t0
        info["num_sweeps"] = int(kwargs["num_sweeps"])
        ss = self._sample_bqm(qubo, kwargs, info)
        if time_limit is not None:
            ss.info["wall_s"] += info["calibration"]["wall_s"]
        return ss

    def _calibrate(
        self, qubo: QUBO, kwargs: dict[str, Any], time_limit: float
    ) -> tuple[int, dict[str, Any]]:
        """``num_sweeps`` such that ``num_reads`` reads fit the budget left after timing probes."""
        bqm = to_bqm(qubo)
        reads = min(int(kwargs["num_reads"]), 16)
        target = min(self.calibration_share * time_limit, 0.2)
        sweeps, spent, elapsed = 16, 0.0, 0.0
        while True:
            t0 = self._timer()
            self.sampler.sample(bqm, **{**kwargs, "num_reads": reads, "num_sweeps": sweeps})
            elapsed = self._timer() - t0
            spent += elapsed
            if elapsed >= target or spent >= 2 * target or sweeps >= 1 << 20:
                break
            sweeps *= 2
        per_sweep_read = elapsed / (sweeps * reads)  # includes the fixed overhead: errs on the short side
        left = time_limit - spent
        chosen = max(1, int(left / (per_sweep_read * int(kwargs["num_reads"]))))
        expected = spent + chosen * per_sweep_read * int(kwargs["num_reads"])
        return chosen, {
            "probe_reads": reads,
            "probe_sweeps": sweeps,
            "probe_s": elapsed,
            "s_per_sweep_read": per_sweep_read,
            "expected_s": expected,
            "over_budget": expected > time_limit * 1.05,
        }


class TabuSampler(DimodSampler):
    """Multistart tabu search (dwave-samplers' ``TabuSampler``) as a QUBO baseline.

    Parameters
    ----------
    num_reads : int
        Independent tabu runs, one bitstring (the run's best) each.
    timeout : float or None
        Milliseconds per read (dwave-samplers' ``timeout``); ``None``: no
        clock, each read ends after ``num_restarts`` restarts (then the same
        seed gives the same samples).
    time_limit : float, optional
        Wall-clock budget in seconds for all reads; chooses ``timeout``
        (module notes); ``info["timeout_ms"]`` records it.
    num_restarts : int
        Maximum restarts per read.
    tenure : int, optional
        Tabu tenure; default dwave-samplers' ``min(20, n // 4)``.

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]))
    >>> ss = TabuSampler(num_reads=4, timeout=None, num_restarts=1).sample(q, seed=1)
    >>> ss.X[0].tolist(), ss.n_shots
    ([1, 1], 4)
    """

    parameters: ClassVar[dict[str, str]] = {
        "num_reads": "independent tabu runs (bitstrings)",
        "timeout": "milliseconds per read (None: no clock)",
        "time_limit": "wall-clock budget in seconds (sets timeout)",
        "num_restarts": "maximum restarts per read",
        "tenure": "tabu tenure",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "tabu", "exact": False}

    def __init__(
        self,
        num_reads: int = 100,
        *,
        timeout: float | None = 20.0,
        time_limit: float | None = None,
        num_restarts: int = 1_000_000,
        tenure: int | None = None,
    ) -> None:
        samplers = _dwave_samplers()
        self.sampler = samplers.TabuSampler()
        self._takes_seed = True
        self.name = "tabu"
        self.num_reads = _positive(num_reads, "num_reads")
        self.time_limit = _budget(time_limit)
        self.timeout = None if timeout is None else _budget(timeout)
        self.num_restarts = _nonnegative(num_restarts, "num_restarts")
        self.tenure = None if tenure is None else _nonnegative(tenure, "tenure")
        self._check_clock(self.timeout, self.time_limit, self.num_restarts)
        self.defaults = {}

    @staticmethod
    def _check_clock(timeout: float | None, time_limit: float | None, num_restarts: int) -> None:
        if timeout is None and time_limit is None and num_restarts >= 1_000_000:
            raise ValidationError(
                "TabuSampler without timeout or time_limit would run 1e6 restarts per read; "
                "set num_restarts (e.g. 10) or a timeout"
            )

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store)."""
        return {
            "sampler": "tabu",
            "num_reads": self.num_reads,
            "timeout": None if self.time_limit is not None else self.timeout,
            "time_limit": self.time_limit,
            "num_restarts": self.num_restarts,
            "tenure": self.tenure,
            "dwave_samplers": _version("dwave-samplers"),
            "dimod": _version("dimod"),
        }

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Run ``num_reads`` tabu searches; ``info["timeout_ms"]`` records the clock used per read."""
        self._check_options(options)
        num_reads = _positive(options.get("num_reads", self.num_reads), "num_reads")
        time_limit = _budget(options.get("time_limit", self.time_limit))
        timeout = options.get("timeout", self.timeout)
        timeout = None if timeout is None else _budget(timeout)
        num_restarts = _nonnegative(options.get("num_restarts", self.num_restarts), "num_restarts")
        tenure = options.get("tenure", self.tenure)
        self._check_clock(timeout, time_limit, num_restarts)
        seed, mapped = sampler_seed(seed)
        kwargs: dict[str, Any] = {
            "num_reads": num_reads,
            "num_restarts": num_restarts,
            "seed": mapped,
            # dwave-samplers' timeout is an int of ms; None means no clock
            "timeout": None if timeout is None else max(1, round(timeout)),
        }
        if tenure is not None:
            kwargs["tenure"] = min(_nonnegative(tenure, "tenure"), max(qubo.n_vars - 1, 0))
        info: dict[str, Any] = {"backend": "tabu", "seed": seed, "sampler_seed": mapped}
        info["time_limit"] = time_limit
        if time_limit is not None:
            t0 = self._timer()
            kwargs["timeout"], info["calibration"] = self._calibrate(qubo, kwargs, time_limit)
            info["calibration"]["wall_s"] = self._timer() - t0
        info["timeout_ms"] = kwargs["timeout"]
        ss = self._sample_bqm(qubo, kwargs, info)
        if time_limit is not None:
            ss.info["wall_s"] += info["calibration"]["wall_s"]
        return ss

    def _calibrate(
        self, qubo: QUBO, kwargs: dict[str, Any], time_limit: float
    ) -> tuple[int, dict[str, Any]]:
        """Per-read ``timeout`` (ms) such that ``num_reads`` reads fit the budget left after a probe.

        A read lasts about ``timeout`` plus a fixed cost (set-up and the
        clock's granularity, a few ms); the probe measures that cost with
        reads of ``timeout = 1`` ms.  When even 1 ms per read does not fit,
        the reads overrun the budget: ``over_budget`` says so.
        """
        bqm = to_bqm(qubo)
        reads = min(int(kwargs["num_reads"]), 4)
        t0 = self._timer()
        self.sampler.sample(bqm, **{**kwargs, "num_reads": reads, "timeout": 1})
        probe = self._timer() - t0
        overhead_ms = max(0.0, 1000.0 * probe / reads - 1.0)
        left_ms = 1000.0 * (time_limit - probe) / int(kwargs["num_reads"])
        timeout = max(1, int(left_ms - overhead_ms))
        expected = int(kwargs["num_reads"]) * (timeout + overhead_ms) / 1000.0 + probe
        return timeout, {
            "probe_reads": reads,
            "probe_s": probe,
            "overhead_ms_per_read": overhead_ms,
            "expected_s": expected,
            "over_budget": expected > time_limit * 1.05,
        }


# --------------------------------------------------------------------------- argument checks
def _positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValidationError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _nonnegative(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ValidationError(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


def _budget(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"a time budget must be a positive number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValidationError(f"a time budget must be a positive number, got {value!r}")
    return v


def _beta_range(value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(f"beta_range must be two numbers, got {value!r}") from None
    if not 0 <= lo <= hi:
        raise ValidationError(f"beta_range must satisfy 0 <= low <= high, got {value!r}")
    return lo, hi
