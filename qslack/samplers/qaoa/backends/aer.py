"""QAOA on qiskit-aer's ``AerSimulator``: the real circuit, as a cross-check of
the kernel and the bridge to hardware.

The parametrised circuit (:func:`qslack.samplers.qaoa.circuit.qaoa_circuit`) is
built and transpiled for the simulator once; every evaluation only binds the
angles (Aer's ``parameter_binds``).  Probabilities and counts use the kernel's
index convention: bit ``j`` of the basis index is qubit ``j`` (= ``x_j``).

qiskit and qiskit-aer are imported when an :class:`AerStatevector` is created,
never at module import.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import DependencyError, ValidationError
from qslack.samplers.qaoa.circuit import _check_ising, qaoa_circuit
from qslack.samplers.qaoa.kernel import check_memory

__all__ = ["AerStatevector"]

_METHODS = ("statevector", "matrix_product_state")
_DEVICES = ("CPU", "GPU")


def _import_aer():
    try:
        from qiskit_aer import AerSimulator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(
            "the 'aer' backend needs qiskit-aer: pip install qiskit-aer "
            "(or qiskit-aer-gpu for device='GPU')"
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
        self._sim = AerSimulator(
            method=method, device=device, max_parallel_threads=int(max_parallel_threads)
        )
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
