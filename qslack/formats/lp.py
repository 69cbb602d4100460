"""Binary programs in LP or MPS format, read through HiGHS (``highspy``).

:func:`read_lp` lets any model written by another tool (CPLEX LP format,
free or fixed MPS, gzip-compressed ``.lp.gz`` / ``.mps.gz``) enter the
pipeline as a :class:`~qslack.model.program.BinaryProgram`.  HiGHS picks the
parser from the extension (``.lp`` or ``.mps``; for MPS it tries the free
parser and falls back to the fixed one).

Conventions
-----------
Variables
    Every column must be integer with bounds ``[0, 1]``; a continuous,
    semi-continuous or general-integer column is a
    :class:`~qslack.exceptions.ValidationError` naming it.  A binary column
    fixed by its bounds (``[0, 0]`` or ``[1, 1]``) stays a variable and gets
    an equality row ``x == v`` named ``bound_<name>`` in group ``"bound"``.
Rows
    HiGHS rows read ``lower <= a.x <= upper``.  ``lower == upper`` gives one
    ``==`` row; a finite ``upper`` a ``<=`` row ``a.x <= upper`` (named after
    the row); a finite ``lower`` a ``<=`` row ``-a.x <= -lower`` (named after
    the row, or ``<name>_lo`` when the row is ranged, i.e. has both bounds
    finite and different).  Free rows (both bounds infinite, e.g. extra
    ``N`` rows of an MPS file) are dropped.  All rows are in group
    ``"constraint"``.
Objective
    HiGHS holds ``offset + c'x + 0.5 x'Hx`` with ``H`` symmetric, stored as
    its lower triangle.  It becomes ``x'Qx + c'x + const`` with ``Q = H/2``
    (so an off-diagonal pair contributes ``H_ij x_i x_j``, a diagonal entry
    ``H_ii / 2`` to ``c_i`` since ``x_i**2 = x_i``).  A maximisation is
    stored negated with ``metadata["sense"] = "max"``.
Warnings
    HiGHS skips some faults and carries on (an MPS entry naming an undefined
    row, for instance); its ``WARNING`` lines are re-issued as one
    :class:`~qslack.formats.dimacs.FormatWarning`.  Errors become a
    :class:`~qslack.exceptions.ParseError` carrying HiGHS's message (and the
    line, which HiGHS's LP parser reports).
Names
    Column and row names come from the file (HiGHS names unnamed LP rows
    ``HiGHS_R<k>``); missing ones fall back to ``x<i>`` / ``c<k>``, and any
    clash gets a numeric suffix.  The program is named after the file stem
    (``knap.lp.gz`` -> ``knap``).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "knap.lp").write_text(
...     "Maximize\\n obj: 3 x + 2 y\\nSubject To\\n cap: 2 x + y <= 2\\nBinary\\n x y\\nEnd\\n")
>>> p = read_lp(d / "knap.lp")
>>> p.name, p.var_names, p.con_names, p.metadata["sense"]
('knap', ('x', 'y'), ('cap',), 'max')
>>> p.native_objective(np.array([[1, 0], [0, 1]])).tolist()
[3.0, 2.0]
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qslack.exceptions import DependencyError, ParseError, ValidationError
from qslack.formats.dimacs import FormatWarning
from qslack.model.program import BinaryProgram

__all__ = ["read_lp"]

_COMPRESSED = (".gz", ".bz2", ".zst", ".xz")
_LOCATION = re.compile(r"-->\s*.*?:(\d+):\d+")
_banner_done = False


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (HiGHS prints its banner from C++)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(fd)
    except OSError:  # pragma: no cover - no usable stdout
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _new_highs() -> Any:
    """A ``highspy.Highs`` that prints nothing (the once-per-process banner included)."""
    global _banner_done
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - dependency is core
        raise DependencyError("highspy is needed to read LP/MPS files: pip install highspy") from exc
    if _banner_done:
        h = highspy.Highs()
    else:
        with _quiet_stdout():
            h = highspy.Highs()
        _banner_done = True
    h.setOptionValue("log_to_console", False)
    return h


def _program_name(path: Path) -> str:
    p = path
    if p.suffix.lower() in _COMPRESSED:
        p = p.with_suffix("")
    return p.stem or "program"


def _unique(names: Sequence[str], fallback: str) -> list[str]:
    """Names with blanks replaced by ``fallback{i}`` and clashes suffixed."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = str(raw).strip() or f"{fallback}{i}"
        cand, k = name, 1
        while cand in seen:
            cand, k = f"{name}_{k}", k + 1
        seen.add(cand)
        out.append(cand)
    return out


def _error_text(log: str) -> tuple[str, int | None]:
    """The error lines of a HiGHS log, joined, and the line number they cite (LP parser)."""
    lines = [ln.rstrip() for ln in log.splitlines() if ln.strip()]
    errors = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("ERROR:")]
    m = _LOCATION.search(log)
    line = int(m.group(1)) if m else None
    # The LP parser explains itself on the caret line ("  | ^^^ expected ...").
    detail = [ln.split("^", 1)[1].lstrip("^ ").strip() for ln in lines if "|" in ln and "^" in ln]
    parts = errors[:1] + [d for d in detail if d] + errors[1:]
    return "; ".join(dict.fromkeys(p for p in parts if p)), line


