"""``QAOASampler``: QAOA on a QUBO with one of several backends, optimised with scipy.

The cost is ``H / s`` with ``s`` the largest absolute Ising coefficient, the
phase ``exp(-i gamma H / s)``, the mixer ``exp(-i beta sum X)`` by default (or
an XY mixer on one-hot groups, or the warm-start mixer: see
:mod:`~qslack.samplers.qaoa.ansatz`); angles start from a linear ramp or from
``init`` (warm start) and are optimised on the expectation or the CVaR of the
energy, or held fixed (LR-QAOA, ``optimizer="none"``), or only the two slopes
of the LR-QAOA ramp are optimised (``params="ramp"``).  ``p = 0`` samples the
initial state itself.  The final state is sampled ``shots`` times with the
seeded generator.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from qslack._rng import normalize_seed
from qslack.exceptions import DependencyError, OptionError, ResourceError, ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet
from qslack.samplers.qaoa.angles import LR_SLOPES, as_theta, linear_ramp, lr_schedule, split
from qslack.samplers.qaoa.ansatz import Ansatz

__all__ = ["QAOASampler", "optimizer_options", "sample_from_probabilities"]

BACKENDS = ("statevector", "aer", "mps")
OPTIMIZERS = {
    "cobyla": "COBYLA",
    "nelder-mead": "Nelder-Mead",
    "l-bfgs-b": "L-BFGS-B",
    "powell": "Powell",
    "none": None,
}
OBJECTIVES = ("expectation", "cvar")
PARAMS = ("angles", "ramp")
SCHEDULES = ("default", "lr")
AUTO_C64_QUBITS = 18  # dtype="auto": complex64 from this many qubits


def optimizer_options(method: str, maxiter: int) -> dict[str, Any]:
    """scipy.optimize ``options`` that cap ``method`` at ``maxiter`` evaluations (every backend's rule).

    Examples
    --------
    >>> optimizer_options("COBYLA", 60), optimizer_options("L-BFGS-B", 20)
    ({'maxiter': 60, 'rhobeg': 0.2}, {'maxfun': 20})
    """
    if method == "COBYLA":
        return {"maxiter": maxiter, "rhobeg": 0.2}
    if method in ("Nelder-Mead", "Powell"):
        return {"maxfev": maxiter}
    if method == "L-BFGS-B":
        return {"maxfun": maxiter}
    return {"maxiter": maxiter}


def sample_from_probabilities(
    probs: np.ndarray, shots: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``shots`` basis-state indices drawn from ``probs``: ``(unique indices, counts)``.

    Inverse-CDF on sorted uniforms: one pass over the ``2**n`` vector.

    Examples
    --------
    >>> idx, cnt = sample_from_probabilities(np.array([0.0, 1.0, 0.0, 0.0]), 5, np.random.default_rng(0))
    >>> idx.tolist(), cnt.tolist()
    ([1], [5])
    """
    cdf = np.cumsum(probs)
    total = cdf[-1]
    u = np.sort(rng.random(shots)) * total
    idx = np.minimum(np.searchsorted(cdf, u, side="right"), probs.size - 1)
    uniq, counts = np.unique(idx, return_counts=True)
    return uniq.astype(np.int64), counts.astype(np.int64)


class QAOASampler(Sampler):
    """QAOA as a sampler: ``sample(qubo, *, seed=None, init=None) -> SampleSet``.

    Parameters
    ----------
    p : int
        Depth (number of cost + mixer layers); 0 samples the initial state.
    backend : {"statevector", "aer", "mps"}
        ``statevector``: our compiled kernel on ``qubo.diagonal()`` (default,
        fast); ``aer``: the Qiskit circuit on ``AerSimulator``; ``mps``: Aer's
        matrix-product-state method for sparse graphs too wide for a
        statevector, no ``2**n`` vector, P(feasible) and P(optimal) then come
        from the shots (see :func:`~qslack.samplers.qaoa.backends.aer.sample_mps`;
        every ansatz: the warm-start and XY gates are the circuits'
        of :mod:`~qslack.samplers.qaoa.circuit`).
    optimizer : {"cobyla", "nelder-mead", "l-bfgs-b", "powell", "none"}
        scipy.optimize method; ``"none"`` keeps the starting angles (as
        ``maxiter=0``): no optimiser evaluation.  ``l-bfgs-b`` on the
        statevector backend (X mixer, ``params="angles"``) uses the exact
        gradient of the objective (adjoint method, ``jac=True``: one call is a
        value and a gradient for ~3.5 evaluations' time,
        :mod:`~qslack.samplers.qaoa.gradient`); elsewhere finite differences.
    objective : {"expectation", "cvar"}
        What the optimiser minimises; ``alpha`` is the CVaR fraction.
    alpha : float
        CVaR tail fraction in ``(0, 1]``.
    shots : int
        Samples drawn from the final state.
    maxiter : int
        Optimiser iteration (evaluation) budget; 0 keeps the initial angles.
    seed : int, optional
        Default seed of :meth:`sample`.
    dtype : {"auto", "complex128", "complex64"}
        Statevector precision.  ``auto`` (default): complex64 from
        ``AUTO_C64_QUBITS`` qubits up, complex128 below.  complex64 is ~1.5x
        faster and half the memory; its probabilities differ from complex128 by
        ~1e-7 relative (``tests/test_kernel_precision.py``), far below the shot
        noise ``1/sqrt(shots)`` of any sampled run.
    diag_dtype : {"float64", "float32"}
        The cost diagonal's dtype on the statevector backend; float32 halves its
        memory (28-29 qubits on 24 GiB with complex64), stored minus
        ``qubo.diagonal_shift()`` so that a large constant costs no precision;
        energies of the samples are exact (from the QUBO).
    device : {"CPU", "GPU"}
        ``statevector``: GPU runs our kernel on CuPy; ``aer``: Aer's GPU device.
    aer_method : {"statevector", "matrix_product_state"}
        Aer simulation method.
    threads : int, optional
        CPU kernel threads (default numba's setting); 1 is best when several
        solves share the cores.
    mixer : {"x", "xy-ring", "xy-complete", "warm"}
        ``x``: ``exp(-i beta sum X)`` (default); ``xy-*``: XY rotations inside
        each of ``groups`` (X on the other qubits); ``warm``: the warm-start
        mixer of ``warm_start`` (:mod:`~qslack.samplers.qaoa.ansatz`).
    initial_state : {"uniform", "one-hot", "warm"} or 0/1 sequence, optional
        Default: uniform for ``x``, one-hot (a W state per group) for the XY
        mixers, warm for ``warm``; a bitstring starts from that basis state.
    groups : list of index lists, optional
        Disjoint one-hot groups of variables (e.g. from
        :func:`qslack.model.onehot.one_hot_groups`).
    warm_start : (n,) array_like in [0, 1], optional
        Relaxed solution ``c*`` (:mod:`qslack.model.relax`).
    eps : float
        Regularisation of ``warm_start`` into ``[eps, 1 - eps]`` (default 0.25).
    recentre : bool
        Recentre the warm ansatz on the dual loop's incumbent (the best feasible
        solution found so far): the driver then passes it as ``sample(...,
        warm_start=x)``; before there is one, ``warm_start`` is the centre.
    schedule : {"default", "lr"}, optional
        Starting angles without ``init``: ``default`` the linear ramp of
        :func:`~qslack.samplers.qaoa.angles.linear_ramp`, ``lr`` LR-QAOA's
        ramp with slopes ``ramp`` (default ``lr`` when ``params="ramp"``).
    params : {"angles", "ramp"}
        What the optimiser varies: the ``2p`` angles, or the two LR-QAOA
        slopes ``(dgamma, dbeta)`` whatever ``p``.
    ramp : (float, float), optional
        LR-QAOA slopes ``(dgamma, dbeta)`` (paper convention,
        :func:`~qslack.samplers.qaoa.angles.lr_schedule`); default
        ``LR_SLOPES``.
    mps_max_bond_dimension : int
        ``mps`` backend: Aer's ``matrix_product_state_max_bond_dimension`` (default 64).
    mps_truncation_threshold : float
        ``mps`` backend: Aer's ``matrix_product_state_truncation_threshold`` (default 1e-10).

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]))   # ground states 00 and 11
    >>> ss = QAOASampler(p=1, shots=200, maxiter=30, seed=1).sample(q)
    >>> ss.n_shots, sorted(ss.info["angles"])
    (200, ['betas', 'gammas'])
    >>> lr = QAOASampler(p=4, schedule="lr", optimizer="none", shots=50, seed=1).sample(q)
    >>> lr.info["n_optimizer_evals"], len(lr.info["angles"]["gammas"])
    (0, 4)
    >>> g = QAOASampler(p=1, optimizer="l-bfgs-b", shots=200, maxiter=30, seed=1).sample(q)
    >>> g.info["n_grad_evals"] > 0
    True
    """

    parameters: ClassVar[dict[str, str]] = {
        "init": "warm-start angles",
        "shots": "samples",
        "maxiter": "budget",
        "warm_start": "warm-start centre of this sample (a warm ansatz recentred, e.g. on the incumbent)",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "qaoa", "exact": False}
    accepts_init: ClassVar[bool] = True

    def __init__(
        self,
        p: int = 1,
        *,
        backend: str = "statevector",
        optimizer: str = "cobyla",
        objective: str = "expectation",
        alpha: float = 0.1,
        shots: int = 1000,
        maxiter: int = 100,
        seed: int | None = None,
        dtype: str = "auto",
        device: str = "CPU",
        aer_method: str = "statevector",
        threads: int | None = None,
        mixer: str = "x",
        initial_state: str | Any = None,
        groups: Any = None,
        warm_start: Any = None,
        eps: float = 0.25,
        recentre: bool = False,
        schedule: str | None = None,
        params: str = "angles",
        ramp: Any = None,
        mps_max_bond_dimension: int = 64,
        mps_truncation_threshold: float = 1e-10,
        diag_dtype: str = "float64",
    ) -> None:
        if backend not in BACKENDS:
            raise OptionError(f"unknown QAOA backend {backend!r}; choose from {BACKENDS}")
        if optimizer.lower() not in OPTIMIZERS:
            raise OptionError(f"unknown optimizer {optimizer!r}; choose from {sorted(OPTIMIZERS)}")
        if objective not in OBJECTIVES:
            raise OptionError(f"unknown objective {objective!r}; choose from {OBJECTIVES}")
        if not 0.0 < alpha <= 1.0:
            raise ValidationError(f"alpha must be in (0, 1], got {alpha}")
        if int(p) < 0 or int(shots) < 1 or int(maxiter) < 0:
            raise ValidationError(f"need p >= 0, shots >= 1, maxiter >= 0; got {p}, {shots}, {maxiter}")
        if params not in PARAMS:
            raise OptionError(f"unknown params {params!r}; choose from {PARAMS}")
        if schedule is None:
            schedule = "lr" if params == "ramp" else "default"
        if schedule not in SCHEDULES:
            raise OptionError(f"unknown schedule {schedule!r}; choose from {SCHEDULES}")
        if params == "ramp" and schedule != "lr":
            raise OptionError("params='ramp' optimises the LR-QAOA slopes: it needs schedule='lr'")
        ramp_v = np.asarray(LR_SLOPES if ramp is None else ramp, dtype=np.float64).reshape(-1)
        if ramp_v.shape != (2,) or not np.all(np.isfinite(ramp_v)):
            raise ValidationError(f"ramp must be two finite slopes (dgamma, dbeta), got {ramp!r}")
        self.mixer, self.initial_state, self.eps = mixer, initial_state, float(eps)
        self.groups = None if groups is None else [[int(q) for q in g] for g in groups]
        self.warm_start = None if warm_start is None else np.asarray(warm_start, dtype=np.float64).reshape(-1)
        self.schedule, self.params, self.ramp = schedule, params, (float(ramp_v[0]), float(ramp_v[1]))
        self._ansatz_cache: dict[int, Ansatz] = {}
        self._ansatz(self._n_hint())  # validate the ansatz options now
        if recentre and self.warm_start is None:
            raise OptionError("recentre=True needs a warm-start ansatz (mixer or initial state 'warm')")
        self.recentre = bool(recentre)
        if dtype not in ("auto", "complex128", "complex64"):
            raise OptionError(f"dtype must be auto, complex128 or complex64, not {dtype!r}")
        if diag_dtype not in ("float64", "float32"):
            raise OptionError(f"diag_dtype must be float64 or float32, not {diag_dtype!r}")
        if device not in ("CPU", "GPU"):
            raise OptionError(f"device must be CPU or GPU, not {device!r}")
        self.p, self.backend, self.optimizer = int(p), backend, optimizer.lower()
        self.objective, self.alpha, self.shots, self.maxiter = (
            objective,
            float(alpha),
            int(shots),
            int(maxiter),
        )
        self.seed, self.dtype, self.device, self.aer_method = seed, dtype, device, aer_method
        self.threads = threads
        self.mps_max_bond_dimension = int(mps_max_bond_dimension)
        self.mps_truncation_threshold = float(mps_truncation_threshold)
        self.diag_dtype = diag_dtype

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store).

        The ansatz and schedule options appear only when they differ from the
        defaults, so a plain sampler keeps the identity it had before they existed.
        """
        cfg: dict[str, Any] = {
            "sampler": "qaoa",
            "p": self.p,
            "backend": self.backend,
            "optimizer": self.optimizer,
            "objective": self.objective,
            "alpha": self.alpha,
            "shots": self.shots,
            "maxiter": self.maxiter,
            "dtype": self.dtype,
            "diag_dtype": self.diag_dtype,
            "device": self.device,
            "aer_method": self.aer_method,
        }
        extra = {
            "mixer": self.mixer,
            "initial_state": self.initial_state
            if self.initial_state is None or isinstance(self.initial_state, str)
            else np.asarray(self.initial_state).astype(int).tolist(),
            "groups": self.groups,
            "warm_start": None if self.warm_start is None else self.warm_start.tolist(),
            "eps": self.eps,
            "recentre": self.recentre,
            "schedule": self.schedule,
            "params": self.params,
            "ramp": list(self.ramp),
        }
        defaults = {
            "mixer": "x",
            "initial_state": None,
            "groups": None,
            "warm_start": None,
            "eps": 0.25,
            "recentre": False,
            "schedule": "default",
            "params": "angles",
            "ramp": list(LR_SLOPES),
        }
        cfg.update({k: v for k, v in extra.items() if v != defaults[k]})
        if self.backend == "mps":  # only here, so other backends keep their stored identity
            cfg["mps_max_bond_dimension"] = self.mps_max_bond_dimension
            cfg["mps_truncation_threshold"] = self.mps_truncation_threshold
        return cfg

    # ---------------------------------------------------------------- ansatz
    def _n_hint(self) -> int:
        """A qubit count that lets the constructor validate the ansatz options."""
        n = 1
        if self.groups:
            n = max(n, 1 + max((max(g) for g in self.groups if g), default=0))
        if self.warm_start is not None:
            n = max(n, self.warm_start.size)
        if self.initial_state is not None and not isinstance(self.initial_state, str):
            n = max(n, np.asarray(self.initial_state).size)
        return n

    def _ansatz(self, n: int, centre: Any = None) -> Ansatz:
        """The ansatz on ``n`` qubits (validated; cached per ``n``), recentred on ``centre`` if given."""
        if centre is not None:
            return self._ansatz(n).recentred(centre)
        if n not in self._ansatz_cache:
            self._ansatz_cache[n] = Ansatz.build(
                n,
                mixer=self.mixer,
                initial_state=self.initial_state,
                groups=self.groups,
                warm_start=self.warm_start,
                eps=self.eps,
            )
        return self._ansatz_cache[n]

    def check_fits(self, n_vars: int) -> None:
        """The whole solve path must fit the memory available now (:func:`qslack.memory.estimate_bytes`,
        path ``"solve"``: the form's caches, the previous step's probabilities and this sampler's
        state, diagonal and final probabilities); nothing is allocated.  Sizes beyond 64 qubits are
        stated in words."""
        from qslack.memory import estimate_bytes, require

        if self.device == "GPU":
            _require_gpu(self.backend)
        if self.backend == "mps":  # no 2**n vector: the bond dimension bounds the memory
            return
        if n_vars > 64:
            from qslack._sizes import format_count

            raise ResourceError(
                f"{format_count(n_vars)} qubits: a statevector of 2^{format_count(n_vars)} amplitudes "
                "cannot be simulated"
            )
        need = estimate_bytes(
            n_vars,
            "solve",
            dtype=self.state_dtype(n_vars),
            diag_dtype=self.diag_dtype,
            threads=self.threads,
            gradient=self.optimizer == "l-bfgs-b",
            objective=self.objective,
            backend=self.backend,
        )
        require(need, f"a {n_vars}-qubit QAOA solve ({self.backend}, {self.state_dtype(n_vars)})")

    # ---------------------------------------------------------------- engines
    def state_dtype(self, n: int) -> str:
        """The statevector dtype used for ``n`` qubits (resolves ``"auto"``).

        Examples
        --------
        >>> QAOASampler().state_dtype(10), QAOASampler().state_dtype(24)
        ('complex128', 'complex64')
        """
        if self.dtype != "auto":
            return self.dtype
        return "complex64" if n >= AUTO_C64_QUBITS else "complex128"

    def _engine(self, qubo: QUBO, scale: float, ansatz: Ansatz) -> tuple[Any, Any]:
        """``(simulator, diagonal)`` for the backend, device and ansatz; the statevector kernel's
        ``diagonal`` is stored minus ``self._shift`` (float32 diagonals)."""
        n = qubo.n_vars
        self._shift = 0.0
        dtype = np.complex64 if self.state_dtype(n) == "complex64" else np.complex128
        if self.backend == "statevector" and (not ansatz.is_default or self.p == 0):
            if self.device == "GPU":
                from qslack.samplers.qaoa.kernel_ansatz_gpu import GPUAnsatzSimulator

                return GPUAnsatzSimulator(ansatz, dtype=dtype), qubo.diagonal()
            from qslack.samplers.qaoa.kernel_ansatz import AnsatzSimulator

            if self.diag_dtype == "float32":
                self._shift = qubo.diagonal_shift()
                sim = AnsatzSimulator(ansatz, dtype=dtype, threads=self.threads, diag_dtype=np.float32)
                return sim, qubo.diagonal(np.float32, shift=self._shift)
            return AnsatzSimulator(ansatz, dtype=dtype, threads=self.threads), qubo.diagonal()
        if self.backend == "statevector":
            if self.device == "GPU":
                from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator as Sim
            else:
                from qslack.samplers.qaoa.kernel import StatevectorSimulator as Sim
            ddt = np.float32 if self.diag_dtype == "float32" else np.float64
            if self.device == "GPU":
                sim = Sim(n, dtype=dtype, diag_dtype=ddt)
            else:
                sim = Sim(n, dtype=dtype, threads=self.threads, diag_dtype=ddt)
            if ddt is np.float32:
                self._shift = qubo.diagonal_shift()
                diag = qubo.diagonal(np.float32, shift=self._shift)
            else:
                diag = qubo.diagonal()
            return sim, diag
        from qslack.samplers.qaoa.backends.aer import AerStatevector

        ising = qubo.to_ising()
        sim = AerStatevector(
            ising.h,
            ising.J,
            self.p,
            scale,
            method=self.aer_method,
            device=self.device,
            ansatz=None if ansatz.is_default else ansatz,
        )
        return sim, qubo.diagonal()

    def _start(self, init: Any) -> np.ndarray:
        """Starting point of the optimiser: ``2p`` angles, or the two LR slopes (``params="ramp"``)."""
        if self.p == 0:
            return np.zeros(0)
        if isinstance(init, dict) and not init.get("gammas", True) and "ramp" not in init:
            init = None  # angles of a p = 0 run: nothing to transfer
        if self.params == "ramp":
            if init is None:
                return np.array(self.ramp, dtype=np.float64)
            v = init.get("ramp") if isinstance(init, dict) else init
            x = np.asarray(v, dtype=np.float64).reshape(-1) if v is not None else np.zeros(0)
            if x.shape != (2,) or not np.all(np.isfinite(x)):
                raise ValidationError(
                    "with params='ramp', init must be two slopes (dgamma, dbeta) or a dict with 'ramp' "
                    f"(an earlier SampleSet's info['ramp']), got {init!r}"
                )
            return x
        if init is None:
            return lr_schedule(self.p, *self.ramp) if self.schedule == "lr" else linear_ramp(self.p)
        return as_theta(init, self.p)

    def _theta(self, x: np.ndarray) -> np.ndarray:
        """The ``2p`` angles of an optimiser point."""
        if self.params == "ramp" and self.p > 0:
            return lr_schedule(self.p, float(x[0]), float(x[1]))
        return np.asarray(x, dtype=np.float64)

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        """Optimise the angles on ``qubo`` and sample the final state.

        Parameters
        ----------
        qubo : QUBO
        seed : int, optional
            Seeds the shots (the optimiser is deterministic); default the
            sampler's ``seed``, else a fresh one, recorded in ``info["seed"]``.
        init : array_like or dict, optional
            Warm-start angles (``[gammas, betas]`` of any depth, resampled to ``p``,
            or an earlier SampleSet's ``params``); with ``params="ramp"``
            two slopes or a dict with ``"ramp"`` (``info["ramp"]``).
        shots, maxiter : int, optional
            Override the sampler's.
        warm_start : (n,) array_like in [0, 1], optional
            Centre of the warm ansatz for this sample (the driver passes the
            incumbent when ``recentre``); recorded in ``info["ansatz"]``.
        """
        from scipy.optimize import minimize

        from qslack.samplers.qaoa.gradient import hardware_circuit_evals

        self._check_options(options)
        shots = int(options.get("shots", self.shots))
        maxiter = int(options.get("maxiter", self.maxiter))
        seed = normalize_seed(self.seed if seed is None else seed)
        if self.backend == "mps":
            from qslack.samplers.qaoa.backends.aer import sample_mps

            return sample_mps(
                self,
                qubo,
                seed=seed,
                shots=shots,
                maxiter=maxiter,
                init=options.get("init"),
                centre=options.get("warm_start"),
            )
        t0 = time.perf_counter()
        ansatz = self._ansatz(qubo.n_vars, options.get("warm_start"))
        ising = qubo.to_ising()
        scale = ising.scale
        sim, diag = self._engine(qubo, scale, ansatz)
        t_build = time.perf_counter() - t0
        shift = self._shift
        kw = {"shift": shift} if shift else {}  # the CPU kernels' float32 diagonals are stored shifted
        history: list[float] = []
        best: list[Any] = [np.inf, None]
        n_grad = [0]

        def record(x: np.ndarray, v: float) -> None:
            history.append(float(v))
            if v < best[0]:
                best[0], best[1] = float(v), np.array(x, dtype=np.float64)

        def value(x: np.ndarray) -> float:
            g, b = split(self._theta(x))
            if self.backend == "statevector":
                if self.objective == "expectation" and hasattr(sim, "run_expectation"):
                    v = sim.run_expectation(diag, g, b, scale=scale, **kw)  # energy summed in the last pass
                else:
                    sim.run(diag, g, b, scale=scale, **kw)
                    v = (
                        sim.expectation(diag, **kw)
                        if self.objective == "expectation"
                        else sim.cvar(diag, self.alpha, **kw)
                    )
            else:
                probs = sim.probabilities(g, b)
                v = float(probs @ diag) if self.objective == "expectation" else _cvar(diag, probs, self.alpha)
            record(x, v)
            return float(v)

        def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            g, b = split(x)
            v, dg, db = sim.gradient(
                diag, g, b, scale=scale, shift=shift, objective=self.objective, alpha=self.alpha
            )
            n_grad[0] += 1
            record(x, v)
            return float(v), np.concatenate([dg, db])

        x0 = self._start(options.get("init"))
        theta0 = self._theta(x0)
        t1 = time.perf_counter()
        method = OPTIMIZERS[self.optimizer]
        if maxiter > 0 and method is not None and x0.size > 0:
            opts = optimizer_options(method, maxiter)
            exact_grad = method == "L-BFGS-B" and self.params == "angles" and hasattr(sim, "gradient")
            if exact_grad:
                minimize(value_and_grad, x0, method=method, jac=True, options=opts)
            else:
                minimize(value, x0, method=method, options=opts)
            x = best[1]  # the optimiser may stop on a worse point than one it visited
        else:
            x = x0
        n_opt = len(history)
        final = value(x)
        theta = self._theta(x)
        t_opt = time.perf_counter() - t1
        if self.backend == "statevector":
            expectation = final if self.objective == "expectation" else sim.expectation(diag, **kw)
            probs = sim.probabilities()
            if hasattr(probs, "get"):
                probs = probs.get()
        else:
            probs = sim.probabilities(*split(theta))
        probs = np.asarray(probs, dtype=np.float64)
        if self.backend != "statevector":
            expectation = float(probs @ diag)
        exact_diag = diag if shift == 0.0 and np.asarray(diag).dtype == np.float64 else None
        rng = np.random.default_rng(seed)
        idx, counts = sample_from_probabilities(probs, shots, rng)
        g, b = split(theta)
        # on hardware every value evaluation is one circuit of `shots` shots (the last one prepares
        # the sampled state) and a gradient by parameter shift 4p circuits
        circuits = hardware_circuit_evals(len(history), n_grad[0], self.p)
        info = {
            "backend": self.backend,
            "device": self.device,
            "p": self.p,
            "shots": shots,
            "seed": seed,
            "scale": scale,
            "angles": {"gammas": g.tolist(), "betas": b.tolist()},
            "init": {"gammas": split(theta0)[0].tolist(), "betas": split(theta0)[1].tolist()},
            "objective": self.objective,
            "dtype": self.state_dtype(qubo.n_vars) if self.backend == "statevector" else "complex128",
            "final_value": final,
            "expectation": float(expectation),
            "history": history,
            "n_evals": len(history),
            "n_grad_evals": n_grad[0],
            "circuit_evals": circuits,
            "shots_total": circuits * shots,
            "n_optimizer_evals": n_opt,
            "ansatz": ansatz.config(),
            "schedule": self.schedule,
            "params": self.params,
            "timings": {"build_s": t_build, "optimise_s": t_opt, "total_s": time.perf_counter() - t0},
        }
        if options.get("warm_start") is not None:
            info["centre"] = list(ansatz.warm_start or ())
        params: dict[str, Any] = {"gammas": g.tolist(), "betas": b.tolist()}
        if self.params == "ramp":
            info["ramp"] = [float(v) for v in x] if self.p > 0 else list(self.ramp)
            info["ramp_init"] = [float(v) for v in x0] if self.p > 0 else list(self.ramp)
            params["ramp"] = info["ramp"]
        return SampleSet.from_indices(
            idx, counts, qubo, info=info, diagonal=exact_diag, probabilities=probs, params=params
        )


def _require_gpu(backend: str) -> None:
    """A CUDA device for ``backend`` (CuPy for the statevector kernel, qiskit-aer-gpu for Aer), or a
    one-line :class:`~qslack.exceptions.DependencyError`."""
    if backend == "aer":
        try:
            from qiskit_aer import AerSimulator

            ok = "GPU" in AerSimulator().available_devices()
        except Exception:
            ok = False
        if not ok:
            raise DependencyError(
                "device GPU needs qiskit-aer-gpu and a CUDA device (pip install qiskit-aer-gpu); none found"
            )
        return
    try:
        import cupy

        ok = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        ok = False
    if not ok:
        raise DependencyError("device GPU needs CuPy and a CUDA device (pip install qslack[gpu]); none found")


def _cvar(diag: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    order = np.argsort(diag, kind="stable")
    p = probs[order]
    c = np.cumsum(p)
    k = int(np.searchsorted(c, alpha))
    head = c[k - 1] if k else 0.0
    return float((p[:k] @ diag[order][:k] + (alpha - head) * diag[order][min(k, len(p) - 1)]) / alpha)
