"""Golden runs: the same commands and seeds give the same stored results after code moves.

Recorded with ``python tests/golden/record.py``; see that file for the commands.
What a seed fixes is compared to 1e-9 relative: multipliers, energies, subgradients, best
values, feasible/optimal probabilities, angles, per-step seeds and the final summary.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.golden import record
from tests.golden.api_runs import lazy_rows_resumed

GOLDEN_DIR = Path(__file__).parent / "golden"

STEP_KEYS = (
    "step", "lam", "rho", "subgradient", "energy", "best_objective", "best_objective_repaired",
    "step_objective", "feasible_share", "p_feasible", "p_optimal", "max_violation", "step_size",
    "n_evals", "angles",
)
RESULT_KEYS = ("best_objective", "best_objective_repaired", "gap", "lam", "feasible")


def _step_view(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: rec.get(k) for k in STEP_KEYS}
    out["seed"] = (rec.get("sampler_info") or {}).get("seed")
    return out


def _view(export: dict[str, Any]) -> dict[str, Any]:
    run = export["run"]
    res = run.get("result") or {}
    return {
        "status": run["status"],
        "result": {k: res.get(k) for k in RESULT_KEYS},
        "steps": [_step_view(s["record"]) for s in export["steps"]],
        "solutions": sorted((s["kind"], s["objective"], tuple(s["x"])) for s in export["solutions"]),
    }


def _close(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(record.GOLDEN))
def test_cli_golden_run(name: str, tmp_path: Path) -> None:
    gold = _golden(name)
    assert gold["args"] == record.GOLDEN[name], "the golden command changed: re-record deliberately"
    now = record.run_golden(name, tmp_path / "g.db")
    _close(_view(now["export"]), _view(gold["export"]), name)


def test_fake_hardware_golden_run(tmp_path: Path) -> None:
    pytest.importorskip("qiskit_ibm_runtime")  # the fake backends live in qiskit-ibm-runtime
    now = record.run_fake_hardware(tmp_path / "g.db")
    _close(_view(now["export"]), _view(_golden(record.FAKE_HW)["export"]), record.FAKE_HW)


def test_lazy_rows_golden_run() -> None:
    gold = _golden(record.LAZY)["result"]
    now = json.loads(json.dumps(lazy_rows_resumed()))
    assert now["rows"] == gold["rows"]
    assert len(now["rows"]) > 10, "subtour rows must have been added lazily"
    _close([_step_view(h) for h in now["history"]], [_step_view(h) for h in gold["history"]], "history")
    _close(now["lam"], gold["lam"], "lam")
    _close(now["best_objective"], gold["best_objective"], "best")
