"""Structured QAOA ansätze: XY mixers, warm starts, p = 0, LR-QAOA schedules.

References: the Aer statevector of the circuits (built gate by gate from the
same Ansatz), qiskit-optimization's warm-start factory, a qiskit
PauliEvolution circuit in LR-QAOA's own convention, dense linear algebra and
sampling statistics.
"""

from __future__ import annotations

import numpy as np
import pytest

from qslack.exceptions import OptionError, ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.qaoa.angles import as_theta, interpolate, lr_schedule, split
from qslack.samplers.qaoa.ansatz import Ansatz, regularise, warm_mixer_matrix
from qslack.samplers.qaoa.kernel import StatevectorSimulator
from qslack.samplers.qaoa.kernel_ansatz import AnsatzSimulator, cvar_of
from qslack.samplers.qaoa.kernel_gpu import gpu_available
from qslack.samplers.qaoa.sampler import QAOASampler


def _qubo(n: int, seed: int) -> QUBO:
    rng = np.random.default_rng(seed)
    return QUBO(np.triu(rng.normal(size=(n, n))), offset=rng.normal())


def _ansatze(n: int, seed: int) -> dict[str, Ansatz]:
    """One ansatz of every kind on n >= 8 qubits (groups in scrambled qubit order, free qubits left)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n).tolist()
    groups = [perm[0:3], perm[3:7]]  # a 3- and a 4-qubit group; the rest are free
    c = rng.uniform(0.0, 1.0, n)
    feasible = np.zeros(n, dtype=int)
    feasible[[groups[0][1], groups[1][2]]] = 1
    return {
        "xy-ring": Ansatz.build(n, mixer="xy-ring", groups=groups),
        "xy-complete": Ansatz.build(n, mixer="xy-complete", groups=groups),
        "xy-ring-from-bits": Ansatz.build(n, mixer="xy-ring", groups=groups, initial_state=feasible),
        "warm": Ansatz.build(n, mixer="warm", warm_start=c),
        "warm-eps0.1": Ansatz.build(n, mixer="warm", warm_start=c, eps=0.1),
        "x-from-warm": Ansatz.build(n, mixer="x", initial_state="warm", warm_start=c),
        "x-from-one-hot": Ansatz.build(n, mixer="x", initial_state="one-hot", groups=groups),
    }


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> float:
    ov = np.vdot(a, b)
    phase = ov / abs(ov)
    return float(np.abs(a * phase - b).max())


# --------------------------------------------------------------------------- kernel vs Aer circuits
@pytest.mark.parametrize("n", [8, 12])
def test_kernel_matches_aer_statevector(n: int) -> None:
    """p = 2 on Aer (every gate of the circuit); p = 0 (state preparation) on qiskit's Statevector."""
    pytest.importorskip("qiskit_aer")
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    from qslack.samplers.qaoa.backends.aer import AerStatevector
    from qslack.samplers.qaoa.circuit import append_initial_state

    q = _qubo(n, n)
    ising, diag = q.to_ising(), q.diagonal()
    rng = np.random.default_rng(100 + n)
    kinds = _ansatze(n, n)
    if n == 12:  # one of each mixer at the larger size
        kinds = {k: kinds[k] for k in ("xy-ring", "xy-complete", "warm")}
    for name, a in kinds.items():
        g, b = rng.uniform(-1.5, 1.5, 2), rng.uniform(-1.5, 1.5, 2)
        psi = AnsatzSimulator(a).run(diag, g, b, scale=ising.scale).copy()
        sv = AerStatevector(ising.h, ising.J, 2, ising.scale, ansatz=a).statevector(g, b)
        assert _same_up_to_phase(psi, sv) < 1e-8, name
        prep = QuantumCircuit(n)
        append_initial_state(prep, a)
        s0 = AnsatzSimulator(a).run(diag, [], []).copy()
        assert _same_up_to_phase(s0, Statevector(prep).data) < 1e-8, name


