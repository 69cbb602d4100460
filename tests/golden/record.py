"""Golden runs: commands whose stored results must not change when the code is moved.

``python tests/golden/record.py`` (from the repository root) runs every golden
command in a fresh store and writes ``tests/golden/<name>.json``; the test
``tests/test_golden.py`` replays them and compares what a seed fixes.

Every command spells out every option, so a later change of a default does
not change a golden run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

_QAOA = [
    "--sampler",
    "qaoa",
    "--backend",
    "statevector",
    "--p",
    "2",
    "--shots",
    "500",
    "--qaoa-maxiter",
    "30",
    # the ansatz that ran when these were recorded (the per-problem defaults of qslack solve changed since)
    "--mixer",
    "x",
    "--init",
    "uniform",
    "--schedule",
    "default",
    "--params",
    "angles",
    "--optimizer",
    "cobyla",
]
_COMMON = ["--encoding", "position", "--rho", "1.0", "--time-limit", "600"]

#: name -> qslack CLI arguments (without --db/--json)
GOLDEN: dict[str, list[str]] = {
    "subgradient-exact-mdkp": [
        "solve",
        "mknap1#1",
        "--method",
        "subgradient",
        "--sampler",
        "exact",
        "--iters",
        "8",
        "--seed",
        "3",
        "--encoding",
        "position",
        "--rho",
        "0",
        "--time-limit",
        "600",
    ],
    "cutting-plane-exact-mdkp": [
        "solve",
        "mknap1#2",
        "--method",
        "cutting-plane",
        "--sampler",
        "exact",
        "--iters",
        "10",
        "--seed",
        "1",
        "--encoding",
        "position",
        "--rho",
        "0",
        "--time-limit",
        "600",
    ],
    "bundle-qaoa-mdkp": [
        "solve",
        "mknap1#1",
        "--method",
        "bundle",
        *_QAOA,
        "--iters",
        "5",
        "--seed",
        "2",
        *_COMMON,
    ],
    "augmented-exact-tsp": [
        "solve",
        "five_d",
        "--method",
        "augmented-lagrangian",
        "--sampler",
        "exact",
        "--iters",
        "6",
        "--seed",
        "0",
        *_COMMON,
    ],
    "fixed-random-mis": [
        "solve",
        "farm",
        "--method",
        "fixed-penalty",
        "--sampler",
        "random",
        "--shots",
        "2000",
        "--iters",
        "3",
        "--seed",
        "4",
        *_COMMON,
    ],
    "slack-exact-mdkp": [
        "solve",
        "gen:mdkp?n=6&m=1&tightness=0.5&seed=1",
        "--method",
        "slack-penalty",
        "--sampler",
        "exact",
        "--iters",
        "2",
        "--seed",
        "0",
        *_COMMON,
    ],
    "bundle-cpsat-mis": [
        "solve",
        "karate",
        "--method",
        "bundle",
        "--sampler",
        "cpsat",
        "--iters",
        "4",
        "--seed",
        "0",
        *_COMMON,
    ],
    "subgradient-qaoa-mis": [
        "solve",
        "karate",
        "--take",
        "12",
        "--method",
        "subgradient",
        *_QAOA,
        "--iters",
        "3",
        "--seed",
        "5",
        *_COMMON,
    ],
}

#: 1: recorded by qslack 0.1 (a step's rho after its update); 2: rho as sampled (see tests/test_golden.py)
RECORD_FORMAT = 2

#: Python-API golden runs (tests/golden/api_runs.py)
FAKE_HW = "fake-hardware-resumed"
LAZY = "lazy-rows-cpsat-resumed"


def qslack(args: list[str], db: Path) -> dict[str, Any]:
    """Run ``qslack ARGS --db DB --json`` in a subprocess; the parsed JSON."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("QISKIT_IBM_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "qslack", *args, "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"qslack {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def export(run_id: str, db: Path) -> dict[str, Any]:
    """The stored run as ``qslack runs --export`` writes it."""
    return qslack(["runs", "--export", run_id], db)


def run_golden(name: str, db: Path) -> dict[str, Any]:
    """Run one golden command into ``db``; ``{"args", "solve", "export"}``."""
    args = GOLDEN[name]
    res = qslack(args, db)
    return {"args": args, "solve": res, "export": export(res["run_id"], db)}


def run_fake_hardware(db: Path) -> dict[str, Any]:
    """A fake-torino run stopped after one step and resumed to its end (Python API)."""
    from tests.golden.api_runs import fake_hardware_resumed

    run_id = fake_hardware_resumed(db)
    return {"args": ["python-api", FAKE_HW], "export": export(run_id, db)}


def main() -> None:
    from tests.golden.api_runs import lazy_rows_resumed

    names = sys.argv[1:] or [*GOLDEN, FAKE_HW, LAZY]
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "golden.db"
            if name == LAZY:
                rec = {"args": ["python-api", LAZY], "result": lazy_rows_resumed()}
            elif name == FAKE_HW:
                rec = run_fake_hardware(db)
            else:
                rec = run_golden(name, db)
        rec["record_format"] = RECORD_FORMAT
        (HERE / f"{name}.json").write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
        print(f"recorded {name}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    main()
