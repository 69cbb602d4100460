"""Readers for symmetric TSP instances: TSPLIB95 files and plain distance matrices.

TSPLIB95 (G. Reinelt, Heidelberg) files are read to the letter of the format
description:

* A *specification part* of ``KEY : value`` lines (the colon may or may not be
  surrounded by spaces): ``NAME``, ``TYPE``, ``COMMENT`` (may repeat; the
  values are joined with newlines), ``DIMENSION``, ``CAPACITY`` (ignored),
  ``EDGE_WEIGHT_TYPE``, ``EDGE_WEIGHT_FORMAT``, ``EDGE_DATA_FORMAT``
  (unsupported), ``NODE_COORD_TYPE`` and ``DISPLAY_DATA_TYPE``.
* A *data part* of sections: ``NODE_COORD_SECTION`` (``id x y`` lines, every id
  in ``1..DIMENSION`` exactly once), ``EDGE_WEIGHT_SECTION`` (numbers in
  ``EDGE_WEIGHT_FORMAT`` order, wrapped freely across lines, read token by
  token), ``DISPLAY_DATA_SECTION`` (drawing coordinates only, never used for
  distances), ``TOUR_SECTION`` (tour files) and an optional final ``EOF``.

Distances are integers computed exactly as TSPLIB's reference code does
(``nint(x) = (int)(x + 0.5)``; ``GEO`` with ``PI = 3.141592``,
``RRR = 6378.388`` and degrees truncated toward zero). Diagonal entries of
explicit matrices are meaningless for the TSP and are set to zero.

Any departure from the format raises :class:`~qslack.exceptions.ParseError`
naming the file, the 1-based line and, where there is one, the offending token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from qslack.exceptions import ParseError, ResourceError, ValidationError

__all__ = [
    "EDGE_WEIGHT_FORMATS",
    "EDGE_WEIGHT_TYPES",
    "TSPInstance",
    "distance_matrix",
    "looks_like_matrix",
    "looks_like_tsplib",
    "read_distance_matrix",
    "read_tour",
    "read_tsplib",
    "tsplib_distance",
    "write_tour",
]

#: Coordinate-based ``EDGE_WEIGHT_TYPE`` values this module computes, with the
#: number of coordinates per node each one needs.
EDGE_WEIGHT_TYPES: dict[str, int] = {
    "EUC_2D": 2,
    "EUC_3D": 3,
    "MAX_2D": 2,
    "MAX_3D": 3,
    "MAN_2D": 2,
    "MAN_3D": 3,
    "CEIL_2D": 2,
    "GEO": 2,
    "ATT": 2,
}

#: ``EDGE_WEIGHT_FORMAT`` values for ``EDGE_WEIGHT_TYPE: EXPLICIT``.
EDGE_WEIGHT_FORMATS: tuple[str, ...] = (
    "FULL_MATRIX",
    "UPPER_ROW",
    "LOWER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_COL",
    "LOWER_COL",
    "UPPER_DIAG_COL",
    "LOWER_DIAG_COL",
)

# TSPLIB's constants for GEO distances (not math.pi: the optima depend on it).
_GEO_PI = 3.141592
_GEO_RRR = 6378.388

_HEADER_KEYS = frozenset(
    {
        "NAME",
        "TYPE",
        "COMMENT",
        "DIMENSION",
        "CAPACITY",
        "EDGE_WEIGHT_TYPE",
        "EDGE_WEIGHT_FORMAT",
        "EDGE_DATA_FORMAT",
        "NODE_COORD_TYPE",
        "DISPLAY_DATA_TYPE",
    }
)
_SECTION_KEYS = frozenset(
    {
        "NODE_COORD_SECTION",
        "DEPOT_SECTION",
        "DEMAND_SECTION",
        "EDGE_DATA_SECTION",
        "FIXED_EDGES_SECTION",
        "DISPLAY_DATA_SECTION",
        "TOUR_SECTION",
        "EDGE_WEIGHT_SECTION",
    }
)
_KEYWORDS = _HEADER_KEYS | _SECTION_KEYS | {"EOF"}
_PROBLEM_TYPES = frozenset({"TSP", "ATSP", "SOP", "HCP", "CVRP", "TOUR"})
_ALL_WEIGHT_TYPES = frozenset(EDGE_WEIGHT_TYPES) | {"EXPLICIT", "XRAY1", "XRAY2", "SPECIAL"}
_NODE_COORD_TYPES = {"TWOD_COORDS": 2, "THREED_COORDS": 3, "NO_COORDS": 0}
_DISPLAY_DATA_TYPES = frozenset({"COORD_DISPLAY", "TWOD_DISPLAY", "NO_DISPLAY"})

# A plain decimal number: no "nan", "inf", hex or "1_000" (which float() takes).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_KEYWORD_LINE = re.compile(r"([A-Za-z_][^\s:]*)\s*(:?)\s*(.*)", re.DOTALL)

# Largest dense distance matrix built (bytes of float64).
_MAX_DENSE_BYTES = 2 * 1024**3


# --------------------------------------------------------------------------- #
# the instance
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class TSPInstance:
    """A symmetric travelling-salesman instance with a dense distance matrix.

    ``dist`` is copied to a read-only float64 array; it must be square,
    finite, exactly symmetric and have a zero diagonal.

    Parameters
    ----------
    name : str
        The file's ``NAME`` field, or the file stem.
    dist : numpy.ndarray
        ``(n, n)`` distances; integer-valued for TSPLIB's distance functions.
    coords : numpy.ndarray or None
        ``(n, 2)`` (``(n, 3)`` for ``*_3D`` types) node coordinates from
        ``NODE_COORD_SECTION``; else ``DISPLAY_DATA_SECTION`` coordinates;
        else None.
    edge_weight_type : str
        ``"EUC_2D"``, ``"CEIL_2D"``, ``"ATT"``, ``"GEO"``, ``"EXPLICIT"``, ...,
        or ``"MATRIX"`` for a plain matrix file.
    edge_weight_format : str or None
        ``EDGE_WEIGHT_FORMAT`` (``"FUNCTION"``, ``"FULL_MATRIX"``, ...) if given.
    comment : str
        ``COMMENT`` lines joined with newlines.
    source : str
        The path the instance was read from, as given.

    Examples
    --------
    >>> import numpy as np
    >>> inst = TSPInstance("sq", np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]]))
    >>> inst.n, inst.tour_length([0, 2, 1])
    (3, 4.0)
    """

    name: str
    dist: np.ndarray
    coords: np.ndarray | None = None
    edge_weight_type: str = "MATRIX"
    edge_weight_format: str | None = None
    comment: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        dist = np.array(self.dist, dtype=np.float64, copy=True)
        if dist.ndim != 2 or dist.shape[0] != dist.shape[1] or dist.shape[0] < 1:
            raise ValidationError(f"dist must be a non-empty square matrix, got shape {dist.shape}")
        if not np.all(np.isfinite(dist)):
            raise ValidationError("dist has non-finite entries")
        if np.any(np.diag(dist) != 0):
            raise ValidationError("dist must have a zero diagonal")
        if not np.array_equal(dist, dist.T):
            i, j = np.argwhere(dist != dist.T)[0]
            raise ValidationError(
                f"dist is not symmetric: dist[{i}, {j}] = {dist[i, j]:g} "
                f"but dist[{j}, {i}] = {dist[j, i]:g}"
            )
        dist.setflags(write=False)
        object.__setattr__(self, "dist", dist)
        if self.coords is not None:
            coords = np.array(self.coords, dtype=np.float64, copy=True)
            if (
                coords.ndim != 2
                or coords.shape[0] != dist.shape[0]
                or coords.shape[1] not in (2, 3)
            ):
                raise ValidationError(
                    f"coords must have shape ({dist.shape[0]}, 2) or ({dist.shape[0]}, 3), "
                    f"got {coords.shape}"
                )
            coords.setflags(write=False)
            object.__setattr__(self, "coords", coords)

    def __repr__(self) -> str:
        fmt = f", edge_weight_format={self.edge_weight_format!r}" if self.edge_weight_format else ""
        return (
            f"TSPInstance(name={self.name!r}, n={self.n}, "
            f"edge_weight_type={self.edge_weight_type!r}{fmt})"
        )

    @property
    def n(self) -> int:
        """Number of cities.

        Examples
        --------
        >>> TSPInstance("two", [[0, 5], [5, 0]]).n
        2
        """
        return int(self.dist.shape[0])

    def tour_length(self, tour: Sequence[int]) -> float:
        """Length of the closed tour visiting ``tour`` in order and returning.

        Parameters
        ----------
        tour : sequence of int
            A permutation of the 0-based city ids ``0 .. n-1``.

        Returns
        -------
        float
            ``sum(dist[tour[i], tour[i+1]]) + dist[tour[-1], tour[0]]``.

        Raises
        ------
        ValidationError
            If ``tour`` is not a permutation of ``range(n)``.

        Examples
        --------
        >>> inst = TSPInstance("sq", [[0, 1, 2], [1, 0, 1], [2, 1, 0]])
        >>> inst.tour_length([0, 1, 2])
        4.0
        """
        t = _as_permutation(tour, self.n)
        return float(self.dist[t, np.roll(t, -1)].sum())

    def take(self, k: int) -> TSPInstance:
        """The sub-instance on the first ``k`` cities (same distance function).

        Parameters
        ----------
        k : int
            Number of cities kept, ``3 <= k <= n``.

        Returns
        -------
        TSPInstance
            Named ``f"{name}[:{k}]"``, with ``dist[:k, :k]`` and ``coords[:k]``.

        Raises
        ------
        ValidationError
            If ``k < 3`` or ``k > n``.

        Examples
        --------
        >>> inst = TSPInstance("sq", 1 - np.eye(4))
        >>> inst.take(3).name, inst.take(3).n
        ('sq[:3]', 3)
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValidationError(f"k must be an integer, got {k!r}")
        if k < 3 or k > self.n:
            raise ValidationError(f"k must satisfy 3 <= k <= n = {self.n}, got {k}")
        k = int(k)
        return TSPInstance(
            name=f"{self.name}[:{k}]",
            dist=self.dist[:k, :k],
            coords=None if self.coords is None else self.coords[:k],
            edge_weight_type=self.edge_weight_type,
            edge_weight_format=self.edge_weight_format,
            comment=self.comment,
            source=self.source,
        )


