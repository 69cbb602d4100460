"""Reports: tables recomputed from the store, a self-contained HTML file, its Markdown twin, exports."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from qslack._paths import display_path
from qslack.report import tables
from qslack.report.html import write_report
from qslack.runs import config as runner
from qslack.runs import stored
from qslack.store.db import Store

MDKP = "mknap1#1"
MIS = "gen:mis?n=8&p=0.4&seed=1"
SEEDS = (0, 1)
# (method, sampler): bundle and fixed-penalty on the exact oracle, the random baseline
CONFIGS = (("bundle", "exact"), ("fixed-penalty", "exact"), ("bundle", "random"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "qslack.db"
    with Store(path) as store:
        for instance in (MDKP, MIS):
            for method, sampler in CONFIGS:
                for seed in SEEDS:
                    cfg = runner.SolveConfig(
                        instance=instance,
                        method=method,
                        sampler=sampler,
                        shots=100,
                        iters=3,
                        seed=seed,
                        reference_time_limit=5,
                    )
                    stored.solve(cfg, store)
        cfg = runner.SolveConfig(
            instance="mknap1#2", method="slack-penalty", sampler="exact", iters=3, reference_time_limit=5
        )
        rid, res, _ = stored.solve(cfg, store)
        assert res is None and store.get_run(rid)["status"] == "does-not-fit"
    return path


@pytest.fixture()
def store(store_path: Path) -> Any:
    with Store(store_path) as s:
        yield s


@pytest.fixture(scope="module")
def report(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("out") / "report.html"
    return write_report(store_path, out)


# --------------------------------------------------------------------------- independent recomputation


def _label(run: dict) -> str:
    return "random" if run["sampler"].get("sampler") == "random" else run["method"]


def _expected(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """The table's numbers, recomputed straight from the store's runs and steps."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in store.list_runs():
        groups.setdefault((run["instance_name"], _label(run)), []).append(run)
    out = {}
    for key, runs in groups.items():
        done = [r for r in runs if r["status"] == "finished"]
        feas = [bool(r["result"]["feasible"]) for r in done]
        gaps = [r["result"]["gap"] if r["result"]["feasible"] else math.inf for r in done]
        median = statistics.median(gaps) if gaps else None
        p_final = [store.steps(r["run_id"])[-1]["record"]["p_feasible"] for r in done]
        out[key] = {
            "n_seeds": len(done),
            "qubits": max(r["n_qubits"] for r in runs),
            "qubits_slack": max(r["qubits_slack"] for r in runs),
            "feasible_rate": sum(feas) / len(feas) if feas else None,
            "best_gap": min((g for g in gaps if math.isfinite(g)), default=None),
            "median_gap": None if median is None or math.isinf(median) else median,
            "mean_p_feasible": sum(p_final) / len(p_final) if p_final else None,
            "median_steps": statistics.median([r["result"]["steps"] for r in done])
            if done
            else None,
        }
    return out


def test_compare_rows_match_the_store(store: Store) -> None:
    rows = tables.compare_rows(store)
    expected = _expected(store)
    assert {(r["instance"], r["method"]) for r in rows} == set(expected)
    for row in rows:
        exp = expected[(row["instance"], row["method"])]
        for key, value in exp.items():
            if value is None:
                assert row[key] is None, (row["instance"], row["method"], key)
            else:
                assert row[key] == pytest.approx(value, rel=1e-12, abs=1e-15), (row["method"], key)
    # the slack-free qubit count of MDKP is its number of items, the slack baseline needs more
    mdkp = [r for r in rows if r["instance"] == MDKP]
    assert {r["qubits"] for r in mdkp} == {6} and all(r["qubits_slack"] > 6 for r in mdkp)


def test_compare_rows_order_filters_and_labels(store: Store) -> None:
    rows = tables.compare_rows(store)
    keys = [(r["instance"], r["method"]) for r in rows]
    assert keys == sorted(keys, key=lambda k: (k[0], tables.METHOD_ORDER.index(k[1])))
    assert [r["method"] for r in rows if r["instance"] == MDKP] == ["bundle", "fixed-penalty", "random"]
    # the generator spec selects the generated instance by the name it was loaded under
    mis = tables.compare_rows(store, instances=[MIS])
    assert mis and {r["instance"] for r in mis} == {"gen-mis-n8-p0.4-s1"}
    only_random = tables.compare_rows(store, methods=["random"])
    assert {r["method"] for r in only_random} == {"random"} and len(only_random) == 2
    assert all(r["sampler"] == "random, 100 shots" for r in only_random)
    # certified bounds (LP relaxation of MDKP) are the dual bound; estimates live apart
    assert all(r["dual_bound"] is not None for r in rows if r["instance"] == MDKP)


def test_does_not_fit_row(store: Store) -> None:
    (row,) = tables.compare_rows(store, instances=["mknap1#2"])
    assert row["method"] == "slack-penalty" and row["n_seeds"] == 0
    assert "does not fit: 99 qubits" in row["status_note"]
    assert row["qubits"] == 99 and row["feasible_rate"] is None and row["median_gap"] is None


