"""QOBLIB: its independent set class read as distributed, its .qs QUBO layout, and submissions from runs.

The reference files are real QOBLIB files (tests/data/qoblib, see SOURCES.md there).
"""

from __future__ import annotations

import csv
import json
import lzma
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qslack.cli import app
from qslack.exceptions import ParseError, ValidationError
from qslack.formats.dimacs import FormatWarning, read_dimacs
from qslack.formats.qoblib import load_qoblib_mis, read_qoblib_graph, read_qoblib_solution
from qslack.formats.qubo import read_qubo, write_qubo
from qslack.model.qubo import QUBO
from qslack.report.qoblib import COLUMNS, qoblib_rows, write_qoblib_submission
from qslack.samplers.exact import ExactSampler
from qslack.store.db import Store
from qslack.testing import random_qubo
from tests.conftest import INSTANCES

DATA = Path(__file__).parent / "data" / "qoblib"
MIS = DATA / "07-independentset"
FARM_QS = MIS / "models" / "binary_unconstrained" / "qs_files" / "farm.qs.xz"
ABS2 = MIS / "submissions" / "20250715_Abs2_Schicker" / "farm"

# QOBLIB's misc/check_submission.py: these columns hold an integer or N/A, those a number or N/A
INT_COLUMNS = {
    "# Decision Variables", "# Binary Variables", "# Integer Variables", "# Continuous Variables",
    "# Non-Zero Coefficients", "# Runs", "# Feasible Runs", "# Successful Runs",
}
FLOAT_COLUMNS = {
    "Best Objective Value", "Optimality Bound", "Success Threshold", "Total Runtime", "CPU Runtime",
    "GPU Runtime", "QPU Runtime", "Other HW Runtime",
}


def _mis_energy(graph, X):  # type: ignore[no-untyped-def]
    """QOBLIB's binary_unconstrained MIS model, negated: -(sum x_v - 2 sum_E x_u x_v)."""
    X = np.asarray(X, dtype=float)
    return -(X.sum(axis=1) - 2 * (X[:, graph.edges[:, 0]] * X[:, graph.edges[:, 1]]).sum(axis=1))


# --------------------------------------------------------------------------- instances as distributed
def test_farm_from_a_qoblib_checkout() -> None:
    inst = load_qoblib_mis(DATA, "farm")
    assert inst.objective == 10 and inst.optimal and inst.qs_path == FARM_QS
    ours = read_dimacs(INSTANCES / "mis" / "farm.gph")  # the shipped copy, read leniently
    assert inst.graph.n_nodes == 17 and inst.graph.n_edges == 39
    assert np.array_equal(inst.graph.edges, ours.edges)
    x = np.zeros(17, dtype=bool)
    x[inst.solution] = True
    assert not np.any(x[inst.graph.edges[:, 0]] & x[inst.graph.edges[:, 1]])
    assert load_qoblib_mis(MIS, "farm").objective == 10  # the class directory works as root too
    with pytest.raises(ValidationError, match="no instance 'nope'"):
        load_qoblib_mis(DATA, "nope")
    with pytest.raises(ValidationError, match="neither a QOBLIB checkout"):
        load_qoblib_mis(DATA / "misc", "farm")


def test_solution_files_in_every_distributed_form() -> None:
    obj, nodes = read_qoblib_solution(MIS / "solutions" / "farm.opt.sol")
    assert obj == 10 and (nodes + 1).tolist() == [5, 8, 9, 11, 12, 13, 14, 15, 16, 17]
    obj, nodes = read_qoblib_solution(MIS / "solutions" / "p_hat1500-1.opt.sol")  # no header at all
    assert obj is None and len(nodes) == 12 and nodes.min() >= 0
    # a submission's x#i v file (Abs2): another maximum independent set of farm
    graph = read_qoblib_graph(MIS / "instances" / "farm.gph")
    obj, nodes = read_qoblib_solution(ABS2 / "farm_solution.mst", n_nodes=17)
    x = np.zeros((1, 17))
    x[0, nodes] = 1
    assert obj is None and len(nodes) == 10 and _mis_energy(graph, x)[0] == -10


