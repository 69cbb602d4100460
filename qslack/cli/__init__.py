"""The ``qslack`` command line: parses, calls the library, prints; it holds no logic of its own.

Heavy libraries (qiskit, Aer, OR-Tools) are imported inside the commands that
need them, so ``qslack --help`` stays fast.  Every :class:`~qslack.exceptions.QslackError`
is printed on one line (exit code 2); Ctrl-C stores what was done and exits 130.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from qslack._paths import check_writable
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


def _error(message: object) -> None:
    """One line on stderr, printed as typed (no rich markup: brackets in file formats survive)."""
    text = " ".join(str(message).split())
    err_console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True)


def _handles_errors(fn: F) -> F:
    """Print a QslackError on one line (no traceback) and exit with code 2; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QslackError as exc:
            _error(exc)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print(
                "interrupted (nothing was running that needs resuming)", markup=False, soft_wrap=True
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from qslack import __version__

        print(f"qslack {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Slack-free Lagrangian QUBOs and dual loops around QAOA (TSP, MDKP, MIS)."""


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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
DbOpt = Annotated[Path, typer.Option("--db", help="SQLite store.")]


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
    from qslack.problems import PROBLEMS
    from qslack.problems.catalog import read_manifest

    if problem is not None and problem not in PROBLEMS:
        raise QslackError(f"unknown --problem {problem!r}; choose from {', '.join(PROBLEMS)}")
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
        float,
        typer.Option("--rho", help="Scale of the default quadratic weights for --export-qubo (as in solve)."),
    ] = 1.0,
    export_qubo: Annotated[
        Path | None, typer.Option("--export-qubo", help="Write the QUBO (.json or .qs).")
    ] = None,
    slack: Annotated[bool, typer.Option("--slack", help="Export the slack baseline instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Variables, constraints by group, qubits slack-free vs with slack, coefficient ranges."""
    if export_qubo is not None:
        check_writable(export_qubo, "--export-qubo file")
    from qslack._sizes import format_count
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
        from qslack.dual import default_multipliers
        from qslack.formats.qubo import write_qubo
        from qslack.model.lagrangian import LagrangianForm
        from qslack.model.slack import slack_qubo

        if slack:
            q = slack_qubo(prog).qubo
        else:
            form = LagrangianForm(prog, cache=False)
            q = form.qubo(lam, default_multipliers(form, rho=rho)[1])
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
        f"[bold red]{sl['qubits_slack_text']}[/]",
    )
    t.add_row("slack bits", format_count(sl["slack_bits"]))
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
def _parse_options(option: list[str] | None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for item in option or []:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise QslackError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            opts[key] = json.loads(val)
        except json.JSONDecodeError:
            opts[key] = val
    return opts


def _slopes(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise QslackError(f"--lr-slopes expects two numbers DGAMMA,DBETA, got {text!r}") from None


def _resume_hint(run_id: str, db: Path) -> None:
    err_console.print(
        f"interrupted: resume with  qslack solve --resume {run_id} --db {db}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@contextlib.contextmanager
def _ctrl_c_keeps(store: Any, run_id: str, db: Path) -> Iterator[None]:
    """Ctrl-C between a run's creation and its drive (or after it) leaves it resumable, not running."""
    from qslack.runs.stored import mark_interrupted

    try:
        yield
    except KeyboardInterrupt:
        mark_interrupted(store, run_id)
        _resume_hint(run_id, db)
        raise typer.Exit(130) from None


def _drive_and_print(
    store: Any, h: Any, db: Path, *, as_json: bool, time_limit: float | None, write_solution: Path | None
) -> dict[str, Any]:
    """Drive a stored run with progress output, print its summary (returned); exit 130 if interrupted."""
    from qslack.cli.printing import LEGEND, StepReporter, print_summary, step_row
    from qslack.problems.solution import write_solution as write_sol
    from qslack.runs.stored import result_summary, run_handle

    with StepReporter(h.prep.cfg.iters, quiet=as_json, console=console, err_console=err_console) as rep:
        for rec in h.history:  # a resumed run shows its earlier steps too
            rep.table.add_row(*step_row(rec))
        _, res = run_handle(store, h, callback=rep, time_limit=time_limit)
    assert res is not None
    summary = result_summary(res, h.prep)
    if write_solution is not None:
        x = res.best_x if res.best_x is not None else res.best_x_repaired
        if x is None:
            err_console.print("no feasible solution to write", markup=False, soft_wrap=True)
        else:
            write_sol(write_solution, h.prep.loaded, h.prep.program, x)
    if as_json:
        _print_json({"run_id": h.run_id, **summary})
    else:
        if rep.table.row_count:
            console.print(rep.table)
        print_summary(console, h.run_id, summary)
        console.print(LEGEND, style="dim", markup=False, highlight=False, soft_wrap=True)
    if res.status == "interrupted":
        _resume_hint(h.run_id, db)
        raise typer.Exit(130)
    return summary


@app.command()
@_handles_errors
def solve(
    instance: Annotated[str | None, typer.Argument(help="INSTANCE (omit with --resume).")] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            help="margin, subgradient, cutting-plane, bundle, augmented-lagrangian; baselines fixed-penalty, "
            "unbalanced, penalty-grid, slack-penalty (default: per problem).",
        ),
    ] = None,
    take: TakeOpt = None,
    encoding: EncodingOpt = "position",
    fmt: FormatOpt = None,
    problem: ProblemOpt = None,
    sampler: Annotated[
        str, typer.Option("--sampler", help="qaoa, exact, cpsat, random, sa (simulated annealing) or tabu.")
    ] = "qaoa",
    backend: Annotated[
        str, typer.Option("--backend", help="QAOA backend: statevector, aer or mps (matrix product states).")
    ] = "statevector",
    p: Annotated[
        int | None,
        typer.Option("--p", help="QAOA depth (0: the initial state alone) (default: per problem)."),
    ] = None,
    shots: Annotated[int, typer.Option("--shots")] = 1000,
    qaoa_maxiter: Annotated[
        int | None,
        typer.Option("--qaoa-maxiter", help="Optimiser evaluations per step (default: per problem)."),
    ] = None,
    mixer: Annotated[
        str | None, typer.Option("--mixer", help="x, xy-ring, xy-complete or warm (default: per problem).")
    ] = None,
    init: Annotated[
        str | None, typer.Option("--init", help="uniform, one-hot or warm (default: the mixer's).")
    ] = None,
    warm_start: Annotated[
        str | None,
        typer.Option(
            "--warm-start",
            help="Warm-start vector: lp (relaxation), greedy, or incumbent (lp, then every later "
            "step recentred on the best feasible solution so far).",
        ),
    ] = None,
    eps: Annotated[float | None, typer.Option("--eps", help="Warm-start regularisation in [0, 0.5].")] = None,
    onehot: Annotated[
        str | None,
        typer.Option("--onehot", help="Constraint group(s) of the XY one-hot rows (e.g. col), or all."),
    ] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Starting angles: default (ramp) or lr (LR-QAOA).")
    ] = None,
    params: Annotated[
        str | None, typer.Option("--params", help="Optimise the 2p angles, or the two LR slopes (ramp).")
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option("--optimizer", help="cobyla, nelder-mead, l-bfgs-b, powell or none (fixed angles)."),
    ] = None,
    lr_slopes: Annotated[
        str | None,
        typer.Option("--lr-slopes", help="LR-QAOA slopes DGAMMA,DBETA (scaled cost) (default: per problem)."),
    ] = None,
    sampler_time_limit: Annotated[
        float | None,
        typer.Option("--sampler-time-limit", help="sa/tabu: seconds per step (equal wall time)."),
    ] = None,
    iters: Annotated[
        int | None,
        typer.Option("--iters", help="Outer (dual) steps [default: 15; with --resume: the new total]."),
    ] = None,
    rho: Annotated[
        float | None,
        typer.Option(
            "--rho", help="Scale of the quadratic weights (0: plain Lagrangian) (default: per problem)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds (with --resume: for the resumed part).")
    ] = None,
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
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads of the QAOA kernel.")] = None,
    write_solution: Annotated[
        Path | None, typer.Option("--write-solution", help="TSPLIB .tour or plain .sol.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Slack-free dual loop around a sampler; every step stored; Ctrl-C stores and says how to resume."""
    from qslack.runs.config import SolveConfig
    from qslack.runs.stored import RunHandle, open_run, start
    from qslack.store.db import Store

    if write_solution is not None:
        check_writable(write_solution, "--write-solution file")
    if resume is not None:
        with Store(db, create=False) as store:
            rid = store.get_run(resume)["run_id"]
            if store.jobs(rid):
                _follow_jobs(store, rid, db, poll=30.0, as_json=as_json)
                return
            run = store.get_run(rid)
            if run["status"] == "running" and not store.is_stale(run):
                raise QslackError(
                    f"run {rid} is running in process {run.get('pid')} on {run.get('host')}; "
                    "wait for it, or stop it first"
                )
            h = open_run(store, rid, iters=iters)
            if iters is not None:
                store.update_config(rid, h.prep.cfg.to_dict())
            if not as_json:
                err_console.print(
                    f"resuming run {rid} at step {h.state.step} of {h.prep.cfg.iters} ({db})", markup=False
                )
            _drive_and_print(
                store, h, db, as_json=as_json, time_limit=time_limit, write_solution=write_solution
            )
        return
    if instance is None:
        raise QslackError("give an INSTANCE, or --resume RUN_ID")
    cfg = SolveConfig(
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
        iters=15 if iters is None else iters,
        rho=rho,
        seed=seed,
        time_limit=time_limit,
        options=_parse_options(option) if option else None,
        profile=profile,
        optimize_on=optimize_on,
        threads=threads,
        mixer=mixer,
        init=init,
        warm_start=warm_start,
        eps=eps,
        onehot=onehot,
        schedule=schedule,
        params=params,
        optimizer=optimizer,
        lr_slopes=_slopes(lr_slopes),
        sampler_time_limit=sampler_time_limit,
    ).validate()  # fills what the user left unset from the problem's defaults (runs.config.defaults_for)
    with Store(db) as store:
        h = start(cfg, store)
        if not isinstance(h, RunHandle):
            run_id, why = h
            if as_json:
                _print_json(
                    {"run_id": run_id, **(store.get_run(run_id)["result"] or {}), "status": "does-not-fit"}
                )
            else:
                console.print(
                    f"{why} (run {run_id} recorded as does-not-fit)",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            return
        with _ctrl_c_keeps(store, h.run_id, db):
            if not as_json:
                err_console.print(
                    f"run {h.run_id} started ({db})", markup=False, highlight=False, soft_wrap=True
                )
            _drive_and_print(store, h, db, as_json=as_json, time_limit=None, write_solution=write_solution)


# --------------------------------------------------------------------------- runs
runs_app = typer.Typer(
    help="Stored runs: list (default), show, delete.", invoke_without_command=True, no_args_is_help=False
)
app.add_typer(runs_app, name="runs")


def _flat_run(store: Any, r: dict[str, Any]) -> dict[str, Any]:
    res = r.get("result") or {}
    status = r["status"]
    if status == "running" and store.is_stale(r):
        status = "stale"
    return {
        "schema_version": 2,
        "run_id": r["run_id"],
        "status": status,
        "instance": r["instance_name"],
        "method": r["method"],
        "sampler": (r.get("sampler") or {}).get("sampler"),
        "seed": r["seed"],
        "best_objective": res.get("best_objective"),
        "gap": res.get("gap"),
        "p_feasible": res.get("p_feasible"),
        "p_optimal": res.get("p_optimal"),
        "n_qubits": r["n_qubits"],
        "qubits_slack": r["qubits_slack"],
        "message": r.get("message"),
        "created_at": r["created_at"],
        "finished_at": r.get("finished_at"),
    }


@runs_app.callback()
@_handles_errors
def runs(
    ctx: typer.Context,
    db: DbOpt = Path("qslack.db"),
    export: Annotated[str | None, typer.Option("--export", help="Write RUN_ID as JSON to stdout.")] = None,
    instance: Annotated[str | None, typer.Option("--instance")] = None,
    method: Annotated[str | None, typer.Option("--method")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only runs of this status (running, finished, failed, interrupted, does-not-fit, stale).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List stored runs (``--status failed`` or ``stale`` for those to look at), or export one as JSON."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db": db}
        return
    from qslack.store.db import STATUSES, Store

    if status is not None and status not in (*STATUSES, "stale"):
        raise QslackError(f"unknown --status {status!r}; choose from {', '.join((*STATUSES, 'stale'))}")
    with Store(db, create=False) as store:
        if export is not None:
            _print_json(store.export_run(export))
            return
        rows = [_flat_run(store, r) for r in store.list_runs(instance=instance, method=method)]
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"runs in {db}")
    t.add_column("run", no_wrap=True, min_width=12)
    for col in ("instance", "method", "sampler", "seed", "status", "best", "gap %"):
        t.add_column(col, overflow="fold", justify="right" if col in ("seed", "best", "gap %") else "left")
    from qslack.cli.printing import fmt

    for r in rows:
        gap = r["gap"]
        t.add_row(
            r["run_id"],
            str(r["instance"]),
            r["method"],
            str(r["sampler"] or ""),
            str(r["seed"]),
            r["status"],
            fmt(r["best_objective"]),
            "-" if gap is None else f"{100 * gap:.2f}",
        )
    console.print(t)


@runs_app.command("show")
@_handles_errors
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    db: DbOpt = Path("qslack.db"),
    as_json: JsonOpt = False,
) -> None:
    """The step table and summary of a stored run."""
    from qslack.cli.printing import fmt, step_row, step_table
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        run = store.get_run(run_id)
        steps = store.steps(run["run_id"])
        flat = _flat_run(store, run)
    if as_json:
        _print_json({**flat, "result": run.get("result"), "steps": [s["record"] for s in steps]})
        return
    t = step_table(f"run {run['run_id']}: {run['instance_name']} {run['method']} ({flat['status']})")
    for s in steps:
        t.add_row(*step_row(s["record"]))
    console.print(t)
    if run.get("message"):
        console.print(f"{flat['status']}: {run['message']}", markup=False, highlight=False, soft_wrap=True)
    res = run.get("result") or {}
    if res:
        console.print(
            f"best {fmt(res.get('best_objective'))}, gap "
            + ("-" if res.get("gap") is None else f"{100 * res['gap']:.2f} %")
            + f", P(optimal) {fmt(res.get('p_optimal'), 3)}, P(feasible) {fmt(res.get('p_feasible'), 3)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@runs_app.command("delete")
@_handles_errors
def runs_delete(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids (or unique prefixes).")],
    db: DbOpt = Path("qslack.db"),
) -> None:
    """Delete runs with their steps, states, solutions and jobs."""
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        gone = store.delete_runs(list(run_ids))
    console.print(
        f"deleted {len(gone)} run(s): {', '.join(gone)}", markup=False, highlight=False, soft_wrap=True
    )


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
    wide: Annotated[bool, typer.Option("--wide", help="Every column (default on a wide terminal).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Runs grouped by instance and method over seeds: P(optimal), P(feasible), TTS, gaps, budget."""
    if csv is not None:
        check_writable(csv, "--csv file")
    from qslack.report.tables import compare_rows, rich_table, to_csv, to_json
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        rows = compare_rows(store, instances=instance or None, methods=method or None)
    if csv is not None:
        to_csv(rows, csv)
    if as_json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    from qslack.report.tables import COMPACT

    narrow = console.width < 150 and not wide
    console.print(rich_table(rows, title=f"runs in {db}", columns=COMPACT if narrow else None))
    if narrow:
        console.print("(a compact table: --wide, --csv or --json for every column)", style="dim")


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
    check_writable(out, "--out report")
    from qslack.report.html import write_report
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        html_path, md_path = write_report(store, out, runs=runs_ or None, instances=instance or None)
    console.print(
        f"report written: {html_path} (Markdown: {md_path})", markup=False, highlight=False, soft_wrap=True
    )


# --------------------------------------------------------------------------- sweep
def _slurm_options(items: list[str] | None) -> dict[str, Any]:
    """``--slurm KEY=VALUE`` flags as a dict (VALUE read as a TOML value when it is one, else text)."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise QslackError(f"--slurm expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out


@app.command()
@_handles_errors
def sweep(
    suite: Annotated[Path, typer.Argument(help="Suite TOML (instances x methods x seeds).")],
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Where runs go: local, local:N (default local:1), a Dask scheduler address "
            "(tcp://HOST:PORT) or slurm (dask-jobqueue). Default: the suite's [cluster] table.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Shorthand for --cluster local:N.")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="Threads per run (numba/BLAS); default 1 with several run slots."),
    ] = None,
    slurm: Annotated[
        list[str] | None,
        typer.Option("--slurm", help="Slurm option KEY=VALUE (cores, memory, jobs, queue, gpus, ...)."),
    ] = None,
    job_script: Annotated[
        bool, typer.Option("--job-script", help="Print the Slurm job script and exit (submits nothing).")
    ] = False,
    db: DbOpt = Path("qslack.db"),
    report_out: Annotated[
        Path | None, typer.Option("--report", help="HTML report path (default: <suite name>-report.html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the report.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a benchmark suite on Dask; a rerun skips finished runs and resumes the rest, then reports."""
    import shlex

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qslack.runs.cluster import parse_cluster, slurm_job_script
    from qslack.runs.sweep import load_suite, plan, run_suite
    from qslack.store.db import Store

    if workers is not None and workers < 1:
        raise QslackError(f"--workers must be >= 1, got {workers}")
    if threads is not None and threads < 1:
        raise QslackError(f"--threads must be >= 1, got {threads}")
    s = load_suite(suite)
    slurm_opts = _slurm_options(slurm)
    spec = parse_cluster(cluster, workers=workers, table=s.cluster, slurm=slurm_opts)
    if job_script:
        if spec.kind != "slurm":
            raise QslackError(f"--job-script needs a Slurm cluster (--cluster slurm), not {spec.describe()}")
        sys.stdout.write(slurm_job_script(spec.options))
        return
    if report_out is None and not no_report:
        report_out = Path(f"{s.name}-report.html")
    if not no_report:
        check_writable(report_out, "--report file")
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
    again = ["qslack", "sweep", str(suite), "--db", str(db)]
    for flag, value in (("--cluster", cluster), ("--workers", workers), ("--threads", threads)):
        if value is not None:
            again += [flag, str(value)]
    for item in slurm or []:
        again += ["--slurm", item]
    try:
        with progress:
            task = progress.add_task("sweep", total=missing)

            def done(cfg, run_id, status, wall) -> None:  # type: ignore[no-untyped-def]
                progress.update(task, advance=1)
                if not as_json:
                    progress.console.print(
                        f"{cfg.instance} {cfg.method}/{cfg.sampler} seed {cfg.seed}: {status} "
                        f"({wall:.1f} s, run {run_id})",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )

            def note(text: str) -> None:
                if not as_json:
                    progress.console.print(text, markup=False, highlight=False)

            out = run_suite(
                s,
                db,
                cluster=cluster,
                workers=workers,
                threads=threads,
                slurm=slurm_opts,
                on_done=done,
                on_note=note,
            )
    except KeyboardInterrupt as exc:
        ids = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        which = f" ({', '.join(ids)})" if ids else ""
        err_console.print(
            f"interrupted: {len(ids)} unfinished run(s) marked interrupted{which}; finished runs and every "
            f"stored step are kept. Resume with the same command: {shlex.join(again)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    if report_out is not None and not no_report:
        from qslack.report.html import write_report

        with Store(db) as store:
            html_path, md_path = write_report(store, report_out)
        out["report"] = str(html_path)
        out["report_md"] = str(md_path)
    if as_json:
        _print_json(out)
    else:
        extra = [f"{out[k]} {k}" for k in ("resumed", "resubmitted", "elsewhere") if out.get(k)]
        console.print(
            f"{out['suite']} on {out['cluster']}: {out['runs']} runs, {out['reused']} reused from the store, "
            f"{out['ran']} run now {out['statuses']}"
            + (f" ({', '.join(extra)})" if extra else "")
            + f" in {out['wall_s']:.0f} s"
            + (f"; report {out['report']}" if "report" in out else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for line in out.get("unplaced", []):
            console.print(f"not run: {line}", markup=False, highlight=False)


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
        t.add_column(col, overflow="fold")
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
    profile: Annotated[str, typer.Option("--profile", help="An ibm-* profile (real IBM backend).")],
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
    """Start a hardware run on IBM: submit its first step, store the job id and state, and return."""
    from qslack.hardware.profiles import load_profile
    from qslack.runs.config import SolveConfig
    from qslack.runs.hardware import submit_run
    from qslack.store.db import Store

    cfg = SolveConfig(
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
    ).validate()
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
        console.print(
            f"run {run_id}: step 0 submitted as job {job_id}", markup=False, highlight=False, soft_wrap=True
        )
        console.print(
            f"continue with  qslack jobs fetch {run_id} --db {db}  (add --wait to follow it)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


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

    with Store(db, create=False) as store:
        rows = store.jobs(store.get_run(run)["run_id"] if run else None)
    if as_json:
        _print_json([{k: v for k, v in j.items() if k != "result"} for j in rows])
        return
    t = Table(title=f"jobs in {db}")
    for col in ("job", "run", "step", "backend", "status", "updated"):
        t.add_column(col, overflow="fold", no_wrap=col == "run")
    for j in rows:
        reason = (j.get("info") or {}).get("reason")
        st = j["status"] + (f" ({reason})" if reason else "")
        t.add_row(j["job_id"], j["run_id"], str(j["step"]), j["backend"], st, j.get("updated_at", ""))
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

    with Store(db, create=False) as store:
        rows = [j for j in store.jobs() if j["job_id"] == job_id]
        if not rows:
            raise QslackError(f"no job {job_id!r} in {db}; see `qslack jobs list`")
        j = rows[0]
        st = j["status"]
        if live and st not in ("done", "failed", "cancelled"):
            from qslack.runs.hardware import service_for_run

            st = service_for_run(store, j["run_id"]).status(job_id)
            store.update_job(job_id, st)
    console.print(
        f"job {job_id}: {st} (run {j['run_id']}, step {j['step']}, {j['backend']})",
        markup=False,
        soft_wrap=True,
    )


def _follow_jobs(store: Any, run_id: str, db: Path, *, poll: float, as_json: bool) -> None:
    """Collect and submit until the hardware run ends; Ctrl-C leaves the job in flight stored."""
    from qslack.runs.hardware import run_until_done

    def show(o) -> None:  # type: ignore[no-untyped-def]
        err_console.print(
            f"step {o.step}: {o.action} {o.job_id or ''} {o.detail}", markup=False, highlight=False
        )

    try:
        out = run_until_done(store, run_id, poll_interval=poll, on_outcome=show)
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: the job in flight is stored; continue with  "
            f"qslack jobs fetch {run_id} --wait --db {db}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    run = store.get_run(out.run_id)
    if as_json:
        _print_json({"run_id": out.run_id, "status": run["status"], **(run["result"] or {})})
    else:
        console.print(f"run {out.run_id}: {run['status']}", markup=False, highlight=False, soft_wrap=True)


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
    from qslack.runs.hardware import advance
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        rid = store.get_run(run_id)["run_id"]
        if wait:
            _follow_jobs(store, rid, db, poll=poll, as_json=False)
            return
        out = advance(store, rid)
    console.print(
        f"run {out.run_id} step {out.step}: {out.action} {out.job_id or ''} {out.detail}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@jobs_app.command("cancel")
@_handles_errors
def jobs_cancel(job_id: str, db: DbOpt = Path("qslack.db")) -> None:
    """Cancel a job at the service and record it (`jobs fetch` then resubmits its step)."""
    from qslack.runs.hardware import cancel_job
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        cancel_job(store, job_id)
    console.print(f"job {job_id}: cancelled", markup=False, soft_wrap=True)


# --------------------------------------------------------------------------- demo
DEMO_INSTANCE = "mknap1#2"


@app.command()
@_handles_errors
def demo(db: DbOpt = Path("qslack.db")) -> None:
    """The main job on a shipped instance: mknap1#2 solved slack-free twice (the paper's loop, then
    qslack's default), each beside OR-Tools, and the two compared at their counted budgets."""
    from rich.table import Table

    from qslack.cli.printing import fmt
    from qslack.runs.config import AUTO_FIELDS, SolveConfig
    from qslack.runs.stored import RunHandle, start
    from qslack.store.db import Store

    paper = SolveConfig(  # the dual loop as the paper runs it: bundle, X mixer, COBYLA per step
        instance=DEMO_INSTANCE, method="bundle", p=2, shots=1000, qaoa_maxiter=60, iters=10, seed=1
    )
    ours = SolveConfig(instance=DEMO_INSTANCE, shots=1000, iters=15, seed=1, **dict.fromkeys(AUTO_FIELDS))
    labels = ("paper: bundle, X, p=2, COBYLA", "qslack default: margin, warm, LR")
    rows = []
    with Store(db) as store:  # opened first: a bad --db fails before anything is printed
        inspect(instance=DEMO_INSTANCE)
        for label, cfg in zip(labels, (paper, ours), strict=True):
            h = start(cfg.validate(), store)
            assert isinstance(h, RunHandle)
            with _ctrl_c_keeps(store, h.run_id, db):
                err_console.print(
                    f"{label}: run {h.run_id} started ({db})", markup=False, highlight=False, soft_wrap=True
                )
                summary = _drive_and_print(store, h, db, as_json=False, time_limit=None, write_solution=None)
            rows.append((label, h.run_id, summary))
    t = Table(title=f"{DEMO_INSTANCE}: what the final state is worth, at the budget each run counted")
    for col in ("configuration", "run", "P(optimal)", "P(feasible)", "circuits", "shots"):
        t.add_column(col, overflow="fold", justify="left" if col in ("configuration", "run") else "right")
    for label, run_id, sm in rows:
        t.add_row(
            label, run_id, fmt(sm["p_optimal"]), fmt(sm["p_feasible"]), str(sm["circuit_evals"]),
            str(sm["shots_total"]),
        )
    console.print(t)


# --------------------------------------------------------------------------- export (interop)
# Self-contained: one sub-app that calls qslack.report.qoblib; nothing above depends on it.
export_app = typer.Typer(help="Write stored runs in other tools' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("qoblib")
@_handles_errors
def export_qoblib(
    run_ids: Annotated[list[str], typer.Argument(help="RUN_ID... (ids or unique prefixes).")],
    out: Annotated[Path, typer.Option("--out", help="Submission directory (created).")],
    db: DbOpt = Path("qslack.db"),
    submitter: Annotated[str, typer.Option("--submitter", help="QOBLIB's Submitter column.")] = "N/A",
    reference: Annotated[
        str | None, typer.Option("--reference", help="QOBLIB's Reference column (a paper, a URL).")
    ] = None,
) -> None:
    """QOBLIB submission files from stored runs: <out>/<instance>/ summary CSV, solutions, time series."""
    from qslack.report.qoblib import write_qoblib_submission
    from qslack.store.db import Store

    with Store(db, create=False) as store:
        exports = [store.export_run(run_id) for run_id in run_ids]
    for path in write_qoblib_submission(exports, out, submitter=submitter, reference=reference):
        console.print(str(path), highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point.

    After Ctrl-C (exit 130) everything is stored and closed, but OR-Tools'
    native worker threads may still be winding down; letting C++ static
    destructors run beside them can abort the process ("terminate called
    without an active exception").  So an interrupted command leaves with
    ``os._exit(130)`` once its output is flushed.
    """
    try:
        app()
    except SystemExit as exc:
        if exc.code == 130:
            import os

            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
