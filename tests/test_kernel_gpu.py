"""The CuPy kernel against the numba kernel (skipped without a CUDA GPU).

Imports only numpy, pytest and qslack.samplers.qaoa.kernel* / qslack.exceptions,
so that it runs on a GPU machine without qiskit.
"""

from __future__ import annotations

import numpy as np
import pytest

from qslack.samplers.qaoa.kernel import StatevectorSimulator
from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator, gpu_available

pytestmark = pytest.mark.skipif(
    not gpu_available(), reason="no CUDA GPU: CuPy missing or no device"
)


def _case(rng, n, p):
    diag = rng.normal(size=2**n) * 3.0
    return diag, rng.uniform(-np.pi, np.pi, p), rng.uniform(-np.pi, np.pi, p)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 10, 11, 12, 13, 14])
def test_gpu_matches_cpu(n):
    import cupy as cp

    rng = np.random.default_rng(n)
    cpu = StatevectorSimulator(n)
    gpu = GPUStatevectorSimulator(n)
    for p in (1, 2, 3):
        diag, g, b = _case(rng, n, p)
        ref = cpu.run(diag, g, b, scale=1.3).copy()
        psi = gpu.run(diag, g, b, scale=1.3)
        np.testing.assert_allclose(cp.asnumpy(psi), ref, rtol=0, atol=1e-10)
        np.testing.assert_allclose(gpu.probabilities(), cpu.probabilities(), rtol=0, atol=1e-10)
        assert gpu.expectation(diag) == pytest.approx(cpu.expectation(diag), abs=1e-10)
        for alpha in (0.05, 0.3, 1.0):
            assert gpu.cvar(diag, alpha) == pytest.approx(cpu.cvar(diag, alpha), abs=1e-10)


@pytest.mark.parametrize("block_bits", [6, 7, 8])
def test_gpu_small_blocks_and_complex64(block_bits):
    import cupy as cp

    rng = np.random.default_rng(block_bits)
    n = 14
    diag, g, b = _case(rng, n, 3)
    ref = StatevectorSimulator(n).run(diag, g, b).copy()
    gpu = GPUStatevectorSimulator(n, block_bits=block_bits)
    np.testing.assert_allclose(cp.asnumpy(gpu.run(diag, g, b)), ref, rtol=0, atol=1e-10)
    g64 = GPUStatevectorSimulator(n, dtype=np.complex64, block_bits=block_bits)
    np.testing.assert_allclose(cp.asnumpy(g64.run(diag, g, b)), ref, rtol=0, atol=1e-5)


def test_gpu_diagonal_cache_and_cupy_input():
    import cupy as cp

    rng = np.random.default_rng(9)
    n = 12
    diag, g, b = _case(rng, n, 2)
    gpu = GPUStatevectorSimulator(n)
    cpu = StatevectorSimulator(n)
    gpu.run(diag, g, b)
    e1 = gpu.expectation(diag)
    diag *= 2.0  # changed in place: the cache must notice
    cpu.run(diag, g, b)
    gpu.run(diag, g, b)
    assert gpu.expectation(diag) == pytest.approx(cpu.expectation(diag), abs=1e-10)
    assert gpu.expectation(diag) != pytest.approx(e1)
    d_dev = cp.asarray(diag)
    gpu.run(d_dev, g, b)
    assert gpu.expectation(d_dev) == pytest.approx(cpu.expectation(diag), abs=1e-10)


@pytest.mark.parametrize("n", [6, 11, 14])
@pytest.mark.parametrize("objective", ["expectation", "cvar"])
def test_gpu_gradient_matches_cpu(n, objective):
    """The CuPy adjoint sweep against the numba one (several groups at n = 14)."""
    rng = np.random.default_rng(100 + n)
    diag, g, b = _case(rng, n, 3)
    cpu = StatevectorSimulator(n).gradient(diag, g, b, scale=1.3, objective=objective, alpha=0.2)
    for dtype, tol in ((np.complex128, 1e-9), (np.complex64, 2e-4)):
        gpu = GPUStatevectorSimulator(n, dtype=dtype)
        v, dg, db = gpu.gradient(diag, g, b, scale=1.3, objective=objective, alpha=0.2)
        scale = max(1.0, float(np.abs(np.concatenate([cpu[1], cpu[2]])).max()))
        assert v == pytest.approx(cpu[0], abs=tol * scale)
        np.testing.assert_allclose(dg, cpu[1], rtol=0, atol=tol * scale)
        np.testing.assert_allclose(db, cpu[2], rtol=0, atol=tol * scale)


def test_gpu_float32_diagonal_from_qubo_matches_cpu():
    """The diagonal built on the device (float32, shifted) drives the same evaluation."""
    import cupy as cp

    from qslack.model.qubo import QUBO

    rng = np.random.default_rng(3)
    n = 15
    q = QUBO(np.triu(rng.normal(size=(n, n))), offset=250.0)
    shift = q.diagonal_shift()
    host = q.diagonal()
    for ddt, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        gpu = GPUStatevectorSimulator(n, dtype=np.complex64, diag_dtype=ddt)
        d_dev = gpu.diagonal_from_qubo(q, shift=shift)
        np.testing.assert_allclose(cp.asnumpy(d_dev).astype(np.float64) + shift, host, rtol=0, atol=tol * 250)
        g, b = [0.3, 0.1], [0.5, 0.2]
        ising = q.to_ising()
        cpu = StatevectorSimulator(n, dtype=np.complex64).run_expectation(host, g, b, scale=ising.scale)
        gpu.run(d_dev, g, b, scale=ising.scale, shift=shift)
        assert gpu.expectation(d_dev, shift=shift) == pytest.approx(cpu, abs=1e-3)
        _, dg, db = gpu.gradient(d_dev, g, b, scale=ising.scale, shift=shift)
        _, cdg, cdb = StatevectorSimulator(n).gradient(host, g, b, scale=ising.scale)
        np.testing.assert_allclose(np.concatenate([dg, db]), np.concatenate([cdg, cdb]), atol=2e-3)
