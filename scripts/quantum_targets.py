"""Issue 11's table: per instance group x configuration, median [IQR] of what the final QAOA state is worth.

Reads stored runs (``qslack sweep scripts/suites/quantum-targets-*.toml --db DB``) and writes a
Markdown table (and JSON) with, per (instance group, configuration): the number of runs, median
[IQR] of the final step's P(optimal), P(feasible), TTS99 (shots), approximation ratio and
ground_rank, and the counted budget (circuit evaluations and shots over the run, median).
Generated instances differing only in their seed (``gen-mdkp-...-s3``) form one group; a
configuration is named from the stored configuration (method, sampler, ansatz, depth,
schedule, optimiser), so whatever ran is what the row says.  The exact P(optimal) of uniform
random bitstrings (optimal states / 2**n, brute force) is given per group beside them.

Usage::

    .venv/bin/python scripts/quantum_targets.py DB [DB ...] --out reports/quantum-targets.md
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

import numpy as np


def config_label(cfg: dict[str, Any]) -> str:
    """A short, complete name of what ran (method, sampler, ansatz, depth, angles)."""
    m = cfg["method"]
    opts = cfg.get("options") or {}
    if opts:
        m += "(" + ",".join(f"{k}={v}" for k, v in sorted(opts.items())) + ")"
    s = cfg["sampler"]
    if s != "qaoa":
        tl = cfg.get("sampler_time_limit")
        extra = f", {tl:g} s/step" if tl else ""
        return f"{m} · {s} ({cfg['shots']} reads{extra})" if s in ("sa", "tabu") else f"{m} · {s}"
    mixer = cfg.get("mixer", "x")
    init = cfg.get("init", "uniform")
    ans = mixer
    if mixer == "warm" or init == "warm":
        ans = f"{mixer}[{cfg.get('warm_start')}, eps={cfg.get('eps')}]"
    elif mixer.startswith("xy"):
        ans = f"{mixer}[{cfg.get('onehot') or 'all'}]"
    if init not in ("uniform", "one-hot", "warm") or (mixer == "x" and init != "uniform"):
        ans += f" from {init}"
    p = cfg["p"]
    if p == 0:
        return f"{m} · {ans} · p=0"
    sched = cfg.get("schedule", "default")
    opt = cfg.get("optimizer", "cobyla")
    slopes = cfg.get("lr_slopes")
    angles = "LR" if sched == "lr" else "ramp"
    if sched == "lr" and slopes:
        angles += f"({slopes[0]:g},{slopes[1]:g})"
    if opt == "none" or cfg.get("qaoa_maxiter") == 0:
        angles += " fixed"
    else:
        what = "slopes" if cfg.get("params") == "ramp" else "angles"
        angles += f" + {opt} {cfg.get('qaoa_maxiter')} ({what})"
    rho = cfg.get("rho")
    r = "" if rho in (None, 1.0) else f" · rho={rho:g}"
    return f"{m} · {ans} · p={p} · {angles}{r}"


def group_of(run: dict[str, Any]) -> str:
    """Instance group: the name without a generator's seed, with ``--take``."""
    inst = run["instance"]
    name = re.sub(r"-s\d+$", "-s*", str(inst.get("name", run["instance_name"])))
    if inst.get("take") and not name.endswith(f"[:{inst['take']}]"):
        name += f" --take {inst['take']}"
    return name