@pytest.mark.parametrize(
    ("text", "line", "pattern"),
    [
        ("p edge 2 1\nc late comment\ne 1 2\n", 2, "comment line after"),
        ("c x\np edge 3 2\ne 1 2\ne 2 1\n", 4, "listed twice"),
        ("p edge 3 2\ne 1 2\n", 1, "declares m=2"),
        ("p edge 3 1\ne 2 2\n", 2, "self-loop"),
        ("p edge 3 1\ne 1 4\n", 2, "outside 1..3"),
        ("e 1 2\np edge 3 1\n", 1, "before the 'p edge"),
        ("p edge 3 1\nn 1 5\ne 1 2\n", 2, "unknown line"),
        ("p col 3 1\ne 1 2\n", 1, "expected 'p edge n m'"),
        ("p edge 3 1\np edge 3 1\ne 1 2\n", 2, "second 'p' line"),
        ("p edge 3 1\ne 1 x\n", 2, "integer nodes"),
    ],
)
def test_graph_format_departures_name_file_and_line(
    tmp_path: Path, text: str, line: int, pattern: str
) -> None:
    f = tmp_path / "g.gph"
    f.write_text(text)
    with pytest.raises(ParseError, match=pattern) as err:
        read_qoblib_graph(f)
    assert err.value.line == line and err.value.path == str(f)
    assert str(err.value).startswith(f"{f}:{line}: ")


def test_graph_crlf_and_compressed(tmp_path: Path) -> None:
    text = (MIS / "instances" / "farm.gph").read_bytes().replace(b"\n", b"\r\n")
    f = tmp_path / "farm.gph.xz"
    f.write_bytes(lzma.compress(text))
    g = read_qoblib_graph(f)
    assert g.name == "farm" and g.n_edges == 39


@pytest.mark.parametrize(
    ("text", "line", "pattern"),
    [
        ("1\n2\n1\n", 3, "listed twice"),
        ("# Objective value = 2\n0\n", 2, "1-based"),
        ("3\nx#1 1\n", 2, "mixes"),
        ("x#1 2\n", 1, "0 or 1"),
        ("# Objective value = 1\n# Objective value = 1\n1\n", 2, "second objective"),
        ("7\n", 1, "outside 1..5"),
    ],
)
def test_solution_format_departures(tmp_path: Path, text: str, line: int, pattern: str) -> None:
    f = tmp_path / "s.sol"
    f.write_text(text)
    with pytest.raises(ParseError, match=pattern) as err:
        read_qoblib_solution(f, n_nodes=5)
    assert err.value.line == line


def test_a_solution_that_is_not_independent_is_refused(tmp_path: Path) -> None:
    cls = tmp_path / "07-independentset"
    (cls / "instances").mkdir(parents=True)
    (cls / "solutions").mkdir()
    (cls / "instances" / "p3.gph").write_text("p edge 3 2\ne 1 2\ne 2 3\n")
    (cls / "solutions" / "p3.bst.sol").write_text("1\n2\n")
    with pytest.raises(ParseError, match="vertices 1 and 2 share an edge"):
        load_qoblib_mis(tmp_path, "p3")
    (cls / "solutions" / "p3.bst.sol").write_text("# Objective value = 3\n1\n3\n")
    with pytest.raises(ParseError, match="objective value 3 but 2 vertices"):
        load_qoblib_mis(tmp_path, "p3")
    (cls / "solutions" / "p3.bst.sol").write_text("1\n3\n")
    inst = load_qoblib_mis(tmp_path, "p3")
    assert inst.objective == 2 and not inst.optimal and inst.qs_path is None


# --------------------------------------------------------------------------- .qs
def test_qoblib_qs_file_is_the_stated_model() -> None:
    q = read_qubo(FARM_QS)
    graph = read_qoblib_graph(MIS / "instances" / "farm.gph")
    X = np.random.default_rng(0).integers(0, 2, size=(500, 17))
    np.testing.assert_array_equal(q.energies(X), _mis_energy(graph, X))
    assert float(ExactSampler(n_lowest=1).sample(q).energy[0]) == -10  # alpha(farm) = 10


def test_our_qs_writer_reproduces_qoblib_file_entries(tmp_path: Path) -> None:
    graph = read_qoblib_graph(MIS / "instances" / "farm.gph")
    Q = -np.eye(17)
    Q[graph.edges[:, 0], graph.edges[:, 1]] = 2.0  # the coefficient of x_u x_v in the model
    f = tmp_path / "farm.qs"
    write_qubo(f, QUBO(Q))

    def entries(text: str) -> tuple[str, set[tuple[int, int, float]]]:
        lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        header = " ".join(lines[0])
        return header, {(int(i), int(j), float(v)) for i, j, v in lines[1:]}

    real = lzma.decompress(FARM_QS.read_bytes()).decode()
    assert entries(f.read_text()) == entries(real)
    assert "# ObjectiveOffset 0" in real and "# ObjectiveOffset 0" in f.read_text()


