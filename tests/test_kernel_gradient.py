"""Exact QAOA gradients (adjoint method) against finite differences and Aer; batches; costing."""

from __future__ import annotations

import numpy as np
import pytest

from qslack.exceptions import ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.qaoa.gradient import hardware_circuit_evals
from qslack.samplers.qaoa.kernel import StatevectorSimulator
from qslack.samplers.qaoa.sampler import QAOASampler


def _case(rng, n, p):
    return rng.normal(size=2**n) * 3.0, rng.uniform(-np.pi, np.pi, p), rng.uniform(-np.pi, np.pi, p)


def _objective(sim, diag, g, b, scale, objective, alpha):
    if objective == "expectation":
        return sim.run_expectation(diag, g, b, scale=scale)
    sim.run(diag, g, b, scale=scale)
    return sim.cvar(diag, alpha)


def _finite_differences(sim, diag, g, b, scale, objective, alpha, h=1e-5):
    p = g.size
    E = np.eye(p) * h
    f = lambda gg, bb: _objective(sim, diag, gg, bb, scale, objective, alpha)
    dg = np.array([(f(g + E[i], b) - f(g - E[i], b)) / (2 * h) for i in range(p)])
    db = np.array([(f(g, b + E[i]) - f(g, b - E[i])) / (2 * h) for i in range(p)])
    return f(g, b), dg, db


@pytest.mark.parametrize(
    ("n", "block_bits", "p"),
    [(1, None, 2), (3, 3, 2), (6, 3, 3), (9, 4, 2), (11, 5, 3), (8, None, 1)],
)
@pytest.mark.parametrize("objective", ["expectation", "cvar"])
def test_gradient_matches_finite_differences(n, block_bits, p, objective):
    """One and several qubit groups (small blocks force gathered passes), both objectives."""
    rng = np.random.default_rng(10 * n + p)
    diag, g, b = _case(rng, n, p)
    kw = {} if block_bits is None else {"block_bits": block_bits}
    ref = StatevectorSimulator(n, **kw)
    v0, fdg, fdb = _finite_differences(ref, diag, g, b, 1.7, objective, 0.3)
    for dtype, tol in ((np.complex128, 2e-7), (np.complex64, 2e-3)):
        sim = StatevectorSimulator(n, dtype=dtype, **kw)
        v, dg, db = sim.gradient(diag, g, b, scale=1.7, objective=objective, alpha=0.3)
        assert v == pytest.approx(v0, abs=tol)
        np.testing.assert_allclose(dg, fdg, rtol=0, atol=tol * max(1.0, np.abs(fdg).max()))
        np.testing.assert_allclose(db, fdb, rtol=0, atol=tol * max(1.0, np.abs(fdb).max()))


def test_gradient_threaded_passes_and_float32_diagonal():
    """n = 17: the threaded passes with a gathered group; a float32 diagonal with a shift."""
    rng = np.random.default_rng(17)
    n = 17
    diag, g, b = _case(rng, n, 2)
    diag += 1e4
    ref = StatevectorSimulator(n)
    v0, fdg, fdb = _finite_differences(ref, diag, g, b, 2.0, "expectation", 1.0)
    v, dg, db = ref.gradient(diag, g, b, scale=2.0)
    assert v == pytest.approx(v0, rel=1e-12)
    np.testing.assert_allclose(np.concatenate([dg, db]), np.concatenate([fdg, fdb]), atol=2e-5 * 1e4)
    shift = 1e4
    d32 = (diag - shift).astype(np.float32)
    sim = StatevectorSimulator(n, dtype=np.complex64, diag_dtype=np.float32)
    v32, dg32, db32 = sim.gradient(d32, g, b, scale=2.0, shift=shift)
    assert v32 == pytest.approx(v, abs=1e-3)
    np.testing.assert_allclose(np.concatenate([dg32, db32]), np.concatenate([dg, db]), atol=1e-3)
    # the state is left undone: probabilities need a run first
    with pytest.raises(ValidationError):
        sim.probabilities()


