"""Plots of stored runs, returned as PNG bytes (matplotlib, Agg; no pyplot state).

Every function takes runs grouped as :func:`qslack.report.tables.collect_runs`
returns them for one instance (``{label: [{"run": run, "steps": [record,
...]}, ...]}``) and returns the PNG file's bytes.  Values are in the
problem's native sense.  A group without stored steps (a does-not-fit run)
is skipped; a plot with nothing to show still returns a PNG that says so.

Examples
--------
>>> png = plot_qubits([{"instance": "a", "qubits_slack_free": 6, "qubits_slack": 62, "limit": 24}])
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from qslack._sizes import format_count
from qslack.report.tables import METHOD_ORDER, finished_runs, run_sense

__all__ = [
    "DPI",
    "FIGSIZE",
    "instance_plots",
    "method_color",
    "plot_feasibility",
    "plot_gaps",
    "plot_multipliers",
    "plot_p_optimal",
    "plot_primal_dual",
    "plot_qubits",
]

FIGSIZE = (7.0, 4.0)
DPI = 110
_MAX_LAM_LINES = 6  # more rows than this: the norm plus the largest few
_FEW_LAM = 4

Groups = Mapping[str, Sequence[Mapping[str, Any]]]

_PALETTE = (
    "#1f77b4",  # subgradient
    "#ff7f0e",  # cutting-plane
    "#2ca02c",  # bundle
    "#d62728",  # augmented-lagrangian
    "#9467bd",  # fixed-penalty
    "#8c564b",  # slack-penalty
    "#7f7f7f",  # random
)
_EXTRA = ("#e377c2", "#bcbd22", "#17becf")


def method_color(label: str) -> str:
    """The colour of a row label, the same in every plot.

    Examples
    --------
    >>> method_color("bundle")
    '#2ca02c'
    """
    if label in METHOD_ORDER:
        return _PALETTE[METHOD_ORDER.index(label)]
    return _EXTRA[sum(map(ord, label)) % len(_EXTRA)]


# --------------------------------------------------------------------------- helpers


def _figure(figsize: tuple[float, float] = FIGSIZE) -> Any:
    # a bare Figure drawn on an Agg canvas: no pyplot, no global backend switch
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=DPI, layout="constrained")


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _with_steps(groups: Groups) -> dict[str, list[Mapping[str, Any]]]:
    """Per label, the finished (else any) runs that have stored steps."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for label, items in groups.items():
        done = [it for it in finished_runs(items) if it.get("steps")]
        if not done:
            done = [it for it in items if it.get("steps")]
        if done:
            out[label] = done
    return out


