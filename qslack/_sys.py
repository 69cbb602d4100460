"""Facts about the machine, shared by every layer (no heavy imports)."""

from __future__ import annotations

import os

__all__ = ["available_memory", "load_toml"]


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable`` on Linux).

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    try:  # pragma: no cover - non-Linux
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic OS
        return 8 << 30


def load_toml(path: str | os.PathLike[str], what: str = "file") -> dict:
    """Parse a TOML file; any failure is a :class:`~qslack.exceptions.ParseError` naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.toml"
    >>> _ = f.write_text("x = 1\\n")
    >>> load_toml(f)
    {'x': 1}
    """
    import tomllib

    from qslack.exceptions import ParseError

    try:
        text = open(path, "rb").read().decode("utf-8")
    except FileNotFoundError:
        raise ParseError(f"{what} not found", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read {what}: {exc.strerror}", path=path) from None
    except UnicodeDecodeError:
        raise ParseError(f"{what} is not UTF-8 text", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"invalid TOML ({exc})", path=path) from None