def _q(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    # quartiles without interpolation: a TTS of inf (never seen) stays inf, not inf - inf = nan
    q1, q3 = np.percentile(a, [25, 75], method="inverted_cdf")
    with np.errstate(invalid="ignore"):
        return float(np.median(a)), float(q1), float(q3)


def _fmt(v: float | None, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if kind == "p":
        return f"{v:.2e}" if v < 0.01 else f"{v:.3f}"
    if kind == "int":
        return f"{v:,.0f}"
    return f"{v:.3f}"


def _cell(q: tuple[float, float, float] | None, kind: str) -> str:
    if q is None:
        return "–"
    return f"{_fmt(q[0], kind)} [{_fmt(q[1], kind)}, {_fmt(q[2], kind)}]"


def uniform_p_optimal(run: dict[str, Any]) -> float | None:
    """Exact P(optimal) of uniform bitstrings over the program's variables (n <= 22)."""
    from qslack.model.lagrangian import LagrangianForm
    from qslack.problems.catalog import build_program, load_instance

    cfg = run["options"]["config"]
    if run["known_optimum"] is None or run["n_qubits"] > 22:
        return None
    loaded = load_instance(
        cfg["instance"], fmt=cfg.get("fmt"), problem=cfg.get("problem"), take=cfg.get("take")
    )
    prog = build_program(loaded, encoding=cfg.get("encoding", "position"))
    if prog.n_vars > 22:
        return None
    form = LagrangianForm(prog)
    opt = float(prog.native(run["known_optimum"]))
    mask = form.feasible_mask() & np.isclose(form.objective_diagonal, opt, atol=1e-6)
    return float(mask.sum()) / float(1 << prog.n_vars)


def collect(dbs: list[str]) -> list[dict[str, Any]]:
    """One row per (group, configuration) over every finished run of the stores."""
    from qslack.store.db import Store

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    uniform_of: dict[str, float | None] = {}  # instance name -> exact uniform P(optimal)
    members: dict[str, set[str]] = {}  # group -> instance names
    for db in dbs:
        with Store(db, create=False) as store:
            for run in store.list_runs():
                cfg = (run.get("options") or {}).get("config")
                if cfg is None:
                    continue
                key = (group_of(run), config_label(cfg))
                row = rows.setdefault(key, {"runs": []})
                if run["status"] == "does-not-fit":
                    row["does_not_fit"] = run.get("message")
                    continue
                if run["status"] != "finished" or not run.get("result"):
                    continue
                row["runs"].append(run["result"])
                name = run["instance_name"] + f"|{run['instance'].get('take')}"
                members.setdefault(key[0], set()).add(name)
                if name not in uniform_of:
                    uniform_of[name] = uniform_p_optimal(run)
    uniform = {
        g: [v for v in (uniform_of[n] for n in names) if v is not None] for g, names in members.items()
    }
    out = []
    for (group, label), row in sorted(rows.items()):
        rs = row["runs"]

        def vals(k: str, rs: list[dict[str, Any]] = rs) -> list[float]:
            return [float(r[k]) for r in rs if r.get(k) is not None]

        tts = [float(r["tts99_shots"]) if r.get("tts99_shots") is not None else math.inf for r in rs]
        out.append(
            {
                "group": group,
                "config": label,
                "n": len(rs),
                "does_not_fit": row.get("does_not_fit"),
                "p_optimal": _q(vals("p_optimal")),
                "p_feasible": _q(vals("p_feasible")),
                "tts99_shots": _q(tts) if tts else None,
                "approx_ratio": _q(vals("approx_ratio")),
                "ground_rank": _q(vals("ground_rank")),
                "circuit_evals": statistics.median(vals("circuit_evals")) if rs else None,
                "shots_total": statistics.median(vals("shots_total")) if rs else None,
                "wall_s": statistics.median(vals("wall_s")) if rs else None,
                "estimated_from_shots": any(r.get("estimated_from_shots") for r in rs),
                "uniform_p_optimal": _q(uniform.get(group, [])),
            }
        )
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    """The tables, one per instance group."""
    lines: list[str] = []
    for group in sorted({r["group"] for r in rows}):
        rs = [r for r in rows if r["group"] == group]
        u = next((r["uniform_p_optimal"] for r in rs if r["uniform_p_optimal"]), None)
        lines += [f"### {group}", ""]
        if u is not None:
            lines += [f"Uniform random bitstrings: P(optimal) = {_cell(u, 'p')} (exact, median [IQR]).", ""]
        lines += [
            "| configuration | runs | P(optimal) | P(feasible) | TTS99 [shots] | approx ratio | ground rank "
            "| circuit evals | shots | wall [s] |",
            "|---|---:|---|---|---|---|---|---:|---:|---:|",
        ]
        rs.sort(key=lambda r: -(r["p_optimal"][0] if r["p_optimal"] else -1.0))
        for r in rs:
            if r["does_not_fit"] and not r["n"]:
                lines.append(f"| {r['config']} | 0 | {r['does_not_fit']} | | | | | | | |")
                continue
            star = " (shots)" if r["estimated_from_shots"] else ""
            lines.append(
                f"| {r['config']} | {r['n']} | {_cell(r['p_optimal'], 'p')}{star} "
                f"| {_cell(r['p_feasible'], 'p')} "
                f"| {_cell(r['tts99_shots'], 'int')} | {_cell(r['approx_ratio'], 'r')} "
                f"| {_cell(r['ground_rank'], 'int')} | {_fmt(r['circuit_evals'], 'int')} "
                f"| {_fmt(r['shots_total'], 'int')} | {_fmt(r['wall_s'], 'r')} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", nargs="+")
    ap.add_argument("--out", type=Path, default=None, help="Markdown file (a .json twin beside it)")
    ap.add_argument("--preamble", type=Path, default=None, help="Markdown put before the tables")
    args = ap.parse_args()
    rows = collect(args.db)
    text = markdown(rows)
    if args.preamble is not None:
        text = args.preamble.read_text().rstrip() + "\n\n" + text
    if args.out is None:
        print(text)
        return
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
