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
