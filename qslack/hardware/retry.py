"""Which service faults are transient (retried with capped backoff) and which are permanent.

Connection errors, HTTP 5xx and 429 are retried; refused credentials (401/403,
qiskit-ibm-runtime's account errors) fail at once.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from qslack.hardware.errors import (
    _INSTANCE_ENV,
    _TOKEN_ENV,
    AuthenticationError,
    ServiceError,
    TransientServiceError,
    redact,
)

__all__ = ["is_auth_error", "is_transient", "with_retries"]

T = TypeVar("T")

log = logging.getLogger(__name__)


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
