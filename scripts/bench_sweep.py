"""Sweep throughput on Dask: runs per minute with 1 and 2 local workers, and Dask's overhead.

The same suite (default: MDKP mknap1#2 and #3, 10 and 15 qubits, x 2 methods x 3 seeds of
QAOA p=2, 60 COBYLA evaluations, 6 dual steps, one thread per run) runs three ways, each in
a fresh Python process and a fresh store, so every mode pays its own imports and
compilation-cache loads:

- ``loop``: the runs one after another in one process (``qslack.runs.stored.solve`` in a
  loop: what the sweep did per run before Dask, without a process per run);
- ``dask-1``: ``run_suite(cluster="local:1")`` (a LocalCluster of one worker process);
- ``dask-2``: ``run_suite(cluster="local:2")``.

Printed: wall seconds (inside the process, after ``import qslack``, and for the whole
process), runs per minute, Dask's overhead against the loop (``dask-1 / loop - 1``) and the
speed-up of 2 workers over 1.  Each mode is repeated ``--repeat`` times in turn (loop,
dask-1, dask-2, loop, ...) and the median is reported, so a busy machine affects every mode
alike; the load average is printed before and after.

Usage::

    .venv/bin/python scripts/bench_sweep.py [--repeat 2] [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """name = "bench-sweep"
seeds = {seeds}
methods = ["bundle", "subgradient"]
[budget]
sampler = "qaoa"
p = 2
shots = 500
qaoa_maxiter = 60
iters = 6
threads = 1
reference_time_limit = 5.0
[[instance]]
spec = "mknap1#2"
[[instance]]
spec = "mknap1#3"
"""

MODES = ("loop", "dask-1", "dask-2")


def _child(mode: str, suite: str, db: str) -> None:
    """One mode in this (fresh) process; prints a JSON line."""
    t0 = time.perf_counter()
    from qslack.runs.sweep import load_suite, run_suite

    s = load_suite(suite)
    ends: list[float] = []
    if mode == "loop":
        from qslack.runs import stored
        from qslack.store.db import Store

        statuses: dict[str, int] = {}
        with Store(db) as store:
            for cfg in s.configs:
                _, res, _ = stored.solve(cfg, store)
                ends.append(time.perf_counter() - t0)
                st = "does-not-fit" if res is None else res.status
                statuses[st] = statuses.get(st, 0) + 1
    else:
        out = run_suite(
            s,
            db,
            cluster="local:" + mode.split("-")[1],
            on_done=lambda *_: ends.append(time.perf_counter() - t0),
        )
        statuses = out["statuses"]
    wall = time.perf_counter() - t0
    row = {"mode": mode, "runs": len(s.configs), "statuses": statuses, "wall_s": wall, "ends": ends}
    print(json.dumps(row))


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "SUITE", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    suite = tmp / "suite.toml"
    suite.write_text(SUITE.format(seeds=list(range(args.seeds))))
    rows: dict[str, list[dict]] = {m: [] for m in MODES}
    load_before = _load()
    for rep in range(args.repeat):
        for mode in MODES:
            db = tmp / f"{mode}-{rep}.db"
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(suite), str(db)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["process_s"] = time.perf_counter() - t0
            rows[mode].append(row)
    load_after = _load()
    summary = {}
    for mode in MODES:
        wall = statistics.median(r["wall_s"] for r in rows[mode])
        proc = statistics.median(r["process_s"] for r in rows[mode])
        n = rows[mode][0]["runs"]
        w = 1 if mode == "loop" else int(mode.split("-")[1])
        # after every worker's first run (imports, compiled-kernel caches): the steady rate
        steady = [60 * (n - w) / (r["ends"][-1] - r["ends"][w - 1]) for r in rows[mode]]
        summary[mode] = {
            "runs": n,
            "statuses": rows[mode][-1]["statuses"],
            "wall_s": wall,
            "process_s": proc,
            "runs_per_min": 60 * n / wall,
            "steady_runs_per_min": statistics.median(steady),
            "first_end_s": statistics.median(r["ends"][0] for r in rows[mode]),
            "walls": [round(r["wall_s"], 2) for r in rows[mode]],
        }
    steady = {m: summary[m]["steady_runs_per_min"] for m in MODES}
    ratios = {
        "dask1_overhead": summary["dask-1"]["wall_s"] / summary["loop"]["wall_s"] - 1,
        "dask1_steady_overhead": steady["loop"] / steady["dask-1"] - 1,
        "dask2_steady_speedup_over_dask1": steady["dask-2"] / steady["dask-1"],
        "dask2_speedup_over_dask1": summary["dask-1"]["wall_s"] / summary["dask-2"]["wall_s"],
        "dask2_speedup_over_loop": summary["loop"]["wall_s"] / summary["dask-2"]["wall_s"],
    }
    result = {
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "repeat": args.repeat,
        "modes": summary,
        "ratios": ratios,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    n_runs = summary["loop"]["runs"]
    print(f"suite: {n_runs} runs (mknap1#2, mknap1#3 x bundle/subgradient x {args.seeds} seeds,")
    print("       QAOA p=2, 500 shots, 60 COBYLA evaluations, 6 dual steps, 1 thread per run)")
    print(f"machine: {os.cpu_count()} CPUs; load average before {load_before}, after {load_after}")
    print(f"median of {args.repeat} repeats, modes interleaved; each mode in a fresh process and store\n")
    head = f"{'mode':8} {'wall s':>8} {'process s':>10} {'1st run s':>10} {'runs/min':>9} {'steady':>7}"
    print(head + "  walls")
    for mode in MODES:
        m = summary[mode]
        print(
            f"{mode:8} {m['wall_s']:8.1f} {m['process_s']:10.1f} {m['first_end_s']:10.1f} "
            f"{m['runs_per_min']:9.1f} {m['steady_runs_per_min']:7.1f}  {m['walls']}"
        )
    print("(1st run s: when the first run ended; steady: runs/min after each worker's first run)")
    print()
    over = 100 * ratios["dask1_overhead"]
    print(f"Dask overhead, 1 worker vs the in-process loop, whole sweep: {over:+.0f} %")
    print(f"  steady state (after start-up): {100 * ratios['dask1_steady_overhead']:+.0f} %")
    print(f"2 workers vs 1 worker, whole sweep: {ratios['dask2_speedup_over_dask1']:.2f}x, "
          f"steady state: {ratios['dask2_steady_speedup_over_dask1']:.2f}x")
    print(f"2 workers vs the in-process loop, whole sweep: {ratios['dask2_speedup_over_loop']:.2f}x")


if __name__ == "__main__":
    main()
