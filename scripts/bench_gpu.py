"""GPU (CuPy) vs CPU (numba) QAOA kernel: one p=2 expectation evaluation per n; the crossover n.

    PYTHONPATH=. python3 scripts/bench_gpu.py [--n 16 18 ...] [--cpu-max 26]

Needs numpy, numba and CuPy only (runs on a GPU machine without qiskit).
Prints one JSON line per n (gpu_s, cpu_s, ratio, energies_agree) and the crossover.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from qslack.samplers.qaoa.kernel import StatevectorSimulator
from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator, gpu_available


def _time(fn, reps: int) -> tuple[float, float]:
    fn()  # warm-up (compile, allocate)
    ts, val = [], 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        val = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), float(val)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[12, 14, 16, 18, 20, 22, 24, 26, 28, 30])
    ap.add_argument("--cpu-max", type=int, default=26)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if not gpu_available():
        raise SystemExit("no GPU")
    import cupy as cp

    g, b = np.array([0.31, 0.62]), np.array([0.55, 0.27])
    crossover = None
    for n in args.n:
        rng = np.random.default_rng(n)
        diag = rng.normal(size=1 << n)
        gpu = GPUStatevectorSimulator(n)
        gpu.set_diagonal(diag)

        def run_gpu() -> float:
            gpu.run(diag, g, b, scale=3.0)
            e = gpu.expectation(diag)
            cp.cuda.Device().synchronize()
            return e

        gpu_s, e_gpu = _time(run_gpu, args.reps)
        row = {"n": n, "gpu_s": gpu_s, "cpu_s": None, "ratio_cpu_over_gpu": None, "energies_agree": None}
        cp.get_default_memory_pool().free_all_blocks()
        if n <= args.cpu_max:
            cpu = StatevectorSimulator(n)

            def run_cpu() -> float:
                cpu.run(diag, g, b, scale=3.0)
                return cpu.expectation(diag)

            cpu_s, e_cpu = _time(run_cpu, max(1, args.reps - 1) if n >= 24 else args.reps)
            row.update(
                cpu_s=cpu_s,
                ratio_cpu_over_gpu=cpu_s / gpu_s,
                energies_agree=bool(abs(e_cpu - e_gpu) <= 1e-8 * max(1.0, abs(e_cpu))),
            )
            if crossover is None and gpu_s < cpu_s:
                crossover = n
        print(json.dumps(row), flush=True)
    print(json.dumps({"crossover_n_gpu_beats_cpu": crossover}))


if __name__ == "__main__":
    main()
