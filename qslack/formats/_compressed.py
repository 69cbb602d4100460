"""Read a text file that may be compressed (``.xz``, ``.gz``, ``.bz2``), as QOBLIB ships its models.

Examples
--------
>>> import lzma, pathlib, tempfile
>>> f = pathlib.Path(tempfile.mkdtemp()) / "a.qs.xz"
>>> _ = f.write_bytes(lzma.compress(b"2 1\\r\\n1 1 3\\r\\n"))
>>> read_text(f).splitlines()
['2 1', '1 1 3']
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

from qslack.exceptions import ParseError

__all__ = ["read_text", "strip_compression"]

_OPENERS = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}


def strip_compression(path: str | Path) -> Path:
    """The path without a compression suffix (``farm.qs.xz`` -> ``farm.qs``).

    Examples
    --------
    >>> strip_compression("m/farm.qs.xz").name, strip_compression("farm.gph").name
    ('farm.qs', 'farm.gph')
    """
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in _OPENERS else p


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path`` with universal newlines, decompressed by suffix.

    Raises
    ------
    ParseError
        Not UTF-8 text, or a corrupt compressed stream (naming the file).
    """
    p = Path(path)
    opener = _OPENERS.get(p.suffix.lower())
    try:
        if opener is None:
            raw = p.read_bytes()
        else:
            with opener(p, "rb") as fh:
                raw = fh.read()
    except (lzma.LZMAError, OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ParseError(f"cannot decompress ({exc})", path=p) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not a text file ({exc.reason} at byte {exc.start})", path=p) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
