"""Test doubles of the hardware layer: a service that misbehaves on purpose, and a simulated crash."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any

from qslack.hardware.errors import JobFailedError, JobPendingError, TransientServiceError, redact
from qslack.hardware.service import IBMService

__all__ = ["FakeFaultyService", "SimulatedCrash"]


class SimulatedCrash(BaseException):
    """Raised by :class:`FakeFaultyService` to simulate the process dying.

    A ``BaseException`` (like ``KeyboardInterrupt``), so no ``except Exception``
    and no retry loop swallows it.
    """


# =========================================================================== test double
class FakeFaultyService(IBMService):
    """A service that misbehaves on purpose, around a working ``inner`` service.

    Parameters
    ----------
    inner : IBMService
    fail_jobs : collection of int
        Ordinals (0-based, in submission order) of jobs that end in ERROR
        with ``fail_reason``.
    fail_reason : str
    flaky_calls : int
        The first ``flaky_calls`` calls (to ``flaky_methods``) raise
        :class:`TransientServiceError` with ``flaky_status`` before the
        service works.
    flaky_methods : collection of str, optional
        Methods that flake (default: all of them).
    flaky_status : int
        HTTP status of the simulated fault (503, 429 ...).
    flaky_message : str, optional
        Text of the fault (to check that secrets in it get redacted).
    pending_polls : int
        A job reports QUEUED, then RUNNING, for this many :meth:`status`
        calls before its real status; :meth:`result` raises
        :class:`JobPendingError` meanwhile.
    kill_after_submit : bool
        The first submission reaches the inner service, then
        :class:`SimulatedCrash` is raised (the caller never learns the job id;
        it is in :attr:`submitted`).

    Attributes
    ----------
    calls : collections.Counter
        Calls per method (flaked ones included).
    submitted : list of str
        Job ids the inner service accepted, in order.
    """

    name = "faulty"

    def __init__(
        self,
        inner: IBMService,
        *,
        fail_jobs: Collection[int] = (),
        fail_reason: str = "Error 8041: simulated failure (the job ran out of time)",
        flaky_calls: int = 0,
        flaky_methods: Collection[str] | None = None,
        flaky_status: int = 503,
        flaky_message: str | None = None,
        pending_polls: int = 0,
        kill_after_submit: bool = False,
    ) -> None:
        self.inner = inner
        self.fail_jobs = set(int(i) for i in fail_jobs)
        self.fail_reason = fail_reason
        self.flaky_left = int(flaky_calls)
        self.flaky_methods = None if flaky_methods is None else set(flaky_methods)
        self.flaky_status = int(flaky_status)
        self.flaky_message = flaky_message
        self.pending_polls = int(pending_polls)
        self.kill_after_submit = bool(kill_after_submit)
        self.calls: Counter[str] = Counter()
        self.submitted: list[str] = []
        self._failed: dict[str, str] = {}
        self._cancelled: set[str] = set()
        self._polls: Counter[str] = Counter()

    def _flake(self, method: str) -> None:
        self.calls[method] += 1
        if self.flaky_left > 0 and (self.flaky_methods is None or method in self.flaky_methods):
            self.flaky_left -= 1
            msg = self.flaky_message or f"HTTP {self.flaky_status}: simulated transient fault in {method}"
            raise TransientServiceError(msg, status_code=self.flaky_status)

    def fail(self, job_id: str, reason: str | None = None) -> None:
        """Make a job end in ERROR with ``reason``."""
        self._failed[job_id] = reason or self.fail_reason

    def _pending(self, job_id: str) -> str | None:
        n = self._polls[job_id]
        if n < self.pending_polls:
            return "QUEUED" if n < (self.pending_polls + 1) // 2 else "RUNNING"
        return None

    def backend(self, name: str) -> Any:
        self._flake("backend")
        return self.inner.backend(name)

    def submit(self, isa_circuits, *, backend_name, shots, options=None, mode="job", session_id=None) -> str:
        self._flake("submit")
        ordinal = len(self.submitted)
        job_id = self.inner.submit(
            isa_circuits,
            backend_name=backend_name,
            shots=shots,
            options=options,
            mode=mode,
            session_id=session_id,
        )
        self.submitted.append(job_id)
        if ordinal in self.fail_jobs:
            self._failed[job_id] = self.fail_reason
        if self.kill_after_submit:
            self.kill_after_submit = False
            raise SimulatedCrash(f"simulated kill right after submitting job {job_id}")
        return job_id

    def status(self, job_id: str) -> str:
        self._flake("status")
        pending = self._pending(job_id)
        self._polls[job_id] += 1
        if pending is not None:
            return pending
        if job_id in self._cancelled:
            return "CANCELLED"
        if job_id in self._failed:
            return "ERROR"
        return self.inner.status(job_id)

    def result(self, job_id: str) -> list[dict[int, int]]:
        self._flake("result")
        pending = self._pending(job_id)
        if pending is not None:
            raise JobPendingError(job_id, pending)
        if job_id in self._cancelled:
            raise JobFailedError(job_id, "CANCELLED", "cancelled")
        if job_id in self._failed:
            raise JobFailedError(job_id, "ERROR", self._failed[job_id])
        return self.inner.result(job_id)

    def cancel(self, job_id: str) -> None:
        self._flake("cancel")
        self._cancelled.add(job_id)

    def error_message(self, job_id: str) -> str | None:
        self._flake("error_message")
        if job_id in self._failed:
            return redact(self._failed[job_id])
        if job_id in self._cancelled:
            return "cancelled"
        return self.inner.error_message(job_id)

    def session_of(self, job_id: str) -> str | None:
        return self.inner.session_of(job_id)

    def __getattr__(self, item: str) -> Any:
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)
