"""Bad input: every subcommand fails cleanly, and the fixes behind it hold.

The table runs ``python -m qslack ...`` in subprocesses (each in its own empty
folder, with no IBM credentials in the environment) against a catalogue of bad
inputs and asserts: exit code 2, exactly one line of output (on stderr,
starting with ``error:``), the offending name in that line, and no
``Traceback`` anywhere.  Cases that still fail because of layers another
engineer is redesigning (dual loop, runner, store, CLI options) are marked
``xfail(strict=True, reason="lead: ...")``, so fixing one turns it into a
failure until its mark is removed.  All subprocesses run at once in a thread
pool the first time a case asks for its result.

The rest of the file checks, in process, the fixes the table cannot see:
output-path checks, safe file names, generator specs, sizes stated in words,
large instances described without dense matrices (under an address-space
cap), known optima with their sources, and IBM authentication errors.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qslack._paths import check_writable, display_path, safe_filename
from qslack._sizes import format_bytes, format_count, require_memory
from qslack.exceptions import ParseError, ResourceError, ValidationError

ROOT = os.geteuid() == 0
#: A folder nobody may create files in: root ignores permission bits, but not sysfs.
RO_ROOT = "/sys"
STORE = object()  # a files-spec value: an empty qslack store
VALID_SUITE = 'name = "ok"\nseeds = [0]\nmethods = ["bundle"]\n[budget]\nsampler = "exact"\niters = 1\n'
VALID_SUITE += '[[instance]]\nspec = "mknap1#1"\n'


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, what its one error line must name, and its staging."""

    id: str
    argv: tuple[str, ...]
    names: str
    files: dict[str, Any] = field(default_factory=dict)  # name -> text, None (a folder) or STORE
    env: dict[str, str] = field(default_factory=dict)
    cap_gib: float | None = None  # RLIMIT_AS of the subprocess
    absent: tuple[str, ...] = ()  # paths (relative to the case folder) that must not exist afterwards
    lead: str | None = None  # still fails because of the lead's layers
    needs_non_root: bool = False  # cannot be staged as root (permission bits)


def _c(id: str, *argv: str, names: str, **kw: Any) -> Case:
    return Case(id, tuple(argv), names, **kw)


SOLVE = ("solve", "mknap1#1", "--sampler", "exact", "--iters", "2")
DB = {"s.db": STORE}

CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------ files that are not files
    _c("inspect-dir-tsp", "inspect", "x.tsp", names="x.tsp", files={"x.tsp": None}),
    _c("inspect-dir-gph", "inspect", "x.gph", names="x.gph", files={"x.gph": None}),
    _c("inspect-dir-clq", "inspect", "x.clq", names="x.clq", files={"x.clq": None}),
    _c("inspect-dir-lp", "inspect", "x.lp", names="x.lp: is a directory", files={"x.lp": None}),
    _c("inspect-empty-lp", "inspect", "empty.lp", names="empty.lp", files={"empty.lp": ""}),
    _c("inspect-missing-file", "inspect", "nosuch.tsp", names="nosuch.tsp"),
    _c("baseline-dir", "baseline", "x.tsp", names="x.tsp", files={"x.tsp": None}),
    _c("solve-dir", "solve", "x.gph", "--db", "s.db", names="x.gph", files={"x.gph": None}),
    # ------------------------------------------------------------ generator specs
    _c("gen-no-equals", "inspect", "gen:tsp?n", names="gen:tsp?n"),
    _c("gen-repeated-key", "inspect", "gen:tsp?n=5&n=6", names="'n' given twice"),
    _c("gen-p-above-one", "inspect", "gen:mis?n=5&p=1.5", names="p=1.5"),
    _c("gen-p-nan", "inspect", "gen:mis?n=5&p=nan", names="p='nan'"),
    _c("gen-negative-seed", "inspect", "gen:tsp?n=5&seed=-1", names="seed=-1"),
    _c("gen-tightness-one", "inspect", "gen:mdkp?n=5&tightness=1", names="tightness=1"),
    _c("gen-mis-too-many-nodes", "inspect", "gen:mis?n=100000", names="n=100000"),
    _c("gen-unknown-key", "inspect", "gen:tsp?n=5&cities=3", names="'cities'"),
    _c("solve-gen-mis-n0", "solve", "gen:mis?n=0", "--db", "s.db", names="n=0"),
    # ------------------------------------------------------------ output paths
    _c(
        "export-qubo-missing-folder",
        "inspect",
        "mknap1#1",
        "--export-qubo",
        "/nonexistent/dir/q.qs",
        names="/nonexistent/dir",
    ),
    _c(
        "export-qubo-directory",
        "inspect",
        "mknap1#1",
        "--export-qubo",
        "out",
        names="out: it is a directory",
        files={"out": None},
    ),
    _c("export-qubo-read-only", "inspect", "mknap1#1", "--export-qubo", "{ro}/q.qs", names="{ro}/q.qs"),
    _c(
        "export-qubo-too-big",
        "inspect",
        "gen:mdkp?n=20000",
        "--export-qubo",
        "q.qs",
        names="gen-mdkp-n20000",
        cap_gib=2.0,
        absent=("q.qs",),
    ),
    _c("compare-csv-missing-folder", "compare", "--db", "s.db", "--csv", "no/c.csv", names="no", files=DB),
    _c("compare-csv-read-only", "compare", "--db", "s.db", "--csv", "{ro}/c.csv", names="{ro}", files=DB),
    _c("report-out-read-only", "report", "--db", "s.db", "--out", "{ro}/r.html", names="{ro}", files=DB),
    _c(
        "report-out-directory",
        "report",
        "--db",
        "s.db",
        "--out",
        "out",
        names="out: it is a directory",
        files={**DB, "out": None},
    ),
    _c(
        "sweep-report-missing-folder",
        "sweep",
        "ok.toml",
        "--report",
        "no/r.html",
        names="no/r.html",
        files={"ok.toml": VALID_SUITE},
        absent=("qslack.db",),
    ),
    _c(
        "write-solution-missing-folder",
        *SOLVE,
        "--write-solution",
        "/nonexistent/dir/x.sol",
        names="/nonexistent/dir",
        absent=("qslack.db",),  # refused before the store is opened, let alone the solve
    ),
    # ------------------------------------------------------------ suites
    _c(
        "sweep-seeds-not-integers",
        "sweep",
        "s.toml",
        names="seeds",
        files={"s.toml": 'seeds = "zero"\nmethods = ["bundle"]\n[[instance]]\nspec = "mknap1#1"\n'},
    ),
    _c(
        "sweep-no-instances",
        "sweep",
        "s.toml",
        names="no [[instance]] entries",
        files={"s.toml": 'name = "s"\n'},
    ),
    _c(
        "sweep-budget-type",
        "sweep",
        "s.toml",
        names="iters must be integer",
        files={"s.toml": '[budget]\niters = "x"\n[[instance]]\nspec = "mknap1#1"\n'},
    ),
    # ------------------------------------------------------------ reports and stores
    _c(
        "report-unknown-instance",
        "report",
        "--db",
        "s.db",
        "--instance",
        "nosuch",
        "--out",
        "r.html",
        names="'nosuch'",
        files=DB,
        absent=("r.html", "r.md"),
    ),
    _c("jobs-status-unknown", "jobs", "status", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("jobs-fetch-unknown", "jobs", "fetch", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("jobs-cancel-unknown", "jobs", "cancel", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("runs-export-unknown", "runs", "--export", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("runs-show-unknown", "runs", "show", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("runs-delete-unknown", "runs", "delete", "nosuch", "--db", "s.db", names="nosuch", files=DB),
    _c("runs-bad-status", "runs", "--status", "bogus", "--db", "s.db", names="bogus", files=DB),
    _c(
        "export-qoblib-unknown", "export", "qoblib", "nosuch", "--out", "sub", "--db", "s.db", names="nosuch",
        files=DB,
    ),
    _c(
        "profiles-bad-file",
        "profiles",
        names="bad.toml",
        files={"profiles/bad.toml": "name = [\n"},
        env={"QSLACK_PROFILES": "profiles"},
    ),
    # ------------------------------------------------------------ IBM credentials
    _c(
        "submit-malformed-crn",
        "submit",
        "mknap1#1",
        "--profile",
        "ibm-torino",
        "--db",
        "s.db",
        names="QISKIT_IBM_INSTANCE",
        env={"QISKIT_IBM_TOKEN": "tok-do-not-print-77", "QISKIT_IBM_INSTANCE": "crn:v1:bluemix"},
    ),
    # ------------------------------------------------------------ the lead's layers (CLI, runner, store)
    _c("solve-method-bogus", *SOLVE, "--method", "bogus", names="bogus"),
    _c("solve-rho-negative", *SOLVE, "--rho", "-1", names="--rho"),
    _c("solve-rho-nan", *SOLVE, "--rho", "nan", names="--rho"),
    _c("solve-unknown-option", *SOLVE, "-o", "foo=1", names="foo"),
    _c("solve-seed-negative", *SOLVE, "--seed", "-1", names="--seed"),
    _c("solve-iters-zero", *SOLVE, "--iters", "0", names="--iters"),
    _c(
        "solve-time-limit-negative",
        *SOLVE,
        "--time-limit",
        "-1",
        names="--time-limit",
    ),
    _c("solve-profile-aer-gpu", *SOLVE, "--profile", "aer-gpu", names="GPU"),
    _c(
        "sweep-workers-zero",
        "sweep",
        "ok.toml",
        "--workers",
        "0",
        "--no-report",
        names="--workers",
        files={"ok.toml": VALID_SUITE},
    ),
    _c(
        "instances-unknown-problem",
        "instances",
        "--problem",
        "bogus",
        names="bogus",
    ),
    *(
        _c(
            f"{'-'.join(cmd)}-missing-store",
            *cmd,
            "--db",
            "no/such.db",
            names="no/such.db",
            absent=("no",),
        )
        for cmd in (("runs",), ("jobs", "list"), ("compare",), ("report",))
    ),
    _c(
        "demo-store-is-a-directory",
        "demo",
        "--db",
        "dbdir",
        names="dbdir",
        files={"dbdir": None},
    ),
    _c(
        "runs-read-only-store",
        "runs",
        "--db",
        "ro/s.db",
        names="ro/s.db",
        files={"ro/s.db": STORE},
        needs_non_root=True,
    ),
)


# --------------------------------------------------------------------------- running the table
def _stage(case: Case, base: Path) -> tuple[Path, list[str], dict[str, str]]:
    from qslack.store.db import Store

    cwd = base / case.id
    cwd.mkdir(parents=True)
    for name, content in case.files.items():
        p = cwd / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir()
        elif content is STORE:
            Store(p).close()
        else:
            p.write_text(content)
    if case.id == "runs-read-only-store":
        for p in (cwd / "ro").iterdir():
            p.chmod(0o444)
        (cwd / "ro").chmod(0o555)
    ro = RO_ROOT if ROOT else str(base / "read-only")
    argv = [a.replace("{ro}", ro) for a in case.argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QISKIT_IBM_")}
    env.update(HOME=str(cwd), PYTHONWARNINGS="ignore::DeprecationWarning", COLUMNS="200")
    env.update(case.env)
    return cwd, argv, env


def _run(case: Case, base: Path) -> dict[str, Any]:
    cwd, argv, env = _stage(case, base)
    cap = None if case.cap_gib is None else int(case.cap_gib * 2**30)

    def limit() -> None:  # pragma: no cover - runs in the child
        if cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    try:
        r = subprocess.run(
            [sys.executable, "-m", "qslack", *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            preexec_fn=limit,
        )
        out = {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
    except subprocess.TimeoutExpired as exc:
        out = {"rc": None, "stdout": str(exc.stdout), "stderr": f"timed out after {exc.timeout} s"}
    out["absent"] = {p: not (cwd / p).exists() for p in case.absent}
    out["argv"] = argv
    return out


_RESULTS: dict[str, Any] = {}
_LOCK = threading.Lock()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case's result, run in parallel once per module."""
    with _LOCK:
        if not _RESULTS:
            base = tmp_path_factory.mktemp("bad-input")
            ro = base / "read-only"
            ro.mkdir()
            ro.chmod(0o555)
            runnable = [c for c in CASES if not (c.needs_non_root and ROOT)]
            # the slow ones (a whole run is prepared before they fail) first, so the pool ends together
            runnable.sort(key=lambda c: c.argv[0] not in ("submit", "solve", "sweep"))
            with ThreadPoolExecutor(max_workers=4) as pool:
                for case, res in zip(runnable, pool.map(lambda c: _run(c, base), runnable), strict=True):
                    _RESULTS[case.id] = res
    return _RESULTS


def _param(case: Case) -> Any:
    marks = []
    if case.lead:
        marks.append(pytest.mark.xfail(strict=True, reason=case.lead))
    if case.needs_non_root:
        marks.append(pytest.mark.skipif(ROOT, reason="root ignores permission bits: no read-only store"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_exits_2_with_one_line(case: Case, results: dict[str, Any]) -> None:
    res = results[case.id]
    everything = res["stdout"] + res["stderr"]
    assert "Traceback" not in everything, everything[-2000:]
    assert res["rc"] == 2, f"{res['argv']}: exit {res['rc']}\n{everything[-2000:]}"
    lines = [ln for ln in everything.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n" + "\n".join(lines[:20])
    assert res["stdout"].strip() == "" and lines[0].startswith("error: ")
    want = case.names.replace("{ro}", RO_ROOT if ROOT else "read-only")
    assert want in lines[0], f"{want!r} not in {lines[0]!r}"
    assert all(res["absent"].values()), f"left behind: {[p for p, ok in res['absent'].items() if not ok]}"
    for secret in case.env.values():
        if "tok" in secret:
            assert secret not in everything


def test_every_subcommand_is_in_the_table() -> None:
    import typer.main

    from qslack.cli import app

    group = typer.main.get_command(app)
    groups = {name for name, cmd in group.commands.items() if hasattr(cmd, "commands")}  # type: ignore[attr-defined]
    covered = {c.argv[0] for c in CASES} | {" ".join(c.argv[:2]) for c in CASES if c.argv[0] in groups}
    commands = {name for name in group.commands if name not in groups}  # type: ignore[attr-defined]
    for g in groups:
        commands |= {f"{g} {n}" for n in group.commands[g].commands}  # type: ignore[attr-defined]
    assert commands <= covered, commands - covered
    assert {"demo", "jobs fetch", "submit"} <= commands


# --------------------------------------------------------------------------- output paths, file names
def test_check_writable(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "a.csv") == tmp_path / "a.csv"
    assert not (tmp_path / "a.csv").exists()  # the probe leaves nothing
    (tmp_path / "keep.txt").write_text("data")
    check_writable(tmp_path / "keep.txt")
    assert (tmp_path / "keep.txt").read_text() == "data"  # an existing file is not truncated
    for bad, why in (
        (tmp_path / "no" / "a.csv", "does not exist"),
        (tmp_path, "it is a directory"),
        (tmp_path / "keep.txt" / "a.csv", "is not a folder"),
        (Path(RO_ROOT) / "qslack-probe.csv", "permission denied"),
    ):
        with pytest.raises(ValidationError, match=why) as info:
            check_writable(bad, "--csv file")
        assert str(bad) in str(info.value) and "--csv file" in str(info.value)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("quantum-small", "quantum-small"),
        ("../../../tmp/x", "tmp_x"),
        ("/etc/passwd", "etc_passwd"),
        ("..", "unnamed"),
        ("a/../../b", "a_b"),
        ("name with spaces\nand newline", "name_with_spaces_and_newline"),
        ("burma14[:6]", "burma14_6"),
        ("x" * 300, "x" * 120),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    out = safe_filename(name)
    assert out == expected
    assert "/" not in out and "\\" not in out and ".." not in out and not out.startswith(".")
    assert (Path("/base") / out).resolve().parent == Path("/base")


def test_suite_name_cannot_leave_the_folder(tmp_path: Path) -> None:
    from qslack.runs.sweep import load_suite

    f = tmp_path / "evil.toml"
    f.write_text(VALID_SUITE.replace('name = "ok"', 'name = "../../../tmp/x"'))
    name = load_suite(f).name
    assert name == "tmp_x"
    report = Path(f"{name}-report.html")  # what `qslack sweep` writes by default
    assert report.resolve().parent == Path.cwd().resolve()


def test_display_path_has_no_machine_folders(tmp_path: Path) -> None:
    from qslack.problems.catalog import instances_dir

    assert display_path(instances_dir() / "mis" / "farm.gph") == "instances/mis/farm.gph"
    assert display_path(tmp_path / "q.db") == "q.db"
    assert display_path("rel/q.db") == "rel/q.db"


def test_committed_reports_hold_no_machine_paths() -> None:
    reports = Path(__file__).resolve().parents[1] / "reports"
    texts = [p for p in reports.rglob("*") if p.suffix in (".txt", ".md", ".html", ".csv", ".json")]
    assert texts
    for p in texts:
        text = p.read_text(encoding="utf-8", errors="replace")
        for needle in ("/work/", "/tmp/", "/root/", "/home/"):
            assert needle not in text, f"{p.name} holds {needle}"


# --------------------------------------------------------------------------- formats and generators
def test_format_flag_reads_any_file_name(tmp_path: Path) -> None:
    from qslack.problems.catalog import load_instance

    f = tmp_path / "model.txt"
    f.write_text("maximize\n obj: 3 x + 2 y\nsubject to\n c1: x + y <= 1\nbinary\n x y\nend\n")
    prog = load_instance(str(f), fmt="lp").instance
    assert prog.var_names == ("x", "y") and prog.is_max
    assert prog.native_objective(np.array([[1, 0]])).tolist() == [3.0]
    with pytest.raises(ParseError, match=r"model\.txt"):
        load_instance(str(f), fmt="mps")


def test_single_problem_mknap_file_needs_no_index(tmp_path: Path) -> None:
    from qslack.problems.catalog import instances_dir, load_instance

    text = (instances_dir() / "mdkp" / "mknap1.txt").read_text().split()
    # problem 1 of mknap1.txt is "6 10 3800" then 6 profits, 60 weights, 10 capacities
    body = text[1 : 1 + 3 + 6 + 60 + 10]
    one = tmp_path / "one.txt"
    one.write_text("1\n" + " ".join(body) + "\n")
    ld = load_instance(str(one))
    assert (ld.instance.n, ld.known_optimum) == (6, 3800.0)
    with pytest.raises(ValidationError, match="holds 7 problems"):
        load_instance(str(instances_dir() / "mdkp" / "mknap1.txt"))


@pytest.mark.parametrize(
    "spec,match",
    [
        ("gen:tsp?n", "expected key=value"),
        ("gen:tsp?n=5&n=6", "given twice"),
        ("gen:mis?n=5&p=1.5", "0 <= p <= 1"),
        ("gen:mis?n=5&p=-0.1", "0 <= p <= 1"),
        ("gen:mis?n=0", "1 <= n"),
        ("gen:mis?n=5&kind=unit-disk&radius=0", "radius > 0"),
        ("gen:mis?n=5&kind=grid", "unknown gen:mis kind"),
        ("gen:mdkp?n=5&m=0", "m >= 1"),
        ("gen:mdkp?n=5&tightness=inf", "not a finite number"),
        ("gen:tsp?n=2", "n >= 3"),
        ("gen:tsp?n=5&seed=1.5", "is not a int"),
        ("gen:tsp?n=5&seed=-3", "seed >= 0"),
        ("gen:tsp?seed=3", "needs n="),
    ],
)
def test_generator_specs_are_checked(spec: str, match: str) -> None:
    from qslack.problems.generators import generate

    with pytest.raises(ValidationError, match=match):
        generate(spec)


def test_generator_spec_still_reads_good_ones() -> None:
    from qslack.problems.generators import parse_spec

    assert parse_spec("gen:mis?n=8&p=0.25&kind=gnp&seed=2") == (
        "mis",
        {"n": 8, "p": 0.25, "kind": "gnp", "seed": 2},
    )


# --------------------------------------------------------------------------- sizes as facts
def test_counts_stay_exact_ints_and_are_stated_in_words() -> None:
    from qslack.model.slack import slack_summary
    from qslack.problems.catalog import build_program, load_instance
    from qslack.problems.tsp import subtour_slack_bits

    _, bits = subtour_slack_bits(76)  # eil76 in the edge encoding: beyond 2^70
    assert isinstance(bits, int) and bits > 2**70
    assert format_count(bits).startswith("about 2^7")
    s = slack_summary(build_program(load_instance("berlin52"), encoding="edge"))
    assert isinstance(s["qubits_slack"], int) and s["method"] == "counted"
    assert s["qubits_slack"] == 1326 + subtour_slack_bits(52)[1]  # exact, no float rounding
    assert s["qubits_slack_text"] == f"about 2^{np.log2(float(s['qubits_slack'])):.1f} (counted, not built)"
    huge = 2**5000 + 1  # beyond any float
    assert format_count(huge) == "about 2^5000.0" and format_bytes(huge) == "about 2^5000.0 bytes"


def test_require_memory_refuses_in_one_line() -> None:
    require_memory(1 << 20, "one MiB")
    with pytest.raises(ResourceError, match=r"^x needs about 2\^90\.0 bytes; .* available$"):
        require_memory(2**90, "x")


@pytest.mark.parametrize("spec", ["gen:mdkp?n=20000", "gen:mdkp?n=100000", "gen:tsp?n=120"])
def test_describing_a_large_instance_fits_in_2_gib(spec: str, tmp_path: Path) -> None:
    """`inspect` of a large instance allocates no dense n x n matrix (the address space is capped)."""
    cap = 2 * 2**30

    def limit() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    r = subprocess.run(
        [sys.executable, "-m", "qslack", "inspect", spec, "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=limit,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    out = json.loads(r.stdout)
    n = int(spec.split("n=")[1])
    assert out["n_vars"] == (n if "mdkp" in spec else (n - 1) ** 2)
    assert out["slack_method"] == "counted"


def test_sparse_program_agrees_with_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above DENSE_Q_MAX_VARS, Q is held sparse: same objective, summary and fingerprint."""
    from qslack.model import program as program_mod
    from qslack.model.program import BinaryProgram

    rng = np.random.default_rng(3)
    n = 12
    Q = np.where(rng.random((n, n)) < 0.3, rng.normal(size=(n, n)), 0.0)  # zeros as +0.0
    args = {"c": rng.normal(size=n), "Q": Q, "A": rng.integers(0, 3, (2, n)), "b": [3.0, 2.0]}
    dense = BinaryProgram.from_arrays(**args)
    monkeypatch.setattr(program_mod, "DENSE_Q_MAX_VARS", 4)
    sparse = BinaryProgram.from_arrays(**args)
    assert sparse.Q_is_sparse and not dense.Q_is_sparse
    X = rng.integers(0, 2, (20, n))
    np.testing.assert_allclose(sparse.objective(X), dense.objective(X), rtol=1e-12)
    np.testing.assert_array_equal(sparse.dense_Q(), dense.Q)
    assert sparse.fingerprint() == dense.fingerprint()
    assert sparse.summary() == dense.summary()


# --------------------------------------------------------------------------- known optima
def test_known_optimum_beats_ortools_and_says_where_it_came_from(tmp_path: Path) -> None:
    import shutil

    from qslack.baselines import reference_optimum
    from qslack.problems.catalog import instances_dir, load_instance

    # a graph file with its QOBLIB .opt.sol beside it (outside the manifest)
    for name in ("farm.gph", "farm.opt.sol"):
        shutil.copy(instances_dir() / "mis" / name, tmp_path / name)
    ld = load_instance(str(tmp_path / "farm.gph"))
    opt = reference_optimum(ld, {"objective": 9.0, "optimal": False})  # CP-SAT not proven: ignored
    assert (opt.value, opt.optimal, opt.for_gaps) == (10.0, True, 10.0)
    assert opt.source == f"opt.sol file {display_path(tmp_path / 'farm.opt.sol')}"
    # a wrong .opt.sol is an error, not a silent optimum
    (tmp_path / "farm.opt.sol").write_text("# Objective value = 2\n7\n17\n")  # edge 7-17 of farm.gph
    with pytest.raises(ParseError, match=r"farm\.opt\.sol: lists adjacent vertices 7 and 17"):
        load_instance(str(tmp_path / "farm.gph"))
    (tmp_path / "farm.opt.sol").write_text("# Objective value = 3\n7\n")  # states 3, lists one vertex
    with pytest.raises(ParseError, match="states objective 3"):
        load_instance(str(tmp_path / "farm.gph"))
    # OR-Library mknapcb file by path: the best-known table, whatever CP-SAT does
    shutil.copy(instances_dir() / "mdkp" / "mknapcb1.txt", tmp_path / "mknapcb1.txt")
    ld = load_instance(str(tmp_path / "mknapcb1.txt") + "#3")
    for ref in ({"objective": 23551.0, "optimal": True}, {"objective": 23000.0, "optimal": False}):
        opt = reference_optimum(ld, ref)
        assert opt.value == 23551.0 and "row 5.100-02" in opt.source and opt.optimal
    # manifest names keep the manifest's source
    assert reference_optimum(load_instance("burma14")).source == "manifest: TSPLIB solutions file"
    # no known optimum: OR-Tools, labelled
    ld = load_instance("gen:mis?n=8&p=0.4&seed=1")
    assert reference_optimum(ld, {"objective": 4.0, "optimal": True}).source == "OR-Tools proven"
    best = reference_optimum(ld, {"objective": 4.0, "optimal": False})
    assert best.source == "OR-Tools best found (not proven)" and best.for_gaps is None


# --------------------------------------------------------------------------- IBM authentication
def test_auth_errors_are_permanent_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    from qslack.hardware.service import (
        AuthenticationError,
        FakeFaultyService,
        LocalFakeService,
        RetryingService,
        is_transient,
        with_retries,
    )

    token = "tok-secret-4242"
    monkeypatch.setenv("QISKIT_IBM_TOKEN", token)
    # the fake service answering 401 (what IBM says to a bad token): no retry, one redacted line
    waits: list[float] = []
    faulty = FakeFaultyService(
        LocalFakeService(), flaky_calls=10, flaky_status=401, flaky_message=f"401 Unauthorized\n{token}"
    )
    retrying = RetryingService(faulty, retries=5, sleep=waits.append)
    with pytest.raises(AuthenticationError) as info:
        retrying.backend("fake_torino")
    assert faulty.calls["backend"] == 1 and waits == []
    msg = str(info.value)
    assert "\n" not in msg and token not in msg and "QISKIT_IBM_TOKEN" in msg
    # qiskit-ibm-runtime's own exceptions, also when raised from a connection error
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    for exc_type in (InvalidAccountError, IBMNotAuthorizedError):

        def refused(exc_type: type = exc_type) -> None:
            try:
                raise ConnectionError("name resolution failed")
            except ConnectionError as inner:
                raise exc_type(f"Please check that you are using a valid API token ({token})") from inner

        calls: list[int] = []

        def counted(fn: Any = refused, calls: list[int] = calls) -> None:
            calls.append(1)
            fn()

        with pytest.raises(AuthenticationError, match="refused the credentials") as info:
            with_retries(counted, sleep=waits.append)
        assert calls == [1] and waits == [] and token not in str(info.value)
        assert "raised from ConnectionError" in str(info.value)
        try:
            refused()
        except Exception as exc:
            assert not is_transient(exc)
    # a transient fault still is retried
    assert is_transient(ConnectionResetError())


def test_runtime_service_maps_auth_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    from qslack.hardware.service import AuthenticationError, RuntimeService

    class Refusing:
        def backend(self, name: str) -> Any:
            raise IBMNotAuthorizedError("401 Client Error: Unauthorized")

    svc = RuntimeService(runtime_service=Refusing())
    with pytest.raises(AuthenticationError, match="IBMNotAuthorizedError"):
        svc.backend("ibm_torino")


@pytest.mark.parametrize(
    "instance",
    ["crn:v1:bluemix", "crn:v1:bluemix:public:quantum-computing:us-east", "crn::::::::", "my instance"],
)
def test_malformed_instance_is_refused_before_any_call(
    instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qslack.hardware.service import CredentialsError, credentials

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "tok-1")
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", instance)
    with pytest.raises(CredentialsError, match="QISKIT_IBM_INSTANCE"):
        credentials()
    good = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:0123-4567::"
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", good)
    assert credentials().instance == good
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "open-instance")
    assert credentials().instance == "open-instance"
