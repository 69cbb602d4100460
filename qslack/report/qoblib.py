"""QOBLIB submissions from stored runs: the summary CSV, the solution files, the objective time series.

QOBLIB (the Quantum Optimization Benchmarking Library) collects results as
one directory per instance (``misc/check_submission.py`` in QOBLIB)::

    <out>/<instance>/<instance>_summary.csv                 header = QOBLIB's template, >= 1 row
    <out>/<instance>/<instance>_solution.sol                one row: its best solution, or
    <out>/<instance>/solutions/<instance>_solution_<N>.sol  one per row, N = 0, 1, ...
    <out>/<instance>/<instance>_objective_time_series.json  optional: [[{"Time", "Incumbent"}, ...], ...]

:func:`qoblib_rows` turns exported runs (what ``qslack runs --export RUN_ID``
prints: ``{"run", "steps", "solutions", ...}``) into rows of QOBLIB's
template, one row per workflow: runs of the same instance, method, sampler
and options, differing only in the seed, share a row (QOBLIB's ``# Runs``).
:func:`write_qoblib_submission` writes the files.

What the columns hold (numbers in the problem's native sense; ``N/A`` where
qslack does not know):

- ``Best Objective Value``: the best objective of a feasible sample drawn by
  the sampler (raw, before qslack's problem-specific repair; the repaired
  value goes to ``Remarks`` when better).
- ``Optimality Bound``: the best *certified* dual bound of the runs (exact
  inner oracle, rho-terms that vanish on feasible points); else ``N/A``.
- ``Modeling Approach`` ``QUBO``; variables: the QUBO's, all binary.
- ``# Non-Zero Coefficients``, ``Coefficients Type``, ``Coefficients Range``:
  of the last QUBO the run sampled, counted as QOBLIB's ``.qs`` files list it
  (upper triangle of the symmetric matrix, diagonal included; see
  :mod:`qslack.formats.qubo`).  The QUBO is rebuilt from the stored
  instance spec and the last step's ``lam`` and ``rho``, and used only when
  the rebuilt program's fingerprint equals the stored ``program_hash``.
- ``Success Threshold``: the known optimum; a run succeeds when its best
  objective equals it (relative tolerance 1e-9).
- Runtimes: seconds of wall clock spent in the QUBO sampler (the steps'
  ``wall_s``), summed over the dual steps and the runs; the end-to-end time
  (set-up, dual updates, OR-Tools reference) goes to ``Remarks``.  ``CPU
  Runtime`` equals the total for samplers that run on the CPU only; ``GPU``
  and ``QPU`` are ``N/A`` (qslack does not split them).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qslack.exceptions import ValidationError
from qslack.report.tables import run_sense, sampler_label

__all__ = [
    "COLUMNS",
    "qoblib_rows",
    "write_qoblib_submission",
]

COLUMNS = (
    "Problem",
    "Submitter",
    "Date",
    "Reference",
    "Best Objective Value",
    "Optimality Bound",
    "Modeling Approach",
    "# Decision Variables",
    "# Binary Variables",
    "# Integer Variables",
    "# Continuous Variables",
    "# Non-Zero Coefficients",
    "Coefficients Type",
    "Coefficients Range",
    "Workflow",
    "Algorithm Type",
    "# Runs",
    "# Feasible Runs",
    "# Successful Runs",
    "Success Threshold",
    "Hardware Specifications",
    "Total Runtime",
    "CPU Runtime",
    "GPU Runtime",
    "QPU Runtime",
    "Other HW Runtime",
    "Remarks",
)
"""The columns of QOBLIB's ``misc/submission_template.csv``, in its order."""

NA = "N/A"
_DETERMINISTIC = {"exact", "cpsat"}


def _num(v: float | None) -> str:
    """A number as QOBLIB's CSV wants it (integers without ``.0``), ``N/A`` for None/NaN.

    Examples
    --------
    >>> _num(10.0), _num(0.123456789012), _num(None), _num(float("nan"))
    ('10', '0.123456789', 'N/A', 'N/A')
    """
    if v is None or not math.isfinite(float(v)):
        return NA
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else format(v, ".9g")


