"""QAOA circuit resources, slack vs slack-free: logical counts against the authors' compilation
table, transpiled circuits against the statevector kernel, devices too small."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from qslack.hardware.resources import (
    CircuitResources,
    circuit_resources,
    device_backend,
    encoding_qubo,
    qaoa_measured_circuit,
)
from qslack.problems.catalog import build_program, load_instance

pytest.importorskip("qiskit_ibm_runtime")

REF = Path(__file__).resolve().parents[1] / "reference" / "cutting-slack-authors"


def _compilation() -> dict[str, dict[str, str]]:
    rows = {}
    for problem in ("mkp", "mis"):
        with open(REF / f"{problem}_qaoa_circuit_compilation.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                rows[r["Instance"]] = r  # logical columns are the same for every backend
    return rows


@pytest.mark.parametrize("alias", ["pet2", "pb4", "hp1", "1tc.8", "1tc.32", "1dc.64"])
def test_slack_logical_counts_equal_the_authors(alias):
    ref = _compilation()[alias]
    rows = list(
        circuit_resources(build_program(load_instance(alias)), encodings=["slack"], ps=[3], backends=[])
    )
    (r,) = rows
    got = (r.logical_qubits, r.logical_depth, r.logical_gates, r.logical_2q, r.parameters)
    want = tuple(
        int(ref[k])
        for k in ("LogicalQubits", "LogicalDepth", "LogicalGateCount", "Logical2QGates", "Parameters")
    )
    assert got == want


def test_slack_free_is_smaller_for_mdkp_and_equal_in_two_qubit_gates_for_mis():
    pet2 = {
        r.encoding: r for r in circuit_resources(build_program(load_instance("pet2")), ps=[1], backends=[])
    }
    assert (pet2["slack-free"].logical_qubits, pet2["slack"].logical_qubits) == (10, 99)
    assert (pet2["slack-free"].logical_2q, pet2["slack"].logical_2q) == (45, 1263)  # all item pairs vs +slack
    mis = {
        r.encoding: r for r in circuit_resources(build_program(load_instance("1tc.16")), ps=[1], backends=[])
    }
    assert mis["slack-free"].logical_2q == mis["slack"].logical_2q == 22  # one RZZ per edge either way


def test_transpiled_circuit_samples_the_kernel_state():
    """The circuit that is counted is the QAOA state: sample the fake-torino ISA circuit (noiseless
    Aer) and compare with the statevector kernel's probabilities."""
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    from qslack.samplers.qaoa.kernel import StatevectorSimulator

    q = encoding_qubo(build_program(load_instance("1tc.8")), "slack-free")
    isa = generate_preset_pass_manager(
        optimization_level=3, backend=device_backend("fake-torino"), seed_transpiler=1234
    ).run(qaoa_measured_circuit(q, 1))
    gamma, beta = 0.7, 0.4
    bound = isa.assign_parameters({t: gamma if t.name.startswith("gamma") else beta for t in isa.parameters})
    counts = AerSimulator(seed_simulator=5).run(bound, shots=40_000).result().get_counts()
    emp = np.zeros(256)
    for key, v in counts.items():
        emp[int(key, 2)] += v
    emp /= emp.sum()
    sim = StatevectorSimulator(8)
    sim.run(q.diagonal(), np.array([gamma]), np.array([beta]), scale=q.to_ising().scale)
    tv = 0.5 * np.abs(emp - sim.probabilities()).sum()
    sim.run(q.diagonal(), np.array([gamma + 0.5]), np.array([beta]), scale=q.to_ising().scale)
    tv_other = 0.5 * np.abs(emp - sim.probabilities()).sum()
    assert tv < 0.04 < tv_other


def test_transpiled_rows_fez_and_torino():
    prog = build_program(load_instance("1tc.8"))
    rows = list(circuit_resources(prog, instance="1tc.8", ps=[1]))
    assert [(r.encoding, r.backend) for r in rows] == [
        ("slack-free", "fake-fez"),
        ("slack-free", "fake-torino"),
        ("slack", "fake-fez"),
        ("slack", "fake-torino"),
    ]
    for r in rows:
        assert r.status == "ok" and r.instance == "1tc.8" and r.optimization_level == 3
        assert r.backend_qubits == {"fake-fez": 156, "fake-torino": 133}[r.backend]
        assert r.transpiled_2q >= r.logical_2q and r.physical_qubits >= r.logical_qubits
        assert r.transpiled_depth > r.logical_depth
    again = next(circuit_resources(prog, instance="1tc.8", ps=[1], encodings=["slack-free"]))
    assert again.to_dict() | {"transpile_s": 0} == rows[0].to_dict() | {"transpile_s": 0}  # seeded


def test_too_wide_for_the_device_and_skip():
    prog = build_program(load_instance("pb6"))
    (r,) = circuit_resources(prog, encodings=["slack"], ps=[1], backends=["fake-torino"])
    assert r.logical_qubits == 405 and r.status == "exceeds device (405 qubits > 133)"
    assert r.transpiled_2q is None
    assert not list(circuit_resources(prog, encodings=["slack"], ps=[1], skip=lambda *key: True))
    assert CircuitResources.columns()[:4] == ("instance", "encoding", "p", "backend")
