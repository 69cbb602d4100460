"""The QUBO every sampler takes.

``E(x) = sum_{i<=j} Q_ij x_i x_j + offset``: ``Q`` is upper triangular with the
linear terms on its diagonal.  Samplers only ever call :meth:`QUBO.diagonal`
(the ``2**n`` cost vector) or :meth:`QUBO.energies`; a QUBO made by
:class:`~qslack.model.lagrangian.LagrangianForm` answers ``diagonal()`` from
the form's cached constraint diagonals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.model.bits import quadratic_diagonal

__all__ = ["QUBO", "IsingForm", "coefficient_stats"]


@dataclass(frozen=True)
class IsingForm:
    """``offset + h . z + sum_{i<j} J_ij z_i z_j`` with ``z = 1 - 2x`` (``x=0`` is ``z=+1``).

    ``scale`` is the largest absolute coefficient in ``h`` and ``J``: QAOA
    applies ``exp(-i gamma H / scale)`` so angles mean the same across
    instances.
    """

    h: np.ndarray
    J: np.ndarray
    offset: float

    @property
    def scale(self) -> float:
        """Largest ``|h_i|`` or ``|J_ij|`` (1.0 for a constant Hamiltonian)."""
        s = max(float(np.abs(self.h).max(initial=0.0)), float(np.abs(self.J).max(initial=0.0)))
        return s if s > 0 else 1.0


@dataclass(frozen=True, eq=False)
class QUBO:
    """Upper-triangular QUBO ``x'Qx + offset`` (diagonal = linear terms).

    Parameters
    ----------
    Q : numpy.ndarray or scipy.sparse matrix
        ``(n, n)``; the lower triangle, if any, is folded onto the upper.
    offset : float
        Constant term.
    var_names : sequence of str, optional
        Column ``j`` is ``var_names[j]``; default ``x0, x1, ...``.
    info : dict, optional
        Provenance (``lam``, ``rho``, ``encoding``...).  Not part of the maths.

    Examples
    --------
    >>> q = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]), offset=0.5)
    >>> q.energies(np.array([[0, 0], [1, 1]])).tolist()
    [0.5, 0.5]
    >>> q.diagonal().tolist()
    [0.5, 1.5, 1.5, 0.5]
    """

    Q: Any
    offset: float = 0.0
    var_names: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        Q = self.Q
        if hasattr(Q, "toarray"):
            import scipy.sparse as sp

            Q = sp.csr_matrix(Q, dtype=np.float64)
            if Q.shape[0] != Q.shape[1]:
                raise ValidationError(f"Q must be square, got {Q.shape}")
            Q = sp.triu(Q, 0, format="csr") + sp.tril(Q, -1, format="csr").T.tocsr()
        else:
            Q = np.asarray(Q, dtype=np.float64)
            if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
                raise ValidationError(f"Q must be square, got {Q.shape}")
            Q = np.triu(Q) + np.tril(Q, -1).T
            Q.setflags(write=False)
        n = Q.shape[0]
        names = tuple(self.var_names) if self.var_names else tuple(f"x{i}" for i in range(n))
        if len(names) != n:
            raise ValidationError(f"{len(names)} var_names for {n} variables")
        object.__setattr__(self, "Q", Q)
        object.__setattr__(self, "offset", float(self.offset))
        object.__setattr__(self, "var_names", names)

    @property
    def n_vars(self) -> int:
        """Number of variables (qubits)."""
        return int(self.Q.shape[0])

    @property
    def is_sparse(self) -> bool:
        """Whether ``Q`` is a scipy.sparse matrix."""
        return hasattr(self.Q, "toarray")

    def dense(self) -> np.ndarray:
        """``Q`` as a dense upper-triangular array."""
        return np.asarray(self.Q.toarray()) if self.is_sparse else self.Q

    def linear(self) -> np.ndarray:
        """Linear coefficients (the diagonal of ``Q``)."""
        return np.asarray(self.Q.diagonal(), dtype=np.float64)

    def energies(self, X: np.ndarray) -> np.ndarray:
        """Energy of every row of ``X`` (``(k, n)`` 0/1)."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.n_vars:
            raise ValidationError(f"X has {X.shape[1]} columns, the QUBO {self.n_vars} variables")
        Xf = X.astype(np.float64)
        QX = (self.Q @ Xf.T).T
        return np.einsum("ki,ki->k", Xf, np.asarray(QX)) + self.offset

    def diagonal(self, dtype=np.float64, *, shift: float = 0.0) -> np.ndarray:
        """Energy of every basis state minus ``shift``, ``2**n`` values (bit ``j`` of the index is ``x_j``).

        Built in one write pass at memory speed (:mod:`qslack.model._diag`;
        with a form-made QUBO the form builds it the same way).  ``dtype``
        float32 halves the memory: pass ``shift=self.diagonal_shift()`` so that
        the values are centred and keep their precision.  The returned array
        must not be modified.

        Examples
        --------
        >>> q = QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]), offset=1e6)
        >>> s = q.diagonal_shift()
        >>> (q.diagonal(np.float32, shift=s) + s).tolist()
        [1000000.0, 1000001.0, 1000001.0, 1000000.0]
        """
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValidationError(f"diagonal dtype must be float64 or float32, got {dt}")
        from qslack.memory import require

        require(dt.itemsize << self.n_vars, f"the {dt.name} diagonal of {self.n_vars} variables")
        Qd = self.dense()
        d = quadratic_diagonal(Qd, np.diag(Qd).copy(), self.offset, dtype=dt, shift=float(shift))
        d.setflags(write=False)
        return d

    def diagonal_shift(self) -> float:
        """Midpoint of the bounds ``offset + sum(min(Q, 0))`` and ``offset + sum(max(Q, 0))``.

        Subtracted from a float32 diagonal, it centres the stored values, so a
        large constant energy costs no precision.

        Examples
        --------
        >>> QUBO(np.array([[1.0, -2.0], [0.0, 1.0]]), offset=3.0).diagonal_shift()
        3.0
        """
        vals = np.asarray(self.Q.data if self.is_sparse else self.Q, dtype=np.float64)
        lo = float(np.minimum(vals, 0.0).sum())
        hi = float(np.maximum(vals, 0.0).sum())
        return self.offset + 0.5 * (lo + hi)

    def to_ising(self) -> IsingForm:
        """The Ising form with ``x = (1 - z) / 2``.

        Examples
        --------
        >>> ising = QUBO(np.array([[2.0]])).to_ising()
        >>> (ising.h.tolist(), ising.offset)
        ([-1.0], 1.0)
        """
        Qd = self.dense()
        a = np.diag(Qd).copy()
        U = np.triu(Qd, 1)
        # x_i = (1 - z_i)/2 ; x_i x_j = (1 - z_i - z_j + z_i z_j)/4
        h = -a / 2 - (U.sum(axis=1) + U.sum(axis=0)) / 4
        J = U / 4
        offset = self.offset + a.sum() / 2 + U.sum() / 4
        return IsingForm(h=h, J=J, offset=float(offset))

    def to_sparse_pauli_op(self) -> Any:
        """The Ising Hamiltonian as a Qiskit ``SparsePauliOp`` (offset on the identity).

        Qubit ``j`` is variable ``j``.  Imports qiskit lazily.
        """
        from qiskit.quantum_info import SparsePauliOp

        ising = self.to_ising()
        n = self.n_vars
        terms: list[tuple[str, list[int], float]] = [("", [], ising.offset)]
        terms += [("Z", [i], float(ising.h[i])) for i in np.flatnonzero(ising.h)]
        terms += [
            ("ZZ", [int(i), int(j)], float(ising.J[i, j])) for i, j in zip(*np.nonzero(ising.J), strict=True)
        ]
        return SparsePauliOp.from_sparse_list(terms, num_qubits=n).simplify(atol=0.0)


