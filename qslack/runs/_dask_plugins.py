"""Dask worker plugins of qslack's local clusters (imports ``distributed``: load it only with a cluster)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["IgnoreSigint"]


class IgnoreSigint(WorkerPlugin):
    """Local workers ignore SIGINT: a terminal's Ctrl-C reaches the whole process group, and only the
    driver (``qslack sweep``) should act on it (it stops the tasks and stores what was done)."""

    name = "qslack-ignore-sigint"

    def setup(self, worker: Any) -> None:
        """Runs in the worker process's event loop (its main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
