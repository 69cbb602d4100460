"""The command line: tables, JSON, exit codes, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from qslack.cli import app

runner = CliRunner()


def test_import_and_help_do_not_load_heavy_libraries() -> None:
    code = (
        "import sys, qslack, qslack.cli;"
        "from typer.testing import CliRunner; CliRunner().invoke(qslack.cli.app, ['--help']);"
        "mods=('qiskit','qiskit_aer','ortools','qiskit_optimization','cupy','dimod','dwave',"
        "'dask','distributed','dask_jobqueue');"
        "heavy=[m for m in mods if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_instances_table_and_json() -> None:
    res = runner.invoke(app, ["instances", "--problem", "tsp"])
    assert res.exit_code == 0 and "burma14" in res.stdout
    res = runner.invoke(app, ["instances", "--json"])
    rows = json.loads(res.stdout)
    assert {r["name"] for r in rows} >= {"farm", "mknap2#PB5", "five_d"}


@pytest.mark.parametrize(
    ("spec", "extra", "qubits", "slack"),
    [
        ("mknap1#1", [], 6, None),
        ("mknap1#2", [], 10, 99),
        ("burma14", ["--take", "6", "--encoding", "edge"], 15, None),
        ("farm", [], 17, 17),
    ],
)
def test_inspect_json(spec: str, extra: list[str], qubits: int, slack: int | None) -> None:
    res = runner.invoke(app, ["inspect", spec, *extra, "--json"])
    assert res.exit_code == 0, res.stdout
    out = json.loads(res.stdout)
    assert out["qubits_slack_free"] == qubits == out["n_vars"]
    assert out["qubits_slack"] == out["n_vars"] + out["slack_bits"]
    if slack is not None:
        assert out["qubits_slack"] == slack


def test_inspect_export_qubo_roundtrip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from qslack.formats.qubo import read_qubo
    from qslack.model.lagrangian import LagrangianForm
    from qslack.problems.catalog import build_program, load_instance

    for name in ("q.json", "q.qs"):
        path = tmp_path / name
        res = runner.invoke(
            app, ["inspect", "mknap1#1", "--lam", "2", "--rho", "0.5", "--export-qubo", str(path)]
        )
        assert res.exit_code == 0, res.stdout
        q = read_qubo(path)
        from qslack.dual import default_multipliers

        prog = build_program(load_instance("mknap1#1"))
        form = LagrangianForm(prog)
        ref = form.qubo(2.0, default_multipliers(form, rho=0.5)[1])  # --rho scales the default weights
        X = np.random.default_rng(0).integers(0, 2, size=(50, prog.n_vars))
        np.testing.assert_allclose(q.energies(X), ref.energies(X))


def test_baseline_json_matches_known() -> None:
    res = runner.invoke(app, ["baseline", "five_d", "--json"])
    assert res.exit_code == 0, res.stdout
    out = json.loads(res.stdout)
    assert out["objective"] == 19 and out["optimal"] and out["matches_known"]


def test_bad_input_exit_code_2_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.tsp"
    bad.write_text(
        "NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 x 1\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "qslack", "inspect", str(bad)], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "bad.tsp:7" in res.stderr and "'x'" in res.stderr


def test_profiles_command_lists_hyphenated_names_with_ibm_backends() -> None:
    res = runner.invoke(app, ["profiles", "--json"])
    assert res.exit_code == 0, res.stdout
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    for name in (
        "fake-torino",
        "fake-fez",
        "fake-marrakesh",
        "ibm-torino",
        "ibm-fez",
        "ibm-marrakesh",
        "aer-statevector",
        "aer-mps",
    ):
        assert name in rows
    assert rows["ibm-torino"]["backend"] == "ibm_torino" and rows["fake-torino"]["backend"] == "fake_torino"


def test_compare_and_report_commands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "r.db")
    for seed in ("0", "1"):
        res = runner.invoke(
            app,
            [
                "solve",
                "mknap1#1",
                "--method",
                "bundle",
                "--sampler",
                "exact",
                "--iters",
                "3",
                "--seed",
                seed,
                "--db",
                db,
                "--json",
            ],
        )
        assert res.exit_code == 0, res.stdout
    res = runner.invoke(app, ["compare", "--db", db, "--json", "--csv", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.stdout
    doc = json.loads(res.stdout)
    rows = doc["rows"]
    assert doc["schema_version"] == 2
    assert len(rows) == 1 and rows[0]["n_seeds"] == 2 and rows[0]["method"] == "bundle"
    assert (tmp_path / "c.csv").read_text().count("\n") == 2
    res = runner.invoke(app, ["report", "--db", db, "--out", str(tmp_path / "rep.html")])
    assert res.exit_code == 0, res.stdout
    html = (tmp_path / "rep.html").read_text()
    assert "data:image/png;base64," in html and "mknap1#1" in html
    assert (tmp_path / "rep.md").exists()


def test_sweep_resumes_and_writes_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    suite = tmp_path / "tiny.toml"
    suite.write_text(
        'name = "tiny"\nseeds = [0, 1]\nmethods = ["bundle"]\n'
        'baselines = [{ method = "fixed-penalty", sampler = "random" }]\n'
        '[budget]\nsampler = "exact"\niters = 2\nshots = 50\n[[instance]]\nspec = "mknap1#1"\n'
    )
    db, rep = str(tmp_path / "s.db"), str(tmp_path / "rep.html")
    first = runner.invoke(app, ["sweep", str(suite), "--db", db, "--report", rep, "--json"])
    assert first.exit_code == 0, first.stdout
    out = json.loads(first.stdout)
    assert out["ran"] == 4 and out["reused"] == 0 and (tmp_path / "rep.html").exists()
    again = json.loads(runner.invoke(app, ["sweep", str(suite), "--db", db, "--no-report", "--json"]).stdout)
    assert again["ran"] == 0 and again["reused"] == 4 and "report" not in again


def test_demo_runs_the_papers_loop_and_the_default_and_compares_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qslack.store.db import Store

    db = tmp_path / "d.db"
    r = runner.invoke(app, ["demo", "--db", str(db)], terminal_width=200)
    assert r.exit_code == 0, r.output
    with Store(db, create=False) as s:
        runs = sorted(s.list_runs(), key=lambda x: x["created_at"])
        assert [x["status"] for x in runs] == ["finished", "finished"]
        paper, ours = (s.export_run(x["run_id"]) for x in runs)
    assert paper["run"]["method"] == "bundle" and ours["run"]["method"] == "margin"
    assert "what the final state is worth" in r.output
    assert ours["run"]["result"]["circuit_evals"] == 15 < paper["run"]["result"]["circuit_evals"]
    assert paper["run"]["result"]["p_optimal"] > 0 and ours["run"]["result"]["p_optimal"] > 0
