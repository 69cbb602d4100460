"""QAOASampler(device="GPU") against the CPU sampler (skipped without a CUDA GPU).

Imports no qiskit: runs on a GPU machine that has numpy, scipy, numba and CuPy only.
"""

from __future__ import annotations

import numpy as np
import pytest

from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram
from qslack.samplers.qaoa.kernel_gpu import gpu_available
from qslack.samplers.qaoa.sampler import QAOASampler

pytestmark = pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU: CuPy missing or no device")


def _qubo(n: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    prog = BinaryProgram.from_arrays(
        c=-rng.integers(1, 20, n).astype(float),
        A=rng.integers(0, 9, size=(2, n)).astype(float),
        b=np.array([3.0 * n, 2.0 * n]),
    )
    return LagrangianForm(prog).qubo(np.array([0.5, 0.2]), np.array([0.05, 0.05]))


@pytest.mark.parametrize("n", [6, 12, 16])
def test_gpu_sampler_matches_cpu(n: int) -> None:
    q = _qubo(n, n)
    theta = np.array([0.2, 0.5, 0.6, 0.3])
    cpu = QAOASampler(p=2, maxiter=0, shots=500, seed=3).sample(q, init=theta)
    gpu = QAOASampler(p=2, maxiter=0, shots=500, seed=3, device="GPU").sample(q, init=theta)
    np.testing.assert_allclose(gpu.info["probabilities"], cpu.info["probabilities"], atol=1e-10)
    assert np.array_equal(gpu.X, cpu.X) and np.array_equal(gpu.counts, cpu.counts)


def test_gpu_sampler_optimises_and_agrees_at_the_cpu_optimum() -> None:
    """COBYLA paths may part at float-rounding level; the objective at given angles may not."""
    q = _qubo(10, 1)
    cpu = QAOASampler(p=2, maxiter=40, shots=200, seed=0).sample(q)
    gpu = QAOASampler(p=2, maxiter=40, shots=200, seed=0, device="GPU").sample(q)
    assert gpu.info["final_value"] < gpu.info["history"][0]  # the GPU run optimises too
    at = QAOASampler(p=2, maxiter=0, shots=200, seed=0, device="GPU").sample(q, init=cpu.info["angles"])
    assert at.info["final_value"] == pytest.approx(cpu.info["final_value"], rel=1e-9, abs=1e-9)
