"""Comparison tables of stored runs: one row per (instance, method) over seeds.

Everything here reads the store only (:class:`qslack.store.db.Store`); no
solver code is imported.  :func:`collect_runs` groups the stored runs,
:func:`compare_rows` turns each group into one row of plain values, and the
writers render those rows (``rich``, Markdown, CSV, JSON).  All renderers
format a cell with :func:`format_cell`, so the text of a cell is the same in
the terminal, in Markdown and in HTML.

Row definitions (over the finished runs of the group, one per run key, i.e.
per seed):

- ``feasible_rate``: share of seeds whose final raw best sample is feasible.
- ``best_gap``: smallest final raw gap (``>= 0`` is worse than the optimum).
- ``median_gap``: median of the final raw gaps, an infeasible seed counting as
  ``+inf``; ``None`` when that median is infinite (at least half the seeds
  ended infeasible — ``status_note`` then says so) or no optimum is known.
- ``mean_p_feasible``: mean over seeds of the last step's ``p_feasible``.
- ``dual_bound``: the best certified bound of the group (the smallest upper
  bound of a maximisation, the largest lower bound of a minimisation), or
  ``None`` when no run has one; ``dual_estimate``: the best dual-value
  estimate (``H`` of the lowest sample with a sampler that is not exact),
  never mixed with the bound.
- ``median_steps``: median of the runs' steps; ``median_sampler_calls``:
  median number of stored steps (one sampler call each).
- ``qubits``: the run's qubit count (slack-free for the Lagrangian methods,
  with slack for ``slack-penalty``); ``qubits_slack``: what the slack
  baseline needs.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from qslack.store.db import Store
>>> store = Store(Path(tempfile.mkdtemp()) / "qslack.db")
>>> rid = store.create_run(run_key="k", instance={"name": "toy", "problem": "mis"}, program_hash="h",
...                        n_qubits=4, qubits_slack=4, method="bundle", seed=0, provenance={},
...                        sampler={"sampler": "exact"})
>>> store.add_step(rid, 0, {"p_feasible": 0.5})
>>> store.finish_run(rid, "finished", {"feasible": True, "gap": 0.0, "steps": 1, "wall_s": 0.1,
...                                    "dual_bound": 2.0, "dual_estimate": 2.5})
>>> row = compare_rows(store)[0]
>>> row["method"], row["n_seeds"], row["feasible_rate"], row["mean_p_feasible"], row["dual_bound"]
('bundle', 1, 1.0, 0.5, 2.0)
>>> format_cell("median_gap", row["median_gap"]), format_cell("dual_bound", row["dual_bound"])
('0.00%', '2')
>>> store.close()
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from qslack._sizes import format_count
from qslack.exceptions import ValidationError

__all__ = [
    "COLUMNS",
    "METHOD_ORDER",
    "SHOWN",
    "collect_runs",
    "compare_rows",
    "final_p_feasible",
    "finished_runs",
    "format_cell",
    "from_csv",
    "from_json",
    "headers",
    "markdown_table",
    "qubit_summary",
    "rich_table",
    "row_label",
    "rows_from_groups",
    "run_sense",
    "sampler_label",
    "to_csv",
    "to_json",
]

METHOD_ORDER = (
    "subgradient",
    "cutting-plane",
    "bundle",
    "augmented-lagrangian",
    "fixed-penalty",
    "slack-penalty",
    "random",
)
"""Order of the rows of one instance (labels not listed follow, alphabetically)."""

# key, header, type, description
COLUMNS: tuple[tuple[str, str, type, str], ...] = (
    ("instance", "instance", str, "instance name"),
    ("method", "method", str, "dual method, or 'random' for the uniform-random sampler baseline"),
    ("sampler", "sampler", str, "sampler(s) of the runs in the row"),
    ("n_seeds", "seeds", int, "finished runs (one per seed)"),
    ("qubits", "qubits", int, "qubits of the row's QUBO (slack-free, or with slack for slack-penalty)"),
    ("qubits_slack", "qubits (slack)", int, "qubits the slack baseline needs"),
    ("optimum", "optimum", float, "known optimum (native sense)"),
    ("feasible_rate", "feasible", float, "share of seeds ending with a feasible raw sample"),
    ("best_gap", "best gap", float, "smallest final raw gap over seeds (>= 0 is worse)"),
    ("median_gap", "median gap", float, "median final raw gap, infeasible seeds as +inf ('-' if infinite)"),
    ("mean_p_feasible", "P(feasible)", float, "mean over seeds of the last step's feasible probability"),
    ("dual_bound", "dual bound", float, "best certified bound ('-' when none is certified)"),
    ("dual_estimate", "dual est.", float, "best dual-value estimate (not a bound)"),
    ("median_steps", "steps", float, "median outer (dual) steps"),
    ("median_sampler_calls", "sampler calls", float, "median sampler calls (stored steps)"),
    ("median_wall_s", "wall [s]", float, "median wall-clock time of a run, seconds"),
    ("status_note", "note", str, "does-not-fit, unfinished runs, infinite median gap"),
)
_TYPES = {key: typ for key, _h, typ, _d in COLUMNS}
_HEADERS = {key: head for key, head, _t, _d in COLUMNS}

#: columns shown by the renderers
SHOWN = tuple(key for key, *_ in COLUMNS)

_MAX_PROBLEMS = {"mdkp", "mis", "knapsack"}
_MIN_PROBLEMS = {"tsp"}


# --------------------------------------------------------------------------- run helpers


def row_label(run: Mapping[str, Any]) -> str:
    """The row a run belongs to: ``"random"`` for the random sampler, else its method.

    Examples
    --------
    >>> row_label({"method": "bundle", "sampler": {"sampler": "random", "shots": 100}})
    'random'
    >>> row_label({"method": "bundle", "sampler": {"sampler": "qaoa", "p": 2}})
    'bundle'
    """
    sampler = run.get("sampler") or {}
    if isinstance(sampler, Mapping) and sampler.get("sampler") == "random":
        return "random"
    return str(run.get("method"))


def sampler_label(sampler: Mapping[str, Any] | None) -> str:
    """A short description of a run's sampler (``"qaoa p=2, 1000 shots"``, ``"exact"``).

    Examples
    --------
    >>> sampler_label({"sampler": "qaoa", "backend": "statevector", "p": 2, "shots": 1000})
    'qaoa p=2, 1000 shots'
    >>> sampler_label({"sampler": "random", "shots": 100}), sampler_label(None)
    ('random, 100 shots', '?')
    """
    if not sampler:
        return "?"
    name = str(sampler.get("sampler", "?"))
    parts = []
    if name == "qaoa":
        backend = sampler.get("backend")
        head = "qaoa" if backend in (None, "statevector") else f"qaoa/{backend}"
        if sampler.get("p") is not None:
            head += f" p={sampler['p']}"
        parts.append(head)
    else:
        parts.append(name)
    if sampler.get("shots") is not None:
        parts.append(f"{sampler['shots']} shots")
    return ", ".join(parts)


def run_sense(run: Mapping[str, Any]) -> str:
    """``"max"`` or ``"min"``: the native sense of the run's problem.

    Read from the problem name (MDKP and MIS maximise, TSP minimises), else
    from the stored reference (a bound above the objective means
    maximisation), else ``"min"``.

    Examples
    --------
    >>> run_sense({"instance": {"problem": "mdkp"}}), run_sense({"instance": {"problem": "tsp"}})
    ('max', 'min')
    >>> run_sense({"instance": {}, "reference": {"objective": 5.0, "bound": 7.0}})
    'max'
    """
    inst = run.get("instance") or {}
    problem = str(inst.get("problem", "")).lower()
    if problem in _MAX_PROBLEMS:
        return "max"
    if problem in _MIN_PROBLEMS:
        return "min"
    ref = run.get("reference") or {}
    obj, bound = ref.get("objective"), ref.get("bound")
    if isinstance(obj, int | float) and isinstance(bound, int | float) and obj != bound:
        return "max" if bound > obj else "min"
    return "min"


def _instance_keys(run: Mapping[str, Any]) -> set[str]:
    """Every name a run's instance may be selected by."""
    keys = set()
    if run.get("instance_name") is not None:
        keys.add(str(run["instance_name"]))
    inst = run.get("instance") or {}
    for k in ("name", "source"):
        if inst.get(k) is not None:
            keys.add(str(inst[k]))
    cfg = (run.get("options") or {}).get("config") or {}
    if isinstance(cfg, Mapping) and cfg.get("instance") is not None:
        keys.add(str(cfg["instance"]))
    return keys