def test_aer_sampler_backend_uses_the_ansatz() -> None:
    pytest.importorskip("qiskit_aer")
    q = _qubo(6, 2)
    kw = {"mixer": "xy-ring", "groups": [[0, 2, 4], [1, 3]], "p": 2, "optimizer": "none", "shots": 5}
    sv = QAOASampler(**kw, seed=1).sample(q)
    aer = QAOASampler(**kw, backend="aer", seed=1).sample(q)
    np.testing.assert_allclose(sv.probabilities, aer.probabilities, atol=1e-10)
    assert sv.info["ansatz"] == aer.info["ansatz"] and sv.info["ansatz"]["mixer"] == "xy-ring"
    kw0 = {**kw, "p": 0, "mixer": "warm", "groups": None, "warm_start": [0.2, 0.9, 0.5, 0.4, 0.6, 0.3]}
    aer0 = QAOASampler(**kw0, backend="aer", seed=1).sample(q)  # p = 0: the circuit has no parameter
    want = np.abs(Ansatz.build(6, mixer="warm", warm_start=kw0["warm_start"]).initial_state()) ** 2
    np.testing.assert_allclose(aer0.probabilities, want, atol=1e-12)


# --------------------------------------------------------------------------- XY mixers
@pytest.mark.parametrize("mixer", ["xy-ring", "xy-complete"])
def test_xy_mixer_preserves_group_weights(mixer: str) -> None:
    n = 9
    groups = [[4, 0, 7], [1, 8, 2, 6]]
    diag = _qubo(n, 5).diagonal()
    g, b = [0.7, -1.1, 0.4], [0.9, -0.3, 1.3]
    # from the W states: nothing leaks out of the one-hot subspace
    a = Ansatz.build(n, mixer=mixer, groups=groups)
    sim = AnsatzSimulator(a)
    sim.run(diag, g, b)
    probs = sim.probabilities()
    assert probs[~a.subspace_mask()].sum() < 1e-12
    assert probs[a.subspace_mask()].sum() == pytest.approx(1.0, abs=1e-12)
    # from |+>^n: the Hamming weight of every group is conserved, sector by sector
    u = Ansatz.build(n, mixer=mixer, groups=groups, initial_state="uniform")
    sim_u = AnsatzSimulator(u)
    sim_u.run(diag, g, b)
    k = np.arange(1 << n)
    weights = [sum((k >> q) & 1 for q in grp) for grp in groups]
    sector = weights[0] * 10 + weights[1]
    after = np.bincount(sector, weights=sim_u.probabilities())
    before = np.bincount(sector, weights=np.abs(u.initial_state()) ** 2)
    np.testing.assert_allclose(after, before, atol=1e-12)
    # the layers do act inside the subspace: the distribution is no longer uniform on it
    assert np.ptp(probs[a.subspace_mask()]) > 1e-3


@pytest.mark.parametrize("kind", ["ring", "complete"])
def test_w_state_is_top_eigenstate_and_layer_is_a_trotter_step(kind: str) -> None:
    from scipy.linalg import expm

    from qslack.samplers.qaoa.ansatz import xy_pairs

    n = 5
    group = [3, 0, 4, 1, 2]
    a = Ansatz.build(n, mixer=f"xy-{kind}", groups=[group])
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    Y = np.array([[0.0, -1j], [1j, 0.0]])

    def two(P, i, j):
        op = np.ones((1, 1))
        for q in range(n):
            op = np.kron(P if q in (i, j) else np.eye(2), op)
        return op

    M = sum((two(X, i, j) + two(Y, i, j)) / 2 for i, j in xy_pairs(group, kind))
    psi = a.initial_state()
    sub = a.subspace_mask()
    top = np.linalg.eigvalsh(M[np.ix_(sub, sub)])[-1]
    assert top == pytest.approx(2.0 if kind == "ring" else n - 1.0)
    np.testing.assert_allclose(M @ psi, top * psi, atol=1e-12)
    # the layer is the ordered product of the pair rotations: exp(-i beta M) up to O(beta**2)
    sim = AnsatzSimulator(a)
    for beta in (1e-2, 1e-3):
        out = sim.run(np.zeros(1 << n), [0.0], [beta]).copy()
        err_w = np.linalg.norm(out - expm(-1j * beta * M) @ psi)
        assert err_w < 5 * beta**2
    assert np.linalg.norm(sim.run(np.zeros(1 << n), [0.0], [0.37]) - expm(-0.37j * M) @ psi) > 1e-3


