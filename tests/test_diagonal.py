"""Blocked diagonal builders (qslack.model._diag) against brute-force energies."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from qslack.model._diag import LOW_BITS, feasible_mask_blocked, quadratic_blocked
from qslack.model.bits import index_to_X, linear_diagonal
from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO


def _brute(Q: np.ndarray, offset: float) -> np.ndarray:
    n = Q.shape[0]
    X = index_to_X(np.arange(2**n), n).astype(np.float64)
    U = np.triu(Q)
    return np.einsum("ki,ij,kj->k", X, U, X) + offset


@pytest.mark.parametrize("n", [0, 1, 2, 5, LOW_BITS - 1, LOW_BITS, LOW_BITS + 1, LOW_BITS + 4])
def test_quadratic_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    Q = np.triu(rng.normal(size=(n, n))) if n else np.zeros((0, 0))
    q = QUBO(Q, offset=0.7)
    d = q.diagonal()
    assert d.dtype == np.float64 and d.shape == (2**n,)
    np.testing.assert_allclose(d, _brute(Q, 0.7), rtol=0, atol=1e-10)


def test_float32_with_shift_keeps_precision_under_a_large_offset() -> None:
    rng = np.random.default_rng(3)
    n = 13
    Q = np.triu(rng.integers(-9, 10, size=(n, n))) / 4.0
    q = QUBO(Q, offset=1e8)  # float32 values near 1e8 are 8 apart
    ref = _brute(Q, 1e8)
    shift = q.diagonal_shift()
    d32 = q.diagonal(np.float32, shift=shift)
    assert d32.dtype == np.float32
    np.testing.assert_allclose(d32.astype(np.float64) + shift, ref, rtol=0, atol=1e-4)
    unshifted = q.diagonal(np.float32)  # without the shift the quarters are lost
    assert np.abs(unshifted.astype(np.float64) - ref).max() > 1.0


def test_thread_count_does_not_change_bits() -> None:
    rng = np.random.default_rng(8)
    n = 17
    Q = np.triu(rng.normal(size=(n, n)))
    a = quadratic_blocked(Q, np.diag(Q).copy(), 1.5)
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        b = quadratic_blocked(Q, np.diag(Q).copy(), 1.5)
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a[::997], _brute(Q, 1.5)[::997], atol=1e-10)


def test_linear_diagonal_and_out() -> None:
    coef = np.array([1.0, 10.0, 100.0])
    out = np.empty(8)
    assert linear_diagonal(coef, 0.5, out=out) is out
    assert out.tolist() == [0.5, 1.5, 10.5, 11.5, 100.5, 101.5, 110.5, 111.5]


@pytest.mark.parametrize("n", [4, LOW_BITS + 2])
def test_feasible_mask_matches_program(n: int) -> None:
    rng = np.random.default_rng(n)
    A = rng.integers(0, 4, size=(3, n)).astype(float)
    prog = BinaryProgram.from_arrays(
        c=-rng.random(n), A=A, b=np.floor(A.sum(axis=1) / 2), sense=["<=", "==", "<="]
    )
    form = LagrangianForm(prog)
    X = index_to_X(np.arange(2**n), n)
    assert np.array_equal(form.feasible_mask(), prog.is_feasible(X))
    np.testing.assert_allclose(form.objective_diagonal, prog.objective(X), atol=1e-12)
    lam, rho = rng.normal(size=3), np.array([0.3, 0.0, 1.1])
    np.testing.assert_allclose(form.diagonal(lam, rho), form.energy(X, lam, rho), atol=1e-9)
    D = form.diagonals(np.stack([lam, 2 * lam]), rho)
    np.testing.assert_allclose(D[1], form.energy(X, 2 * lam, rho), atol=1e-9)
    np.testing.assert_allclose(form.constraint_diagonals, form.residuals(X).T, atol=1e-12)


def test_product_rows_in_the_mask() -> None:
    # MIS on a triangle: edge rows as product penalties
    prog = BinaryProgram.from_arrays(
        c=[-1.0, -1.0, -1.0],
        A=[[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]],
        b=[1.0, 1.0, 1.0],
        con_groups=["edge"] * 3,
    )
    form = LagrangianForm(prog)
    assert form.is_product.all()
    X = index_to_X(np.arange(8), 3)
    assert np.array_equal(form.feasible_mask(), prog.is_feasible(X))
    A = np.array(prog.A)
    direct = feasible_mask_blocked(A, prog.b, np.zeros(3, bool), np.full((3, 2), -1))
    assert np.array_equal(direct, form.feasible_mask())
