"""Output paths: checks before anything is written, and names made safe to use as file names.

:func:`check_writable` probes an output path the way the write itself will
use it, so a command refuses in one line *before* it spends time solving,
instead of failing with a traceback afterwards.  :func:`safe_filename` turns
a user-given name (a suite's ``name``, an instance name) into one path
component that cannot climb out of the folder it is joined to.
:func:`display_path` shortens a path for committed reports (no absolute
paths of the machine that made them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from qslack.exceptions import ValidationError

__all__ = ["check_writable", "display_path", "safe_filename"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]+")
_MAX_NAME = 120


def check_writable(path: str | os.PathLike[str], what: str = "output file") -> Path:
    """Refuse, in one line, an output path that cannot be written; return it as a Path.

    The probe does what the write will do: an existing file is opened for
    writing without truncating it; a new file is created and removed again.
    So a missing folder, a folder given where a file is expected, a
    read-only file or folder and a read-only file system are all caught
    (also for root, whom permission bits do not stop).

    Parameters
    ----------
    path : str or Path
        The file that will be written.
    what : str
        What the file is, for the message (e.g. ``"--csv file"``).

    Raises
    ------
    ValidationError
        Naming ``what``, the path and the reason.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_writable(d / "out.csv").name
    'out.csv'
    >>> (d / "out.csv").exists()  # the probe leaves nothing behind
    False
    >>> check_writable(d / "missing" / "out.csv", "--csv file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qslack.exceptions.ValidationError: cannot write --csv file .../out.csv: folder ... does not exist
    >>> check_writable(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qslack.exceptions.ValidationError: cannot write output file ...: it is a directory
    """
    p = Path(path)
    head = f"cannot write {what} {p}"
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ValidationError(f"{head}: not a file name")
    parent = p.parent
    if p.is_dir():
        raise ValidationError(f"{head}: it is a directory")
    if not parent.exists():
        raise ValidationError(f"{head}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ValidationError(f"{head}: {parent} is not a folder")
    try:
        if p.exists():
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)  # a FIFO without reader must not block
            os.close(fd)
        else:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            os.unlink(p)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationError(f"{head}: {reason.lower()}") from None
    return p


def safe_filename(name: str, default: str = "unnamed") -> str:
    """``name`` as one safe path component: no separators, no ``..``, no leading dot.

    Characters other than letters, digits and ``._+=@-`` become ``_``; runs
    of them collapse; leading dots and underscores are dropped; the result is
    at most 120 characters.  An empty result becomes ``default``.

    Examples
    --------
    >>> safe_filename("quantum-small")
    'quantum-small'
    >>> safe_filename("../../../tmp/x")
    'tmp_x'
    >>> safe_filename("burma14[:6] edge")
    'burma14_6_edge'
    >>> safe_filename("..")
    'unnamed'
    """
    text = _UNSAFE.sub("_", str(name))
    text = re.sub(r"\.{2,}", "_", text)
    text = re.sub(r"_+", "_", text).lstrip("._").rstrip("_.")
    text = text[:_MAX_NAME].rstrip("_.")
    return text or default


def display_path(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> str:
    """A path as committed text may show it: relative where it can be, else its file name.

    Relative to ``root`` (default: the repository folder, which holds the
    shipped ``instances/``), else to the current folder; an absolute path
    outside both shows only its name, so no report carries the folders of
    the machine that made it.

    Examples
    --------
    >>> display_path(Path(__file__).resolve().parents[1] / "instances" / "tsplib" / "burma14.tsp")
    'instances/tsplib/burma14.tsp'
    >>> display_path("/somewhere/else/g.gph")
    'g.gph'
    >>> display_path("data/g.gph")
    'data/g.gph'
    """
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    if root is None:
        roots = [Path(__file__).resolve().parents[1], Path.cwd().resolve()]
    else:
        roots = [Path(root).resolve()]
    rp = p.resolve()
    for r in roots:
        try:
            return rp.relative_to(r).as_posix()
        except ValueError:
            continue
    return p.name
