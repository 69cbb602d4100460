"""Errors raised by qslack.

Every error derives from :class:`QslackError`; the CLI prints its message on
one line (no traceback) and exits with code 2.  Parse errors name the file and
the line (or token) at fault.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DependencyError",
    "OptionError",
    "ParseError",
    "QslackError",
    "ResourceError",
    "ValidationError",
]


class QslackError(Exception):
    """Base class of every error raised on purpose by qslack."""


class ParseError(QslackError, ValueError):
    """A data file does not follow its format.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str or Path, optional
        The file being read.
    line : int, optional
        1-based line number where the problem was found.
    token : str, optional
        The offending token, quoted in the message.

    Examples
    --------
    >>> str(ParseError("non-numeric token", path="a.tsp", line=7, token="x1"))
    "a.tsp:7: non-numeric token: 'x1'"
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        token: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.token = token
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line}: "
        tail = f": {token!r}" if token is not None else ""
        super().__init__(f"{where}{message}{tail}")


class ValidationError(QslackError, ValueError):
    """A value passed to qslack is out of its domain (shape, sign, range)."""


class OptionError(QslackError, TypeError):
    """An unknown or ill-typed option was passed to a method or sampler."""


class ResourceError(QslackError, MemoryError):
    """A problem is too large for the chosen backend on this machine."""


class DependencyError(QslackError, ImportError):
    """An optional dependency needed for this path is not installed."""
