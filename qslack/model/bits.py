"""Bit-order conventions, in one place.

qslack's convention everywhere: column ``j`` of a batch ``X`` is variable
``var_names[j]``, which is qubit ``j``; in a basis-state index ``k`` of a
``2**n`` vector, bit ``j`` of ``k`` (``(k >> j) & 1``) is ``x_j``.  That is
Qiskit's little-endian order, so qubit ``j`` of a circuit is variable ``j``.
Qiskit prints bitstrings with qubit 0 *rightmost*; :func:`bitstrings_to_X`
and :func:`X_to_bitstrings` are the only places where that reversal happens.

The module also holds the entry points of the O(2**n) construction of a
cost diagonal (:mod:`qslack.model._diag`), shared by
:class:`~qslack.model.qubo.QUBO` and :class:`~qslack.model.lagrangian.LagrangianForm`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "X_to_bitstrings",
    "X_to_index",
    "bitstrings_to_X",
    "index_to_X",
    "linear_diagonal",
    "quadratic_diagonal",
]


def index_to_X(index: np.ndarray | Iterable[int], n: int) -> np.ndarray:
    """Basis-state indices to a batch of bit vectors.

    Parameters
    ----------
    index : array_like of int
        Basis-state indices in ``[0, 2**n)``.
    n : int
        Number of variables.

    Returns
    -------
    numpy.ndarray
        ``(len(index), n)`` uint8 array, ``X[r, j] = (index[r] >> j) & 1``.

    Examples
    --------
    >>> index_to_X([6], 3).tolist()
    [[0, 1, 1]]
    """
    idx = np.asarray(index, dtype=np.int64).reshape(-1)
    shifts = np.arange(n, dtype=np.int64)
    return ((idx[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


def X_to_index(X: np.ndarray) -> np.ndarray:
    """Batch of bit vectors to basis-state indices (inverse of :func:`index_to_X`).

    Examples
    --------
    >>> X_to_index(np.array([[0, 1, 1]], dtype=np.uint8)).tolist()
    [6]
    """
    X = np.atleast_2d(np.asarray(X))
    n = X.shape[1]
    if n > 62:
        raise ValueError(f"cannot index {n} variables in an int64")
    weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    return X.astype(np.int64) @ weights


def bitstrings_to_X(counts: Mapping[str, int] | Iterable[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Qiskit bitstrings (qubit 0 rightmost) to ``(X, counts)``.

    Parameters
    ----------
    counts : mapping of str to int, or iterable of str
        Qiskit-style counts (``{"011": 5}``) or a list of bitstrings.  Spaces
        (register separators) are ignored; hex keys ``"0x6"`` are accepted.
    n : int
        Number of variables.

    Examples
    --------
    >>> X, c = bitstrings_to_X({"110": 3}, 3)
    >>> X.tolist(), c.tolist()
    ([[0, 1, 1]], [3])
    """
    items = counts.items() if isinstance(counts, Mapping) else ((s, 1) for s in counts)
    rows, cnt = [], []
    for key, c in items:
        s = str(key).replace(" ", "")
        if s.startswith("0x"):
            k = int(s, 16)
            rows.append([(k >> j) & 1 for j in range(n)])
        else:
            if len(s) != n or set(s) - {"0", "1"}:
                raise ValueError(f"bitstring {key!r} is not {n} binary digits")
            rows.append([int(ch) for ch in reversed(s)])
        cnt.append(int(c))
    X = np.asarray(rows, dtype=np.uint8).reshape(-1, n)
    return X, np.asarray(cnt, dtype=np.int64)


def X_to_bitstrings(X: np.ndarray) -> list[str]:
    """Batch of bit vectors to Qiskit bitstrings (qubit 0 rightmost).

    Examples
    --------
    >>> X_to_bitstrings(np.array([[0, 1, 1]]))
    ['110']
    """
    X = np.atleast_2d(np.asarray(X))
    return ["".join(str(int(v)) for v in row[::-1]) for row in X]


def linear_diagonal(
    coef: np.ndarray, const: float = 0.0, *, out: np.ndarray | None = None, dtype=np.float64
) -> np.ndarray:
    """``const + coef . x`` for every ``x`` in ``{0,1}^n``.

    One write pass over ``out`` (numba, blocked, parallel: :mod:`qslack.model._diag`);
    no temporaries beyond ``out`` and per-thread scratch of 32 KiB.

    Examples
    --------
    >>> linear_diagonal(np.array([1.0, 10.0]), 0.5).tolist()
    [0.5, 1.5, 10.5, 11.5]
    """
    from qslack.model._diag import linear_blocked

    return linear_blocked(coef, const, out=out, dtype=dtype)


def quadratic_diagonal(
    Q: np.ndarray,
    c: np.ndarray,
    const: float = 0.0,
    *,
    out: np.ndarray | None = None,
    dtype=np.float64,
    shift: float = 0.0,
) -> np.ndarray:
    """``x'Qx + c'x + const - shift`` for every ``x`` (``Q`` strictly upper; its diagonal is ignored).

    One write pass over the output at memory speed (numba, blocked, parallel:
    :mod:`qslack.model._diag`); float64 or float32 output (``dtype`` or
    ``out``), ``shift`` subtracted before rounding.

    Examples
    --------
    >>> Q = np.array([[0.0, 2.0], [0.0, 0.0]])
    >>> quadratic_diagonal(Q, np.array([1.0, -1.0])).tolist()
    [0.0, 1.0, -1.0, 2.0]
    """
    from qslack.model._diag import quadratic_blocked

    return quadratic_blocked(Q, c, const, out=out, dtype=dtype, shift=shift)