def test_median_gap_counts_infeasible_seeds_as_inf(tmp_path: Path) -> None:
    """Hand-made runs: two of three seeds infeasible -> infinite median -> None and a note."""
    with Store(tmp_path / "m.db") as store:
        for seed, feasible, gap, bound, cert in (
            (0, True, 0.1, 10.0, False),
            (1, False, None, 12.0, True),
            (2, False, None, 11.0, True),
        ):
            rid = store.create_run(
                run_key=f"k{seed}",
                instance={"name": "toy", "problem": "mdkp"},
                program_hash="h",
                n_qubits=4,
                qubits_slack=9,
                method="subgradient",
                seed=seed,
                provenance={},
                sampler={"sampler": "qaoa", "p": 1, "shots": 10},
            )
            store.add_step(rid, 0, {"p_feasible": 0.25 * seed})
            store.finish_run(
                rid,
                "finished",
                {
                    "feasible": feasible,
                    "gap": gap,
                    "n_iterations": 1,
                    "wall_s": 1.0,
                    "dual_bound": bound,
                    "dual_bound_certified": cert,
                },
            )
        (row,) = tables.compare_rows(store)
    assert row["feasible_rate"] == pytest.approx(1 / 3)
    assert row["best_gap"] == 0.1 and row["median_gap"] is None
    assert "median gap infinite" in row["status_note"]
    assert row["mean_p_feasible"] == pytest.approx(0.25)
    # maximisation: the best certified upper bound is the smallest certified one; a schema-1
    # summary's estimate (dual_bound_certified=False) is read as the estimate, never as the bound
    assert row["dual_bound"] == 11.0 and row["dual_estimate"] == 10.0
    assert tables.format_cell("dual_bound", row["dual_bound"]) == "11"


def test_csv_json_round_trip_and_renderers(store: Store, tmp_path: Path) -> None:
    rows = tables.compare_rows(store)
    tables.to_csv(rows, tmp_path / "rows.csv")
    assert tables.from_csv(tmp_path / "rows.csv") == rows
    buf = io.StringIO()
    tables.to_csv(rows, buf)
    assert tables.from_csv(io.StringIO(buf.getvalue())) == rows
    text = tables.to_json(rows)
    assert json.loads(text) == rows and tables.from_json(text) == rows
    md = tables.markdown_table(rows)
    assert len(md.strip().splitlines()) == len(rows) + 2
    assert "does not fit: 99 qubits" in md

    from rich.console import Console

    console = Console(record=True, width=400)
    console.print(tables.rich_table(rows))
    shown = console.export_text()
    assert "does not fit: 99 qubits" in shown and "wall [s]" in shown


# --------------------------------------------------------------------------- the report


def _html_tables(text: str) -> list[list[dict[str, str]]]:
    """Every comparison table of the HTML file as header -> cell text dicts."""
    out = []
    for table in re.findall(r'<table class="cmp">(.*?)</table>', text, flags=re.S):
        head = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
        rows = []
        for tr in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], flags=re.S):
            cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
            rows.append(dict(zip(head, cells, strict=True)))
        out.append(rows)
    return out


def test_html_report_images_and_numbers(report: tuple[Path, Path], store: Store) -> None:
    html_path, _ = report
    assert html_path.is_file()
    text = html_path.read_text(encoding="utf-8")
    # self-contained: no external images, scripts or stylesheets
    assert "<img" in text and not re.search(r'<img src="(?!data:)', text)
    assert "<script" not in text and "<link" not in text
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # 5 plots per instance with stored steps (MDKP, MIS) + the qubit bars; none for the does-not-fit one
    assert len(images) == 2 * 5 + 1
    for b64 in images:
        data = base64.b64decode(b64, validate=True)
        assert data.startswith(PNG_SIGNATURE)
        img = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    # header and the how-to-read note
    # the store is named, without the folders of the machine that made the report
    assert "qslack version" in text and html.escape(display_path(store.path)) in text
    assert str(Path(store.path).parent) not in text
    assert "feedback rules" in text and "certified" in text and "LP relaxation" in text
    # every number of the tables is the store's, formatted by the shared formatter
    expected = _expected(store)
    parsed = [row for table in _html_tables(text) for row in table]
    assert len(parsed) == len(expected)
    head = dict((k, h) for k, h, *_ in tables.COLUMNS)
    for row in parsed:
        exp = expected[(row[head["instance"]], row[head["method"]])]
        for key in ("feasible_rate", "median_gap", "best_gap", "mean_p_feasible", "qubits", "n_seeds"):
            assert row[head[key]] == tables.format_cell(key, exp[key]), key
    dnf = [r for r in parsed if r[head["method"]] == "slack-penalty"]
    assert len(dnf) == 1 and "does not fit: 99 qubits" in dnf[0][head["status_note"]]


def test_markdown_twin(report: tuple[Path, Path]) -> None:
    html_path, md_path = report
    assert md_path.is_file() and md_path == html_path.with_suffix(".md")
    md = md_path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 2 * 5 + 1
    for link in links:
        target = md_path.parent / link
        assert link.startswith("report_files/") and target.is_file()
        assert target.read_bytes().startswith(PNG_SIGNATURE)
    assert "does not fit: 99 qubits" in md
    assert "| instance | method |" in md


def test_report_filters_and_escaping(store_path: Path, tmp_path: Path) -> None:
    html_path, md_path = write_report(store_path, tmp_path / "mis", instances=[MIS])
    assert html_path.name == "mis.html" and md_path.name == "mis.md"
    text = html_path.read_text(encoding="utf-8")
    assert "gen-mis-n8-p0.4-s1" in text and "mknap1#1" not in text
    # the generator spec is shown escaped (its & becomes &amp;)
    assert "gen:mis?n=8&amp;p=0.4&amp;seed=1" in text and "gen:mis?n=8&p" not in text
    assert len(re.findall(r"data:image/png;base64,", text)) == 5 + 1
