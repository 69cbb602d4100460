"""complex64 against complex128 on realistic QUBOs: the error is far below the shot noise.

The justification of ``QAOASampler(dtype="auto")`` (complex64 from 18 qubits):
a sampled run of ``shots`` shots estimates each probability with a standard
error of about ``sqrt(p / shots) <= 1 / sqrt(shots)``; complex64 changes the
probabilities themselves by ~1e-7 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from qslack.model.lagrangian import LagrangianForm
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.qaoa.angles import linear_ramp, split
from qslack.samplers.qaoa.kernel import StatevectorSimulator

SHOTS = 1000  # the sampler's default


@pytest.mark.parametrize(
    ("spec", "lam", "rho"),
    [
        ("gen:mdkp?n=20&m=5&tightness=0.25&seed=1", 2.0, 0.1),  # 20 qubits, knapsack rows
        ("gen:mis?n=18&p=0.3&seed=1", 1.5, 0.0),  # 18 qubits, product penalties
        ("gen:tsp?n=5&seed=1", 5.0, 1.0),  # 16 qubits, position encoding
    ],
)
def test_complex64_probabilities_are_far_inside_the_shot_noise(spec: str, lam: float, rho: float) -> None:
    prog = build_program(load_instance(spec))
    form = LagrangianForm(prog)
    q = form.qubo(np.full(prog.n_cons, lam), np.full(prog.n_cons, rho))
    n = q.n_vars
    ising = q.to_ising()
    diag = q.diagonal()
    for p in (1, 3):
        g, b = split(linear_ramp(p))
        s128 = StatevectorSimulator(n)
        s64 = StatevectorSimulator(n, dtype=np.complex64)
        e128 = s128.run_expectation(diag, g, b, scale=ising.scale)
        e64 = s64.run_expectation(diag, g, b, scale=ising.scale)
        p128, p64 = s128.probabilities(), s64.probabilities()
        tv = 0.5 * np.abs(p64 - p128).sum()  # total variation distance
        # far inside the noise of a sampled distribution (~1/sqrt(shots) = 0.03 in TV terms)
        assert tv < 1e-4 / np.sqrt(SHOTS), (spec, p, tv)
        assert np.abs(p64 - p128).max() < 1e-6
        spread = float(diag.max() - diag.min())
        assert abs(e64 - e128) < 1e-5 * spread
        # the float32 diagonal with its shift adds nothing visible at this scale
        shift = q.diagonal_shift()
        s32 = StatevectorSimulator(n, dtype=np.complex64, diag_dtype=np.float32)
        e32 = s32.run_expectation(q.diagonal(np.float32, shift=shift), g, b, scale=ising.scale, shift=shift)
        assert abs(e32 - e128) < 1e-5 * spread
        assert 0.5 * np.abs(s32.probabilities() - p128).sum() < 1e-4 / np.sqrt(SHOTS)
