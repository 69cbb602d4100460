"""QAOASampler: backends agree, seeds reproduce, warm starts and angle conventions."""

from __future__ import annotations

import numpy as np
import pytest

from qslack.exceptions import OptionError
from qslack.model.lagrangian import LagrangianForm
from qslack.model.qubo import QUBO
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.qaoa.angles import interpolate, linear_ramp
from qslack.samplers.qaoa.sampler import QAOASampler


def _qubo(n: int, seed: int) -> QUBO:
    rng = np.random.default_rng(seed)
    return QUBO(np.triu(rng.normal(size=(n, n))), offset=rng.normal())


@pytest.mark.parametrize("n", [3, 6, 9])
def test_statevector_and_aer_give_same_probabilities(n: int) -> None:
    pytest.importorskip("qiskit_aer")
    q = _qubo(n, n)
    theta = np.array([0.3, -0.7, 0.5, 0.2])
    sv = QAOASampler(p=2, maxiter=0, shots=10, seed=1).sample(q, init=theta)
    aer = QAOASampler(p=2, maxiter=0, shots=10, seed=1, backend="aer").sample(q, init=theta)
    np.testing.assert_allclose(sv.probabilities, aer.probabilities, atol=1e-8)
    assert sv.info["expectation"] == pytest.approx(aer.info["expectation"], abs=1e-8)


def test_seed_reproduces_and_differs() -> None:
    q = _qubo(6, 0)
    s = QAOASampler(p=1, shots=300, maxiter=20)
    a, b, c = s.sample(q, seed=4), s.sample(q, seed=4), s.sample(q, seed=5)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.counts, b.counts)
    assert a.info["seed"] == 4 and not (np.array_equal(a.X, c.X) and np.array_equal(a.counts, c.counts))
    assert a.n_shots == 300


def test_optimisation_lowers_energy_and_beats_uniform() -> None:
    prog = build_program(load_instance("mknap1#1"))
    form = LagrangianForm(prog)
    q = form.qubo(np.zeros(prog.n_cons), np.full(prog.n_cons, 0.05))
    ss = QAOASampler(p=3, shots=500, maxiter=150, seed=0).sample(q)
    hist = ss.info["history"]
    assert min(hist) < hist[0]  # the optimiser improved on the ramp
    diag = q.diagonal()
    assert ss.info["expectation"] < diag.mean()  # better than uniform sampling
    ground = diag <= diag.min() + 1e-9
    assert ss.probabilities[ground].sum() > ground.mean()


def test_warm_start_is_used() -> None:
    q = _qubo(5, 3)
    first = QAOASampler(p=2, shots=50, maxiter=40, seed=0).sample(q)
    again = QAOASampler(p=2, shots=50, maxiter=0, seed=0).sample(q, init=first.info["angles"])
    assert again.info["angles"] == first.info["angles"]
    assert again.info["final_value"] == pytest.approx(min(first.info["history"]))


def test_angle_helpers() -> None:
    ramp = linear_ramp(3)
    assert ramp[:3].tolist() == sorted(ramp[:3].tolist()) and ramp[3:].tolist() == sorted(
        ramp[3:], reverse=True
    )
    assert interpolate(ramp, 3).tolist() == ramp.tolist()
    assert interpolate(ramp, 5).shape == (10,)


def test_bad_options() -> None:
    with pytest.raises(OptionError):
        QAOASampler(backend="quantum-annealer")
    with pytest.raises(OptionError):
        QAOASampler().sample(_qubo(2, 0), colour="red")
