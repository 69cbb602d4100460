"""Readers for J.E. Beasley's OR-Library multi-dimensional knapsack files.

Two layouts are read, exactly as published:

*Format A* (``mknap1.txt``, ``mknapcb1.txt`` ... ``mknapcb9.txt``)
    One whitespace-separated token stream; line breaks carry no meaning.
    ``K``, then for each problem: ``n m opt`` (``opt`` is 0 when unknown),
    the profits ``p(1..n)``, ``m`` rows of weights ``r(i, 1..n)``, and the
    capacities ``b(1..m)``.

*Format B* (``mknap2.txt``, the SAC-94 set)
    Free text first (including a ``//``-commented example), then each problem
    behind a ``problem NAME.DAT`` marker line placed between ``+++`` lines:
    ``m n`` (constraints first), profits ``p(1..n)``, capacities ``b(1..m)``,
    the ``m x n`` weight matrix row by row, and the optimum.

The problem is always ``max p.x  s.t.  W x <= b,  x in {0, 1}^n``.

``mkcbres.txt`` (shipped as ``best-feasible-slns.txt``) holds the Chu-Beasley
best-known values (first table) and LP bounds (second table) for the
``mknapcb*`` problems; :func:`read_mkcbres` and :func:`mknapcb_best_known`
read it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from qslack.exceptions import ParseError, ValidationError

__all__ = [
    "MKNAPCB_GROUPS",
    "MDKPInstance",
    "list_problems",
    "mknapcb_best_known",
    "read_mdkp",
    "read_mkcbres",
    "read_mknap",
    "read_mknap2",
    "sniff_orlib",
]

#: ``mknapcbN`` file stem -> ``(m, n)`` group of OR-Library's ``mkcbres.txt``
#: (rows ``"{m}.{n}-{k:02d}"``).
MKNAPCB_GROUPS: dict[str, tuple[int, int]] = {
    "mknapcb1": (5, 100),
    "mknapcb2": (5, 250),
    "mknapcb3": (5, 500),
    "mknapcb4": (10, 100),
    "mknapcb5": (10, 250),
    "mknapcb6": (10, 500),
    "mknapcb7": (30, 100),
    "mknapcb8": (30, 250),
    "mknapcb9": (30, 500),
}

# A plain decimal number: no "nan", "inf", hex or "1_000" (which float() takes).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SEPARATOR = re.compile(r"\s*\++\s*")
_MARKER = re.compile(r"\s*problem\s+(\S+)\s*", re.IGNORECASE)
_MKCB_ROW = re.compile(r"\d+\.\d+-\d+")


@dataclass(frozen=True, eq=False)
class MDKPInstance:
    """A 0/1 multi-dimensional knapsack problem ``max p.x, W x <= b``.

    Arrays are converted to float64 and made read-only.

    Parameters
    ----------
    name : str
        Identifier such as ``"mknap1#3"``, ``"mknap2#PB5"`` or ``"mknapcb1#1"``.
    profits : numpy.ndarray
        Shape ``(n,)``.
    weights : numpy.ndarray
        Shape ``(m, n)``; row ``i`` is constraint ``i``.
    capacities : numpy.ndarray
        Shape ``(m,)``.
    optimum : float or None
        Known optimum stated by the file, ``None`` when unknown (0 in the file).
    source : str
        Path of the file read (empty when built in memory).

    Examples
    --------
    >>> inst = MDKPInstance("toy", [3, 4], [[1, 1]], [1], 4.0, "")
    >>> inst.n, inst.m
    (2, 1)
    """

    name: str
    profits: np.ndarray
    weights: np.ndarray
    capacities: np.ndarray
    optimum: float | None
    source: str

    def __post_init__(self) -> None:
        try:
            p = np.array(self.profits, dtype=np.float64)
            w = np.array(self.weights, dtype=np.float64)
            b = np.array(self.capacities, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"MDKPInstance {self.name!r}: non-numeric data ({exc})") from None
        if p.ndim != 1 or p.size == 0:
            raise ValidationError(
                f"MDKPInstance {self.name!r}: profits must be a non-empty 1-D array, "
                f"got shape {p.shape}"
            )
        n = p.size
        if w.ndim != 2 or w.shape[1] != n or w.shape[0] == 0:
            raise ValidationError(
                f"MDKPInstance {self.name!r}: weights must have shape (m, {n}) with m >= 1, "
                f"got {w.shape}"
            )
        if b.shape != (w.shape[0],):
            raise ValidationError(
                f"MDKPInstance {self.name!r}: capacities must have shape ({w.shape[0]},), "
                f"got {b.shape}"
            )
        for label, arr in (("profits", p), ("weights", w), ("capacities", b)):
            if not np.all(np.isfinite(arr)):
                raise ValidationError(f"MDKPInstance {self.name!r}: {label} must be finite")
            arr.setflags(write=False)
        opt = self.optimum
        if opt is not None:
            opt = float(opt)
            if not math.isfinite(opt):
                raise ValidationError(f"MDKPInstance {self.name!r}: optimum must be finite")
        object.__setattr__(self, "profits", p)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "capacities", b)
        object.__setattr__(self, "optimum", opt)
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "source", str(self.source))

    @property
    def n(self) -> int:
        """Number of items (variables)."""
        return int(self.profits.size)

    @property
    def m(self) -> int:
        """Number of knapsack constraints."""
        return int(self.capacities.size)

    def take(self, k: int) -> MDKPInstance:
        """Keep the first ``k`` items, scaling the capacities down.

        Capacity ``i`` becomes ``floor(b_i * s_i(k) / s_i(n))`` where ``s_i(k)``
        is the sum of row ``i``'s weights over the first ``k`` items (computed
        exactly in rational arithmetic on the stored floats).  A row whose
        weights sum to zero keeps ``floor(b_i)``.  The optimum of the
        sub-problem is unknown, so it is ``None``.

        Parameters
        ----------
        k : int
            Number of leading items to keep, ``1 <= k <= n``.

        Returns
        -------
        MDKPInstance
            Named ``f"{name}[:{k}]"``, same ``source``.

        Examples
        --------
        >>> inst = MDKPInstance("toy", [1, 2, 3, 4], [[1, 1, 1, 1]], [3], None, "")
        >>> sub = inst.take(2)
        >>> sub.name, sub.capacities.tolist(), sub.optimum
        ('toy[:2]', [1.0], None)
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValidationError(f"take(k): k must be an integer, got {k!r}")
        k = int(k)
        if not 1 <= k <= self.n:
            raise ValidationError(f"take(k): k must be in 1..{self.n}, got {k}")
        caps = []
        for i in range(self.m):
            total = sum((Fraction(float(x)) for x in self.weights[i]), Fraction(0))
            kept = sum((Fraction(float(x)) for x in self.weights[i, :k]), Fraction(0))
            b = Fraction(float(self.capacities[i]))
            caps.append(float(math.floor(b if total == 0 else b * kept / total)))
        return MDKPInstance(
            name=f"{self.name}[:{k}]",
            profits=self.profits[:k].copy(),
            weights=self.weights[:, :k].copy(),
            capacities=np.array(caps),
            optimum=None,
            source=self.source,
        )


