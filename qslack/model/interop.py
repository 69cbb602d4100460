"""QUBOs in and out of other tools: dimod's ``BinaryQuadraticModel`` and Qiskit's ``QuadraticProgram``.

Every conversion keeps the variable names (column ``j`` of a
:class:`~qslack.model.qubo.QUBO` is ``var_names[j]``) and the constant
offset, so energies agree sample by sample.  For a constrained
:class:`~qslack.model.program.BinaryProgram` use
:meth:`~qslack.model.program.BinaryProgram.to_quadratic_program` and
:meth:`~qslack.model.program.BinaryProgram.from_quadratic_program`; the cost
Hamiltonian of a QUBO as a Qiskit ``SparsePauliOp`` is
:meth:`~qslack.model.qubo.QUBO.to_sparse_pauli_op`.

dimod is optional (``pip install "qslack[dwave]"``) and imported only inside
the functions that need it; so is qiskit-optimization.

Examples
--------
>>> q = QUBO(np.array([[1.0, -2.0], [0.0, 3.0]]), offset=0.5, var_names=("a", "b"))
>>> qp = qubo_to_quadratic_program(q)
>>> [v.name for v in qp.variables], float(qp.objective.evaluate([1, 1]))
(['a', 'b'], 2.5)
>>> back = qubo_from_quadratic_program(qp)
>>> back.var_names, back.energies(np.array([[1, 1]])).tolist()
(('a', 'b'), [2.5])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.exceptions import DependencyError, ValidationError
from qslack.model.qubo import QUBO

__all__ = ["from_bqm", "qubo_from_quadratic_program", "qubo_to_quadratic_program", "to_bqm"]


def import_dimod() -> Any:
    """The ``dimod`` module, or a :class:`~qslack.exceptions.DependencyError` naming the extra."""
    try:
        import dimod
    except ImportError as exc:
        raise DependencyError(
            "dimod is not installed; install the extra:  pip install 'qslack[dwave]'  "
            "(or pip install dimod dwave-samplers)"
        ) from exc
    return dimod


def _upper_terms(qubo: QUBO) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(linear, rows, cols, values)`` of the strictly upper triangle, sparse or dense."""
    linear = qubo.linear()
    if qubo.is_sparse:
        import scipy.sparse as sp

        U = sp.triu(qubo.Q, 1, format="coo")
        keep = U.data != 0
        return linear, U.row[keep].astype(np.int64), U.col[keep].astype(np.int64), U.data[keep]
    U = np.triu(qubo.Q, 1)
    rows, cols = np.nonzero(U)
    return linear, rows.astype(np.int64), cols.astype(np.int64), U[rows, cols]


def to_bqm(qubo: QUBO) -> Any:
    """The QUBO as a ``dimod.BinaryQuadraticModel`` (vartype BINARY).

    Variables are labelled with ``qubo.var_names`` in column order; the
    offset is kept, so ``bqm.energies`` equals :meth:`QUBO.energies`.

    Parameters
    ----------
    qubo : QUBO
        Dense or sparse.

    Returns
    -------
    dimod.BinaryQuadraticModel

    Raises
    ------
    DependencyError
        When dimod is not installed.

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -2.0], [0.0, 3.0]]), offset=0.5, var_names=("a", "b"))
    >>> bqm = to_bqm(q)
    >>> list(bqm.variables), float(bqm.linear["b"]), float(bqm.quadratic[("a", "b")]), float(bqm.offset)
    (['a', 'b'], 3.0, -2.0, 0.5)
    """
    dimod = import_dimod()
    if not isinstance(qubo, QUBO):
        raise ValidationError(f"to_bqm expects a qslack QUBO, got {type(qubo).__name__}")
    linear, rows, cols, values = _upper_terms(qubo)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear,
        (rows, cols, values),
        float(qubo.offset),
        dimod.BINARY,
        variable_order=list(qubo.var_names),
    )


