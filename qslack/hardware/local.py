"""Fake IBM backends in local mode: ``SamplerV2`` on an Aer simulator with the backend's noise model.

:class:`LocalFakeService` implements :class:`~qslack.hardware.service.IBMService`; its jobs finish
synchronously and live in memory (one process).  Simulations are restricted to the physical
qubits a circuit uses (bit-identical counts to the whole-device simulation, much faster).
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.exceptions import DependencyError
from qslack.hardware.errors import (
    _SAMPLER_DEPRECATION,
    FINAL_STATUSES,
    JobFailedError,
    JobNotFoundError,
    JobPendingError,
    ServiceError,
    redact,
)
from qslack.hardware.service import IBMService, counts_from_pub_result

__all__ = ["LocalFakeService", "NoisyDevice", "fake_device"]


# =========================================================================== fake backends
def _fake_backend_class(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError("fake backends need qiskit-ibm-runtime: pip install 'qslack[ibm]'") from exc
    key = name.lower()
    if key.startswith("ibm_"):
        key = "fake_" + key[4:]
    if not key.startswith("fake_"):
        raise ServiceError(f"{name!r} is not a fake backend name (such as 'fake_torino')")
    wanted = key.replace("_", "")
    for attr in dir(fake_provider):
        if attr.lower() == wanted and attr.startswith("Fake"):
            return getattr(fake_provider, attr), key
    raise ServiceError(f"qiskit-ibm-runtime has no fake backend {key!r} (class Fake{key[5:].title()})")


def _sub_target(parent: Any, physical: Sequence[int]) -> Any:
    """The part of ``parent`` (a ``Target``) on ``physical`` qubits, renumbered 0..k-1."""
    from qiskit.transpiler import Target

    pos = {q: i for i, q in enumerate(physical)}
    qprops = parent.qubit_properties
    tgt = Target(
        description=f"{parent.description} on qubits {list(physical)}",
        num_qubits=len(physical),
        dt=parent.dt,
        granularity=parent.granularity,
        min_length=parent.min_length,
        pulse_alignment=parent.pulse_alignment,
        acquire_alignment=parent.acquire_alignment,
        qubit_properties=None if qprops is None else [qprops[q] for q in physical],
        concurrent_measurements=None,
    )
    for op_name in parent.operation_names:
        op = parent.operation_from_name(op_name)
        props = parent[op_name]
        if isinstance(op, type):  # control flow, added globally by class
            tgt.add_instruction(op, name=op_name)
            continue
        if props is None or None in props:
            tgt.add_instruction(op, None if props is None else {None: props[None]}, name=op_name)
            continue
        sub = {tuple(pos[q] for q in qargs): p for qargs, p in props.items() if all(q in pos for q in qargs)}
        if sub:
            tgt.add_instruction(op, sub, name=op_name)
    return tgt


def _sub_backend(parent: Any, physical: Sequence[int]) -> Any:
    """A ``BackendV2`` holding the part of ``parent``'s target on ``physical`` qubits."""
    from qiskit.providers import BackendV2, Options

    class _SubBackend(BackendV2):
        def __init__(self) -> None:
            super().__init__(
                name=f"{parent.name}[{','.join(map(str, physical))}]",
                description=getattr(parent, "description", None),
                backend_version=getattr(parent, "backend_version", None),
            )
            self._target = _sub_target(parent.target, physical)

        @property
        def target(self) -> Any:
            return self._target

        @property
        def max_circuits(self) -> None:
            return None

        @classmethod
        def _default_options(cls) -> Any:
            return Options()

        def run(self, run_input: Any, **options: Any) -> Any:  # pragma: no cover - never run
            raise NotImplementedError("a sub-backend only describes qubits; run on its AerSimulator")

    return _SubBackend()


class NoisyDevice:
    """A fake backend and its noise-model simulators, built once per backend name.

    A transpiled circuit on a 133- or 156-qubit device touches only a few
    physical qubits; rebuilding (and handing to Aer) the whole device's noise
    model costs seconds per run.  ``simulator(qubits)`` gives an
    ``AerSimulator.from_backend`` of the device restricted to those physical
    qubits (renumbered ``0..k-1``): the same gate, readout and relaxation
    errors on those qubits, so the same distribution (bit for bit with the
    same seed) as the full device model; it is cached per qubit set.

    Get one with :func:`fake_device`, never directly: the module keeps one
    per backend name.
    """

    def __init__(self, name: str, *, max_cached: int = 64) -> None:
        cls, self.name = _fake_backend_class(name)
        self.backend = cls()
        self.max_cached = int(max_cached)
        self._sims: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._full: Any = None
        self._lock = threading.Lock()
        self.n_built = 0

    def simulator(self, physical_qubits: Sequence[int] | None = None) -> Any:
        """The noise-model ``AerSimulator`` of ``physical_qubits`` (``None``: the whole device)."""
        from qiskit_aer import AerSimulator

        if physical_qubits is None:
            with self._lock:
                if self._full is None:
                    self._full = AerSimulator.from_backend(self.backend)
                    self.n_built += 1
                return self._full
        key = tuple(int(q) for q in physical_qubits)
        with self._lock:
            sim = self._sims.get(key)
            if sim is not None:
                self._sims.move_to_end(key)
                return sim
            sim = AerSimulator.from_backend(_sub_backend(self.backend, key))
            self.n_built += 1
            self._sims[key] = sim
            while len(self._sims) > self.max_cached:
                self._sims.popitem(last=False)
            return sim