# --------------------------------------------------------------------------- warm start
def test_warm_initial_state_is_the_product_and_the_mixer_ground_state() -> None:
    n = 5
    c_raw = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    a = Ansatz.build(n, mixer="warm", warm_start=c_raw)
    c = np.asarray(a.warm)
    assert c.tolist() == [0.25, 0.25, 0.5, 0.75, 0.75]
    psi = a.initial_state()
    ref = np.ones(1)
    for j in range(n):
        ref = np.kron(np.array([np.sqrt(1 - c[j]), np.sqrt(c[j])]), ref)
    np.testing.assert_allclose(psi, ref, atol=1e-15)
    k = np.arange(1 << n)
    for j in range(n):  # marginals P(x_j = 1) = c_j
        assert float(np.sum(np.abs(psi[((k >> j) & 1) == 1]) ** 2)) == pytest.approx(c[j])
    # H_M = -sum_j M_j (Egger et al.): psi is its ground state, energy -n
    Z, X, I2 = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2)
    H = np.zeros((1 << n, 1 << n))
    for j in range(n):
        Mj = (1 - 2 * c[j]) * Z + 2 * np.sqrt(c[j] * (1 - c[j])) * X
        op = np.ones((1, 1))
        for q in range(n):
            op = np.kron(Mj if q == j else I2, op)
        H -= op
    assert np.vdot(psi, H @ psi).real == pytest.approx(np.linalg.eigvalsh(H)[0], abs=1e-12)
    assert np.linalg.norm(H @ psi + n * psi) < 1e-12


def test_warm_mixer_is_qiskit_optimizations_with_beta_negated() -> None:
    from qiskit.quantum_info import Operator, Statevector
    from qiskit_optimization.algorithms.warm_start_qaoa_optimizer import WarmStartQAOAFactory

    n = 3
    c = [0.3, 0.6, 0.75]
    a = Ansatz.build(n, mixer="warm", warm_start=c, eps=0.25)
    fac = WarmStartQAOAFactory(0.25)
    init = fac.create_initial_variables(c)
    np.testing.assert_allclose(
        Statevector(fac.create_initial_state(init)).data, a.initial_state(), atol=1e-12
    )
    mixer = fac.create_mixer(init)
    beta = 0.41
    theirs = Operator(mixer.assign_parameters({mixer.parameters[0]: -beta})).data
    ours = np.ones((1, 1))
    for j in range(n):
        ours = np.kron(warm_mixer_matrix(a.warm[j], beta), ours)
    np.testing.assert_allclose(theirs, ours, atol=1e-12)


def test_warm_mixer_at_one_half_is_the_x_mixer() -> None:
    n = 6
    diag = _qubo(n, 3).diagonal()
    g, b = [0.3, -0.8], [0.5, 1.2]
    a = Ansatz.build(n, mixer="warm", warm_start=np.full(n, 0.5))
    ref = StatevectorSimulator(n).run(diag, g, b)
    np.testing.assert_allclose(AnsatzSimulator(a).run(diag, g, b), ref, atol=1e-13)


