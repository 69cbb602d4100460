"""A self-contained HTML report of a store, and its Markdown twin.

:func:`write_report` reads the store only.  The HTML file carries its images
as base64 ``data:`` URIs and a few lines of inline CSS, so it can be mailed or
archived as one file.  The Markdown twin holds the same tables and links the
same images, written as PNG files into the folder ``<stem>_files/`` next to
it.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from qslack.store.db import Store
>>> tmp = Path(tempfile.mkdtemp())
>>> with Store(tmp / "qslack.db") as store:
...     html_path, md_path = write_report(store, tmp / "report.html")
>>> html_path.name, md_path.name, "qslack report" in html_path.read_text()
('report.html', 'report.md', True)
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qslack._paths import check_writable, display_path, safe_filename
from qslack.exceptions import ValidationError
from qslack.report.tables import (
    COLUMNS,
    SHOWN,
    collect_runs,
    format_cell,
    headers,
    markdown_table,
    qubit_summary,
    rows_from_groups,
)

__all__ = ["HOW_TO_READ", "write_report"]

HOW_TO_READ = (
    "Each table row gathers the runs of one method on one instance over seeds; the row 'random' "
    "is the uniform-random sampler, the baseline any quantum sampler must beat.",
    "Objective values, bounds and gaps are in the problem's native sense; a gap >= 0 is worse than "
    "the known optimum.  The median gap counts an infeasible seed as +inf and shows '-' when that "
    "median is infinite.",
    "On inequality rows with rho > 0 the multiplier updates are feedback rules (raise lam while the "
    "best sample violates, lower it while it has slack), judged by their primal results - feasible "
    "probability and gap - not by a dual guarantee; dual values of such runs are estimates.",
    "Bounds marked 'certified' come from an exact oracle (where the rho-terms vanish on every "
    "feasible point) or from the LP relaxation; bounds marked 'est.' are estimates, not proofs.",
    "'qubits' is the qubit count of the row's QUBO (slack-free for the Lagrangian methods); "
    "'qubits (slack)' is what the slack-variable baseline needs.  A slack run too large to simulate "
    "is reported as 'does not fit'.",
)

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1200px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta th { width: 10em; }
.note { background: #f8f8f0; border-left: 4px solid #cc9; padding: 0.5em 1em; font-size: 0.9em; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; max-width: 780px; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.8em; color: #555; }
.small { font-size: 0.85em; color: #555; }
"""

_NUMERIC = {key for key, _h, typ, _d in COLUMNS if typ in (int, float)}


