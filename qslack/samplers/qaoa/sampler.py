"""``QAOASampler``: QAOA on a QUBO with one of several backends, optimised with scipy.

The cost is ``H / s`` with ``s`` the largest absolute Ising coefficient, the
phase ``exp(-i gamma H / s)``, the mixer ``exp(-i beta sum X)``; angles start
from a linear ramp or from ``init`` (warm start) and are optimised on the
expectation or the CVaR of the energy.  The final state is sampled ``shots``
times with the seeded generator.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from qslack.exceptions import OptionError, ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet
from qslack.samplers.qaoa.angles import as_theta, split

__all__ = ["QAOASampler", "sample_from_probabilities"]

BACKENDS = ("statevector", "aer")
OPTIMIZERS = {"cobyla": "COBYLA", "nelder-mead": "Nelder-Mead", "l-bfgs-b": "L-BFGS-B", "powell": "Powell"}
OBJECTIVES = ("expectation", "cvar")
AUTO_C64_QUBITS = 18  # dtype="auto": complex64 from this many qubits


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
        Depth (number of cost + mixer layers).
    backend : {"statevector", "aer"}
        ``statevector``: our compiled kernel on ``qubo.diagonal()`` (default,
        fast); ``aer``: the Qiskit circuit on ``AerSimulator``.
    optimizer : {"cobyla", "nelder-mead", "l-bfgs-b", "powell"}
        scipy.optimize method.  ``l-bfgs-b`` on the statevector backend uses the
        exact gradient of the objective (adjoint method, ``jac=True``: one call
        is a value and a gradient for ~3.5 evaluations' time,
        :mod:`~qslack.samplers.qaoa.gradient`); on Aer, finite differences.
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

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]))   # ground states 00 and 11
    >>> ss = QAOASampler(p=1, shots=200, maxiter=30, seed=1).sample(q)
    >>> ss.n_shots, sorted(ss.info["angles"])
    (200, ['betas', 'gammas'])
    >>> g = QAOASampler(p=1, optimizer="l-bfgs-b", shots=200, maxiter=30, seed=1).sample(q)
    >>> g.info["n_grad_evals"] > 0
    True
    """

    parameters: ClassVar[dict[str, str]] = {
        "init": "warm-start angles",
        "shots": "samples",
        "maxiter": "budget",
    }
    properties: ClassVar[dict[str, Any]] = {"name": "qaoa", "exact": False}

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
        if int(p) < 1 or int(shots) < 1 or int(maxiter) < 0:
            raise ValidationError(f"need p >= 1, shots >= 1, maxiter >= 0; got {p}, {shots}, {maxiter}")
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
        self.diag_dtype = diag_dtype

    def config(self) -> dict[str, Any]:
        """The sampler's configuration (what identifies it in the store)."""
        return {
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

    def _engine(self, qubo: QUBO, scale: float) -> tuple[Any, Any]:
        """``(simulator, diagonal)``; statevector: ``diagonal`` minus ``self._shift``."""
        n = qubo.n_vars
        self._shift = 0.0
        if self.backend == "statevector":
            if self.device == "GPU":
                from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator as Sim
            else:
                from qslack.samplers.qaoa.kernel import StatevectorSimulator as Sim
            dtype = np.complex64 if self.state_dtype(n) == "complex64" else np.complex128
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
        sim = AerStatevector(ising.h, ising.J, self.p, scale, method=self.aer_method, device=self.device)
        return sim, qubo.diagonal()

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
            or an earlier SampleSet's ``info["angles"]``).
        shots, maxiter : int, optional
            Override the sampler's.
        """
        from scipy.optimize import minimize

        self._check_options(options)
        shots = int(options.get("shots", self.shots))
        maxiter = int(options.get("maxiter", self.maxiter))
        if seed is None:
            seed = self.seed if self.seed is not None else int(np.random.SeedSequence().entropy % (2**63))
        t0 = time.perf_counter()
        ising = qubo.to_ising()
        scale = ising.scale
        sim, diag = self._engine(qubo, scale)
        t_build = time.perf_counter() - t0
        history: list[float] = []
        best: list[Any] = [np.inf, None]
        n_grad = [0]
        shift = self._shift

        def record(theta: np.ndarray, v: float) -> None:
            history.append(float(v))
            if v < best[0]:
                best[0], best[1] = float(v), np.array(theta, dtype=np.float64)

        def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            g, b = split(theta)
            v, dg, db = sim.gradient(
                diag, g, b, scale=scale, shift=shift, objective=self.objective, alpha=self.alpha
            )
            n_grad[0] += 1
            record(theta, v)
            return float(v), np.concatenate([dg, db])

        def value(theta: np.ndarray) -> float:
            g, b = split(theta)
            if self.backend == "statevector":
                if self.objective == "expectation" and hasattr(sim, "run_expectation"):
                    v = sim.run_expectation(diag, g, b, scale=scale, shift=shift)  # summed in the last pass
                else:
                    sim.run(diag, g, b, scale=scale, shift=shift)
                    if self.objective == "expectation":
                        v = sim.expectation(diag, shift=shift)
                    else:
                        v = sim.cvar(diag, self.alpha, shift=shift)
            else:
                probs = sim.probabilities(g, b)
                v = float(probs @ diag) if self.objective == "expectation" else _cvar(diag, probs, self.alpha)
            record(theta, v)
            return float(v)

        theta0 = as_theta(options.get("init"), self.p)
        t1 = time.perf_counter()
        if maxiter > 0:
            method = OPTIMIZERS[self.optimizer]
            opts: dict[str, Any] = {"maxiter": maxiter}
            if method == "COBYLA":
                opts["rhobeg"] = 0.2
            elif method in ("Nelder-Mead", "Powell"):
                opts = {"maxfev": maxiter}
            elif method == "L-BFGS-B":
                opts = {"maxfun": maxiter}
            if method == "L-BFGS-B" and self.backend == "statevector" and hasattr(sim, "gradient"):
                minimize(value_and_grad, theta0, method=method, jac=True, options=opts)
            else:
                minimize(value, theta0, method=method, options=opts)
            theta = best[1]  # the optimiser may stop on a worse point than one it visited
        else:
            theta = theta0
        final = value(theta)
        t_opt = time.perf_counter() - t1
        if self.backend == "statevector":
            expectation = final if self.objective == "expectation" else sim.expectation(diag, shift=shift)
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
            "timings": {"build_s": t_build, "optimise_s": t_opt, "total_s": time.perf_counter() - t0},
            "probabilities": probs,
        }
        return SampleSet.from_indices(idx, counts, qubo, info=info, diagonal=exact_diag)


def _cvar(diag: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    order = np.argsort(diag, kind="stable")
    p = probs[order]
    c = np.cumsum(p)
    k = int(np.searchsorted(c, alpha))
    head = c[k - 1] if k else 0.0
    return float((p[:k] @ diag[order][:k] + (alpha - head) * diag[order][min(k, len(p) - 1)]) / alpha)
