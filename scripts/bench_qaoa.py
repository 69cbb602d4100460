#!/usr/bin/env python
"""Benchmark one QAOA expectation evaluation: our kernel vs Aer vs QOKit.

A dense random Ising cost (all-to-all couplings; h, J, offset from a seeded
numpy Generator) with its diagonal built by O(2**n) doubling, depth p = 2,
fixed angles.  For each n: the median of ``--reps`` timed runs after one
warm-up of

* ours       ``StatevectorSimulator.run`` + ``expectation`` (complex128; also
             complex64 as ours_c64_s),
* aer        Aer statevector: bind the parameters, run with
             ``save_probabilities``, expectation from the probabilities,
* qokit      QOKit's C simulator (``--qokit-python``), through
             /work/shared/bench/qokit_time.py with OMP_WAIT_POLICY=PASSIVE,
* gpu        our CuPy kernel (``--gpu``, when a GPU is available).

The energies of all columns must agree (rtol 1e-7).  ``peak_mb`` is measured in
a separate process that runs only our kernel: its peak resident set (VmHWM,
the quantity ru_maxrss reports, read from /proc because ru_maxrss survives
exec and would carry this process's peak) minus its resident set after
importing numpy, numba and the kernel and running one small warm-up; it
includes the loaded diagonal (8 * 2**n bytes) and the state (16 * 2**n bytes).
``peak_abs_mb`` is that process's absolute peak.
``lam_update_s`` (largest n only) times a multiplier update of the cached
Lagrangian diagonals, ``out = f + lam @ G`` with G of shape (10, 2**n).

Run from the repository root::

    .venv/bin/python scripts/bench_qaoa.py --n 16 20 24 --qokit-python /tmp/qokit-ref/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qslack.samplers.qaoa.kernel import StatevectorSimulator  # noqa: E402

QOKIT_SCRIPT = Path("/work/shared/bench/qokit_time.py")
GAMMAS = np.array([0.21, 0.43])
BETAS = np.array([0.62, 0.31])


def dense_ising(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """h (n,), J (n, n) strictly upper triangular (all pairs), offset."""
    rng = np.random.default_rng(seed)
    h = rng.normal(size=n)
    J = np.triu(rng.normal(size=(n, n)), 1)
    return h, J, float(rng.normal())


def ising_diagonal(h: np.ndarray, J: np.ndarray, offset: float) -> np.ndarray:
    """diag[k] = offset + sum_j h_j z_j + sum_{i<j} J_ij z_i z_j, z_j = 1 - 2 bit_j(k).

    Built by doubling: for qubit j the half with bit j = 0 gets
    ``+ (h_j + L_j)`` and the half with bit j = 1 gets ``- (h_j + L_j)``, where
    ``L_j[k] = sum_{i<j} J_ij z_i(k)`` is itself built by doubling.  O(2**n).
    """
    n = h.size
    diag = np.empty(1 << n)
    diag[0] = offset
    lin = np.empty(max(1, 1 << (n - 1)))
    for j in range(n):
        m = 1 << j
        lin[0] = h[j]
        for i in range(j):  # lin[:2**j] = h_j + sum_{i<j} J_ij z_i
            s = 1 << i
            np.subtract(lin[:s], J[i, j], out=lin[s : 2 * s])
            lin[:s] += J[i, j]
        np.subtract(diag[:m], lin[:m], out=diag[m : 2 * m])
        diag[:m] += lin[:m]
    return diag


def median_time(fn, reps: int) -> tuple[float, object]:
    value = fn()  # warm-up (compilation, page faults)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), value


def bench_ours(diag, scale, reps, dtype=np.complex128):
    n = int(diag.size).bit_length() - 1
    sim = StatevectorSimulator(n, dtype=dtype)

    def once():
        sim.run(diag, GAMMAS, BETAS, scale=scale)
        return sim.expectation(diag)

    return median_time(once, reps)


def bench_aer(h, J, diag, scale, reps):
    from qslack.samplers.qaoa.backends.aer import AerStatevector

    aer = AerStatevector(h, J, len(GAMMAS), scale)
    return median_time(lambda: aer.expectation(diag, GAMMAS, BETAS), reps)


def bench_gpu(diag, scale, reps):
    from qslack.samplers.qaoa.kernel_gpu import GPUStatevectorSimulator, gpu_available

    if not gpu_available():
        return None, None
    n = int(diag.size).bit_length() - 1
    sim = GPUStatevectorSimulator(n)
    sim.set_diagonal(diag)

    def once():
        sim.run(diag, GAMMAS, BETAS, scale=scale)
        return sim.expectation(diag)

    return median_time(once, reps)


def bench_qokit(python: str, diag_path: str, scale: float, reps: int):
    gam = ",".join(repr(float(g / scale)) for g in GAMMAS)  # our phase is exp(-i g diag/scale)
    bet = ",".join(repr(float(b)) for b in BETAS)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run(
        [python, str(QOKIT_SCRIPT), diag_path, gam, bet, str(reps)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return float(res["median_s"]), float(res["energy"])


_PEAK_CHILD = r"""
import sys
import numpy as np, numba
sys.path.insert(0, sys.argv[1])
from qslack.samplers.qaoa.kernel import StatevectorSimulator


def status_kb(key):
    # VmHWM/VmRSS of this process (ru_maxrss would carry the parent's peak across exec)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])


