"""QUBOs and programs in and out of dimod and Qiskit: names, offsets, energies, feasibility, senses."""

from __future__ import annotations

import subprocess
import sys

import dimod
import numpy as np
import pytest
import scipy.sparse as sp

from qslack.exceptions import DependencyError, ValidationError
from qslack.model.bits import index_to_X
from qslack.model.interop import from_bqm, qubo_from_quadratic_program, qubo_to_quadratic_program, to_bqm
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO
from qslack.problems import repair
from qslack.problems.catalog import build_program, load_instance
from qslack.testing import random_qubo


# --------------------------------------------------------------------------- dimod
@pytest.mark.parametrize(("n", "sparse"), [(1, False), (5, False), (12, True), (30, False)])
def test_bqm_roundtrip_keeps_names_offset_and_energies(n: int, sparse: bool) -> None:
    rng = np.random.default_rng(n)
    q = random_qubo(n, seed=rng, kind="float", density=0.4, sparse=sparse)
    bqm = to_bqm(q)
    assert list(bqm.variables) == list(q.var_names)
    assert bqm.vartype is dimod.BINARY and float(bqm.offset) == q.offset
    X = rng.integers(0, 2, size=(200, n), dtype=np.uint8)
    # dimod's own energy evaluation is the independent reference
    np.testing.assert_allclose(bqm.energies((X, list(q.var_names))), q.energies(X), rtol=1e-12, atol=1e-12)
    back = from_bqm(bqm)
    assert back.var_names == q.var_names and back.offset == q.offset
    np.testing.assert_allclose(back.energies(X), q.energies(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(from_bqm(bqm, sparse=True).energies(X), q.energies(X), rtol=1e-12, atol=1e-12)


def test_from_bqm_spin_model_and_label_order() -> None:
    rng = np.random.default_rng(3)
    h = {v: float(rng.normal()) for v in ("c", "a", "b")}
    J = {("c", "a"): 0.7, ("b", "c"): -1.3, ("a", "b"): 0.4}
    spin = dimod.BinaryQuadraticModel(h, J, 0.25, dimod.SPIN)
    q = from_bqm(spin)
    assert q.var_names == ("c", "a", "b")  # the model's own order
    X = index_to_X(np.arange(8), 3)
    S = 2 * X.astype(int) - 1
    np.testing.assert_allclose(q.energies(X), spin.energies((S, ["c", "a", "b"])), atol=1e-12)


def test_bqm_errors_and_missing_dimod(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="same str"):
        from_bqm(dimod.BinaryQuadraticModel({1: 1.0, "1": 2.0}, {}, 0.0, "BINARY"))
    with pytest.raises(ValidationError, match="qslack QUBO"):
        to_bqm(np.eye(2))  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "dimod", None)  # as if dimod were not installed
    with pytest.raises(DependencyError, match=r"qslack\[dwave\]"):
        to_bqm(QUBO(np.eye(2)))


def test_importing_interop_modules_loads_no_heavy_library() -> None:
    code = (
        "import sys, qslack, qslack.model.interop, qslack.samplers.dimod, qslack.formats.qoblib, "
        "qslack.formats.qubo, qslack.report.qoblib; "
        "mods = ('dimod', 'dwave', 'qiskit', 'qiskit_optimization', 'ortools'); "
        "heavy = [m for m in mods if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- Qiskit QuadraticProgram
PROGRAMS = [
    ("tsp", "five_d", {"encoding": "position"}),
    ("tsp", "gen:tsp?n=5&seed=2", {"encoding": "edge"}),
    ("mdkp", "mknap1#2", {}),
    ("mis", "farm", {}),
]


@pytest.mark.parametrize(("problem", "spec", "kw"), PROGRAMS, ids=[p[1] for p in PROGRAMS])
def test_program_quadratic_program_roundtrip(problem: str, spec: str, kw: dict[str, str]) -> None:
    prog = build_program(load_instance(spec), **kw)
    assert prog.metadata["problem"] == problem
    qp = prog.to_quadratic_program()
    rng = np.random.default_rng(11)
    X = rng.integers(0, 2, size=(40, prog.n_vars), dtype=np.uint8)
    X = np.vstack([X, repair(prog, X[:20], problem)])  # feasible points too: random bits rarely are
    assert prog.is_feasible(X).any() and not prog.is_feasible(X).all()
    # qiskit-optimization's own evaluation is the reference
    ref_obj = np.array([qp.objective.evaluate(x.tolist()) for x in X])
    ref_feas = np.array([qp.is_feasible(x.tolist()) for x in X])
    np.testing.assert_allclose(prog.objective(X), ref_obj, rtol=1e-12, atol=1e-9)
    assert np.array_equal(prog.is_feasible(X), ref_feas)
    assert [v.name for v in qp.variables] == list(prog.var_names)
    assert [c.name for c in qp.linear_constraints] == list(prog.con_names)
    back = BinaryProgram.from_quadratic_program(qp)
    assert back.sense == prog.sense and back.var_names == prog.var_names and back.con_names == prog.con_names
    np.testing.assert_allclose(back.objective(X), prog.objective(X), rtol=1e-12, atol=1e-9)
    assert np.array_equal(back.is_feasible(X), prog.is_feasible(X))
    np.testing.assert_array_equal(back.A, prog.A)
    np.testing.assert_array_equal(back.b, prog.b)
    if problem == "tsp":
        assert "==" in prog.sense
    else:
        assert set(prog.sense) == {"<="}


@pytest.mark.parametrize("sparse", [False, True])
def test_qubo_quadratic_program_roundtrip(sparse: bool) -> None:
    q = random_qubo(7, seed=4, kind="float", density=0.6, sparse=sparse)
    qp = qubo_to_quadratic_program(q)
    X = index_to_X(np.arange(1 << 7), 7)
    np.testing.assert_allclose([qp.objective.evaluate(x.tolist()) for x in X], q.energies(X), atol=1e-12)
    back = qubo_from_quadratic_program(qp)
    assert back.var_names == q.var_names and back.info["sense"] == "min"
    np.testing.assert_allclose(back.energies(X), q.energies(X), atol=1e-12)


def test_qubo_from_maximising_or_constrained_program() -> None:
    from qiskit_optimization import QuadraticProgram

    qp = QuadraticProgram("m")
    qp.binary_var("a")
    qp.binary_var("b")
    qp.maximize(constant=1.0, linear={"a": 2.0}, quadratic={("a", "b"): -3.0})
    q = qubo_from_quadratic_program(qp)
    assert q.info["sense"] == "max"
    X = index_to_X(np.arange(4), 2)
    np.testing.assert_allclose(q.energies(X), [-qp.objective.evaluate(x.tolist()) for x in X])
    qp.linear_constraint({"a": 1, "b": 1}, "<=", 1, "c0")
    with pytest.raises(ValidationError, match="1 constraint"):
        qubo_from_quadratic_program(qp)
    qp2 = QuadraticProgram("i")
    qp2.integer_var(0, 3, "k")
    with pytest.raises(ValidationError, match="not binary"):
        qubo_from_quadratic_program(qp2)


# --------------------------------------------------------------------------- SparsePauliOp
@pytest.mark.parametrize("n", [1, 2, 3, 6, 10])
def test_sparse_pauli_op_expectation_is_qubo_energy(n: int) -> None:
    from qiskit.quantum_info import Operator, Statevector

    rng = np.random.default_rng(100 + n)
    for kind, sparse in (("float", False), ("int", True)):
        q = random_qubo(n, seed=rng, kind=kind, density=0.5, sparse=sparse)
        op = q.to_sparse_pauli_op()
        assert op.num_qubits == n
        M = Operator(op).data
        diag = np.diag(M)
        assert np.allclose(M - np.diag(diag), 0.0, atol=1e-12)  # diagonal in the computational basis
        X = index_to_X(np.arange(1 << n), n)
        np.testing.assert_allclose(diag.real, q.energies(X), atol=1e-9)
        for k in rng.integers(0, 1 << n, size=4):
            # basis state |k>: qubit j is bit j of k (Qiskit's little-endian order) is x_j
            e = Statevector.from_int(int(k), 1 << n).expectation_value(op)
            assert e.real == pytest.approx(float(q.energies(index_to_X(np.array([k]), n))[0]), abs=1e-9)


def test_sparse_pauli_op_of_a_40_variable_sparse_qubo() -> None:
    # beyond matrices: evaluate the Z-strings on basis states term by term
    q = QUBO(sp.random(40, 40, density=0.05, random_state=1, format="csr"), offset=2.0)
    op = q.to_sparse_pauli_op()
    assert op.num_qubits == 40 and not op.paulis.x.any()
    X = np.random.default_rng(0).integers(0, 2, size=(50, 40))
    Z = 1 - 2 * X  # eigenvalue of Z_j on |x> is (-1)**x_j
    signs = np.prod(np.where(op.paulis.z[None, :, :], Z[:, None, :], 1), axis=2)
    np.testing.assert_allclose(signs @ op.coeffs.real, q.energies(X), atol=1e-9)