def coefficient_stats(qubo: QUBO) -> dict[str, Any]:
    """Size and coefficients of a QUBO as QOBLIB's ``.qs`` lists them.

    Entries are those of the symmetric matrix ``S`` (``S_ii = Q_ii``,
    ``S_ij = Q_ij / 2``), upper triangle with the diagonal.

    Returns
    -------
    dict
        ``n_vars``, ``nnz``, ``integer`` (all entries integral), ``min``,
        ``max`` (``None`` for an all-zero QUBO).

    Examples
    --------
    >>> coefficient_stats(QUBO(np.array([[-1.0, 2.0], [0.0, -1.0]])))
    {'n_vars': 2, 'nnz': 3, 'integer': True, 'min': -1.0, 'max': 1.0}
    """
    if qubo.is_sparse:
        import scipy.sparse as sp

        U = sp.triu(qubo.Q, 0, format="coo")
        i, j, v = U.row, U.col, U.data
    else:
        Q = qubo.dense()
        i, j = np.nonzero(np.triu(Q))
        v = Q[i, j]
    s = np.where(i == j, v, v / 2.0)
    s = s[s != 0]
    return {
        "n_vars": int(qubo.n_vars),
        "nnz": int(s.size),
        "integer": bool(np.all(s == np.rint(s))),
        "min": float(s.min()) if s.size else None,
        "max": float(s.max()) if s.size else None,
    }