def _suffix_for(path: Path, fmt: str | None) -> str | None:
    """The suffix HiGHS needs to read ``path`` as ``fmt`` (None when the name already says it)."""
    if fmt is None:
        return None
    if fmt not in ("lp", "mps"):
        raise ValidationError(f"read_lp reads formats 'lp' and 'mps', not {fmt!r}")
    comp = path.suffix.lower() if path.suffix.lower() in _COMPRESSED else ""
    base = path.with_suffix("") if comp else path
    if base.suffix.lower() == "." + fmt:
        return None
    return "." + fmt + comp


@contextlib.contextmanager
def _named_as(path: Path, suffix: str | None) -> Iterator[Path]:
    """``path``, or a link (a copy where links fail) to it whose name ends in ``suffix``.

    HiGHS picks its parser from the file name, so ``--format lp`` on a file
    named ``model.txt`` reads it through ``<tmp>/model.lp``.
    """
    if suffix is None:
        yield path
        return
    import shutil

    with tempfile.TemporaryDirectory(prefix="qslack_lp_") as tmp:
        alias = Path(tmp) / (_program_name(path) + suffix)
        try:
            os.symlink(path.resolve(), alias)
        except OSError:
            shutil.copyfile(path, alias)
        yield alias


def _read_highs(path: Path, shown: Path | None = None) -> Any:
    import highspy

    shown = path if shown is None else shown
    h = _new_highs()
    fd, log_path = tempfile.mkstemp(prefix="qslack_highs_", suffix=".log")
    os.close(fd)
    try:
        h.setOptionValue("log_file", log_path)
        status = h.readModel(str(path))
        h.setOptionValue("log_file", "")
        log = Path(log_path).read_text(errors="replace")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(log_path)
    if shown != path:
        log = log.replace(str(path), str(shown))
    if status == highspy.HighsStatus.kError:
        text, line = _error_text(log)
        raise ParseError(
            f"HiGHS could not read the model ({text or 'no detail given'})", path=shown, line=line
        )
    notes = [ln.split(":", 1)[1].strip() for ln in log.splitlines() if ln.startswith("WARNING:")]
    if notes or status != highspy.HighsStatus.kOk:
        warnings.warn(
            f"{shown}: HiGHS read the model with warnings: " + ("; ".join(notes) or str(status)),
            FormatWarning,
            stacklevel=3,
        )
    return h


def _dense_matrix(a: Any, m: int, n: int) -> np.ndarray:
    import highspy

    start = np.asarray(a.start_, dtype=np.int64)
    index = np.asarray(a.index_, dtype=np.int64)
    value = np.asarray(a.value_, dtype=np.float64)
    A = np.zeros((m, n))
    fmt = a.format_
    if fmt == highspy.MatrixFormat.kColwise:
        major = np.repeat(np.arange(n), np.diff(start[: n + 1]))
        np.add.at(A, (index[: major.size], major), value[: major.size])
    elif fmt == highspy.MatrixFormat.kRowwise:
        major = np.repeat(np.arange(m), np.diff(start[: m + 1]))
        np.add.at(A, (major, index[: major.size]), value[: major.size])
    else:  # pragma: no cover - getLp returns column-wise matrices
        raise ValidationError(f"unsupported HiGHS matrix format {fmt}")
    return A


def _hessian_q(hess: Any, n: int) -> np.ndarray:
    """``Q`` with ``x'Qx == 0.5 x'Hx`` from a HiGHS Hessian (zeros when there is none)."""
    import highspy

    Q = np.zeros((n, n))
    dim = int(hess.dim_)
    if dim == 0 or len(hess.value_) == 0:
        return Q
    if dim != n:  # pragma: no cover - HiGHS keeps them consistent
        raise ValidationError(f"HiGHS Hessian has dimension {dim}, expected {n}")
    start = np.asarray(hess.start_, dtype=np.int64)
    index = np.asarray(hess.index_, dtype=np.int64)
    value = np.asarray(hess.value_, dtype=np.float64)
    col = np.repeat(np.arange(n), np.diff(start[: n + 1]))
    M = np.zeros((n, n))
    np.add.at(M, (index[: col.size], col), value[: col.size])
    if hess.format_ == highspy.HessianFormat.kTriangular:
        H = M + M.T - np.diag(np.diag(M))  # one triangle held -> full symmetric H
    else:
        H = 0.5 * (M + M.T)
    return 0.5 * H


