"""QAOA on qiskit-aer's ``AerSimulator``: the real circuit, as a cross-check of
the kernel and the bridge to hardware.

The parametrised circuit (:func:`qslack.samplers.qaoa.circuit.qaoa_circuit`) is
built and transpiled for the simulator once; every evaluation only binds the
angles (Aer's ``parameter_binds``).  Probabilities and counts use the kernel's
index convention: bit ``j`` of the basis index is qubit ``j`` (= ``x_j``).

:class:`AerMPS` and :func:`sample_mps` are the ``QAOASampler(backend="mps")``
path for sparse interaction graphs too wide for a statevector (Sloane's MIS
graphs, 32-128 nodes): Aer's ``matrix_product_state`` method, no ``2**n``
vector anywhere (see :func:`sample_mps` for what that changes).

qiskit and qiskit-aer are imported when an :class:`AerStatevector` or
:class:`AerMPS` is created, never at module import.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from qslack.exceptions import DependencyError, OptionError, ValidationError
from qslack.samplers.qaoa.circuit import _check_ising, qaoa_circuit
from qslack.samplers.qaoa.kernel import check_memory

if TYPE_CHECKING:  # pragma: no cover
    from qslack.model.qubo import QUBO
    from qslack.samplers.base import SampleSet
    from qslack.samplers.qaoa.sampler import QAOASampler

__all__ = [
    "MPS_MAX_BOND_DIMENSION",
    "MPS_TRUNCATION_THRESHOLD",
    "AerMPS",
    "AerStatevector",
    "counts_to_X",
    "sample_mps",
]

#: default ``matrix_product_state_max_bond_dimension``: at most 64 singular values kept per bond
MPS_MAX_BOND_DIMENSION = 64
#: default ``matrix_product_state_truncation_threshold``: singular values whose squares sum below
#: this are dropped at each SVD (Aer's own default is 1e-16 with no bond limit)
MPS_TRUNCATION_THRESHOLD = 1e-10
_DISCARDED = re.compile(r"discarded_value=([0-9.eE+-]+)")
_BOND = re.compile(r"BD=\[([0-9 ]*)\]")
_LOG_SEEN = 0  # length of Aer's process-wide MPS log already read

_METHODS = ("statevector", "matrix_product_state")
_DEVICES = ("CPU", "GPU")


def _import_aer():
    try:
        from qiskit_aer import AerSimulator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(
            "the 'aer' backend needs qiskit-aer: pip install qiskit-aer (or qiskit-aer-gpu for device='GPU')"
        ) from exc
    return AerSimulator


class AerStatevector:
    """QAOA state of an Ising cost simulated by ``AerSimulator``.

    Parameters
    ----------
    h, J : arrays
        Ising form ``H = offset + h.z + sum_{i<j} J_ij z_i z_j`` (the offset only
        changes the global phase and is not needed).
    p : int
        Number of layers.
    scale : float
        The cost is divided by ``scale`` as in the kernel, so the same
        ``(gammas, betas)`` give the same state.
    method : {"statevector", "matrix_product_state"}
        Aer simulation method.
    device : {"CPU", "GPU"}
        ``"GPU"`` needs qiskit-aer-gpu.
    seed : int, optional
        ``seed_simulator`` default for :meth:`sample`.
    max_parallel_threads : int
        Aer's thread limit (0: all cores).
    ansatz : Ansatz, optional
        Mixer and initial state (:mod:`~qslack.samplers.qaoa.ansatz`); default
        the X mixer from ``|+>^n``.  ``p = 0`` simulates the initial state alone.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([0.5, -1.0]); J = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> aer = AerStatevector(h, J, p=1, scale=1.0)
    >>> probs = aer.probabilities([0.4], [0.3])
    >>> probs.shape, round(float(probs.sum()), 12)
    ((4,), 1.0)
    """

    def __init__(
        self,
        h,
        J,
        p: int,
        scale: float = 1.0,
        *,
        method: str = "statevector",
        device: str = "CPU",
        seed: int | None = None,
        max_parallel_threads: int = 0,
        ansatz=None,
    ) -> None:
        h, J = _check_ising(h, J)
        if method not in _METHODS:
            raise ValidationError(f"method must be one of {_METHODS}, got {method!r}")
        if device not in _DEVICES:
            raise ValidationError(f"device must be one of {_DEVICES}, got {device!r}")
        if method == "statevector":  # refuse before building anything
            check_memory(int(h.size), np.complex128)
        AerSimulator = _import_aer()

        self.n = int(h.size)
        self.p = int(p)
        self.scale = float(scale)
        self.method = method
        self.device = device
        self.seed = seed
        if device == "GPU":
            devices = AerSimulator().available_devices()
            if "GPU" not in devices:
                raise DependencyError(
                    f"qiskit-aer has no GPU device here (available: {', '.join(devices)}); "
                    "install qiskit-aer-gpu (pip install qiskit-aer-gpu, which replaces "
                    "qiskit-aer) on a machine with an NVIDIA GPU and CUDA"
                )
        self._sim = AerSimulator(method=method, device=device, max_parallel_threads=int(max_parallel_threads))
        self.ansatz = ansatz
        qc, self._gammas, self._betas = qaoa_circuit(h, J, self.p, self.scale, ansatz=ansatz)
        self._params = list(self._gammas) + list(self._betas)
        self._qc = qc
        self._compiled: dict[str, object] = {}  # transpiled on first use, once

    def _circuit(self, kind: str):
        """The circuit with its result instruction, transpiled for the simulator once."""
        if kind not in self._compiled:
            from qiskit import transpile

            qc = self._qc.copy()
            if kind == "probabilities":
                qc.save_probabilities(label="probabilities")
            elif kind == "statevector":
                qc.save_statevector(label="statevector")
            else:
                qc.measure_all()
            self._compiled[kind] = transpile(qc, self._sim, optimization_level=0)
        return self._compiled[kind]

    def _binds(self, gammas, betas) -> list[dict] | None:
        g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
        if g.shape != (self.p,) or b.shape != (self.p,):
            raise ValidationError(
                f"gammas and betas must have length p={self.p}, got {g.shape} and {b.shape}"
            )
        if self.p == 0:
            return None
        values = np.concatenate([g, b])
        return [{prm: [float(v)] for prm, v in zip(self._params, values, strict=True)}]

    def _check_result(self, result):
        if not result.success:
            raise ValidationError(f"Aer simulation failed: {result.status}")

    def probabilities(self, gammas, betas) -> np.ndarray:
        """Probabilities of all ``2**n`` basis states (float64, kernel order).

        Raises :class:`~qslack.exceptions.ResourceError` before simulating if
        the state and the returned vector do not fit in memory.
        """
        if self.method == "statevector":
            check_memory(self.n, np.complex128, extra_bytes=(1 << self.n) * 8)
        else:  # the MPS itself is small, the returned vector is not
            check_memory(self.n, np.float64, extra_bytes=0)
        qc = self._circuit("probabilities")
        job = self._sim.run(qc, parameter_binds=self._binds(gammas, betas), shots=1)
        result = job.result()
        self._check_result(result)
        probs = np.asarray(result.data(0)["probabilities"], dtype=np.float64)
        if probs.shape != (1 << self.n,):  # pragma: no cover - defensive
            raise ValidationError(f"Aer returned probabilities of shape {probs.shape}")
        return probs

    def statevector(self, gammas, betas) -> np.ndarray:
        """The final state's ``2**n`` amplitudes (complex128, kernel order; global phase as Aer's).

        Only for ``method="statevector"``.
        """
        if self.method != "statevector":
            raise ValidationError("statevector() needs method='statevector'")
        check_memory(self.n, np.complex128, extra_bytes=(1 << self.n) * 16)
        job = self._sim.run(self._circuit("statevector"), parameter_binds=self._binds(gammas, betas), shots=1)
        result = job.result()
        self._check_result(result)
        return np.asarray(result.data(0)["statevector"], dtype=np.complex128)

    def expectation(self, diag, gammas, betas) -> float:
        """``sum_k probabilities[k] * diag[k]``."""
        return float(np.dot(self.probabilities(gammas, betas), np.asarray(diag, np.float64)))

    def sample(self, gammas, betas, shots: int, seed: int | None = None) -> dict[int, int]:
        """Measure ``shots`` times; returns ``{basis index: count}``.

        With ``method="matrix_product_state"`` no ``2**n`` vector is ever built,
        so this works beyond the statevector's memory limit.
        """
        shots = int(shots)
        if shots < 1:
            raise ValidationError(f"shots must be >= 1, got {shots}")
        if self.method == "statevector":
            check_memory(self.n, np.complex128)
        seed = self.seed if seed is None else seed
        opts = {} if seed is None else {"seed_simulator": int(seed)}
        job = self._sim.run(
            self._circuit("shots"), parameter_binds=self._binds(gammas, betas), shots=shots, **opts
        )
        result = job.result()
        self._check_result(result)
        counts = result.get_counts(0)
        return {int(key.replace(" ", ""), 2): int(v) for key, v in counts.items()}


def counts_to_X(counts: dict[str, int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Aer's ``{bitstring: count}`` as ``(X, counts)``; column ``j`` is qubit ``j`` (the string's
    character ``n - 1 - j``).  Works for any ``n`` (no integer index).

    Examples
    --------
    >>> X, c = counts_to_X({"001": 3, "1 10": 1}, 3)
    >>> X.tolist(), c.tolist()
    ([[1, 0, 0], [0, 1, 1]], [3, 1])
    """
    keys = [k.replace(" ", "") for k in counts]
    if any(len(k) != n for k in keys):
        raise ValidationError(f"Aer returned bitstrings of length other than {n}")
    raw = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8).reshape(len(keys), n)
    X = (raw[:, ::-1] - ord("0")).astype(np.uint8)
    return X, np.fromiter(counts.values(), dtype=np.int64, count=len(keys))


