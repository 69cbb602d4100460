"""qslack.memory.estimate_bytes against the measured peak of every code path.

Each path runs in a fresh Python process: imports, a warm-up at 17 qubits
(compiled code, thread pool), then the resident set (VmRSS) as the baseline;
the path runs at two sizes, smaller first, and after each the peak resident
set (VmHWM) minus the baseline must be within 10 % of the estimate (sizes
where the estimate is >= 1 GiB; the brute-force sampler never needs that much,
so it is checked at its two largest unchunked sizes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qslack.exceptions import ResourceError
from qslack.memory import estimate_bytes, format_bytes, require

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys
import numpy as np

path, sizes, opt = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])


def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram
from qslack.model.qubo import QUBO


def qubo(k):
    rng = np.random.default_rng(k)
    return QUBO(np.triu(rng.normal(size=(k, k))), offset=1.0)


def run(k):
    if path == "statevector":
        from qslack.samplers.qaoa.kernel import StatevectorSimulator

        q = qubo(k)
        ddt = opt["diag_dtype"]
        sh = q.diagonal_shift() if ddt == "float32" else 0.0
        d = q.diagonal(ddt, shift=sh)
        if opt.get("ansatz") == "warm":  # the structured-ansatz kernel: the same formula
            from qslack.samplers.qaoa.ansatz import Ansatz
            from qslack.samplers.qaoa.kernel_ansatz import AnsatzSimulator

            a = Ansatz.build(k, mixer="warm", warm_start=np.random.default_rng(k).uniform(size=k))
            sim = AnsatzSimulator(a, dtype=opt["dtype"], diag_dtype=ddt)
            sim.run_expectation(d, [0.3, 0.1], [0.2, -0.4], shift=sh)
            return
        sim = StatevectorSimulator(k, dtype=opt["dtype"], diag_dtype=ddt)
        if opt.get("gradient"):
            sim.gradient(d, [0.3], [0.2], shift=sh)
        else:
            sim.run_expectation(d, [0.3], [0.2], shift=sh)
    elif path == "sampler":
        from qslack.samplers.qaoa.sampler import QAOASampler

        kw = {"dtype": opt["dtype"], "diag_dtype": opt["diag_dtype"]}
        QAOASampler(p=1, maxiter=0, shots=100, seed=1, **kw).sample(qubo(k))
    elif path == "aer":
        from qslack.samplers.qaoa.backends.aer import AerStatevector

        q = qubo(k)
        ising = q.to_ising()
        J = np.zeros_like(ising.J)
        J[0, 1] = 1.0  # few gates: the memory does not depend on them
        AerStatevector(ising.h, J, 1, 1.0).expectation(q.diagonal(), [0.3], [0.2])
    elif path == "exact":
        from qslack.samplers.exact import ExactSampler

        ExactSampler().sample(qubo(k))
    elif path == "form":
        rng = np.random.default_rng(k)
        A = rng.integers(0, 5, size=(5, k)).astype(float)
        form = LagrangianForm(BinaryProgram.from_arrays(c=-rng.random(k), A=A, b=A.sum(1) / 2))
        form.objective_diagonal
        form.feasible_mask()
    elif path == "diagonal":
        qubo(k).diagonal(opt["diag_dtype"])
    elif path == "solve":
        from qslack.dual import DualProblem
        from qslack.problems.catalog import build_program, load_instance
        from qslack.runs.driver import solve_dual
        from qslack.samplers.qaoa.sampler import QAOASampler

        prog = build_program(load_instance(f"gen:mdkp?n={k}&m=5&tightness=0.25&seed=1"))
        kw = {"dtype": opt["dtype"], "diag_dtype": opt["diag_dtype"]}
        sampler = QAOASampler(p=1, maxiter=0, shots=100, seed=1, **kw)
        solve_dual(DualProblem(LagrangianForm(prog)), sampler, method="subgradient", iters=3)


run(min(17, sizes[0]))
import gc

gc.collect()
base = status("VmRSS")
peaks = []
for k in sizes:
    run(k)
    gc.collect()
    peaks.append(status("VmHWM") - base)
print(json.dumps(peaks))
"""


