"""Slack-free Lagrangian QUBOs: one multiplier per constraint, no slack qubits.

For a :class:`~qslack.model.program.BinaryProgram` with residuals
``g_k(x) = a_k . x - b_k``::

    H(x; lam, rho) = f(x) + sum_k lam_k g_k(x) + sum_k (rho_k / 2) g_k(x)**2

Set-packing rows ``x_u + x_v <= 1`` may instead be encoded with the exact
product penalty: their residual is ``g_k(x) = x_u x_v`` (the violation) and
the row adds ``(lam_k + rho_k / 2) x_u x_v``.

The ``2**n`` diagonal of ``H`` is built from the QUBO terms in one write pass
at memory speed (:mod:`qslack.model._diag`): cheaper than a matrix-vector
product over cached per-row diagonals (``m + 1`` reads) and without their
``m * 2**n`` memory.  The form caches only what the dual loop reads: the
objective diagonal and the feasible mask (9 bytes per basis state), built
blocked without any per-row vector; :attr:`LagrangianForm.constraint_diagonals`
builds the ``(m, 2**n)`` rows on request.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from qslack._sizes import require_memory
from qslack._sys import available_memory
from qslack.exceptions import ValidationError
from qslack.model._diag import feasible_mask_blocked
from qslack.model.bits import linear_diagonal, quadratic_diagonal
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO

__all__ = ["LagrangianForm", "default_multipliers"]


def _set_packing_pairs(program: BinaryProgram) -> np.ndarray:
    """``(m, 2)`` variable pairs of rows ``x_u + x_v <= 1`` (``-1`` for other rows)."""
    pairs = np.full((program.n_cons, 2), -1, dtype=np.int64)
    for k in range(program.n_cons):
        if program.sense[k] != "<=" or program.b[k] != 1.0:
            continue
        nz = np.flatnonzero(program.A[k])
        if nz.size == 2 and np.all(program.A[k, nz] == 1.0):
            pairs[k] = nz
    return pairs


def _row_mask(program: BinaryProgram, rows: Any) -> np.ndarray:
    """Boolean row mask from indices, a mask or group names (None: no row)."""
    m = program.n_cons
    if rows is None:
        return np.zeros(m, dtype=bool)
    if isinstance(rows, str):
        return program.group_mask(rows)
    items = list(rows)
    if items and all(isinstance(v, str) for v in items):
        return program.group_mask(items)
    a = np.asarray(items)
    if a.dtype == bool:
        if a.shape != (m,):
            raise ValidationError(f"enforced mask has shape {a.shape}, expected ({m},)")
        return a.copy()
    idx = a.astype(np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= m or np.any(idx != a.reshape(-1))):
        raise ValidationError(f"enforced rows must be integers in 0..{m - 1}, got {items}")
    mask = np.zeros(m, dtype=bool)
    mask[idx] = True
    return mask


class LagrangianForm:
    """The slack-free Lagrangian family ``H(x; lam, rho)`` of a program.

    Parameters
    ----------
    program : BinaryProgram
        The constrained program.  Every row is relaxed into the QUBO.
    products : "auto", bool or iterable of str
        Which set-packing rows (``x_u + x_v <= 1``) use the exact product
        penalty.  ``"auto"``: those in group ``"edge"``; ``True``: every
        set-packing row; ``False``: none; a list: those in the named groups.
    cache : "auto", bool
        Keep the ``2**n`` objective diagonal and feasible mask for the dual
        loop's probability masses (``"auto"``: when they fit ``max_cache_bytes``).
    max_cache_bytes : int, optional
        Budget for the caches; default a quarter of the available memory.
    enforced : iterable of int or str, or bool mask, optional
        Rows the QAOA ansatz keeps satisfied by construction (one-hot rows
        under an XY mixer, :func:`qslack.model.onehot.one_hot_groups`): row
        indices, a mask, or constraint-group names.  They stay in the program
        (residuals, feasibility) but get no term in ``H``: their ``lam`` and
        ``rho`` are held at 0.  ``min_x H`` stays a valid lower bound (a
        relaxation of fewer rows).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="==")
    >>> form = LagrangianForm(p)
    >>> q = form.qubo(lam=[0.5], rho=[2.0])
    >>> X = np.array([[0, 0], [1, 0], [1, 1]])
    >>> np.allclose(q.energies(X), form.energy(X, [0.5], [2.0]))
    True
    >>> np.allclose(q.diagonal()[[0, 1, 3]], form.energy(X, [0.5], [2.0]))
    True
    >>> LagrangianForm(p, enforced=[0]).qubo(lam=[0.5], rho=[2.0]).energies(X).tolist()   # row left out
    [0.0, -1.0, -2.0]
    """

    def __init__(
        self,
        program: BinaryProgram,
        *,
        products: str | bool | Iterable[str] = "auto",
        cache: str | bool = "auto",
        max_cache_bytes: int | None = None,
        enforced: Iterable[int] | Iterable[str] | np.ndarray | None = None,
    ) -> None:
        self.program = program
        self.products = products
        self._enforced_spec = enforced
        self.enforced = _row_mask(program, enforced)
        pairs = _set_packing_pairs(program)
        is_pair = pairs[:, 0] >= 0
        if products == "auto":
            sel = np.array([g == "edge" for g in program.con_groups], dtype=bool)
        elif products is True:
            sel = np.ones(program.n_cons, dtype=bool)
        elif products is False:
            sel = np.zeros(program.n_cons, dtype=bool)
        elif isinstance(products, str):
            raise ValidationError(f"products must be 'auto', a bool or a list of groups, not {products!r}")
        else:
            sel = program.group_mask(products)
        self.is_product = is_pair & sel
        self.pairs = np.where(self.is_product[:, None], pairs, -1)
        self._lin = ~self.is_product
        self.is_equality = program.is_equality
        self._cache_mode = cache
        self._max_cache_bytes = max_cache_bytes
        self._f_diag: np.ndarray | None = None
        self._G: np.ndarray | None = None
        self._mask: tuple[float, np.ndarray] | None = None

    def with_program(self, program: BinaryProgram) -> LagrangianForm:
        """A form of another program (e.g. with lazy rows added) with this form's settings."""
        return LagrangianForm(
            program,
            products=self.products,
            cache=self._cache_mode,
            max_cache_bytes=self._max_cache_bytes,
            enforced=self._enforced_spec,
        )

    # ----------------------------------------------------------- properties
    @property
    def n_vars(self) -> int:
        """Number of variables (= qubits of every QUBO of this form)."""
        return self.program.n_vars

    @property
    def n_cons(self) -> int:
        """Number of relaxed constraints (= length of ``lam`` and ``rho``)."""
        return self.program.n_cons

    @property
    def lam_lower(self) -> np.ndarray:
        """Lower bounds on ``lam``: ``-inf`` on equalities, ``0`` on inequalities, and on a
        product row ``(u, v)`` its exactness floor (:attr:`product_floor`)."""
        low = np.where(self.is_equality & self._lin, -np.inf, 0.0)
        return np.where(self.is_product, self.product_floor, low)

    @functools.cached_property
    def product_floor(self) -> np.ndarray:
        """Per row: the smallest product weight that keeps the optimum a ground state.

        For a row ``x_u + x_v <= 1`` whose variables have negative linear
        objective terms (rewards ``w_u, w_v``) and no quadratic terms, a weight
        ``>= min(w_u, w_v)`` keeps the optimal value (dropping the lighter
        endpoint of a violated edge never loses); unit-weight MIS: 1.  Other
        rows: 0.
        """
        floor = np.zeros(self.n_cons)
        p = self.program
        for k in np.flatnonzero(self.is_product):
            u, v = self.pairs[k]
            cu, cv = p.c[u], p.c[v]
            quad = bool(self._quadratic_vars[u] or self._quadratic_vars[v])
            if cu < 0 and cv < 0 and not quad:
                floor[k] = min(-cu, -cv)
        return floor

    @functools.cached_property
    def _quadratic_vars(self) -> np.ndarray:
        """Per variable: whether it has a quadratic objective term."""
        i, j, _ = self.program.quadratic_terms()
        out = np.zeros(self.n_vars, dtype=bool)
        out[i] = True
        out[j] = True
        return out

    def project(self, lam: Any) -> np.ndarray:
        """Project ``lam`` onto its sign constraints."""
        return np.maximum(self._vec(lam, "lam"), self.lam_lower)

    def bound_is_valid(self, rho: Any) -> bool:
        """Whether ``min_x H(x; lam, rho)`` lower-bounds the optimum for every ``lam``.

        True when every ``rho``-term vanishes on feasible points: ``rho = 0``
        on all linear inequality rows (equalities and product rows are fine).
        """
        rho = self._vec(rho, "rho")
        lin_ineq = self._lin & ~self.is_equality
        return bool(np.all(rho[lin_ineq] == 0.0))

    # ------------------------------------------------------------ evaluation
    def _vec(self, v: Any, what: str) -> np.ndarray:
        m = self.n_cons
        if v is None:
            return np.zeros(m)
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 0:
            a = np.full(m, float(a))
        if a.shape != (m,):
            raise ValidationError(f"{what} has shape {a.shape}, expected ({m},)")
        if not np.all(np.isfinite(a)):
            raise ValidationError(f"{what} holds a non-finite value")
        if what == "rho" and np.any(a < 0):
            raise ValidationError(f"rho must be >= 0, got min {a.min()}")
        if self.enforced.any():
            a = np.where(self.enforced, 0.0, a)
        return a

    def residuals(self, X: np.ndarray) -> np.ndarray:
        """``g(x)`` per sample: ``A x - b`` on linear rows, ``x_u x_v`` on product rows."""
        g = self.program.residuals(X)
        if self.is_product.any():
            Xa = np.atleast_2d(np.asarray(X))
            k = np.flatnonzero(self.is_product)
            u, v = self.pairs[k, 0], self.pairs[k, 1]
            g[:, k] = Xa[:, u].astype(np.float64) * Xa[:, v]
        return g

    def energy(self, X: np.ndarray, lam: Any, rho: Any = None) -> np.ndarray:
        """``H(x; lam, rho)`` per sample, straight from the definition."""
        lam, rho = self._vec(lam, "lam"), self._vec(rho, "rho")
        g = self.residuals(X)
        return self.program.objective(X) + g @ lam + 0.5 * (g * g) @ rho

    # ----------------------------------------------------------------- QUBO
    def qubo_terms(self, lam: Any, rho: Any = None) -> tuple[np.ndarray, float]:
        """Upper-triangular ``Q`` (linear terms on the diagonal) and offset of ``H``."""
        lam, rho = self._vec(lam, "lam"), self._vec(rho, "rho")
        p = self.program
        lin = self._lin
        A, b = p.A[lin], p.b[lin]
        lam_l, rho_l = lam[lin], rho[lin]
        n = p.n_vars
        # Q, the rho-product and its upper triangle: three dense n x n float64 arrays
        require_memory(3 * n * n * 8, f"the QUBO of {p.name!r} ({n} variables, dense)")
        Q = np.array(p.dense_Q())
        Q += np.triu((A.T * rho_l) @ A, 1)
        c = p.c + lam_l @ A + 0.5 * rho_l @ (A * A - 2.0 * b[:, None] * A)
        offset = p.const - lam_l @ b + 0.5 * rho_l @ (b * b)
        k = np.flatnonzero(self.is_product)
        if k.size:
            u, v = self.pairs[k].min(axis=1), self.pairs[k].max(axis=1)
            np.add.at(Q, (u, v), lam[k] + 0.5 * rho[k])
        Q[np.diag_indices_from(Q)] += c
        return Q, float(offset)

    def qubo(self, lam: Any, rho: Any = None) -> QUBO:
        """The QUBO of ``H(.; lam, rho)`` (its ``diagonal()`` is built in one pass).

        ``qubo.info`` records ``lam`` and ``rho``.
        """
        lam, rho = self._vec(lam, "lam"), self._vec(rho, "rho")
        Q, offset = self.qubo_terms(lam, rho)
        return QUBO(
            Q,
            offset,
            self.program.var_names,
            info={"lam": lam.tolist(), "rho": rho.tolist(), "form": "lagrangian"},
        )

    # ---------------------------------------------------------------- cache
    @property
    def cache_bytes(self) -> int:
        """Bytes of the cached objective diagonal (float64) and feasible mask (bool): ``9 * 2**n``."""
        return 9 * (1 << self.n_vars)

    @property
    def use_cache(self) -> bool:
        """Whether the objective diagonal and the feasible mask are kept (see ``cache``)."""
        if self._cache_mode is True:
            return True
        if self._cache_mode is False or self.n_vars > 34:
            return False
        if self._f_diag is not None and self._mask is not None:
            return True  # built once: keep using them (memory taken by later steps must not switch
            # a run's metrics from exact to shot estimates half way)
        budget = self._max_cache_bytes
        if budget is None:
            budget = available_memory() // 4
        return self.cache_bytes <= budget

    @property
    def constraint_diagonals(self) -> np.ndarray:
        """``(m, 2**n)`` ``g_k`` diagonals (built blocked on first use and kept; ``8 m 2**n`` bytes)."""
        if self._G is None:
            from qslack.memory import require

            p = self.program
            n, m = self.n_vars, self.n_cons
            require(8 * m * (1 << n), f"the {m} constraint diagonals of {n} variables")
            G = np.empty((m, 1 << n), dtype=np.float64)
            for k in range(m):
                if self.is_product[k]:
                    u, v = self.pairs[k]
                    Qk = np.zeros((n, n))
                    Qk[min(u, v), max(u, v)] = 1.0
                    quadratic_diagonal(Qk, np.zeros(n), 0.0, out=G[k])
                else:
                    linear_diagonal(p.A[k], -p.b[k], out=G[k])
            self._G = G
        return self._G

    @property
    def objective_diagonal(self) -> np.ndarray:
        """``2**n`` diagonal of the objective ``f`` (built in one pass on first use and kept)."""
        if self._f_diag is None:
            from qslack.memory import require

            p = self.program
            require(8 * (1 << self.n_vars), f"the objective diagonal of {self.n_vars} variables")
            self._f_diag = quadratic_diagonal(p.Q, p.c, p.const)
            self._f_diag.setflags(write=False)
        return self._f_diag

    def feasible_mask(self, tol: float = 1e-9) -> np.ndarray:
        """Boolean ``2**n`` mask of feasible basis states (built blocked, kept per ``tol``).

        No per-row ``2**n`` vector is materialised: 1 byte per basis state.
        """
        if self._mask is None or self._mask[0] != tol:
            rows = np.arange(self.n_cons)
            mask = self._rows_mask(rows, self.is_equality & self._lin, tol, "feasible mask")
            mask.setflags(write=False)
            self._mask = (tol, mask)
        return self._mask[1]

    def enforced_mask(self, tol: float = 1e-9) -> np.ndarray | None:
        """Boolean ``2**n`` mask of the states that satisfy every enforced row (None when none is).

        These are the states an ansatz that keeps those rows can reach; the rest
        never carry amplitude, whatever their energy.  Built blocked, like
        :meth:`feasible_mask` (1 byte per basis state).

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[1.0, 1.0], A=[[1.0, 1.0]], b=[1.0], sense="==")
        >>> LagrangianForm(p, enforced=[0]).enforced_mask().tolist()
        [False, True, True, False]
        >>> LagrangianForm(p).enforced_mask() is None
        True
        """
        if not self.enforced.any():
            return None
        rows = np.flatnonzero(self.enforced)
        return self._rows_mask(rows, np.ones(len(rows), bool), tol, "enforced-row mask")

    def _rows_mask(self, rows: np.ndarray, is_eq: np.ndarray, tol: float, what: str) -> np.ndarray:
        """States satisfying ``rows`` (``is_eq``: kept at 0, else <= 0), built blocked (1 byte a state)."""
        from qslack.memory import require

        p = self.program
        require(1 << self.n_vars, f"the {what} of {self.n_vars} variables")
        pairs = np.where(self.is_product[rows, None], self.pairs[rows], -1)
        return feasible_mask_blocked(p.A[rows], p.b[rows], is_eq, pairs, tol)

    def diagonal(
        self,
        lam: Any,
        rho: Any = None,
        *,
        out: np.ndarray | None = None,
        dtype=np.float64,
        shift: float = 0.0,
    ) -> np.ndarray:
        """``f + lam . g + (rho / 2) . g**2 - shift`` over all ``2**n`` states.

        Built from the QUBO terms in one write pass (float64 or float32).
        """
        lam, rho = self._vec(lam, "lam"), self._vec(rho, "rho")
        Q, offset = self.qubo_terms(lam, rho)
        return quadratic_diagonal(Q, np.diag(Q).copy(), offset, out=out, dtype=dtype, shift=shift)

    def diagonals(self, lams: Any, rho: Any = None, *, dtype=np.float64) -> np.ndarray:
        """``(k, 2**n)`` diagonals for the rows of ``lams`` (same ``rho``), one pass each.

        Examples
        --------
        >>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="==")
        >>> D = LagrangianForm(p).diagonals([[0.0], [1.0]])
        >>> D.shape, D[1].tolist()
        ((2, 4), [-1.0, -1.0, -1.0, -1.0])
        """
        L = np.atleast_2d(np.asarray(lams, dtype=np.float64))
        out = np.empty((L.shape[0], 1 << self.n_vars), dtype=dtype)
        for i, lam in enumerate(L):
            self.diagonal(lam, rho, out=out[i])
        return out


