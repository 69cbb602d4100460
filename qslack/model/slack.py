"""The slack baseline: qiskit-optimization's ``QuadraticProgramToQubo``.

One scalar penalty, binary-encoded slack (``floor(log2 U) + 1`` qubits per
inequality with slack range ``U``), except the set-packing patterns that
``LinearInequalityToPenalty`` turns into products without slack.  Its qubit
count is what the slack-free savings are measured against.

qiskit-optimization (archived upstream) is imported here and in
:mod:`qslack.model.program`'s interop only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack._sizes import format_count
from qslack.exceptions import ValidationError
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO

__all__ = ["SlackEncoding", "count_slack_bits", "integer_row_scales", "slack_qubo", "slack_summary"]


@dataclass(frozen=True, eq=False)
class SlackEncoding:
    """The slack QUBO with what it cost.

    Attributes
    ----------
    qubo : QUBO
        Over the program's variables followed by the slack bits (by name).
    n_qubits : int
        Program variables plus slack bits.
    slack_bits : int
        Bits qiskit-optimization really added.
    penalty : float
        The scalar penalty it chose (or was given).
    row_scales : numpy.ndarray
        Factor each constraint row was multiplied by to make it integral.
    """

    qubo: QUBO
    n_qubits: int
    slack_bits: int
    penalty: float
    row_scales: np.ndarray
    slack_names: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (no matrices)."""
        return {
            "n_qubits": self.n_qubits,
            "slack_bits": self.slack_bits,
            "penalty": self.penalty,
            "row_scales": self.row_scales.tolist(),
        }


def integer_row_scales(program: BinaryProgram, max_digits: int = 6) -> np.ndarray:
    """Smallest power of ten per row that makes ``a_k`` and ``b_k`` integral.

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[1.0, 1.0], A=[[0.5, 1.0], [1.0, 2.0]], b=[1.25, 3.0])
    >>> integer_row_scales(p).tolist()
    [100.0, 1.0]
    """
    scales = np.ones(program.n_cons)
    for k in range(program.n_cons):
        row = np.concatenate([program.A[k], [program.b[k]]])
        for d in range(max_digits + 1):
            s = 10.0**d
            if np.allclose(row * s, np.round(row * s), rtol=0, atol=1e-9 * max(1.0, s)):
                scales[k] = s
                break
        else:
            raise ValidationError(
                f"constraint {program.con_names[k]!r} is not integral at {max_digits} decimals; "
                "the slack encoding needs integer coefficients"
            )
    return scales


def _is_packing_pattern(a: np.ndarray, b: float, sense: str) -> bool:
    """The inequality patterns LinearInequalityToPenalty converts without slack."""
    if sense != "<=":
        return False
    nz = a[a != 0]
    if nz.size >= 2 and np.all(nz == 1.0) and b == 1.0:
        return True  # sum x_i <= 1
    if nz.size == 2 and sorted(nz.tolist()) == [-1.0, 1.0] and b == 0.0:
        return True  # x <= y
    # sum x_i >= n - 1 written as -sum x_i <= -(n - 1)
    return bool(nz.size >= 2 and np.all(nz == -1.0) and b == -(nz.size - 1))


def count_slack_bits(program: BinaryProgram) -> int:
    """Slack bits qiskit-optimization would add, computed without building the QUBO.

    Per inequality row (scaled to integers) with slack range
    ``U = b - min_x a.x``: ``floor(log2 U) + 1`` bits, 0 when ``U <= 0``
    or the row matches a set-packing pattern.  Equalities add none.  Used
    where the QUBO itself is too large to build (TSP beyond 9 cities).
    The count is an exact Python ``int`` (never a float), whatever its size.

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[2.0, 3.0], [1.0, 1.0]], b=[4.0, 1.0])
    >>> count_slack_bits(p)  # the second row is a set-packing row: no slack
    3
    """
    scales = integer_row_scales(program)
    bits = 0
    for k in range(program.n_cons):
        if program.sense[k] != "<=":
            continue
        a = np.round(program.A[k] * scales[k])
        b = round(program.b[k] * scales[k])
        if _is_packing_pattern(a, b, "<="):
            continue
        U = int(b) - sum(int(v) for v in a[a < 0])
        if U > 0:
            bits += U.bit_length()  # floor(log2 U) + 1, exact for ints of any size
    return bits


