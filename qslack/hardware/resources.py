"""Circuit resources of QAOA, slack vs slack-free: logical counts and counts transpiled for IBM devices.

For one program this builds both QUBOs,

- ``"slack-free"``: :class:`~qslack.model.lagrangian.LagrangianForm` at the
  dual loop's starting multipliers (``qslack.model.lagrangian.default_multipliers``:
  MDKP capacity rows with ``rho > 0``, which couples every pair of items
  sharing a row; MIS edges as product penalties of weight 1);
- ``"slack"``: qiskit-optimization's ``QuadraticProgramToQubo`` as
  :func:`qslack.model.slack.slack_qubo` builds it (binary slack bits, one
  scalar penalty),

then the measured QAOA circuit of :func:`qslack.samplers.qaoa.circuit.qaoa_circuit`
(H, then per layer RZ on the linear Ising terms, RZZ on the couplings, RX
mixer; the Cutting Slack authors' circuit gate for gate) for each depth ``p``,
and transpiles it for each IBM fake backend (qiskit-ibm-runtime's calibration
snapshots ``FakeFez``, ``FakeTorino`` ...) with
``generate_preset_pass_manager(optimization_level, backend, seed_transpiler)``.

Counts follow the authors' table (``reference/cutting-slack-authors/``):
``gates`` = one- and two-qubit gates plus measurements (barriers excluded),
``depth`` includes the measurement layer, ``two_qubit_gates`` counts every
two-qubit instruction (RZZ before, CZ on Heron after transpiling).  An
encoding wider than the device gets ``status = "exceeds device (N qubits > M)"``
and no transpiled counts.

Run time: the transpiler is the cost (pet2's 99-qubit slack circuit at p=3 with
3789 RZZ: about 5 s at level 3 on one core; ``transpile_s`` records it), so
:mod:`scripts/paper_table.py` caches every row in a CSV.

qiskit, qiskit-optimization and qiskit-ibm-runtime are imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

from qslack.exceptions import ValidationError
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO

__all__ = [
    "ENCODINGS",
    "CircuitResources",
    "circuit_counts",
    "circuit_resources",
    "device_backend",
    "encoding_qubo",
    "qaoa_measured_circuit",
]

ENCODINGS = ("slack-free", "slack")


@dataclass(frozen=True)
class CircuitResources:
    """Resources of one (instance, encoding, p, backend) QAOA circuit; one CSV row.

    ``backend`` is ``""`` for a logical-only row.  Transpiled fields are None when
    the circuit was not transpiled (logical only, or wider than the device).
    """

    instance: str
    encoding: str
    p: int
    backend: str
    logical_qubits: int
    logical_depth: int
    logical_gates: int
    logical_2q: int
    parameters: int
    backend_qubits: int | None = None
    transpiled_depth: int | None = None
    transpiled_gates: int | None = None
    transpiled_2q: int | None = None
    physical_qubits: int | None = None
    optimization_level: int | None = None
    seed_transpiler: int | None = None
    transpile_s: float | None = None
    status: str = "ok"

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """Field names, in CSV column order."""
        return tuple(f.name for f in fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """The row as a plain dict."""
        return asdict(self)


def encoding_qubo(program: BinaryProgram, encoding: str, *, rho: float = 1.0) -> QUBO:
    """The QUBO of ``program`` in one encoding (``"slack-free"`` or ``"slack"``).

    ``"slack-free"`` is the Lagrangian form at ``default_multipliers(form, rho)``.

    Examples
    --------
    >>> from qslack.problems.catalog import build_program, load_instance
    >>> prog = build_program(load_instance("pet2"))
    >>> encoding_qubo(prog, "slack-free").n_vars, encoding_qubo(prog, "slack").n_vars
    (10, 99)
    """
    if encoding == "slack":
        from qslack.model.slack import slack_qubo

        return slack_qubo(program).qubo
    if encoding == "slack-free":
        from qslack.model.lagrangian import LagrangianForm, default_multipliers

        form = LagrangianForm(program, cache=False)
        lam, rho_v = default_multipliers(form, rho=rho)
        return form.qubo(lam, rho_v)
    raise ValidationError(f"unknown encoding {encoding!r}; choose from {ENCODINGS}")


def qaoa_measured_circuit(qubo: QUBO, p: int) -> Any:
    """The measured QAOA circuit of ``qubo`` at depth ``p`` (angles left as parameters)."""
    from qslack.samplers.qaoa.circuit import qaoa_circuit

    ising = qubo.to_ising()
    qc, _, _ = qaoa_circuit(ising.h, ising.J, p, ising.scale, measure=True)
    return qc


def circuit_counts(circuit: Any) -> dict[str, int]:
    """``depth``, ``gates`` (measurements included, barriers not), ``two_qubit_gates``, ``qubits``
    (those any instruction touches) and ``parameters`` of a circuit.

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cz(0, 1); qc.measure_all()
    >>> circuit_counts(qc)
    {'depth': 3, 'gates': 5, 'two_qubit_gates': 1, 'qubits': 3, 'parameters': 0}
    """
    from qslack.hardware.sampler import isa_stats

    st = isa_stats(circuit)
    return {
        "depth": st["depth"],
        "gates": st["size"],
        "two_qubit_gates": st["two_qubit_gates"],
        "qubits": st["n_physical_qubits"],
        "parameters": int(circuit.num_parameters),
    }


def device_backend(profile_or_backend: str) -> Any:
    """A qiskit-ibm-runtime fake backend from a profile name (``"fake-fez"``) or a backend name
    (``"fake_fez"``, ``"ibm_fez"`` maps to its fake twin).

    Examples
    --------
    >>> b = device_backend("fake-torino")
    >>> b.name, b.num_qubits
    ('fake_torino', 133)
    """
    from qslack.hardware.local import _fake_backend_class

    name = profile_or_backend
    if "-" in name:
        from qslack.hardware.profiles import load_profile

        name = load_profile(name).backend
    cls, _ = _fake_backend_class(name)
    return cls()


def circuit_resources(
    program: BinaryProgram,
    *,
    instance: str | None = None,
    encodings: Iterable[str] = ENCODINGS,
    ps: Iterable[int] = (1, 3),
    backends: Iterable[str] = ("fake-fez", "fake-torino"),
    optimization_level: int = 3,
    seed_transpiler: int = 1234,
    skip: Any = None,
) -> Iterator[CircuitResources]:
    """Rows of :class:`CircuitResources` for every encoding x p x backend.

    Parameters
    ----------
    program : BinaryProgram
    instance : str, optional
        Name written in the rows (default ``program.name``).
    encodings : iterable of str
        Subset of :data:`ENCODINGS`.
    ps : iterable of int
        QAOA depths.
    backends : iterable of str
        Profile or fake backend names; an empty iterable gives logical-only rows (``backend=""``).
    optimization_level : int
        Preset pass manager level (the authors used 3).
    seed_transpiler : int
        Fixed transpiler seed.
    skip : callable, optional
        ``skip(instance, encoding, p, backend) -> bool``: rows already cached are not recomputed.

    Yields
    ------
    CircuitResources

    Examples
    --------
    The slack-free MIS Ising form has no Z term on degree-2 nodes (reward and edge weights
    cancel), hence one RZ layer less per QAOA layer than the slack one (depth 17, the authors'):

    >>> from qslack.problems.catalog import build_program, load_instance
    >>> rows = list(circuit_resources(build_program(load_instance("1tc.8")), ps=[3], backends=[]))
    >>> [(r.encoding, r.logical_qubits, r.logical_depth, r.logical_2q) for r in rows]
    [('slack-free', 8, 14, 18), ('slack', 8, 17, 18)]
    """
    from qiskit.transpiler import generate_preset_pass_manager

    name = instance or program.name
    backends = list(backends)
    devices = {b: device_backend(b) for b in backends}
    for enc in encodings:
        qubo = encoding_qubo(program, enc)
        for p in ps:
            targets = backends or [""]
            if skip is not None and all(skip(name, enc, int(p), b) for b in targets):
                continue
            qc = qaoa_measured_circuit(qubo, int(p))
            lc = circuit_counts(qc)
            logical = {
                "instance": name,
                "encoding": enc,
                "p": int(p),
                "logical_qubits": int(qc.num_qubits),
                "logical_depth": lc["depth"],
                "logical_gates": lc["gates"],
                "logical_2q": lc["two_qubit_gates"],
                "parameters": lc["parameters"],
            }
            if not backends:
                yield CircuitResources(backend="", **logical)
                continue
            for b in backends:
                if skip is not None and skip(name, enc, int(p), b):
                    continue
                dev = devices[b]
                width = int(dev.num_qubits)
                if qc.num_qubits > width:
                    yield CircuitResources(
                        backend=b,
                        backend_qubits=width,
                        status=f"exceeds device ({qc.num_qubits} qubits > {width})",
                        **logical,
                    )
                    continue
                t0 = time.perf_counter()
                pm = generate_preset_pass_manager(
                    optimization_level=optimization_level, backend=dev, seed_transpiler=seed_transpiler
                )
                isa = pm.run(qc)
                dt = time.perf_counter() - t0
                tc = circuit_counts(isa)
                yield CircuitResources(
                    backend=b,
                    backend_qubits=width,
                    transpiled_depth=tc["depth"],
                    transpiled_gates=tc["gates"],
                    transpiled_2q=tc["two_qubit_gates"],
                    physical_qubits=tc["qubits"],
                    optimization_level=optimization_level,
                    seed_transpiler=seed_transpiler,
                    transpile_s=round(dt, 3),
                    **logical,
                )
