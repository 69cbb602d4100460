"""Service errors and the redaction every message goes through.

Job statuses (:data:`STATUSES`), the error types of the service layer, and the
:class:`Secret` registry with :func:`redact`: a token is never printed,
logged, stored or put in an exception message.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from qslack.exceptions import QslackError

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "AuthenticationError",
    "CredentialsError",
    "JobFailedError",
    "JobNotFoundError",
    "JobPendingError",
    "Secret",
    "ServiceError",
    "TransientServiceError",
    "redact",
]

#: job statuses reported by every service
STATUSES = ("QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED")
FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED")
_REDACTED = "<redacted>"
_TOKEN_ENV = "QISKIT_IBM_TOKEN"
_INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
_CHANNEL_ENV = "QISKIT_IBM_CHANNEL"
_DEFAULT_CHANNEL = "ibm_quantum_platform"
_SAMPLER_DEPRECATION = r"The SamplerV2 class is deprecated"


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
