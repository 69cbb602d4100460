"""Reproduce the known optimum of every shipped benchmark instance with OR-Tools.

Solves, with the classical baselines of :mod:`qslack.baselines.ortools`:

- TSP: every shipped TSPLIB file up to 52 cities (CP-SAT ``add_circuit``),
  ``tsp_tiny/five_d.txt``, and the first-``k``-city sub-instances
  (``TSPInstance.take(k)``, k = 4..7) of burma14, ulysses16, gr17 and bays29;
- MDKP: all 7 mknap1 problems, all 48 mknap2 (SAC-94) problems and the first
  5 mknapcb1 problems (best-known values from ``best-feasible-slns.txt``);
- MIS: every shipped QOBLIB graph up to 64 nodes (alpha from ``.opt.sol``).

The known value of each instance is read from the shipped files (the TSPLIB
``solutions`` list, the OR-Library files, ``best-feasible-slns.txt``, the
``.opt.sol`` files) and cross-checked against the values listed in
``instances/SOURCES.md`` (repeated below); a disagreement is a mismatch too.

Usage::

    .venv/bin/python scripts/check_optima.py                  # everything, 60 s each
    .venv/bin/python scripts/check_optima.py --only mdkp --time-limit 20
    .venv/bin/python scripts/check_optima.py --json > optima.json

Exit code 1 when any instance's value differs from the known one (including a
time-out that leaves a worse solution), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import qslack  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT))

from qslack.baselines.ortools import BaselineResult, solve_mdkp, solve_mis, solve_tsp  # noqa: E402

# Values from instances/SOURCES.md, used to cross-check what the files say.
TSP_EXPECTED = {
    "burma14": 3323,
    "ulysses16": 6859,
    "gr17": 2085,
    "bayg29": 1610,
    "bays29": 2020,
    "att48": 10628,
    "eil51": 426,
    "berlin52": 7542,
}
TAKE_OPTIMA = {  # brute force, k = 4..7
    "burma14": (1570, 2321, 2336, 2378),
    "ulysses16": (1413, 3277, 3472, 3507),
    "gr17": (1342, 1348, 1352, 1346),
    "bays29": (716, 770, 787, 1135),
}
MKNAP1_EXPECTED = (3800, 8706.1, 4015, 6120, 12400, 10618, 16537)
MKNAP2_EXPECTED = {
    "SENTO1": 7772,
    "SENTO2": 8722,
    **dict(
        zip(
            [f"WEING{i}" for i in range(1, 9)],
            (141278, 130883, 95677, 119337, 98796, 130623, 1095445, 624319),
            strict=True,
        )
    ),
    "PB1": 3090,
    "PB2": 3186,
    "PB4": 95168,
    "PB5": 2139,
    "PB6": 776,
    "PB7": 1035,
    "HP1": 3418,
    "HP2": 3186,
    **dict(
        zip(
            [f"WEISH{i:02d}" for i in range(1, 31)],
            (
                4554, 4536, 4115, 4561, 4514, 5557, 5567, 5605, 5246, 6339,
                5643, 6339, 6159, 6954, 7486, 7289, 8633, 9580, 7698, 9450,
                9074, 8947, 8344, 10220, 9939, 9584, 9819, 9492, 9410, 11191,
            ),
            strict=True,
        )
    ),
}  # fmt: skip
MIS_EXPECTED = {"farm": 10, "ibm32": 13, "karate": 20, "football": 16, "sloane_1dc_64": 10}
MAX_TSP_CITIES = 52
MAX_MIS_NODES = 64
N_MKNAPCB1 = 5


@dataclass
class Case:
    name: str
    problem: str
    size: str
    known: float
    run: Callable[[float, int], BaselineResult]
    note: str = ""


@dataclass
class Row:
    name: str
    problem: str
    size: str
    known: float
    found: float
    bound: float
    optimal: bool
    status: str
    wall_s: float
    match: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "name": self.name,
            "problem": self.problem,
            "size": self.size,
            "known": num(self.known),
            "found": num(self.found),
            "bound": num(self.bound),
            "optimal": self.optimal,
            "status": self.status,
            "wall_s": round(self.wall_s, 3),
            "match": self.match,
            "note": self.note,
        }


def _same(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _cross_check(file_value: float | None, expected: float | None, what: str) -> tuple[float, str]:
    """Known value from the file, with a note when SOURCES.md disagrees or it is missing."""
    if file_value is None and expected is None:
        return math.nan, f"no known value for {what}"
    if file_value is None:
        return float(expected), "value from SOURCES.md (file states none)"  # type: ignore[arg-type]
    if expected is not None and not _same(float(file_value), float(expected)):
        return float(file_value), f"file says {file_value:g} but SOURCES.md says {expected:g}"
    return float(file_value), ""


# --------------------------------------------------------------------------- #
# case lists
# --------------------------------------------------------------------------- #
def _tsplib_solutions(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if ":" in line:
            name, _, value = line.partition(":")
            try:
                out[name.strip()] = float(value.split()[0])
            except (ValueError, IndexError):
                continue
    return out


def tsp_cases(inst_dir: Path) -> Iterator[Case]:
    from qslack.formats.tsplib import read_distance_matrix, read_tsplib

    def runner(dist: np.ndarray) -> Callable[[float, int], BaselineResult]:
        return lambda tl, workers: solve_tsp(dist, time_limit=tl, workers=workers, method="cp-sat")

    five = inst_dir / "tsp_tiny" / "five_d.txt"
    if five.exists():
        inst = read_distance_matrix(five)
        yield Case("five_d", "tsp", f"n={inst.n}", 19.0, runner(inst.dist))
    solutions = _tsplib_solutions(inst_dir / "tsplib" / "solutions")
    files = sorted((inst_dir / "tsplib").glob("*.tsp"))
    loaded = []
    for f in files:
        inst = read_tsplib(f)
        if inst.n <= MAX_TSP_CITIES:
            loaded.append((f.stem, inst))
    loaded.sort(key=lambda t: t[1].n)
    for stem, inst in loaded:
        known, note = _cross_check(solutions.get(stem), TSP_EXPECTED.get(stem), stem)
        yield Case(stem, "tsp", f"n={inst.n}", known, runner(inst.dist), note)
    for stem, inst in loaded:
        for k, opt in zip(range(4, 8), TAKE_OPTIMA.get(stem, ()), strict=False):
            sub = inst.take(k)
            yield Case(f"{stem}[:{k}]", "tsp", f"n={k}", float(opt), runner(sub.dist))


def mdkp_cases(inst_dir: Path) -> Iterator[Case]:
    from qslack.formats.orlib import list_problems, read_mkcbres, read_mknap, read_mknap2

    def runner(inst: Any) -> Callable[[float, int], BaselineResult]:
        return lambda tl, workers: solve_mdkp(
            inst.profits, inst.weights, inst.capacities, time_limit=tl, workers=workers
        )

    def size(inst: Any) -> str:
        return f"{inst.n}x{inst.m}"

    mk1 = inst_dir / "mdkp" / "mknap1.txt"
    if mk1.exists():
        for i, key in enumerate(list_problems(mk1), start=1):
            inst = read_mknap(mk1, int(key))
            exp = MKNAP1_EXPECTED[i - 1] if i <= len(MKNAP1_EXPECTED) else None
            known, note = _cross_check(inst.optimum, exp, f"mknap1#{i}")
            yield Case(f"mknap1#{i}", "mdkp", size(inst), known, runner(inst), note)
    mk2 = inst_dir / "mdkp" / "mknap2.txt"
    if mk2.exists():
        for key in list_problems(mk2):
            inst = read_mknap2(mk2, key)
            known, note = _cross_check(inst.optimum, MKNAP2_EXPECTED.get(key.upper()), key)
            yield Case(key, "mdkp", size(inst), known, runner(inst), note)
    cb1 = inst_dir / "mdkp" / "mknapcb1.txt"
    res = inst_dir / "mdkp" / "best-feasible-slns.txt"
    if cb1.exists() and res.exists():
        table = read_mkcbres(res)
        for i in range(1, N_MKNAPCB1 + 1):
            inst = read_mknap(cb1, i)
            row = f"5.100-{i - 1:02d}"
            best = table.get(row, {}).get("best")
            known, note = _cross_check(best, None, row)
            note = note or f"best-known {row}"
            yield Case(f"mknapcb1#{i}", "mdkp", size(inst), known, runner(inst), note)


def mis_cases(inst_dir: Path) -> Iterator[Case]:
    from qslack.formats.dimacs import read_dimacs, read_opt_sol

    graphs = []
    for f in sorted((inst_dir / "mis").glob("*.gph")):
        g = read_dimacs(f)
        if g.n_nodes <= MAX_MIS_NODES:
            graphs.append((f, g))
    graphs.sort(key=lambda t: (t[1].n_nodes, t[0].name))
    for f, g in graphs:
        stem = f.name[: -len(".gph")]
        sol = f.with_name(stem + ".opt.sol")
        stated = read_opt_sol(sol)[0] if sol.exists() else None
        known, note = _cross_check(stated, MIS_EXPECTED.get(stem), stem)
        weights = np.ones(g.n_nodes) if g.weights is None else np.asarray(g.weights, float)
        edges = np.asarray(g.edges)

        def run(
            tl: float, workers: int, g: Any = g, edges: np.ndarray = edges, w: np.ndarray = weights
        ) -> BaselineResult:
            return solve_mis(g.n_nodes, edges, w, time_limit=tl, workers=workers)

        yield Case(stem, "mis", f"{g.n_nodes}v/{len(edges)}e", known, run, note)


# --------------------------------------------------------------------------- #
# running and printing
# --------------------------------------------------------------------------- #
def run_cases(cases: list[Case], time_limit: float, workers: int, quiet: bool) -> list[Row]:
    rows = []
    for i, c in enumerate(cases, start=1):
        r = c.run(time_limit, workers)
        match = _same(r.objective, c.known)
        rows.append(
            Row(
                c.name, c.problem, c.size, c.known, r.objective, r.bound, r.optimal,
                r.status, r.wall_s, match, c.note,
            )
        )  # fmt: skip
        if not quiet:
            flag = "ok" if match else "MISMATCH"
            print(
                f"[{i:3d}/{len(cases)}] {c.name:<16} known {_fmt(c.known):>10} found "
                f"{_fmt(r.objective):>10} bound {_fmt(r.bound):>10} {r.status:<8} "
                f"{r.wall_s:7.2f}s {flag}",
                file=sys.stderr,
                flush=True,
            )
    return rows


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:.0f}" if v == round(v) else f"{v:g}"


def print_table(rows: list[Row], total_s: float) -> None:
    headers = ["name", "problem", "size", "known", "found", "bound", "proven optimal",
               "wall s", "match", "note"]  # fmt: skip
    cells = [
        [
            r.name, r.problem, r.size, _fmt(r.known), _fmt(r.found), _fmt(r.bound),
            "yes" if r.optimal else "no", f"{r.wall_s:.2f}", "yes" if r.match else "NO", r.note,
        ]
        for r in rows
    ]  # fmt: skip
    n_bad = sum(not r.match for r in rows)
    n_unproven = sum(not r.optimal for r in rows)
    summary = (
        f"{len(rows)} instances, {len(rows) - n_bad} match, {n_bad} mismatch, "
        f"{n_unproven} not proven optimal; total {total_s:.1f} s"
    )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(headers)]
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for c in cells:
            print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))
        print(summary)
        return
    table = Table(title="Known optima reproduced by OR-Tools", caption=summary)
    for h in headers:
        table.add_column(
            h, justify="right" if h in ("known", "found", "bound", "wall s") else "left"
        )
    for r, c in zip(rows, cells, strict=True):
        style = None if r.match else "bold red"
        if r.match and not r.optimal:
            style = "yellow"
        table.add_row(*c, style=style)
    Console(width=160).print(table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    ap.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    ap.add_argument("--only", choices=("tsp", "mdkp", "mis"), help="one problem class only")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--quiet", action="store_true", help="no per-instance progress on stderr")
    ap.add_argument(
        "--instances", type=Path, default=ROOT / "instances", help="the instances folder"
    )
    args = ap.parse_args(argv)
    if args.time_limit <= 0:
        ap.error("--time-limit must be positive")
    makers = {"tsp": tsp_cases, "mdkp": mdkp_cases, "mis": mis_cases}
    cases: list[Case] = []
    for key, make in makers.items():
        if args.only in (None, key):
            cases.extend(make(args.instances))
    if not cases:
        print(f"no instances found under {args.instances}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    rows = run_cases(cases, args.time_limit, args.workers, args.quiet)
    total = time.perf_counter() - t0
    if args.json:
        out = {
            "time_limit": args.time_limit,
            "workers": args.workers,
            "total_s": round(total, 3),
            "n_mismatch": sum(not r.match for r in rows),
            "rows": [r.to_dict() for r in rows],
        }
        print(json.dumps(out, indent=2))
    else:
        print_table(rows, total)
    return 1 if any(not r.match for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
