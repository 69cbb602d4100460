"""The numba QAOA kernel against a plain-numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from qslack.exceptions import ResourceError, ValidationError
from qslack.samplers.qaoa.kernel import (
    StatevectorSimulator,
    check_memory,
    qaoa_state,
    state_bytes,
)


def ref_state(diag, gammas, betas, scale=1.0):
    """prod_l exp(-i b_l sum X) exp(-i g_l diag / scale) |+>^n, qubit by qubit."""
    n = int(np.log2(diag.size))
    psi = np.full(diag.size, 2.0 ** (-n / 2), dtype=np.complex128)
    for g, b in zip(gammas, betas, strict=False):
        psi = psi * np.exp(-1j * g * diag / scale)
        c, s = np.cos(b), np.sin(b)
        for j in range(n):
            v = psi.reshape(-1, 2, 2**j)  # axis 1 is bit j
            a0 = v[:, 0, :].copy()
            a1 = v[:, 1, :].copy()
            v[:, 0, :] = c * a0 - 1j * s * a1
            v[:, 1, :] = c * a1 - 1j * s * a0
    return psi


def ref_cvar(diag, probs, alpha):
    order = np.argsort(diag, kind="stable")
    e, w = diag[order], probs[order]
    cum = np.cumsum(w)
    j = min(int(np.searchsorted(cum, alpha)), e.size - 1)
    head = float(np.dot(w[:j], e[:j]))
    mass = float(cum[j - 1]) if j else 0.0
    return (head + (alpha - mass) * e[j]) / alpha


def _case(rng, n, p):
    diag = rng.normal(size=2**n) * 3.0
    gammas = rng.uniform(-np.pi, np.pi, p)
    betas = rng.uniform(-np.pi, np.pi, p)
    return diag, gammas, betas


@pytest.mark.parametrize("n", range(1, 13))
def test_state_matches_reference(n):
    rng = np.random.default_rng(100 + n)
    sim = StatevectorSimulator(n)
    sim64 = StatevectorSimulator(n, dtype=np.complex64)
    for p in (1, 2, 3):
        diag, g, b = _case(rng, n, p)
        ref = ref_state(diag, g, b, scale=1.7)
        psi = sim.run(diag, g, b, scale=1.7)
        assert psi.dtype == np.complex128 and psi.shape == (2**n,)
        np.testing.assert_allclose(psi, ref, rtol=0, atol=1e-10)
        assert abs(np.vdot(psi, psi).real - 1.0) < 1e-12
        psi64 = sim64.run(diag, g, b, scale=1.7)
        assert psi64.dtype == np.complex64
        np.testing.assert_allclose(psi64, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("block_bits", [3, 4, 5, 6, 7])
@pytest.mark.parametrize("n", [3, 5, 6, 7, 9, 11, 13])
def test_blocking_boundaries(n, block_bits):
    """n below, at and above the block size; several groups of high qubits."""
    rng = np.random.default_rng(7 * n + block_bits)
    diag, g, b = _case(rng, n, 3)
    ref = ref_state(diag, g, b, scale=0.9)
    sim = StatevectorSimulator(n, block_bits=block_bits)
    np.testing.assert_allclose(sim.run(diag, g, b, scale=0.9), ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("n", [16, 17])
def test_parallel_path_default_blocks(n):
    """n >= 16 runs the threaded passes; n = 17 > 15 uses a gathered second group."""
    rng = np.random.default_rng(n)
    diag, g, b = _case(rng, n, 2)
    ref = ref_state(diag, g, b, scale=2.5)
    pref = np.abs(ref) ** 2
    for dtype, tol in ((np.complex128, 1e-10), (np.complex64, 1e-5)):
        sim = StatevectorSimulator(n, dtype=dtype)
        np.testing.assert_allclose(sim.run(diag, g, b, scale=2.5), ref, rtol=0, atol=tol)
        e = sim.run_expectation(diag, g, b, scale=2.5)
        assert e == pytest.approx(float(pref @ diag), abs=1e3 * tol)
        assert sim.expectation(diag) == pytest.approx(e, abs=1e3 * tol)
        np.testing.assert_allclose(sim.probabilities(), pref, rtol=0, atol=tol)
    sim1 = StatevectorSimulator(n, threads=1)
    np.testing.assert_allclose(sim1.run(diag, g, b, scale=2.5), ref, rtol=0, atol=1e-10)


def test_run_expectation_small():
    rng = np.random.default_rng(21)
    for n, bb in ((1, 15), (4, 3), (9, 4), (12, 15)):
        for p in (1, 2, 3):
            diag, g, b = _case(rng, n, p)
            pref = np.abs(ref_state(diag, g, b)) ** 2
            sim = StatevectorSimulator(n, block_bits=bb)
            assert sim.run_expectation(diag, g, b) == pytest.approx(float(pref @ diag), abs=1e-10)
            np.testing.assert_allclose(sim.probabilities(), pref, rtol=0, atol=1e-12)


def test_large_arguments_and_threads():
    """Big phases (range reduction) and an explicit thread count."""
    rng = np.random.default_rng(3)
    n = 10
    diag = rng.integers(-5000, 5000, size=2**n).astype(np.float64)
    g, b = np.array([0.77, -2.1]), np.array([0.3, 1.1])
    ref = ref_state(diag, g, b)
    sim = StatevectorSimulator(n, threads=1, block_bits=6)
    np.testing.assert_allclose(sim.run(diag, g, b), ref, rtol=0, atol=1e-10)


def test_expectation_probabilities_cvar():
    rng = np.random.default_rng(11)
    for n in (1, 4, 9):
        diag, g, b = _case(rng, n, 2)
        ref = ref_state(diag, g, b)
        pref = np.abs(ref) ** 2
        sim = StatevectorSimulator(n)
        sim.run(diag, g, b)
        probs = sim.probabilities()
        np.testing.assert_allclose(probs, pref, rtol=0, atol=1e-12)
        out = np.empty(2**n)
        assert sim.probabilities(out=out) is out
        assert sim.expectation(diag) == pytest.approx(float(pref @ diag), abs=1e-10)
        for alpha in (1e-3, 0.1, 0.25, 0.5, 0.999, 1.0):
            assert sim.cvar(diag, alpha) == pytest.approx(ref_cvar(diag, pref, alpha), abs=1e-10)
        assert sim.cvar(diag, 1.0) == pytest.approx(sim.expectation(diag), abs=1e-10)


def test_cvar_with_ties():
    """Integer energies: many states share the boundary energy."""
    rng = np.random.default_rng(5)
    n = 11
    diag = rng.integers(0, 6, size=2**n).astype(np.float64)
    g, b = np.array([0.4, 0.9]), np.array([0.6, 0.2])
    sim = StatevectorSimulator(n, block_bits=5)
    sim.run(diag, g, b)
    pref = np.abs(ref_state(diag, g, b)) ** 2
    for alpha in np.linspace(0.01, 1.0, 23):
        assert sim.cvar(diag, alpha) == pytest.approx(ref_cvar(diag, pref, alpha), abs=1e-10)


def test_qaoa_state_and_zero_angles():
    psi = qaoa_state(np.arange(8.0), [0.0], [0.0])
    np.testing.assert_allclose(psi, np.full(8, 8**-0.5), atol=1e-15)
    # beta = pi/4 on |+> is a global phase per qubit: probabilities stay uniform
    psi = qaoa_state(np.zeros(16), [0.3], [np.pi / 4])
    np.testing.assert_allclose(np.abs(psi) ** 2, np.full(16, 1 / 16), atol=1e-15)


def test_run_reuses_one_buffer():
    sim = StatevectorSimulator(6)
    diag = np.linspace(-1, 1, 64)
    a = sim.run(diag, [0.1], [0.2])
    b = sim.run(diag, [0.3, 0.4], [0.5, 0.6])
    assert a is b or np.shares_memory(a, b)


def test_memory_checks_do_not_allocate():
    assert state_bytes(20) == 16 * 2**20
    assert state_bytes(20, np.complex64) == 8 * 2**20
    with pytest.raises(ResourceError, match=r"n=30 needs 16\.0 GiB for the complex128 state"):
        check_memory(30, available=12 * 2**30)
    check_memory(30, available=64 * 2**30)
    with pytest.raises(ResourceError, match="n=60"):
        StatevectorSimulator(60)
    with pytest.raises(ResourceError, match="complex64"):
        StatevectorSimulator(58, dtype=np.complex64)


def test_validation():
    sim = StatevectorSimulator(3)
    with pytest.raises(ValidationError):
        sim.expectation(np.zeros(8))  # no state yet
    with pytest.raises(ValidationError):
        sim.run(np.zeros(4), [0.1], [0.1])
    with pytest.raises(ValidationError):
        sim.run(np.zeros(8), [0.1, 0.2], [0.1])
    with pytest.raises(ValidationError):
        sim.run(np.zeros(8), [0.1], [0.1], scale=0.0)
    sim.run(np.zeros(8), [0.1], [0.1])
    with pytest.raises(ValidationError):
        sim.cvar(np.zeros(8), 0.0)
    with pytest.raises(ValidationError):
        StatevectorSimulator(3, dtype=np.float64)