def slack_qubo(program: BinaryProgram, *, penalty: float | None = None) -> SlackEncoding:
    """The slack-penalty QUBO of ``program`` as qiskit-optimization builds it.

    Parameters
    ----------
    program : BinaryProgram
        Fractional rows are first scaled to integers (``row_scales``).
    penalty : float, optional
        Scalar penalty; default: qiskit-optimization's automatic choice.

    Returns
    -------
    SlackEncoding

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[2.0, 3.0]], b=[4.0])
    >>> enc = slack_qubo(p)
    >>> enc.n_qubits, enc.slack_bits
    (5, 3)
    """
    from qiskit_optimization.converters import QuadraticProgramToQubo

    scales = integer_row_scales(program)
    scaled = BinaryProgram(
        Q=program.Q,
        c=program.c,
        const=program.const,
        A=np.round(program.A * scales[:, None]),
        b=np.round(program.b * scales),
        sense=program.sense,
        var_names=program.var_names,
        con_names=program.con_names,
        con_groups=program.con_groups,
        name=program.name,
        metadata=dict(program.metadata),
    )
    qp = scaled.to_quadratic_program()
    conv = QuadraticProgramToQubo(penalty=penalty)
    out = conv.convert(qp)
    names = tuple(v.name for v in out.variables)
    n = len(names)
    Q = np.asarray(out.objective.quadratic.to_array(symmetric=False), dtype=np.float64).reshape(n, n)
    lin = np.asarray(out.objective.linear.to_array(), dtype=np.float64).reshape(n)
    Q = np.triu(Q) + np.tril(Q, -1).T
    Q[np.diag_indices(n)] += lin
    sign = 1.0 if out.objective.sense.name == "MINIMIZE" else -1.0
    qubo = QUBO(sign * Q, sign * out.objective.constant, names, info={"form": "slack"})
    used_penalty = conv.penalty
    if used_penalty is None:  # pragma: no cover - set by convert in qiskit-optimization 0.7
        used_penalty = float("nan")
    orig = set(program.var_names)
    slack_names = tuple(v for v in names if v not in orig)
    return SlackEncoding(
        qubo=qubo,
        n_qubits=n,
        slack_bits=n - program.n_vars,
        penalty=float(used_penalty),
        row_scales=scales,
        slack_names=slack_names,
    )


#: The slack QUBO is built (dense, through qiskit-optimization) only up to this many variables.
BUILD_MAX_VARS = 1024


def slack_summary(program: BinaryProgram, *, build_limit: int = 100_000) -> dict[str, Any]:
    """Qubits of the slack baseline: built through qiskit-optimization when
    ``n_vars * n_cons <= build_limit`` and ``n_vars <= BUILD_MAX_VARS``, else
    counted by :func:`count_slack_bits`.

    Rows a builder left out (``metadata["unbuilt_slack_bits"]``, e.g. TSP
    subtour rows beyond 9 cities) are counted on top.  Counts are exact
    Python ints (``2**70`` and beyond for large TSPs in the edge encoding);
    ``qubits_slack_text`` states them for people (:func:`qslack._sizes.format_count`).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -1.0], A=[[2.0, 3.0]], b=[4.0])
    >>> s = slack_summary(p)
    >>> s["qubits_slack"], s["qubits_slack_text"]
    (5, '5')
    """
    extra = int(program.metadata.get("unbuilt_slack_bits", 0) or 0)
    small = program.n_vars <= BUILD_MAX_VARS and program.n_vars * max(program.n_cons, 1) <= build_limit
    if small and not extra:
        enc = slack_qubo(program)
        return {
            "qubits_slack": int(enc.n_qubits),
            "slack_bits": int(enc.slack_bits),
            "penalty": enc.penalty,
            "method": "built",
            "qubits_slack_text": format_count(enc.n_qubits),
        }
    bits = count_slack_bits(program) + extra
    qubits = program.n_vars + bits
    return {
        "qubits_slack": qubits,
        "slack_bits": bits,
        "penalty": None,
        "method": "counted",
        "qubits_slack_text": format_count(qubits) + " (counted, not built)",
    }