def read_lp(path: str | Path, *, fmt: str | None = None) -> BinaryProgram:
    """Read a binary program from an LP or MPS file (via HiGHS).

    Parameters
    ----------
    path : str or Path
        ``.lp`` (CPLEX LP format) or ``.mps`` (free or fixed), optionally
        gzip-compressed (``.lp.gz``, ``.mps.gz``).
    fmt : {"lp", "mps"}, optional
        Read the file in this format whatever its name (``--format``);
        default: from the extension.

    Returns
    -------
    BinaryProgram
        Rows in group ``"constraint"`` (plus ``"bound"`` rows for fixed
        variables); ``metadata`` holds ``sense``, ``problem="program"`` and
        ``source`` (the path).  See the module docstring for the conventions.

    Raises
    ------
    ParseError
        The file is missing or HiGHS cannot parse it (its message, and the
        line when HiGHS reports one, are included).
    ValidationError
        A variable is not binary (continuous, general integer, bounds other
        than ``[0, 1]``, ``[0, 0]`` or ``[1, 1]``), or a coefficient is not
        finite.
    """
    import highspy

    path = Path(path)
    if path.is_dir():
        raise ParseError("is a directory, not a file", path=path)
    if not path.is_file():
        raise ParseError("file not found", path=path)
    with _named_as(path, _suffix_for(path, fmt)) as readable:
        h = _read_highs(readable, shown=path)
    lp = h.getLp()
    n, m = int(lp.num_col_), int(lp.num_row_)
    if n == 0:
        raise ParseError("the model has no variables (empty or not an LP/MPS model)", path=path)
    var_names = _unique(list(lp.col_names_) if len(lp.col_names_) == n else [""] * n, "x")
    row_names = list(lp.row_names_) if len(lp.row_names_) == m else [""] * m
    row_names = [str(r).strip() or f"c{k}" for k, r in enumerate(row_names)]

    integrality = list(lp.integrality_)
    lower = np.asarray(lp.col_lower_, dtype=np.float64)
    upper = np.asarray(lp.col_upper_, dtype=np.float64)
    fixed: list[tuple[int, float]] = []
    for j in range(n):
        kind = integrality[j] if integrality else highspy.HighsVarType.kContinuous
        lo, up = lower[j], upper[j]
        if kind != highspy.HighsVarType.kInteger:
            what = str(kind).rsplit(".k", 1)[-1].lower()
            raise ValidationError(
                f"{path}: variable {var_names[j]!r} is {what}; only binary variables are supported"
            )
        if (lo, up) in ((0.0, 0.0), (1.0, 1.0)):
            fixed.append((j, float(lo)))
        elif (lo, up) != (0.0, 1.0):
            raise ValidationError(
                f"{path}: variable {var_names[j]!r} is integer with bounds [{lo:g}, {up:g}]; "
                "only binary variables (bounds [0, 1], or fixed at 0 or 1) are supported"
            )

    A_full = _dense_matrix(lp.a_matrix_, m, n)
    r_lo = np.asarray(lp.row_lower_, dtype=np.float64)
    r_up = np.asarray(lp.row_upper_, dtype=np.float64)
    inf = float(h.getInfinity())
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    senses: list[str] = []
    names: list[str] = []
    groups: list[str] = []

    def emit(a: np.ndarray, bound: float, sense: str, name: str, group: str) -> None:
        rows.append(a)
        rhs.append(bound)
        senses.append(sense)
        names.append(name)
        groups.append(group)

    for k in range(m):
        lo_fin, up_fin = r_lo[k] > -inf, r_up[k] < inf
        a, name = A_full[k], row_names[k]
        if lo_fin and up_fin and r_lo[k] == r_up[k]:
            emit(a, r_up[k], "==", name, "constraint")
            continue
        if up_fin:
            emit(a, r_up[k], "<=", name, "constraint")
        if lo_fin:
            emit(-a, -r_lo[k], "<=", f"{name}_lo" if up_fin else name, "constraint")
    for j, v in fixed:
        e = np.zeros(n)
        e[j] = 1.0
        emit(e, v, "==", f"bound_{var_names[j]}", "bound")

    c = np.asarray(lp.col_cost_, dtype=np.float64)
    Q = _hessian_q(h.getModel().hessian_, n)
    const = float(lp.offset_)
    is_max = lp.sense_ == highspy.ObjSense.kMaximize
    sign = -1.0 if is_max else 1.0
    for arr, what in ((c, "objective"), (Q, "quadratic objective"), (A_full, "constraint matrix")):
        if not np.all(np.isfinite(arr)):
            raise ValidationError(f"{path}: the {what} holds a non-finite coefficient")
    # ``+ 0.0`` turns the -0.0 of negated zeros into 0.0 (fingerprints hash the bytes).
    return BinaryProgram(
        Q=sign * Q + 0.0,
        c=sign * c + 0.0,
        const=sign * const + 0.0,
        A=np.asarray(rows, dtype=np.float64).reshape(-1, n) + 0.0,
        b=np.asarray(rhs, dtype=np.float64) + 0.0,
        sense=tuple(senses),
        var_names=tuple(var_names),
        con_names=tuple(_unique(names, "c")),
        con_groups=tuple(groups),
        name=_program_name(path),
        metadata={"sense": "max" if is_max else "min", "problem": "program", "source": str(path)},
    )
