"""Solution files: a TSPLIB ``.tour`` for tours, else the names of the chosen variables.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from qslack.problems.catalog import build_program, load_instance
>>> loaded = load_instance("mknap1#1")
>>> prog = build_program(loaded)
>>> path = Path(tempfile.mkdtemp()) / "best.sol"
>>> write_solution(path, loaded, prog, np.array([1, 0, 0, 0, 0, 1]))
>>> path.read_text().split()
['item_0', 'item_5']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qslack.exceptions import QslackError
from qslack.model.program import BinaryProgram

__all__ = ["write_solution"]


def write_solution(path: str | Path, loaded: Any, program: BinaryProgram, x: np.ndarray) -> None:
    """Write ``x``: a ``.tour`` (TSPLIB) for a TSP and a ``.tour`` path, else one chosen name per line."""
    from qslack.problems import decode

    path = Path(path)
    try:
        if loaded.problem == "tsp" and path.suffix == ".tour":
            from qslack.formats.tsplib import write_tour

            write_tour(path, decode(program, x, "tsp"), name=loaded.name, comment="qslack solve")
        else:
            names = [v for v, b in zip(program.var_names, np.asarray(x), strict=True) if b]
            path.write_text("\n".join(names) + "\n")
    except OSError as exc:
        raise QslackError(f"cannot write the solution to {path}: {exc.strerror or exc}") from exc
