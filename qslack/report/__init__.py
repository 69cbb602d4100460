"""Reports read from the store only: comparison tables, plots, and an HTML/Markdown report.

Importing this package is light: matplotlib is imported inside the plotting
functions, rich inside :func:`rich_table`.

Examples
--------
>>> from qslack.report import compare_rows, write_report
>>> callable(compare_rows) and callable(write_report)
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
