"""QOBLIB's maximum independent set class, read exactly as distributed.

QOBLIB (the Quantum Optimization Benchmarking Library, Koch et al. 2025;
data CC BY 4.0) lays out its class ``07-independentset`` as::

    07-independentset/
      instances/<name>.gph                       the graph (format below)
      solutions/<name>.opt.sol                   a proven maximum independent set, or
      solutions/<name>.bst.sol                   the best known one
      models/binary_unconstrained/qs_files/<name>.qs.xz   the QUBO (see qslack.formats.qubo)
      models/binary_linear/lp_files/<name>.lp.xz          the edge-constrained BLP
      submissions/<date>_<who>/<name>/<name>_summary.csv  results (see qslack.report.qoblib)

``.gph`` (QOBLIB's ``instances/README.md``, and its checker
``check_stableset``): first ``k >= 0`` comment lines starting with ``c``,
then one line ``p edge n m``, then exactly ``m`` lines ``e u v`` (an
undirected edge, nodes numbered ``1..n``).  QOBLIB's ``validate_graph.py``
also rejects self-loops and repeated edges.  :func:`read_qoblib_graph` holds
a file to all of that and names the file and line of the first departure;
blank lines and CRLF line ends are tolerated, ``.gz``/``.xz`` decompressed.
The general DIMACS reader (:func:`~qslack.formats.dimacs.read_dimacs`) is
the lenient one.

Solutions (``solutions/README.md`` and the checker): ``#`` comment lines, one
of which may read ``# Objective value = k``, then either the 1-based ids of
the chosen vertices (one or several per line; the ``.bst.sol`` files and
some ``.opt.sol`` files have no comment at all), or one line per variable
``x#i v`` with ``v`` in ``{0, 1}`` (the "named variable" form a MIP solver
writes, used in QOBLIB's submissions).  :func:`write_qoblib_solution` writes
the latter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qslack.exceptions import ParseError, ValidationError
from qslack.formats._compressed import read_text, strip_compression
from qslack.formats.dimacs import Graph

__all__ = [
    "CLASS_DIR",
    "QoblibMIS",
    "load_qoblib_mis",
    "read_qoblib_graph",
    "read_qoblib_solution",
    "write_qoblib_solution",
]

CLASS_DIR = "07-independentset"
"""Name of QOBLIB's maximum independent set class directory."""

_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OBJECTIVE = re.compile(r"#\s*objective\s+value\s*[=:]\s*(\S+)\s*", re.IGNORECASE)
_XVAR = re.compile(r"x#(\d+)")


def _nonneg_int(tok: str, path: Path, line: int, what: str) -> int:
    if not _INT.fullmatch(tok) or int(tok) < 0:
        raise ParseError(f"{what} must be a non-negative integer", path=path, line=line, token=tok)
    return int(tok)


def read_qoblib_graph(path: str | Path) -> Graph:
    """Read a QOBLIB ``.gph`` graph, holding it to the letter of QOBLIB's format.

    Parameters
    ----------
    path : str or Path
        ``instances/<name>.gph`` (``.gph.gz`` / ``.gph.xz`` too).

    Returns
    -------
    Graph
        Named after the file (``farm.gph`` gives ``"farm"``), 0-based edges.

    Raises
    ------
    ParseError
        With file and line: a comment after the ``p`` line, a missing,
        repeated or malformed ``p edge n m`` line, an ``e`` line before it,
        a malformed ``e`` line, a node outside ``1..n``, a self-loop, an edge
        listed twice (either direction), any other line, or a number of
        ``e`` lines other than ``m``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "path3.gph"
    >>> _ = f.write_text("c Undirected Graph\\np edge 3 2\\ne 2 1\\ne 2 3\\n")
    >>> g = read_qoblib_graph(f)
    >>> g.name, g.n_nodes, g.edges.tolist()
    ('path3', 3, [[0, 1], [1, 2]])
    >>> _ = f.write_text("p edge 3 1\\ne 1 4\\n")
    >>> try:
    ...     read_qoblib_graph(f)
    ... except ParseError as exc:
    ...     print(exc.line, exc.reason, exc.token)
    2 node 4 outside 1..3 e 1 4
    """
    path = Path(path)
    n_nodes: int | None = None
    m = 0
    p_line = 0
    edges: list[tuple[int, int]] = []
    first: dict[tuple[int, int], int] = {}
    for no, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("c"):
            if n_nodes is not None:
                raise ParseError(
                    f"comment line after the 'p' line (line {p_line}); QOBLIB puts comments first",
                    path=path,
                    line=no,
                )
            continue
        toks = line.split()
        if toks[0] == "p":
            if n_nodes is not None:
                raise ParseError(f"second 'p' line (first at line {p_line})", path=path, line=no)
            if len(toks) != 4 or toks[1] != "edge":
                raise ParseError("expected 'p edge n m'", path=path, line=no, token=line)
            n_nodes = _nonneg_int(toks[2], path, no, "node count n")
            m = _nonneg_int(toks[3], path, no, "edge count m")
            p_line = no
        elif toks[0] == "e":
            if n_nodes is None:
                raise ParseError("'e' line before the 'p edge n m' line", path=path, line=no)
            if len(toks) != 3 or not (_INT.fullmatch(toks[1]) and _INT.fullmatch(toks[2])):
                raise ParseError("expected 'e u v' with integer nodes", path=path, line=no, token=line)
            u, v = int(toks[1]), int(toks[2])
            for x in (u, v):
                if not 1 <= x <= n_nodes:
                    raise ParseError(f"node {x} outside 1..{n_nodes}", path=path, line=no, token=line)
            if u == v:
                raise ParseError("self-loop", path=path, line=no, token=line)
            key = (min(u, v) - 1, max(u, v) - 1)
            if key in first:
                raise ParseError(
                    f"edge {key[0] + 1}-{key[1] + 1} listed twice (first at line {first[key]})",
                    path=path,
                    line=no,
                )
            first[key] = no
            edges.append(key)
        else:
            raise ParseError(
                "unknown line (QOBLIB graphs hold c, p and e lines)", path=path, line=no, token=line
            )
    if n_nodes is None:
        raise ParseError("no 'p edge n m' line", path=path)
    if len(edges) != m:
        raise ParseError(
            f"'p' line declares m={m} edges, the file has {len(edges)} 'e' lines", path=path, line=p_line
        )
    name = strip_compression(path)
    edge_array = np.array(edges, dtype=np.int64).reshape(-1, 2)
    return Graph(name=name.stem, n_nodes=n_nodes, edges=edge_array, source=str(path))


