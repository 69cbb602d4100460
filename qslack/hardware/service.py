"""The interface through which every call to IBM's quantum service goes, and the real service.

- :class:`IBMService`: what qslack needs (backend, submit, status, result, cancel ...);
- :class:`RuntimeService`: qiskit-ibm-runtime's ``QiskitRuntimeService`` and ``SamplerV2`` in
  job, batch or session mode;
- :class:`RetryingService`: any service with every call retried through
  :func:`~qslack.hardware.retry.with_retries`.

Local stand-ins live in :mod:`qslack.hardware.local` (fake backends with noise models);
test doubles in :mod:`qslack.testing.faults`.  Counts come back as ``{basis index: count}``
per circuit, where bit ``j`` of the index is classical bit ``j`` (qslack's convention).
qiskit and qiskit-ibm-runtime are imported inside functions only.
"""

from __future__ import annotations

import abc
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from qslack.exceptions import DependencyError
from qslack.hardware.credentials import credentials
from qslack.hardware.errors import (
    _SAMPLER_DEPRECATION,
    FINAL_STATUSES,
    STATUSES,
    AuthenticationError,
    JobFailedError,
    JobNotFoundError,
    JobPendingError,
    ServiceError,
    TransientServiceError,
    redact,
)
from qslack.hardware.retry import _auth_message, _status_code, is_auth_error, is_transient, with_retries

__all__ = ["IBMService", "RetryingService", "RuntimeService", "counts_from_pub_result"]

T = TypeVar("T")


# =========================================================================== results
def counts_from_pub_result(pub_result: Any) -> dict[int, int]:
    """``{index: count}`` of one ``SamplerPubResult``; bit ``j`` of the index is clbit ``j``.

    All classical registers are joined in the circuit's register order;
    ``join_data`` keeps the first register's bits lowest (checked in the
    tests), which is the circuit's clbit order when its registers were added
    in order.
    """
    names = list(pub_result.data)
    if not names:
        return {}
    bits = pub_result.join_data(names) if len(names) > 1 else pub_result.data[names[0]]
    return {int(k): int(v) for k, v in bits.get_int_counts().items()}


def _normalise_status(status: Any) -> str:
    s = str(getattr(status, "name", status)).upper()
    if s in ("INITIALIZING", "VALIDATING", "QUEUED"):
        return "QUEUED"
    if s in STATUSES:
        return s
    return "RUNNING"


