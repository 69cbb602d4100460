"""Where a run was computed: software versions, machine, git commit.

:func:`provenance` reads package versions from installed metadata
(:func:`importlib.metadata.version`) and never imports the packages, so it
costs a few milliseconds and does not pull in qiskit, OR-Tools or CuPy.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "provenance"]

PACKAGES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "numba": ("numba",),
    "qiskit": ("qiskit",),
    "qiskit-aer": ("qiskit-aer",),
    "qiskit-aer-gpu": ("qiskit-aer-gpu", "qiskit-aer-gpu-cu11"),
    "qiskit-optimization": ("qiskit-optimization",),
    "qiskit-ibm-runtime": ("qiskit-ibm-runtime",),
    "ortools": ("ortools",),
    "highspy": ("highspy",),
    "cupy": ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"),
}
"""Reported name -> distribution names tried in order (CuPy ships one wheel per CUDA)."""

_GIT_TIMEOUT_S = 2.0


def _version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _qslack_version() -> str | None:
    found = _version("qslack")
    if found is None:
        from qslack import __version__

        found = __version__
    return found


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _git_info(package_dir: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout holding ``package_dir``; (None, None) when there is none.

    A package installed into an ignored directory of some repository (a
    virtual environment inside a project) is not that repository's code, so
    it reports no commit.
    """
    head = _git(["rev-parse", "HEAD"], package_dir)
    if head is None or head.returncode != 0:
        return None, None
    commit = head.stdout.strip() or None
    if commit is None:
        return None, None
    ignored = _git(["check-ignore", "-q", "."], package_dir)
    if ignored is not None and ignored.returncode == 0:
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], package_dir)
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return commit, dirty


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        return None
    return None


def provenance(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Describe the software and machine a run is computed on.

    Parameters
    ----------
    extra : dict, optional
        More entries (a hardware profile, a backend name); they are added at
        the top level and win over the built-in keys of the same name.

    Returns
    -------
    dict
        JSON-able: ``python``, ``python_implementation``, ``platform``,
        ``machine``, ``processor``, ``cpu_model``, ``cpu_count``,
        ``hostname``, ``qslack``, ``packages`` (name -> version or None for
        each of :data:`PACKAGES`), ``git_commit`` and ``git_dirty`` (None
        outside a git checkout; dirty ignores untracked files), ``timestamp``
        (UTC, ISO 8601).

    Examples
    --------
    >>> info = provenance({"profile": "statevector-cpu"})
    >>> info["profile"], sorted(info["packages"])[:3]
    ('statevector-cpu', ['cupy', 'highspy', 'numba'])
    >>> info["qslack"] is not None and isinstance(info["cpu_count"], int)
    True
    """
    commit, dirty = _git_info(Path(__file__).resolve().parents[1])
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
        "qslack": _qslack_version(),
        "packages": {name: _version(*dists) for name, dists in PACKAGES.items()},
        "git_commit": commit,
        "git_dirty": dirty,
        "timestamp": datetime.now(UTC).isoformat(),
    }
    if extra:
        info.update(extra)
    return info
