"""Reports read from the store only: comparison tables, plots, and an HTML/Markdown report.

Importing this package is light: matplotlib is imported inside the plotting
functions, rich inside :func:`rich_table`.

Examples
--------
Two runs in a fresh store, their comparison row, and the report written from them:

>>> import tempfile
>>> from pathlib import Path
>>> from qslack.report import compare_rows, write_report
>>> from qslack.runs import SolveConfig
>>> from qslack.runs.stored import solve
>>> from qslack.store.db import Store
>>> tmp = Path(tempfile.mkdtemp())
>>> with Store(tmp / "qslack.db") as store:
...     for seed in (0, 1):
...         _ = solve(SolveConfig("mknap1#1", method="bundle", sampler="exact",
...                               iters=2, seed=seed, reference_time_limit=5), store)
...     rows = compare_rows(store)
...     html_path, md_path = write_report(store, tmp / "report.html")
>>> [(r["instance"], r["method"], r["n_seeds"], r["optimum"], r["feasible_rate"]) for r in rows]
[('mknap1#1', 'bundle', 2, 3800.0, 1.0)]
>>> "mknap1#1" in md_path.read_text() and html_path.stat().st_size > 10_000
True
"""

from __future__ import annotations

from qslack.report.html import write_report
from qslack.report.tables import (
    compare_rows,
    format_cell,
    from_csv,
    from_json,
    markdown_table,
    rich_table,
    row_label,
    to_csv,
    to_json,
)

__all__ = [
    "compare_rows",
    "format_cell",
    "from_csv",
    "from_json",
    "markdown_table",
    "rich_table",
    "row_label",
    "to_csv",
    "to_json",
    "write_report",
]