_DEVICES: dict[str, NoisyDevice] = {}
_DEVICES_LOCK = threading.Lock()


def fake_device(name: str) -> NoisyDevice:
    """The process-wide :class:`NoisyDevice` of a fake backend (``"fake_torino"``; ``"ibm_torino"``
    maps to its fake twin)."""
    _, key = _fake_backend_class(name)
    with _DEVICES_LOCK:
        dev = _DEVICES.get(key)
        if dev is None:
            dev = _DEVICES[key] = NoisyDevice(key)
        return dev


def _active_qubits(circuit: Any) -> list[int]:
    return sorted({circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits})


def _compact(circuit: Any, active: Sequence[int]) -> Any:
    """``circuit`` on ``len(active)`` qubits (physical qubit ``active[i]`` becomes qubit ``i``),
    with the same classical bits in the same order."""
    from qiskit import QuantumCircuit, QuantumRegister

    pos = {q: i for i, q in enumerate(active)}
    out = QuantumCircuit(
        QuantumRegister(len(active), "q"), name=circuit.name, global_phase=circuit.global_phase
    )
    in_regs = {clbit for creg in circuit.cregs for clbit in creg}
    loose = [c for c in circuit.clbits if c not in in_regs]
    if loose:  # keep clbit order: put every clbit in registers-free order first
        from qiskit.circuit import ClassicalRegister

        out.add_register(ClassicalRegister(circuit.num_clbits, "c"))
        cmap = {c: out.clbits[i] for i, c in enumerate(circuit.clbits)}
    else:
        for creg in circuit.cregs:
            out.add_register(creg)
        cmap = {c: c for c in circuit.clbits}
    for inst in circuit.data:
        qs = [out.qubits[pos[circuit.find_bit(q).index]] for q in inst.qubits]
        out.append(inst.operation, qs, [cmap[c] for c in inst.clbits], copy=False)
    return out


def _check_isa(circuit: Any, target: Any, backend_name: str, index: int) -> None:
    if circuit.parameters:
        raise ServiceError(
            f"circuit {index} has unbound parameters {sorted(p.name for p in circuit.parameters)}"
        )
    if circuit.num_qubits > target.num_qubits:
        raise ServiceError(
            f"circuit {index} has {circuit.num_qubits} qubits, backend {backend_name} {target.num_qubits}"
        )
    for inst in circuit.data:
        name = inst.operation.name
        if name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if not target.instruction_supported(name, qargs):
            raise ServiceError(
                f"circuit {index} is not an ISA circuit of {backend_name}: {name!r} on qubits {qargs} "
                "is not supported; transpile it with the backend's preset pass manager"
            )


def _sim_seed(seed: int, index: int) -> int:
    """A nonzero simulator seed per circuit (the local service ignores ``seed_simulator=0``)."""
    return int(np.random.SeedSequence([int(seed) & (2**63 - 1), index]).generate_state(1, np.uint32)[0]) | 1


@dataclass
class _LocalJob:
    backend_name: str
    status: str
    counts: list[dict[int, int]] = field(default_factory=list)
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    simulators: list[Any] = field(default_factory=list)


_LOCAL_JOBS: dict[str, _LocalJob] = {}
_LOCAL_JOBS_LOCK = threading.Lock()


