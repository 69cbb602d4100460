"""BinaryProgram, QUBO, LagrangianForm and the slack baseline, against definitions and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qslack.exceptions import ValidationError
from qslack.model.bits import X_to_bitstrings, X_to_index, bitstrings_to_X, index_to_X, quadratic_diagonal
from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO
from qslack.model.slack import count_slack_bits, slack_qubo
from tests.conftest import all_bitstrings


def random_program(rng: np.random.Generator, n: int, m: int, *, integer: bool = False) -> BinaryProgram:
    Q = rng.normal(size=(n, n))
    c = rng.normal(size=n)
    A = rng.integers(-3, 4, size=(m, n)).astype(float) if integer else rng.normal(size=(m, n))
    b = rng.integers(0, 4, size=m).astype(float) if integer else rng.normal(size=m)
    sense = tuple(rng.choice(["==", "<="], size=m))
    return BinaryProgram.from_arrays(Q=Q, c=c, const=rng.normal(), A=A, b=b, sense=sense)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 7),
    m=st.integers(0, 5),
    seed=st.integers(0, 2**31 - 1),
    products=st.booleans(),
)
def test_lagrangian_qubo_matches_definition(n: int, m: int, seed: int, products: bool) -> None:
    rng = np.random.default_rng(seed)
    prog = random_program(rng, n, m)
    # optionally add set-packing rows encoded as products
    if products and n >= 2:
        u, v = sorted(rng.choice(n, 2, replace=False))
        A = np.vstack([prog.A, np.eye(n)[u] + np.eye(n)[v]])
        prog = BinaryProgram(
            Q=prog.Q,
            c=prog.c,
            const=prog.const,
            A=A,
            b=np.append(prog.b, 1.0),
            sense=(*prog.sense, "<="),
            var_names=prog.var_names,
            con_names=(*prog.con_names, "e"),
            con_groups=(*prog.con_groups, "edge"),
        )
    form = LagrangianForm(prog)
    k = form.n_cons
    lam = rng.normal(size=k) * 3
    rho = np.abs(rng.normal(size=k)) * 2
    X = all_bitstrings(n)
    g = form.residuals(X)
    expected = prog.objective(X) + g @ lam + 0.5 * (g * g) @ rho
    q = form.qubo(lam, rho)
    scale = np.maximum(1.0, np.abs(expected))
    np.testing.assert_allclose(q.energies(X) / scale, expected / scale, atol=1e-9)
    np.testing.assert_allclose(q.diagonal() / scale, expected / scale, atol=1e-9)
    # the cache-free path builds the same diagonal from the QUBO terms
    d2 = LagrangianForm(prog, cache=False).qubo(lam, rho).diagonal()
    np.testing.assert_allclose(d2 / scale, expected / scale, atol=1e-9)


def test_product_rows_use_violation_residual() -> None:
    prog = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[1.0, 1.0]], b=[1.0], con_groups="edge")
    form = LagrangianForm(prog)
    assert form.is_product.tolist() == [True]
    X = all_bitstrings(2)
    assert form.residuals(X)[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0]
    q = form.qubo([1.5], [0.0])
    assert q.dense()[0, 1] == pytest.approx(1.5)
    # a linear encoding of the same row keeps the linear residual
    lin = LagrangianForm(prog, products=False)
    assert lin.residuals(X)[:, 0].tolist() == [-1.0, 0.0, 0.0, 1.0]


def test_bound_validity_rules() -> None:
    prog = BinaryProgram.from_arrays(
        c=[1.0, 1.0, 1.0],
        A=[[1, 1, 0], [0, 1, 1], [1, 0, 1]],
        b=[1, 1, 1],
        sense=["==", "<=", "<="],
        con_groups=["a", "b", "edge"],
    )
    form = LagrangianForm(prog)
    assert form.bound_is_valid([5.0, 0.0, 3.0])  # rho on equality and product rows is fine
    assert not form.bound_is_valid([0.0, 1.0, 0.0])  # rho on a linear inequality is not
    assert form.lam_lower.tolist() == [-np.inf, 0.0, 0.0]
    assert form.project([-2.0, -1.0, 4.0]).tolist() == [-2.0, 0.0, 4.0]


def test_lam_update_reuses_cache() -> None:
    rng = np.random.default_rng(0)
    prog = random_program(rng, 10, 4)
    form = LagrangianForm(prog)
    rho = np.ones(4)
    d1 = form.diagonal(np.zeros(4), rho)
    G = form.constraint_diagonals
    d2 = form.diagonal(np.arange(4.0), rho)
    np.testing.assert_allclose(d2 - d1, np.arange(4.0) @ G)
    assert form.constraint_diagonals is G


def test_feasible_mask_matches_program() -> None:
    rng = np.random.default_rng(3)
    prog = random_program(rng, 8, 3, integer=True)
    form = LagrangianForm(prog)
    X = all_bitstrings(8)
    assert np.array_equal(form.feasible_mask(), prog.is_feasible(X))


def test_cache_budget_falls_back() -> None:
    prog = random_program(np.random.default_rng(1), 6, 2)
    form = LagrangianForm(prog, max_cache_bytes=10)
    assert not form.use_cache
    X = all_bitstrings(6)
    np.testing.assert_allclose(
        form.qubo([1.0, 2.0], [0.5, 0.5]).diagonal(), form.energy(X, [1.0, 2.0], [0.5, 0.5])
    )


def test_built_caches_stay_in_use_when_memory_gets_short() -> None:
    """pb4 (29 variables): exact metrics at step 0, then shot estimates once the run's own
    memory made the budget say no; caches already built are kept in use."""
    prog = random_program(np.random.default_rng(2), 6, 2)
    form = LagrangianForm(prog)
    assert form.use_cache
    form.objective_diagonal, form.feasible_mask()
    form._max_cache_bytes = 10  # the budget shrinks (available memory // 4 is re-read on every call)
    assert form.use_cache


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_qubo_diagonal_and_ising(n: int) -> None:
    rng = np.random.default_rng(n)
    q = QUBO(rng.normal(size=(n, n)), offset=rng.normal())
    X = all_bitstrings(n)
    e = q.energies(X)
    np.testing.assert_allclose(q.diagonal(), e, atol=1e-12)
    ising = q.to_ising()
    Z = 1 - 2 * X.astype(float)
    e_ising = ising.offset + Z @ ising.h + np.einsum("ki,ij,kj->k", Z, ising.J, Z)
    np.testing.assert_allclose(e_ising, e, atol=1e-9)
    assert ising.scale == pytest.approx(max(np.abs(ising.h).max(), np.abs(ising.J).max()))


def test_sparse_pauli_op_diagonal_matches() -> None:
    rng = np.random.default_rng(7)
    q = QUBO(rng.normal(size=(4, 4)), offset=0.3)
    op = q.to_sparse_pauli_op()
    diag = np.real(np.diag(op.to_matrix()))
    np.testing.assert_allclose(diag, q.diagonal(), atol=1e-12)


def test_sparse_qubo_equals_dense() -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    Qd = np.triu(rng.normal(size=(6, 6)))
    a, b = QUBO(Qd), QUBO(sp.csr_matrix(Qd))
    X = all_bitstrings(6)
    np.testing.assert_allclose(a.energies(X), b.energies(X))
    np.testing.assert_allclose(a.diagonal(), b.diagonal())


def test_bits_roundtrip() -> None:
    X = all_bitstrings(5)
    assert np.array_equal(index_to_X(X_to_index(X), 5), X)
    strings = X_to_bitstrings(X)
    X2, counts = bitstrings_to_X(dict.fromkeys(strings, 1), 5)
    assert np.array_equal(X2, X) and counts.sum() == 32
    assert X_to_bitstrings(np.array([[1, 0, 0]])) == ["001"]  # qubit 0 rightmost


def test_quadratic_diagonal_is_linear_time_shape() -> None:
    Q = np.triu(np.ones((3, 3)), 1)
    d = quadratic_diagonal(Q, np.zeros(3), 0.0)
    assert d.tolist() == [0, 0, 0, 1, 0, 1, 1, 3]


def test_program_normalises_and_validates() -> None:
    p = BinaryProgram.from_arrays(Q=[[2.0, 1.0], [3.0, 0.0]], c=[0.0, 1.0])
    assert p.Q.tolist() == [[0.0, 4.0], [0.0, 0.0]]
    assert p.c.tolist() == [2.0, 1.0]
    with pytest.raises(ValidationError, match="sense"):
        BinaryProgram.from_arrays(c=[1.0], A=[[1.0]], b=[1.0], sense=[">="])
    with pytest.raises(ValidationError, match="unique"):
        BinaryProgram.from_arrays(c=[1.0, 1.0], var_names=["a", "a"])
    with pytest.raises(ValidationError, match="unknown constraint group"):
        p.group_mask("nope")


def test_quadratic_program_roundtrip() -> None:
    rng = np.random.default_rng(5)
    prog = random_program(rng, 5, 3, integer=True)
    back = BinaryProgram.from_quadratic_program(prog.to_quadratic_program())
    X = all_bitstrings(5)
    np.testing.assert_allclose(back.objective(X), prog.objective(X))
    assert np.array_equal(back.is_feasible(X), prog.is_feasible(X))
    assert back.var_names == prog.var_names and back.con_names == prog.con_names


def test_maximisation_roundtrip_through_quadratic_program() -> None:
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram("mx")
    qp.binary_var("a")
    qp.binary_var("b")
    qp.maximize(linear={"a": 2, "b": 3})
    qp.linear_constraint({"a": 1, "b": 1}, ">=", 1, "atleast")
    p = BinaryProgram.from_quadratic_program(qp)
    assert p.is_max and p.native_objective(np.array([[1, 1]])).tolist() == [5.0]
    assert p.is_feasible(np.array([[0, 0], [1, 0]])).tolist() == [False, True]


@pytest.mark.parametrize("seed", range(6))
def test_slack_bits_counted_equals_built(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 5, 3
    A = rng.integers(0, 9, size=(m, n)).astype(float)
    b = rng.integers(1, 20, size=m).astype(float)
    prog = BinaryProgram.from_arrays(c=-rng.integers(1, 9, size=n), A=A, b=b, sense="<=")
    enc = slack_qubo(prog)
    assert enc.slack_bits == count_slack_bits(prog)
    assert enc.slack_bits == sum(int(np.floor(np.log2(v))) + 1 for v in b)


def test_slack_qubo_ground_state_is_the_optimum() -> None:
    """The slack QUBO's minimum restricted to the program's variables is the constrained optimum."""
    from qslack.samplers.exact import ExactSampler

    prog = BinaryProgram.from_arrays(c=[-3.0, -4.0, -5.0, -2.0], A=[[2.0, 3.0, 4.0, 1.0]], b=[6.0])
    enc = slack_qubo(prog)
    ss = ExactSampler(n_lowest=1).sample(enc.qubo)
    x = ss.X[0][: prog.n_vars]
    X = all_bitstrings(4)
    feas = prog.is_feasible(X)
    assert prog.is_feasible(x)[0]
    assert prog.objective(x)[0] == pytest.approx(prog.objective(X)[feas].min())


def test_fractional_rows_are_scaled() -> None:
    prog = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[0.5, 1.5]], b=[1.5])
    enc = slack_qubo(prog)
    assert enc.row_scales.tolist() == [10.0]
    assert enc.slack_bits == int(np.floor(np.log2(15))) + 1
