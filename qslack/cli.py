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
                }
                for e in rows
            ]
        )
        return
    t = Table(title=f"Shipped instances ({len(rows)})")
    for col in ("name", "problem", "size", "known optimum", "source of optimum"):
        t.add_column(col, justify="right" if col == "known optimum" else "left")
    for e in rows:
        opt = "" if e.optimum is None else f"{e.optimum:g}"
        t.add_row(e.name, e.problem, e.size, opt, e.optimum_source or "")
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


# --------------------------------------------------------------------------- demo
@app.command()
@_handles_errors
def demo() -> None:
    """The main job on a shipped instance (mknap1#2): qubits, optimum, slack-free solve."""
    inspect("mknap1#2", None, "position", None, None, 0.0, 1.0, None, False, False)
    baseline("mknap1#2", None, None, None, 30.0, 2, 0, False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
