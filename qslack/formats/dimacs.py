"""DIMACS graph files (``.gph``, ``.clq``, ``.col``) and QOBLIB ``.opt.sol`` files.

DIMACS edge format, one record per line:

``c ...``
    comment (the line's first non-blank character is ``c``);
``p edge N M`` (or ``p col N M``)
    exactly one problem line, before any ``e``/``n`` line: ``N`` nodes,
    ``M`` edges;
``e u v``
    an undirected edge, node ids ``1..N``;
``n id w``
    optional node weight (nodes without one weigh 1).

Blank lines are skipped; CRLF line ends are accepted.

Edge count ``M``: in the shipped files ``M`` always equals the number of
``e`` lines (``keller4.clq``: ``p edge 171 9435`` and 9435 ``e`` lines, no
duplicates; its complement has ``171*170/2 - 9435 = 5100`` edges, which is
QOBLIB's ``keller4.gph``).  :func:`read_dimacs` therefore requires ``M`` to
equal the number of ``e`` lines; when an edge is listed more than once (or
in both directions), ``M`` may instead equal the number of distinct edges,
since writers of such files count either way.  Any other ``M`` is an error.
Repeated edges are merged with a single :class:`FormatWarning`.

A ``.clq`` file is a maximum-clique instance: by default it is read as its
complement graph, whose maximum independent set is the maximum clique.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qslack.exceptions import DependencyError, ParseError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    import networkx

__all__ = [
    "FormatWarning",
    "Graph",
    "read_dimacs",
    "read_opt_sol",
    "sniff_dimacs",
    "write_dimacs",
]

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OBJECTIVE = re.compile(r"#\s*objective\s+value\s*[=:]\s*(\S+)\s*", re.IGNORECASE)
_P_FORMATS = ("edge", "col")


class FormatWarning(UserWarning):
    """A data file bends its format in a way qslack can repair (e.g. repeated edges)."""


def _canonical_edges(edges: Any, n_nodes: int, name: str) -> np.ndarray:
    try:
        e = np.array(edges, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"Graph {name!r}: edges must be integers ({exc})") from None
    if e.size == 0:
        e = e.reshape(0, 2)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValidationError(f"Graph {name!r}: edges must have shape (E, 2), got {e.shape}")
    if e.size and (e.min() < 0 or e.max() >= n_nodes):
        raise ValidationError(f"Graph {name!r}: edge endpoint outside 0..{n_nodes - 1}")
    if np.any(e[:, 0] == e[:, 1]):
        raise ValidationError(f"Graph {name!r}: self-loops are not allowed")
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class Graph:
    """An undirected simple graph with node weights.

    ``edges`` is normalised on construction to 0-based pairs ``u < v``,
    unique, sorted lexicographically; arrays are read-only.

    Parameters
    ----------
    name : str
        Identifier (the file stem for graphs read from disk).
    n_nodes : int
        Number of nodes, labelled ``0 .. n_nodes - 1``.
    edges : array_like
        ``(E, 2)`` integer node pairs, 0-based.
    weights : array_like, optional
        ``(n_nodes,)`` node weights; ``None`` means all ones.
    source : str
        Path of the file read (empty when built in memory).

    Examples
    --------
    >>> g = Graph("path", 3, [(2, 1), (0, 1)])
    >>> g.edges.tolist(), g.n_edges, g.weights.tolist()
    ([[0, 1], [1, 2]], 2, [1.0, 1.0, 1.0])
    """

    name: str
    n_nodes: int
    edges: np.ndarray
    weights: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        name = str(self.name)
        if isinstance(self.n_nodes, bool) or not isinstance(self.n_nodes, (int, np.integer)):
            raise ValidationError(f"Graph {name!r}: n_nodes must be an integer")
        n = int(self.n_nodes)
        if n < 0:
            raise ValidationError(f"Graph {name!r}: n_nodes must be >= 0, got {n}")
        edges = _canonical_edges(self.edges, n, name)
        if self.weights is None:
            w = np.ones(n, dtype=np.float64)
        else:
            try:
                w = np.array(self.weights, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"Graph {name!r}: non-numeric weights ({exc})") from None
            if w.shape != (n,):
                raise ValidationError(
                    f"Graph {name!r}: weights must have shape ({n},), got {w.shape}"
                )
            if not np.all(np.isfinite(w)):
                raise ValidationError(f"Graph {name!r}: weights must be finite")
        edges.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "n_nodes", n)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "source", str(self.source))

    @property
    def n_edges(self) -> int:
        """Number of (distinct, undirected) edges."""
        return int(self.edges.shape[0])

    def to_networkx(self) -> networkx.Graph:
        """Return a :class:`networkx.Graph` with node attribute ``weight``.

        Examples
        --------
        >>> Graph("k2", 2, [(0, 1)]).to_networkx().number_of_edges()
        1
        """
        try:
            import networkx as nx
        except ImportError as exc:  # pragma: no cover - networkx is a test dependency
            raise DependencyError("Graph.to_networkx needs networkx") from exc
        g = nx.Graph(name=self.name)
        g.add_nodes_from((i, {"weight": float(w)}) for i, w in enumerate(self.weights))
        g.add_edges_from(map(tuple, self.edges.tolist()))
        return g

    def take(self, k: int) -> Graph:
        """Induced subgraph on the first ``k`` nodes.

        Parameters
        ----------
        k : int
            ``1 <= k <= n_nodes``.

        Returns
        -------
        Graph
            Named ``f"{name}[:{k}]"``.

        Examples
        --------
        >>> Graph("tri", 3, [(0, 1), (1, 2), (0, 2)]).take(2).edges.tolist()
        [[0, 1]]
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValidationError(f"take(k): k must be an integer, got {k!r}")
        k = int(k)
        if not 1 <= k <= self.n_nodes:
            raise ValidationError(f"take(k): k must be in 1..{self.n_nodes}, got {k}")
        keep = (self.edges[:, 0] < k) & (self.edges[:, 1] < k)
        return Graph(
            name=f"{self.name}[:{k}]",
            n_nodes=k,
            edges=self.edges[keep],
            weights=self.weights[:k],
            source=self.source,
        )

    def complement(self) -> Graph:
        """Complement graph (same nodes and weights), named ``f"{name}^c"``.

        Examples
        --------
        >>> Graph("path", 3, [(0, 1), (1, 2)]).complement().edges.tolist()
        [[0, 2]]
        """
        return Graph(
            name=f"{self.name}^c",
            n_nodes=self.n_nodes,
            edges=_complement_edges(self.n_nodes, self.edges),
            weights=self.weights,
            source=self.source,
        )