def test_regularise_and_bad_warm_vectors() -> None:
    assert regularise([0.0, 0.3, 1.0], 0.1).tolist() == [0.1, 0.3, 0.9]
    assert regularise([0.0, 0.3, 1.0], 0.5).tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(ValidationError, match=r"c\[1\]"):
        regularise([0.2, 1.5])
    with pytest.raises(ValidationError, match="eps"):
        regularise([0.2], 0.7)


# --------------------------------------------------------------------------- p = 0
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mixer": "xy-ring", "groups": [[0, 1, 2], [3, 4]]},
        {"mixer": "warm", "warm_start": [0.1, 0.3, 0.5, 0.7, 0.9]},
    ],
    ids=["x", "xy", "warm"],
)
def test_p0_samples_the_initial_state(kw: dict) -> None:
    q = _qubo(5, 7)
    shots = 20000
    ss = QAOASampler(p=0, shots=shots, seed=3, **kw).sample(q)
    want = np.abs(Ansatz.build(5, **kw).initial_state()) ** 2
    np.testing.assert_allclose(ss.probabilities, want, atol=1e-15)
    assert ss.info["n_optimizer_evals"] == 0 and ss.info["angles"] == {"gammas": [], "betas": []}
    # the shots follow the distribution: every sampled state has weight, frequencies within 5 sigma
    from qslack.model.bits import X_to_index

    idx = X_to_index(ss.X)
    assert np.all(want[idx] > 0)
    freq = ss.counts / shots
    sigma = np.sqrt(want[idx] * (1 - want[idx]) / shots)
    assert np.all(np.abs(freq - want[idx]) < 5 * sigma + 1e-12)


