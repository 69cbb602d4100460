"""P(optimal) of the final QAOA state: X mixer vs structured ansätze, fixed (lam, rho).

Two measurements (not timed tests):

* TSP ``five_d`` (5 cities, position encoding, 16 qubits): the X mixer on the
  full Lagrangian QUBO vs the XY ring / complete mixers on the ``"col"``
  one-hot groups (one group of cities per position), whose rows the form leaves
  out (``LagrangianForm(enforced=...)``): only the ``"row"`` rows keep a
  multiplier.
* MDKP ``gen:mdkp?n=16&m=5&tightness=0.25&seed=1``: the X mixer vs warm-start
  QAOA from the LP relaxation and from the greedy solution (eps = 0.25), and
  from the LP relaxation with eps = 0.1 (at eps = 0.25 every fractional LP
  value of this instance is clipped, so LP and greedy give the same state).

For every ansatz and ``p = 0..P``: the multipliers are the defaults
(``default_multipliers``), the optimiser is COBYLA with ``--evals`` evaluations
from two starts (the sampler's default ramp, and the LR-QAOA ramp with the
default slopes), plus LR-QAOA itself (no optimiser evaluation).  P(optimal) is
the final state's total probability on feasible bitstrings whose objective
equals the optimum (found by brute force over all ``2**16`` states; every
copy of an optimal tour counts).

Usage::

    .venv/bin/python scripts/ansatz_compare.py --p-max 5 --evals 60 \\
        --json reports/ansatz_compare.json --md reports/ansatz_compare.md
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import numpy as np

from qslack.model.lagrangian import LagrangianForm
from qslack.model.onehot import one_hot_groups
from qslack.model.relax import greedy_solution, lp_relaxation
from qslack.problems.catalog import build_program, load_instance
from qslack.samplers.qaoa.sampler import QAOASampler


def _defaults(form: LagrangianForm) -> tuple[np.ndarray, np.ndarray]:
    from qslack.dual import default_multipliers

    return default_multipliers(form)


def _optimal_mask(form: LagrangianForm) -> tuple[np.ndarray, float]:
    obj = form.objective_diagonal
    feas = form.feasible_mask()
    best = float(obj[feas].min())
    return feas & (np.abs(obj - best) <= 1e-9 * max(1.0, abs(best))), best


def _runs(name: str, form: LagrangianForm, kw: dict[str, Any], args: argparse.Namespace) -> list[dict]:
    lam, rho = _defaults(form)
    qubo = form.qubo(lam, rho)
    opt, best = _optimal_mask(form)
    feas = form.feasible_mask()
    known = form.program.metadata.get("known_optimum")
    native = float(form.program.native(best))
    if known is not None and abs(native - known) > 1e-6 * max(1.0, abs(known)):
        raise SystemExit(f"brute-force optimum {native} differs from the known optimum {known}")
    print(f"{name}: optimum {native} (known: {known}), {int(opt.sum())} optimal states", flush=True)
    rows = []
    for p in range(args.p_max + 1):
        variants = (
            [("p0", {})]
            if p == 0
            else [
                ("cobyla/default-start", {"maxiter": args.evals}),
                ("cobyla/lr-start", {"maxiter": args.evals, "schedule": "lr"}),
                ("lr-qaoa", {"schedule": "lr", "optimizer": "none"}),
            ]
        )
        for label, vkw in variants:
            t0 = time.perf_counter()
            s = QAOASampler(p=p, shots=1, seed=args.seed, threads=1, **kw, **vkw)
            ss = s.sample(qubo)
            pr = ss.probabilities
            rows.append(
                {
                    "ansatz": name,
                    "p": p,
                    "run": label,
                    "p_opt": float(pr[opt].sum()),
                    "p_feasible": float(pr[feas].sum()),
                    "expectation": float(ss.info["expectation"]),
                    "n_evals": int(ss.info["n_optimizer_evals"]),
                    "seconds": time.perf_counter() - t0,
                    "optimum_internal": best,
                    "n_optimal_states": int(opt.sum()),
                }
            )
            r = rows[-1]
            print(
                f"{name:24s} p={p} {label:22s} P(opt)={r['p_opt']:.4f} P(feas)={r['p_feasible']:.4f} "
                f"evals={r['n_evals']:3d} {r['seconds']:.1f}s",
                flush=True,
            )
    return rows


def tsp(args: argparse.Namespace) -> list[dict]:
    prog = build_program(load_instance("five_d"))
    cols = one_hot_groups(prog, "col")
    groups = [list(g.variables) for g in cols]
    enforced = [g.row for g in cols]
    out = _runs("tsp/x", LagrangianForm(prog), {}, args)
    for mixer in ("xy-ring", "xy-complete"):
        form = LagrangianForm(prog, enforced=enforced)
        out += _runs(f"tsp/{mixer}", form, {"mixer": mixer, "groups": groups}, args)
    return out


def mdkp(args: argparse.Namespace) -> list[dict]:
    prog = build_program(load_instance("gen:mdkp?n=16&m=5&tightness=0.25&seed=1"))
    form = LagrangianForm(prog)
    _, c_lp = lp_relaxation(prog)
    c_greedy = greedy_solution(prog).astype(float)
    out = _runs("mdkp/x", form, {}, args)
    out += _runs("mdkp/warm-lp", form, {"mixer": "warm", "warm_start": c_lp}, args)
    out += _runs("mdkp/warm-greedy", form, {"mixer": "warm", "warm_start": c_greedy}, args)
    out += _runs("mdkp/warm-lp-eps0.1", form, {"mixer": "warm", "warm_start": c_lp, "eps": 0.1}, args)
    print("LP relaxation c*:", np.round(c_lp, 3).tolist())
    print("greedy solution :", c_greedy.astype(int).tolist())
    return out


def markdown(rows: list[dict]) -> str:
    """P(optimal) per ansatz (rows) and depth (columns), one table per run kind."""
    out = []
    ps = sorted({r["p"] for r in rows})
    for run in ("cobyla/default-start", "cobyla/lr-start", "lr-qaoa"):
        out.append(f"\n**{run}** (p = 0: the initial state alone)\n")
        out.append("| ansatz | " + " | ".join(f"p={p}" for p in ps) + " |")
        out.append("|---|" + "---:|" * len(ps))
        for name in dict.fromkeys(r["ansatz"] for r in rows):
            cells = []
            for p in ps:
                hit = [r for r in rows if r["ansatz"] == name and r["p"] == p and r["run"] in (run, "p0")]
                v = hit[0]["p_opt"] if hit else None
                cells.append("" if v is None else f"{v:.4f}" if v >= 1e-3 else f"{v:.1e}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p-max", type=int, default=5)
    ap.add_argument("--evals", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=("tsp", "mdkp"), default=None)
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--md", default=None, help="write Markdown tables of P(optimal) here")
    ap.add_argument("--render", default=None, help="only re-render --md from this JSON file")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as fh, open(args.md, "w") as out:
            out.write(markdown(json.load(fh)["rows"]))
        return
    rows: list[dict] = []
    if args.only in (None, "tsp"):
        rows += tsp(args)
    if args.only in (None, "mdkp"):
        rows += mdkp(args)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(markdown(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "machine": platform.platform(), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
