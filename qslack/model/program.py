"""The linear-constrained binary program every problem builder emits.

``BinaryProgram`` minimises ``x'Qx + c'x + const`` over ``x`` in ``{0,1}^n``
subject to ``A x (sense) b`` with ``sense`` per row in ``{"==", "<="}``.
Maximisation problems are stored negated with ``metadata["sense"] = "max"``;
:meth:`BinaryProgram.native` turns an internal (minimisation) value back into
the problem's own sense.

A program over more than :data:`DENSE_Q_MAX_VARS` variables holds ``Q`` as a
``scipy.sparse.csr_array`` (MDKP and MIS have no quadratic objective at all),
so describing a large instance never allocates an ``n x n`` dense matrix;
:meth:`BinaryProgram.dense_Q` gives the dense matrix, after checking that it
fits in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from qslack._sizes import require_memory
from qslack.exceptions import DependencyError, ValidationError

__all__ = ["DENSE_Q_MAX_VARS", "SENSES", "BinaryProgram"]

SENSES = ("==", "<=")

#: Programs over more variables than this hold ``Q`` sparse (scipy.sparse.csr_array).
DENSE_Q_MAX_VARS = 2048
#: Sparse-held programs up to this many variables hash ``Q`` exactly as the dense matrix
#: (so their fingerprints did not change when the sparse storage came in); larger ones hash
#: the sparse triplets.
_DENSE_HASH_MAX_VARS = 8192


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _is_sparse(a: Any) -> bool:
    return hasattr(a, "tocsr") and hasattr(a, "nnz")


def _normalise_q(Q: Any, c: np.ndarray) -> tuple[Any, np.ndarray]:
    """``(Q strictly upper-triangular, c + diag(Q))``: dense up to DENSE_Q_MAX_VARS, else CSR."""
    n = c.shape[0]
    if _is_sparse(Q):
        if Q.shape != (n, n):
            raise ValidationError(f"Q has shape {Q.shape}, expected ({n}, {n})")
        if n <= DENSE_Q_MAX_VARS:
            return _normalise_q(np.asarray(Q.toarray(), dtype=np.float64), c)
        import scipy.sparse as sp

        Qs = sp.csr_array(Q, dtype=np.float64)
        c = c + Qs.diagonal()
        Qs = sp.csr_array(sp.triu(Qs, 1) + sp.tril(Qs, -1).T)
        Qs.sum_duplicates()
        Qs.eliminate_zeros()
        Qs.sort_indices()
        for arr in (Qs.data, Qs.indices, Qs.indptr):
            arr.setflags(write=False)
        return Qs, c
    Q = np.asarray(Q, dtype=np.float64)
    if Q.shape != (n, n):
        raise ValidationError(f"Q has shape {Q.shape}, expected ({n}, {n})")
    if n > DENSE_Q_MAX_VARS:
        import scipy.sparse as sp

        return _normalise_q(sp.csr_array(Q), c)
    c = c + np.diag(Q)
    Q = np.triu(Q, 1) + np.tril(Q, -1).T
    return Q, c


@dataclass(frozen=True, eq=False)
class BinaryProgram:
    """Minimise ``x'Qx + c'x + const`` subject to ``A x (sense) b``, ``x`` binary.

    Parameters
    ----------
    Q : numpy.ndarray or scipy.sparse array
        ``(n, n)`` quadratic objective; it is normalised to strictly upper
        triangular form (``Q + Q.T`` off the diagonal moved above it, the
        diagonal folded into ``c`` since ``x_i**2 = x_i``).  Held dense up to
        :data:`DENSE_Q_MAX_VARS` variables, as a ``csr_array`` beyond (see
        :meth:`dense_Q`).
    c : numpy.ndarray
        ``(n,)`` linear objective.
    const : float
        Objective constant.
    A, b : numpy.ndarray
        ``(m, n)`` constraint matrix and ``(m,)`` right-hand side.
    sense : sequence of str
        Per row ``"=="`` or ``"<="``.
    var_names, con_names : sequence of str
        Names of the variables and constraints (unique).
    con_groups : sequence of str
        Group per constraint (``"row"``, ``"col"``, ``"capacity"``, ``"edge"`` ...).
    name : str
        Instance name.
    metadata : dict
        ``sense`` (``"min"`` or ``"max"``: the native sense), ``problem`` and
        anything a builder records (scales, take, encoding).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -2.0], A=[[1.0, 1.0]], b=[1.0], sense=["<="])
    >>> p.objective(np.array([[0, 1], [1, 1]])).tolist()
    [-2.0, -3.0]
    >>> p.is_feasible(np.array([[0, 1], [1, 1]])).tolist()
    [True, False]
    """

    Q: np.ndarray
    c: np.ndarray
    const: float
    A: np.ndarray
    b: np.ndarray
    sense: tuple[str, ...]
    var_names: tuple[str, ...]
    con_names: tuple[str, ...]
    con_groups: tuple[str, ...]
    name: str = "program"
    metadata: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = np.asarray(self.c, dtype=np.float64).reshape(-1)
        n = c.shape[0]
        Q, c = _normalise_q(self.Q, c)
        A = np.asarray(self.A, dtype=np.float64)
        if A.size == 0:
            A = A.reshape(0, n)
        if A.ndim != 2 or A.shape[1] != n:
            raise ValidationError(f"A has shape {A.shape}, expected (m, {n})")
        m = A.shape[0]
        b = np.asarray(self.b, dtype=np.float64).reshape(-1)
        if b.shape != (m,):
            raise ValidationError(f"b has shape {b.shape}, expected ({m},)")
        sense = tuple(str(s) for s in self.sense)
        bad = [s for s in sense if s not in SENSES]
        if len(sense) != m or bad:
            raise ValidationError(
                f"sense must hold {m} entries in {SENSES}; got {len(sense)}"
                + (f" with {bad[0]!r}" if bad else "")
            )
        var_names = tuple(str(v) for v in self.var_names)
        con_names = tuple(str(v) for v in self.con_names)
        con_groups = tuple(str(v) for v in self.con_groups)
        if len(var_names) != n or len(set(var_names)) != n:
            raise ValidationError(f"var_names must be {n} unique names")
        if len(con_names) != m or len(set(con_names)) != m:
            raise ValidationError(f"con_names must be {m} unique names")
        if len(con_groups) != m:
            raise ValidationError(f"con_groups must have {m} entries")
        for arr, what in ((Q.data if _is_sparse(Q) else Q, "Q"), (c, "c"), (A, "A"), (b, "b")):
            if not np.all(np.isfinite(arr)):
                raise ValidationError(f"{what} holds a non-finite value")
        meta = dict(self.metadata)
        meta.setdefault("sense", "min")
        if meta["sense"] not in ("min", "max"):
            raise ValidationError(f"metadata['sense'] must be 'min' or 'max', not {meta['sense']!r}")
        set_ = object.__setattr__
        set_(self, "Q", Q if _is_sparse(Q) else _frozen(Q))
        set_(self, "c", _frozen(c))
        set_(self, "const", float(self.const))
        set_(self, "A", _frozen(A))
        set_(self, "b", _frozen(b))
        set_(self, "sense", sense)
        set_(self, "var_names", var_names)
        set_(self, "con_names", con_names)
        set_(self, "con_groups", con_groups)
        set_(self, "metadata", MappingProxyType(meta))

    # ------------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        *,
        c: Sequence[float] | np.ndarray,
        Q: np.ndarray | None = None,
        const: float = 0.0,
        A: np.ndarray | Sequence[Sequence[float]] | None = None,
        b: Sequence[float] | np.ndarray | None = None,
        sense: Sequence[str] | str = "<=",
        var_names: Sequence[str] | None = None,
        con_names: Sequence[str] | None = None,
        con_groups: Sequence[str] | str = "constraint",
        name: str = "program",
        metadata: dict[str, Any] | None = None,
    ) -> BinaryProgram:
        """Build from arrays with default names (``x0..``, ``c0..``).

        Examples
        --------
        >>> BinaryProgram.from_arrays(c=[1.0, 1.0]).n_vars
        2
        """
        c = np.asarray(c, dtype=np.float64).reshape(-1)
        n = c.shape[0]
        if Q is None:
            import scipy.sparse as sp

            Q = np.zeros((n, n)) if n <= DENSE_Q_MAX_VARS else sp.csr_array((n, n))
        elif not _is_sparse(Q):
            Q = np.asarray(Q, dtype=np.float64)
        A = np.zeros((0, n)) if A is None else np.asarray(A, dtype=np.float64).reshape(-1, n)
        m = A.shape[0]
        b = np.zeros(0) if b is None else np.asarray(b, dtype=np.float64)
        sense = (sense,) * m if isinstance(sense, str) else tuple(sense)
        groups = (con_groups,) * m if isinstance(con_groups, str) else tuple(con_groups)
        return cls(
            Q=Q,
            c=c,
            const=const,
            A=A,
            b=b,
            sense=sense,
            var_names=tuple(var_names) if var_names is not None else tuple(f"x{i}" for i in range(n)),
            con_names=tuple(con_names) if con_names is not None else tuple(f"c{k}" for k in range(m)),
            con_groups=groups,
            name=name,
            metadata=metadata or {},
        )

    # ------------------------------------------------------------- properties
    @property
    def n_vars(self) -> int:
        """Number of binary variables."""
        return int(self.c.shape[0])

    @property
    def n_cons(self) -> int:
        """Number of linear constraints."""
        return int(self.A.shape[0])

    @property
    def Q_is_sparse(self) -> bool:
        """Whether ``Q`` is held as a ``scipy.sparse.csr_array`` (beyond :data:`DENSE_Q_MAX_VARS`)."""
        return _is_sparse(self.Q)

    def dense_Q(self) -> np.ndarray:
        """``Q`` as a dense (read-only) array; for a sparse-held ``Q`` its memory is checked first.

        Raises
        ------
        ResourceError
            The dense ``n x n`` matrix does not fit in the memory available.

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[0.0, 0.0], Q=[[0.0, 2.0], [0.0, 0.0]])
        >>> p.dense_Q().tolist()
        [[0.0, 2.0], [0.0, 0.0]]
        """
        if not self.Q_is_sparse:
            return self.Q
        n = self.n_vars
        require_memory(n * n * 8, f"program {self.name!r}: the dense {n} x {n} quadratic objective")
        return _frozen(self.Q.toarray())

    def quadratic_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(i, j, q_ij)`` of the nonzero entries of ``Q`` (``i < j``), in row order.

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[0.0, 0.0], Q=[[0.0, 2.0], [1.0, 0.0]])
        >>> [a.tolist() for a in p.quadratic_terms()]
        [[0], [1], [3.0]]
        """
        if self.Q_is_sparse:
            coo = self.Q.tocoo()
            order = np.lexsort((coo.col, coo.row))
            keep = coo.data[order] != 0
            return (
                np.asarray(coo.row[order][keep], dtype=np.int64),
                np.asarray(coo.col[order][keep], dtype=np.int64),
                np.asarray(coo.data[order][keep], dtype=np.float64),
            )
        i, j = np.nonzero(self.Q)
        return i.astype(np.int64), j.astype(np.int64), self.Q[i, j]

    @property
    def is_max(self) -> bool:
        """True when the native problem is a maximisation (stored negated)."""
        return self.metadata["sense"] == "max"

    @property
    def is_equality(self) -> np.ndarray:
        """Boolean mask of the ``==`` rows."""
        return np.array([s == "==" for s in self.sense], dtype=bool)

    @property
    def groups(self) -> tuple[str, ...]:
        """Constraint groups in first-seen order."""
        return tuple(dict.fromkeys(self.con_groups))

    def group_mask(self, groups: str | Iterable[str]) -> np.ndarray:
        """Boolean mask of the rows in ``groups``; unknown group names are an error.

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[1.0], A=[[1.0]], b=[1.0], con_groups="cap")
        >>> p.group_mask("cap").tolist()
        [True]
        """
        wanted = {groups} if isinstance(groups, str) else set(groups)
        unknown = wanted - set(self.con_groups)
        if unknown:
            raise ValidationError(
                f"unknown constraint group(s) {sorted(unknown)}; this program has {list(self.groups)}"
            )
        return np.array([g in wanted for g in self.con_groups], dtype=bool)

    # ------------------------------------------------------------ evaluation
    @staticmethod
    def _batch(X: np.ndarray, n: int) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != n:
            raise ValidationError(f"X has shape {X.shape}, expected (k, {n})")
        return X.astype(np.float64, copy=False)

    def objective(self, X: np.ndarray) -> np.ndarray:
        """Internal (minimisation) objective ``x'Qx + c'x + const`` per row of ``X``."""
        Xf = self._batch(X, self.n_vars)
        if self.Q_is_sparse:
            quad = np.asarray((self.Q @ Xf.T).T * Xf).sum(axis=1)
        else:
            quad = np.einsum("ki,ij,kj->k", Xf, self.Q, Xf, optimize=True)
        return quad + Xf @ self.c + self.const

    def native(self, value: float | np.ndarray) -> float | np.ndarray:
        """An internal objective value (or bound) in the problem's native sense.

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[-3.0], metadata={"sense": "max"})
        >>> float(p.native(p.objective(np.array([[1]])))[0])
        3.0
        """
        return -value if self.is_max else value

    def native_objective(self, X: np.ndarray) -> np.ndarray:
        """The objective in the native sense (profit, tour length, set weight)."""
        return self.native(self.objective(X))

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """``g(x) = A x - b`` for every row of ``X``: shape ``(k, m)``."""
        Xf = self._batch(X, self.n_vars)
        return Xf @ self.A.T - self.b

    def violations(self, X: np.ndarray) -> np.ndarray:
        """Per-constraint violation ``|g|`` on equalities, ``max(g, 0)`` on inequalities."""
        g = self.residuals(X)
        return np.where(self.is_equality, np.abs(g), np.maximum(g, 0.0))

    def max_violation(self, X: np.ndarray) -> np.ndarray:
        """Largest violation per sample (0 when feasible or when there are no rows)."""
        v = self.violations(X)
        return v.max(axis=1) if v.shape[1] else np.zeros(v.shape[0])

    def is_feasible(self, X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Boolean feasibility per sample."""
        return self.max_violation(X) <= tol

    # ----------------------------------------------------------------- misc
    def fingerprint(self) -> str:
        """SHA-256 of the numbers and names: the program's identity in the store.

        Examples
        --------
        >>> a = BinaryProgram.from_arrays(c=[1.0])
        >>> a.fingerprint() == BinaryProgram.from_arrays(c=[1.0]).fingerprint()
        True
        """
        h = hashlib.sha256()
        self._hash_q(h)
        for arr in (self.c, np.array([self.const]), self.A, self.b):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
            h.update(b"|")
        h.update(
            json.dumps(
                [self.sense, self.var_names, self.con_names, self.con_groups, self.metadata["sense"]]
            ).encode()
        )
        return h.hexdigest()

    def _hash_q(self, h: Any) -> None:
        """Feed ``Q`` to the hash: the dense bytes (row blocks, never the whole matrix at once)
        up to ``_DENSE_HASH_MAX_VARS`` variables, the sorted sparse triplets beyond."""
        if not self.Q_is_sparse:
            h.update(np.ascontiguousarray(self.Q, dtype=np.float64).tobytes())
        elif self.n_vars <= _DENSE_HASH_MAX_VARS:
            n, step = self.n_vars, max(1, (1 << 22) // max(self.n_vars, 1))
            for start in range(0, n, step):
                block = self.Q[start : start + step].toarray()
                h.update(np.ascontiguousarray(block, dtype=np.float64).tobytes())
        else:
            h.update(b"sparse-q")
            for arr in self.quadratic_terms():
                h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")

    def subset(self, rows: np.ndarray | Sequence[int]) -> BinaryProgram:
        """The same program keeping only the constraint rows ``rows`` (mask or indices)."""
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=int)
        return BinaryProgram(
            Q=self.Q,
            c=self.c,
            const=self.const,
            A=self.A[idx],
            b=self.b[idx],
            sense=tuple(self.sense[i] for i in idx),
            var_names=self.var_names,
            con_names=tuple(self.con_names[i] for i in idx),
            con_groups=tuple(self.con_groups[i] for i in idx),
            name=self.name,
            metadata=dict(self.metadata),
        )

    def summary(self) -> dict[str, Any]:
        """Sizes and coefficient ranges, JSON-friendly."""
        groups: dict[str, int] = {}
        for g in self.con_groups:
            groups[g] = groups.get(g, 0) + 1
        nz_obj = np.concatenate([self.c[self.c != 0], self.quadratic_terms()[2]])
        nz_A = self.A[self.A != 0]

        def rng(a: np.ndarray) -> list[float] | None:
            return [float(np.abs(a).min()), float(np.abs(a).max())] if a.size else None

        return {
            "name": self.name,
            "sense": self.metadata["sense"],
            "n_vars": self.n_vars,
            "n_cons": self.n_cons,
            "groups": groups,
            "n_equalities": int(self.is_equality.sum()),
            "objective_abs_range": rng(nz_obj),
            "A_abs_range": rng(nz_A),
            "b_range": [float(self.b.min()), float(self.b.max())] if self.n_cons else None,
        }

    # ------------------------------------------------------------- interop
    def to_quadratic_program(self) -> Any:
        """This program as a qiskit-optimization ``QuadraticProgram`` (minimise).

        The objective is the internal (minimisation) one; variable and
        constraint names are kept, so decoding stays by name.
        """
        try:
            from qiskit_optimization import QuadraticProgram
        except ImportError as exc:  # pragma: no cover - dependency is core
            raise DependencyError("qiskit-optimization is needed: pip install qiskit-optimization") from exc
        qp = QuadraticProgram(self.name)
        for v in self.var_names:
            qp.binary_var(v)
        quad = {
            (self.var_names[i], self.var_names[j]): float(q)
            for i, j, q in zip(*self.quadratic_terms(), strict=True)
        }
        lin = {self.var_names[i]: float(self.c[i]) for i in np.flatnonzero(self.c)}
        qp.minimize(constant=self.const, linear=lin, quadratic=quad)
        for k in range(self.n_cons):
            row = {self.var_names[i]: float(self.A[k, i]) for i in np.flatnonzero(self.A[k])}
            qp.linear_constraint(row, self.sense[k], float(self.b[k]), name=self.con_names[k])
        return qp

    @classmethod
    def from_quadratic_program(cls, qp: Any, *, group: str = "constraint") -> BinaryProgram:
        """Build from a qiskit-optimization ``QuadraticProgram`` of binary variables.

        ``>=`` rows are negated into ``<=``; a maximisation is negated with
        ``metadata["sense"] = "max"``.  Quadratic constraints are refused.
        """
        from qiskit_optimization.problems import QuadraticObjective, Variable

        names = [v.name for v in qp.variables]
        bad = [v.name for v in qp.variables if v.vartype != Variable.Type.BINARY]
        if bad:
            raise ValidationError(f"variable {bad[0]!r} is not binary; only binary programs are supported")
        if qp.quadratic_constraints:
            raise ValidationError("quadratic constraints are not supported")
        n = len(names)
        obj = qp.objective
        sign = -1.0 if obj.sense == QuadraticObjective.Sense.MAXIMIZE else 1.0
        c = sign * obj.linear.to_array()
        Q = sign * obj.quadratic.to_array()
        rows, rhs, senses, cnames = [], [], [], []
        for con in qp.linear_constraints:
            a = con.linear.to_array()
            s = con.sense.name  # "LE", "GE" or "EQ"
            if s == "GE":
                rows.append(-a)
                rhs.append(-con.rhs)
                senses.append("<=")
            elif s == "EQ":
                rows.append(a)
                rhs.append(con.rhs)
                senses.append("==")
            else:
                rows.append(a)
                rhs.append(con.rhs)
                senses.append("<=")
            cnames.append(con.name)
        return cls(
            Q=Q,
            c=c,
            const=sign * obj.constant,
            A=np.asarray(rows, dtype=np.float64).reshape(-1, n),
            b=np.asarray(rhs, dtype=np.float64),
            sense=tuple(senses),
            var_names=tuple(names),
            con_names=tuple(cnames),
            con_groups=(group,) * len(cnames),
            name=qp.name or "program",
            metadata={"sense": "max" if sign < 0 else "min", "problem": "qp"},
        )