# --------------------------------------------------------------------------- schedules
@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
def test_lr_schedule_is_the_papers_circuit() -> None:
    """LR-QAOA in its own convention (RX(-2 beta), exp(-i gamma H_C), |+>) vs our sampler."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import PauliEvolutionGate
    from qiskit.quantum_info import SparsePauliOp, Statevector

    n, p, dg, db = 4, 3, 0.8, 0.45
    q = _qubo(n, 11)
    ising = q.to_ising()
    terms = [("Z", [j], ising.h[j] / ising.scale) for j in range(n)]
    terms += [("ZZ", [i, j], ising.J[i, j] / ising.scale) for i in range(n) for j in range(i + 1, n)]
    H_C = SparsePauliOp.from_sparse_list(terms, num_qubits=n)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for k in range(p):
        qc.append(PauliEvolutionGate(H_C, time=(k + 1) / p * dg), range(n))
        qc.rx(-2 * (1 - k / p) * db, range(n))
    want = Statevector(qc).probabilities()
    ss = QAOASampler(p=p, schedule="lr", ramp=(dg, db), optimizer="none", shots=10, seed=0).sample(q)
    np.testing.assert_allclose(ss.probabilities, want, atol=1e-10)
    np.testing.assert_allclose(lr_schedule(p, dg, db), as_theta(ss.info["angles"], p))


def test_params_ramp_optimises_two_slopes() -> None:
    q = _qubo(6, 4)
    ss = QAOASampler(p=7, params="ramp", maxiter=25, shots=10, seed=0).sample(q)
    ramp = ss.info["ramp"]
    assert len(ramp) == 2 and ss.info["params"] == "ramp"
    g, b = split(lr_schedule(7, *ramp))
    assert ss.info["angles"] == {"gammas": g.tolist(), "betas": b.tolist()}
    assert ss.info["final_value"] <= ss.info["history"][0] + 1e-12  # no worse than the start
    assert ss.info["n_optimizer_evals"] <= 25
    # warm start from the slopes it found: zero evaluations reproduce the final value
    again = QAOASampler(p=7, params="ramp", optimizer="none", shots=10).sample(q, init={"ramp": ramp})
    assert again.info["final_value"] == pytest.approx(ss.info["final_value"], abs=1e-12)


def test_angle_transfer_between_depths() -> None:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=6)  # p = 3
    up = interpolate(theta, 5)  # the old grid {0, 1/2, 1} lies on the new one {0, 1/4, ..., 1}
    np.testing.assert_allclose(interpolate(up, 3), theta, atol=1e-15)
    np.testing.assert_allclose(split(up)[0][[0, 2, 4]], split(theta)[0], atol=1e-15)
    lin = np.concatenate([np.linspace(0.1, 0.9, 4), np.linspace(-0.9, -0.1, 4)])
    np.testing.assert_allclose(
        interpolate(lin, 7), np.concatenate([np.linspace(0.1, 0.9, 7), np.linspace(-0.9, -0.1, 7)])
    )
    # the sampler resamples an earlier run's angles to its own depth
    q = _qubo(5, 1)
    first = QAOASampler(p=2, maxiter=15, shots=10, seed=0).sample(q)
    deeper = QAOASampler(p=4, optimizer="none", shots=10, seed=0).sample(q, init=first.info["angles"])
    want = interpolate(np.concatenate([first.info["angles"]["gammas"], first.info["angles"]["betas"]]), 4)
    np.testing.assert_allclose(as_theta(deeper.info["init"], 4), want)


# --------------------------------------------------------------------------- sampler options
def test_config_and_info_record_the_ansatz() -> None:
    plain = QAOASampler(p=2).config()
    assert set(plain) == {
        "sampler", "p", "backend", "optimizer", "objective", "alpha", "shots", "maxiter",
        "dtype", "diag_dtype", "device", "aer_method",
    }  # fmt: skip
    s = QAOASampler(p=3, mixer="xy-complete", groups=[[0, 1], [2, 3]], schedule="lr", optimizer="none")
    cfg = s.config()
    assert cfg["mixer"] == "xy-complete" and cfg["groups"] == [[0, 1], [2, 3]] and cfg["schedule"] == "lr"
    ss = s.sample(_qubo(5, 0), seed=2)
    assert ss.info["ansatz"]["groups"] == [[0, 1], [2, 3]] and ss.info["ansatz"]["initial_state"] == "one-hot"
    w = QAOASampler(p=1, mixer="warm", warm_start=[0.0, 1.0, 0.5], eps=0.1).config()
    assert w["warm_start"] == [0.0, 1.0, 0.5] and w["eps"] == 0.1


def test_bad_ansatz_options() -> None:
    with pytest.raises(OptionError, match="groups"):
        QAOASampler(mixer="xy-ring")
    with pytest.raises(OptionError, match="mixer"):
        QAOASampler(mixer="grover")
    with pytest.raises(ValidationError, match="disjoint"):
        QAOASampler(mixer="xy-ring", groups=[[0, 1], [1, 2]])
    with pytest.raises(OptionError, match="warm_start"):
        QAOASampler(mixer="warm")
    with pytest.raises(OptionError, match="schedule"):
        QAOASampler(params="ramp", schedule="default")
    with pytest.raises(ValidationError, match="outside"):
        QAOASampler(mixer="xy-ring", groups=[[0, 5]]).sample(_qubo(4, 0))
    with pytest.raises(ValidationError, match="4 qubits"):
        QAOASampler(mixer="warm", warm_start=[0.5] * 3).sample(_qubo(4, 0))
    with pytest.raises(ValidationError, match="p >= 0"):
        QAOASampler(p=-1)


def test_complex64_state_agrees() -> None:
    a = _ansatze(8, 3)["xy-complete"]
    diag = _qubo(8, 3).diagonal()
    s128 = AnsatzSimulator(a).run(diag, [0.4, 0.2], [0.3, -0.6]).copy()
    s64 = AnsatzSimulator(a, dtype=np.complex64).run(diag, [0.4, 0.2], [0.3, -0.6])
    assert s64.dtype == np.complex64
    np.testing.assert_allclose(s64, s128, atol=1e-5)


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_gpu_ansatz_kernel_matches_cpu() -> None:
    from qslack.samplers.qaoa.kernel_ansatz_gpu import GPUAnsatzSimulator

    n = 12
    diag = _qubo(n, 9).diagonal()
    g, b = [0.5, -0.9, 0.2], [0.7, 0.1, -1.1]
    for name, a in _ansatze(n, 9).items():
        cpu = AnsatzSimulator(a).run(diag, g, b, scale=1.7).copy()
        gpu = GPUAnsatzSimulator(a).run(diag, g, b, scale=1.7).get()
        np.testing.assert_allclose(gpu, cpu, atol=1e-12, err_msg=name)
        g64 = GPUAnsatzSimulator(a, dtype=np.complex64).run(diag, g, b, scale=1.7).get()
        np.testing.assert_allclose(g64, cpu, atol=1e-5, err_msg=name)


# --------------------------------------------------------------------------- the structured kernel
# (vectorised one-qubit gates, fused passes, initial states written on the fly) against the
# previous generic implementation, kept as kernel_ansatz._ReferenceSimulator, and dense algebra
def _every_mixer(n: int, seed: int) -> dict[str, Ansatz]:
    """x, warm, xy-ring and xy-complete (with free qubits) and every initial state."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n).tolist()
    c = rng.uniform(0.0, 1.0, n)
    out = {
        "x-uniform": Ansatz.build(n),
        "x-from-warm": Ansatz.build(n, mixer="x", initial_state="warm", warm_start=c),
        "warm": Ansatz.build(n, mixer="warm", warm_start=c),
        "warm-from-bits": Ansatz.build(n, mixer="warm", warm_start=c, initial_state=rng.integers(0, 2, n)),
    }
    if n >= 3:
        groups = [perm[:2], perm[2:5]] if n >= 5 else [perm[:3]]
        out["xy-ring"] = Ansatz.build(n, mixer="xy-ring", groups=groups)
        out["xy-complete"] = Ansatz.build(n, mixer="xy-complete", groups=groups)
        out["xy-ring-uniform"] = Ansatz.build(n, mixer="xy-ring", groups=groups, initial_state="uniform")
        out["x-from-one-hot"] = Ansatz.build(n, mixer="x", initial_state="one-hot", groups=groups)
        out["xy-one-group"] = Ansatz.build(n, mixer="xy-complete", groups=[list(range(n))])
    return out