def _instance_name(run: Mapping[str, Any]) -> str:
    name = run.get("instance_name") or (run.get("instance") or {}).get("name")
    return "(unnamed)" if name is None else str(name)


def _label_key(label: str) -> tuple[int, str]:
    try:
        return (METHOD_ORDER.index(label), label)
    except ValueError:
        return (len(METHOD_ORDER), label)


def collect_runs(
    store: Any,
    *,
    runs: Iterable[str] | None = None,
    instances: Iterable[str] | None = None,
    methods: Iterable[str] | None = None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The stored runs grouped by instance, then by row label, each with its step records.

    Parameters
    ----------
    store : Store
        An open store.
    runs : iterable of str, optional
        Run ids (or unique prefixes) to keep; all runs when omitted.
    instances : iterable of str, optional
        Instance names to keep (the stored name, the spec it was loaded from
        such as ``"gen:mis?n=8&p=0.4&seed=1"``, or its source path).
    methods : iterable of str, optional
        Row labels or methods to keep (``"bundle"``, ``"random"``, ...).

    Returns
    -------
    dict
        ``{instance: {label: [{"run": run, "steps": [record, ...]}, ...]}}``,
        instances sorted by name, labels in :data:`METHOD_ORDER`, runs by
        seed then creation time.

    Raises
    ------
    ValidationError
        An instance asked for has no stored run (so a typo is not an empty report).
    """
    if runs is not None:
        all_runs = [store.get_run(r) for r in runs]
    else:
        all_runs = store.list_runs()
    want_inst = None if instances is None else {str(i) for i in instances}
    want_meth = None if methods is None else {str(m) for m in methods}
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    seen_inst: set[str] = set()
    for run in all_runs:
        if want_inst is not None:
            hit = _instance_keys(run) & want_inst
            if not hit:
                continue
            seen_inst |= hit
        label = row_label(run)
        if want_meth is not None and label not in want_meth and str(run.get("method")) not in want_meth:
            continue
        steps = [s["record"] for s in store.steps(run["run_id"])]
        inst = _instance_name(run)
        grouped.setdefault(inst, {}).setdefault(label, []).append({"run": run, "steps": steps})
    missing = sorted(want_inst - seen_inst) if want_inst is not None else []
    if missing:
        where = getattr(store, "path", None)
        raise ValidationError(
            f"no stored run of instance {missing[0]!r}"
            + (f" (nor of {', '.join(map(repr, missing[1:]))})" if len(missing) > 1 else "")
            + (f" in {where}" if where is not None else "")
            + "; see `qslack runs`"
        )
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for inst in sorted(grouped):
        out[inst] = {}
        for label in sorted(grouped[inst], key=_label_key):
            items = grouped[inst][label]
            items.sort(key=lambda it: (_seed_key(it["run"].get("seed")), it["run"].get("created_at") or ""))
            out[inst][label] = items
    return out


def _seed_key(seed: Any) -> tuple[int, Any]:
    try:
        return (0, int(seed))
    except (TypeError, ValueError):
        return (1, str(seed))


def finished_runs(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The finished runs of a group, one per run key (the latest when a run was repeated)."""
    latest: dict[str, dict[str, Any]] = {}
    for it in items:
        run = it["run"]
        if run.get("status") != "finished" or not isinstance(run.get("result"), Mapping):
            continue
        key = str(run.get("run_key") or run["run_id"])
        prev = latest.get(key)
        if prev is None or (run.get("created_at") or "") >= (prev["run"].get("created_at") or ""):
            latest[key] = dict(it)
    kept = list(latest.values())
    kept.sort(key=lambda it: (_seed_key(it["run"].get("seed")), it["run"].get("created_at") or ""))
    return kept


def final_p_feasible(item: Mapping[str, Any]) -> float | None:
    """The last stored step's ``p_feasible`` (the result's when no step holds one)."""
    for rec in reversed(item.get("steps") or []):
        if isinstance(rec, Mapping) and rec.get("p_feasible") is not None:
            return float(rec["p_feasible"])
    res = item["run"].get("result") or {}
    v = res.get("p_feasible")
    return None if v is None else float(v)


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _row(instance: str, label: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    runs = [it["run"] for it in items]
    done = finished_runs(items)
    results = [it["run"]["result"] for it in done]
    sense = run_sense(runs[0])
    notes: list[str] = []
    for msg in dict.fromkeys(
        str((r.get("result") or {}).get("message") or r.get("message") or "does not fit")
        for r in runs
        if r.get("status") == "does-not-fit"
    ):
        notes.append(msg)
    counts: dict[str, int] = {}
    for r in runs:
        st = str(r.get("status"))
        if st not in ("finished", "does-not-fit"):
            counts[st] = counts.get(st, 0) + 1
    notes.extend(f"{n} {st}" for st, n in sorted(counts.items()))

    qubits = [int(r["n_qubits"]) for r in runs if r.get("n_qubits") is not None]
    qslack = [int(r["qubits_slack"]) for r in runs if r.get("qubits_slack") is not None]
    optima = [_num(r.get("known_optimum")) for r in runs]
    optimum = next((o for o in optima if o is not None), None)
    if optimum is None:
        optimum = next(
            (_num(res.get("optimum")) for res in results if _num(res.get("optimum")) is not None), None
        )

    feasible = [bool(res.get("feasible")) for res in results]
    gaps_finite = [g for res in results if res.get("feasible") and (g := _num(res.get("gap"))) is not None]
    gap_values = [
        math.inf if not res.get("feasible") else g
        for res in results
        if not res.get("feasible") or (g := _num(res.get("gap"))) is not None
    ]
    median_gap = _median(gap_values)
    if median_gap is not None and math.isinf(median_gap):
        median_gap = None
        notes.append("median gap infinite: at least half the seeds ended infeasible")
    p_feas = [p for it in done if (p := final_p_feasible(it)) is not None]

    def _certified(res: Mapping[str, Any]) -> float | None:
        # schema 1 summaries flagged estimates with dual_bound_certified=False
        return None if res.get("dual_bound_certified") is False else _num(res.get("dual_bound"))

    def _estimate(res: Mapping[str, Any]) -> float | None:
        if res.get("dual_bound_certified") is False:
            return _num(res.get("dual_bound"))
        return _num(res.get("dual_estimate"))

    best = min if sense == "max" else max
    certified = [b for res in results if (b := _certified(res)) is not None]
    estimates = [b for res in results if (b := _estimate(res)) is not None]
    dual_bound = best(certified) if certified else None
    dual_estimate = best(estimates) if estimates else None

    iters = [
        float(v) for res in results if (v := _num(res.get("steps", res.get("n_iterations")))) is not None
    ]
    calls = [float(len(it.get("steps") or [])) for it in done]
    walls = [v for res in results if (v := _num(res.get("wall_s"))) is not None]
    samplers = sorted({sampler_label(r.get("sampler")) for r in runs})
    return {
        "instance": instance,
        "method": label,
        "sampler": "; ".join(samplers),
        "n_seeds": len(done),
        "qubits": max(qubits) if qubits else None,
        "qubits_slack": max(qslack) if qslack else None,
        "optimum": optimum,
        "feasible_rate": (sum(feasible) / len(feasible)) if feasible else None,
        "best_gap": min(gaps_finite) if gaps_finite else None,
        "median_gap": median_gap,
        "mean_p_feasible": (sum(p_feas) / len(p_feas)) if p_feas else None,
        "dual_bound": dual_bound,
        "dual_estimate": dual_estimate,
        "median_steps": _median(iters),
        "median_sampler_calls": _median(calls),
        "median_wall_s": _median(walls),
        "status_note": "; ".join(notes),
    }


def compare_rows(
    store: Any,
    *,
    instances: Iterable[str] | None = None,
    methods: Iterable[str] | None = None,
    runs: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per (instance, row label) over seeds; see the module docstring for the columns.

    Parameters
    ----------
    store : Store
        An open store.
    instances, methods, runs : iterable of str, optional
        Filters, as in :func:`collect_runs`.

    Returns
    -------
    list of dict
        Keys as in :data:`COLUMNS`; ordered by instance, then by
        :data:`METHOD_ORDER`.  Values are plain Python (``None`` where
        undefined), so the rows go to JSON and CSV unchanged.
    """
    grouped = collect_runs(store, runs=runs, instances=instances, methods=methods)
    return rows_from_groups(grouped)


def rows_from_groups(
    grouped: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
) -> list[dict[str, Any]]:
    """The comparison rows of runs already grouped by :func:`collect_runs`."""
    return [
        _row(inst, label, items) for inst, by_label in grouped.items() for label, items in by_label.items()
    ]


def qubit_summary(grouped: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]) -> list[dict[str, Any]]:
    """Per instance: slack-free qubits, slack-baseline qubits and the simulator limit if one was recorded.

    Returns
    -------
    list of dict
        ``{"instance", "qubits_slack_free", "qubits_slack", "limit"}``; a
        count is ``None`` when no run recorded it.
    """
    import re

    out = []
    for inst, by_label in grouped.items():
        free: int | None = None
        slack: int | None = None
        limit: int | None = None
        for items in by_label.values():
            for it in items:
                run = it["run"]
                res = run.get("result") or {}
                if run.get("method") != "slack-penalty" and run.get("n_qubits") is not None:
                    free = int(run["n_qubits"])
                elif res.get("qubits_slack_free") is not None and free is None:
                    free = int(res["qubits_slack_free"])
                if run.get("qubits_slack") is not None:
                    slack = int(run["qubits_slack"])
                m = re.search(r"limit (\d+)", str(res.get("message") or ""))
                if m:
                    limit = int(m.group(1))
        out.append({"instance": inst, "qubits_slack_free": free, "qubits_slack": slack, "limit": limit})
    return out


# --------------------------------------------------------------------------- formatting


def format_cell(key: str, value: Any) -> str:
    """The text of one cell, the same in every renderer.

    Undefined values print as ``"-"``.

    Examples
    --------
    >>> format_cell("best_gap", 0.0263157), format_cell("feasible_rate", 0.5)
    ('2.63%', '0.500')
    >>> format_cell("dual_bound", 4134.074), format_cell("dual_estimate", None)
    ('4134.07', '-')
    >>> format_cell("median_gap", None), format_cell("median_steps", 3.0)
    ('-', '3')
    >>> format_cell("qubits_slack", 35), format_cell("qubits_slack", 2**70 + 3)
    ('35', 'about 2^70.0')
    """
    if value is None:
        return "-"
    if key in ("best_gap", "median_gap"):
        return f"{100.0 * float(value):.2f}%"
    if key in ("feasible_rate", "mean_p_feasible"):
        return f"{float(value):.3f}"
    if key in ("median_wall_s",):
        return f"{float(value):.3g}"
    if key in ("optimum", "dual_bound", "dual_estimate", "median_steps", "median_sampler_calls"):
        return f"{float(value):.6g}"
    if key in ("qubits", "qubits_slack"):
        return format_count(int(value))
    return str(value)


def _cells(row: Mapping[str, Any]) -> list[str]:
    return [format_cell(k, row.get(k)) for k in SHOWN]


def headers() -> list[str]:
    """The headers of the shown columns, in order."""
    return [_HEADERS[k] for k in SHOWN]


def rich_table(rows: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Any:
    """A :class:`rich.table.Table` of the rows (numbers right-aligned).

    Examples
    --------
    >>> t = rich_table([])
    >>> len(t.columns) == len(SHOWN)
    True
    """
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=None if title is None else escape(title), show_lines=False)
    for key in SHOWN:
        typ = _TYPES[key]
        justify = "right" if typ in (int, float) else "left"
        table.add_column(escape(_HEADERS[key]), justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*(escape(c) for c in _cells(row)))
    return table


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A GitHub-flavoured Markdown table of the rows.

    Examples
    --------
    >>> print(markdown_table([]).splitlines()[0][:31])
    | instance | method | sampler |
    """
    head = headers()
    align = ["---:" if _TYPES[k] in (int, float) else "---" for k in SHOWN]
    lines = [
        "| " + " | ".join(_md_escape(h) for h in head) + " |",
        "| " + " | ".join(align) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_md_escape(c) for c in _cells(row)) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CSV / JSON


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _parse(key: str, text: str) -> Any:
    typ = _TYPES.get(key, str)
    if typ is str:
        return text
    if text == "":
        return None
    if typ is bool:
        return text.lower() in ("true", "1", "yes")
    if typ is int:
        return int(text)
    return float(text)


def to_csv(rows: Sequence[Mapping[str, Any]], path_or_file: str | Path | IO[str]) -> None:
    """Write the rows as CSV (every column of :data:`COLUMNS`; empty cell for ``None``).

    Floats are written with ``repr`` so :func:`from_csv` reads back the very same numbers.

    Examples
    --------
    >>> import io
    >>> buf = io.StringIO()
    >>> to_csv([{"instance": "a", "method": "bundle", "best_gap": 0.1}], buf)
    >>> from_csv(io.StringIO(buf.getvalue()))[0]["best_gap"]
    0.1
    """
    keys = [k for k, *_ in COLUMNS]

    def _write(fh: IO[str]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(keys)
        for row in rows:
            w.writerow([_csv_value(row.get(k)) for k in keys])

    if isinstance(path_or_file, str | Path):
        try:
            with open(path_or_file, "w", newline="", encoding="utf-8") as fh:
                _write(fh)
        except OSError as exc:
            raise ValidationError(
                f"cannot write CSV file {path_or_file}: {(exc.strerror or type(exc).__name__).lower()}"
            ) from None
    else:
        _write(path_or_file)


def from_csv(path_or_file: str | Path | IO[str]) -> list[dict[str, Any]]:
    """Read rows written by :func:`to_csv` back, with their types."""
    if isinstance(path_or_file, str | Path):
        with open(path_or_file, newline="", encoding="utf-8") as fh:
            return from_csv(fh)
    return [{k: _parse(k, v) for k, v in rec.items()} for rec in csv.DictReader(path_or_file)]


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a JSON array (strict JSON: undefined values are ``null``).

    Examples
    --------
    >>> from_json(to_json([{"instance": "a", "median_gap": None}]))
    [{'instance': 'a', 'median_gap': None}]
    """
    clean = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in rows
    ]
    return json.dumps(clean, indent=2, allow_nan=False)


def from_json(text: str) -> list[dict[str, Any]]:
    """Rows from :func:`to_json`'s output."""
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValidationError("expected a JSON array of comparison rows")
    return [dict(r) for r in data]
