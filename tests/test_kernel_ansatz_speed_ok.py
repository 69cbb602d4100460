"""The fast paths of the structured-ansatz kernel (correctness only; timings: scripts/bench_ansatz.py).

:class:`~qslack.samplers.qaoa.kernel_ansatz.AnsatzSimulator` applies the warm-start and X
gates with explicit SIMD (:func:`~qslack.samplers.qaoa._ops.zxrot_bits`), folds the
mixer scalars into the phase, writes the initial state in its first pass and reads a
float32 diagonal in place.  Checked here: the chunk operation against dense algebra for
every bit range, the general-path fallback, angles at the edges of the two gate forms,
thread counts, the pass count, and the memory (nothing of size ``2**n`` besides the state;
the peak against ``estimate_bytes`` is in ``tests/test_memory.py``).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from qslack.samplers.qaoa._ops import zxrot_bits
from qslack.samplers.qaoa.ansatz import Ansatz
from qslack.samplers.qaoa.kernel_ansatz import (
    AnsatzSimulator,
    _compile_plan,
    _ReferenceSimulator,
    _zx_form,
)

ROOT = Path(__file__).resolve().parents[1]


def _apply_dense(psi: np.ndarray, q: int, U: np.ndarray) -> np.ndarray:
    t = psi.reshape(-1, 2, 1 << q)
    return np.einsum("ab,xbk->xak", U, t).reshape(-1)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("unit", [False, True])
def test_zxrot_bits_matches_dense_gates_on_every_bit_range(dtype, unit: bool) -> None:
    rng = np.random.default_rng(int(unit))
    rdt = np.float64 if dtype == np.complex128 else np.float32
    tol = 1e-13 if dtype == np.complex128 else 2e-6
    # 14 qubits: bits below and above the L1 sub-chunk (11 / 12 bits) in one call
    for n in (1, 2, 3, 4, 6, 14):
        for lo in range(n):
            for hi in sorted({lo + 1, min(n, lo + 3), n}):
                cf = rng.normal(size=(hi - lo, 3))
                if hi - lo > 2:
                    cf[1] = (1.0, 0.0, 0.0)  # an identity row (skipped)
                psi = (rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)).astype(dtype)
                want = psi.astype(np.complex128)
                for j, q in enumerate(range(lo, hi)):
                    ar, ai, w = cf[j]
                    ar = 1.0 if unit else ar
                    want = _apply_dense(want, q, np.array([[ar + 1j * ai, 1j * w], [1j * w, ar - 1j * ai]]))
                x = psi.copy()
                zxrot_bits(x.view(rdt), lo, hi, cf, unit)
                err = np.abs(x - want).max() / np.abs(want).max()
                assert err < tol, (n, lo, hi)


class _YAnsatz(Ansatz):
    """The warm ansatz with qubit 2's gate replaced by ``exp(-i beta Y)`` (not of the zx form)."""

    def mixer_ops(self, beta):
        ops = super().mixer_ops(beta)
        Y = np.array([[0.0, -1j], [1j, 0.0]])
        U = np.cos(beta) * np.eye(2) - 1j * np.sin(beta) * Y
        return [("single", qs, U) if qs == (2,) else (k, qs, V) for k, qs, V in ops]


