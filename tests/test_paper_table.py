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