def default_multipliers(form: LagrangianForm, rho: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem defaults ``(lam0, rho0)``; ``rho`` scales the quadratic weights.

    ``rho_k = rho * c_max / max|a_k|**2`` with ``c_max`` the largest objective
    coefficient, so a unit violation of row ``k`` costs about ``rho * c_max``:
    TSP position — row/col equalities; TSP edge — degree equalities (subtour
    rows get ``rho = 0``); MDKP — capacity rows (the unbalanced shape); MIS —
    product rows start at weight 1 with ``rho = 0``.  ``lam0 = 0`` elsewhere.

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-4.0, -2.0], A=[[2.0, 1.0]], b=[2.0], sense="<=")
    >>> lam0, rho0 = default_multipliers(LagrangianForm(p), rho=0.5)
    >>> lam0.tolist(), rho0.tolist()
    ([0.0], [0.5])
    """
    p = form.program
    c_max = float(max(np.abs(p.c).max(initial=0.0), np.abs(p.quadratic_terms()[2]).max(initial=0.0), 1e-12))
    amax = np.abs(p.A).max(axis=1) if p.n_cons else np.zeros(0)
    rho0 = rho * c_max / np.maximum(amax, 1e-12) ** 2
    lam0 = np.zeros(p.n_cons)
    groups = np.array(p.con_groups, dtype=object)
    rho0[groups == "subtour"] = 0.0
    rho0[form.is_product] = 0.0
    lam0[form.is_product] = 1.0
    return lam0, rho0