def read_qoblib_solution(
    path: str | Path, *, n_nodes: int | None = None
) -> tuple[float | None, np.ndarray]:
    """Read a QOBLIB solution: a vertex-id list or ``x#i v`` lines, with ``#`` comments.

    Parameters
    ----------
    path : str or Path
        ``<name>.opt.sol``, ``<name>.bst.sol`` or a submission's
        ``<name>_solution.*``.
    n_nodes : int, optional
        When given, ids above it are an error.

    Returns
    -------
    objective : float or None
        The ``# Objective value = k`` comment, ``None`` when there is none.
    nodes : numpy.ndarray
        0-based int64 ids of the chosen vertices, in file order.

    Raises
    ------
    ParseError
        With file and line: a non-integer or non-positive id, an id above
        ``n_nodes``, a repeated id or variable, a value other than 0/1 after
        ``x#i``, both forms in one file, or a repeated or non-numeric
        objective line.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.opt.sol").write_text("# Objective value = 2\\n1\\n3\\n")
    >>> _ = (d / "b.sol").write_text("x#1  0\\nx#2  1\\nx#3  1\\n")
    >>> [(obj, nodes.tolist()) for obj, nodes in map(read_qoblib_solution, (d / "a.opt.sol", d / "b.sol"))]
    [(2.0, [0, 2]), (None, [1, 2])]
    """
    path = Path(path)
    objective: float | None = None
    obj_line = 0
    ids: list[int] = []
    seen: dict[int, int] = {}
    form: str | None = None
    for no, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            mo = _OBJECTIVE.fullmatch(line)
            if mo:
                if objective is not None:
                    raise ParseError(f"second objective line (first at line {obj_line})", path=path, line=no)
                if not _NUMBER.fullmatch(mo.group(1)):
                    raise ParseError("non-numeric objective value", path=path, line=no, token=mo.group(1))
                objective = float(mo.group(1))
                obj_line = no
            continue
        toks = line.split()
        xm = _XVAR.fullmatch(toks[0])
        kind = "x#" if xm else "ids"
        if form is not None and kind != form:
            raise ParseError("mixes a vertex-id list with 'x#i v' lines", path=path, line=no, token=line)
        form = kind
        if xm:
            if len(toks) != 2 or not _NUMBER.fullmatch(toks[1]) or float(toks[1]) not in (0.0, 1.0):
                raise ParseError("expected 'x#i v' with v 0 or 1", path=path, line=no, token=line)
            chosen = [int(xm.group(1))] if float(toks[1]) == 1.0 else []
            candidates = [int(xm.group(1))]
        else:
            for tok in toks:
                if not _INT.fullmatch(tok):
                    raise ParseError("non-integer vertex id", path=path, line=no, token=tok)
            candidates = chosen = [int(t) for t in toks]
        for x in candidates:
            if x < 1:
                raise ParseError("vertex ids are 1-based", path=path, line=no, token=str(x))
            if n_nodes is not None and x > n_nodes:
                raise ParseError(f"vertex {x} outside 1..{n_nodes}", path=path, line=no, token=str(x))
            if x in seen:
                raise ParseError(f"vertex {x} listed twice (first at line {seen[x]})", path=path, line=no)
            seen[x] = no
        ids.extend(x - 1 for x in chosen)
    return objective, np.array(ids, dtype=np.int64)


