"""The one module through which every call to IBM's quantum service goes.

Everything that talks to IBM Quantum (or to its local stand-ins) is an
:class:`IBMService`:

- :class:`RuntimeService`: the real service, qiskit-ibm-runtime's
  ``QiskitRuntimeService`` and ``SamplerV2`` in job, batch or session mode;
- :class:`LocalFakeService`: fake backends (``fake_torino`` ...) in local
  mode, ``SamplerV2`` on an Aer simulator with the backend's noise model; jobs
  finish synchronously and live in memory;
- :class:`FakeFaultyService`: a test double around another service that
  raises transient errors, fails chosen jobs, keeps jobs pending for a while
  or "dies" right after a submission;
- :class:`RetryingService`: wraps any service and retries transient faults
  (connection errors, HTTP 5xx, 429) through :func:`with_retries`.

Counts come back as ``{basis index: count}`` per circuit, where bit ``j`` of
the index is classical bit ``j`` (for circuits measured with
``measure_all``: qubit ``j``, i.e. variable ``j``), qslack's convention.

Credentials come from ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` (and
``QISKIT_IBM_CHANNEL``), else from a saved Qiskit account.  The token is held
in a :class:`Secret` whose ``repr``/``str`` is ``<redacted>``; it is never
printed, logged, stored or put in an exception message: every message this
module raises goes through :func:`redact`.

qiskit, qiskit-aer and qiskit-ibm-runtime are imported inside functions only.
"""

from __future__ import annotations

import abc
import logging
import os
import sys
import threading
import time
import uuid
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from qslack.exceptions import DependencyError, QslackError

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "AuthenticationError",
    "Credentials",
    "CredentialsError",
    "FakeFaultyService",
    "IBMService",
    "JobFailedError",
    "JobNotFoundError",
    "JobPendingError",
    "LocalFakeService",
    "NoisyDevice",
    "RetryingService",
    "RuntimeService",
    "Secret",
    "ServiceError",
    "SimulatedCrash",
    "TransientServiceError",
    "counts_from_pub_result",
    "credentials",
    "fake_device",
    "is_auth_error",
    "is_transient",
    "redact",
    "with_retries",
]

log = logging.getLogger(__name__)

#: job statuses reported by every service
STATUSES = ("QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED")
FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED")
_REDACTED = "<redacted>"
_TOKEN_ENV = "QISKIT_IBM_TOKEN"
_INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
_CHANNEL_ENV = "QISKIT_IBM_CHANNEL"
_DEFAULT_CHANNEL = "ibm_quantum_platform"
_SAMPLER_DEPRECATION = r"The SamplerV2 class is deprecated"

T = TypeVar("T")


# =========================================================================== errors
class ServiceError(QslackError):
    """A call to the quantum service failed (message already redacted)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class TransientServiceError(ServiceError):
    """A fault worth retrying: connection error, HTTP 5xx, rate limit (429).

    Parameters
    ----------
    message : str
    status_code : int, optional
        The HTTP status, where known.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class JobFailedError(ServiceError):
    """A job ended in ERROR or CANCELLED; ``job_id``, ``status`` and ``reason`` say how."""

    def __init__(self, job_id: str, status: str, reason: str | None) -> None:
        self.job_id, self.status, self.reason = job_id, status, redact(reason or "no reason given")
        super().__init__(f"job {job_id} ended with status {status}: {self.reason}")


class JobPendingError(ServiceError):
    """A job's results were asked for before it finished."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id, self.status = job_id, status
        super().__init__(f"job {job_id} has not finished (status {status})")


class JobNotFoundError(ServiceError):
    """No job with this id is known to the service."""


class CredentialsError(ServiceError):
    """No usable IBM Quantum credentials were found."""


class AuthenticationError(CredentialsError):
    """The service refused the credentials (invalid or expired token, unknown instance, 401/403).

    Permanent: never retried.  The message is one line and redacted.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(redact(message).split()))


class SimulatedCrash(BaseException):
    """Raised by :class:`FakeFaultyService` to simulate the process dying.

    A ``BaseException`` (like ``KeyboardInterrupt``), so no ``except Exception``
    and no retry loop swallows it.
    """