def test_gates_outside_the_zx_form_take_the_general_path() -> None:
    assert _zx_form(np.array([[0.0, -1j], [1j, 0.0]])) is None  # Y
    assert _zx_form(np.array([[0.6, 0.8], [0.8, -0.6]], dtype=complex)) == (0.6, 0.8)
    n = 7
    rng = np.random.default_rng(3)
    base = Ansatz.build(n, mixer="warm", warm_start=rng.uniform(size=n))
    a = _YAnsatz(*(getattr(base, f) for f in base.__dataclass_fields__))
    plan = _compile_plan(a)
    assert not plan.active[2] and plan.active.sum() == n - 1 and len(plan.blocks) == 1
    diag = rng.normal(size=1 << n)
    g, b = [0.4, -0.9], [0.3, 1.2]
    want = _ReferenceSimulator(a).run(diag, g, b).copy()
    for bb in (None, 3):
        np.testing.assert_allclose(AnsatzSimulator(a, block_bits=bb).run(diag, g, b), want, atol=1e-13)
    # the whole mixer on the general path gives the same state
    sim = AnsatzSimulator(base)
    sim._plan = _compile_plan(base, structured=False)
    assert not sim._plan.active.any()
    np.testing.assert_allclose(sim.run(diag, g, b), AnsatzSimulator(base).run(diag, g, b), atol=1e-13)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_angles_at_the_edges_of_the_two_gate_forms(dtype) -> None:
    """|cos b| = 1/sqrt(2) (the form switches), cos b ~ 0 and b ~ 0 on 17 qubits (no underflow)."""
    n = 17
    rng = np.random.default_rng(17)
    a = Ansatz.build(n, mixer="warm", warm_start=rng.uniform(size=n))
    diag = rng.normal(size=1 << n)
    b = [np.pi / 4, np.pi / 2 - 1e-9, 1e-9, -np.pi / 4 - 1e-12, 3 * np.pi / 4, np.pi]
    g = rng.uniform(-1, 1, len(b))
    want = _ReferenceSimulator(a).run(diag, g, b).copy()
    psi = AnsatzSimulator(a, dtype=dtype).run(diag, g, b)
    assert np.abs(psi - want).max() < (1e-12 if dtype == np.complex128 else 2e-6)


def test_thread_counts_give_the_same_state() -> None:
    n = 18
    rng = np.random.default_rng(18)
    a = Ansatz.build(n, mixer="xy-ring", groups=[[0, 9, 17], [3, 4, 12, 16]])
    diag = rng.normal(size=1 << n).astype(np.float32)
    g, b = [0.3, 0.1, -0.5], [0.8, -0.2, 0.4]
    one = AnsatzSimulator(a, dtype=np.complex64, threads=1)
    two = AnsatzSimulator(a, dtype=np.complex64, threads=2)
    e1 = one.run_expectation(diag, g, b)
    e2 = two.run_expectation(diag, g, b)
    np.testing.assert_array_equal(one.state, two.state)  # chunks are independent: bit for bit
    assert e1 == pytest.approx(e2, rel=1e-12)


def test_pass_count() -> None:
    warm = Ansatz.build(22, mixer="warm", warm_start=[0.3] * 22)
    assert AnsatzSimulator(warm, dtype=np.complex64).n_passes(8) == 9  # two qubit groups: p + 1
    assert AnsatzSimulator(Ansatz.build(12, mixer="warm", warm_start=[0.3] * 12)).n_passes(8) == 1
    # one XY group: its block runs once per layer after the layer's phase
    xy = Ansatz.build(12, mixer="xy-ring", groups=[[0, 5, 11]])
    assert AnsatzSimulator(xy).n_passes(3) == 3 + 3
    sim = AnsatzSimulator(xy)
    assert [it[0] for it in sim._passes(2)] == ["g", "b", "g", "b"]


def test_run_allocates_nothing_of_the_state_size() -> None:
    """No initial-state copy, no float64 copy of a float32 diagonal, no phase vector."""
    n = 18
    a = Ansatz.build(n, mixer="x", initial_state="one-hot", groups=[[0, 1, 2], [5, 9]])
    diag = np.random.default_rng(0).normal(size=1 << n).astype(np.float32)
    sim = AnsatzSimulator(a, dtype=np.complex64, threads=2)
    sim.run_expectation(diag, [0.1], [0.2])  # compiled
    sim.run(diag, [], [])
    sim.expectation(diag)  # loaded from numba's cache outside the measurement (~157 KB the first time)
    tracemalloc.start()
    try:
        sim.run_expectation(diag, [0.1, 0.3], [0.2, -0.4])
        sim.run(diag, [], [])
        sim.expectation(diag)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.01 * sim.state.nbytes