def _as_permutation(tour: Sequence[int], n: int) -> np.ndarray:
    """Check that ``tour`` is a permutation of ``range(n)``; return it as int64."""
    arr = np.asarray(tour)
    if (
        arr.ndim != 1
        or arr.dtype == bool
        or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0)
    ):
        raise ValidationError(f"a tour must be a 1-D sequence of integers, got {tour!r}")
    arr = arr.astype(np.int64)
    if arr.size != n or np.any(arr < 0) or np.any(arr >= n) or np.unique(arr).size != n:
        raise ValidationError(f"a tour must be a permutation of 0..{n - 1}, got {arr.tolist()}")
    return arr


# --------------------------------------------------------------------------- #
# distance functions
# --------------------------------------------------------------------------- #
def _nint(x: np.ndarray) -> np.ndarray:
    """TSPLIB's ``nint(x) = (int)(x + 0.5)`` for ``x >= 0``."""
    return np.floor(x + 0.5)


def _geo_radians(v: np.ndarray) -> np.ndarray:
    """TSPLIB's DDD.MM -> radians: ``deg = (int) x; min = x - deg``."""
    deg = np.trunc(v)
    minutes = v - deg
    return _GEO_PI * (deg + 5.0 * minutes / 3.0) / 180.0


def tsplib_distance(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TSPLIB distance between points ``a`` and ``b`` (broadcast over leading axes).

    Parameters
    ----------
    kind : str
        An ``EDGE_WEIGHT_TYPE``: ``"EUC_2D"``, ``"EUC_3D"``, ``"MAX_2D"``,
        ``"MAX_3D"``, ``"MAN_2D"``, ``"MAN_3D"``, ``"CEIL_2D"``, ``"GEO"`` or
        ``"ATT"``.
    a, b : numpy.ndarray
        Points, shape ``(..., 2)`` (``(..., 3)`` for ``*_3D``). For ``GEO`` the
        coordinates are latitude and longitude in TSPLIB's ``DDD.MM`` form.

    Returns
    -------
    numpy.ndarray
        Integer-valued float64 distances, shape ``broadcast(a, b)[:-1]``.
        ``GEO`` gives 1, not 0, for two identical points, as TSPLIB's code does.

    Raises
    ------
    ValidationError
        For an unknown ``kind`` or points of the wrong dimension.

    Examples
    --------
    >>> float(tsplib_distance("EUC_2D", np.array([0.0, 0.0]), np.array([3.0, 4.4])))
    5.0
    >>> float(tsplib_distance("CEIL_2D", np.array([0.0, 0.0]), np.array([3.0, 4.1])))
    6.0
    """
    if kind not in EDGE_WEIGHT_TYPES:
        raise ValidationError(
            f"unknown distance kind {kind!r}; expected one of {sorted(EDGE_WEIGHT_TYPES)}"
        )
    dim = EDGE_WEIGHT_TYPES[kind]
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-1:] != (dim,) or b.shape[-1:] != (dim,):
        raise ValidationError(
            f"{kind} needs points with {dim} coordinates, got shapes {a.shape} and {b.shape}"
        )
    if kind == "GEO":
        lat_a, lon_a = _geo_radians(a[..., 0]), _geo_radians(a[..., 1])
        lat_b, lon_b = _geo_radians(b[..., 0]), _geo_radians(b[..., 1])
        q1 = np.cos(lon_a - lon_b)
        q2 = np.cos(lat_a - lat_b)
        q3 = np.cos(lat_a + lat_b)
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        return np.trunc(_GEO_RRR * np.arccos(arg) + 1.0)
    diff = a - b
    if kind in ("EUC_2D", "EUC_3D"):
        return _nint(np.sqrt(np.sum(diff * diff, axis=-1)))
    if kind == "CEIL_2D":
        return np.ceil(np.sqrt(np.sum(diff * diff, axis=-1)))
    if kind in ("MAN_2D", "MAN_3D"):
        return _nint(np.sum(np.abs(diff), axis=-1))
    if kind in ("MAX_2D", "MAX_3D"):
        return np.max(_nint(np.abs(diff)), axis=-1)
    # ATT (pseudo-Euclidean)
    r = np.sqrt(np.sum(diff * diff, axis=-1) / 10.0)
    t = _nint(r)
    return np.where(t < r, t + 1.0, t)


def distance_matrix(coords: np.ndarray, kind: str) -> np.ndarray:
    """Full TSPLIB distance matrix of a set of nodes.

    Parameters
    ----------
    coords : numpy.ndarray
        ``(n, 2)`` node coordinates (``(n, 3)`` for ``*_3D`` kinds).
    kind : str
        An ``EDGE_WEIGHT_TYPE`` accepted by :func:`tsplib_distance`.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64, exactly symmetric (the upper triangle is mirrored),
        zero diagonal.

    Raises
    ------
    ValidationError
        For an unknown ``kind`` or coordinates of the wrong shape.
    ResourceError
        If the dense matrix would exceed 2 GiB.

    Examples
    --------
    >>> distance_matrix(np.array([[0, 0], [3, 4], [6, 8]]), "EUC_2D")
    array([[ 0.,  5., 10.],
           [ 5.,  0.,  5.],
           [10.,  5.,  0.]])
    """
    coords = np.asarray(coords, dtype=np.float64)
    if kind not in EDGE_WEIGHT_TYPES:
        raise ValidationError(
            f"unknown distance kind {kind!r}; expected one of {sorted(EDGE_WEIGHT_TYPES)}"
        )
    dim = EDGE_WEIGHT_TYPES[kind]
    if coords.ndim != 2 or coords.shape[1] != dim:
        raise ValidationError(f"{kind} needs coordinates of shape (n, {dim}), got {coords.shape}")
    n = coords.shape[0]
    _check_dense_size(n)
    dist = np.empty((n, n), dtype=np.float64)
    block = 512
    for start in range(0, n, block):
        stop = min(n, start + block)
        dist[start:stop] = tsplib_distance(kind, coords[start:stop, None, :], coords[None, :, :])
    upper = np.triu(dist, 1)
    return upper + upper.T


def _check_dense_size(n: int) -> None:
    if n * n * 8 > _MAX_DENSE_BYTES:
        raise ResourceError(
            f"a dense {n} x {n} distance matrix needs {n * n * 8 / 1024**3:.1f} GiB "
            f"(limit {_MAX_DENSE_BYTES / 1024**3:.0f} GiB)"
        )


# --------------------------------------------------------------------------- #
# EDGE_WEIGHT_FORMAT layouts
# --------------------------------------------------------------------------- #
def _format_indices(fmt: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column (0-based) of each number of an ``EDGE_WEIGHT_SECTION``, in order.

    ``*_ROW`` formats run row by row, ``*_COL`` formats column by column;
    ``UPPER`` holds ``i < j`` (``i <= j`` with ``DIAG``), ``LOWER`` holds
    ``i > j`` (``i >= j``); within a row or a column the other index increases.
    Reading a triangle column by column is reading the transposed triangle row
    by row, so ``UPPER_COL`` has the layout of ``LOWER_ROW`` (and ``LOWER_COL``
    of ``UPPER_ROW``, ``UPPER_DIAG_COL`` of ``LOWER_DIAG_ROW``, ``LOWER_DIAG_COL``
    of ``UPPER_DIAG_ROW``) with rows and columns swapped.
    """
    if fmt == "FULL_MATRIX":
        rows, cols = np.divmod(np.arange(n * n, dtype=np.int64), n)
        return rows, cols
    triangle, _, order = fmt.rpartition("_")  # e.g. ("UPPER_DIAG", "_", "COL")
    upper = triangle.startswith("UPPER")
    offset = 0 if triangle.endswith("_DIAG") else 1
    if order == "COL":
        upper = not upper  # walk the transposed triangle row by row, then swap
    if upper:
        rows, cols = np.triu_indices(n, offset)
    else:
        rows, cols = np.tril_indices(n, -offset)
    if order == "COL":
        rows, cols = cols, rows
    return rows.astype(np.int64), cols.astype(np.int64)


def _format_count(fmt: str, n: int) -> int:
    if fmt == "FULL_MATRIX":
        return n * n
    if "_DIAG_" in fmt:
        return n * (n + 1) // 2
    return n * (n - 1) // 2


# --------------------------------------------------------------------------- #
# low-level parsing helpers
# --------------------------------------------------------------------------- #
def _read_text(path: str | PathLike[str]) -> str:
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ParseError("is a directory, not a file", path=path) from None
    except FileNotFoundError:
        raise ParseError("file not found", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read ({(exc.strerror or type(exc).__name__).lower()})", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.removeprefix("\ufeff")


def _is_number(tok: str) -> bool:
    return _NUMBER.fullmatch(tok) is not None


def _keyword(line: str) -> tuple[str, bool, str] | None:
    """Split a stripped line into ``(KEY, has_colon, value)`` if it starts with a word."""
    m = _KEYWORD_LINE.fullmatch(line)
    if m is None:
        return None
    return m.group(1).upper(), m.group(2) == ":", m.group(3).strip()


def _ends_section(line: str, complete: bool) -> bool:
    """Does the stripped non-blank ``line`` close the current data section?

    A known keyword (or ``EOF``) always does, and so does any ``WORD :`` line.
    A bare word closes the section only once the section has all its data;
    before that it is taken as (bad) data so that it is reported as a
    non-numeric token.
    """
    kw = _keyword(line)
    if kw is None:
        return False
    key, colon, _ = kw
    return key in _KEYWORDS or colon or complete


class _Parser:
    """Line-oriented reader shared by :func:`read_tsplib` and :func:`read_tour`."""

    def __init__(self, path: str | PathLike[str], text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.pos = 0
        self.header: dict[str, tuple[str, int]] = {}
        self.comments: list[str] = []
        self.sections: dict[str, int] = {}

    # errors ---------------------------------------------------------------
    def error(self, message: str, line: int | None = None, token: str | None = None) -> ParseError:
        return ParseError(message, path=self.path, line=line, token=token)

    def last_line(self) -> int:
        return max(1, len(self.lines))

    # tokens ---------------------------------------------------------------
    def number(self, tok: str, line: int) -> float:
        if not _is_number(tok):
            raise self.error("non-numeric token", line, tok)
        value = float(tok)
        if not math.isfinite(value):
            raise self.error("number out of range", line, tok)
        return value

    def integer(self, tok: str, line: int, what: str = "node id") -> int:
        if _INTEGER.fullmatch(tok) is None:
            raise self.error(f"{what} is not an integer", line, tok)
        return int(tok)

    # header ---------------------------------------------------------------
    def get(self, key: str) -> tuple[str, int] | None:
        return self.header.get(key)

    def enum(self, key: str, allowed: frozenset[str] | dict[str, int]) -> tuple[str, int] | None:
        item = self.header.get(key)
        if item is None:
            return None
        value, line = item
        value = value.upper()
        if value not in allowed:
            raise self.error(f"unknown {key}", line, item[0])
        return value, line

    def dimension(self, needed_by: str, line: int) -> int:
        item = self.header.get("DIMENSION")
        if item is None:
            raise self.error(f"DIMENSION must be given before {needed_by}", line)
        value, dline = item
        if _INTEGER.fullmatch(value) is None or int(value) < 1:
            raise self.error("DIMENSION must be a positive integer", dline, value)
        return int(value)

    def run(self, on_section: Callable[[str, int, str], None]) -> None:
        """Walk the file: store header values and hand sections to ``on_section``."""
        while self.pos < len(self.lines):
            lineno = self.pos + 1
            s = self.lines[self.pos].strip()
            if not s:
                self.pos += 1
                continue
            kw = _keyword(s)
            if kw is None:
                raise self.error("data outside any section", lineno, s.split()[0])
            key, colon, rest = kw
            written = s.split(":", 1)[0].split()[0]
            if key == "EOF":
                if rest and rest != ":":
                    raise self.error("unexpected text after EOF", lineno, rest)
                return
            if key not in _KEYWORDS:
                raise self.error("unknown keyword", lineno, written)
            self.pos += 1
            if key in _HEADER_KEYS:
                if not colon:
                    raise self.error(f"missing ':' after {key}", lineno, s)
                if key == "COMMENT":
                    self.comments.append(rest)
                elif key in self.header:
                    raise self.error(
                        f"{key} given twice (first on line {self.header[key][1]})", lineno
                    )
                else:
                    self.header[key] = (rest, lineno)
                continue
            if key in self.sections:
                raise self.error(f"{key} given twice (first on line {self.sections[key]})", lineno)
            self.sections[key] = lineno
            on_section(key, lineno, rest)

    # sections -------------------------------------------------------------
    def next_data_line(self, complete: bool) -> tuple[int, str] | None:
        """Advance to the next non-blank data line of the current section, if any."""
        while self.pos < len(self.lines):
            s = self.lines[self.pos].strip()
            if not s:
                self.pos += 1
                continue
            if _ends_section(s, complete):
                return None
            return self.pos + 1, s
        return None

    def where_section_ends(self, section: str) -> tuple[str, int]:
        if self.pos >= len(self.lines):
            return f"file ends inside {section}", self.last_line()
        key = self.lines[self.pos].strip().split(":", 1)[0].split()[0]
        return f"{section} ends at {key}", self.pos + 1

    def node_lines(self, section: str, n: int, dim: int, line: int, rest: str) -> np.ndarray:
        """Read ``id x y [z]`` lines; every id in ``1..n`` exactly once."""
        if rest and rest != ":":
            raise self.error(f"unexpected text after {section}", line, rest)
        coords = np.zeros((n, dim), dtype=np.float64)
        seen: dict[int, int] = {}
        shape = "<id> <x> <y>" if dim == 2 else "<id> <x> <y> <z>"
        while (item := self.next_data_line(complete=len(seen) >= n)) is not None:
            lineno, s = item
            toks = s.split()
            if len(seen) >= n:
                raise self.error(
                    f"{section} has more than DIMENSION = {n} entries", lineno, toks[0]
                )
            node = self.integer(toks[0], lineno)
            values = [self.number(t, lineno) for t in toks[1:]]
            if len(toks) != dim + 1:
                raise self.error(
                    f"expected '{shape}' ({dim + 1} numbers) in {section}, found {len(toks)}",
                    lineno,
                    s,
                )
            if not 1 <= node <= n:
                raise self.error(f"node id out of range 1..{n} (DIMENSION)", lineno, toks[0])
            if node in seen:
                raise self.error(
                    f"duplicate node id in {section} (first on line {seen[node]})", lineno, toks[0]
                )
            seen[node] = lineno
            coords[node - 1] = values
            self.pos += 1
        if len(seen) < n:
            missing = [i for i in range(1, n + 1) if i not in seen]
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            where, at = self.where_section_ends(section)
            raise self.error(
                f"{where}: found {len(seen)} of DIMENSION = {n} nodes (missing id {shown})", at
            )
        return coords

    def tokens(
        self, line: int, rest: str, complete: Callable[[], bool]
    ) -> Iterator[tuple[str, int]]:
        """Yield ``(token, line)`` of a token-stream section, starting with ``rest``.

        ``complete()`` tells, each time a new line is needed, whether the section
        already has all its data (see :func:`_ends_section`).
        """
        for tok in rest.split():
            yield tok, line
        while (item := self.next_data_line(complete())) is not None:
            lineno, s = item
            self.pos += 1
            for tok in s.split():
                yield tok, lineno

    def number_stream(
        self, section: str, count: int, line: int, rest: str, what: str
    ) -> tuple[list[float], list[int]]:
        """Read exactly ``count`` numbers, token by token, wrapped freely across lines."""
        values: list[float] = []
        lines_of: list[int] = []
        for tok, lineno in self.tokens(line, rest, lambda: len(values) >= count):
            if len(values) >= count:
                raise self.error(
                    f"too many numbers in {section}: {what} needs {count}", lineno, tok
                )
            values.append(self.number(tok, lineno))
            lines_of.append(lineno)
        if len(values) < count:
            where, at = self.where_section_ends(section)
            raise self.error(f"{where}: expected {count} numbers, found {len(values)}", at)
        return values, lines_of

    def tour_section(self, line: int, rest: str) -> list[tuple[int, int]]:
        """Read one tour: node ids up to ``-1``; an optional second ``-1`` closes the section."""
        ids: list[tuple[int, int]] = []
        terminated = False
        stream = self.tokens(line, rest, lambda: terminated)
        for tok, lineno in stream:
            value = self.integer(tok, lineno)
            if terminated:
                if value != -1:
                    raise self.error(
                        "more than one tour in TOUR_SECTION is not supported", lineno, tok
                    )
                # The spec's "additional -1" that terminates the section.
                for extra, extra_line in stream:
                    raise self.error("data after the end of TOUR_SECTION", extra_line, extra)
                break
            if value == -1:
                terminated = True
                continue
            if value < 1:
                raise self.error("node id must be positive", lineno, tok)
            ids.append((value, lineno))
        if not terminated:
            where, at = self.where_section_ends("TOUR_SECTION")
            raise self.error(f"{where}: the tour is not terminated by -1", at)
        if not ids:
            raise self.error("empty tour in TOUR_SECTION", line)
        return ids


# --------------------------------------------------------------------------- #
# public readers
# --------------------------------------------------------------------------- #
def read_tsplib(path: str | PathLike[str]) -> TSPInstance:
    """Read a symmetric TSP from a TSPLIB95 ``.tsp`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    TSPInstance
        Distances from the coordinates through ``EDGE_WEIGHT_TYPE``, or from
        ``EDGE_WEIGHT_SECTION`` for ``EXPLICIT`` (any of the ten
        ``EDGE_WEIGHT_FORMAT`` layouts; diagonal entries are ignored).

    Raises
    ------
    ParseError
        For anything outside the format: unknown keyword, ``TYPE`` other than
        ``TSP``, unknown or unsupported ``EDGE_WEIGHT_TYPE`` / format, missing or
        wrong ``DIMENSION``, node ids missing / repeated / out of range, too few
        or too many numbers, non-numeric tokens, an asymmetric ``FULL_MATRIX``.
    ResourceError
        If the dense matrix would exceed 2 GiB.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> p = pathlib.Path(tmp.name) / "tri.tsp"
    >>> _ = p.write_text("NAME: tri\\nTYPE: TSP\\nDIMENSION: 3\\nEDGE_WEIGHT_TYPE: EUC_2D\\n"
    ...                  "NODE_COORD_SECTION\\n1 0 0\\n2 3 0\\n3 3 4\\nEOF\\n")
    >>> inst = read_tsplib(p)
    >>> inst.name, inst.n, inst.tour_length([0, 1, 2])
    ('tri', 3, 12.0)
    >>> tmp.cleanup()
    """
    parser = _Parser(path, _read_text(path))
    found: dict[str, object] = {}

    def on_section(key: str, line: int, rest: str) -> None:
        if key in ("NODE_COORD_SECTION", "DISPLAY_DATA_SECTION"):
            n = parser.dimension(key, line)
            dim = 2
            if key == "NODE_COORD_SECTION":
                nct = parser.enum("NODE_COORD_TYPE", _NODE_COORD_TYPES)
                ewt = parser.enum("EDGE_WEIGHT_TYPE", _ALL_WEIGHT_TYPES)
                if nct is not None:
                    if nct[0] == "NO_COORDS":
                        raise parser.error(
                            "NODE_COORD_SECTION with NODE_COORD_TYPE: NO_COORDS", line
                        )
                    dim = _NODE_COORD_TYPES[nct[0]]
                elif ewt is not None and ewt[0] in EDGE_WEIGHT_TYPES:
                    dim = EDGE_WEIGHT_TYPES[ewt[0]]
            found[key] = parser.node_lines(key, n, dim, line, rest)
        elif key == "EDGE_WEIGHT_SECTION":
            n = parser.dimension(key, line)
            ewf = parser.enum("EDGE_WEIGHT_FORMAT", frozenset(EDGE_WEIGHT_FORMATS) | {"FUNCTION"})
            if ewf is None:
                raise parser.error(
                    "EDGE_WEIGHT_FORMAT must be given before EDGE_WEIGHT_SECTION", line
                )
            if ewf[0] == "FUNCTION":
                raise parser.error("EDGE_WEIGHT_SECTION with EDGE_WEIGHT_FORMAT: FUNCTION", line)
            _check_dense_size(n)
            count = _format_count(ewf[0], n)
            found[key] = parser.number_stream(
                key, count, line, rest, f"{ewf[0]} with DIMENSION {n}"
            )
        elif key == "TOUR_SECTION":
            parser.tour_section(line, rest)  # initial tours: checked, not used
        else:
            raise parser.error(f"{key} is not supported (symmetric TSP only)", line)

    parser.run(on_section)

    # ---- specification part -------------------------------------------
    ptype = parser.get("TYPE")
    if ptype is not None:
        value = ptype[0].upper()
        if value not in _PROBLEM_TYPES:
            raise parser.error("unknown TYPE", ptype[1], ptype[0])
        if value == "TOUR":
            raise parser.error("TYPE: TOUR is a tour file (read it with read_tour)", ptype[1])
        if value != "TSP":
            raise parser.error(f"TYPE: {value} is not supported (symmetric TSP only)", ptype[1])
    edf = parser.get("EDGE_DATA_FORMAT")
    if edf is not None:
        raise parser.error("EDGE_DATA_FORMAT is not supported", edf[1], edf[0])
    parser.enum("DISPLAY_DATA_TYPE", _DISPLAY_DATA_TYPES)
    parser.enum("NODE_COORD_TYPE", _NODE_COORD_TYPES)
    n = parser.dimension("the end of the file", parser.last_line())
    ewt = parser.enum("EDGE_WEIGHT_TYPE", _ALL_WEIGHT_TYPES)
    if ewt is None:
        raise parser.error("EDGE_WEIGHT_TYPE missing", parser.last_line())
    kind, kind_line = ewt
    if kind not in EDGE_WEIGHT_TYPES and kind != "EXPLICIT":
        raise parser.error(f"EDGE_WEIGHT_TYPE: {kind} is not supported", kind_line, kind)
    ewf = parser.enum("EDGE_WEIGHT_FORMAT", frozenset(EDGE_WEIGHT_FORMATS) | {"FUNCTION"})
    fmt = None if ewf is None else ewf[0]

    node_coords = found.get("NODE_COORD_SECTION")
    display = found.get("DISPLAY_DATA_SECTION")
    if kind == "EXPLICIT":
        if fmt is None:
            raise parser.error("EDGE_WEIGHT_TYPE: EXPLICIT needs EDGE_WEIGHT_FORMAT", kind_line)
        if fmt == "FUNCTION":
            raise parser.error("EDGE_WEIGHT_FORMAT: FUNCTION with EXPLICIT weights", ewf[1])
        if "EDGE_WEIGHT_SECTION" not in found:
            raise parser.error(
                "EDGE_WEIGHT_TYPE: EXPLICIT but no EDGE_WEIGHT_SECTION", parser.last_line()
            )
        values, lines_of = found["EDGE_WEIGHT_SECTION"]  # type: ignore[misc]
        dist = _explicit_matrix(parser, fmt, n, values, lines_of)
    else:
        if "EDGE_WEIGHT_SECTION" in found:
            raise parser.error(
                f"EDGE_WEIGHT_SECTION with EDGE_WEIGHT_TYPE: {kind}",
                parser.sections["EDGE_WEIGHT_SECTION"],
            )
        if fmt is not None and fmt != "FUNCTION":
            raise parser.error(f"EDGE_WEIGHT_FORMAT: {fmt} with EDGE_WEIGHT_TYPE: {kind}", ewf[1])
        if node_coords is None:
            raise parser.error(
                f"EDGE_WEIGHT_TYPE: {kind} needs a NODE_COORD_SECTION", parser.last_line()
            )
        dim = EDGE_WEIGHT_TYPES[kind]
        if node_coords.shape[1] != dim:  # type: ignore[union-attr]
            raise parser.error(
                f"EDGE_WEIGHT_TYPE: {kind} needs {dim}-D coordinates, "
                f"NODE_COORD_SECTION has {node_coords.shape[1]}-D",  # type: ignore[union-attr]
                parser.sections["NODE_COORD_SECTION"],
            )
        dist = distance_matrix(node_coords, kind)  # type: ignore[arg-type]

    name_item = parser.get("NAME")
    name = name_item[0] if name_item and name_item[0] else Path(path).stem
    coords = node_coords if node_coords is not None else display
    return TSPInstance(
        name=name,
        dist=dist,
        coords=coords,  # type: ignore[arg-type]
        edge_weight_type=kind,
        edge_weight_format=fmt,
        comment="\n".join(parser.comments),
        source=str(path),
    )


def _explicit_matrix(
    parser: _Parser, fmt: str, n: int, values: list[float], lines_of: list[int]
) -> np.ndarray:
    rows, cols = _format_indices(fmt, n)
    vals = np.asarray(values, dtype=np.float64)
    if fmt == "FULL_MATRIX":
        full = vals.reshape(n, n)
        bad = np.argwhere(np.triu(full != full.T, 1))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            raise parser.error(
                f"FULL_MATRIX is not symmetric: d({i + 1},{j + 1}) = {full[i, j]:g} "
                f"but d({j + 1},{i + 1}) = {full[j, i]:g} (symmetric TSP only)",
                lines_of[j * n + i],
            )
        dist = full.copy()
    else:
        dist = np.zeros((n, n), dtype=np.float64)
        dist[rows, cols] = vals
        dist[cols, rows] = vals
    np.fill_diagonal(dist, 0.0)
    return dist


def read_tour(path: str | PathLike[str]) -> np.ndarray:
    """Read a TSPLIB ``.tour`` / ``.opt.tour`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The file: header (``TYPE : TOUR``), ``TOUR_SECTION``, node ids, ``-1``,
        optionally a second ``-1``, then ``EOF`` (optional).

    Returns
    -------
    numpy.ndarray
        The tour as 0-based int64 city ids.

    Raises
    ------
    ParseError
        If ``TYPE`` is not ``TOUR``, ``TOUR_SECTION`` is missing or not
        terminated by ``-1``, an id is not an integer, repeats, or is out of
        ``1..DIMENSION``, or the tour length disagrees with ``DIMENSION`` (or,
        without ``DIMENSION``, the ids are not ``1..len``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> p = pathlib.Path(tmp.name) / "t.tour"
    >>> _ = p.write_text("TYPE : TOUR\\nDIMENSION : 4\\nTOUR_SECTION\\n1 3\\n2 4\\n-1\\nEOF\\n")
    >>> read_tour(p)
    array([0, 2, 1, 3])
    >>> tmp.cleanup()
    """
    parser = _Parser(path, _read_text(path))
    found: dict[str, list[tuple[int, int]]] = {}

    def on_section(key: str, line: int, rest: str) -> None:
        if key != "TOUR_SECTION":
            raise parser.error(f"{key} in a tour file", line)
        found[key] = parser.tour_section(line, rest)

    parser.run(on_section)
    ptype = parser.get("TYPE")
    if ptype is not None and ptype[0].upper() != "TOUR":
        raise parser.error("not a tour file: TYPE must be TOUR", ptype[1], ptype[0])
    if "TOUR_SECTION" not in found:
        raise parser.error("no TOUR_SECTION", parser.last_line())
    ids = found["TOUR_SECTION"]
    n = len(ids)
    if parser.get("DIMENSION") is not None:
        n = parser.dimension("TOUR_SECTION", parser.sections["TOUR_SECTION"])
    seen: dict[int, int] = {}
    for node, lineno in ids:
        if node > n:
            what = "DIMENSION" if parser.get("DIMENSION") is not None else "the tour length"
            raise parser.error(f"node id out of range 1..{n} ({what})", lineno, str(node))
        if node in seen:
            raise parser.error(
                f"duplicate city in tour (first on line {seen[node]})", lineno, str(node)
            )
        seen[node] = lineno
    if len(ids) != n:
        raise parser.error(
            f"tour has {len(ids)} cities but DIMENSION is {n}", parser.sections["TOUR_SECTION"]
        )
    return np.array([node - 1 for node, _ in ids], dtype=np.int64)


def write_tour(
    path: str | PathLike[str], tour: Sequence[int], *, name: str, comment: str = ""
) -> None:
    """Write a TSPLIB ``.tour`` file (1-based ids, ``-1``, ``EOF``).

    Parameters
    ----------
    path : str or os.PathLike
        Destination (overwritten).
    tour : sequence of int
        A permutation of the 0-based city ids ``0 .. n-1``.
    name : str
        The ``NAME`` field (one line).
    comment : str, optional
        ``COMMENT`` text; each of its lines becomes one ``COMMENT`` line.

    Raises
    ------
    ValidationError
        If ``tour`` is not a permutation or ``name`` spans several lines.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> p = pathlib.Path(tmp.name) / "x.tour"
    >>> write_tour(p, [2, 0, 1], name="x.tour")
    >>> print(p.read_text(), end="")
    NAME : x.tour
    TYPE : TOUR
    DIMENSION : 3
    TOUR_SECTION
    3
    1
    2
    -1
    EOF
    >>> read_tour(p).tolist()
    [2, 0, 1]
    >>> tmp.cleanup()
    """
    if not isinstance(name, str) or len(name.splitlines()) > 1:
        raise ValidationError(f"name must be a one-line string, got {name!r}")
    size = int(np.asarray(tour).size)
    if size == 0:
        raise ValidationError("cannot write an empty tour")
    t = _as_permutation(tour, size)
    lines = [f"NAME : {name}"]
    lines += [f"COMMENT : {part}" for part in comment.splitlines()] if comment else []
    lines += ["TYPE : TOUR", f"DIMENSION : {t.size}", "TOUR_SECTION"]
    lines += [str(int(c) + 1) for c in t]
    lines += ["-1", "EOF"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_distance_matrix(path: str | PathLike[str]) -> TSPInstance:
    """Read a plain whitespace-separated square distance matrix (one row a line).

    Any line ends (LF, CRLF) are accepted and blank lines are skipped. The
    matrix must be square, have a zero diagonal and be symmetric to within a
    relative ``1e-9`` (the two triangles are then averaged).

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. Burkardt's ``five_d.txt``.

    Returns
    -------
    TSPInstance
        Named after the file stem, ``edge_weight_type="MATRIX"``, no coordinates.

    Raises
    ------
    ParseError
        For an empty file, a non-numeric token, a row of the wrong length, a
        non-zero diagonal entry, or an asymmetric pair.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> p = pathlib.Path(tmp.name) / "m.txt"
    >>> _ = p.write_bytes(b"0 2 9\\r\\n2 0 4\\r\\n9 4 0")
    >>> inst = read_distance_matrix(p)
    >>> inst.name, inst.n, inst.tour_length([0, 1, 2])
    ('m', 3, 15.0)
    >>> tmp.cleanup()
    """
    parser = _Parser(path, _read_text(path))
    rows: list[list[float]] = []
    row_lines: list[int] = []
    for index, raw in enumerate(parser.lines):
        toks = raw.split()
        if not toks:
            continue
        rows.append([parser.number(tok, index + 1) for tok in toks])
        row_lines.append(index + 1)
    if not rows:
        raise parser.error("empty file: no matrix rows", parser.last_line())
    n = len(rows)
    _check_dense_size(n)
    for row, lineno in zip(rows, row_lines, strict=True):
        if len(row) != n:
            raise parser.error(
                f"matrix is not square: this row has {len(row)} numbers, the file has {n} rows",
                lineno,
            )
    mat = np.array(rows, dtype=np.float64)
    toks_of = [raw.split() for raw in parser.lines]
    for i in range(n):
        if mat[i, i] != 0.0:
            raise parser.error(
                f"non-zero diagonal entry d({i + 1},{i + 1})",
                row_lines[i],
                toks_of[row_lines[i] - 1][i],
            )
    diff = np.abs(mat - mat.T)
    scale = np.maximum(np.abs(mat), np.abs(mat.T))
    bad = np.argwhere(np.triu(diff > 1e-9 * scale, 1))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise parser.error(
            f"matrix is not symmetric: d({i + 1},{j + 1}) = {mat[i, j]:g} "
            f"but d({j + 1},{i + 1}) = {mat[j, i]:g}",
            row_lines[j],
            toks_of[row_lines[j] - 1][i],
        )
    dist = 0.5 * (mat + mat.T)
    return TSPInstance(
        name=Path(path).stem,
        dist=dist,
        coords=None,
        edge_weight_type="MATRIX",
        edge_weight_format=None,
        comment="",
        source=str(path),
    )


# --------------------------------------------------------------------------- #
# format sniffing
# --------------------------------------------------------------------------- #
def looks_like_tsplib(text: str) -> bool:
    """Does ``text`` start like a TSPLIB file (a known ``KEY : value`` or section line)?

    Parameters
    ----------
    text : str
        The file's contents (or its beginning).

    Returns
    -------
    bool

    Examples
    --------
    >>> looks_like_tsplib("NAME: burma14\\nTYPE: TSP\\n")
    True
    >>> looks_like_tsplib("0 3 4\\n3 0 5\\n4 5 0\\n")
    False
    """
    for raw in text.removeprefix("\ufeff").splitlines():
        s = raw.strip()
        if not s:
            continue
        kw = _keyword(s)
        if kw is None:
            return False
        key, colon, _ = kw
        if key in _HEADER_KEYS:
            return colon
        return key in _SECTION_KEYS
    return False


def looks_like_matrix(text: str) -> bool:
    """Is ``text`` a plain square matrix of numbers (one row a line)?

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    bool
        True if every non-blank line holds only numbers and there are as many
        numbers on each line as there are non-blank lines.

    Examples
    --------
    >>> looks_like_matrix("0 3 4\\r\\n3 0 5\\r\\n4 5 0")
    True
    >>> looks_like_matrix("0 3\\n3 0 5\\n")
    False
    """
    rows = [raw.split() for raw in text.removeprefix("\ufeff").splitlines()]
    rows = [r for r in rows if r]
    if not rows:
        return False
    n = len(rows)
    return all(len(r) == n and all(_is_number(t) for t in r) for r in rows)