def _measure(path: str, sizes: list[int], **opt) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path, json.dumps(sizes), json.dumps(opt)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = [
    # path, sizes, options for the child (and the estimate)
    ("statevector", [26, 27], {"dtype": "complex64", "diag_dtype": "float64"}),
    ("statevector", [26], {"dtype": "complex64", "diag_dtype": "float32", "gradient": True}),
    ("statevector", [27], {"dtype": "complex64", "diag_dtype": "float32", "ansatz": "warm"}),
    ("sampler", [25, 26], {"dtype": "complex64", "diag_dtype": "float64"}),
    ("form", [27, 28], {}),
    ("diagonal", [27, 28], {"diag_dtype": "float64"}),
    ("exact", [21, 22], {}),
]
# the same with bigger sizes: over 20 s each on the shared 2-core development machine
SLOW_CASES = [
    ("sampler", [26, 27], {"dtype": "complex64", "diag_dtype": "float32"}),
    ("solve", [26, 27], {"dtype": "complex64", "diag_dtype": "float32"}),
    ("diagonal", [28, 29], {"diag_dtype": "float32"}),
]


def _check(path: str, sizes: list[int], opt: dict) -> None:
    kw = {k: v for k, v in opt.items() if k in ("dtype", "diag_dtype", "gradient")}
    if path in ("diagonal",):
        kw = {"diag_dtype": opt["diag_dtype"]}
    elif path in ("form", "exact"):
        kw = {}
    estimates = [estimate_bytes(n, path, **kw) for n in sizes]
    if path != "exact":
        assert min(estimates) >= 2**30
    measured = _measure(path, sizes, **opt)
    for n, e, m in zip(sizes, estimates, measured, strict=True):
        assert abs(m - e) <= 0.1 * e, f"{path} n={n}: measured {format_bytes(m)}, estimated {format_bytes(e)}"


def _case_id(case: tuple) -> str:
    path, sizes, opt = case
    return f"{path}-{sizes}" + (f"-{opt['ansatz']}" if "ansatz" in opt else "")


@pytest.mark.parametrize(("path", "sizes", "opt"), CASES, ids=[_case_id(c) for c in CASES])
def test_estimate_matches_measured_peak(path, sizes, opt):
    _check(path, sizes, opt)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "sizes", "opt"), SLOW_CASES, ids=[f"{c[0]}-{c[1]}" for c in SLOW_CASES])
def test_estimate_matches_measured_peak_large(path, sizes, opt):
    _check(path, sizes, opt)


@pytest.mark.slow
def test_aer_estimate_matches_measured_peak():
    pytest.importorskip("qiskit_aer")
    sizes = [25, 26]
    measured = _measure("aer", sizes)
    for n, m in zip(sizes, measured, strict=True):
        e = estimate_bytes(n, "aer")
        assert abs(m - e) <= 0.1 * e, f"aer n={n}: measured {format_bytes(m)}, estimated {format_bytes(e)}"


def test_sizes_never_overflow_and_refusals_name_both_numbers():
    # berlin52: 52 qubits (the old float formatting raised OverflowError)
    e = estimate_bytes(52, "statevector", threads=2)
    assert isinstance(e, int) and e > 16 * 2**52
    assert format_bytes(16 * 2**52) == "2^56 bytes"
    with pytest.raises(ResourceError, match=r"needs 2\^56 bytes; 16\.0 GiB available"):
        require(16 * 2**52, "the complex128 state of 52 qubits", available=16 * 2**30)
    # the dual loop keeps the form's caches (9 bytes per state) beside the sampler (the
    # previous step's probabilities are dropped first)
    sampler = estimate_bytes(30, "sampler", dtype=np.complex64, diag_dtype=np.float32)
    assert estimate_bytes(30, "solve", dtype=np.complex64, diag_dtype=np.float32) == 9 * 2**30 + sampler


def test_available_memory_respects_cgroup(monkeypatch):
    from qslack import _sys

    monkeypatch.setattr(_sys, "cgroup_memory_left", lambda: 123 * 2**20)
    assert _sys.available_memory() == 123 * 2**20
    monkeypatch.setattr(_sys, "cgroup_memory_left", lambda: None)
    assert _sys.available_memory() == _sys._meminfo_available()
