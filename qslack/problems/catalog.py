"""Resolve an INSTANCE string to a problem instance and its BinaryProgram.

An INSTANCE is one of

- a manifest name from ``instances/manifest.toml`` (``burma14``, ``mknap1#3``,
  ``mknap2#PB5``, ``farm``);
- a path, with ``path#k`` selecting inside a multi-problem file; the format
  comes from the extension, else from the content (``fmt=`` overrides);
- a generator spec (``gen:tsp?n=6&seed=1``).

``take=K`` keeps the first K cities / items / nodes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from qslack._sys import load_toml
from qslack.exceptions import ParseError, ValidationError
from qslack.model.program import BinaryProgram

__all__ = [
    "FORMATS",
    "Loaded",
    "ManifestEntry",
    "build_program",
    "detect_format",
    "instances_dir",
    "load_instance",
    "read_manifest",
]

FORMATS = ("tsplib", "matrix", "mknap", "mknap2", "dimacs", "lp", "mps")
PROBLEMS = ("tsp", "mdkp", "mis", "program")
_FORMAT_PROBLEM = {
    "tsplib": "tsp",
    "matrix": "tsp",
    "mknap": "mdkp",
    "mknap2": "mdkp",
    "dimacs": "mis",
    "lp": "program",
    "mps": "program",
}


@dataclass(frozen=True)
class ManifestEntry:
    """One shipped instance: where it lives and what is known of it."""

    name: str
    problem: str
    format: str
    file: str
    index: int | str | None = None
    optimum: float | None = None
    optimum_source: str | None = None
    size: str = ""
    take_optima: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Loaded:
    """An instance with its provenance."""

    name: str
    problem: str
    instance: Any
    format: str
    source: str
    known_optimum: float | None = None
    optimum_source: str | None = None
    take: int | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-friendly provenance."""
        return {
            "name": self.name,
            "problem": self.problem,
            "format": self.format,
            "source": self.source,
            "known_optimum": self.known_optimum,
            "optimum_source": self.optimum_source,
            "take": self.take,
        }