def write_qoblib_solution(
    path: str | Path, x: np.ndarray, *, names: tuple[str, ...] | None = None, comment: str = ""
) -> None:
    """Write a 0/1 vector as ``x#i v`` lines (1-based), or ``name v`` lines when ``names`` are given.

    The ``x#i v`` form is what QOBLIB's MIS checker (``check_stableset``)
    reads, with ``i`` the 1-based node id.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "farm_solution.sol"
    >>> write_qoblib_solution(f, np.array([0, 1, 1]), comment="Objective value = 2")
    >>> print(f.read_text(), end="")
    # Objective value = 2
    x#1 0
    x#2 1
    x#3 1
    >>> read_qoblib_solution(f)[1].tolist()
    [1, 2]
    """
    x = np.asarray(x).reshape(-1)
    if x.size and not np.all((x == 0) | (x == 1)):
        raise ValidationError("a solution vector holds 0/1 values only")
    if names is not None and len(names) != x.size:
        raise ValidationError(f"{len(names)} names for {x.size} values")
    labels = names if names is not None else tuple(f"x#{i + 1}" for i in range(x.size))
    lines = [f"# {ln}" for ln in comment.splitlines()]
    lines += [f"{name} {int(v)}" for name, v in zip(labels, x, strict=True)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass(frozen=True, eq=False)
class QoblibMIS:
    """One instance of QOBLIB's independent set class, with its reference solution.

    Attributes
    ----------
    name : str
        The instance name (file stem).
    graph : Graph
        The graph from ``instances/<name>.gph``.
    objective : float or None
        Size of the reference set (``None`` when no solution file exists).
    optimal : bool
        True for a ``.opt.sol`` (proven optimal), False for ``.bst.sol``
        (best known) or none.
    solution : numpy.ndarray
        0-based ids of the reference set (checked independent).
    graph_path, solution_path, qs_path : Path or None
        Where each file was found (``qs_path``: the shipped QUBO, if present).
    """

    name: str
    graph: Graph
    objective: float | None
    optimal: bool
    solution: np.ndarray
    graph_path: Path
    solution_path: Path | None
    qs_path: Path | None


def _class_dir(root: Path) -> Path:
    if (root / CLASS_DIR).is_dir():
        return root / CLASS_DIR
    if (root / "instances").is_dir():
        return root
    raise ValidationError(
        f"{root} is neither a QOBLIB checkout (no {CLASS_DIR}/) nor its {CLASS_DIR} directory (no instances/)"
    )


def _first(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


def load_qoblib_mis(root: str | Path, name: str) -> QoblibMIS:
    """Load instance ``name`` of QOBLIB's independent set class from a checkout.

    Parameters
    ----------
    root : str or Path
        The QOBLIB repository root, or its ``07-independentset`` directory.
    name : str
        Instance name, e.g. ``"farm"``.

    Returns
    -------
    QoblibMIS
        The graph, and the ``.opt.sol`` (else ``.bst.sol``) solution, which is
        checked to be an independent set whose size is the stated objective.

    Raises
    ------
    ValidationError
        No such class directory or instance.
    ParseError
        A malformed file, or a solution that is not independent or whose
        size differs from its objective line (naming the file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for d in ("instances", "solutions"):
    ...     (root / CLASS_DIR / d).mkdir(parents=True)
    >>> _ = (root / CLASS_DIR / "instances" / "p3.gph").write_text("p edge 3 2\\ne 1 2\\ne 2 3\\n")
    >>> _ = (root / CLASS_DIR / "solutions" / "p3.opt.sol").write_text("# Objective value = 2\\n1\\n3\\n")
    >>> inst = load_qoblib_mis(root, "p3")
    >>> inst.objective, inst.optimal, inst.solution.tolist(), inst.graph.n_edges
    (2.0, True, [0, 2], 2)
    """
    cls = _class_dir(Path(root))
    gph = _first([cls / "instances" / f"{name}{ext}" for ext in (".gph", ".gph.gz", ".gph.xz")])
    if gph is None:
        raise ValidationError(f"no instance {name!r} in {cls / 'instances'} (looked for {name}.gph)")
    graph = read_qoblib_graph(gph)
    opt = _first([cls / "solutions" / f"{name}.opt.sol"])
    sol = opt or _first([cls / "solutions" / f"{name}.bst.sol"])
    objective: float | None = None
    nodes = np.zeros(0, dtype=np.int64)
    if sol is not None:
        stated, nodes = read_qoblib_solution(sol, n_nodes=graph.n_nodes)
        x = np.zeros(graph.n_nodes, dtype=bool)
        x[nodes] = True
        both = x[graph.edges[:, 0]] & x[graph.edges[:, 1]] if graph.n_edges else np.zeros(0, dtype=bool)
        if np.any(both):
            u, v = graph.edges[int(np.flatnonzero(both)[0])] + 1
            raise ParseError(f"not an independent set: vertices {u} and {v} share an edge", path=sol)
        if stated is not None and stated != len(nodes):
            raise ParseError(f"objective value {stated:g} but {len(nodes)} vertices listed", path=sol)
        objective = float(len(nodes))
    qs = _first(
        [cls / "models" / "binary_unconstrained" / "qs_files" / f"{name}{ext}" for ext in (".qs.xz", ".qs")]
    )
    return QoblibMIS(name, graph, objective, opt is not None, nodes, gph, sol, qs)
