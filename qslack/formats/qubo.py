"""QUBO files: JSON, and a sparse ``.qs`` triplet layout, so other solvers can take our QUBOs.

``.qs`` layout written here (QOBLIB-style sparse QUBO): ``#`` comment lines
(the first ones carry ``# offset = ...`` and the variable names), then a line
``n nnz``, then ``i j q_ij`` lines, 1-based, ``i <= j``, upper triangle with
the linear terms on the diagonal; minimise ``x'Qx + offset``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qslack.exceptions import ParseError, ValidationError
from qslack.model.qubo import QUBO

__all__ = ["read_qubo", "write_qubo"]


def write_qubo(path: str | Path, qubo: QUBO, *, comment: str = "") -> None:
    """Write ``qubo`` as JSON (``.json``) or sparse triplets (any other suffix, e.g. ``.qs``).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "q.qs"
    >>> write_qubo(f, QUBO(np.array([[1.0, -2.0], [0.0, 3.0]]), offset=0.5))
    >>> read_qubo(f).energies(np.array([[1, 1]])).tolist()
    [2.5]
    """
    path = Path(path)
    Q = qubo.dense()
    iu, ju = np.nonzero(np.triu(Q))
    if path.suffix.lower() == ".json":
        obj = {
            "format": "qslack-qubo/1",
            "comment": comment,
            "sense": "minimize",
            "n_vars": qubo.n_vars,
            "var_names": list(qubo.var_names),
            "offset": qubo.offset,
            "terms": [[int(i), int(j), float(Q[i, j])] for i, j in zip(iu, ju, strict=True)],
            "info": {k: v for k, v in qubo.info.items() if isinstance(v, (int, float, str, list))},
        }
        _write(path, json.dumps(obj, indent=1) + "\n")
        return
    lines = []
    if comment:
        lines += [f"# {ln}" for ln in comment.splitlines()]
    lines.append(f"# offset = {float(qubo.offset)!r}")
    lines.append("# vars = " + " ".join(qubo.var_names))
    lines.append(f"{qubo.n_vars} {len(iu)}")
    lines += [f"{i + 1} {j + 1} {float(Q[i, j])!r}" for i, j in zip(iu, ju, strict=True)]
    _write(path, "\n".join(lines) + "\n")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ValidationError(f"cannot write QUBO file {path}: {reason}") from None


def read_qubo(path: str | Path) -> QUBO:
    """Read a QUBO written by :func:`write_qubo`."""
    path = Path(path)
    try:
        text = path.read_text()
    except IsADirectoryError:
        raise ParseError("is a directory, not a file", path=path) from None
    except FileNotFoundError:
        raise ParseError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParseError(f"cannot read ({exc})", path=path) from None
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
            n = int(obj["n_vars"])
            Q = np.zeros((n, n))
            for i, j, v in obj["terms"]:
                Q[i, j] += v
            return QUBO(Q, float(obj.get("offset", 0.0)), tuple(obj.get("var_names") or ()))
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ParseError(f"not a qslack QUBO JSON file ({exc})", path=path) from None
    offset, names, header, Q, seen = 0.0, (), None, None, 0
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            body = line[1:].strip()
            if body.startswith("offset ="):
                offset = float(body.split("=", 1)[1])
            elif body.startswith("vars ="):
                names = tuple(body.split("=", 1)[1].split())
            continue
        toks = line.split()
        try:
            if header is None:
                header = (int(toks[0]), int(toks[1]))
                Q = np.zeros((header[0], header[0]))
                continue
            i, j, v = int(toks[0]) - 1, int(toks[1]) - 1, float(toks[2])
        except (ValueError, IndexError):
            raise ParseError(
                "expected integers 'n nnz' or a triplet 'i j q'", path=path, line=no, token=line
            ) from None
        assert Q is not None
        if not (0 <= i < header[0] and 0 <= j < header[0]):
            raise ParseError("index outside 1..n", path=path, line=no, token=line)
        Q[min(i, j), max(i, j)] += v
        seen += 1
    if header is None or Q is None:
        raise ParseError("no 'n nnz' header line", path=path)
    if seen != header[1]:
        raise ParseError(f"header announces {header[1]} entries, file has {seen}", path=path)
    return QUBO(Q, offset, names if len(names) == header[0] else ())
