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

``--big 32 33`` instead runs the large-size check on the GPU: a complex64 state
and a float32 diagonal built on the device from a seeded random QUBO (no
``2**n`` host array), one p=2 evaluation timed, the norm of the state and the
energy checked against the diagonal's range, and at the sizes where a second
state fits, the exact gradient's value against the evaluation.  One JSON line
per size.
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


def big_check(sizes) -> int:
    """complex64 state + float32 diagonal built on the device, one evaluation per size."""
    from qslack.model.qubo import QUBO

    if not gpu_available():
        print(json.dumps({"big": sizes, "skipped": "no CUDA GPU"}), flush=True)
        return 0
    import cupy as cp

    ok = True
    for n in sizes:
        rng = np.random.default_rng(n)
        q = QUBO(np.triu(rng.normal(size=(n, n))), offset=float(rng.normal()))
        shift = q.diagonal_shift()
        row = {"n": n, "dtype": "complex64", "diag_dtype": "float32"}
        try:
            sim = GPUStatevectorSimulator(n, dtype=np.complex64, diag_dtype=np.float32)
        except Exception as exc:  # report and go on: the size does not fit this device
            row["skipped"] = str(exc)
            print(json.dumps(row), flush=True)
            continue
        t0 = time.perf_counter()
        d = sim.diagonal_from_qubo(q, shift=shift)
        cp.cuda.Device().synchronize()
        row["diag_s"] = time.perf_counter() - t0
        scale = q.to_ising().scale
        sim.run(d, GAMMAS, BETAS, scale=scale, shift=shift)  # warm-up (kernel compile)
        t0 = time.perf_counter()
        sim.run(d, GAMMAS, BETAS, scale=scale, shift=shift)
        e = sim.expectation(d, shift=shift)
        row["eval_s"] = time.perf_counter() - t0
        row["energy"] = e
        lo, hi = float(d.min()) + shift, float(d.max()) + shift
        norm2 = cp.ReductionKernel(
            "complex64 x",
            "float64 y",
            "(double)x.real() * x.real() + (double)x.imag() * x.imag()",
            "a + b",
            "y = a",
            "0",
            "norm2",
        )  # no 2**n temporary
        nrm = float(norm2(sim.state))
        row["norm"] = nrm
        row["energy_in_range"] = bool(lo - 1e-6 * abs(lo) <= e <= hi + 1e-6 * abs(hi))
        row["norm_ok"] = bool(abs(nrm - 1.0) < 1e-3)
        free, _total = cp.cuda.runtime.memGetInfo()
        row["gpu_free_gib"] = free / 2**30
        if free > (8 << n) * 1.1:
            t0 = time.perf_counter()
            v, dg, db = sim.gradient(d, GAMMAS, BETAS, scale=scale, shift=shift)
            row["grad_s"] = time.perf_counter() - t0
            row["grad_value_matches"] = bool(abs(v - e) <= 1e-3 * max(1.0, abs(e)))
            row["grad"] = [float(v) for v in np.concatenate([dg, db])]
            ok = ok and row["grad_value_matches"]
        ok = ok and row["energy_in_range"] and row["norm_ok"]
        print(json.dumps(row), flush=True)
        del sim, d
        cp.get_default_memory_pool().free_all_blocks()
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[12, 14, 16, 18, 20, 22, 24, 26, 28, 29, 30])
    ap.add_argument("--cpu-max", type=int, default=26)
    ap.add_argument("--gpu-max", type=int, default=30)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=150.0, help="stop starting new n after this")
    ap.add_argument("--big", type=int, nargs="*", default=None, help="large-size GPU check at these n")
    args = ap.parse_args(argv)
    if args.big:
        return big_check(args.big)

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