def _dense_state(a: Ansatz, diag: np.ndarray, g, b, scale: float = 1.0) -> np.ndarray:
    """Dense reference: the initial state, then per layer the phase and the gates of mixer_ops."""
    n = a.n
    psi = a.initial_state()
    for gam, beta in zip(g, b, strict=True):
        psi = psi * np.exp(-1j * gam * diag / scale)
        for kind, qs, U in a.mixer_ops(beta):
            t = psi.reshape((2,) * n)  # axis n-1-q is qubit q
            if kind == "single":
                ax = n - 1 - qs[0]
                t = np.moveaxis(np.tensordot(U, t, axes=([1], [ax])), 0, ax)
            else:
                ia, ib = n - 1 - qs[0], n - 1 - qs[1]
                t = t.copy()
                s10 = [slice(None)] * n
                s01 = [slice(None)] * n
                s10[ia], s10[ib], s01[ia], s01[ib] = 1, 0, 0, 1
                x0, x1 = t[tuple(s10)].copy(), t[tuple(s01)].copy()
                t[tuple(s10)] = U[0, 0] * x0 + U[0, 1] * x1
                t[tuple(s01)] = U[1, 0] * x0 + U[1, 1] * x1
            psi = t.reshape(-1)
    return psi


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("p", [0, 1, 3])
def test_tiny_registers_match_dense_algebra(n: int, p: int) -> None:
    rng = np.random.default_rng(10 * n + p)
    diag = rng.normal(size=1 << n)
    g, b = rng.uniform(-2, 2, p), rng.uniform(-2, 2, p)
    for name, a in _every_mixer(n, n).items():
        want = _dense_state(a, diag, g, b, scale=0.7)
        psi = AnsatzSimulator(a).run(diag, g, b, scale=0.7)
        np.testing.assert_allclose(psi, want, atol=1e-13, err_msg=name)
        psi64 = AnsatzSimulator(a, dtype=np.complex64).run(diag, g, b, scale=0.7)
        np.testing.assert_allclose(psi64, want, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("p", [0, 2])
def test_every_mixer_matches_dense_algebra(p: int) -> None:
    """n = 9: small blocks (several gathered groups, n not a multiple of any block) and the defaults."""
    n = 9
    rng = np.random.default_rng(p)
    diag = _qubo(n, p).diagonal()
    g, b = rng.uniform(-1.5, 1.5, p), rng.uniform(-1.5, 1.5, p)
    for name, a in _every_mixer(n, 4).items():
        want = _dense_state(a, diag, g, b, scale=1.3)
        for bb in (None, 3, 4):
            sim = AnsatzSimulator(a, block_bits=bb)
            np.testing.assert_allclose(
                sim.run(diag, g, b, scale=1.3), want, atol=1e-13, err_msg=f"{name} {bb}"
            )
            e = sim.run_expectation(diag, g, b, scale=1.3)
            assert e == pytest.approx(float(np.abs(want) ** 2 @ diag), abs=1e-12), name
            assert sim.expectation(diag) == pytest.approx(e, abs=1e-13)


@pytest.mark.parametrize("n", [13, 15])
def test_kernel_matches_the_previous_implementation_odd_sizes(n: int) -> None:
    """n not a multiple of the block sizes: default blocks, and 5-bit blocks (4-qubit gathered groups)."""
    from qslack.samplers.qaoa.kernel_ansatz import _ReferenceSimulator

    rng = np.random.default_rng(n)
    diag = rng.normal(size=1 << n)
    g, b = rng.uniform(-1.5, 1.5, 3), rng.uniform(-1.5, 1.5, 3)
    for name, a in _every_mixer(n, n).items():
        ref = _ReferenceSimulator(a).run(diag, g, b, scale=0.9).copy()
        for bb in (None, 5):
            for threads in (1, 2):
                psi = AnsatzSimulator(a, block_bits=bb, threads=threads).run(diag, g, b, scale=0.9)
                np.testing.assert_allclose(psi, ref, atol=1e-12, err_msg=f"{name} bb={bb} threads={threads}")


def test_kernel_matches_the_previous_implementation_at_20_qubits() -> None:
    """Every mixer at n = 20 (two qubit groups at both dtypes: the gathered pass runs), 2 threads."""
    from qslack.samplers.qaoa.kernel_ansatz import _ReferenceSimulator

    n = 20
    rng = np.random.default_rng(20)
    diag = _qubo(n, 20).diagonal()
    g, b = rng.uniform(0.1, 0.6, 2), np.array([-0.4, -1.2])  # both forms of the gates (|tan b| < 1, > 1)
    kinds = _every_mixer(n, 20)
    for name in ("x-from-warm", "warm", "xy-ring", "xy-complete", "x-from-one-hot"):
        a = kinds[name]
        ref = _ReferenceSimulator(a, threads=2)
        want = ref.run(diag, g, b, scale=3.0).copy()
        e_ref = ref.expectation(diag)
        sim = AnsatzSimulator(a, threads=2)
        e = sim.run_expectation(diag, g, b, scale=3.0)
        np.testing.assert_allclose(sim.state, want, atol=1e-12, err_msg=name)
        assert e == pytest.approx(e_ref, rel=1e-12, abs=1e-12), name
        sim64 = AnsatzSimulator(a, dtype=np.complex64, threads=2)
        e64 = sim64.run_expectation(diag, g, b, scale=3.0)
        assert np.abs(sim64.state - want).max() < 1e-6, name
        assert e64 == pytest.approx(e_ref, rel=1e-5, abs=1e-5), name


def test_float32_diagonal_gives_the_float64_state() -> None:
    n = 12
    q = _qubo(n, 12)
    q = QUBO(q.Q, offset=250.0)  # a large constant: the float32 diagonal is stored without it
    d64 = q.diagonal()
    shift = q.diagonal_shift()
    d32 = q.diagonal(np.float32, shift=shift)
    g, b = [0.3, -0.7, 0.5], [0.4, -1.1, 0.2]
    for name, a in _every_mixer(n, 12).items():
        for dt, tol in ((np.complex128, 2e-6), (np.complex64, 3e-6)):
            ref = AnsatzSimulator(a, dtype=np.complex128).run(d64, g, b, scale=2.0).copy()
            sim = AnsatzSimulator(a, dtype=dt, diag_dtype=np.float32)
            e = sim.run_expectation(d32, g, b, scale=2.0, shift=shift)
            np.testing.assert_allclose(sim.state, ref, atol=tol, err_msg=name)
            e_ref = float(np.abs(ref) ** 2 @ d64)
            assert e == pytest.approx(e_ref, rel=1e-6), name
            assert sim.expectation(d32, shift=shift) == pytest.approx(e, rel=1e-12)
            assert sim.cvar(d32, 0.2, shift=shift) == pytest.approx(
                cvar_of(d64, np.abs(ref) ** 2, 0.2), rel=1e-5
            )


def test_complex64_agrees_with_complex128_for_every_mixer() -> None:
    n = 14
    diag = _qubo(n, 14).diagonal()
    g, b = [0.2, 0.5, -0.3, 0.8], [0.9, -0.4, 1.3, -1.0]
    for name, a in _every_mixer(n, 14).items():
        s128 = AnsatzSimulator(a).run(diag, g, b, scale=2.5).copy()
        sim = AnsatzSimulator(a, dtype=np.complex64)
        s64 = sim.run(diag, g, b, scale=2.5)
        assert s64.dtype == np.complex64
        np.testing.assert_allclose(s64, s128, atol=2e-6, err_msg=name)
        assert float(sim.probabilities().sum()) == pytest.approx(1.0, abs=1e-5)


def test_p0_is_the_initial_state_for_every_mixer() -> None:
    n = 10
    diag = _qubo(n, 1).diagonal()
    for name, a in _every_mixer(n, 2).items():
        for dt, tol in ((np.complex128, 1e-15), (np.complex64, 1e-7)):
            sim = AnsatzSimulator(a, dtype=dt)
            psi = sim.run(diag, [], [])
            np.testing.assert_allclose(psi, a.initial_state(), atol=tol, err_msg=name)
            assert sim.run_expectation(diag, [], []) == pytest.approx(
                float(np.abs(a.initial_state()) ** 2 @ diag), abs=1e-6 if dt == np.complex64 else 1e-12
            )


def test_sampler_float32_diagonal_on_the_ansatz_kernel_matches_float64():
    """``diag_dtype="float32"`` (solves from 28 variables) gives the warm ansatz the same state."""
    from qslack.samplers.qaoa.sampler import QAOASampler

    rng = np.random.default_rng(11)
    q = QUBO(np.triu(rng.normal(scale=50.0, size=(12, 12))), 1e4)  # a large offset: the shift keeps precision
    kw = {"p": 3, "mixer": "warm", "warm_start": rng.uniform(size=12), "schedule": "lr", "optimizer": "none"}
    a = QAOASampler(**kw, seed=1).sample(q)
    b = QAOASampler(**kw, diag_dtype="float32", seed=1).sample(q)
    assert np.abs(a.probabilities - b.probabilities).max() < 1e-6
    assert b.info["expectation"] == pytest.approx(a.info["expectation"], rel=1e-6)
    assert np.array_equal(a.X, b.X) and np.allclose(b.energy, q.energies(b.X))
