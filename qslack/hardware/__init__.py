"""Hardware targets: profiles, and every call to IBM's service, split by topic.

- :mod:`~qslack.hardware.profiles`: ``hardware_profiles/*.toml``;
- :mod:`~qslack.hardware.errors`: job statuses, service errors, :class:`Secret` and :func:`redact`;
- :mod:`~qslack.hardware.credentials`: where the token comes from;
- :mod:`~qslack.hardware.retry`: which faults are transient, retries with capped backoff;
- :mod:`~qslack.hardware.service`: the :class:`IBMService` interface, the real service and the
  retrying wrapper;
- :mod:`~qslack.hardware.local`: fake backends with noise models, in this process;
- :mod:`~qslack.hardware.sampler`: :class:`IBMSampler`, QAOA on those services (it uses the
  samplers layer; the samplers layer never imports hardware).

Test doubles (a faulty service, a simulated crash) live in :mod:`qslack.testing.faults`.
Importing this package imports the standard library and numpy only; qiskit, qiskit-aer
and qiskit-ibm-runtime load when a service first needs them.
"""

from __future__ import annotations

from qslack.hardware.credentials import Credentials, credentials
from qslack.hardware.errors import (
    FINAL_STATUSES,
    STATUSES,
    AuthenticationError,
    CredentialsError,
    JobFailedError,
    JobNotFoundError,
    JobPendingError,
    Secret,
    ServiceError,
    TransientServiceError,
    redact,
)
from qslack.hardware.local import LocalFakeService, NoisyDevice, fake_device
from qslack.hardware.profiles import (
    DD_SEQUENCES,
    KINDS,
    LAYOUTS,
    MODES,
    HardwareProfile,
    check_fits,
    list_profiles,
    load_profile,
    profiles_dir,
)
from qslack.hardware.retry import is_auth_error, is_transient, with_retries
from qslack.hardware.service import IBMService, RetryingService, RuntimeService, counts_from_pub_result

__all__ = [
    "DD_SEQUENCES",
    "FINAL_STATUSES",
    "KINDS",
    "LAYOUTS",
    "MODES",
    "STATUSES",
    "AuthenticationError",
    "Credentials",
    "CredentialsError",
    "HardwareProfile",
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
    "TransientServiceError",
    "check_fits",
    "counts_from_pub_result",
    "credentials",
    "fake_device",
    "is_auth_error",
    "is_transient",
    "list_profiles",
    "load_profile",
    "profiles_dir",
    "redact",
    "with_retries",
]
