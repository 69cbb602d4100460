"""QAOASampler(backend="mps"): Aer's matrix-product-state method against the statevector kernel."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")

from qslack.dual import default_multipliers
from qslack.exceptions import OptionError, ValidationError
from qslack.model.lagrangian import LagrangianForm
from qslack.model.qubo import QUBO
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.qaoa.backends.aer import (
    MPS_MAX_BOND_DIMENSION,
    MPS_TRUNCATION_THRESHOLD,
    AerMPS,
    counts_to_X,
)
from qslack.samplers.qaoa.kernel import StatevectorSimulator
from qslack.samplers.qaoa.sampler import QAOASampler


def _mis(alias):
    prog = build_program(load_instance(alias))
    form = LagrangianForm(prog)
    return prog, form.qubo(*default_multipliers(form))


def _kernel(qubo, g, b):
    sim = StatevectorSimulator(qubo.n_vars)
    sim.run(qubo.diagonal(), np.asarray(g), np.asarray(b), scale=qubo.to_ising().scale)
    return sim


@pytest.mark.parametrize("case", ["random10", "1tc.16"])
def test_untruncated_mps_is_the_kernel_state(case):
    if case == "random10":
        rng = np.random.default_rng(4)
        qubo = QUBO(np.triu(rng.normal(size=(10, 10))), 0.5)
    else:
        qubo = _mis(case)[1]
    g, b = [0.5, 0.8], [0.6, 0.3]
    sim = _kernel(qubo, g, b)
    mps = AerMPS(qubo, 2)
    psi = mps.statevector(g, b)
    tr = mps.last_truncation
    assert tr["n_truncations"] == 0 and tr["fidelity_estimate"] == 1.0 and tr["n_svds"] > 0
    # unlogged cuts below the threshold: at most about n_svds * threshold (random10: 1.4e-9)
    assert 1.0 - abs(np.vdot(sim.state, psi)) ** 2 < tr["n_svds"] * MPS_TRUNCATION_THRESHOLD
    assert mps.expectation(g, b) == pytest.approx(sim.expectation(qubo.diagonal()), abs=1e-7)


def test_truncation_is_measured_and_reported():
    qubo = _mis("1tc.16")[1]
    g, b = [0.5, 0.8], [0.6, 0.3]
    exact = _kernel(qubo, g, b).state
    for bond in (3, 4):
        mps = AerMPS(qubo, 2, max_bond_dimension=bond)
        fid = abs(np.vdot(exact, mps.statevector(g, b))) ** 2
        tr = mps.last_truncation
        assert tr["n_truncations"] > 0 and tr["max_bond"] <= bond
        assert fid < 0.99 and tr["fidelity_estimate"] < 0.99
        assert abs(tr["fidelity_estimate"] - fid) < 0.15  # seen: 0.88 vs 0.92 (bond 3), 0.97 vs 0.98 (4)
    # every logged run reports its own truncation, not Aer's process-wide running log
    mps = AerMPS(qubo, 2, max_bond_dimension=4)
    mps.expectation(g, b, log=True)
    first = dict(mps.last_truncation)
    mps.expectation(g, b)
    mps.expectation(g, b, log=True)
    assert mps.last_truncation == first


def test_sampler_mps_follows_the_statevector_backend():
    qubo = _mis("1tc.8")[1]
    kw = {"p": 1, "maxiter": 15, "shots": 20_000, "seed": 3}
    sv = QAOASampler(backend="statevector", **kw).sample(qubo)
    ss = QAOASampler(backend="mps", **kw).sample(qubo)
    assert np.allclose(ss.info["angles"]["gammas"], sv.info["angles"]["gammas"], atol=1e-6)
    assert ss.info["expectation"] == pytest.approx(sv.info["expectation"], abs=1e-8)
    assert "probabilities" not in ss.info and ss.info["estimated_from_shots"] is True
    assert ss.info["mps"]["max_bond_dimension"] == MPS_MAX_BOND_DIMENSION == 64
    assert ss.info["mps"]["truncation_threshold"] == MPS_TRUNCATION_THRESHOLD == 1e-10
    assert ss.info["mps"]["fidelity_estimate"] == 1.0
    assert ss.n_shots == 20_000 and np.allclose(ss.energy, qubo.energies(ss.X))
    # the shots follow the kernel's distribution at the same angles
    sim = _kernel(qubo, ss.info["angles"]["gammas"], ss.info["angles"]["betas"])
    emp = np.zeros(256)
    np.add.at(emp, ss.X @ (1 << np.arange(8)), ss.counts / ss.n_shots)
    assert 0.5 * np.abs(emp - sim.probabilities()).sum() < 0.04
    cfg = QAOASampler(backend="mps", mps_max_bond_dimension=16).config()
    assert cfg["mps_max_bond_dimension"] == 16 and cfg["mps_truncation_threshold"] == 1e-10
    assert "mps_max_bond_dimension" not in QAOASampler().config()  # other identities unchanged


def test_mps_beyond_the_statevector_and_cvar():
    prog, qubo = _mis("1tc.32")
    ss = QAOASampler(p=1, backend="mps", maxiter=0, shots=300, seed=1).sample(qubo)
    assert ss.X.shape[1] == 32 and ss.n_shots == 300 and ss.info["n_evals"] == 1
    assert np.allclose(ss.energy, qubo.energies(ss.X))
    assert 0.0 <= ss.evaluate(prog).feasible_share() <= 1.0
    cv = QAOASampler(p=1, backend="mps", objective="cvar", alpha=0.2, maxiter=5, shots=200, seed=2)
    out = cv.sample(_mis("1tc.8")[1])
    assert np.isfinite(out.info["final_value"]) and out.info["final_value"] <= out.info["expectation"] + 1e-9


def test_mps_options_and_bitstrings():
    q = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]))
    with pytest.raises(OptionError, match="CPU only"):
        QAOASampler(backend="mps", device="GPU").sample(q)
    with pytest.raises(ValidationError, match="max_bond_dimension"):
        AerMPS(q, 1, max_bond_dimension=0)
    X, c = counts_to_X({"0" * 69 + "1": 2, "1" + "0" * 69: 1}, 70)
    assert X[0, 0] == 1 and X[0, 1:].sum() == 0 and X[1, 69] == 1 and c.tolist() == [2, 1]


@pytest.mark.parametrize("mixer", ["warm", "xy-ring"])
def test_mps_runs_the_structured_ansatz_as_the_kernel_does(mixer):
    """Warm-start and XY ansatz on Aer's MPS (circuits of ``circuit.py``) = the ansatz kernel's state."""
    from qslack.samplers.qaoa.ansatz import Ansatz
    from qslack.samplers.qaoa.kernel_ansatz import AnsatzSimulator

    rng = np.random.default_rng(7)
    qubo = QUBO(np.triu(rng.normal(size=(8, 8))), 0.0)
    kw = (
        {"mixer": "warm", "warm_start": rng.uniform(size=8), "eps": 0.1}
        if mixer == "warm"
        else {"mixer": "xy-ring", "groups": [[0, 1, 2], [3, 4, 5, 6]]}
    )
    ansatz = Ansatz.build(8, **kw)
    g, b = [0.4, 0.9], [0.7, 0.2]
    sim = AnsatzSimulator(ansatz)
    scale = qubo.to_ising().scale
    sim.run(qubo.diagonal(), np.asarray(g), np.asarray(b), scale=scale)
    mps = AerMPS(qubo, 2, ansatz=ansatz)
    psi = mps.statevector(g, b)
    assert 1.0 - abs(np.vdot(sim.state, psi)) ** 2 < 1e-8
    # the sampler: fixed LR-QAOA angles (no optimiser evaluation), the same angles and energy as the kernel
    common = {"p": 3, "schedule": "lr", "optimizer": "none", "shots": 500, "seed": 2, **kw}
    ss = QAOASampler(backend="mps", **common).sample(qubo)
    sv = QAOASampler(backend="statevector", **common).sample(qubo)
    assert ss.info["n_optimizer_evals"] == 0 and ss.info["circuit_evals"] == 1
    assert ss.info["angles"] == sv.info["angles"] and ss.info["ansatz"] == sv.info["ansatz"]
    assert ss.info["expectation"] == pytest.approx(sv.info["expectation"], abs=1e-7)
    if mixer == "xy-ring":  # one-hot rows hold on every shot
        assert (ss.X[:, :3].sum(axis=1) == 1).all() and (ss.X[:, 3:7].sum(axis=1) == 1).all()
