"""The same slack-free solve noiseless (statevector) and on a noisy fake backend, side by side.

    .venv/bin/python scripts/hardware_compare.py [--instance mknap1#1] [--profile fake-torino]
        [--method bundle] [--iters 8] [--p 2] [--seeds 0 1 2] [--db out/hardware.db]

Per setting, over the seeds: feasible rate (share of seeds whose final raw best is
feasible), median gap of the raw best, mean final-step feasible share of the shots,
and for the noisy backend the transpiled ISA circuit's depth and two-qubit gate count.
"""

from __future__ import annotations

import argparse
import statistics

from qslack.runs import config as runner
from qslack.runs import stored
from qslack.store.db import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instance", default="mknap1#1")
    ap.add_argument("--profile", default="fake-torino")
    ap.add_argument("--method", default="bundle")
    ap.add_argument("--iters", type=int, default=8)
    ap.add_argument("--p", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--db", default="out/hardware.db")
    args = ap.parse_args()
    rows = []
    with Store(args.db) as store:
        for label, profile in (("statevector (noiseless)", None), (args.profile, args.profile)):
            results = []
            for seed in args.seeds:
                cfg = runner.SolveConfig(
                    instance=args.instance,
                    method=args.method,
                    p=args.p,
                    iters=args.iters,
                    seed=seed,
                    profile=profile,
                    shots=2048,
                )
                _, res, _ = stored.solve(cfg, store)
                isa = res.history[-1].sampler_info.get("isa") if res.history else None
                results.append((res, isa))
            gaps = [r.gap if r.gap is not None else float("inf") for r, _ in results]
            isa = results[-1][1] or {}
            rows.append(
                {
                    "setting": label,
                    "feasible_rate": sum(r.feasible for r, _ in results) / len(results),
                    "median_gap": statistics.median(gaps),
                    "mean_feasible_share": statistics.mean(r.history[-1].feasible_share for r, _ in results),
                    "depth": isa.get("depth"),
                    "two_qubit_gates": isa.get("two_qubit_gates"),
                    "wall_s": statistics.median(r.wall_s for r, _ in results),
                }
            )
    print(f"{args.instance}, {args.method}, p={args.p}, {args.iters} steps, seeds {args.seeds}")
    print(
        f"{'setting':26} {'feasible':>8} {'med gap %':>9} {'feas share':>10} {'depth':>6} "
        f"{'2q gates':>8} {'wall s':>7}"
    )
    for r in rows:
        gap = "inf" if r["median_gap"] == float("inf") else f"{100 * r['median_gap']:.2f}"
        print(
            f"{r['setting']:26} {r['feasible_rate']:>8.2f} {gap:>9} {r['mean_feasible_share']:>10.3f} "
            f"{r['depth'] or '-':>6} {r['two_qubit_gates'] or '-':>8} {r['wall_s']:>7.1f}"
        )


if __name__ == "__main__":
    main()
