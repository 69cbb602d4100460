"""Aer circuit backend against the kernel (same angles, same state)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")

from qslack.exceptions import DependencyError, ResourceError
from qslack.samplers.qaoa.backends.aer import AerStatevector
from qslack.samplers.qaoa.circuit import qaoa_circuit
from qslack.samplers.qaoa.kernel import StatevectorSimulator


def ising_diag(h, J, offset=0.0):
    """diag[k] = offset + h.z + sum_{i<j} J_ij z_i z_j with z_j = 1 - 2 * bit j of k."""
    n = h.size
    k = np.arange(2**n)
    z = 1.0 - 2.0 * ((k[:, None] >> np.arange(n)) & 1)
    return offset + z @ h + np.einsum("ki,ij,kj->k", z, J, z)


def random_ising(rng, n):
    h = rng.normal(size=n)
    J = np.triu(rng.normal(size=(n, n)), 1)
    return h, J, float(max(np.abs(h).max(), np.abs(J).max()))


def kernel_probs(diag, g, b, scale):
    sim = StatevectorSimulator(int(np.log2(diag.size)))
    sim.run(diag, g, b, scale=scale)
    return sim.probabilities()


@pytest.mark.parametrize("n", [1, 2, 5, 8, 12])
def test_aer_statevector_matches_kernel(n):
    rng = np.random.default_rng(n)
    h, J, scale = random_ising(rng, n)
    diag = ising_diag(h, J, offset=1.25)
    aer = AerStatevector(h, J, p=2, scale=scale)
    for _ in range(2):
        g = rng.uniform(-2, 2, 2)
        b = rng.uniform(-2, 2, 2)
        probs = aer.probabilities(g, b)
        assert probs.shape == (2**n,) and probs.dtype == np.float64
        np.testing.assert_allclose(probs, kernel_probs(diag, g, b, scale), rtol=0, atol=1e-8)
        assert aer.expectation(diag, g, b) == pytest.approx(
            float(kernel_probs(diag, g, b, scale) @ diag), abs=1e-8
        )


def test_mps_matches_statevector():
    rng = np.random.default_rng(42)
    n = 8
    h, J, scale = random_ising(rng, n)
    g, b = [0.35, 0.8], [0.6, 0.25]
    sv = AerStatevector(h, J, 2, scale).probabilities(g, b)
    mps = AerStatevector(h, J, 2, scale, method="matrix_product_state").probabilities(g, b)
    np.testing.assert_allclose(mps, sv, rtol=0, atol=1e-6)


def test_sampling_counts_use_kernel_order():
    rng = np.random.default_rng(3)
    n = 6
    h, J, scale = random_ising(rng, n)
    g, b = [0.5], [0.3]
    probs = kernel_probs(ising_diag(h, J), g, b, scale)
    for method in ("statevector", "matrix_product_state"):
        aer = AerStatevector(h, J, 1, scale, method=method, seed=11)
        counts = aer.sample(g, b, shots=20000)
        assert sum(counts.values()) == 20000
        assert all(0 <= k < 2**n for k in counts)
        freq = np.zeros(2**n)
        for k, v in counts.items():
            freq[k] = v / 20000
        assert np.abs(freq - probs).max() < 0.02
        assert aer.sample(g, b, shots=500, seed=5) == aer.sample(g, b, shots=500, seed=5)


def test_circuit_skips_zero_terms():
    h = np.array([0.0, 1.0, 0.0])
    J = np.zeros((3, 3))
    J[0, 2] = 2.0
    qc, gammas, betas = qaoa_circuit(h, J, 2, scale=2.0, measure=True)
    ops = dict(qc.count_ops())
    assert ops["rz"] == 2 and ops["rzz"] == 2 and ops["rx"] == 6 and ops["h"] == 3
    assert len(gammas) == 2 and len(betas) == 2
    assert ops["measure"] == 3


def test_refusals():
    n = 40
    h = np.ones(n)
    J = np.zeros((n, n))
    with pytest.raises(ResourceError, match="n=40"):
        AerStatevector(h, J, 1)
    mps = AerStatevector(h, J, 1, method="matrix_product_state")
    with pytest.raises(ResourceError, match="n=40"):
        mps.probabilities([0.1], [0.1])
    from qiskit_aer import AerSimulator

    if "GPU" not in AerSimulator().available_devices():
        with pytest.raises(DependencyError, match="qiskit-aer-gpu"):
            AerStatevector(np.ones(2), np.zeros((2, 2)), 1, device="GPU")