class AerMPS:
    """QAOA of a QUBO on Aer's matrix-product-state simulator: expectation and shots, no ``2**n`` vector.

    Parameters
    ----------
    qubo : QUBO
        The cost; its Ising form (scaled by ``s = max |coefficient|`` as in the
        kernel) gives the circuit, its ``SparsePauliOp`` (offset included) the
        observable, so :meth:`expectation` is the mean QUBO energy.
    p : int
        QAOA depth.
    max_bond_dimension : int
        Aer's ``matrix_product_state_max_bond_dimension`` (default :data:`MPS_MAX_BOND_DIMENSION`).
    truncation_threshold : float
        Aer's ``matrix_product_state_truncation_threshold`` (default :data:`MPS_TRUNCATION_THRESHOLD`).
    max_parallel_threads : int
        Aer's thread limit (0: all cores).

    Attributes
    ----------
    last_truncation : dict
        From Aer's ``mps_log_data`` of the last logged run (``log=True``; logging costs
        time, so evaluations run without it): ``discarded_weight`` (sum of the
        discarded squared singular values over every truncation), ``fidelity_estimate``
        (``prod(1 - discarded)``, the usual estimate of the squared overlap with the
        exact state), ``n_truncations``, ``max_bond`` (largest bond dimension logged)
        and ``n_svds`` (two-qubit steps, one SVD each).  Aer logs the cuts the bond
        limit forces and the larger threshold cuts, not the tiny ones below the
        threshold: each of those drops less than ``truncation_threshold``, so they
        cost at most about ``n_svds * truncation_threshold`` in fidelity (a 10-qubit
        dense test state at p=2 lost 1.4e-9 at the default 1e-10 with none logged).

    Examples
    --------
    >>> import numpy as np
    >>> from qslack.model.qubo import QUBO
    >>> mps = AerMPS(QUBO(np.array([[1.0, -2.0], [0.0, 1.0]])), p=1)
    >>> round(mps.expectation([0.0], [0.0], log=True), 12)    # |++>: mean of the energies 0, 1, 1, 0
    0.5
    >>> mps.last_truncation["fidelity_estimate"]
    1.0
    """

    def __init__(
        self,
        qubo: QUBO,
        p: int,
        *,
        max_bond_dimension: int = MPS_MAX_BOND_DIMENSION,
        truncation_threshold: float = MPS_TRUNCATION_THRESHOLD,
        max_parallel_threads: int = 0,
        ansatz: Any = None,
    ) -> None:
        if int(max_bond_dimension) < 1:
            raise ValidationError(f"max_bond_dimension must be >= 1, got {max_bond_dimension}")
        if not 0.0 <= float(truncation_threshold) < 1.0:
            raise ValidationError(f"truncation_threshold must be in [0, 1), got {truncation_threshold}")
        AerSimulator = _import_aer()
        ising = qubo.to_ising()
        self.n, self.p, self.scale = int(qubo.n_vars), int(p), float(ising.scale)
        self.max_bond_dimension = int(max_bond_dimension)
        self.truncation_threshold = float(truncation_threshold)
        opts = {
            "method": "matrix_product_state",
            "matrix_product_state_max_bond_dimension": self.max_bond_dimension,
            "matrix_product_state_truncation_threshold": self.truncation_threshold,
            "max_parallel_threads": int(max_parallel_threads),
        }
        self._sim = AerSimulator(**opts)
        self._sim_log = AerSimulator(mps_log_data=True, **opts)
        # h, rz, rzz, rx, measure are Aer instructions: no transpiling (it would refuse > 63 qubits)
        qc, gammas, betas = qaoa_circuit(ising.h, ising.J, self.p, self.scale, ansatz=ansatz)
        # XY gates and the W-state's controlled-RY are not MPS instructions: their definitions are
        # (decompose, not transpile: transpiling refuses more than 63 qubits)
        odd = [name for name in ("xx_plus_yy", "cry") if name in qc.count_ops()]
        if odd:
            qc = qc.decompose(gates_to_decompose=odd)
        self._params = list(gammas) + list(betas)
        self._qc_energy = qc.copy()
        self._qc_energy.save_expectation_value(qubo.to_sparse_pauli_op(), list(range(self.n)), label="energy")
        self._qc_shots = qc.copy()
        self._qc_shots.measure_all()
        self.last_truncation: dict[str, Any] = {}

    _binds = AerStatevector._binds

    def _run(self, circuit: Any, gammas: Any, betas: Any, *, log: bool = False, **opts: Any) -> Any:
        global _LOG_SEEN
        sim = self._sim_log if log else self._sim
        result = sim.run(circuit, parameter_binds=self._binds(gammas, betas), **opts).result()
        if not result.success:
            raise ValidationError(f"Aer MPS simulation failed: {result.status}")
        if log:
            # Aer keeps one log per process and appends every logged run to it: read what this run added
            full = str(result.results[0].metadata.get("MPS_log_data", ""))
            part = full[_LOG_SEEN:] if len(full) >= _LOG_SEEN else full
            _LOG_SEEN = len(full)
            disc = np.array([float(v) for v in _DISCARDED.findall(part)])
            bonds = [max(map(int, b.split()), default=1) for b in _BOND.findall(part)]
            self.last_truncation = {
                "discarded_weight": float(disc.sum()),
                "fidelity_estimate": float(np.prod(1.0 - disc)),
                "n_truncations": int(disc.size),
                "max_bond": int(max(bonds, default=1)),
                "n_svds": len(bonds),
            }
        return result

    def expectation(self, gammas: Any, betas: Any, *, log: bool = False) -> float:
        """Mean QUBO energy of the (truncated) QAOA state: Aer's ``save_expectation_value``.

        ``log=True`` also fills :attr:`last_truncation` (Aer's ``mps_log_data``; slower).
        """
        res = self._run(self._qc_energy, gammas, betas, log=log, shots=1)
        return float(np.real(res.data(0)["energy"]))

    def statevector(self, gammas: Any, betas: Any) -> np.ndarray:
        """The MPS contracted to its ``2**n`` amplitudes (kernel order), for checks on small ``n``.

        Raises :class:`~qslack.exceptions.ResourceError` when the vector does not fit in memory.
        """
        check_memory(self.n, np.complex128)
        qc = self._qc_shots.remove_final_measurements(inplace=False)
        qc.save_statevector(label="psi")
        res = self._run(qc, gammas, betas, log=True, shots=1)
        return np.asarray(res.data(0)["psi"], dtype=np.complex128)

    def sample(
        self, gammas: Any, betas: Any, shots: int, seed: int, *, log: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``shots`` measurements of the (truncated) state: ``(X, counts)``, distinct rows.

        ``log=True`` also fills :attr:`last_truncation`.
        """
        shots = int(shots)
        if shots < 1:
            raise ValidationError(f"shots must be >= 1, got {shots}")
        seed = int(seed) % (2**63)
        res = self._run(self._qc_shots, gammas, betas, log=log, shots=shots, seed_simulator=seed)
        return counts_to_X(res.get_counts(0), self.n)


def _cvar_of_shots(energy: np.ndarray, counts: np.ndarray, alpha: float) -> float:
    order = np.argsort(energy, kind="stable")
    e, c = energy[order], counts[order].astype(np.float64)
    k = alpha * c.sum()
    take = np.clip(k - (np.cumsum(c) - c), 0.0, c)
    return float(take @ e / k)


def sample_mps(
    sampler: QAOASampler,
    qubo: QUBO,
    *,
    seed: int,
    shots: int,
    maxiter: int,
    init: Any = None,
    centre: Any = None,
) -> SampleSet:
    """``QAOASampler(backend="mps").sample``: optimise the angles on Aer's MPS, then sample it.

    What differs from the statevector backends:

    - objective ``"expectation"``: Aer's ``save_expectation_value`` of the QUBO's
      Pauli form on the MPS, exact up to the truncation and free of shot noise,
      so the optimiser sees a smooth function; objective ``"cvar"``: from
      ``shots`` measurements per evaluation (CVaR needs the distribution);
    - no ``info["probabilities"]``: ``2**n`` probabilities are out of reach, so
      ``info["estimated_from_shots"] = True`` and callers estimate P(feasible)
      and P(optimal) from the shots (``qslack.dual`` does);
    - ``info["mps"]``: the bond dimension and truncation threshold used and the
      truncation Aer reported for the final state (``AerMPS.last_truncation``).

    ``sampler`` supplies ``p``, ``optimizer``, ``objective``, ``alpha``,
    ``mps_max_bond_dimension``, ``mps_truncation_threshold`` and ``threads``.
    """
    from scipy.optimize import minimize

    from qslack.samplers.base import SampleSet
    from qslack.samplers.qaoa.angles import split
    from qslack.samplers.qaoa.sampler import OPTIMIZERS, optimizer_options

    if sampler.device != "CPU":
        raise OptionError("the 'mps' backend runs on the CPU only (Aer has no GPU MPS method)")
    t0 = time.perf_counter()
    ansatz = sampler._ansatz(qubo.n_vars, centre)
    mps = AerMPS(
        qubo,
        sampler.p,
        max_bond_dimension=sampler.mps_max_bond_dimension,
        truncation_threshold=sampler.mps_truncation_threshold,
        max_parallel_threads=sampler.threads or 0,
        ansatz=None if ansatz.is_default else ansatz,
    )
    t_build = time.perf_counter() - t0
    history: list[float] = []
    best: list[Any] = [np.inf, None]
    eval_seeds = np.random.SeedSequence([int(seed) % (2**63), 1])

    def value(x: np.ndarray) -> float:
        g, b = split(sampler._theta(x))
        if sampler.objective == "expectation":
            v = mps.expectation(g, b)
        else:  # cvar: a fresh seeded shot batch per evaluation
            s = int(eval_seeds.spawn(1)[0].generate_state(1, dtype=np.uint64)[0] >> 1)
            X, c = mps.sample(g, b, sampler.shots, s)
            v = _cvar_of_shots(qubo.energies(X), c, sampler.alpha)
        history.append(float(v))
        if v < best[0]:
            best[0], best[1] = float(v), np.array(x, dtype=np.float64)
        return float(v)

    x0 = sampler._start(init)  # angles, or the two LR slopes (params="ramp")
    theta0 = sampler._theta(x0)
    t1 = time.perf_counter()
    method = OPTIMIZERS[sampler.optimizer]
    if maxiter > 0 and method is not None and x0.size > 0:
        minimize(value, x0, method=method, options=optimizer_options(method, maxiter))
        x = best[1]
    else:
        x = x0
    n_opt = len(history)
    final = value(x)
    theta = sampler._theta(x)
    g, b = split(theta)
    expectation = final if sampler.objective == "expectation" else mps.expectation(g, b)
    t_opt = time.perf_counter() - t1
    X, counts = mps.sample(g, b, shots, seed, log=True)  # the reported truncation is this state's
    info = {
        "backend": "mps",
        "device": "CPU",
        "p": sampler.p,
        "shots": shots,
        "seed": seed,
        "scale": mps.scale,
        "angles": {"gammas": g.tolist(), "betas": b.tolist()},
        "init": {"gammas": split(theta0)[0].tolist(), "betas": split(theta0)[1].tolist()},
        "objective": sampler.objective,
        "final_value": final,
        "expectation": expectation,
        "expectation_method": "aer save_expectation_value (MPS)",
        "estimated_from_shots": True,
        "history": history,
        "n_evals": len(history),
        "n_optimizer_evals": n_opt,
        "ansatz": ansatz.config(),
        "schedule": sampler.schedule,
        "params": sampler.params,
        "mps": {
            "max_bond_dimension": mps.max_bond_dimension,
            "truncation_threshold": mps.truncation_threshold,
            **mps.last_truncation,
        },
        "circuit_evals": len(history),  # each evaluation a circuit on hardware; the last one samples
        "shots_total": len(history) * shots,
        "timings": {"build_s": t_build, "optimise_s": t_opt, "total_s": time.perf_counter() - t0},
    }
    if centre is not None:
        info["centre"] = list(ansatz.warm_start or ())
    params: dict[str, Any] = {"gammas": g.tolist(), "betas": b.tolist()}
    if sampler.params == "ramp":
        info["ramp"] = [float(v) for v in x] if sampler.p > 0 else list(sampler.ramp)
        params["ramp"] = info["ramp"]
    return SampleSet.from_samples(X, qubo, counts=counts, info=info, params=params)