def _slug(text: str) -> str:
    """An instance name as part of a file name (image files) and an HTML anchor."""
    return safe_filename(text, default="instance")


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _md(text: Any) -> str:
    """Markdown-escape inline text."""
    return re.sub(r"([\\`*_{}\[\]<>|#])", r"\\\1", str(text))


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers())
    body = []
    for row in rows:
        cells = []
        for key in SHOWN:
            text = format_cell(key, row.get(key))
            cls = ' class="num"' if key in _NUMERIC else ""
            cells.append(f"<td{cls}>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="cmp"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _instance_facts(by_label: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """(label, text) pairs describing an instance, from its first run."""
    run = next(it["run"] for items in by_label.values() for it in items)
    inst = run.get("instance") or {}
    facts = []
    if inst.get("problem"):
        facts.append(("problem", str(inst["problem"])))
    if inst.get("source"):
        facts.append(("source", display_path(str(inst["source"]))))
    opt = run.get("known_optimum")
    ref = run.get("reference") or {}
    if opt is not None:
        src = inst.get("optimum_source") or ref.get("optimum_source")
        facts.append(("known optimum", f"{opt:g}" + (f" ({src})" if src else "")))
    if ref.get("error"):
        facts.append(("OR-Tools reference", f"failed: {ref['error']}"))
    elif ref.get("objective") is not None:
        status = "optimal" if ref.get("optimal") else f"bound {ref.get('bound')}"
        wall = ref.get("wall_s")
        text = f"{ref['objective']:g} ({status}; {ref.get('solver', '?')}"
        text += f", {wall:.3g} s)" if isinstance(wall, int | float) else ")"
        facts.append(("OR-Tools reference", text))
    return facts


def _has_steps(by_label: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    return any(it.get("steps") for items in by_label.values() for it in items)


def write_report(
    store: Any,
    out_path: str | Path,
    *,
    runs: Iterable[str] | None = None,
    instances: Iterable[str] | None = None,
) -> tuple[Path, Path]:
    """Write the HTML report and its Markdown twin.

    Parameters
    ----------
    store : Store or str or Path
        An open :class:`~qslack.store.db.Store`, or the path of one (opened
        and closed here).
    out_path : str or Path
        The HTML file (``.html`` is appended when it has another suffix).
        The Markdown twin is written next to it with suffix ``.md``, its
        images into ``<stem>_files/`` (PNG files left there by an earlier
        report of the same name are removed).
    runs : iterable of str, optional
        Run ids (or unique prefixes) to report; every run when omitted.
    instances : iterable of str, optional
        Instance names (or the specs they were loaded from) to report.

    Returns
    -------
    (Path, Path)
        The HTML and Markdown paths.

    Notes
    -----
    Per instance: a heading, what is known of the instance (optimum,
    OR-Tools reference), the comparison table of
    :func:`qslack.report.tables.compare_rows` and five plots (multipliers,
    best objective and dual value, feasible probability, optimal
    probability, final gaps).  An instance whose runs stored no steps (a
    slack baseline that does not fit) gets its table only.  One plot across
    instances compares qubit counts.
    """
    from qslack import __version__
    from qslack.report import plots

    if isinstance(store, str | Path):
        from qslack.store.db import Store

        with Store(store) as opened:
            return write_report(opened, out_path, runs=runs, instances=instances)

    out = Path(out_path)
    html_path = out if out.suffix.lower() in (".html", ".htm") else out.with_name(out.name + ".html")
    md_path = html_path.with_suffix(".md")
    files_dir = html_path.with_name(html_path.stem + "_files")
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot write report {html_path}: {_reason(exc)}") from None
    check_writable(html_path, "report")
    check_writable(md_path, "report (Markdown twin)")

    grouped = collect_runs(store, runs=runs, instances=instances)
    all_items = [it for by_label in grouped.values() for items in by_label.values() for it in items]
    status_counts: dict[str, int] = {}
    for it in all_items:
        st = str(it["run"].get("status"))
        status_counts[st] = status_counts.get(st, 0) + 1
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    store_path = display_path(str(getattr(store, "path", store)))
    runs_text = f"{len(all_items)}" + (
        " (" + ", ".join(f"{n} {st}" for st, n in sorted(status_counts.items())) + ")"
        if status_counts
        else ""
    )
    meta = [
        ("report date", now),
        ("store", store_path),
        ("qslack version", __version__),
        ("runs", runs_text),
        ("instances", str(len(grouped))),
    ]

    # images: (file name, caption, png)
    images: dict[str, list[tuple[str, str, bytes]]] = {}
    qubit_img: tuple[str, str, bytes] | None = None
    if grouped:
        qubit_img = (
            "00_qubits.png",
            "Qubits of the slack-free QUBO and of the slack baseline, per instance.",
            plots.plot_qubits(qubit_summary(grouped)),
        )
    for i, (inst, by_label) in enumerate(grouped.items(), start=1):
        if not _has_steps(by_label):
            images[inst] = []
            continue
        images[inst] = [
            (f"{i:02d}_{_slug(inst)}_{key}.png", caption, png)
            for key, caption, png in plots.instance_plots(by_label, instance=inst)
        ]

    # ------------------------------------------------------------------ HTML
    def _img_html(name: str, caption: str, png: bytes) -> str:
        data = base64.b64encode(png).decode("ascii")
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(caption)}" '
            f'title="{_esc(name)}"><figcaption>{_esc(caption)}</figcaption></figure>'
        )

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc('qslack report - ' + now)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>qslack report</h1>",
        '<table class="meta">'
        + "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in meta)
        + "</table>",
        '<h2>How to read</h2><div class="note"><ul>'
        + "".join(f"<li>{_esc(t)}</li>" for t in HOW_TO_READ)
        + "</ul></div>",
    ]
    if not grouped:
        parts.append("<p>No runs in the store match.</p>")
    if qubit_img is not None:
        parts.append("<h2>Qubits</h2>" + _img_html(*qubit_img))
    rows_by_inst = {inst: rows_from_groups({inst: by_label}) for inst, by_label in grouped.items()}
    for inst, by_label in grouped.items():
        parts.append(f'<h2 id="{_esc(_slug(inst))}">{_esc(inst)}</h2>')
        facts = _instance_facts(by_label)
        if facts:
            parts.append(
                '<p class="small">' + "; ".join(f"<b>{_esc(k)}</b>: {_esc(v)}" for k, v in facts) + "</p>"
            )
        parts.append(_html_table(rows_by_inst[inst]))
        if images[inst]:
            parts.extend(_img_html(*img) for img in images[inst])
        else:
            parts.append('<p class="small">No stored steps for this instance: no plots.</p>')
    parts.append(
        "<h2>Columns</h2><table><tbody>"
        + "".join(
            f"<tr><th>{_esc(head)}</th><td>{_esc(desc)}</td></tr>"
            for key, head, _t, desc in COLUMNS
            if key in SHOWN
        )
        + "</tbody></table>"
    )
    parts.append("</body></html>")
    _write_text(html_path, "\n".join(parts) + "\n")

    # ------------------------------------------------------------------ Markdown
    try:
        files_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot write the report's image folder {files_dir}: {_reason(exc)}") from None
    written = set()
    for name, _caption, png in ([qubit_img] if qubit_img else []) + [
        img for imgs in images.values() for img in imgs
    ]:
        try:
            (files_dir / name).write_bytes(png)
        except OSError as exc:
            raise ValidationError(f"cannot write report image {files_dir / name}: {_reason(exc)}") from None
        written.add(name)
    for stale in files_dir.glob("*.png"):
        if stale.name not in written:
            stale.unlink()
    rel = files_dir.name

    def _img_md(name: str, caption: str, _png: bytes) -> str:
        return f"![{_md(caption)}]({rel}/{name})\n\n*{_md(caption)}*\n"

    md = ["# qslack report", ""]
    md += [f"- **{k}**: {_md(v)}" for k, v in meta]
    md += ["", "## How to read", ""]
    md += [f"- {_md(t)}" for t in HOW_TO_READ]
    md.append("")
    if not grouped:
        md += ["No runs in the store match.", ""]
    if qubit_img is not None:
        md += ["## Qubits", "", _img_md(*qubit_img)]
    for inst, by_label in grouped.items():
        md += [f"## {_md(inst)}", ""]
        facts = _instance_facts(by_label)
        if facts:
            md += ["; ".join(f"**{k}**: {_md(v)}" for k, v in facts), ""]
        md.append(markdown_table(rows_by_inst[inst]))
        if images[inst]:
            md += [_img_md(*img) for img in images[inst]]
        else:
            md += ["No stored steps for this instance: no plots.", ""]
    md += ["## Columns", ""]
    md += [f"- **{_md(head)}**: {_md(desc)}" for key, head, _t, desc in COLUMNS if key in SHOWN]
    _write_text(md_path, "\n".join(md) + "\n")
    return html_path, md_path


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot write report {path}: {_reason(exc)}") from None
