"""Printing a run's progress and summary (the ``solve`` / ``demo`` / ``runs show`` side of the CLI)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["StepReporter", "fmt", "print_summary", "step_table"]


def fmt(v: Any, digits: int = 6) -> str:
    """A cell: ``-`` for None, ``digits`` significant digits for floats."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


STEP_COLUMNS = ("step", "best", "p(feas)", "p(opt)", "viol.", "dual value", "note")


def step_table(title: str = "dual steps") -> Table:
    """An empty table of dual steps (narrow enough for 80 columns)."""
    t = Table(title=title, show_lines=False, pad_edge=False)
    for col in STEP_COLUMNS:
        t.add_column(col, justify="left" if col == "note" else "right", overflow="fold")
    return t


def step_row(rec: Any) -> list[str]:
    """A step record (a DualIterate or its dict) as table cells."""
    get = rec.get if isinstance(rec, dict) else (lambda k, d=None: getattr(rec, k, d))
    dual = fmt(get("dual_value"))
    if get("dual_value") is not None and not get("dual_value_exact"):
        dual += " est."
    return [
        str(get("step")),
        fmt(get("best_objective")),
        fmt(get("p_feasible"), 3),
        fmt(get("p_optimal"), 3),
        fmt(get("max_violation"), 3),
        dual,
        str(get("note") or ""),
    ]


class StepReporter:
    """Progress of a solve: a bar and a step table on a terminal, one plain line per step otherwise."""

    def __init__(self, total: int, *, quiet: bool, console: Console, err_console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.total, self.quiet = total, quiet
        self.console, self.err = console, err_console
        self.tty = err_console.is_terminal
        self.table = step_table()
        self.progress = Progress(
            TextColumn("[bold]solve"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=quiet or not self.tty,
        )
        self.task = self.progress.add_task("solve", total=total)

    def __enter__(self) -> StepReporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, it: Any, state: Any) -> None:
        """The driver's callback: one step done."""
        self.table.add_row(*step_row(it))
        self.progress.update(self.task, completed=it.step + 1)
        if not self.quiet and not self.tty:
            cells = dict(zip(STEP_COLUMNS, step_row(it), strict=True))
            line = (
                f"step {it.step + 1}/{self.total}: best {cells['best']}, p_feasible {cells['p(feas)']}, "
                f"p_optimal {cells['p(opt)']}, violation {cells['viol.']} ({cells['note']})"
            )
            print(line, file=sys.stderr, flush=True)


LEGEND = (
    "How to read: 'best' is the best feasible raw sample so far; p(feas) / p(opt) are the probabilities "
    "the final state puts on feasible and on optimal bitstrings (exact for the statevector, else from "
    "shots); 'dual value' is H(x) of the lowest-energy sample, a bound only when marked certified "
    "(exact sampler) - 'est.' means an estimate.  Bundle steps: 'serious' moved the proximal centre "
    "(the dual value rose enough), 'null' kept it and tightened the step (mu doubled).  Margin steps: "
    "the best known solution's energy margin over the sampled states, in units of the circuit's phase "
    "scale (positive: it is their ground state)."
)


def print_summary(console: Console, run_id: str, summary: dict[str, Any]) -> None:
    """The summary table of a run (native sense)."""
    t = Table(title=f"{summary['instance']}: {summary['method']} with {summary['sampler']} (run {run_id})")
    t.add_column("quantity", overflow="fold")
    t.add_column("value", justify="right", overflow="fold")
    ref = summary.get("reference") or {}
    gap = summary.get("gap")
    t.add_row("best feasible (raw samples)", fmt(summary["best_objective"]))
    t.add_row("gap to optimum", "-" if gap is None else f"{100 * gap:.2f} %")
    t.add_row("best after repair", fmt(summary["best_objective_repaired"]))
    t.add_row("optimum", f"{fmt(summary['optimum'])} ({summary.get('optimum_source') or 'unknown'})")
    t.add_row("OR-Tools reference", f"{fmt(ref.get('objective'))} ({fmt(ref.get('wall_s'), 3)} s)")
    t.add_row("P(optimal), final state", fmt(summary.get("p_optimal"), 3))
    t.add_row("P(feasible), final state", fmt(summary["p_feasible"], 3))
    if summary.get("estimated_from_shots"):
        t.add_row("", "(estimated from shots)")
    t.add_row("shots to see the optimum (99 %)", fmt(summary.get("tts99_shots")))
    if summary.get("ground_rank") is not None:
        t.add_row("rank of the optimum in energy", fmt(summary.get("ground_rank")))
    t.add_row("dual bound (certified)", fmt(summary["dual_bound"]))
    t.add_row("dual value estimate", fmt(summary.get("dual_estimate")))
    t.add_row("qubits slack-free / with slack", f"{summary['qubits_slack_free']} / {summary['qubits_slack']}")
    t.add_row("steps", str(summary["steps"]))
    t.add_row("circuits / shots counted", f"{summary.get('circuit_evals')} / {summary.get('shots_total')}")
    t.add_row("status", f"{summary['status']}: {summary['message']}")
    if summary.get("profile"):
        t.add_row("hardware profile", str(summary["profile"]))
    isa = summary.get("isa")
    if isa:
        t.add_row(
            "ISA circuit: depth / two-qubit gates", f"{isa.get('depth')} / {isa.get('two_qubit_gates')}"
        )
    t.add_row("solve time", f"{summary['wall_s']:.1f} s")
    console.print(t)