@pytest.mark.parametrize(("suffix", "sparse"), [(".qs", False), (".qs.xz", True), (".json", False)])
def test_qs_roundtrip(tmp_path: Path, suffix: str, sparse: bool) -> None:
    q = random_qubo(9, seed=3, kind="float", density=0.5, sparse=sparse, offset=-2.75)
    f = tmp_path / f"q{suffix}"
    write_qubo(f, q, comment="two\nlines")
    back = read_qubo(f)
    assert back.var_names == q.var_names and back.offset == q.offset
    X = np.random.default_rng(1).integers(0, 2, size=(200, 9))
    np.testing.assert_allclose(back.energies(X), q.energies(X), rtol=1e-15, atol=1e-12)


def test_old_qslack_qs_files_still_read(tmp_path: Path) -> None:
    f = tmp_path / "old.qs"
    # the layout qslack wrote before it followed QOBLIB: full off-diagonal coefficients
    f.write_text("# offset = 0.5\n# vars = a b\n2 3\n1 1 1.0\n1 2 -2.0\n2 2 3.0\n")
    with pytest.warns(FormatWarning, match="old qslack"):
        q = read_qubo(f)
    assert q.var_names == ("a", "b") and q.energies(np.array([[1, 1]])).tolist() == [2.5]


@pytest.mark.parametrize(
    ("text", "line", "pattern"),
    [
        ("1 1 2\n", 1, "header"),
        ("2 1\n1 3 1\n", 2, "outside 1..2"),
        ("2 2\n1 2 1\n2 1 1\n", 3, "listed twice"),
        ("2 2\n1 1 1\n", 1, "announces 2 entries"),
        ("2 1\n1 1 x\n", 2, "non-numeric"),
        ("2 1\n1 1 inf\n", 2, "non-finite"),
        ("# ObjectiveOffset 1\n# ObjectiveOffset 2\n1 0\n", 2, "second objective offset"),
    ],
)
def test_qs_format_departures(tmp_path: Path, text: str, line: int, pattern: str) -> None:
    f = tmp_path / "bad.qs"
    f.write_text(text)
    with pytest.raises(ParseError, match=pattern) as err:
        read_qubo(f)
    assert err.value.line == line


# --------------------------------------------------------------------------- submissions
def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _check_row(row: dict[str, str]) -> None:
    """QOBLIB's check_submission.py rules for one row."""
    for col in INT_COLUMNS:
        val = row[col].strip()
        if val.upper() not in ("", "N/A", "NA"):
            int(val.replace(",", ""))
    for col in FLOAT_COLUMNS:
        val = row[col].strip()
        if val.upper() not in ("", "N/A", "NA"):
            float(val.replace(",", ""))


def test_columns_are_qoblibs_template() -> None:
    template = (DATA / "misc" / "submission_template.csv").read_text(encoding="utf-8-sig").strip()
    assert tuple(template.split(",")) == COLUMNS
    header, rows = _read_csv(ABS2 / "farm_summary.csv")
    assert tuple(header) == COLUMNS
    for row in rows:
        _check_row(row)  # the checker of this test accepts QOBLIB's own submission