class LocalFakeService(IBMService):
    """Fake IBM backends in qiskit-ibm-runtime's local mode.

    ``SamplerV2(mode=simulator)`` runs each ISA circuit on the cached
    noise-model ``AerSimulator`` of its backend (see :class:`NoisyDevice`).
    Jobs finish synchronously, ids are UUIDs and results stay in memory
    (shared by every instance in the process).  Dynamical decoupling and
    twirling cannot be simulated in local mode: they are dropped and listed
    in :meth:`job_meta` under ``"ignored_options"``.  Batch and session modes
    are accepted and change nothing.

    Parameters
    ----------
    compact : bool
        Simulate only the physical qubits a circuit touches (default; same
        distribution, far faster).  ``False`` simulates on the whole
        device's noise model.

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> svc = LocalFakeService()
    >>> qc = QuantumCircuit(2); _ = qc.x(0); qc.measure_all()
    >>> from qiskit.transpiler import generate_preset_pass_manager
    >>> isa = generate_preset_pass_manager(2, svc.backend("fake_torino"), seed_transpiler=1).run(qc)
    >>> opts = {"simulator": {"seed_simulator": 1}}
    >>> job = svc.submit([isa], backend_name="fake_torino", shots=100, options=opts)
    >>> svc.status(job), max(svc.result(job)[0].items(), key=lambda kv: kv[1])[0]
    ('DONE', 1)
    """

    name = "local-fake"

    def __init__(self, *, compact: bool = True) -> None:
        self.compact = bool(compact)

    def backend(self, name: str) -> Any:
        return fake_device(name).backend

    def device(self, name: str) -> NoisyDevice:
        """The cached :class:`NoisyDevice` of a backend."""
        return fake_device(name)

    def submit(self, isa_circuits, *, backend_name, shots, options=None, mode="job", session_id=None) -> str:
        from qiskit_ibm_runtime import SamplerV2

        if mode not in ("job", "batch", "session"):
            raise ServiceError(f"unknown execution mode {mode!r}; choose job, batch or session")
        shots = int(shots)
        if shots < 1:
            raise ServiceError(f"shots must be >= 1, got {shots}")
        device = fake_device(backend_name)
        circuits = list(isa_circuits)
        for i, qc in enumerate(circuits):
            _check_isa(qc, device.backend.target, backend_name, i)
        opts = dict(options or {})
        ignored = []
        if (opts.get("dynamical_decoupling") or {}).get("enable"):
            ignored.append("dynamical_decoupling")
        tw = opts.get("twirling") or {}
        ignored += [f"twirling.{k}" for k in ("enable_gates", "enable_measure") if tw.get(k)]
        seed = (opts.get("simulator") or {}).get("seed_simulator")
        job_id = str(uuid.uuid4())
        job = _LocalJob(
            backend_name=device.name,
            status="RUNNING",
            meta={"ignored_options": ignored, "mode": mode, "shots": shots, "active_qubits": []},
        )
        try:
            for i, qc in enumerate(circuits):
                active = _active_qubits(qc)
                if self.compact:
                    sim, run_qc = device.simulator(active), _compact(qc, active)
                else:
                    sim, run_qc = device.simulator(None), qc
                sopts: dict[str, Any] = {"default_shots": shots}
                if seed is not None:
                    sopts["simulator"] = {"seed_simulator": _sim_seed(seed, i)}
                with warnings.catch_warnings():
                    warnings.filterwarnings(
                        "ignore", message=_SAMPLER_DEPRECATION, category=DeprecationWarning
                    )
                    sampler = SamplerV2(mode=sim, options=sopts)
                res = sampler.run([run_qc], shots=shots).result()
                job.counts.append(counts_from_pub_result(res[0]))
                job.simulators.append(sim)
                job.meta["active_qubits"].append(active)
            job.status = "DONE"
        except Exception as exc:  # a failed simulation is a failed job, as on hardware
            job.status, job.error = "ERROR", redact(f"{type(exc).__name__}: {exc}")
            job.counts = []
        with _LOCAL_JOBS_LOCK:
            _LOCAL_JOBS[job_id] = job
        return job_id

    @staticmethod
    def _get(job_id: str) -> _LocalJob:
        with _LOCAL_JOBS_LOCK:
            job = _LOCAL_JOBS.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no local job {job_id} (local jobs live in memory, in this process only)")
        return job

    def status(self, job_id: str) -> str:
        return self._get(job_id).status

    def result(self, job_id: str) -> list[dict[int, int]]:
        job = self._get(job_id)
        if job.status in ("ERROR", "CANCELLED"):
            raise JobFailedError(job_id, job.status, job.error)
        if job.status != "DONE":
            raise JobPendingError(job_id, job.status)
        return [dict(c) for c in job.counts]

    def cancel(self, job_id: str) -> None:
        job = self._get(job_id)
        if job.status not in FINAL_STATUSES:
            job.status = "CANCELLED"

    def error_message(self, job_id: str) -> str | None:
        return self._get(job_id).error

    def job_meta(self, job_id: str) -> dict[str, Any]:
        """Backend, mode, shots, active physical qubits and ignored options of a local job."""
        job = self._get(job_id)
        return {"backend": job.backend_name, **job.meta}

    def simulator_of(self, job_id: str, index: int = 0) -> Any:
        """The ``AerSimulator`` object that ran circuit ``index`` of a job (for cache checks)."""
        return self._get(job_id).simulators[index]