# --------------------------------------------------------------------------- helpers


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not a text file ({exc.reason} at byte {exc.start})", path=path) from None
    except IsADirectoryError:
        raise ParseError("is a directory, not a file", path=path) from None
    except FileNotFoundError:
        raise ParseError("file not found", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read ({(exc.strerror or type(exc).__name__).lower()})", path=path) from None


def _tokens(lines: list[str], first_line: int = 1) -> list[tuple[str, int]]:
    """Whitespace tokens of ``lines`` with their 1-based line numbers."""
    out = []
    for no, line in enumerate(lines, start=first_line):
        out.extend((tok, no) for tok in line.split())
    return out


def _number(tok: str, line: int, path: str | Path | None, what: str) -> float:
    if not _NUMBER.fullmatch(tok):
        raise ParseError(f"non-numeric token in {what}", path=path, line=line, token=tok)
    return float(tok)


def _count(tok: str, line: int, path: str | Path | None, what: str) -> int:
    value = _number(tok, line, path, what)
    if value != int(value) or value < 1:
        raise ParseError(f"{what} must be a positive integer", path=path, line=line, token=tok)
    return int(value)


def _optimum(value: float) -> float | None:
    return None if value == 0 else value


# --------------------------------------------------------------------------- Format A


@dataclass(frozen=True)
class _ProblemA:
    n: int
    m: int
    start: int  # index of the first profit token
    opt: float


def _scan_format_a(toks: list[tuple[str, int]], path: str | Path | None) -> list[_ProblemA]:
    """Walk a Format A token stream, checking every problem's token count."""
    if not toks:
        raise ParseError("empty file: expected the number of problems K", path=path)
    k_tok, k_line = toks[0]
    n_problems = _count(k_tok, k_line, path, "number of problems K")
    problems = []
    pos = 1
    for idx in range(1, n_problems + 1):
        if pos + 3 > len(toks):
            last = toks[-1][1]
            raise ParseError(
                f"problem {idx} of {n_problems}: expected the header 'n m opt' but the file ends",
                path=path,
                line=last,
            )
        (nt, nl), (mt, ml), (ot, ol) = toks[pos : pos + 3]
        n = _count(nt, nl, path, f"problem {idx}: number of items n")
        m = _count(mt, ml, path, f"problem {idx}: number of constraints m")
        opt = _number(ot, ol, path, f"problem {idx}: optimum")
        body = n + m * n + m
        start = pos + 3
        if start + body > len(toks):
            have = len(toks) - start
            raise ParseError(
                f"problem {idx} of {n_problems} is truncated: n={n}, m={m} needs "
                f"{body} numbers after its header (n profits + m*n weights + m capacities) "
                f"but only {have} remain",
                path=path,
                line=toks[-1][1],
            )
        for tok, line in toks[start : start + body]:
            _number(tok, line, path, f"problem {idx}")
        problems.append(_ProblemA(n=n, m=m, start=start, opt=opt))
        pos = start + body
    if pos != len(toks):
        tok, line = toks[pos]
        raise ParseError(
            f"{len(toks) - pos} extra token(s) after the {n_problems} declared problems",
            path=path,
            line=line,
            token=tok,
        )
    return problems


def _build_a(toks: list[tuple[str, int]], prob: _ProblemA, name: str, source: str) -> MDKPInstance:
    n, m = prob.n, prob.m
    vals = np.array([float(t) for t, _ in toks[prob.start : prob.start + n + m * n + m]])
    return MDKPInstance(
        name=name,
        profits=vals[:n],
        weights=vals[n : n + m * n].reshape(m, n),
        capacities=vals[n + m * n :],
        optimum=_optimum(prob.opt),
        source=source,
    )


def _index(key: int, count: int, path: str | Path, names: list[str] | None = None) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise ValidationError(f"problem index must be an integer, got {key!r}")
    if not 1 <= int(key) <= count:
        listing = f": {', '.join(names)}" if names else ""
        raise ValidationError(
            f"{path}: problem index {int(key)} out of range; the file holds {count} "
            f"problem(s), numbered 1..{count}{listing}"
        )
    return int(key)


def read_mknap(path: str | Path, index: int) -> MDKPInstance:
    """Read problem ``index`` (1-based) of a Format A file (mknap1, mknapcb*).

    The whole token stream is checked: every problem must have exactly
    ``3 + n + m*n + m`` numbers and nothing may follow the last one.

    Parameters
    ----------
    path : str or Path
        The file.
    index : int
        1-based problem number.

    Returns
    -------
    MDKPInstance
        Named ``f"{stem}#{index}"``; ``optimum`` is ``None`` when the file
        says 0 (the mknapcb files: see :func:`mknapcb_best_known`).

    Raises
    ------
    ParseError
        Truncated file, non-numeric token (with line and token), extra tokens.
    ValidationError
        ``index`` out of range (the message says how many problems exist).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.txt"
    >>> _ = f.write_text("1\\n2 1 5\\n3 4\\n1 1\\n1\\n")
    >>> inst = read_mknap(f, 1)
    >>> inst.name, inst.n, inst.m, inst.optimum
    ('tiny#1', 2, 1, 5.0)
    """
    toks = _tokens(_read_text(path).split("\n"))
    problems = _scan_format_a(toks, path)
    idx = _index(index, len(problems), path)
    return _build_a(toks, problems[idx - 1], f"{Path(path).stem}#{idx}", str(path))


# --------------------------------------------------------------------------- Format B


@dataclass(frozen=True)
class _ProblemB:
    name: str
    toks: list[tuple[str, int]]
    line: int  # line of the marker


def _is_separator(line: str) -> bool:
    return bool(_SEPARATOR.fullmatch(line)) and "+" in line


def _markers(lines: list[str]) -> list[tuple[int, str]]:
    """``(line index, NAME)`` of every ``problem NAME.DAT`` marker.

    A marker is a line of exactly two tokens, ``problem`` and the name, whose
    previous non-blank line is a ``+++`` separator.
    """
    out = []
    prev = ""
    for i, line in enumerate(lines):
        mo = _MARKER.fullmatch(line)
        if mo and _is_separator(prev):
            name = mo.group(1)
            if name.upper().endswith(".DAT"):
                name = name[:-4]
            out.append((i, name))
        if line.strip():
            prev = line
    return out


def _split_format_b(text: str, path: str | Path | None) -> list[_ProblemB]:
    lines = text.split("\n")
    marks = _markers(lines)
    if not marks:
        raise ParseError("no SAC-94 'problem NAME.DAT' marker found", path=path)
    problems = []
    seen: dict[str, int] = {}
    for j, (i, name) in enumerate(marks):
        end = marks[j + 1][0] if j + 1 < len(marks) else len(lines)
        body = []
        for line in lines[i + 1 : end]:
            if _is_separator(line):
                body.append("")
                continue
            body.append(line.split("//", 1)[0])
        key = name.upper()
        if key in seen:
            raise ParseError(
                f"problem {name!r} appears twice (first at line {seen[key]})",
                path=path,
                line=i + 1,
            )
        seen[key] = i + 1
        problems.append(_ProblemB(name=name, toks=_tokens(body, first_line=i + 2), line=i + 1))
    return problems


def _build_b(prob: _ProblemB, path: str | Path, stem: str) -> MDKPInstance:
    toks = prob.toks
    where = f"problem {prob.name}"
    if len(toks) < 2:
        raise ParseError(f"{where}: expected 'm n' after the marker", path=path, line=prob.line)
    m = _count(toks[0][0], toks[0][1], path, f"{where}: number of constraints m")
    n = _count(toks[1][0], toks[1][1], path, f"{where}: number of items n")
    need = 2 + n + m + m * n + 1
    if len(toks) != need:
        line = toks[need][1] if len(toks) > need else toks[-1][1]
        token = toks[need][0] if len(toks) > need else None
        raise ParseError(
            f"{where}: m={m}, n={n} needs {need} numbers (m n, {n} profits, {m} capacities, "
            f"{m}x{n} weights, optimum) but the section has {len(toks)}",
            path=path,
            line=line,
            token=token,
        )
    vals = np.array([_number(t, ln, path, where) for t, ln in toks[2:]])
    return MDKPInstance(
        name=f"{stem}#{prob.name}",
        profits=vals[:n],
        capacities=vals[n : n + m],
        weights=vals[n + m : n + m + m * n].reshape(m, n),
        optimum=_optimum(float(vals[-1])),
        source=str(path),
    )


def _normalise_name(key: str) -> str:
    key = key.strip().upper()
    return key.removesuffix(".DAT")


def read_mknap2(path: str | Path, key: int | str) -> MDKPInstance:
    """Read one problem of a Format B (SAC-94, ``mknap2.txt``) file.

    Parsing starts at the first ``problem NAME.DAT`` marker; the free-text
    header (with its ``//``-commented example) is ignored.  Every section of
    the file (not only the one asked for) must hold exactly
    ``2 + n + m + m*n + 1`` numbers.

    Parameters
    ----------
    path : str or Path
        The file.
    key : int or str
        1-based problem index, or the problem name in any case, with or
        without ``.DAT`` (``"PB5"``, ``"pb5"``, ``"PB5.DAT"``).  A string of
        digits that is not a name is taken as an index.

    Returns
    -------
    MDKPInstance
        Named ``f"{stem}#{NAME}"``, e.g. ``"mknap2#PB5"``.

    Raises
    ------
    ParseError
        No markers, wrong number count in a section, non-numeric token.
    ValidationError
        Unknown name (the message lists the available names) or index out of
        range.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "sac.txt"
    >>> _ = f.write_text("+++\\nproblem TOY.DAT\\n+++\\n1 2\\n3 4\\n1\\n1 1\\n4\\n")
    >>> inst = read_mknap2(f, "toy")
    >>> inst.name, inst.m, inst.n, inst.optimum
    ('sac#TOY', 1, 2, 4.0)
    """
    problems = _load_b(_read_text(path), path)
    names = [p.name.split("#", 1)[1] for p in problems]
    if isinstance(key, str):
        wanted = _normalise_name(key)
        for name, prob in zip(names, problems, strict=True):
            if name.upper() == wanted:
                return prob
        if not wanted.isdigit():
            raise ValidationError(
                f"{path}: no problem named {key!r}; available: {', '.join(names)}"
            )
        key = int(wanted)
    idx = _index(key, len(problems), path, names)
    return problems[idx - 1]


def _load_b(text: str, path: str | Path) -> list[MDKPInstance]:
    """Every problem of a Format B file (all sections are checked)."""
    stem = Path(path).stem
    return [_build_b(prob, path, stem) for prob in _split_format_b(text, path)]


# --------------------------------------------------------------------------- dispatch


def sniff_orlib(text: str) -> str | None:
    """Guess the OR-Library layout of ``text``.

    Parameters
    ----------
    text : str
        File contents.

    Returns
    -------
    str or None
        ``"mknap2"`` if the text has SAC-94 ``problem NAME.DAT`` markers after
        ``+++`` lines; ``"mknap"`` if it is a numeric token stream ``K``, then
        ``K`` problems ``n m opt ...`` whose token counts add up exactly;
        ``None`` otherwise.

    Examples
    --------
    >>> sniff_orlib("1\\n2 1 5\\n3 4\\n1 1\\n1\\n")
    'mknap'
    >>> sniff_orlib("1\\n2 1 5\\n3 4\\n1 1\\n") is None
    True
    """
    lines = text.split("\n")
    if _markers(lines):
        return "mknap2"
    try:
        _scan_format_a(_tokens(lines), None)
    except ParseError:
        return None
    return "mknap"


def _format_of(path: str | Path, text: str, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("mknap", "mknap2"):
            raise ValidationError(f"fmt must be None, 'mknap' or 'mknap2', got {fmt!r}")
        return fmt
    if _markers(text.split("\n")):
        return "mknap2"
    first = text.split(maxsplit=1)
    if not first or not _NUMBER.fullmatch(first[0]):
        raise ParseError(
            "not an OR-Library knapsack file (no SAC-94 'problem' markers and "
            "no numeric token stream)",
            path=path,
        )
    # Numeric stream: Format A; its own checks give the precise error if any.
    return "mknap"


def list_problems(path: str | Path) -> list[str]:
    """Names of the problems in a multi-problem OR-Library file.

    Parameters
    ----------
    path : str or Path
        A Format A or Format B file.

    Returns
    -------
    list of str
        ``["1", "2", ...]`` for Format A, ``["SENTO1", "SENTO2", ...]`` for
        Format B.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.txt"
    >>> _ = f.write_text("2\\n1 1 0\\n5\\n1\\n1\\n1 1 0\\n6\\n1\\n1\\n")
    >>> list_problems(f)
    ['1', '2']
    """
    text = _read_text(path)
    if _format_of(path, text, None) == "mknap2":
        return [p.name.split("#", 1)[1] for p in _load_b(text, path)]
    problems = _scan_format_a(_tokens(text.split("\n")), path)
    return [str(i) for i in range(1, len(problems) + 1)]


def read_mdkp(path: str | Path, key: int | str, *, fmt: str | None = None) -> MDKPInstance:
    """Read one problem from an OR-Library MDKP file of either layout.

    Parameters
    ----------
    path : str or Path
        The file.
    key : int or str
        Problem index (1-based) or, for Format B, name.  For Format A a
        string of digits is accepted (the names of :func:`list_problems`).
    fmt : {None, "mknap", "mknap2"}
        Layout; ``None`` detects it from the content.

    Returns
    -------
    MDKPInstance

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.txt"
    >>> _ = f.write_text("1\\n2 1 5\\n3 4\\n1 1\\n1\\n")
    >>> read_mdkp(f, "1").profits.tolist()
    [3.0, 4.0]
    """
    text = _read_text(path)
    if _format_of(path, text, fmt) == "mknap2":
        return read_mknap2(path, key)
    if isinstance(key, str):
        if not key.strip().isdigit():
            raise ValidationError(f"{path}: Format A problems are numbered; got key {key!r}")
        key = int(key)
    return read_mknap(path, key)


# --------------------------------------------------------------------------- mkcbres


def read_mkcbres(path: str | Path) -> dict[str, dict[str, float]]:
    """Read OR-Library's ``mkcbres.txt`` (best-known values and LP bounds).

    The file has a best-known table (header ``Problem Name  Best Feasible
    Solution Value``) followed by an LP table (header ``Problem Name  LP
    optimal``); rows read ``m.n-kk value``.

    Parameters
    ----------
    path : str or Path
        The file (shipped as ``best-feasible-slns.txt``).

    Returns
    -------
    dict
        ``{"5.100-00": {"best": 24381.0, "lp": 24585.902722}, ...}``; a row
        present in one table only has only that key.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "res.txt"
    >>> _ = f.write_text("Problem Name  Best Feasible\\n5.100-00 10\\n"
    ...                  "Problem Name  LP optimal\\n5.100-00 1.2e1\\n")
    >>> read_mkcbres(f)
    {'5.100-00': {'best': 10.0, 'lp': 12.0}}
    """
    out: dict[str, dict[str, float]] = {}
    table: str | None = None
    for no, line in enumerate(_read_text(path).split("\n"), start=1):
        toks = line.split()
        if not toks:
            continue
        low = line.lower()
        if low.lstrip().startswith("problem name"):
            if "lp" in low.split():
                table = "lp"
            elif "best" in low:
                table = "best"
            else:
                raise ParseError("unknown table header", path=path, line=no, token=line.strip())
            continue
        if not _MKCB_ROW.fullmatch(toks[0]):
            continue  # free text
        if table is None:
            raise ParseError("result row before any table header", path=path, line=no)
        if len(toks) != 2:
            raise ParseError("expected 'name value'", path=path, line=no, token=line.strip())
        value = _number(toks[1], no, path, f"row {toks[0]}")
        row = out.setdefault(toks[0], {})
        if table in row:
            raise ParseError(f"row {toks[0]} repeated in the {table} table", path=path, line=no)
        row[table] = value
    if not out:
        raise ParseError("no result rows found", path=path)
    return out


def mknapcb_best_known(
    path: str | Path, file_stem: str = "mknapcb1", index: int | None = None
) -> float:
    """Best-known value of problem ``index`` of ``mknapcbN`` from ``mkcbres.txt``.

    ``mknapcbN`` problem ``k`` (1-based) is row ``f"{m}.{n}-{k-1:02d}"``, with
    ``(m, n)`` from :data:`MKNAPCB_GROUPS` (cb1 = 5.100, ..., cb9 = 30.500).

    Parameters
    ----------
    path : str or Path
        ``mkcbres.txt`` / ``best-feasible-slns.txt``.
    file_stem : str
        ``"mknapcb1"`` ... ``"mknapcb9"`` (a file name such as
        ``"mknapcb1.txt"`` is accepted too).
    index : int
        1-based problem number, 1..30.

    Returns
    -------
    float

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "res.txt"
    >>> _ = f.write_text("Problem Name  Best Feasible\\n5.100-00 24381\\n")
    >>> mknapcb_best_known(f, "mknapcb1", 1)
    24381.0
    """
    stem = Path(str(file_stem)).stem.lower()
    if stem not in MKNAPCB_GROUPS:
        raise ValidationError(
            f"unknown mknapcb file {file_stem!r}; expected one of {', '.join(MKNAPCB_GROUPS)}"
        )
    if index is None:
        raise ValidationError("mknapcb_best_known: index (1-based problem number) is required")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 1:
        raise ValidationError(f"index must be a positive integer, got {index!r}")
    m, n = MKNAPCB_GROUPS[stem]
    row = f"{m}.{n}-{int(index) - 1:02d}"
    table = read_mkcbres(path)
    if row not in table or "best" not in table[row]:
        raise ValidationError(f"{path}: no best-known value for row {row} ({stem} #{index})")
    return table[row]["best"]
