"""scripts/paper_table.py on the smallest instance: resumable cache, table rows, cross-check."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("qiskit_ibm_runtime")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "paper_table.py"


@pytest.fixture(scope="module")
def pt():
    spec = importlib.util.spec_from_file_location("paper_table", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_authors_tables_parse(pt):
    a = pt.read_authors()
    assert set(a) == set(pt.INSTANCES) - {"pb6", "pb7"}
    assert a["pet2"]["optimal"] == 87061 and a["pet2"]["qubits"] == 99
    assert a["1tc.64"]["qaoa"] == {"gap": float("inf"), "feasible": False, "evals": 59}
    assert a["1tc.64"]["ws_qaoa"]["gap"] == 35.0


def test_resources_cache_rows_and_check(pt, tmp_path):
    cache = tmp_path / "resources.csv"
    pt.compute_resources(["1tc.8"], cache=cache)
    rows = pt._read_csv(cache)
    assert len(rows) == 8  # 2 encodings x 2 depths x 2 backends
    pt.compute_resources(["1tc.8"], cache=cache)  # resumable: nothing recomputed
    assert len(pt._read_csv(cache)) == 8
    table = {r["instance"]: r for r in pt.build_rows(rows, [], aliases=["pet2", "1tc.8"])}
    r = table["1tc.8"]
    assert (r["n"], r["m"], r["qubits_slack"], r["qubits_slack_free"], r["2q_per_layer_slack"]) == (
        8,
        6,
        8,
        8,
        6,
    )
    assert isinstance(r["2q_p3_fez_slack_free"], int) and r["authors_qaoa_evals"] == 50
    assert all(r[c] is None for c in pt.SOLVE_COLUMNS)  # left for solve runs
    assert table["pet2"]["qubits_slack"] is None  # not computed here
    check = pt.compilation_check(rows)
    assert [c["backend"] for c in check] == ["ibm_torino"] and check[0]["logical_equal"]
    md = pt._markdown(list(table.values()), check, [])
    assert "| 1tc.8 | sloane_1tc_8 | 8 | 6 | 4 | 8 | 8 | 6 | 6 |" in md


def test_solve_rows_are_keyed_by_todays_defaults(pt, tmp_path, monkeypatch):
    """A cached solve row measured under other per-problem defaults is rerun by ``--solve`` and shown
    as "earlier" until it is; a row under today's defaults is kept and shown as "today"."""
    import json

    calls: list[str] = []

    def fake_hook(alias: str) -> dict:
        calls.append(alias)
        return {c: 1 for c in pt.SOLVE_COLUMNS}

    monkeypatch.setattr(pt, "SOLVE_HOOK", fake_hook)
    cache = tmp_path / "solve.csv"
    old = {"instance": "1tc.8", "setting": json.dumps(pt.SOLVE_SETTING, sort_keys=True), "wall_s": 1.0}
    old |= {c: 2 for c in pt.SOLVE_COLUMNS}
    pt._append_csv(cache, ("instance", "setting", *pt.SOLVE_COLUMNS, "wall_s"), old)
    rows = pt.build_rows([], pt._read_csv(cache), aliases=["1tc.8", "pet2"])
    assert [r["ours_defaults"] for r in rows] == ["earlier", None]
    assert rows[0]["ours_method"] == "2"
    pt.compute_solves(["1tc.8"], cache=cache)
    assert calls == ["1tc.8"]  # the earlier row did not count as done
    pt.compute_solves(["1tc.8"], cache=cache)
    assert calls == ["1tc.8"]  # today's row does
    cached = pt._read_csv(cache)
    assert json.loads(cached[-1]["setting"])["defaults"]["p"] == 4  # MIS's default depth
    rows = pt.build_rows([], cached, aliases=["1tc.8"])
    assert rows[0]["ours_defaults"] == "today" and rows[0]["ours_method"] == "1"
