"""The ``qslack`` command line: drives every stage, holds no logic of its own.

Heavy libraries (qiskit, Aer, OR-Tools) are imported inside the commands that
need them, so ``qslack --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from qslack.exceptions import QslackError

__all__ = ["app", "main"]

app = typer.Typer(
    name="qslack",
    help="Slack-free Lagrangian QUBOs and dual loops around QAOA (TSP, MDKP, MIS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def _handles_errors(fn: F) -> F:
    """Print a QslackError on one line (no traceback) and exit with code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QslackError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")


InstanceArg = Annotated[
    str, typer.Argument(help="Manifest name (burma14, mknap1#3), path (path#k) or gen: spec.")
]
TakeOpt = Annotated[int | None, typer.Option("--take", help="Keep the first K cities / items / nodes.")]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="TSP encoding: position or edge.")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="Override the detected file format.")]
ProblemOpt = Annotated[
    str | None, typer.Option("--problem", help="Override the problem (tsp, mdkp, mis, program).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def _load(instance: str, take: int | None, fmt: str | None, problem: str | None):  # type: ignore[no-untyped-def]
    from qslack.problems.catalog import load_instance

    return load_instance(instance, fmt=fmt, problem=problem, take=take)


# --------------------------------------------------------------------------- instances
@app.command()
@_handles_errors
def instances(
    problem: Annotated[str | None, typer.Option("--problem", help="Only this problem.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Table of shipped instances: problem, size, known optimum."""
    from qslack.problems.catalog import read_manifest

    rows = [e for e in read_manifest() if problem is None or e.problem == problem]
    if as_json:
        _print_json(
            [
                {
                    "name": e.name,
                    "problem": e.problem,
                    "format": e.format,
                    "file": e.file,
                    "size": e.size,
                    "optimum": e.optimum,
                    "optimum_source": e.optimum_source,
                    "aliases": list(e.aliases),
                }
                for e in rows
            ]
        )
        return
    t = Table(title=f"Shipped instances ({len(rows)})")
    for col in ("name", "aliases", "problem", "size", "known optimum", "source of optimum"):
        t.add_column(col, justify="right" if col == "known optimum" else "left")
    for e in rows:
        opt = "" if e.optimum is None else f"{e.optimum:g}"
        t.add_row(e.name, ", ".join(e.aliases), e.problem, e.size, opt, e.optimum_source or "")
    console.print(t)


# --------------------------------------------------------------------------- inspect
@app.command()
@_handles_errors
def inspect(
    instance: InstanceArg,
    take: TakeOpt = None,
    encoding: EncodingOpt = "position",
    fmt: FormatOpt = None,
    problem: ProblemOpt = None,
    lam: Annotated[float, typer.Option("--lam", help="Multiplier on every row for --export-qubo.")] = 0.0,
    rho: Annotated[
        float, typer.Option("--rho", help="Quadratic weight on every row for --export-qubo.")
    ] = 1.0,
    export_qubo: Annotated[
        Path | None, typer.Option("--export-qubo", help="Write the QUBO (.json or .qs).")
    ] = None,
    slack: Annotated[bool, typer.Option("--slack", help="Export the slack baseline instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Variables, constraints by group, qubits slack-free vs with slack, coefficient ranges."""
    from qslack.model.slack import slack_summary
    from qslack.problems.catalog import build_program

    loaded = _load(instance, take, fmt, problem)
    prog = build_program(loaded, encoding=encoding)
    summ = prog.summary()
    sl = slack_summary(prog)
    out = {
        "instance": loaded.name,
        "problem": loaded.problem,
        "encoding": prog.metadata.get("encoding"),
        "n_vars": prog.n_vars,
        "n_cons": prog.n_cons,
        "groups": summ["groups"],
        "qubits_slack_free": prog.n_vars,
        "qubits_slack": sl["qubits_slack"],
        "slack_bits": sl["slack_bits"],
        "slack_method": sl["method"],
        "penalty": sl["penalty"],
        "objective_abs_range": summ["objective_abs_range"],
        "A_abs_range": summ["A_abs_range"],
        "known_optimum": loaded.known_optimum,
    }
    if export_qubo is not None:
        from qslack.formats.qubo import write_qubo
        from qslack.model.lagrangian import LagrangianForm
        from qslack.model.slack import slack_qubo

        if slack:
            q = slack_qubo(prog).qubo
        else:
            q = LagrangianForm(prog, cache=False).qubo(lam, rho)
        write_qubo(export_qubo, q, comment=f"{loaded.name} ({'slack' if slack else f'lam={lam} rho={rho}'})")
        out["exported"] = str(export_qubo)
    if as_json:
        _print_json(out)
        return
    t = Table(
        title=f"{loaded.name} ({loaded.problem}{', ' + str(out['encoding']) if out['encoding'] else ''})"
    )
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("variables", str(prog.n_vars))
    t.add_row("constraints", str(prog.n_cons))
    for g, k in summ["groups"].items():
        t.add_row(f"  group {g}", str(k))
    t.add_row("qubits, slack-free", f"[bold green]{prog.n_vars}[/]")
    t.add_row(
        "qubits, with slack (qiskit-optimization)",
        f"[bold red]{sl['qubits_slack']}[/]" + (" (counted, not built)" if sl["method"] == "counted" else ""),
    )
    t.add_row("slack bits", str(sl["slack_bits"]))
    if sl["penalty"] is not None:
        t.add_row("slack penalty (auto)", f"{sl['penalty']:g}")
    if summ["objective_abs_range"]:
        lo, hi = summ["objective_abs_range"]
        t.add_row("|objective coefficients|", f"{lo:g} .. {hi:g}")
    if summ["A_abs_range"]:
        lo, hi = summ["A_abs_range"]
        t.add_row("|constraint coefficients|", f"{lo:g} .. {hi:g}")
    if loaded.known_optimum is not None:
        t.add_row("known optimum", f"{loaded.known_optimum:g}")
    console.print(t)
    if export_qubo is not None:
        console.print(f"QUBO written to {export_qubo}")


# --------------------------------------------------------------------------- baseline
@app.command()
@_handles_errors
def baseline(
    instance: InstanceArg,
    take: TakeOpt = None,
    fmt: FormatOpt = None,
    problem: ProblemOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds for OR-Tools.")] = 30.0,
    workers: Annotated[int, typer.Option("--workers", help="CP-SAT worker threads.")] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """OR-Tools result on the native problem beside the known optimum."""
    from qslack.baselines import solve_loaded

    loaded = _load(instance, take, fmt, problem)
    res = solve_loaded(loaded, time_limit=time_limit, workers=workers, seed=seed)
    out = {
        "instance": loaded.name,
        "problem": loaded.problem,
        "objective": res.objective,
        "optimal": res.optimal,
        "bound": res.bound,
        "status": res.status,
        "known_optimum": loaded.known_optimum,
        "matches_known": None
        if loaded.known_optimum is None
        else abs(res.objective - loaded.known_optimum) <= 1e-6 * max(1.0, abs(loaded.known_optimum)),
        "solver": res.solver,
        "wall_s": res.wall_s,
        "solution": res.solution.tolist(),
    }
    if as_json:
        _print_json(out)
        return
    t = Table(title=f"OR-Tools on {loaded.name}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("objective", f"{res.objective:g}")
    t.add_row("proven optimal", "yes" if res.optimal else "no")
    t.add_row("bound", f"{res.bound:g}")
    t.add_row("status", res.status)
    t.add_row("known optimum", "-" if loaded.known_optimum is None else f"{loaded.known_optimum:g}")
    if out["matches_known"] is not None:
        t.add_row("matches known", "[green]yes[/]" if out["matches_known"] else "[red]no[/]")
    t.add_row("solver", res.solver)
    t.add_row("wall time", f"{res.wall_s:.2f} s")
    console.print(t)


# --------------------------------------------------------------------------- solve
DbOpt = Annotated[Path, typer.Option("--db", help="SQLite store.")]


def _fmt(v: Any, digits: int = 6) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _progress_callback(total: int, quiet: bool):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    table = Table(title="dual steps", show_lines=False)
    for col in ("step", "|lam|", "violation", "best feasible", "dual value", "p_feasible", "note"):
        table.add_column(col, justify="right" if col != "note" else "left")
    progress = Progress(
        TextColumn("[bold]solve"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    )

    def cb(it, solver) -> None:  # type: ignore[no-untyped-def]
        import numpy as np

        table.add_row(
            str(it.step),
            _fmt(float(np.linalg.norm(it.lam)), 4),
            _fmt(it.max_violation, 4),
            _fmt(it.best_objective),
            _fmt(it.dual_value),
            _fmt(it.p_feasible, 3),
            it.note,
        )
        progress.update(task, completed=it.step + 1)

    task = progress.add_task("solve", total=total)
    return progress, table, cb


def _print_summary(run_id: str, summary: dict[str, Any], prep: Any) -> None:
    t = Table(title=f"{summary['instance']}: {summary['method']} with {summary['sampler']} (run {run_id})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    ref = summary.get("reference") or {}
    gap = summary.get("gap")
    t.add_row("best feasible (raw samples)", _fmt(summary["best_objective"]))
    t.add_row("gap to optimum", "-" if gap is None else f"{100 * gap:.2f} %")
    t.add_row("best after repair", _fmt(summary["best_objective_repaired"]))
    t.add_row("optimum (known / OR-Tools)", f"{_fmt(summary['optimum'])} / {_fmt(ref.get('objective'))}")
    bound = summary["dual_bound"]
    t.add_row(
        "dual bound", f"{_fmt(bound)} ({'certified' if summary['dual_bound_certified'] else 'estimate'})"
    )
    t.add_row("p(feasible), final state", _fmt(summary["p_feasible"], 3))
    t.add_row(
        "qubits slack-free / with slack",
        f"[green]{summary['qubits_slack_free']}[/] / [red]{summary['qubits_slack']}[/]",
    )
    t.add_row("steps", str(summary["n_iterations"]))
    t.add_row("status", f"{summary['status']}: {summary['message']}")
    if summary.get("profile"):
        t.add_row("hardware profile", str(summary["profile"]))
    isa = summary.get("isa")
    if isa:
        t.add_row(
            "ISA circuit: depth / two-qubit gates", f"{isa.get('depth')} / {isa.get('two_qubit_gates')}"
        )
    t.add_row("wall time", f"{summary['wall_s']:.1f} s")
    console.print(t)


@app.command()
@_handles_errors
def solve(
    instance: Annotated[str | None, typer.Argument(help="INSTANCE (omit with --resume).")] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="subgradient, cutting-plane, bundle, augmented-lagrangian, fixed-penalty, slack-penalty.",
        ),
    ] = "subgradient",
    take: TakeOpt = None,
    encoding: EncodingOpt = "position",
    fmt: FormatOpt = None,
    problem: ProblemOpt = None,
    sampler: Annotated[str, typer.Option("--sampler", help="qaoa, exact, cpsat or random.")] = "qaoa",
    backend: Annotated[
        str, typer.Option("--backend", help="QAOA backend: statevector or aer.")
    ] = "statevector",
    p: Annotated[int, typer.Option("--p", help="QAOA depth.")] = 2,
    shots: Annotated[int, typer.Option("--shots")] = 1000,
    qaoa_maxiter: Annotated[int, typer.Option("--qaoa-maxiter", help="COBYLA evaluations per step.")] = 60,
    iters: Annotated[int, typer.Option("--iters", help="Outer (dual) steps.")] = 15,
    rho: Annotated[float, typer.Option("--rho", help="Quadratic weight scale (0: plain Lagrangian).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="Method option KEY=VALUE (JSON value).")
    ] = None,
    db: DbOpt = Path("qslack.db"),
    resume: Annotated[str | None, typer.Option("--resume", help="Continue the run RUN_ID.")] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Hardware profile (qslack profiles): Aer, fake or IBM backend."),
    ] = None,
    optimize_on: Annotated[
        str, typer.Option("--optimize-on", help="fake/ibm: statevector (transfer angles) or noisy-cvar.")
    ] = "statevector",
    write_solution: Annotated[
        Path | None, typer.Option("--write-solution", help="TSPLIB .tour or plain .sol.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Slack-free dual loop around a sampler; every step stored; Ctrl-C stores and says how to resume."""
    from qslack import runner
    from qslack.store.db import Store

    opts: dict[str, Any] = {}
    for item in option or []:
        key, sep, val = item.partition("=")
        if not sep:
            raise QslackError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            opts[key] = json.loads(val)
        except json.JSONDecodeError:
            opts[key] = val
    with Store(db) as store:
        if resume is not None and store.jobs(store.get_run(resume)["run_id"]):
            # a hardware run: collect jobs as they finish and submit the next steps
            from qslack.hardware.jobs import run_until_done

            rid = store.get_run(resume)["run_id"]
            run_until_done(
                store, rid, on_outcome=lambda o: err_console.print(f"step {o.step}: {o.action} {o.detail}")
            )
            run = store.get_run(rid)
            if as_json:
                _print_json({"run_id": rid, **(run["result"] or {})})
            else:
                console.print(f"run {rid}: {run['status']}")
            return
        if resume is not None:
            run = store.get_run(resume)
            total = run["options"]["config"]["iters"]
            progress, table, cb = _progress_callback(total, as_json)
            with progress:
                run_id, result, prep = runner.resume(resume, store, callback=cb)
        else:
            if instance is None:
                raise QslackError("give an INSTANCE, or --resume RUN_ID")
            if sampler not in runner.SAMPLERS:
                raise QslackError(f"unknown sampler {sampler!r}; choose from {runner.SAMPLERS}")
            cfg = runner.SolveConfig(
                instance=instance,
                method=method,
                take=take,
                encoding=encoding,
                fmt=fmt,
                problem=problem,
                sampler=sampler,
                backend=backend,
                p=p,
                shots=shots,
                qaoa_maxiter=qaoa_maxiter,
                iters=iters,
                rho=rho,
                seed=seed,
                time_limit=time_limit,
                options=opts,
                profile=profile,
                optimize_on=optimize_on,
            )
            progress, table, cb = _progress_callback(iters, as_json)
            with progress:
                run_id, result, prep = runner.solve(cfg, store, callback=cb)
        if result is None:
            run = store.get_run(run_id)
            out = {"run_id": run_id, **run["result"], "status": "does-not-fit"}
            if as_json:
                _print_json(out)
            else:
                console.print(f"[yellow]{run['result']['message']}[/] (run {run_id} recorded)")
            return
        summary = runner.result_summary(result, prep)
        if write_solution is not None:
            _write_solution(write_solution, prep, result)
        if as_json:
            _print_json({"run_id": run_id, **summary})
        else:
            console.print(table)
            _print_summary(run_id, summary, prep)
            if result.status == "interrupted":
                console.print(
                    f"[yellow]interrupted[/]: resume with  qslack solve --resume {run_id} --db {db}"
                )
        if result.status == "interrupted":
            raise typer.Exit(130)


def _write_solution(path: Path, prep: Any, result: Any) -> None:
    from qslack.problems import decode

    x = result.best_x if result.best_x is not None else result.best_x_repaired
    if x is None:
        raise QslackError("no feasible solution to write")
    if prep.loaded.problem == "tsp" and path.suffix == ".tour":
        from qslack.formats.tsplib import write_tour

        write_tour(path, decode(prep.program, x), name=prep.loaded.name, comment="qslack solve")
    else:
        names = [v for v, b in zip(prep.program.var_names, x, strict=True) if b]
        path.write_text("\n".join(names) + "\n")


@app.command()
@_handles_errors
def runs(
    db: DbOpt = Path("qslack.db"),
    export: Annotated[str | None, typer.Option("--export", help="Write RUN_ID as JSON to stdout.")] = None,
    instance: Annotated[str | None, typer.Option("--instance")] = None,
    method: Annotated[str | None, typer.Option("--method")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List stored runs, or export one as JSON."""
    from qslack.store.db import Store

    with Store(db) as store:
        if export is not None:
            _print_json(store.export_run(export))
            return
        rows = store.list_runs(instance=instance, method=method)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"runs in {db}")
    for col in ("run", "instance", "method", "sampler", "seed", "status", "best", "gap %", "qubits"):
        t.add_column(col)
    for r in rows:
        res = r.get("result") or {}
        gap = res.get("gap")
        t.add_row(
            r["run_id"],
            r["instance_name"],
            r["method"],
            (r.get("sampler") or {}).get("sampler", ""),
            str(r["seed"]),
            r["status"],
            _fmt(res.get("best_objective")),
            "-" if gap is None else f"{100 * gap:.2f}",
            str(r["n_qubits"]),
        )
    console.print(t)


# --------------------------------------------------------------------------- reports
@app.command()
@_handles_errors
def compare(
    db: DbOpt = Path("qslack.db"),
    instance: Annotated[list[str] | None, typer.Option("--instance", help="Only these instances.")] = None,
    method: Annotated[
        list[str] | None, typer.Option("--method", help="Only these methods (or 'random').")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the table as CSV.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Runs grouped by instance and method, over seeds: qubits, feasible rate, gaps, bounds, time."""
    from qslack.report.tables import compare_rows, rich_table, to_csv, to_json
    from qslack.store.db import Store

    with Store(db) as store:
        rows = compare_rows(store, instances=instance or None, methods=method or None)
    if csv is not None:
        to_csv(rows, csv)
    if as_json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    console.print(rich_table(rows, title=f"runs in {db}"))


@app.command()
@_handles_errors
def report(
    out: Annotated[
        Path, typer.Option("--out", help="HTML file (a Markdown twin is written beside it).")
    ] = Path("report.html"),
    db: DbOpt = Path("qslack.db"),
    runs_: Annotated[list[str] | None, typer.Option("--runs", help="Only these run ids.")] = None,
    instance: Annotated[list[str] | None, typer.Option("--instance", help="Only these instances.")] = None,
) -> None:
    """One self-contained HTML report (plots embedded) and its Markdown twin, from the store."""
    from qslack.report.html import write_report
    from qslack.store.db import Store

    with Store(db) as store:
        html_path, md_path = write_report(store, out, runs=runs_ or None, instances=instance or None)
    console.print(f"report written: {html_path} (Markdown: {md_path})")


# --------------------------------------------------------------------------- sweep
@app.command()
@_handles_errors
def sweep(
    suite: Annotated[Path, typer.Argument(help="Suite TOML (instances x methods x seeds).")],
    workers: Annotated[int, typer.Option("--workers", help="Runs in parallel (one process each).")] = 1,
    db: DbOpt = Path("qslack.db"),
    report_out: Annotated[
        Path | None, typer.Option("--report", help="HTML report path (default: <suite name>-report.html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the report.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a benchmark suite; a rerun skips runs already in the store, then writes the report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qslack.store.db import Store
    from qslack.sweep import load_suite, plan, run_suite

    s = load_suite(suite)
    with Store(db) as store:
        todo = plan(s, store)
    missing = sum(1 for _, _, rid in todo if rid is None)
    progress = Progress(
        TextColumn("[bold]sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
    )
    with progress:
        task = progress.add_task("sweep", total=missing)

        def done(cfg, run_id, status, wall) -> None:  # type: ignore[no-untyped-def]
            progress.update(task, advance=1)
            if not as_json:
                progress.console.print(
                    f"{cfg.instance} {cfg.method}/{cfg.sampler} seed {cfg.seed}: {status} "
                    f"({wall:.1f} s, run {run_id})",
                    highlight=False,
                )

        out = run_suite(s, db, workers=workers, on_done=done)
    if report_out is None and not no_report:
        report_out = Path(f"{s.name}-report.html")
    if report_out is not None and not no_report:
        from qslack.report.html import write_report

        with Store(db) as store:
            html_path, md_path = write_report(store, report_out)
        out["report"] = str(html_path)
        out["report_md"] = str(md_path)
    if as_json:
        _print_json(out)
    else:
        console.print(
            f"{out['suite']}: {out['runs']} runs, {out['reused']} reused from the store, "
            f"{out['ran']} run now "
            f"{out['statuses']} in {out['wall_s']:.0f} s"
            + (f"; report {out['report']}" if "report" in out else "")
        )


# --------------------------------------------------------------------------- hardware
@app.command()
@_handles_errors
def profiles(as_json: JsonOpt = False) -> None:
    """Hardware profiles: local simulators, fake (noisy local) and real IBM backends."""
    from qslack.hardware.profiles import list_profiles

    rows = list_profiles()
    if as_json:
        _print_json([p.to_dict() for p in rows])
        return
    t = Table(title="hardware profiles")
    for col in (
        "profile",
        "kind",
        "backend",
        "shots",
        "opt. level",
        "mode",
        "error suppression",
        "max qubits",
    ):
        t.add_column(col)
    for p in rows:
        sup = ", ".join(
            x
            for x in (
                p.dynamical_decoupling and f"DD {p.dynamical_decoupling}",
                p.gate_twirling and "gate twirling",
                p.measure_twirling and "measure twirling",
            )
            if x
        )
        t.add_row(
            p.name,
            p.kind,
            p.backend,
            str(p.shots),
            str(p.optimization_level),
            p.mode,
            sup or "-",
            str(p.max_qubits),
        )
    console.print(t)


@app.command()
@_handles_errors
def submit(
    instance: InstanceArg,
    profile: Annotated[str, typer.Option("--profile", help="An ibm-* (or fake-*) profile.")],
    method: Annotated[str, typer.Option("--method")] = "subgradient",
    take: TakeOpt = None,
    encoding: EncodingOpt = "position",
    p: Annotated[int, typer.Option("--p")] = 2,
    qaoa_maxiter: Annotated[int, typer.Option("--qaoa-maxiter")] = 60,
    iters: Annotated[int, typer.Option("--iters")] = 15,
    rho: Annotated[float, typer.Option("--rho")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOpt = Path("qslack.db"),
    as_json: JsonOpt = False,
) -> None:
    """Start a hardware run: submit its first step, store the job id and state, and return."""
    from qslack import runner
    from qslack.hardware.jobs import submit_run
    from qslack.store.db import Store

    cfg = runner.SolveConfig(
        instance=instance,
        method=method,
        take=take,
        encoding=encoding,
        p=p,
        qaoa_maxiter=qaoa_maxiter,
        iters=iters,
        rho=rho,
        seed=seed,
        profile=profile,
    )
    from qslack.hardware.profiles import load_profile

    if load_profile(profile).kind != "ibm":
        raise QslackError(
            f"profile {profile!r} runs locally (its jobs live in this process only); "
            f"use `qslack solve {instance} --profile {profile}`"
        )
    with Store(db) as store:
        run_id, job_id = submit_run(cfg, store)
    if as_json:
        _print_json({"run_id": run_id, "job_id": job_id})
    else:
        console.print(f"run {run_id}: step 0 submitted as job {job_id}")
        console.print(f"continue with  qslack jobs fetch {run_id} --db {db}  (add --wait to follow it)")


jobs_app = typer.Typer(
    help="Hardware jobs: list, status, fetch (collect and continue), cancel.", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
@_handles_errors
def jobs_list(
    run: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    db: DbOpt = Path("qslack.db"),
    as_json: JsonOpt = False,
) -> None:
    """Jobs in the store."""
    from qslack.store.db import Store

    with Store(db) as store:
        rows = store.jobs(run)
    if as_json:
        _print_json([{k: v for k, v in j.items() if k != "result"} for j in rows])
        return
    t = Table(title=f"jobs in {db}")
    for col in ("job", "run", "step", "backend", "status", "updated"):
        t.add_column(col)
    for j in rows:
        reason = (j.get("info") or {}).get("reason")
        status = j["status"] + (f" ({reason})" if reason else "")
        t.add_row(j["job_id"], j["run_id"], str(j["step"]), j["backend"], status, j.get("updated_at", ""))
    console.print(t)


@jobs_app.command("status")
@_handles_errors
def jobs_status(
    job_id: str,
    live: Annotated[
        bool, typer.Option("--live", help="Ask the service (IBM profiles) and record the answer.")
    ] = False,
    db: DbOpt = Path("qslack.db"),
) -> None:
    """The status of a job: as stored, or live from the service."""
    from qslack.store.db import Store

    with Store(db) as store:
        rows = [j for j in store.jobs() if j["job_id"] == job_id]
        if not rows:
            raise QslackError(f"no job {job_id!r} in {db}; see `qslack jobs list`")
        j = rows[0]
        status = j["status"]
        if live and status not in ("done", "failed", "cancelled"):
            from qslack.hardware.jobs import service_for_run

            status = service_for_run(store, j["run_id"]).status(job_id)
            store.update_job(job_id, status)
    console.print(f"job {job_id}: {status} (run {j['run_id']}, step {j['step']}, {j['backend']})")


@jobs_app.command("fetch")
@_handles_errors
def jobs_fetch(
    run_id: Annotated[str, typer.Argument(help="The run whose job in flight to collect.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Keep collecting and submitting until the run ends.")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls with --wait.")] = 30.0,
    db: DbOpt = Path("qslack.db"),
) -> None:
    """Collect a run's finished job, tell the solver, submit the next step."""
    from qslack.hardware.jobs import advance, run_until_done
    from qslack.store.db import Store

    with Store(db) as store:
        if not wait:
            out = advance(store, run_id)
            console.print(f"run {out.run_id} step {out.step}: {out.action} {out.job_id or ''} {out.detail}")
            return

        def show(o) -> None:  # type: ignore[no-untyped-def]
            err_console.print(f"step {o.step}: {o.action} {o.job_id or ''} {o.detail}", highlight=False)

        out = run_until_done(store, run_id, poll_interval=poll, on_outcome=show)
        run = store.get_run(out.run_id)
    console.print(f"run {out.run_id}: {run['status']}")


@jobs_app.command("cancel")
@_handles_errors
def jobs_cancel(job_id: str, db: DbOpt = Path("qslack.db")) -> None:
    """Cancel a job at the service and record it (`jobs fetch` then resubmits its step)."""
    from qslack.hardware.jobs import cancel_job
    from qslack.store.db import Store

    with Store(db) as store:
        cancel_job(store, job_id)
    console.print(f"job {job_id}: cancelled")


# --------------------------------------------------------------------------- demo
@app.command()
@_handles_errors
def demo(db: DbOpt = Path("qslack.db")) -> None:
    """The main job on a shipped instance: a slack-free QAOA solve of mknap1#2 beside OR-Tools."""
    inspect("mknap1#2", None, "position", None, None, 0.0, 1.0, None, False, False)
    solve(
        instance="mknap1#2",
        method="bundle",
        take=None,
        encoding="position",
        fmt=None,
        problem=None,
        sampler="qaoa",
        backend="statevector",
        p=2,
        shots=1000,
        qaoa_maxiter=60,
        iters=10,
        rho=1.0,
        seed=1,
        time_limit=None,
        option=None,
        db=db,
        resume=None,
        profile=None,
        optimize_on="statevector",
        write_solution=None,
        as_json=False,
    )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
