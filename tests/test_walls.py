"""The design's walls, read off the package's imports (function-local ones included).

Layers point one way: formats -> problems -> model -> samplers -> dual -> runs -> store/report, the CLI
on top; hardware sits beside samplers (it may use them, they never use it).  A forbidden edge fails
here with the file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "qslack"

UPPER = ["qslack.runs", "qslack.cli"]
NEVER: dict[str, list[str]] = {
    "qslack/dual": ["qslack.problems", "qslack.store", "qslack.hardware", "qslack.report", *UPPER],
    "qslack/samplers": ["qslack.hardware", "qslack.dual", "qslack.store", "qslack.report", *UPPER],
    "qslack/model": [
        "qslack.samplers",
        "qslack.dual",
        "qslack.store",
        "qslack.hardware",
        "qslack.problems",
        "qslack.report",
        "qslack.baselines",
        *UPPER,
    ],
    "qslack/formats": [
        "qslack.problems",
        "qslack.samplers",
        "qslack.dual",
        "qslack.store",
        "qslack.hardware",
        "qslack.report",
        *UPPER,
    ],
    "qslack/problems": ["qslack.samplers", "qslack.dual", "qslack.store", "qslack.hardware", *UPPER],
    "qslack/store": ["qslack.samplers", "qslack.dual", "qslack.hardware", "qslack.problems", *UPPER],
    "qslack/report": ["qslack.samplers", "qslack.dual", "qslack.hardware", "qslack.problems", *UPPER],
    "qslack/hardware": ["qslack.dual", "qslack.store", "qslack.report", *UPPER],
    "qslack/baselines": ["qslack.dual", "qslack.store", "qslack.report", *UPPER],
    "qslack/testing": ["qslack.store", "qslack.report", *UPPER],
}


def _imports(path: Path) -> Iterator[tuple[int, list[str]]]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    pkg = list(rel.parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield node.lineno, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            yield node.lineno, [name] + [f"{name}.{a.name}" for a in node.names]


def edges() -> list[tuple[str, int, str]]:
    """``(file, line, imported qslack module)`` for every import of a qslack module in the package."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        for line, names in _imports(path):
            for n in names[:1]:
                if n.startswith("qslack"):
                    out.append((str(path.relative_to(PKG.parent)), line, n))
    return out


def test_no_import_crosses_a_wall() -> None:
    crossed = []
    for path in sorted(PKG.rglob("*.py")):
        rel = str(path.relative_to(PKG.parent))
        for folder, forbidden in NEVER.items():
            if not rel.startswith(folder + "/"):
                continue
            for line, names in _imports(path):
                hit = sorted({f for n in names for f in forbidden if n == f or n.startswith(f + ".")})
                if hit:
                    crossed.append(f"{rel}:{line} imports {', '.join(hit)}")
    assert not crossed, "\n".join(crossed)


def test_only_the_driver_steps_the_dual_loop() -> None:
    """``step`` (the old ``tell``) is called by the one driver, nowhere else in the package."""
    callers = []
    for path in sorted(PKG.rglob("*.py")):
        rel = str(path.relative_to(PKG.parent))
        if rel.startswith("qslack/dual/") or rel == "qslack/runs/driver.py":
            continue
        for line, names in _imports(path):
            if any(n in ("qslack.dual.step", "qslack.dual.step.step") for n in names):
                callers.append(f"{rel}:{line}")
    assert not callers, callers


def test_walls_check_catches_a_crossing(tmp_path: Path) -> None:
    """The reader sees relative and function-local imports (a check that cannot fail proves nothing)."""
    f = PKG / "dual" / "_wall_probe_tmp.py"
    f.write_text("def f():\n    from ..problems import tsp\n    return tsp\n")
    try:
        found = [names for _, names in _imports(f)]
    finally:
        f.unlink()
    assert any("qslack.problems" in n for names in found for n in names)


def test_import_edges_are_counted() -> None:
    """The number of qslack-internal import edges (reported in the design doc)."""
    n = len(edges())
    assert 100 < n < 1000