def from_bqm(bqm: Any, *, sparse: bool | None = None) -> QUBO:
    """A ``dimod.BinaryQuadraticModel`` (BINARY or SPIN) as a QUBO.

    A SPIN model is converted with ``s = 2x - 1`` (dimod's own
    ``change_vartype``), so energies agree on corresponding samples.

    Parameters
    ----------
    bqm : dimod.BinaryQuadraticModel
        The model; its variable order becomes the column order.
    sparse : bool, optional
        Store ``Q`` as ``scipy.sparse`` CSR; default when the model has more
        than 2000 variables.

    Returns
    -------
    QUBO
        ``var_names`` are ``str(label)`` of the model's variables.

    Raises
    ------
    ValidationError
        When two labels print the same (e.g. ``1`` and ``"1"``).

    Examples
    --------
    >>> import dimod
    >>> bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": 3.0}, {("a", "b"): -2.0}, 0.5, "BINARY")
    >>> q = from_bqm(bqm)
    >>> q.var_names, q.energies(np.array([[1, 1], [1, 0]])).tolist()
    (('a', 'b'), [2.5, 1.5])
    """
    dimod = import_dimod()
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise ValidationError(f"from_bqm expects a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    if bqm.vartype is not dimod.BINARY:
        bqm = bqm.change_vartype(dimod.BINARY, inplace=False)
    labels = list(bqm.variables)
    names = tuple(str(v) for v in labels)
    if len(set(names)) != len(names):
        raise ValidationError("from_bqm: two variable labels of the model have the same str()")
    n = len(labels)
    linear, (rows, cols, values), offset = bqm.to_numpy_vectors(variable_order=labels)
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    if sparse is None:
        sparse = n > 2000
    if sparse:
        import scipy.sparse as sp

        Q = sp.coo_matrix((np.asarray(values, dtype=np.float64), (lo, hi)), shape=(n, n)).tocsr()
        Q = Q + sp.diags(np.asarray(linear, dtype=np.float64), format="csr")
    else:
        Q = np.zeros((n, n))
        np.add.at(Q, (lo, hi), np.asarray(values, dtype=np.float64))
        Q[np.diag_indices(n)] += np.asarray(linear, dtype=np.float64)
    return QUBO(Q, float(offset), names)


def qubo_to_quadratic_program(qubo: QUBO, *, name: str = "qubo") -> Any:
    """The QUBO as an unconstrained qiskit-optimization ``QuadraticProgram`` (minimise).

    Parameters
    ----------
    qubo : QUBO
        Dense or sparse.
    name : str
        Name of the program.

    Returns
    -------
    qiskit_optimization.QuadraticProgram
        One binary variable per column, named ``qubo.var_names``; objective
        ``sum_{i<=j} Q_ij x_i x_j + offset``.

    Examples
    --------
    >>> qp = qubo_to_quadratic_program(QUBO(np.array([[2.0, 1.0], [0.0, -1.0]]), offset=1.0))
    >>> float(qp.objective.evaluate([1, 1])), qp.get_num_binary_vars()
    (3.0, 2)
    """
    try:
        from qiskit_optimization import QuadraticProgram
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise DependencyError("qiskit-optimization is needed: pip install qiskit-optimization") from exc
    linear, rows, cols, values = _upper_terms(qubo)
    names = qubo.var_names
    qp = QuadraticProgram(name)
    for v in names:
        qp.binary_var(v)
    qp.minimize(
        constant=float(qubo.offset),
        linear={names[i]: float(linear[i]) for i in np.flatnonzero(linear)},
        quadratic={(names[i], names[j]): float(v) for i, j, v in zip(rows, cols, values, strict=True)},
    )
    return qp


def qubo_from_quadratic_program(qp: Any) -> QUBO:
    """An unconstrained binary ``QuadraticProgram`` as a QUBO (a maximisation is negated).

    Parameters
    ----------
    qp : qiskit_optimization.QuadraticProgram
        Binary variables only, no constraints (convert a constrained one with
        qiskit-optimization's ``QuadraticProgramToQubo`` or with
        :class:`~qslack.model.lagrangian.LagrangianForm` first).

    Returns
    -------
    QUBO
        Minimisation; ``info["sense"]`` records the program's own sense.

    Raises
    ------
    ValidationError
        A non-binary variable, or any constraint.
    """
    from qiskit_optimization.problems import QuadraticObjective, Variable

    bad = [v.name for v in qp.variables if v.vartype != Variable.Type.BINARY]
    if bad:
        raise ValidationError(f"variable {bad[0]!r} is not binary; a QUBO has binary variables only")
    n_cons = len(qp.linear_constraints) + len(qp.quadratic_constraints)
    if n_cons:
        raise ValidationError(
            f"QuadraticProgram {qp.name!r} has {n_cons} constraint(s); a QUBO is unconstrained "
            "(use BinaryProgram.from_quadratic_program for a constrained one)"
        )
    obj = qp.objective
    is_max = obj.sense == QuadraticObjective.Sense.MAXIMIZE
    sign = -1.0 if is_max else 1.0
    Q = sign * np.asarray(obj.quadratic.to_array(symmetric=False), dtype=np.float64)
    Q = Q + np.diag(sign * np.asarray(obj.linear.to_array(), dtype=np.float64))
    q = QUBO(Q, sign * float(obj.constant), tuple(v.name for v in qp.variables))
    q.info["sense"] = "max" if is_max else "min"
    return q
