"""Sizes as facts: exact integer counts, stated in words when too large to build, and a
memory check before any large allocation.

Counts such as the slack baseline's qubits can reach ``2**70`` and more (TSP
edge encoding, subtour rows): they stay Python ``int`` and are never turned
into floats; :func:`format_count` states them (``"about 2^70.3"``).  Anything
that must allocate a large array first calls :func:`require_memory`, which
refuses in one line (:class:`~qslack.exceptions.ResourceError`) instead of
letting the allocation grow until the OOM killer ends the process.
"""

from __future__ import annotations

import math
import resource

from qslack._sys import available_memory
from qslack.exceptions import ResourceError

__all__ = ["allocatable_bytes", "format_bytes", "format_count", "require_memory"]

#: Counts up to this are printed with all their digits.
EXACT_DIGITS_BELOW = 10**9


def format_count(n: int) -> str:
    """An exact count, in digits when short, else as a power of two in words.

    Examples
    --------
    >>> format_count(35)
    '35'
    >>> format_count(2**70 + 12345)
    'about 2^70.0'
    >>> format_count(11241462410933851)
    'about 2^53.3'
    """
    n = int(n)
    if abs(n) < EXACT_DIGITS_BELOW:
        return str(n)
    sign = "-" if n < 0 else ""
    return f"{sign}about 2^{math.log2(abs(n)):.1f}"  # math.log2 takes ints of any size


def format_bytes(nbytes: int) -> str:
    """A byte count in binary units (``"3.2 GiB"``); astronomically large ones as a power of two.

    Examples
    --------
    >>> format_bytes(3 * 1024**3 + 10), format_bytes(512)
    ('3.0 GiB', '512 B')
    >>> format_bytes(2**200)
    'about 2^200.0 bytes'
    """
    n = int(nbytes)
    if n < 1024:
        return f"{n} B"
    for k, unit in enumerate(("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"), start=1):
        if n < 1024 ** (k + 1):
            return f"{n / 1024**k:.1f} {unit}"
    return f"about 2^{math.log2(n):.1f} bytes"


def _address_space_left() -> int | None:
    """Bytes of address space left under ``RLIMIT_AS``, None when unlimited."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError):  # pragma: no cover - exotic OS
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
                    break
    except OSError:  # pragma: no cover - non-Linux
        pass
    return max(0, soft - used)


def allocatable_bytes() -> int:
    """Bytes a new allocation may take: available memory, capped by ``RLIMIT_AS`` when set.

    Examples
    --------
    >>> allocatable_bytes() > 0
    True
    """
    avail = available_memory()
    left = _address_space_left()
    return avail if left is None else min(avail, left)


def require_memory(nbytes: int, what: str) -> None:
    """Refuse, in one line, an allocation of ``nbytes`` that does not fit in memory.

    Parameters
    ----------
    nbytes : int
        Bytes the allocation (with its temporaries) will need; any size (a Python int).
    what : str
        What would be allocated, for the message (``"gen:mdkp n=20000: dense Q"``).

    Raises
    ------
    ResourceError
        ``"<what> needs 3.0 GiB; 1.2 GiB available"``.

    Examples
    --------
    >>> require_memory(1024, "a small array")
    >>> require_memory(2**80, "a 2^38 x 2^39 matrix")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qslack.exceptions.ResourceError: a 2^38 x 2^39 matrix needs about 2^80.0 bytes; ... available
    """
    need = int(nbytes)
    if need <= 0:
        return
    avail = allocatable_bytes()
    if need > avail:
        raise ResourceError(f"{what} needs {format_bytes(need)}; {format_bytes(avail)} available")