def test_gradient_first_pass_rebuilds_x(monkeypatch):
    """The first backward pass rebuilds x from the diagonal (x is not read): the same gradient as
    undoing it on both states, with threaded passes and a gathered group (n = 17)."""
    from qslack.samplers.qaoa import gradient

    rng = np.random.default_rng(3)
    n = 17
    diag, g, b = _case(rng, n, 3)
    for dtype, tol in ((np.complex128, 1e-12), (np.complex64, 2e-5)):
        sim = StatevectorSimulator(n, dtype=dtype)
        v1, dg1, db1 = sim.gradient(diag, g, b, scale=1.3)
        monkeypatch.setattr(gradient, "_ANALYTIC_FIRST", False)
        v2, dg2, db2 = sim.gradient(diag, g, b, scale=1.3)
        monkeypatch.setattr(gradient, "_ANALYTIC_FIRST", True)
        assert v1 == v2
        scale = max(1.0, float(np.abs(np.concatenate([dg2, db2])).max()))
        np.testing.assert_allclose(np.concatenate([dg1, db1]), np.concatenate([dg2, db2]), atol=tol * scale)


def test_gradient_matches_aer_central_differences():
    """The derivative of Aer's expectation at theta +- h (an independent simulator)."""
    pytest.importorskip("qiskit_aer")
    from qslack.samplers.qaoa.backends.aer import AerStatevector

    rng = np.random.default_rng(5)
    n, p = 5, 2
    q = QUBO(np.triu(rng.normal(size=(n, n))), offset=0.2)
    ising = q.to_ising()
    diag = q.diagonal()
    aer = AerStatevector(ising.h, ising.J, p, ising.scale)
    g, b = np.array([0.4, -0.9]), np.array([0.7, 0.25])
    h = 1e-4

    def f(gg, bb):
        return aer.expectation(diag, gg, bb)

    E = np.eye(p) * h
    fdg = [(f(g + E[i], b) - f(g - E[i], b)) / (2 * h) for i in range(p)]
    fdb = [(f(g, b + E[i]) - f(g, b - E[i])) / (2 * h) for i in range(p)]
    v, dg, db = StatevectorSimulator(n).gradient(diag, g, b, scale=ising.scale)
    assert v == pytest.approx(f(g, b), abs=1e-10)
    np.testing.assert_allclose(dg, fdg, atol=1e-6)
    np.testing.assert_allclose(db, fdb, atol=1e-6)


def test_batch_matches_single_evaluations():
    rng = np.random.default_rng(2)
    for n, bb in ((6, None), (12, 5), (16, None)):  # n = 16: one angle set per thread
        diag = rng.normal(size=2**n)
        G = rng.uniform(-1, 1, size=(5, 3))
        B = rng.uniform(-1, 1, size=(5, 3))
        kw = {} if bb is None else {"block_bits": bb}
        sim = StatevectorSimulator(n, **kw)
        got = sim.run_expectation_batch(diag, G, B, scale=1.3)
        want = [
            StatevectorSimulator(n, **kw).run_expectation(diag, g, b, scale=1.3)
            for g, b in zip(G, B, strict=True)
        ]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        # the buffer holds the last set's state
        last = StatevectorSimulator(n, **kw).run(diag, G[-1], B[-1], scale=1.3).copy()
        np.testing.assert_allclose(sim.state, last, atol=1e-12)
    with pytest.raises(ValidationError):
        sim.run_expectation_batch(diag, G, B[:, :2])


def test_sampler_uses_the_exact_gradient_and_counts_it():
    rng = np.random.default_rng(4)
    q = QUBO(np.triu(rng.normal(size=(8, 8))), offset=0.0)
    grad = QAOASampler(p=2, optimizer="l-bfgs-b", maxiter=40, shots=64, seed=1).sample(q)
    cob = QAOASampler(p=2, optimizer="cobyla", maxiter=40, shots=64, seed=1).sample(q)
    gi, ci = grad.info, cob.info
    assert gi["n_grad_evals"] >= 2 and ci["n_grad_evals"] == 0
    # every gradient call also returned the value; the final re-evaluation is one more
    assert gi["n_evals"] == gi["n_grad_evals"] + 1
    assert gi["final_value"] < gi["history"][0]
    assert (
        hardware_circuit_evals(gi["n_evals"], gi["n_grad_evals"], 2) == gi["n_evals"] + 8 * gi["n_grad_evals"]
    )
    # a local optimum: the gradient there is ~0
    _, dg, db = StatevectorSimulator(8).gradient(
        q.diagonal(), gi["angles"]["gammas"], gi["angles"]["betas"], scale=gi["scale"]
    )
    assert np.abs(np.concatenate([dg, db])).max() < 1e-3 * max(1.0, abs(gi["final_value"]))


def test_hardware_circuit_evals_rejects_negatives():
    assert hardware_circuit_evals(0, 1, 1, shifts_per_angle=4) == 8
    with pytest.raises(ValueError):
        hardware_circuit_evals(-1, 0, 1)