def instances_dir() -> Path:
    """The folder of shipped instances (``$QSLACK_INSTANCES`` or the repository's ``instances/``)."""
    env = os.environ.get("QSLACK_INSTANCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "instances"


@lru_cache(maxsize=4)
def _manifest(path: str) -> tuple[ManifestEntry, ...]:
    p = Path(path)
    data = load_toml(p, "manifest")
    out = []
    for k, item in enumerate(data.get("instance", []), start=1):
        try:
            take_opt = {int(a): float(b) for a, b in item.pop("take_optima", {}).items()}
            entry = ManifestEntry(**item, take_optima=take_opt)
        except TypeError as exc:
            raise ParseError(f"instance entry {k}: {exc}", path=p) from None
        if entry.problem not in PROBLEMS or entry.format not in FORMATS:
            raise ParseError(f"instance {entry.name!r}: unknown problem or format", path=p)
        out.append(entry)
    return tuple(out)


def read_manifest(path: str | Path | None = None) -> tuple[ManifestEntry, ...]:
    """Entries of ``manifest.toml``.

    Examples
    --------
    >>> names = [e.name for e in read_manifest()]
    >>> "burma14" in names and "mknap1#2" in names
    True
    """
    return _manifest(str(path or instances_dir() / "manifest.toml"))


def _find_entry(name: str) -> ManifestEntry | None:
    entries = read_manifest()
    for e in entries:
        if e.name == name:
            return e
    low = name.lower()
    for e in entries:
        if e.name.lower() == low:
            return e
    return None


def detect_format(path: Path) -> str:
    """Format of a file from its extension, else from its content."""
    ext = path.suffix.lower()
    by_ext = {
        ".tsp": "tsplib",
        ".gph": "dimacs",
        ".col": "dimacs",
        ".clq": "dimacs",
        ".lp": "lp",
        ".mps": "mps",
    }
    if ext in by_ext:
        return by_ext[ext]
    from qslack.formats.dimacs import sniff_dimacs
    from qslack.formats.orlib import sniff_orlib
    from qslack.formats.tsplib import looks_like_matrix, looks_like_tsplib

    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ParseError(f"cannot read ({exc.strerror})", path=path) from None
    orlib = sniff_orlib(text)
    if orlib:
        return orlib
    if looks_like_tsplib(text):
        return "tsplib"
    if sniff_dimacs(text):
        return "dimacs"
    if looks_like_matrix(text):
        return "matrix"
    raise ParseError(
        f"cannot tell the format from the content; pass --format ({', '.join(FORMATS)})",
        path=path,
    )


def _read(path: Path, fmt: str, key: str | None) -> Any:
    if fmt == "tsplib":
        from qslack.formats.tsplib import read_tsplib

        return read_tsplib(path)
    if fmt == "matrix":
        from qslack.formats.tsplib import read_distance_matrix

        return read_distance_matrix(path)
    if fmt in ("mknap", "mknap2"):
        from qslack.formats.orlib import read_mdkp

        if key is None:
            from qslack.formats.orlib import list_problems

            keys = list_problems(path)
            if len(keys) != 1:
                raise ValidationError(
                    f"{path} holds {len(keys)} problems ({keys[0]} .. {keys[-1]}): "
                    f"select one with {path}#k"
                )
            key = keys[0]
        return read_mdkp(path, key, fmt=fmt)
    if fmt == "dimacs":
        from qslack.formats.dimacs import read_dimacs

        return read_dimacs(path)
    if fmt in ("lp", "mps"):
        from qslack.formats.lp import read_lp

        return read_lp(path, fmt=fmt)
    raise ValidationError(f"unknown format {fmt!r}; choose from {FORMATS}")


def _take(loaded: Loaded, k: int) -> Loaded:
    inst = loaded.instance
    if loaded.problem == "program":
        raise ValidationError("--take is not defined for a general binary program")
    n = inst.n if hasattr(inst, "n") else inst.n_nodes
    if not 1 <= k <= n:
        raise ValidationError(f"--take {k} is outside 1..{n} for {loaded.name}")
    if k == n:
        return loaded
    return replace(
        loaded,
        instance=inst.take(k),
        name=f"{loaded.name}[:{k}]",
        known_optimum=None,
        optimum_source=None,
        take=k,
    )


def load_instance(
    spec: str,
    *,
    fmt: str | None = None,
    problem: str | None = None,
    take: int | None = None,
) -> Loaded:
    """Load the instance an INSTANCE string names.

    Parameters
    ----------
    spec : str
        Manifest name, path (``path#k`` inside multi-problem files) or ``gen:`` spec.
    fmt : str, optional
        Override the detected format (one of :data:`FORMATS`).
    problem : str, optional
        Override the problem the format implies (``tsp``, ``mdkp``, ``mis``, ``program``).
    take : int, optional
        Keep the first ``take`` cities / items / nodes.

    Examples
    --------
    >>> ld = load_instance("mknap1#1")
    >>> ld.problem, ld.instance.n, ld.known_optimum
    ('mdkp', 6, 3800.0)
    >>> load_instance("burma14", take=5).known_optimum
    2321.0
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; choose from {FORMATS}")
    if problem is not None and problem not in PROBLEMS:
        raise ValidationError(f"unknown problem {problem!r}; choose from {PROBLEMS}")
    take_optima: dict[int, float] = {}
    if spec.startswith("gen:"):
        from qslack.problems.generators import generate

        kind, inst = generate(spec)
        loaded = Loaded(inst.name, kind, inst, "generator", spec)
    else:
        entry = None if fmt else _find_entry(spec)
        if entry is not None:
            path = instances_dir() / entry.file
            key = None if entry.index is None else str(entry.index)
            inst = _read(path, entry.format, key)
            src = None if entry.optimum is None else f"manifest: {entry.optimum_source or 'no source given'}"
            loaded = Loaded(entry.name, entry.problem, inst, entry.format, str(path), entry.optimum, src)
            take_optima = entry.take_optima
        else:
            raw, _, key = spec.partition("#")
            path = Path(raw)
            if path.is_dir():
                raise ParseError("is a directory, not an instance file", path=path)
            if not path.exists():
                raise ValidationError(
                    f"unknown instance {spec!r}: not a manifest name (see `qslack instances`), "
                    "not an existing file, not a gen: spec"
                )
            f = fmt or detect_format(path)
            inst = _read(path, f, key or None)
            opt, opt_src = _file_optimum(path, f, inst)
            name = getattr(inst, "name", path.stem)
            loaded = Loaded(name, _FORMAT_PROBLEM[f], inst, f, str(path), opt, opt_src)
    if problem is not None and problem != loaded.problem:
        raise ValidationError(f"{spec!r} reads as a {loaded.problem} instance, not {problem}")
    if take is not None:
        loaded = _take(loaded, int(take))
        if loaded.take is not None and loaded.take in take_optima:
            loaded = replace(
                loaded,
                known_optimum=take_optima[loaded.take],
                optimum_source="manifest: brute force (SOURCES.md)",
            )
    return loaded


def _file_optimum(path: Path, fmt: str, inst: Any) -> tuple[float | None, str | None]:
    """The known optimum of an instance read from ``path``, and where it comes from.

    In order: the optimum the file itself states (OR-Library mknap files);
    a QOBLIB/DIMACS ``<stem>.opt.sol`` next to a graph file; a TSPLIB
    ``<stem>.opt.tour`` next to a TSPLIB file; for OR-Library ``mknapcbN``
    files, the best-known table (``mkcbres.txt`` or ``best-feasible-slns.txt``)
    next to the file, else the shipped one.
    """
    from qslack._paths import display_path

    opt = getattr(inst, "optimum", None)
    if opt is not None:
        return float(opt), f"file {display_path(path)}"
    stem = path.name.split(".")[0]
    if fmt == "dimacs":
        sol = path.with_name(stem + ".opt.sol")
        if sol.is_file():
            return _opt_sol_value(sol, inst), f"opt.sol file {display_path(sol)}"
    if fmt == "tsplib":
        tour_file = path.with_name(stem + ".opt.tour")
        if tour_file.is_file():
            from qslack.formats.tsplib import read_tour

            tour = read_tour(tour_file)
            if sorted(tour.tolist()) != list(range(inst.n)):
                raise ParseError(f"not a tour of the {inst.n} cities of {path.name}", path=tour_file)
            return inst.tour_length(tour), f"opt.tour file {display_path(tour_file)}"
    if fmt == "mknap" and re.fullmatch(r"mknapcb[1-9]", stem.lower()):
        return _mkcbres_value(path, stem.lower(), inst)
    return None, None


def _opt_sol_value(sol: Path, graph: Any) -> float:
    """The weight of the independent set a ``.opt.sol`` file lists, checked against the graph."""
    import numpy as np

    from qslack.formats.dimacs import read_opt_sol

    stated, nodes = read_opt_sol(sol)
    if nodes.size and int(nodes.max()) >= graph.n_nodes:
        raise ParseError(f"vertex {int(nodes.max()) + 1} is not in the {graph.n_nodes}-node graph", path=sol)
    chosen = np.zeros(graph.n_nodes, dtype=bool)
    chosen[nodes] = True
    edges = np.asarray(graph.edges).reshape(-1, 2)
    both = chosen[edges[:, 0]] & chosen[edges[:, 1]]
    if both.any():
        u, v = edges[np.flatnonzero(both)[0]]
        raise ParseError(f"lists adjacent vertices {u + 1} and {v + 1}: not an independent set", path=sol)
    w = np.ones(graph.n_nodes) if getattr(graph, "weights", None) is None else np.asarray(graph.weights)
    value = float(w[nodes].sum())
    if stated is not None and abs(stated - value) > 1e-9 * max(1.0, abs(value)):
        raise ParseError(f"states objective {stated:g} but its vertices weigh {value:g}", path=sol)
    return value


def _mkcbres_value(path: Path, stem: str, inst: Any) -> tuple[float | None, str | None]:
    from qslack._paths import display_path
    from qslack.formats.orlib import MKNAPCB_GROUPS, mknapcb_best_known

    m, n = MKNAPCB_GROUPS[stem]
    if (inst.m, inst.n) != (m, n):
        return None, None
    index = int(str(inst.name).rsplit("#", 1)[-1]) if "#" in str(inst.name) else None
    if index is None:
        return None, None
    shipped = instances_dir() / "mdkp" / "best-feasible-slns.txt"
    for table in (path.with_name("mkcbres.txt"), path.with_name("best-feasible-slns.txt"), shipped):
        if table.is_file():
            try:
                value = mknapcb_best_known(table, stem, index)
            except ValidationError:
                continue
            row = f"{m}.{n}-{index - 1:02d}"
            # SOURCES.md: the 5.100 values (mknapcb1) are proven optimal; the others are best known
            status = "proven optimal" if stem == "mknapcb1" else "best known, not proven optimal"
            return value, f"best-known table {display_path(table)} row {row} (Chu-Beasley; {status})"
    return None, None


def build_program(loaded: Loaded, *, encoding: str = "position") -> BinaryProgram:
    """The BinaryProgram of a loaded instance (TSP: ``encoding`` position or edge).

    The known optimum is recorded in ``metadata["known_optimum"]``.
    """
    if loaded.problem == "tsp":
        from qslack.problems.tsp import build_tsp

        prog = build_tsp(loaded.instance, encoding)
    elif loaded.problem == "mdkp":
        from qslack.problems.mdkp import build_mdkp

        prog = build_mdkp(loaded.instance)
    elif loaded.problem == "mis":
        from qslack.problems.mis import build_mis

        prog = build_mis(loaded.instance)
    else:
        prog = loaded.instance
    meta = dict(prog.metadata)
    meta["known_optimum"] = loaded.known_optimum
    meta["instance"] = loaded.name
    return replace(prog, metadata=meta) if meta != dict(prog.metadata) else prog
