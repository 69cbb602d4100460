#!/usr/bin/env python
"""Time one p=2 QAOA expectation evaluation: CuPy kernel vs numba CPU kernel.

Needs only numpy, numba and CuPy (no qiskit, no scipy).  For each n prints one
JSON line ``{"n", "gpu_s", "cpu_s", "gpu_c64_s", "ratio_cpu_over_gpu",
"energies_agree"}`` (``null`` where not run), then
``{"crossover_n_gpu_beats_cpu": ...}``: the smallest n from which the GPU beats
the CPU at every larger n measured.

Run from the repository root: ``PYTHONPATH=. python3 scripts/bench_gpu.py``.
The CPU runs up to ``--cpu-max`` (default 26), the GPU up to ``--gpu-max``
(default 30, skipped where the state and diagonal do not fit in GPU memory).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qslack.samplers.qaoa.kernel import StatevectorSimulator  # noqa: E402
from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator, gpu_available  # noqa: E402

GAMMAS = [0.21, 0.43]
BETAS = [0.62, 0.31]


def median_time(fn, reps):
    value = fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--n", type=int, nargs="+", default=[12, 14, 16, 18, 20, 22, 24, 26, 28, 29, 30]
    )
    ap.add_argument("--cpu-max", type=int, default=26)
    ap.add_argument("--gpu-max", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=150.0, help="stop starting new n after this")
    args = ap.parse_args(argv)

    have_gpu = gpu_available()
    if have_gpu:
        import cupy as cp

        dev = cp.cuda.runtime.getDeviceProperties(cp.cuda.runtime.getDevice())
        name = dev["name"].decode() if isinstance(dev["name"], bytes) else dev["name"]
        print(json.dumps({"device": name, "cupy": cp.__version__}), flush=True)
    else:
        print(json.dumps({"device": None, "note": "no CUDA GPU: CPU timings only"}), flush=True)
    t_start = time.perf_counter()
    rows = []
    for n in args.n:
        if time.perf_counter() - t_start > args.budget_s:
            print(json.dumps({"n": n, "skipped": "time budget"}), flush=True)
            continue
        row = {"n": n, "gpu_s": None, "cpu_s": None, "gpu_c64_s": None}
        e_cpu = e_gpu = None
        run_cpu = n <= args.cpu_max
        diag_host = None
        if run_cpu:
            diag_host = np.random.default_rng(n).normal(size=1 << n)
            sim = StatevectorSimulator(n)

            def cpu_once(sim=sim, d=diag_host):
                sim.run(d, GAMMAS, BETAS)
                return sim.expectation(d)

            row["cpu_s"], e_cpu = median_time(cpu_once, max(1, args.reps - 2))
            del sim
        if have_gpu and n <= args.gpu_max:
            free, _ = cp.cuda.runtime.memGetInfo()
            need = (16 + 8 + 8) << n  # state, diagonal, headroom
            if need < free:
                if diag_host is not None:
                    d_dev = cp.asarray(diag_host)
                else:
                    d_dev = cp.random.default_rng(n).standard_normal(1 << n, dtype=cp.float64)
                for dtype, key in ((np.complex128, "gpu_s"), (np.complex64, "gpu_c64_s")):
                    gsim = GPUStatevectorSimulator(n, dtype=dtype)

                    def gpu_once(gsim=gsim, d=d_dev):
                        gsim.run(d, GAMMAS, BETAS)
                        return gsim.expectation(d)  # float(): synchronises

                    row[key], e = median_time(gpu_once, args.reps)
                    if dtype == np.complex128:
                        e_gpu = e
                    del gsim
                    cp.get_default_memory_pool().free_all_blocks()
                del d_dev
                cp.get_default_memory_pool().free_all_blocks()
            else:
                row["gpu_note"] = f"needs {need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free"
        if row["gpu_s"] and row["cpu_s"]:
            row["ratio_cpu_over_gpu"] = row["cpu_s"] / row["gpu_s"]
        if e_cpu is not None and e_gpu is not None:
            row["energies_agree"] = bool(abs(e_cpu - e_gpu) <= 1e-9 * max(1.0, abs(e_cpu)))
        rows.append(row)
        print(json.dumps(row), flush=True)
    both = [r for r in rows if r["gpu_s"] and r["cpu_s"]]
    crossover = None
    for i, r in enumerate(both):
        if all(s["gpu_s"] < s["cpu_s"] for s in both[i:]):
            crossover = r["n"]
            break
    print(json.dumps({"crossover_n_gpu_beats_cpu": crossover}), flush=True)
    bad = [r["n"] for r in rows if r.get("energies_agree") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