@pytest.fixture(scope="module")
def stored_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three MIS runs on farm made by `qslack solve ... --sampler exact`: two seeds of one workflow,
    and one of another method."""
    db = tmp_path_factory.mktemp("store") / "q.db"
    runner = CliRunner()
    ids = []
    for method, seed in (("subgradient", 1), ("subgradient", 2), ("bundle", 1)):
        res = runner.invoke(
            app,
            ["solve", "farm", "--sampler", "exact", "--method", method, "--iters", "2", "--seed", str(seed),
             "--db", str(db), "--json"],
        )
        assert res.exit_code == 0, res.output
        ids.append(json.loads(res.stdout)["run_id"])
    return db, ids


def test_submission_of_a_stored_mis_run_matches_qoblibs_layout(
    stored_runs: tuple[Path, list[str]], tmp_path: Path
) -> None:
    db, ids = stored_runs
    out = tmp_path / "sub"
    res = CliRunner().invoke(
        app, ["export", "qoblib", ids[0], "--out", str(out), "--db", str(db), "--submitter", "Q. Slack"]
    )
    assert res.exit_code == 0, res.output
    d = out / "farm"
    header, rows = _read_csv(d / "farm_summary.csv")
    real_header, real_rows = _read_csv(ABS2 / "farm_summary.csv")
    assert header == real_header and len(rows) == 1  # same columns, same order
    row, real = rows[0], real_rows[0]
    _check_row(row)
    with Store(db) as store:
        run = store.get_run(ids[0])
    # field by field: same meaning as QOBLIB's row for the same instance
    assert row["Problem"] == real["Problem"] == d.name == "farm"
    assert row["Submitter"] == "Q. Slack"
    assert row["Best Objective Value"] == real["Best Objective Value"] == "10"  # exact sampler: the optimum
    assert float(row["Best Objective Value"]) == run["result"]["best_objective"]
    assert row["Optimality Bound"] == "10"  # a certified dual bound (exact oracle)
    assert row["Modeling Approach"] == real["Modeling Approach"] == "QUBO"
    assert row["# Decision Variables"] == row["# Binary Variables"] == real["# Binary Variables"] == "17"
    assert row["# Integer Variables"] == row["# Continuous Variables"] == "0"
    # the slack-free MIS QUBO has QOBLIB's structure: 17 diagonal + 39 edge entries, as in farm.qs
    qs_header = lzma.decompress(FARM_QS.read_bytes()).decode().splitlines()[9].split()
    assert row["# Non-Zero Coefficients"] == qs_header[1] == "56"
    assert row["Coefficients Type"] in ("Integer", "Continuous")
    lo, hi = (float(v) for v in row["Coefficients Range"].strip("[]").split(","))
    assert lo == -1.0 and hi > 0  # diagonal -1 (max |set| negated), positive edge penalties
    assert row["Algorithm Type"] == "Deterministic"
    assert row["# Runs"] == row["# Feasible Runs"] == row["# Successful Runs"] == "1"
    assert row["Success Threshold"] == "10"
    assert "logical CPUs" in row["Hardware Specifications"]
    total = float(row["Total Runtime"])
    assert 0 < total <= run["result"]["wall_s"] * (1 + 1e-6) and row["CPU Runtime"] == row["Total Runtime"]
    assert row["QPU Runtime"] == "N/A" and ids[0] in row["Remarks"]
    # the solution: QOBLIB's x#i v form, an independent set of the stated size
    graph = read_qoblib_graph(MIS / "instances" / "farm.gph")
    obj, nodes = read_qoblib_solution(d / "farm_solution.sol", n_nodes=17)
    x = np.zeros((1, 17))
    x[0, nodes] = 1
    assert obj == 10 and len(nodes) == 10 and _mis_energy(graph, x)[0] == -10
    series = json.loads((d / "farm_objective_time_series.json").read_text())
    assert len(series) == 1 and len(series[0]) == 2
    assert all(set(e) == {"Time", "Incumbent"} for e in series[0])
    assert [e["Time"] for e in series[0]] == sorted(e["Time"] for e in series[0])


def test_runs_pool_by_workflow(stored_runs: tuple[Path, list[str]], tmp_path: Path) -> None:
    db, ids = stored_runs
    with Store(db) as store:
        exports = [store.export_run(i) for i in ids]
    rows = qoblib_rows(exports)
    assert [r["# Runs"] for r in rows] == ["2", "1"]  # two seeds of subgradient, one bundle run
    assert ids[0] in rows[0]["Remarks"] and ids[1] in rows[0]["Remarks"] and ids[2] in rows[1]["Remarks"]
    written = write_qoblib_submission(exports, tmp_path)
    names = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert names == [
        "farm/farm_objective_time_series.json",
        "farm/farm_summary.csv",
        "farm/solutions/farm_solution_0.sol",
        "farm/solutions/farm_solution_1.sol",
    ]
    _, csv_rows = _read_csv(tmp_path / "farm" / "farm_summary.csv")
    assert len(csv_rows) == 2 and "solutions/farm_solution_1.sol" in csv_rows[1]["Remarks"]
    assert len(json.loads((tmp_path / "farm" / "farm_objective_time_series.json").read_text())) == 3
    with pytest.raises(ValidationError, match="exported run"):
        qoblib_rows([exports[0]["run"]])
    with pytest.raises(ValidationError, match="no runs"):
        write_qoblib_submission([], tmp_path)


def test_coefficients_are_not_guessed_when_the_run_stored_none(stored_runs: tuple[Path, list[str]]) -> None:
    db, ids = stored_runs
    with Store(db) as store:
        export = store.export_run(ids[0])
    assert export["run"]["result"]["qubo_stats"]["n_vars"] == 17  # stored with the run
    del export["run"]["result"]["qubo_stats"]  # as in a run stored by qslack 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = qoblib_rows([export])[0]
    assert row["# Non-Zero Coefficients"] == row["Coefficients Range"] == "N/A"
    assert "stored no QUBO statistics" in row["Remarks"]