# =========================================================================== interface
class IBMService(abc.ABC):
    """What qslack needs from IBM's service; every implementation lives in this module.

    Job statuses are ``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"`` or
    ``"CANCELLED"``; results are ``{basis index: count}`` per circuit.
    """

    #: short name recorded with runs
    name: ClassVar[str] = "service"

    @abc.abstractmethod
    def backend(self, name: str) -> Any:
        """The backend object (for transpilation: its ``target``)."""

    @abc.abstractmethod
    def submit(
        self,
        isa_circuits: Sequence[Any],
        *,
        backend_name: str,
        shots: int,
        options: dict[str, Any] | None = None,
        mode: str = "job",
        session_id: str | None = None,
    ) -> str:
        """Submit bound ISA circuits to ``SamplerV2``; returns the job id.

        ``options`` are ``SamplerV2`` options (as
        :meth:`~qslack.hardware.profiles.HardwareProfile.runtime_options`);
        ``mode`` is ``"job"``, ``"batch"`` or ``"session"``; ``session_id``
        joins an open batch or session.
        """

    @abc.abstractmethod
    def status(self, job_id: str) -> str:
        """One of :data:`STATUSES`."""

    @abc.abstractmethod
    def result(self, job_id: str) -> list[dict[int, int]]:
        """Counts per circuit, ``{basis index: count}``; raises :class:`JobFailedError` or
        :class:`JobPendingError` for a job that failed or has not finished."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Cancel a job."""

    @abc.abstractmethod
    def error_message(self, job_id: str) -> str | None:
        """Why a job failed (redacted), or ``None``."""

    def session_of(self, job_id: str) -> str | None:
        """The batch or session id a job ran in, if any."""
        return None

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> str:
        """Poll :meth:`status` until the job is final; returns the final status.

        Raises :class:`JobPendingError` after ``timeout`` seconds.
        """
        t0 = time.monotonic()
        while True:
            st = self.status(job_id)
            if st in FINAL_STATUSES:
                return st
            if timeout is not None and time.monotonic() - t0 >= timeout:
                raise JobPendingError(job_id, st)
            sleep(poll_interval)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Close open batches or sessions (default: nothing to close)."""


# =========================================================================== retrying wrapper
class RetryingService(IBMService):
    """Any service with every call retried through :func:`with_retries`.

    Note that a submission whose request reached the service before the
    connection failed may be submitted twice; pass ``retry_submit=False`` to
    let such faults through instead.

    Parameters
    ----------
    inner : IBMService
    retries, base_delay, max_delay, sleep
        As :func:`with_retries`.
    retry_submit : bool
        Retry :meth:`submit` too.
    """

    def __init__(
        self,
        inner: IBMService,
        *,
        retries: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Callable[[float], Any] = time.sleep,
        retry_submit: bool = True,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.retries, self.base_delay, self.max_delay = int(retries), float(base_delay), float(max_delay)
        self.sleep = sleep
        self.retry_submit = retry_submit

    def _retry(self, fn: Callable[[], T]) -> T:
        return with_retries(
            fn, retries=self.retries, base_delay=self.base_delay, max_delay=self.max_delay, sleep=self.sleep
        )

    def backend(self, name: str) -> Any:
        return self._retry(lambda: self.inner.backend(name))

    def submit(self, isa_circuits, *, backend_name, shots, options=None, mode="job", session_id=None) -> str:
        def call() -> str:
            return self.inner.submit(
                isa_circuits,
                backend_name=backend_name,
                shots=shots,
                options=options,
                mode=mode,
                session_id=session_id,
            )

        return self._retry(call) if self.retry_submit else call()

    def status(self, job_id: str) -> str:
        return self._retry(lambda: self.inner.status(job_id))

    def result(self, job_id: str) -> list[dict[int, int]]:
        return self._retry(lambda: self.inner.result(job_id))

    def cancel(self, job_id: str) -> None:
        self._retry(lambda: self.inner.cancel(job_id))

    def error_message(self, job_id: str) -> str | None:
        return self._retry(lambda: self.inner.error_message(job_id))

    def session_of(self, job_id: str) -> str | None:
        return self._retry(lambda: self.inner.session_of(job_id))

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, item: str) -> Any:  # extras of the inner service (simulator_of ...)
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)


# =========================================================================== real service
class RuntimeService(IBMService):
    """IBM Quantum through qiskit-ibm-runtime (``QiskitRuntimeService`` + ``SamplerV2``).

    Connects lazily, on the first call, with :func:`credentials`.  Runtime
    errors are mapped to :class:`TransientServiceError` (connection errors,
    HTTP 5xx, 429), :class:`JobFailedError` or :class:`ServiceError`, with
    redacted messages; wrap the service in :class:`RetryingService` to retry.

    Parameters
    ----------
    channel : str, optional
        ``"ibm_quantum_platform"`` or ``"ibm_cloud"`` (default from the credentials).
    account_name : str, optional
        Saved account to use instead of the environment.
    runtime_service : QiskitRuntimeService, optional
        An already connected service (or a stand-in with ``backend(name)`` and
        ``job(job_id)``).
    max_time : int or str, optional
        ``max_time`` of batches and sessions this service opens.
    """

    name = "ibm-runtime"

    def __init__(
        self,
        *,
        channel: str | None = None,
        account_name: str | None = None,
        runtime_service: Any = None,
        max_time: int | str | None = None,
    ) -> None:
        self._channel, self._account_name = channel, account_name
        self._svc = runtime_service
        self._max_time = max_time
        self._backends: dict[str, Any] = {}
        self._jobs: dict[str, Any] = {}
        self._modes: dict[tuple[str, str, str | None], Any] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------- plumbing
    @staticmethod
    def _call(fn: Callable[[], T], job_id: str | None = None) -> T:
        try:
            return fn()
        except ServiceError:
            raise
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            if is_auth_error(exc):
                raise AuthenticationError(_auth_message(exc)) from None
            if is_transient(exc):
                raise TransientServiceError(msg, status_code=_status_code(exc)) from None
            if job_id is not None and type(exc).__name__ == "RuntimeJobFailureError":
                raise JobFailedError(job_id, "ERROR", str(exc)) from None
            raise ServiceError(msg) from None

    def _service(self) -> Any:
        with self._lock:
            if self._svc is None:
                try:
                    from qiskit_ibm_runtime import QiskitRuntimeService
                except ImportError as exc:  # pragma: no cover - depends on the environment
                    raise DependencyError(
                        "IBM hardware needs qiskit-ibm-runtime: pip install 'qslack[ibm]'"
                    ) from exc
                cred = credentials(channel=self._channel, name=self._account_name)
                if cred.source == "env":
                    self._svc = self._call(
                        lambda: QiskitRuntimeService(
                            channel=cred.channel,  # type: ignore[arg-type]
                            token=cred.token.reveal(),
                            instance=cred.instance,
                        )
                    )
                else:
                    self._svc = self._call(
                        lambda: QiskitRuntimeService(
                            channel=cred.channel,  # type: ignore[arg-type]
                            name=cred.account_name,
                            instance=cred.instance,
                        )
                    )
            return self._svc

    def _job(self, job_id: str) -> Any:
        job = self._jobs.get(job_id)
        if job is None:
            svc = self._service()
            job = self._call(lambda: svc.job(job_id))
            if job is None:
                raise JobNotFoundError(f"no job {job_id} on the service")
            self._jobs[job_id] = job
        return job

    def _execution_mode(self, mode: str, backend: Any, backend_name: str, session_id: str | None) -> Any:
        if mode == "job":
            return backend
        from qiskit_ibm_runtime import Batch, Session

        cls = {"batch": Batch, "session": Session}.get(mode)
        if cls is None:
            raise ServiceError(f"unknown execution mode {mode!r}; choose job, batch or session")
        key = (mode, backend_name, session_id)
        with self._lock:
            opened = self._modes.get(key)
        if opened is None:
            if session_id is not None:
                svc = self._service()
                opened = self._call(lambda: cls.from_id(session_id, svc))
            else:
                opened = self._call(lambda: cls(backend=backend, max_time=self._max_time))
            with self._lock:
                self._modes[key] = opened
        return opened

    # ------------------------------------------------------------- interface
    def backend(self, name: str) -> Any:
        if name not in self._backends:
            svc = self._service()
            self._backends[name] = self._call(lambda: svc.backend(name))
        return self._backends[name]

    def submit(self, isa_circuits, *, backend_name, shots, options=None, mode="job", session_id=None) -> str:
        from qiskit_ibm_runtime import SamplerV2

        backend = self.backend(backend_name)
        opts = {k: v for k, v in dict(options or {}).items() if k != "simulator"}  # no meaning on a QPU
        opts["default_shots"] = int(shots)
        exec_mode = self._execution_mode(mode, backend, backend_name, session_id)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_SAMPLER_DEPRECATION, category=DeprecationWarning)
            sampler = self._call(lambda: SamplerV2(mode=exec_mode, options=opts))
        job = self._call(lambda: sampler.run(list(isa_circuits), shots=int(shots)))
        job_id = str(job.job_id())
        self._jobs[job_id] = job
        return job_id

    def status(self, job_id: str) -> str:
        job = self._job(job_id)
        return _normalise_status(self._call(job.status, job_id))

    def result(self, job_id: str) -> list[dict[int, int]]:
        job = self._job(job_id)
        st = _normalise_status(self._call(job.status, job_id))
        if st in ("ERROR", "CANCELLED"):
            raise JobFailedError(job_id, st, self.error_message(job_id))
        if st != "DONE":
            raise JobPendingError(job_id, st)
        res = self._call(job.result, job_id)
        return [counts_from_pub_result(pub) for pub in res]

    def cancel(self, job_id: str) -> None:
        job = self._job(job_id)
        self._call(job.cancel, job_id)

    def error_message(self, job_id: str) -> str | None:
        job = self._job(job_id)
        msg = self._call(job.error_message, job_id)
        return None if msg is None else redact(msg)

    def session_of(self, job_id: str) -> str | None:
        job = self._job(job_id)
        sid = self._call(lambda: getattr(job, "session_id", None), job_id)
        return None if sid is None else str(sid)

    def close(self) -> None:
        with self._lock:
            opened, self._modes = list(self._modes.values()), {}
        for m in opened:
            self._call(m.close)