def _first(items: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The run of the smallest seed (items come sorted by seed)."""
    return items[0]


def _series(records: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for i, rec in enumerate(records):
        v = rec.get(key)
        xs.append(int(rec.get("step", i)))
        ys.append(float("nan") if v is None else float(v))
    return xs, ys


def _mean_series(items: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Per step, the mean of ``key`` over the runs that reached that step and recorded it."""
    acc: dict[int, list[float]] = {}
    for it in items:
        for i, rec in enumerate(it["steps"]):
            v = rec.get(key)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                acc.setdefault(int(rec.get("step", i)), []).append(float(v))
    steps = sorted(acc)
    return steps, [sum(acc[s]) / len(acc[s]) for s in steps]


def _optimum(groups: Groups) -> float | None:
    for items in groups.values():
        for it in items:
            run = it["run"]
            for v in (run.get("known_optimum"), (run.get("result") or {}).get("optimum")):
                if isinstance(v, int | float) and not isinstance(v, bool):
                    return float(v)
    return None


def _sense(groups: Groups) -> str:
    for items in groups.values():
        for it in items:
            return run_sense(it["run"])
    return "min"


def _seed(item: Mapping[str, Any]) -> str:
    return str(item["run"].get("seed"))


def _int_xaxis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    x0, x1 = ax.dataLim.intervalx
    if math.isfinite(x0) and x0 == x1:  # a single step: centre it instead of a +-0.05 axis
        ax.set_xlim(x0 - 0.5, x1 + 0.5)
        ax.set_xticks([x0])


# --------------------------------------------------------------------------- per instance


def plot_multipliers(groups: Groups, *, instance: str = "") -> bytes:
    """Multipliers per outer step, one panel per method (the run of its first seed).

    With up to six constraints every ``lam_k`` is drawn; with more, the
    Euclidean norm ``||lam||`` (black) and the four rows largest at the end.
    """
    data = _with_steps(groups)
    labels = list(data)
    n = max(len(labels), 1)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    fig = _figure((FIGSIZE[0], max(FIGSIZE[1], 2.3 * nrows + 0.6)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.suptitle(f"{instance}: multipliers λ per outer step")
    flat = [ax for row in axes for ax in row]
    if not labels:
        _empty(flat[0], "no stored steps")
    for ax, label in zip(flat, labels, strict=False):
        item = _first(data[label])
        recs = [r for r in item["steps"] if r.get("lam") is not None]
        if not recs:
            _empty(ax, f"{label}: no multipliers stored")
            continue
        steps = [int(r.get("step", i)) for i, r in enumerate(recs)]
        m = max(len(r["lam"]) for r in recs)
        lam = [[float(r["lam"][k]) if k < len(r["lam"]) else float("nan") for r in recs] for k in range(m)]
        if m <= _MAX_LAM_LINES:
            rows = list(range(m))
        else:
            last = [abs(v[-1]) if not math.isnan(v[-1]) else 0.0 for v in lam]
            rows = sorted(sorted(range(m), key=lambda k: -last[k])[:_FEW_LAM])
            norm = [math.sqrt(sum(v[t] ** 2 for v in lam if not math.isnan(v[t]))) for t in range(len(recs))]
            ax.plot(steps, norm, color="black", lw=2, marker="o", ms=3, label="‖λ‖₂")
        for k in rows:
            ax.plot(steps, lam[k], lw=1.2, marker=".", ms=4, label=f"λ{k}")
        title = f"{label} (seed {_seed(item)})"
        if m > _MAX_LAM_LINES:
            title += f", {m} rows: norm + {len(rows)} largest"
        ax.set_title(title, fontsize=9, color=method_color(label))
        ax.set_xlabel("outer step", fontsize=8)
        ax.set_ylabel("λ", fontsize=8)
        ax.tick_params(labelsize=7)
        _int_xaxis(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2, loc="best")
    for ax in flat[max(len(labels), 1) :]:
        ax.set_visible(False)
    return _png(fig)


def plot_primal_dual(groups: Groups, *, instance: str = "") -> bytes:
    """Best feasible objective and dual value per outer step (first seed of each method).

    Solid: best raw feasible objective so far; dashed: the step's dual value
    (an estimate unless the run's bound is certified).  Black dashed line:
    the known optimum; grey dotted line: the certified bound of the runs.
    """
    data = _with_steps(groups)
    sense = _sense(groups)
    optimum = _optimum(groups)
    fig = _figure()
    ax = fig.subplots()
    ax.set_title(f"{instance}: best objective and dual value per step")
    finite: list[float] = []
    duals: list[float] = []
    for label, items in data.items():
        item = _first(items)
        color = method_color(label)
        xs, best = _series(item["steps"], "best_objective")
        ax.plot(xs, best, color=color, lw=1.8, marker="o", ms=3, label=f"{label}: best (seed {_seed(item)})")
        finite += [v for v in best if not math.isnan(v)]
        xs, dual = _series(item["steps"], "dual_value")
        ax.plot(xs, dual, color=color, lw=1.0, ls="--", marker="x", ms=4, alpha=0.8, label=f"{label}: dual")
        duals += [v for v in dual if not math.isnan(v)]
    if optimum is not None:
        ax.axhline(optimum, color="black", ls="--", lw=1, label=f"known optimum {optimum:g}")
        finite.append(optimum)
    bounds = set()
    for items in data.values():
        for it in finished_runs(items):
            res = it["run"].get("result") or {}
            bound = res.get("dual_bound")  # schema 1 flagged estimates with dual_bound_certified=False
            if res.get("dual_bound_certified") is not False and isinstance(bound, int | float):
                bounds.add(float(bound))
    if bounds:
        b = min(bounds) if sense == "max" else max(bounds)
        ax.axhline(b, color="0.5", ls=":", lw=1.5, label=f"certified bound {b:.6g}")
        finite.append(b)
    if not data:
        _empty(ax, "no stored steps")
    elif finite:
        lo, hi = min(finite), max(finite)
        span = max(hi - lo, 0.02 * max(abs(hi), abs(lo), 1.0))
        allv = finite + duals
        if min(allv) < lo - 3 * span or max(allv) > hi + 3 * span:
            ax.set_ylim(lo - 3 * span, hi + 3 * span)
            ax.text(0.01, 0.01, "some dual values off-scale", transform=ax.transAxes, fontsize=7, color="0.4")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel("outer step")
    ax.set_ylabel(f"objective (native sense, {'maximise' if sense == 'max' else 'minimise'})")
    _int_xaxis(ax)
    ax.grid(alpha=0.3)
    if data:
        ax.legend(fontsize=6, ncol=2, loc="best")
    return _png(fig)


def _same(xs: list[int], ys: list[float], xs2: list[int], ys2: list[float]) -> bool:
    return xs == xs2 and all(abs(a - b) <= 1e-9 for a, b in zip(ys, ys2, strict=True))


def _mean_plot(
    groups: Groups, instance: str, keys: Sequence[tuple[str, str, str]], title: str, ylabel: str
) -> bytes:
    data = _with_steps(groups)
    fig = _figure()
    ax = fig.subplots()
    ax.set_title(f"{instance}: {title}")
    drawn = False
    for label, items in data.items():
        color = method_color(label)
        shown: list[tuple[list[int], list[float]]] = []
        for key, style, what in keys:
            xs, ys = _mean_series(items, key)
            if not xs or any(_same(xs, ys, *prev) for prev in shown):
                continue  # nothing, or the very curve already drawn (e.g. share == probability)
            shown.append((xs, ys))
            ax.plot(
                xs,
                ys,
                color=color,
                ls=style,
                lw=1.6 if style == "-" else 1.0,
                marker=".",
                ms=4,
                label=f"{label}: {what} (mean of {len(items)})",
            )
            drawn = True
    if not drawn:
        _empty(ax, "nothing recorded")
    else:
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("outer step")
        ax.set_ylabel(ylabel)
        _int_xaxis(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2, loc="best")
    return _png(fig)


def plot_feasibility(groups: Groups, *, instance: str = "") -> bytes:
    """Feasible probability (solid) and feasible share of the samples (dotted) per step, mean over seeds.

    The dotted curve is left out where it equals the solid one (shot-based
    samplers estimate the probability by the share).
    """
    return _mean_plot(
        groups,
        instance,
        [("p_feasible", "-", "P(feasible)"), ("feasible_share", ":", "feasible share")],
        "feasible probability per step",
        "probability / share of samples",
    )


def plot_p_optimal(groups: Groups, *, instance: str = "") -> bytes:
    """Probability of sampling an optimal solution per step, mean over seeds."""
    return _mean_plot(
        groups,
        instance,
        [("p_optimal", "-", "P(optimal)")],
        "optimal-solution probability per step",
        "probability",
    )


def plot_gaps(groups: Groups, *, instance: str = "") -> bytes:
    """Final raw gap of every seed, per method: jittered points and the median (black bar).

    Gaps are in percent, ``>= 0`` worse than the optimum.  Infeasible seeds
    are drawn as red crosses on the "infeasible" line at the top; the median
    counts them as ``+inf`` (a median on that line is infinite).
    """
    import numpy as np

    fig = _figure()
    ax = fig.subplots()
    ax.set_title(f"{instance}: final gap by method (each point one seed)")
    per: list[tuple[str, list[float], int]] = []
    for label, items in groups.items():
        done = finished_runs(items)
        if not done:
            continue
        gaps, infeasible = [], 0
        for it in done:
            res = it["run"]["result"]
            if not res.get("feasible"):
                infeasible += 1
            elif isinstance(res.get("gap"), int | float):
                gaps.append(100.0 * float(res["gap"]))
        if gaps or infeasible:
            per.append((label, gaps, infeasible))
    if not per:
        _empty(ax, "no finished run with a known optimum")
        return _png(fig)
    top = max([g for _, gs, _ in per for g in gs] + [0.0])
    y_inf = top * 1.25 if top > 0 else 1.0
    rng = np.random.default_rng(0)
    any_inf = False
    for i, (label, gaps, n_inf) in enumerate(per):
        color = method_color(label)
        if gaps:
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(gaps)), gaps, color=color, s=22, alpha=0.8, zorder=3)
        if n_inf:
            any_inf = True
            ax.scatter(
                i + rng.uniform(-0.15, 0.15, n_inf), [y_inf] * n_inf, color="red", marker="x", s=30, zorder=3
            )
        med = statistics.median(gaps + [math.inf] * n_inf)
        if math.isinf(med):
            ax.scatter([i], [y_inf], marker="_", s=600, color="black", lw=2, zorder=2)
        else:
            ax.scatter([i], [med], marker="_", s=600, color="black", lw=2, zorder=2)
    if any_inf:
        ax.axhline(y_inf, color="red", ls=":", lw=0.8)
        ax.text(len(per) - 0.5, y_inf, "infeasible", color="red", fontsize=7, ha="right", va="bottom")
    ax.scatter([], [], marker="_", s=200, color="black", lw=2, label="median over seeds")
    ax.set_xticks(range(len(per)), [p[0] for p in per], fontsize=8)
    ax.set_xlim(-0.6, len(per) - 0.4)
    ax.set_ylim(min(-0.05 * y_inf, -0.05), y_inf * 1.12)
    ax.set_xlabel("method")
    ax.set_ylabel("gap to optimum [%] (0 = optimal)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


# --------------------------------------------------------------------------- across instances


def plot_qubits(summary: Sequence[Mapping[str, Any]]) -> bytes:
    """Qubits of the slack-free QUBO vs the slack baseline, per instance (grouped bars).

    ``summary`` is :func:`qslack.report.tables.qubit_summary`'s output; a
    recorded simulator limit is drawn as a dashed line.
    """
    fig = _figure()
    ax = fig.subplots()
    ax.set_title("qubits: slack-free Lagrangian vs slack baseline")
    if not summary:
        _empty(ax, "no runs")
        return _png(fig)
    names = [str(s["instance"]) for s in summary]
    x = list(range(len(names)))
    w = 0.38
    counts = [
        int(v) for s in summary for v in (s.get("qubits_slack_free"), s.get("qubits_slack")) if v is not None
    ]
    # counted slack baselines reach 2**70 and more: a log axis, bars capped where floats end
    log = bool(counts) and max(counts) > 1000 * max(1, min(counts))
    for off, key, label, color in (
        (-w / 2, "qubits_slack_free", "slack-free", "#2ca02c"),
        (w / 2, "qubits_slack", "with slack", "#8c564b"),
    ):
        vals = [None if s.get(key) is None else int(s[key]) for s in summary]
        heights = [0.0 if v is None else float(min(v, 10**100)) for v in vals]
        bars = ax.bar([i + off for i in x], heights, w, label=label, color=color)
        for bar, v in zip(bars, vals, strict=True):
            ax.annotate(
                "n/a" if v is None else format_count(v),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    limits = {s["limit"] for s in summary if s.get("limit") is not None}
    for lim in sorted(limits):
        ax.axhline(lim, color="red", ls="--", lw=1, label=f"simulation limit {lim}")
    ax.set_xticks(
        x, names, rotation=20 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center", fontsize=8
    )
    ax.set_ylabel("qubits" + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("instance")
    ax.margins(y=0.12)
    if log:
        ax.set_ylim(bottom=1)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    return _png(fig)


def instance_plots(groups: Groups, *, instance: str = "") -> list[tuple[str, str, bytes]]:
    """The five per-instance plots as ``(key, caption, png)``."""
    return [
        (
            "multipliers",
            "Multipliers λ per outer step (first seed of each method).",
            plot_multipliers(groups, instance=instance),
        ),
        (
            "primal_dual",
            "Best feasible objective (solid) and dual value (dashed) per step, first seed of "
            "each method; known optimum and certified bound as horizontal lines.",
            plot_primal_dual(groups, instance=instance),
        ),
        (
            "feasibility",
            "Feasible probability (solid) and feasible share of the samples (dotted, where it "
            "differs) per step, mean over seeds.",
            plot_feasibility(groups, instance=instance),
        ),
        (
            "p_optimal",
            "Probability of an optimal solution per step, mean over seeds.",
            plot_p_optimal(groups, instance=instance),
        ),
        (
            "gaps",
            "Final raw gap of each seed by method; black bar: median (infeasible seeds count as +inf).",
            plot_gaps(groups, instance=instance),
        ),
    ]