def _stored_stats(export: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """QUBO statistics of the run's last sampled QUBO, as the run stored them: ``(stats, why-not)``."""
    stats = (export["run"].get("result") or {}).get("qubo_stats")
    if not stats:
        return None, "coefficients unknown (the run stored no QUBO statistics: made before qslack 0.2)"
    return dict(stats), ""


def _raw_best(export: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    sols = [s for s in export.get("solutions") or [] if s.get("kind") == kind and s.get("feasible")]
    return sols[-1] if sols else None


def _group_key(run: Mapping[str, Any]) -> str:
    cfg = dict((run.get("options") or {}).get("config") or {})
    cfg.pop("seed", None)
    return json.dumps(
        [run.get("instance_name"), run.get("method"), run.get("sampler"), cfg], sort_keys=True, default=str
    )


def _check_export(item: Any, where: int) -> Mapping[str, Any]:
    if not isinstance(item, Mapping) or not isinstance(item.get("run"), Mapping):
        raise ValidationError(
            f"run #{where}: expected an exported run ({{'run': ..., 'steps': ..., 'solutions': ...}}, "
            "as `qslack runs --export RUN_ID` prints)"
        )
    return item


def _hardware(runs: Sequence[Mapping[str, Any]]) -> str:
    parts: list[str] = []
    for run in runs:
        prov = run.get("provenance") or {}
        cpu = prov.get("cpu_model") or prov.get("processor") or prov.get("machine") or "unknown CPU"
        desc = f"{cpu}, {prov.get('cpu_count', '?')} logical CPUs"
        cfg = (run.get("options") or {}).get("config") or {}
        sampler = run.get("sampler") or {}
        if sampler.get("device") == "GPU" or cfg.get("device") == "GPU":
            desc += " + GPU"
        if cfg.get("profile"):
            desc += f"; hardware profile {cfg['profile']}"
        if desc not in parts:
            parts.append(desc)
    return "; ".join(parts)


def _uses_cpu_only(run: Mapping[str, Any]) -> bool:
    cfg = (run.get("options") or {}).get("config") or {}
    sampler = run.get("sampler") or {}
    on_cpu = sampler.get("device", "CPU") == "CPU" and cfg.get("device", "CPU") == "CPU"
    return on_cpu and not cfg.get("profile")


def _row(group: Sequence[Mapping[str, Any]], submitter: str, reference: str | None) -> dict[str, str]:
    runs = [g["run"] for g in group]
    first = runs[0]
    maximise = run_sense(first) == "max"
    better = max if maximise else min
    raw = [_raw_best(g, "raw") for g in group]
    rep = [_raw_best(g, "repaired") for g in group]
    raw_vals = [float(s["objective"]) for s in raw if s is not None and s.get("objective") is not None]
    rep_vals = [float(s["objective"]) for s in rep if s is not None and s.get("objective") is not None]
    best = better(raw_vals) if raw_vals else None
    optimum = first.get("known_optimum")
    bounds = [  # certified only (schema 1 summaries flagged estimates with dual_bound_certified=False)
        float(r["result"]["dual_bound"])
        for r in runs
        if (r.get("result") or {}).get("dual_bound") is not None
        and r["result"].get("dual_bound_certified") is not False
    ]
    bound = (min if maximise else max)(bounds) if bounds else None
    stats, why = _stored_stats(group[0])
    n_vars = first.get("n_qubits")
    if stats is not None:
        n_vars = stats["n_vars"]
    successes = 0
    if optimum is not None:
        tol = 1e-9 * max(1.0, abs(float(optimum)))
        successes = sum(1 for v in raw_vals if abs(v - float(optimum)) <= tol)
    cfg = (first.get("options") or {}).get("config") or {}
    sampler = first.get("sampler") or {}
    total = sum(
        float((st.get("record") or {}).get("wall_s") or 0.0) for g in group for st in g.get("steps") or []
    )
    end_to_end = sum(
        float((r.get("result") or {}).get("wall_s") or 0.0)
        + float((r.get("result") or {}).get("reference_wall_s") or 0.0)
        for r in runs
    )
    dates = sorted(str(r.get("finished_at") or r.get("created_at") or "")[:10] for r in runs)
    version = (first.get("provenance") or {}).get("qslack") or "?"
    remarks = [
        "Runtimes in seconds: wall clock spent in the QUBO sampler, summed over the dual steps and runs; "
        f"end to end (with instance set-up, dual updates and the OR-Tools reference): {_num(end_to_end)} s.",
        "Best Objective Value is the best feasible raw sample of the QUBO sampler.",
    ]
    if rep_vals and (best is None or better(rep_vals) != best):
        remarks.append(f"After qslack's problem-specific repair: {_num(better(rep_vals))}.")
    if why:
        remarks.append(why[:1].upper() + why[1:] + ".")
    if stats is not None:
        remarks.append(
            "Coefficients: entries of the symmetric matrix of the last QUBO sampled (as in .qs files)."
        )
    remarks.append(
        "qslack runs " + ", ".join(f"{r['run_id']} (seed {r.get('seed')})" for r in runs) + "."
    )
    workflow = (
        "Slack-free Lagrangian QUBO: every constraint relaxed with its own multiplier, no slack variables. "
        f"Outer dual loop '{first.get('method')}' ({cfg.get('iters', '?')} steps, "
        f"rho scale {cfg.get('rho', '?')}) "
        f"updates the multipliers from the samples of the inner sampler ({sampler_label(sampler)}). "
        "Every sample is evaluated on the original problem; the best feasible one is kept."
    )
    return {
        "Problem": str(first.get("instance_name") or (first.get("instance") or {}).get("name") or "?"),
        "Submitter": submitter,
        "Date": dates[-1] if dates and dates[-1] else NA,
        "Reference": reference or f"qslack {version} (slack-free Lagrangian QUBOs), stored runs",
        "Best Objective Value": _num(best),
        "Optimality Bound": _num(bound),
        "Modeling Approach": "QUBO",
        "# Decision Variables": _num(n_vars),
        "# Binary Variables": _num(n_vars),
        "# Integer Variables": "0",
        "# Continuous Variables": "0",
        "# Non-Zero Coefficients": _num(stats["nnz"]) if stats else NA,
        "Coefficients Type": (("Integer" if stats["integer"] else "Continuous") if stats else NA),
        "Coefficients Range": (
            f"[{_num(stats['min'])}, {_num(stats['max'])}]" if stats and stats["min"] is not None else NA
        ),
        "Workflow": workflow,
        "Algorithm Type": "Deterministic" if sampler.get("sampler") in _DETERMINISTIC else "Stochastic",
        "# Runs": str(len(runs)),
        "# Feasible Runs": str(len(raw_vals)),
        "# Successful Runs": str(successes) if optimum is not None else NA,
        "Success Threshold": _num(optimum),
        "Hardware Specifications": _hardware(runs),
        "Total Runtime": _num(total),
        "CPU Runtime": _num(total) if all(_uses_cpu_only(r) for r in runs) else NA,
        "GPU Runtime": NA,
        "QPU Runtime": NA,
        "Other HW Runtime": NA,
        "Remarks": " ".join(remarks),
    }


def _groups(runs: Iterable[Any]) -> list[list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for k, item in enumerate(runs):
        export = _check_export(item, k)
        groups.setdefault(_group_key(export["run"]), []).append(export)
    return list(groups.values())


def qoblib_rows(
    runs: Iterable[Mapping[str, Any]], *, submitter: str = NA, reference: str | None = None
) -> list[dict[str, str]]:
    """Rows of QOBLIB's submission template from exported runs (one row per workflow).

    Parameters
    ----------
    runs : iterable of dict
        Exported runs, as :meth:`qslack.store.db.Store.export_run` returns and
        ``qslack runs --export RUN_ID`` prints.
    submitter : str
        QOBLIB's ``Submitter`` column.
    reference : str, optional
        QOBLIB's ``Reference`` column; default names qslack and its version.

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS` in order, values strings (``N/A`` where unknown),
        grouped by instance, method, sampler and options (seeds pooled).

    Raises
    ------
    ValidationError
        An item that is not an exported run.
    """
    return [_row(group, submitter, reference) for group in _groups(runs)]


def _solution_x(group: Sequence[Mapping[str, Any]], maximise: bool) -> tuple[list[int], float] | None:
    best: tuple[list[int], float] | None = None
    for kind in ("raw", "repaired"):
        for export in group:
            s = _raw_best(export, kind)
            if s is None or s.get("objective") is None:
                continue
            v = float(s["objective"])
            if best is None or (v > best[1] if maximise else v < best[1]):
                best = (list(s["x"]), v)
        if best is not None:
            return best
    return None


def _time_series(export: Mapping[str, Any]) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    t = 0.0
    for step in export.get("steps") or []:
        rec = step.get("record") or {}
        t += float(rec.get("wall_s") or 0.0)
        inc = rec.get("best_objective")
        if inc is not None and math.isfinite(float(inc)):
            out.append({"Time": round(t, 6), "Incumbent": float(inc)})
    return out


def write_qoblib_submission(
    runs: Iterable[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    submitter: str = NA,
    reference: str | None = None,
) -> list[Path]:
    """Write a QOBLIB submission directory from exported runs.

    Per instance: ``<name>_summary.csv`` (QOBLIB's header, one row per
    workflow, see :func:`qoblib_rows`), the best feasible solution of each
    row as ``x#i v`` lines (``<name>_solution.sol``, or
    ``solutions/<name>_solution_<N>.sol`` when there are several rows; for
    MIS ``i`` is the 1-based node, what QOBLIB's checker reads; otherwise
    the 1-based variable of the program), and
    ``<name>_objective_time_series.json`` (per run: cumulative wall time and
    best feasible objective after each dual step).

    Parameters
    ----------
    runs : iterable of dict
        Exported runs (``qslack runs --export RUN_ID``).
    out_dir : str or Path
        Created if missing; existing files of the same names are replaced.
    submitter, reference : str
        See :func:`qoblib_rows`.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValidationError
        No runs, or an item that is not an exported run.
    """
    from qslack.formats.qoblib import write_qoblib_solution

    groups = _groups(runs)
    if not groups:
        raise ValidationError("no runs to export")
    out = Path(out_dir)
    by_instance: dict[str, list[tuple[list[Mapping[str, Any]], dict[str, str]]]] = {}
    for group in groups:
        row = _row(group, submitter, reference)
        by_instance.setdefault(row["Problem"], []).append((group, row))
    written: list[Path] = []
    for name, items in by_instance.items():
        if not name or "/" in name or name in (".", ".."):
            raise ValidationError(f"instance name {name!r} cannot name a directory")
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        best = [_solution_x(group, run_sense(group[0]["run"]) == "max") for group, _ in items]
        several = sum(b is not None for b in best) > 1
        n_written = 0
        for (_, row), sol in zip(items, best, strict=True):
            if sol is None:
                row["Remarks"] += " No feasible solution was found, so no solution file."
                continue
            if several:
                path = d / "solutions" / f"{name}_solution_{n_written}.sol"
                path.parent.mkdir(exist_ok=True)
            else:
                path = d / f"{name}_solution.sol"
            n_written += 1
            row["Remarks"] += f" Solution: {path.relative_to(d)}."
            write_qoblib_solution(path, np.asarray(sol[0]), comment=f"Objective value = {_num(sol[1])}")
            written.append(path)
        csv_path = d / f"{name}_summary.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            writer.writerows(row for _, row in items)
        written.append(csv_path)
        series = [_time_series(export) for group, _ in items for export in group]
        ts_path = d / f"{name}_objective_time_series.json"
        ts_path.write_text(json.dumps(series) + "\n", encoding="utf-8")
        written.append(ts_path)
    return written