def _complement_edges(n: int, edges: np.ndarray) -> np.ndarray:
    adj = np.zeros((n, n), dtype=bool)
    if edges.size:
        adj[edges[:, 0], edges[:, 1]] = True
    u, v = np.nonzero(np.triu(~adj, k=1))
    return np.stack([u, v], axis=1).astype(np.int64)


def _read_text(path: str | Path) -> str:
    try:
        # Universal newlines: CRLF and CR become LF, so line numbers are exact.
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not a text file ({exc.reason} at byte {exc.start})", path=path) from None
    except IsADirectoryError:
        raise ParseError("is a directory, not a file", path=path) from None
    except FileNotFoundError:
        raise ParseError("file not found", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read ({(exc.strerror or type(exc).__name__).lower()})", path=path) from None


def _int(tok: str, path: str | Path, line: int, what: str) -> int:
    if not _INT.fullmatch(tok):
        raise ParseError(f"non-integer {what}", path=path, line=line, token=tok)
    return int(tok)


def read_dimacs(path: str | Path, *, complement: bool | None = None) -> Graph:
    """Read a DIMACS edge-format graph.

    Parameters
    ----------
    path : str or Path
        ``.gph``, ``.clq``, ``.col`` ... file.
    complement : bool or None
        Return the complement graph.  ``None`` (default) means ``True`` for a
        ``.clq`` file (a clique instance, read as the graph whose independent
        sets are its cliques) and ``False`` otherwise.

    Returns
    -------
    Graph
        Named after the file stem (``keller4.clq`` gives ``"keller4"``, the
        name QOBLIB gives its complement).

    Raises
    ------
    ParseError
        Missing or repeated ``p`` line, unknown ``p`` format, unknown line
        type, non-integer token, node id outside ``1..N``, self-loop, repeated
        node weight, or ``M`` matching neither the number of ``e`` lines nor
        the number of distinct edges (see the module notes).

    Warns
    -----
    FormatWarning
        Once per file when edges are repeated (either direction); they are
        merged.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "path.gph"
    >>> _ = f.write_text("c a path\\np edge 3 2\\ne 1 2\\ne 3 2\\n")
    >>> g = read_dimacs(f)
    >>> g.name, g.n_nodes, g.edges.tolist()
    ('path', 3, [[0, 1], [1, 2]])
    """
    path_s = str(path)
    lines = _read_text(path).split("\n")
    n_nodes: int | None = None
    m_declared = 0
    p_line = 0
    us: list[int] = []
    vs: list[int] = []
    e_lines: list[int] = []
    node_w: dict[int, float] = {}
    for no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line[0] == "c":
            continue
        toks = line.split()
        kind = toks[0]
        if kind == "p":
            if n_nodes is not None:
                raise ParseError(f"second 'p' line (first at line {p_line})", path=path, line=no)
            if len(toks) != 4:
                raise ParseError(
                    "problem line must read 'p edge N M'", path=path, line=no, token=line
                )
            if toks[1] not in _P_FORMATS:
                raise ParseError(
                    "unknown problem format (expected 'edge' or 'col')",
                    path=path,
                    line=no,
                    token=toks[1],
                )
            n_nodes = _int(toks[2], path, no, "node count N")
            m_declared = _int(toks[3], path, no, "edge count M")
            if n_nodes < 0 or m_declared < 0:
                raise ParseError("negative count on the 'p' line", path=path, line=no, token=line)
            p_line = no
        elif kind in ("e", "n"):
            if n_nodes is None:
                raise ParseError(f"'{kind}' line before the 'p' line", path=path, line=no)
            if len(toks) != 3:
                shape = "'e u v'" if kind == "e" else "'n id w'"
                raise ParseError(f"expected {shape}", path=path, line=no, token=line)
            a = _int(toks[1], path, no, "node id")
            if kind == "e":
                b = _int(toks[2], path, no, "node id")
                for x in (a, b):
                    if not 1 <= x <= n_nodes:
                        raise ParseError(
                            f"node id {x} outside 1..{n_nodes}", path=path, line=no, token=line
                        )
                if a == b:
                    raise ParseError("self-loop", path=path, line=no, token=line)
                us.append(a - 1)
                vs.append(b - 1)
                e_lines.append(no)
            else:
                if not 1 <= a <= n_nodes:
                    raise ParseError(
                        f"node id {a} outside 1..{n_nodes}", path=path, line=no, token=line
                    )
                if not _NUMBER.fullmatch(toks[2]):
                    raise ParseError("non-numeric node weight", path=path, line=no, token=toks[2])
                if a in node_w:
                    raise ParseError(f"node {a} weighted twice", path=path, line=no)
                node_w[a] = float(toks[2])
        else:
            raise ParseError("unknown line type", path=path, line=no, token=kind)
    if n_nodes is None:
        raise ParseError("no 'p edge N M' line", path=path)

    u = np.array(us, dtype=np.int64)
    v = np.array(vs, dtype=np.int64)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((hi, lo))  # stable: the first listing of an edge comes first
    lo_s, hi_s = lo[order], hi[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (lo_s[1:] == lo_s[:-1]) & (hi_s[1:] == hi_s[:-1])
    n_repeat = int(repeat.sum())
    n_distinct = len(order) - n_repeat
    if m_declared != len(us) and not (n_repeat and m_declared == n_distinct):
        raise ParseError(
            f"'p' line declares M={m_declared} edges but the file has {len(us)} 'e' lines"
            + (f" ({n_distinct} distinct edges)" if n_repeat else ""),
            path=path,
            line=p_line,
        )
    if n_repeat:
        first = int(np.array(e_lines, dtype=np.int64)[order][repeat].min())
        warnings.warn(
            f"{path_s}: merged {n_repeat} repeated edge line(s) (same pair listed twice or in "
            f"both directions); first at line {first}",
            FormatWarning,
            stacklevel=2,
        )
    weights = np.ones(n_nodes, dtype=np.float64)
    for node, w in node_w.items():
        weights[node - 1] = w
    edges = np.stack([lo_s[~repeat], hi_s[~repeat]], axis=1)
    if complement is None:
        complement = Path(path_s).suffix.lower() == ".clq"
    if complement:
        edges = _complement_edges(n_nodes, edges)
    return Graph(
        name=Path(path_s).stem, n_nodes=n_nodes, edges=edges, weights=weights, source=path_s
    )


def read_opt_sol(path: str | Path) -> tuple[float | None, np.ndarray]:
    """Read a QOBLIB ``.opt.sol`` file.

    Layout (as shipped): ``#`` comment lines, one of which reads
    ``# Objective value = k``, then the 1-based ids of the chosen vertices,
    one per line (several per line are accepted too), or ``x#i v`` lines;
    see :func:`qslack.formats.qoblib.read_qoblib_solution`.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    objective : float or None
        The stated objective, ``None`` if no such comment.
    nodes : numpy.ndarray
        0-based int64 vertex ids, in file order.

    Raises
    ------
    ParseError
        Non-integer or non-positive id, repeated id, repeated or
        non-numeric objective line.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "g.opt.sol"
    >>> _ = f.write_text("# Objective value = 2\\n1\\n3\\n")
    >>> obj, nodes = read_opt_sol(f)
    >>> obj, nodes.tolist()
    (2.0, [0, 2])
    """
    from qslack.formats.qoblib import read_qoblib_solution  # the one solution parser

    return read_qoblib_solution(path)


def write_dimacs(path: str | Path, graph: Graph) -> None:
    """Write ``graph`` in DIMACS edge format (LF line ends).

    The graph is written as is: ``n id w`` lines appear only when some weight
    differs from 1.  Reading the file back with :func:`read_dimacs` gives an
    equal graph; for a ``.clq`` path pass ``complement=False`` (a ``.clq``
    file is complemented on reading by default).

    Parameters
    ----------
    path : str or Path
        Destination.
    graph : Graph
        The graph.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "k2.gph"
    >>> write_dimacs(f, Graph("k2", 2, [(0, 1)]))
    >>> print(f.read_text(), end="")
    c k2
    p edge 2 1
    e 1 2
    """
    if not isinstance(graph, Graph):
        raise ValidationError(f"write_dimacs expects a Graph, got {type(graph).__name__}")
    out = [f"c {line}" if line else "c" for line in graph.name.splitlines() or [""]]
    out.append(f"p edge {graph.n_nodes} {graph.n_edges}")
    if np.any(graph.weights != 1.0):
        out.extend(f"n {i + 1} {format(float(w), '.17g')}" for i, w in enumerate(graph.weights))
    out.extend(f"e {u + 1} {v + 1}" for u, v in graph.edges.tolist())
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def sniff_dimacs(text: str) -> bool:
    """Whether ``text`` looks like a DIMACS edge-format graph.

    True when, skipping blank and ``c`` lines, the first line is
    ``p edge N M`` or ``p col N M`` with integer ``N`` and ``M``.

    Examples
    --------
    >>> sniff_dimacs("c hi\\r\\np edge 3 2\\r\\ne 1 2\\r\\n")
    True
    >>> sniff_dimacs("NAME : burma14\\n")
    False
    """
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "c":
            continue
        toks = line.split()
        return (
            len(toks) == 4
            and toks[0] == "p"
            and toks[1] in _P_FORMATS
            and all(_INT.fullmatch(t) and int(t) >= 0 for t in toks[2:])
        )
    return False
