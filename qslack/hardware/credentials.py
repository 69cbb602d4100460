"""IBM Quantum credentials: ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` (and ``QISKIT_IBM_CHANNEL``),
else a saved Qiskit account; the token is held in a :class:`~qslack.hardware.errors.Secret`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from qslack.exceptions import DependencyError
from qslack.hardware.errors import (
    _CHANNEL_ENV,
    _DEFAULT_CHANNEL,
    _INSTANCE_ENV,
    _REDACTED,
    _TOKEN_ENV,
    CredentialsError,
    Secret,
    redact,
)

__all__ = ["Credentials", "credentials"]


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
    qslack.hardware.errors.CredentialsError: $QISKIT_IBM_INSTANCE is not a valid CRN ...
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
