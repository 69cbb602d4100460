#!/usr/bin/env python
"""Benchmark one QAOA expectation evaluation: our kernel vs its memory floor, Aer and QOKit.

A dense random Ising cost (all-to-all couplings; h, J, offset from a seeded
numpy Generator) with its diagonal built by O(2**n) doubling, depth p = 2,
fixed angles.  For each n, every column below is timed in the same rounds
(``--reps`` rounds, each timing every column once after one warm-up; the
reported value is the minimum over the rounds: on a shared machine the
minimum is the run least disturbed by other processes, and ratios of minima
taken in the same rounds are robust to load):

* floor      one read+write pass over a state-sized array of the kernel's dtype
             with the kernel's threads (``x *= a`` over the float view, numba
             prange): ``floor_s`` (complex128), ``floor_c64_s`` (complex64),
* ours       ``StatevectorSimulator.run_expectation`` (complex128: ``ours_s``;
             complex64: ``ours_c64_s``), energy summed in the last pass,
* grad       ``StatevectorSimulator.gradient``: the value and all 2p angle
             derivatives (adjoint method; ``grad_s`` complex128,
             ``grad_c64_s`` complex64),
* diag       ``QUBO.diagonal()`` of the dense QUBO of the same cost (float64,
             one blocked write pass): ``diag_s`` (a new array each call: its page
             faults included), ``diag_into_s`` (the same build into a reused
             buffer),
* aer        Aer statevector: bind the parameters, run with
             ``save_probabilities``, expectation from the probabilities,
* qokit      QOKit's C simulator (``--qokit-python``) in a persistent process
             of that Python (OMP_WAIT_POLICY=PASSIVE; the computation of
             /work/shared/bench/qokit_time.py: ``simulate_qaoa`` and
             ``get_expectation`` on the same diagonal) that answers one "run"
             request per round over stdin/stdout with the time it measured
             around the call: QOKit is timed inside the same rounds as our
             columns, so ``ours_c64_over_qokit`` is a ratio of minima over the
             same rounds like the others,
* gpu        our CuPy kernel (``--gpu``, when a GPU is available).

``passes`` is the number of passes over the state one evaluation makes;
``ours_over_passes_floor = ours_s / (passes * floor_s)`` says how far the
kernel is from moving its bytes at the floor's speed (1.0 = memory-bound at
the floor).  The energies of all columns must agree (rtol 1e-7).
``peak_mb`` is measured in a separate process that runs only our kernel: its
peak resident set (VmHWM) minus its resident set after importing numpy, numba
and the kernel and one warm-up; ``estimate_mb`` is
``qslack.memory.estimate_bytes(n, "statevector")`` for the same run.

Run from the repository root::

    .venv/bin/python scripts/bench_qaoa.py --n 20 24 26 --json --qokit-python /tmp/qokit-ref/bin/python
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

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from numba import njit, prange  # noqa: E402

from qslack.model.bits import quadratic_diagonal  # noqa: E402
from qslack.model.qubo import QUBO  # noqa: E402
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
    """Minimum over ``reps`` timed calls after one warm-up (the name is historical)."""
    value = fn()  # warm-up (compilation, page faults)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return float(np.min(times)), value


@njit(parallel=True, fastmath=True, cache=True)
def _rw_pass(x, a):
    for i in prange(x.shape[0]):
        x[i] = x[i] * a


class SelfTimed:
    """A column that measures itself: ``fn()`` returns ``(seconds, value)`` (a process that
    times its own call, so the request's round trip is not counted)."""

    def __init__(self, fn) -> None:
        self.fn = fn


def rounds(columns: dict, reps: int) -> dict:
    """Time every column once per round (after one warm-up each); minimum per column.

    A :class:`SelfTimed` column reports its own time (the QOKit process).
    """

    def once(fn):
        if isinstance(fn, SelfTimed):
            return fn.fn()
        t0 = time.perf_counter()
        v = fn()
        return time.perf_counter() - t0, v

    values = {k: once(fn)[1] for k, fn in columns.items()}
    times: dict[str, list[float]] = {k: [] for k in columns}
    for _ in range(reps):
        for k, fn in columns.items():
            t, values[k] = once(fn)
            times[k].append(t)
    return {k: (float(min(v)), values[k]) for k, v in times.items()}


def ours_columns(n: int, h: np.ndarray, J: np.ndarray, offset: float, diag: np.ndarray, scale: float) -> dict:
    """The columns of our code, all timed in the same rounds."""
    sims = {dt: StatevectorSimulator(n, dtype=dt) for dt in (np.complex128, np.complex64)}
    floors = {dt: np.ones(2 << n, dtype=np.float64 if dt == np.complex128 else np.float32) for dt in sims}
    # the same cost as a QUBO: x = (1 - z) / 2 turns h z + J zz into Q x x
    Q = np.diag(-2.0 * h - 2.0 * (J.sum(axis=1) + J.sum(axis=0))) + 4.0 * J
    qubo = QUBO(Q, offset + h.sum() + J.sum())
    Qd, cd, dbuf = qubo.dense(), np.diag(qubo.dense()).copy(), np.empty(1 << n)
    cols = {
        "floor_s": lambda: _rw_pass(floors[np.complex128], 1.0),
        "floor_c64_s": lambda: _rw_pass(floors[np.complex64], np.float32(1.0)),
        "ours_s": lambda: sims[np.complex128].run_expectation(diag, GAMMAS, BETAS, scale=scale),
        "ours_c64_s": lambda: sims[np.complex64].run_expectation(diag, GAMMAS, BETAS, scale=scale),
        "grad_s": lambda: sims[np.complex128].gradient(diag, GAMMAS, BETAS, scale=scale),
        "grad_c64_s": lambda: sims[np.complex64].gradient(diag, GAMMAS, BETAS, scale=scale),
        "diag_s": lambda: qubo.diagonal(),
        "diag_into_s": lambda: quadratic_diagonal(Qd, cd, qubo.offset, out=dbuf),
    }
    return cols, sims, qubo


def bench_ours(diag, scale, reps, dtype=np.complex128):
    n = int(diag.size).bit_length() - 1
    sim = StatevectorSimulator(n, dtype=dtype)
    return median_time(lambda: sim.run_expectation(diag, GAMMAS, BETAS, scale=scale), reps)


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


# QOKit's side of the rounds: the computation of QOKIT_SCRIPT, one evaluation per "run" line
_QOKIT_CHILD = r"""
import json, sys, time
import numpy as np
import qokit.fur as fur

diag = np.load(sys.argv[1])
gammas = np.array([float(v) for v in sys.argv[2].split(",")])
betas = np.array([float(v) for v in sys.argv[3].split(",")])
n = int(np.log2(len(diag)))
sim = fur.choose_simulator(name="c")(n, costs=diag)
print(json.dumps({"ready": n}), flush=True)
for line in sys.stdin:
    if line.strip() != "run":
        break
    t0 = time.perf_counter()
    res = sim.simulate_qaoa(2 * gammas, betas)  # QOKit's phase is exp(-i g/2 C)
    energy = float(sim.get_expectation(res))
    s = time.perf_counter() - t0
    del res
    print(json.dumps({"s": s, "energy": energy}), flush=True)
"""


class QokitProcess:
    """A persistent QOKit process on one diagonal: each call runs one evaluation there and
    returns ``(seconds measured in the child, energy)`` (a :class:`SelfTimed` column)."""

    def __init__(self, python: str, diag_path: str, scale: float) -> None:
        gam = ",".join(repr(float(g / scale)) for g in GAMMAS)  # our phase is exp(-i g diag/scale)
        bet = ",".join(repr(float(b)) for b in BETAS)
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        self.proc = subprocess.Popen(
            [python, "-c", _QOKIT_CHILD, diag_path, gam, bet],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._read()  # {"ready": n}: QOKit imported and its simulator built

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the QOKit process exited (code {self.proc.wait()})")
        return json.loads(line)

    def __call__(self) -> tuple[float, float]:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        res = self._read()
        return float(res["s"]), float(res["energy"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


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
warm = StatevectorSimulator(17)  # load the compiled kernels (and threads) before the baseline
warm.run_expectation(np.zeros(1 << 17), g, b)
del warm
base = status_kb("VmRSS")
diag = np.load(sys.argv[2])
n = int(diag.size).bit_length() - 1
sim = StatevectorSimulator(n)
sim.run_expectation(diag, g, b, scale=float(sys.argv[3]))
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


def agree(values: list[float], scale: float) -> bool:
    v = [x for x in values if x is not None]
    return all(math.isclose(a, v[0], rel_tol=1e-7, abs_tol=1e-9 * scale) for a in v)


def fmt(x, spec=".4f"):
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 20, 24])
    ap.add_argument("--reps", type=int, default=5, help="timed rounds (minimum reported)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--qokit-python", default=None, help="python of a QOKit environment")
    ap.add_argument("--no-aer", action="store_true", help="skip Aer")
    ap.add_argument("--gpu", action="store_true", help="add the CuPy kernel column")
    ap.add_argument("--no-peak", action="store_true", help="skip the peak-memory subprocess")
    ap.add_argument("--json", action="store_true", help="one JSON object per n")
    args = ap.parse_args(argv)

    from qslack.memory import estimate_bytes

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            h, J, offset = dense_ising(n, args.seed + n)
            scale = float(max(np.abs(h).max(), np.abs(J).max()))
            diag = ising_diagonal(h, J, offset)
            diag_path = os.path.join(tmp, f"diag{n}.npy")
            np.save(diag_path, diag)
            row = {"n": n, "p": len(GAMMAS), "threads": numba.get_num_threads()}
            row["load_avg"] = os.getloadavg()[0]
            cols, sims, qubo = ours_columns(n, h, J, offset, diag, scale)
            if not args.no_aer:
                from qslack.samplers.qaoa.backends.aer import AerStatevector

                aer = AerStatevector(h, J, len(GAMMAS), scale)
                cols["aer_s"] = lambda aer=aer, d=diag: aer.expectation(d, GAMMAS, BETAS)
            qokit = None
            if args.qokit_python:
                qokit = QokitProcess(args.qokit_python, diag_path, scale)
                cols["qokit_s"] = SelfTimed(qokit)
            try:
                res = rounds(cols, args.reps)
            finally:
                if qokit is not None:
                    qokit.close()
            row.update({k: v[0] for k, v in res.items()})
            e_ours = float(res["ours_s"][1])
            e_c64 = float(res["ours_c64_s"][1])
            e_aer = float(res["aer_s"][1]) if "aer_s" in res else None
            row.setdefault("aer_s", None)
            row.setdefault("qokit_s", None)
            e_qokit = float(res["qokit_s"][1]) if "qokit_s" in res else None
            e_gpu = None
            if args.gpu:
                row["gpu_s"], e_gpu = bench_gpu(diag, scale, args.reps)
            row["passes"] = sims[np.complex128].n_passes(len(GAMMAS))
            row["passes_c64"] = sims[np.complex64].n_passes(len(GAMMAS))
            row["energy"] = e_ours
            row["energies_agree"] = agree([e_ours, e_aer, e_qokit, e_gpu], scale)
            row["c64_energy_rel_err"] = abs(e_c64 - e_ours) / max(abs(e_ours), 1e-300)
            g128 = res["grad_s"][1]
            row["grad_value_matches"] = math.isclose(g128[0], e_ours, rel_tol=1e-9, abs_tol=1e-9 * scale)
            d_built = res["diag_s"][1]
            stride = max(1, diag.size // 4096)
            row["diag_matches"] = bool(np.allclose(d_built[::stride], diag[::stride], rtol=1e-9, atol=1e-9))
            row["ours_over_floor"] = row["ours_s"] / row["floor_s"]
            row["ours_c64_over_floor_c64"] = row["ours_c64_s"] / row["floor_c64_s"]
            row["ours_over_passes_floor"] = row["ours_s"] / (row["passes"] * row["floor_s"])
            c64_floor = row["passes_c64"] * row["floor_c64_s"]
            row["ours_c64_over_passes_floor_c64"] = row["ours_c64_s"] / c64_floor
            row["grad_over_ours"] = row["grad_s"] / row["ours_s"]
            row["grad_c64_over_ours_c64"] = row["grad_c64_s"] / row["ours_c64_s"]
            row["diag_over_ours"] = row["diag_s"] / row["ours_s"]
            row["diag_into_over_ours"] = row["diag_into_s"] / row["ours_s"]
            row["ours_over_aer"] = row["ours_s"] / row["aer_s"] if row["aer_s"] else None
            row["ours_over_qokit"] = row["ours_s"] / row["qokit_s"] if row["qokit_s"] else None
            row["ours_c64_over_qokit"] = row["ours_c64_s"] / row["qokit_s"] if row["qokit_s"] else None
            del cols, res, sims, qubo, d_built, g128
            row["peak_mb"], row["peak_abs_mb"] = (None, None)
            if not args.no_peak:
                delta, absolute = peak_memory_mb(diag_path, scale)
                row["peak_mb"], row["peak_abs_mb"] = round(delta, 1), round(absolute, 1)
            row["estimate_mb"] = round(estimate_bytes(n, "statevector") / 2**20, 1)
            row["state_mb"] = (16 << n) / 2**20
            row["lam_update_s"] = None
            rows.append(row)
            del diag
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        cols = [
            ("n", "n", "d"),
            ("floor_s", "floor_s", ".4f"),
            ("ours_s", "ours_s", ".4f"),
            ("ours_c64_s", "ours_c64_s", ".4f"),
            ("grad_s", "grad_s", ".4f"),
            ("diag_s", "diag_s", ".4f"),
            ("aer_s", "aer_s", ".3f"),
            ("qokit_s", "qokit_s", ".4f"),
            ("passes", "passes", "d"),
            ("ours/(passes*floor)", "ours_over_passes_floor", ".2f"),
            ("c64/(passes*floor64)", "ours_c64_over_passes_floor_c64", ".2f"),
            ("c64/floor64", "ours_c64_over_floor_c64", ".2f"),
            ("grad/ours", "grad_over_ours", ".2f"),
            ("diag/ours", "diag_over_ours", ".3f"),
            ("diag_into/ours", "diag_into_over_ours", ".3f"),
            ("c64/qokit", "ours_c64_over_qokit", ".3f"),
            ("ours/aer", "ours_over_aer", ".4f"),
            ("agree", "energies_agree", ""),
            ("peak_mb", "peak_mb", ".1f"),
            ("est_mb", "estimate_mb", ".1f"),
        ]
        if args.gpu:
            cols.append(("gpu_s", "gpu_s", ".4f"))
        lines = [[c[0] for c in cols]]
        for r in rows:
            lines.append([fmt(r.get(key), spec) if spec else str(r.get(key)) for _, key, spec in cols])
        widths = [max(len(row[i]) for row in lines) for i in range(len(cols))]
        for i, line in enumerate(lines):
            print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=False)))
            if i == 0:
                print("  ".join("-" * w for w in widths))
        print(
            "times: minimum over the rounds of one p=2 evaluation (value; grad: value + 2p "
            "derivatives; diag: QUBO -> 2^n diagonal) in seconds; floor: one read+write pass over a "
            "state-sized array; peak_mb: peak RSS (VmHWM) of a process running only our kernel "
            "minus its RSS after imports and a warm-up; est_mb: qslack.memory.estimate_bytes"
        )
    return 0 if all(r["energies_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
