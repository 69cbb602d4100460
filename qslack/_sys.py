"""Facts about the machine, shared by every layer (no heavy imports)."""

from __future__ import annotations

import os

__all__ = ["available_memory", "cgroup_memory_left", "load_toml"]


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


_NO_LIMIT = 1 << 60  # cgroup v1 reports "no limit" as a huge number (2**63 - page)


def cgroup_memory_left() -> int | None:
    """Bytes this process's memory cgroup still allows (limit minus usage), or None without a limit.

    Reads cgroup v2 (``memory.max`` / ``memory.current`` under the process's
    unified-hierarchy path) and v1 (``memory.limit_in_bytes`` /
    ``memory.usage_in_bytes`` of the memory controller's path), walking up to
    the root and keeping the tightest limit.

    Examples
    --------
    >>> left = cgroup_memory_left()
    >>> left is None or left >= 0
    True
    """
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:  # pragma: no cover - non-Linux
        return None
    best: int | None = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2 unified
            candidates = [("/sys/fs/cgroup", "memory.max", "memory.current"),
                          ("/sys/fs/cgroup/unified", "memory.max", "memory.current")]
        elif "memory" in controllers.split(","):
            candidates = [("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes")]
        else:
            continue
        for root, limit_name, usage_name in candidates:
            p = path.rstrip("/")
            while True:
                limit = _read_int(f"{root}{p}/{limit_name}")
                if limit is not None and limit < _NO_LIMIT:
                    usage = _read_int(f"{root}{p}/{usage_name}") or 0
                    left = max(limit - usage, 0)
                    best = left if best is None else min(best, left)
                if not p:
                    break
                p = p.rsplit("/", 1)[0]
    return best


def available_memory() -> int:
    """Bytes a new allocation may use: ``min(MemAvailable, cgroup limit - cgroup usage)``.

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    avail = _meminfo_available()
    if avail is None:  # pragma: no cover - non-Linux
        try:
            avail = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic OS
            avail = 8 << 30
    left = cgroup_memory_left()
    return avail if left is None else min(avail, left)


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
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
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
