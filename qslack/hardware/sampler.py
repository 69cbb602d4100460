"""QAOA on IBM backends, real or fake, through :mod:`qslack.hardware.service`.

:class:`IBMSampler` turns a QUBO into samples in three steps:

1. angles: optimised on the noiseless statevector kernel
   (:class:`~qslack.samplers.qaoa.sampler.QAOASampler`, ``backend="statevector"``)
   and transferred, or taken from ``init`` as they are (``maxiter=0``);
2. optionally (``optimize_on="noisy-cvar"``) refined by COBYLA on the CVaR
   of noisy samples, with at most ``noisy_budget`` circuit executions in all;
3. the measured QAOA circuit is transpiled once per QUBO to the backend's
   ISA with the profile's preset pass manager, bound, checked against the
   profile's limits and run by ``SamplerV2`` through the service.

The asynchronous shape of the dual loop uses the two halves separately:
``job_id, meta = sampler.submit(qubo, init)`` (store both: ``meta`` is plain
JSON), and later ``sampler.collect(job_id, qubo, meta)``.

Counts use qslack's index convention: bit ``j`` of the basis index is
qubit ``j`` = variable ``j``.
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar

import numpy as np

from qslack._rng import normalize_seed
from qslack.exceptions import OptionError, ValidationError
from qslack.hardware import (
    IBMService,
    JobFailedError,
    JobPendingError,
    LocalFakeService,
    RetryingService,
    RuntimeService,
)
from qslack.hardware.profiles import HardwareProfile, check_fits, load_profile
from qslack.model.bits import index_to_X
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet
from qslack.samplers.qaoa.angles import as_theta, join, split
from qslack.samplers.qaoa.circuit import qaoa_circuit

__all__ = ["IBMSampler", "cvar_from_counts", "isa_stats"]

OPTIMIZE_ON = ("statevector", "noisy-cvar")


def cvar_from_counts(energies: np.ndarray, counts: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of sampled energies: the mean of the lowest ``alpha`` share of shots.

    Examples
    --------
    >>> cvar_from_counts(np.array([3.0, 1.0, 2.0]), np.array([5, 3, 2]), 0.5)
    1.4
    """
    e = np.asarray(energies, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    order = np.argsort(e, kind="stable")
    e, c = e[order], c[order]
    k = float(alpha) * c.sum()
    before = np.cumsum(c) - c
    take = np.clip(k - before, 0.0, c)
    return float(take @ e / k)


def isa_stats(isa: Any) -> dict[str, int]:
    """Depth, two-qubit gate count and depth, and active physical qubits of an ISA circuit."""
    active: set[int] = set()
    n2 = 0
    for inst in isa.data:
        active.update(isa.find_bit(q).index for q in inst.qubits)
        if inst.operation.name != "barrier" and inst.operation.num_qubits == 2:
            n2 += 1
    return {
        "depth": int(isa.depth()),
        "two_qubit_gates": int(n2),
        "two_qubit_depth": int(
            isa.depth(lambda inst: inst.operation.num_qubits == 2 and inst.operation.name != "barrier")
        ),
        "n_physical_qubits": len(active),
        "size": int(isa.size()),
    }


class _BudgetSpentError(Exception):
    pass


class IBMSampler(Sampler):
    """QAOA sampled on an IBM backend (``ibm``) or its fake twin (``fake``) from a hardware profile.

    Parameters
    ----------
    profile : HardwareProfile or str
        A profile or its name (``"fake-torino"``, ``"ibm-torino"``); kind
        ``fake`` or ``ibm``.
    service : IBMService, optional
        Default: :class:`~qslack.hardware.local.LocalFakeService` for
        ``fake`` profiles, :class:`~qslack.hardware.service.RuntimeService`
        for ``ibm`` ones, wrapped in a
        :class:`~qslack.hardware.service.RetryingService` (a service passed
        in is used as it is).
    p : int
        QAOA depth.
    shots : int, optional
        Shots per circuit (default: the profile's).
    maxiter : int
        Budget of the statevector angle optimisation; 0 uses ``init`` (or the
        linear ramp) as it is and builds no statevector.
    optimize_on : {"statevector", "noisy-cvar"}
        ``"noisy-cvar"`` refines the transferred angles with COBYLA on the
        CVaR of noisy samples.
    alpha : float
        CVaR fraction in ``(0, 1]``.
    noisy_budget : int
        Circuit executions allowed for ``"noisy-cvar"``, the final sampling
        run included (at least ``2p + 3``).
    seed : int, optional
        Default seed of :meth:`sample` (simulator seed of fake backends; the
        transpiler seed when the profile has none).
    retries : int
        Retries of transient faults by the default service wrapper.
    poll_interval : float
        Seconds between status polls while waiting for a job.
    timeout : float, optional
        Longest wait for one job in :meth:`sample` (default: no limit).
    ansatz : Ansatz, optional
        Mixer and initial state (:class:`~qslack.samplers.qaoa.ansatz.Ansatz`;
        default the X mixer from ``|+>^n``): the statevector optimisation and
        the submitted circuit both use it.
    recentre : bool
        The driver recentres the warm ansatz on the run's incumbent
        (``submit(..., warm_start=x)``), as ``QAOASampler(recentre=True)``.

    Examples
    --------
    >>> q = QUBO(np.array([[-3.0, 0.5], [0.0, -3.0]]))
    >>> ss = IBMSampler("fake-torino", p=1, shots=200, maxiter=10, seed=7).sample(q)
    >>> ss.n_shots, ss.info["backend"], ss.X[0].tolist()
    (200, 'fake_torino', [1, 1])
    """

    parameters: ClassVar[dict[str, str]] = {
        "init": "warm-start angles ([gammas, betas] or an earlier info['angles'])",
        "shots": "shots of the final circuit (default: the sampler's)",
        "maxiter": "statevector optimisation budget (default: the sampler's)",
        "warm_start": "warm-start centre of this circuit (the warm ansatz recentred, e.g. on the incumbent)",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "qaoa-ibm", "exact": False}
    accepts_init: ClassVar[bool] = True

    def __init__(
        self,
        profile: HardwareProfile | str,
        *,
        service: IBMService | None = None,
        p: int = 2,
        shots: int | None = None,
        maxiter: int = 60,
        optimize_on: str = "statevector",
        alpha: float = 0.2,
        noisy_budget: int = 20,
        seed: int | None = None,
        retries: int = 5,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        ansatz: Any = None,
        recentre: bool = False,
    ) -> None:
        prof = profile if isinstance(profile, HardwareProfile) else load_profile(profile)
        if prof.kind not in ("fake", "ibm"):
            raise OptionError(
                f"profile {prof.name!r} is of kind {prof.kind!r}; IBMSampler runs 'fake' and 'ibm' profiles "
                "(Aer simulator profiles run with QAOASampler(backend='aer'))"
            )
        if optimize_on not in OPTIMIZE_ON:
            raise OptionError(f"optimize_on must be one of {OPTIMIZE_ON}, got {optimize_on!r}")
        p, maxiter, noisy_budget = int(p), int(maxiter), int(noisy_budget)
        if p < 1 or maxiter < 0:
            raise ValidationError(f"need p >= 1 and maxiter >= 0, got p={p}, maxiter={maxiter}")
        if shots is not None and int(shots) < 1:
            raise ValidationError(f"shots must be >= 1, got {shots}")
        if not 0.0 < float(alpha) <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        if optimize_on == "noisy-cvar" and noisy_budget < 2 * p + 3:
            raise ValidationError(
                f"noisy_budget={noisy_budget} is too small for COBYLA on 2p={2 * p} angles plus the final "
                f"run; need at least {2 * p + 3}"
            )
        self.profile = prof
        if service is None:
            inner: IBMService = LocalFakeService() if prof.kind == "fake" else RuntimeService()
            service = RetryingService(inner, retries=retries)
        self.service = service
        self.p, self.maxiter, self.optimize_on = p, maxiter, optimize_on
        self.ansatz = ansatz
        if recentre and (ansatz is None or ansatz.warm is None):
            raise OptionError("recentre=True needs a warm-start ansatz (mixer or initial state 'warm')")
        self.recentre = bool(recentre)
        self.shots = prof.shots if shots is None else int(shots)
        self.alpha, self.noisy_budget, self.seed = float(alpha), noisy_budget, seed
        self.poll_interval, self.timeout = float(poll_interval), timeout
        self._pms: dict[tuple[str, int], Any] = {}

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store)."""
        return {
            "sampler": "qaoa-ibm",
            "profile": self.profile.to_dict(),
            "service": getattr(self.service, "name", type(self.service).__name__),
            "p": self.p,
            "shots": self.shots,
            "maxiter": self.maxiter,
            "optimize_on": self.optimize_on,
            "alpha": self.alpha,
            "noisy_budget": self.noisy_budget,
            **({"ansatz": self.ansatz.config()} if self.ansatz is not None else {}),
            **({"recentre": True} if self.recentre else {}),
        }

    def check_fits(self, n_vars: int) -> None:
        """The logical circuit must fit the profile's device (the transpiled one is checked at submit)."""
        check_fits(self.profile, n_vars)

    # ------------------------------------------------------------------ helpers
    def _seed(self, seed: int | None) -> int:
        return normalize_seed(self.seed if seed is None else seed)

    def _pass_manager(self, backend: Any, seed_transpiler: int) -> Any:
        from qiskit.transpiler import generate_preset_pass_manager

        key = (self.profile.backend, seed_transpiler)
        pm = self._pms.get(key)
        if pm is None:
            pm = generate_preset_pass_manager(
                optimization_level=self.profile.optimization_level,
                backend=backend,
                seed_transpiler=seed_transpiler,
                layout_method=self.profile.layout_method,
            )
            self._pms[key] = pm
        return pm

    def _options(self, seed: int) -> dict[str, Any]:
        opts = self.profile.runtime_options()
        opts["simulator"] = {"seed_simulator": int(seed)}  # fake backends only; the real service drops it
        return opts

    def _run_counts(self, circuit: Any, shots: int, seed: int) -> tuple[str, dict[int, int]]:
        job_id = self.service.submit(
            [circuit],
            backend_name=self.profile.backend,
            shots=shots,
            options=self._options(seed),
            mode=self.profile.mode,
        )
        st = self.service.wait(job_id, timeout=self.timeout, poll_interval=self.poll_interval)
        if st != "DONE":
            raise JobFailedError(job_id, st, self.service.error_message(job_id))
        return job_id, self.service.result(job_id)[0]

    @staticmethod
    def _bind(isa: Any, params: list[Any], theta: np.ndarray) -> Any:
        values = {prm: float(v) for prm, v in zip(params, theta, strict=True)}
        return isa.assign_parameters(values, inplace=False, strict=False)

    # ------------------------------------------------------------------ async API
    def submit(
        self,
        qubo: QUBO,
        init: Any = None,
        *,
        seed: int | None = None,
        shots: int | None = None,
        maxiter: int | None = None,
        warm_start: Any = None,
    ) -> tuple[str, dict[str, Any]]:
        """Optimise the angles, transpile, submit the final circuit: ``(job_id, meta)``.

        ``meta`` is JSON-serialisable; with the job id it is all
        :meth:`collect` needs, in this process or a later one.  With
        ``optimize_on="noisy-cvar"`` the noisy evaluations run (and are
        waited for) here.  ``warm_start`` recentres the warm ansatz on a point
        (:meth:`~qslack.samplers.qaoa.ansatz.Ansatz.recentred`) for this circuit.
        """
        ansatz = self.ansatz
        if warm_start is not None:
            if ansatz is None:
                raise OptionError("warm_start= needs a warm-start ansatz (--mixer warm / --init warm)")
            ansatz = ansatz.recentred(warm_start)
        t0 = time.perf_counter()
        prof = self.profile
        n = qubo.n_vars
        check_fits(prof, n)
        sv_evals = 0
        seed = self._seed(seed)
        shots = self.shots if shots is None else int(shots)
        if shots < 1:
            raise ValidationError(f"shots must be >= 1, got {shots}")
        maxiter = self.maxiter if maxiter is None else int(maxiter)
        timings: dict[str, float] = {}

        # (1) angles on the noiseless statevector, transferred
        theta0 = as_theta(init, self.p)
        sv_value = None
        if maxiter > 0:
            from qslack.samplers.qaoa.sampler import QAOASampler

            kw = ansatz.sampler_options() if ansatz is not None else {}
            sv = QAOASampler(self.p, backend="statevector", maxiter=maxiter, shots=1, seed=seed, **kw).sample(
                qubo, init=theta0
            )
            theta = join(sv.params["gammas"], sv.params["betas"])
            sv_value = float(sv.info["final_value"])
            sv_evals = int(sv.info["n_evals"]) - 1  # its last evaluation is replaced by the hardware run
        else:
            theta = theta0
        theta_sv = theta.copy()
        timings["optimise_s"] = time.perf_counter() - t0

        # (3) circuit, transpiled once per QUBO
        t1 = time.perf_counter()
        ising = qubo.to_ising()
        scale = float(ising.scale)
        qc, gammas, betas = qaoa_circuit(ising.h, ising.J, self.p, scale, measure=True, ansatz=ansatz)
        params = [*gammas, *betas]
        backend = self.service.backend(prof.backend)
        seed_tr = prof.seed_transpiler if prof.seed_transpiler is not None else seed % (2**31)
        isa = self._pass_manager(backend, int(seed_tr)).run(qc)
        stats = isa_stats(isa)
        check_fits(prof, stats["n_physical_qubits"], stats["depth"])
        layout = isa.layout
        layout_info = {
            "initial": [int(q) for q in layout.initial_index_layout(filter_ancillas=True)]
            if layout
            else None,
            "final": [int(q) for q in layout.final_index_layout(filter_ancillas=True)] if layout else None,
        }
        timings["transpile_s"] = time.perf_counter() - t1

        # (2) optional CVaR refinement on noisy samples
        noisy: dict[str, Any] | None = None
        job_ids: list[str] = []
        if self.optimize_on == "noisy-cvar":
            t2 = time.perf_counter()
            theta, noisy = self._noisy_cvar(qubo, isa, params, theta, shots, seed)
            job_ids += noisy["job_ids"]
            timings["noisy_s"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        bound = self._bind(isa, params, theta)
        job_id = self.service.submit(
            [bound], backend_name=prof.backend, shots=shots, options=self._options(seed), mode=prof.mode
        )
        timings["submit_s"] = time.perf_counter() - t3
        timings["prepare_s"] = time.perf_counter() - t0
        g, b = split(theta)
        gs, bs = split(theta_sv)
        meta: dict[str, Any] = {
            "backend": prof.backend,
            "profile": prof.name,
            "kind": prof.kind,
            "service": getattr(self.service, "name", type(self.service).__name__),
            "mode": prof.mode,
            "session_id": self.service.session_of(job_id),
            "p": self.p,
            "shots": shots,
            "seed": seed,
            "seed_transpiler": int(seed_tr),
            "n_vars": n,
            "var_names": list(qubo.var_names),
            "scale": scale,
            "optimize_on": self.optimize_on,
            "angles": {"gammas": g.tolist(), "betas": b.tolist()},
            "angles_statevector": {"gammas": gs.tolist(), "betas": bs.tolist()},
            "statevector_value": sv_value,
            "noisy": noisy,
            "ansatz": None if ansatz is None else ansatz.config(),
            **({"centre": list(ansatz.warm_start or ())} if warm_start is not None else {}),
            "isa": stats,
            "layout": layout_info,
            "options": prof.runtime_options(),
            "job_id": job_id,
            "job_ids": [*job_ids, job_id],
            "timings": timings,
            # budget: statevector evaluations counted as the hardware circuits they stand for,
            # the noisy executions, and the sampling run
            "n_evals": sv_evals,
            "circuit_evals": sv_evals + len(job_ids) + 1,
            "shots_total": (sv_evals + len(job_ids) + 1) * shots,
        }
        return job_id, meta

    def collect(
        self,
        job_id: str,
        qubo: QUBO,
        meta: dict[str, Any],
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> SampleSet:
        """The SampleSet of a submitted job (``meta`` from :meth:`submit`).

        Waits for the job unless ``wait=False``, which raises
        :class:`~qslack.hardware.errors.JobPendingError` for a job still
        queued or running; a job that failed or was cancelled raises
        :class:`~qslack.hardware.errors.JobFailedError` with the service's reason.
        """
        t0 = time.perf_counter()
        n = qubo.n_vars
        if int(meta.get("n_vars", n)) != n or list(meta.get("var_names", qubo.var_names)) != list(
            qubo.var_names
        ):
            raise ValidationError(
                f"job {job_id} was submitted for {meta.get('n_vars')} variables "
                f"{meta.get('var_names')}, not this QUBO's {n} {list(qubo.var_names)}"
            )
        if wait:
            st = self.service.wait(
                job_id, timeout=self.timeout if timeout is None else timeout, poll_interval=self.poll_interval
            )
        else:
            st = self.service.status(job_id)
        if st in ("ERROR", "CANCELLED"):
            raise JobFailedError(job_id, st, self.service.error_message(job_id))
        if st != "DONE":
            raise JobPendingError(job_id, st)
        counts = self.service.result(job_id)[0]
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        cnt = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        if idx.size and (idx.min() < 0 or idx.max() >= (1 << n)):
            raise ValidationError(f"job {job_id} returned basis index {int(idx.max())} outside 2**{n}")
        info = copy.deepcopy(meta)
        info["job_id"] = job_id
        if job_id not in info.setdefault("job_ids", []):
            info["job_ids"].append(job_id)
        info["n_shots"] = int(cnt.sum())
        params = info.get("angles")
        info["timings"] = dict(info.get("timings") or {})
        ss = SampleSet.from_indices(idx, cnt, qubo, info=info, params=params)
        ss.info["timings"]["collect_s"] = time.perf_counter() - t0
        return ss

    # ------------------------------------------------------------------ sampler API
    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Sample ``qubo`` on the profile's backend (submit, wait, collect).

        Parameters
        ----------
        qubo : QUBO
        seed : int, optional
            Recorded in ``info["seed"]``; default the sampler's, else a fresh one.
        init : array_like or dict, optional
            Warm-start angles.
        shots, maxiter : int, optional
            Override the sampler's.
        """
        self._check_options(options)
        t0 = time.perf_counter()
        job_id, meta = self.submit(
            qubo,
            options.get("init"),
            seed=seed,
            shots=options.get("shots"),
            maxiter=options.get("maxiter"),
            warm_start=options.get("warm_start"),
        )
        ss = self.collect(job_id, qubo, meta)
        ss.info["timings"]["total_s"] = time.perf_counter() - t0
        return ss

    # ------------------------------------------------------------------ noisy CVaR
    def _noisy_cvar(
        self, qubo: QUBO, isa: Any, params: list[Any], theta0: np.ndarray, shots: int, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """COBYLA on the CVaR of noisy samples, at most ``noisy_budget - 1`` executions."""
        from scipy.optimize import minimize

        budget = self.noisy_budget - 1  # one execution is kept for the final sampling run
        history: list[float] = []
        job_ids: list[str] = []
        best: list[Any] = [np.inf, np.asarray(theta0, dtype=np.float64).copy()]
        n = qubo.n_vars

        def value(theta: np.ndarray) -> float:
            if len(history) >= budget:
                raise _BudgetSpentError
            k = len(history)
            job_id, counts = self._run_counts(self._bind(isa, params, theta), shots, seed + 1 + k)
            job_ids.append(job_id)
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            cnt = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
            energies = qubo.energies(index_to_X(idx, n))
            v = cvar_from_counts(energies, cnt, self.alpha)
            history.append(v)
            if v < best[0]:
                best[0], best[1] = v, np.array(theta, dtype=np.float64)
            return v

        try:
            minimize(value, best[1], method="COBYLA", options={"maxiter": budget, "rhobeg": 0.2})
        except _BudgetSpentError:
            pass
        return best[1], {
            "alpha": self.alpha,
            "budget": self.noisy_budget,
            "n_executions": len(history),
            "history": history,
            "best_cvar": float(best[0]),
            "job_ids": job_ids,
        }