g = [float(v) for v in sys.argv[4].split(",")]
b = [float(v) for v in sys.argv[5].split(",")]
warm = StatevectorSimulator(16)  # load the compiled kernels before the baseline
warm.run(np.zeros(1 << 16), g, b)
warm.expectation(np.zeros(1 << 16))
del warm
base = status_kb("VmRSS")
diag = np.load(sys.argv[2])
n = int(diag.size).bit_length() - 1
sim = StatevectorSimulator(n)
sim.run(diag, g, b, scale=float(sys.argv[3]))
e = sim.expectation(diag)
peak = status_kb("VmHWM")
print((peak - base) / 1024.0, peak / 1024.0)
"""


def peak_memory_mb(diag_path: str, scale: float) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK_CHILD,
            str(ROOT),
            diag_path,
            repr(scale),
            ",".join(map(repr, GAMMAS.tolist())),
            ",".join(map(repr, BETAS.tolist())),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    delta, absolute = out.stdout.strip().splitlines()[-1].split()
    return float(delta), float(absolute)


def lam_update_time(n: int, reps: int, m: int = 10) -> float:
    rng = np.random.default_rng(1)
    f = rng.normal(size=1 << n)
    G = rng.normal(size=(m, 1 << n))
    out = np.empty(1 << n)
    lam = rng.normal(size=m)

    def once():
        np.dot(lam, G, out=out)
        np.add(out, f, out=out)
        return out

    t, _ = median_time(once, reps)
    np.testing.assert_allclose(out[:100], f[:100] + lam @ G[:, :100], rtol=1e-12, atol=1e-12)
    return t


def agree(values: list[float], scale: float) -> bool:
    v = [x for x in values if x is not None]
    return all(math.isclose(a, v[0], rel_tol=1e-7, abs_tol=1e-9 * scale) for a in v)


def fmt(x, spec=".4f"):
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 20, 24])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--qokit-python", default=None, help="python of a QOKit environment")
    ap.add_argument("--no-aer", action="store_true", help="skip Aer")
    ap.add_argument("--gpu", action="store_true", help="add the CuPy kernel column")
    ap.add_argument("--no-peak", action="store_true", help="skip the peak-memory subprocess")
    ap.add_argument("--json", action="store_true", help="one JSON object per n")
    args = ap.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            h, J, offset = dense_ising(n, args.seed + n)
            scale = float(max(np.abs(h).max(), np.abs(J).max()))
            diag = ising_diagonal(h, J, offset)
            diag_path = os.path.join(tmp, f"diag{n}.npy")
            np.save(diag_path, diag)
            row = {"n": n}
            row["ours_s"], e_ours = bench_ours(diag, scale, args.reps)
            row["ours_c64_s"], e_c64 = bench_ours(diag, scale, args.reps, np.complex64)
            row["aer_s"], e_aer = (None, None)
            if not args.no_aer:
                row["aer_s"], e_aer = bench_aer(h, J, diag, scale, args.reps)
            row["qokit_s"], e_qokit = (None, None)
            if args.qokit_python:
                row["qokit_s"], e_qokit = bench_qokit(
                    args.qokit_python, diag_path, scale, args.reps
                )
            if args.gpu:
                row["gpu_s"], e_gpu = bench_gpu(diag, scale, args.reps)
            else:
                e_gpu = None
            row["energy"] = e_ours
            row["energies_agree"] = agree([e_ours, e_aer, e_qokit, e_gpu], scale)
            row["c64_energy_rel_err"] = abs(e_c64 - e_ours) / max(abs(e_ours), 1e-300)
            row["peak_mb"], row["peak_abs_mb"] = (None, None)
            if not args.no_peak:
                delta, absolute = peak_memory_mb(diag_path, scale)
                row["peak_mb"], row["peak_abs_mb"] = round(delta, 1), round(absolute, 1)
            row["state_mb"] = (16 << n) / 2**20
            row["ours_over_aer"] = row["ours_s"] / row["aer_s"] if row["aer_s"] else None
            row["ours_over_qokit"] = row["ours_s"] / row["qokit_s"] if row["qokit_s"] else None
            row["lam_update_s"] = None
            if n == max(args.n):
                row["lam_update_s"] = lam_update_time(n, args.reps)
            rows.append(row)
            del diag
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        cols = ["n", "ours_s", "ours_c64_s", "aer_s", "qokit_s"]
        if args.gpu:
            cols.append("gpu_s")
        cols += ["ours/aer", "ours/qokit", "agree", "peak_mb", "lam_update_s"]
        lines = [cols]
        for r in rows:
            line = [str(r["n"]), fmt(r["ours_s"]), fmt(r["ours_c64_s"]), fmt(r["aer_s"])]
            line.append(fmt(r["qokit_s"]))
            if args.gpu:
                line.append(fmt(r.get("gpu_s")))
            line += [
                fmt(r["ours_over_aer"], ".3f"),
                fmt(r["ours_over_qokit"], ".3f"),
                str(r["energies_agree"]),
                fmt(r["peak_mb"], ".1f"),
                fmt(r["lam_update_s"]),
            ]
            lines.append(line)
        widths = [max(len(row[i]) for row in lines) for i in range(len(cols))]
        for i, line in enumerate(lines):
            print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=False)))
            if i == 0:
                print("  ".join("-" * w for w in widths))
        print(
            "times: median seconds of one p=2 expectation evaluation; peak_mb: peak RSS "
            "(VmHWM) of a process running only our kernel minus its RSS after importing "
            "numpy+numba+kernel and a warm-up (includes the 8*2^n-byte diagonal and the "
            "16*2^n-byte state)"
        )
    return 0 if all(r["energies_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