# =========================================================================== secrets
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


class Secret:
    """A string that never shows itself: ``repr``, ``str`` and ``format`` give ``<redacted>``.

    The value is registered with :func:`redact`, which removes it from any
    text; :meth:`reveal` gives it to the one call that needs it.

    Examples
    --------
    >>> s = Secret("abc-123")
    >>> repr(s), str(s), f"{s}", s.reveal()
    ('<redacted>', '<redacted>', '<redacted>', 'abc-123')
    >>> redact("token=abc-123")
    'token=<redacted>'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)
        if self._value.strip():
            with _SECRETS_LOCK:
                _SECRETS.add(self._value)

    def reveal(self) -> str:
        """The secret value (pass it straight to the call that needs it)."""
        return self._value

    def __repr__(self) -> str:
        return _REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return _REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled or copied")


def redact(text: object) -> str:
    """``str(text)`` with every known secret replaced by ``<redacted>``.

    Known secrets: the current ``QISKIT_IBM_TOKEN`` and every :class:`Secret`
    created in this process (e.g. a saved account's token).

    Examples
    --------
    >>> import os
    >>> os.environ["QISKIT_IBM_TOKEN"] = "t0k3n-xyz"
    >>> redact("401 for t0k3n-xyz")
    '401 for <redacted>'
    >>> del os.environ["QISKIT_IBM_TOKEN"]
    """
    s = str(text)
    secrets = set(_SECRETS)
    env = os.environ.get(_TOKEN_ENV)
    if env and env.strip():
        secrets.add(env)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in s:
            s = s.replace(secret, _REDACTED)
    return s


@dataclass(frozen=True, repr=False)
class Credentials:
    """IBM Quantum credentials; the token is a :class:`Secret`.

    Attributes
    ----------
    token : Secret
    instance : str or None
        The instance (CRN), from ``QISKIT_IBM_INSTANCE`` or the saved account.
    channel : str
        ``"ibm_quantum_platform"`` (default) or ``"ibm_cloud"``.
    source : {"env", "saved-account"}
    account_name : str or None
        Name of the saved account, where one was named.
    """

    token: Secret
    instance: str | None
    channel: str
    source: str
    account_name: str | None = None

    def __repr__(self) -> str:
        return (
            f"Credentials(channel={self.channel!r}, instance={redact(self.instance)!r}, "
            f"source={self.source!r}, token={_REDACTED})"
        )

    __str__ = __repr__


def credentials(*, channel: str | None = None, name: str | None = None) -> Credentials:
    """IBM Quantum credentials from the environment, else from a saved Qiskit account.

    Parameters
    ----------
    channel : str, optional
        Channel of the saved account to use (default ``$QISKIT_IBM_CHANNEL``
        or ``"ibm_quantum_platform"`` for the environment).
    name : str, optional
        Name of a saved account (``QiskitRuntimeService.save_account(name=...)``).

    Raises
    ------
    CredentialsError
        Neither ``QISKIT_IBM_TOKEN`` nor a saved account is available.

    Examples
    --------
    >>> import os
    >>> os.environ["QISKIT_IBM_TOKEN"] = "sekret"
    >>> c = credentials()
    >>> "sekret" in repr(c), c.source, c.token.reveal()
    (False, 'env', 'sekret')
    >>> del os.environ["QISKIT_IBM_TOKEN"]
    """
    token = os.environ.get(_TOKEN_ENV, "").strip()
    if token and name is None:
        return Credentials(
            token=Secret(token),
            instance=_checked_instance(os.environ.get(_INSTANCE_ENV), f"${_INSTANCE_ENV}"),
            channel=channel or os.environ.get(_CHANNEL_ENV) or _DEFAULT_CHANNEL,
            source="env",
        )
    try:
        from qiskit_ibm_runtime.accounts import AccountManager
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError("IBM hardware needs qiskit-ibm-runtime: pip install 'qslack[ibm]'") from exc
    try:
        account = AccountManager.get(name=name, channel=channel)  # type: ignore[arg-type]
    except Exception as exc:
        raise CredentialsError(
            f"no IBM Quantum credentials: set {_TOKEN_ENV} (and {_INSTANCE_ENV}) or save an account "
            f"with QiskitRuntimeService.save_account(...) ({type(exc).__name__}: {redact(exc)})"
        ) from None
    if account is None or not getattr(account, "token", None):
        raise CredentialsError(f"no IBM Quantum credentials: set {_TOKEN_ENV} or save an account")
    return Credentials(
        token=Secret(account.token),
        instance=_checked_instance(getattr(account, "instance", None), "the saved account's instance"),
        channel=str(getattr(account, "channel", None) or channel or _DEFAULT_CHANNEL),
        source="saved-account",
        account_name=name,
    )


#: fields of an IBM Cloud CRN: crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:<instance>:<type>:<id>
_CRN_FIELDS = 10


def _checked_instance(instance: str | None, where: str) -> str | None:
    """The instance, or a :class:`CredentialsError` when it is a malformed CRN.

    An instance is a CRN (``crn:v1:bluemix:public:quantum-computing:<region>:a/<account>:<id>::``)
    or an instance name.  qiskit-ibm-runtime reads the location out of a CRN
    with a regular expression and fails with an ``AttributeError`` on a short
    one, so a malformed CRN is refused here, before any call.

    Examples
    --------
    >>> _checked_instance("crn:v1:bluemix:public:quantum-computing:us-east:a/abc:123::", "x")[:7]
    'crn:v1:'
    >>> _checked_instance("my-instance", "x"), _checked_instance("", "x")
    ('my-instance', None)
    >>> _checked_instance("crn:v1:bluemix", "$QISKIT_IBM_INSTANCE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qslack.hardware.service.CredentialsError: $QISKIT_IBM_INSTANCE is not a valid CRN ...
    """
    if instance is None:
        return None
    text = str(instance).strip()
    if not text:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise CredentialsError(f"{where} holds spaces or control characters: {text!r}")
    if text.lower().startswith("crn:"):
        fields = text.split(":")
        if len(fields) != _CRN_FIELDS or not all(fields[i] for i in (1, 2, 3, 4, 5, 7)):
            raise CredentialsError(
                f"{where} is not a valid CRN (crn:v1:<cname>:<ctype>:quantum-computing:<region>:"
                f"a/<account>:<instance id>::, {_CRN_FIELDS} fields): got {len(fields)} fields in {text!r}"
            )
    return text


# =========================================================================== retries
#: qiskit-ibm-runtime's (and IBM Cloud's) exceptions for refused credentials: permanent faults
_AUTH_ERRORS = frozenset(
    {
        "IBMNotAuthorizedError",
        "IBMAccountError",
        "AccountsError",
        "InvalidAccountError",
        "AccountNotFoundError",
        "CloudResourceNameResolutionError",
        "AuthenticationLicenseError",
    }
)


def is_auth_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the credentials were refused.

    Authentication faults are permanent: qiskit-ibm-runtime's
    ``IBMNotAuthorizedError``, its account errors (``InvalidAccountError``
    "check that you are using a valid API token", ``AccountNotFoundError``,
    ``CloudResourceNameResolutionError``), ``AuthenticationLicenseError``,
    and any error carrying HTTP status 401 or 403 — also when raised from a
    connection error deeper in the chain.

    Examples
    --------
    >>> class InvalidAccountError(Exception): pass
    >>> try:
    ...     try:
    ...         raise ConnectionError("no route")
    ...     except ConnectionError as e:
    ...         raise InvalidAccountError("check your API token") from e
    ... except InvalidAccountError as err:
    ...     is_auth_error(err), is_transient(err)
    (True, False)
    """
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 6:
        if isinstance(e, AuthenticationError):
            return True
        if {k.__name__ for k in type(e).__mro__} & _AUTH_ERRORS:
            return True
        if _status_code(e) in (401, 403):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def _auth_message(exc: BaseException) -> str:
    """One line: what the service said, the root cause's type, and where the credentials came from."""
    root: BaseException = exc
    seen = 0
    while (root.__cause__ or root.__context__) is not None and seen < 6:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
        seen += 1
    cause = f" (raised from {type(root).__name__})" if root is not exc else ""
    return (
        f"IBM Quantum refused the credentials: {type(exc).__name__}: {exc}{cause}; "
        f"check {_TOKEN_ENV} and {_INSTANCE_ENV}, or the saved account"
    )


def _status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    try:
        code = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return code if code > 0 else None


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is worth retrying.

    Transient: :class:`TransientServiceError`, ``ConnectionError``,
    ``TimeoutError``, requests' connection errors and timeouts, and any error
    carrying an HTTP ``status_code`` >= 500 or == 429 (qiskit-ibm-runtime's
    ``RequestsApiError``).

    Examples
    --------
    >>> is_transient(ConnectionResetError()), is_transient(ValueError("bad input"))
    (True, False)
    """
    if is_auth_error(exc):
        return False
    requests = sys.modules.get("requests")
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 6:
        if isinstance(e, TransientServiceError | ConnectionError | TimeoutError):
            return True
        if requests is not None and isinstance(
            e, requests.exceptions.ConnectionError | requests.exceptions.Timeout
        ):
            return True
        code = _status_code(e)
        if code is not None and (code >= 500 or code == 429):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def with_retries(
    fn: Callable[[], T],
    *,
    retries: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], Any] = time.sleep,
) -> T:
    """``fn()``, retried on transient faults with exponential backoff and a cap.

    The ``k``-th retry waits ``min(max_delay, base_delay * 2**k)`` seconds;
    after ``retries`` retries the last fault is raised as a
    :class:`TransientServiceError`.  A non-transient error is raised at once
    (as a :class:`ServiceError` with a redacted message if its own message
    holds a secret).

    Examples
    --------
    >>> calls, waits = [], []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConnectionError("reset")
    ...     return "ok"
    >>> with_retries(flaky, sleep=waits.append), waits
    ('ok', [0.5, 1.0])
    """
    if retries < 0 or base_delay < 0 or max_delay < 0:
        raise ValueError("retries, base_delay and max_delay must be >= 0")
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as exc:
            if is_auth_error(exc) and not isinstance(exc, AuthenticationError):
                raise AuthenticationError(_auth_message(exc)) from None
            if not is_transient(exc):
                text = str(exc)
                if redact(text) != text:
                    raise ServiceError(f"{type(exc).__name__}: {text}") from None
                raise
            last = exc
            if attempt == retries:
                break
            delay = min(float(max_delay), float(base_delay) * 2.0**attempt)
            log.warning(
                "transient service fault (%s), retry %d/%d in %.2f s",
                redact(f"{type(exc).__name__}: {exc}"),
                attempt + 1,
                retries,
                delay,
            )
            sleep(delay)
    assert last is not None
    raise TransientServiceError(
        f"gave up after {retries + 1} attempts; last fault {type(last).__name__}: {last}",
        status_code=_status_code(last),
    ) from None


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


# =========================================================================== fake backends
def _fake_backend_class(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError("fake backends need qiskit-ibm-runtime: pip install 'qslack[ibm]'") from exc
    key = name.lower()
    if key.startswith("ibm_"):
        key = "fake_" + key[4:]
    if not key.startswith("fake_"):
        raise ServiceError(f"{name!r} is not a fake backend name (such as 'fake_torino')")
    wanted = key.replace("_", "")
    for attr in dir(fake_provider):
        if attr.lower() == wanted and attr.startswith("Fake"):
            return getattr(fake_provider, attr), key
    raise ServiceError(f"qiskit-ibm-runtime has no fake backend {key!r} (class Fake{key[5:].title()})")


def _sub_target(parent: Any, physical: Sequence[int]) -> Any:
    """The part of ``parent`` (a ``Target``) on ``physical`` qubits, renumbered 0..k-1."""
    from qiskit.transpiler import Target

    pos = {q: i for i, q in enumerate(physical)}
    qprops = parent.qubit_properties
    tgt = Target(
        description=f"{parent.description} on qubits {list(physical)}",
        num_qubits=len(physical),
        dt=parent.dt,
        granularity=parent.granularity,
        min_length=parent.min_length,
        pulse_alignment=parent.pulse_alignment,
        acquire_alignment=parent.acquire_alignment,
        qubit_properties=None if qprops is None else [qprops[q] for q in physical],
        concurrent_measurements=None,
    )
    for op_name in parent.operation_names:
        op = parent.operation_from_name(op_name)
        props = parent[op_name]
        if isinstance(op, type):  # control flow, added globally by class
            tgt.add_instruction(op, name=op_name)
            continue
        if props is None or None in props:
            tgt.add_instruction(op, None if props is None else {None: props[None]}, name=op_name)
            continue
        sub = {tuple(pos[q] for q in qargs): p for qargs, p in props.items() if all(q in pos for q in qargs)}
        if sub:
            tgt.add_instruction(op, sub, name=op_name)
    return tgt


def _sub_backend(parent: Any, physical: Sequence[int]) -> Any:
    """A ``BackendV2`` holding the part of ``parent``'s target on ``physical`` qubits."""
    from qiskit.providers import BackendV2, Options

    class _SubBackend(BackendV2):
        def __init__(self) -> None:
            super().__init__(
                name=f"{parent.name}[{','.join(map(str, physical))}]",
                description=getattr(parent, "description", None),
                backend_version=getattr(parent, "backend_version", None),
            )
            self._target = _sub_target(parent.target, physical)

        @property
        def target(self) -> Any:
            return self._target

        @property
        def max_circuits(self) -> None:
            return None

        @classmethod
        def _default_options(cls) -> Any:
            return Options()

        def run(self, run_input: Any, **options: Any) -> Any:  # pragma: no cover - never run
            raise NotImplementedError("a sub-backend only describes qubits; run on its AerSimulator")

    return _SubBackend()


class NoisyDevice:
    """A fake backend and its noise-model simulators, built once per backend name.

    A transpiled circuit on a 133- or 156-qubit device touches only a few
    physical qubits; rebuilding (and handing to Aer) the whole device's noise
    model costs seconds per run.  ``simulator(qubits)`` gives an
    ``AerSimulator.from_backend`` of the device restricted to those physical
    qubits (renumbered ``0..k-1``): the same gate, readout and relaxation
    errors on those qubits, so the same distribution (bit for bit with the
    same seed) as the full device model; it is cached per qubit set.

    Get one with :func:`fake_device`, never directly: the module keeps one
    per backend name.
    """

    def __init__(self, name: str, *, max_cached: int = 64) -> None:
        cls, self.name = _fake_backend_class(name)
        self.backend = cls()
        self.max_cached = int(max_cached)
        self._sims: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._full: Any = None
        self._lock = threading.Lock()
        self.n_built = 0

    def simulator(self, physical_qubits: Sequence[int] | None = None) -> Any:
        """The noise-model ``AerSimulator`` of ``physical_qubits`` (``None``: the whole device)."""
        from qiskit_aer import AerSimulator

        if physical_qubits is None:
            with self._lock:
                if self._full is None:
                    self._full = AerSimulator.from_backend(self.backend)
                    self.n_built += 1
                return self._full
        key = tuple(int(q) for q in physical_qubits)
        with self._lock:
            sim = self._sims.get(key)
            if sim is not None:
                self._sims.move_to_end(key)
                return sim
            sim = AerSimulator.from_backend(_sub_backend(self.backend, key))
            self.n_built += 1
            self._sims[key] = sim
            while len(self._sims) > self.max_cached:
                self._sims.popitem(last=False)
            return sim


_DEVICES: dict[str, NoisyDevice] = {}
_DEVICES_LOCK = threading.Lock()


def fake_device(name: str) -> NoisyDevice:
    """The process-wide :class:`NoisyDevice` of a fake backend (``"fake_torino"``; ``"ibm_torino"``
    maps to its fake twin)."""
    _, key = _fake_backend_class(name)
    with _DEVICES_LOCK:
        dev = _DEVICES.get(key)
        if dev is None:
            dev = _DEVICES[key] = NoisyDevice(key)
        return dev


def _active_qubits(circuit: Any) -> list[int]:
    return sorted({circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits})


def _compact(circuit: Any, active: Sequence[int]) -> Any:
    """``circuit`` on ``len(active)`` qubits (physical qubit ``active[i]`` becomes qubit ``i``),
    with the same classical bits in the same order."""
    from qiskit import QuantumCircuit, QuantumRegister

    pos = {q: i for i, q in enumerate(active)}
    out = QuantumCircuit(
        QuantumRegister(len(active), "q"), name=circuit.name, global_phase=circuit.global_phase
    )
    in_regs = {clbit for creg in circuit.cregs for clbit in creg}
    loose = [c for c in circuit.clbits if c not in in_regs]
    if loose:  # keep clbit order: put every clbit in registers-free order first
        from qiskit.circuit import ClassicalRegister

        out.add_register(ClassicalRegister(circuit.num_clbits, "c"))
        cmap = {c: out.clbits[i] for i, c in enumerate(circuit.clbits)}
    else:
        for creg in circuit.cregs:
            out.add_register(creg)
        cmap = {c: c for c in circuit.clbits}
    for inst in circuit.data:
        qs = [out.qubits[pos[circuit.find_bit(q).index]] for q in inst.qubits]
        out.append(inst.operation, qs, [cmap[c] for c in inst.clbits], copy=False)
    return out


def _check_isa(circuit: Any, target: Any, backend_name: str, index: int) -> None:
    if circuit.parameters:
        raise ServiceError(
            f"circuit {index} has unbound parameters {sorted(p.name for p in circuit.parameters)}"
        )
    if circuit.num_qubits > target.num_qubits:
        raise ServiceError(
            f"circuit {index} has {circuit.num_qubits} qubits, backend {backend_name} {target.num_qubits}"
        )
    for inst in circuit.data:
        name = inst.operation.name
        if name == "barrier":
            continue
        qargs = tuple(circuit.find_bit(q).index for q in inst.qubits)
        if not target.instruction_supported(name, qargs):
            raise ServiceError(
                f"circuit {index} is not an ISA circuit of {backend_name}: {name!r} on qubits {qargs} "
                "is not supported; transpile it with the backend's preset pass manager"
            )


def _sim_seed(seed: int, index: int) -> int:
    """A nonzero simulator seed per circuit (the local service ignores ``seed_simulator=0``)."""
    return int(np.random.SeedSequence([int(seed) & (2**63 - 1), index]).generate_state(1, np.uint32)[0]) | 1


@dataclass
class _LocalJob:
    backend_name: str
    status: str
    counts: list[dict[int, int]] = field(default_factory=list)
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    simulators: list[Any] = field(default_factory=list)


_LOCAL_JOBS: dict[str, _LocalJob] = {}
_LOCAL_JOBS_LOCK = threading.Lock()


class LocalFakeService(IBMService):
    """Fake IBM backends in qiskit-ibm-runtime's local mode.

    ``SamplerV2(mode=simulator)`` runs each ISA circuit on the cached
    noise-model ``AerSimulator`` of its backend (see :class:`NoisyDevice`).
    Jobs finish synchronously, ids are UUIDs and results stay in memory
    (shared by every instance in the process).  Dynamical decoupling and
    twirling cannot be simulated in local mode: they are dropped and listed
    in :meth:`job_meta` under ``"ignored_options"``.  Batch and session modes
    are accepted and change nothing.

    Parameters
    ----------
    compact : bool
        Simulate only the physical qubits a circuit touches (default; same
        distribution, far faster).  ``False`` simulates on the whole
        device's noise model.

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> svc = LocalFakeService()
    >>> qc = QuantumCircuit(2); _ = qc.x(0); qc.measure_all()
    >>> from qiskit.transpiler import generate_preset_pass_manager
    >>> isa = generate_preset_pass_manager(2, svc.backend("fake_torino"), seed_transpiler=1).run(qc)
    >>> opts = {"simulator": {"seed_simulator": 1}}
    >>> job = svc.submit([isa], backend_name="fake_torino", shots=100, options=opts)
    >>> svc.status(job), max(svc.result(job)[0].items(), key=lambda kv: kv[1])[0]
    ('DONE', 1)
    """

    name = "local-fake"

    def __init__(self, *, compact: bool = True) -> None:
        self.compact = bool(compact)

    def backend(self, name: str) -> Any:
        return fake_device(name).backend

    def device(self, name: str) -> NoisyDevice:
        """The cached :class:`NoisyDevice` of a backend."""
        return fake_device(name)

    def submit(self, isa_circuits, *, backend_name, shots, options=None, mode="job", session_id=None) -> str:
        from qiskit_ibm_runtime import SamplerV2

        if mode not in ("job", "batch", "session"):
            raise ServiceError(f"unknown execution mode {mode!r}; choose job, batch or session")
        shots = int(shots)
        if shots < 1:
            raise ServiceError(f"shots must be >= 1, got {shots}")
        device = fake_device(backend_name)
        circuits = list(isa_circuits)
        for i, qc in enumerate(circuits):
            _check_isa(qc, device.backend.target, backend_name, i)
        opts = dict(options or {})
        ignored = []
        if (opts.get("dynamical_decoupling") or {}).get("enable"):
            ignored.append("dynamical_decoupling")
        tw = opts.get("twirling") or {}
        ignored += [f"twirling.{k}" for k in ("enable_gates", "enable_measure") if tw.get(k)]
        seed = (opts.get("simulator") or {}).get("seed_simulator")
        job_id = str(uuid.uuid4())
        job = _LocalJob(
            backend_name=device.name,
            status="RUNNING",
            meta={"ignored_options": ignored, "mode": mode, "shots": shots, "active_qubits": []},
        )
        try:
            for i, qc in enumerate(circuits):
                active = _active_qubits(qc)
                if self.compact:
                    sim, run_qc = device.simulator(active), _compact(qc, active)
                else:
                    sim, run_qc = device.simulator(None), qc
                sopts: dict[str, Any] = {"default_shots": shots}
                if seed is not None:
                    sopts["simulator"] = {"seed_simulator": _sim_seed(seed, i)}
                with warnings.catch_warnings():
                    warnings.filterwarnings(
                        "ignore", message=_SAMPLER_DEPRECATION, category=DeprecationWarning
                    )
                    sampler = SamplerV2(mode=sim, options=sopts)
                res = sampler.run([run_qc], shots=shots).result()
                job.counts.append(counts_from_pub_result(res[0]))
                job.simulators.append(sim)
                job.meta["active_qubits"].append(active)
            job.status = "DONE"
        except Exception as exc:  # a failed simulation is a failed job, as on hardware
            job.status, job.error = "ERROR", redact(f"{type(exc).__name__}: {exc}")
            job.counts = []
        with _LOCAL_JOBS_LOCK:
            _LOCAL_JOBS[job_id] = job
        return job_id

    @staticmethod
    def _get(job_id: str) -> _LocalJob:
        with _LOCAL_JOBS_LOCK:
            job = _LOCAL_JOBS.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no local job {job_id} (local jobs live in memory, in this process only)")
        return job

    def status(self, job_id: str) -> str:
        return self._get(job_id).status

    def result(self, job_id: str) -> list[dict[int, int]]:
        job = self._get(job_id)
        if job.status in ("ERROR", "CANCELLED"):
            raise JobFailedError(job_id, job.status, job.error)
        if job.status != "DONE":
            raise JobPendingError(job_id, job.status)
        return [dict(c) for c in job.counts]

    def cancel(self, job_id: str) -> None:
        job = self._get(job_id)
        if job.status not in FINAL_STATUSES:
            job.status = "CANCELLED"

    def error_message(self, job_id: str) -> str | None:
        return self._get(job_id).error

    def job_meta(self, job_id: str) -> dict[str, Any]:
        """Backend, mode, shots, active physical qubits and ignored options of a local job."""
        job = self._get(job_id)
        return {"backend": job.backend_name, **job.meta}

    def simulator_of(self, job_id: str, index: int = 0) -> Any:
        """The ``AerSimulator`` object that ran circuit ``index`` of a job (for cache checks)."""
        return self._get(job_id).simulators[index]


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
