"""Hardware profiles: one TOML file per target in ``hardware_profiles/``.

A profile says where QAOA circuits run (a local Aer simulator, a fake IBM
backend with its noise model, or a real IBM backend) and how: shots, the
transpiler's optimisation level, seed and layout method, the execution mode
(job, batch, session), error suppression (dynamical decoupling, gate and
measurement twirling) and the largest circuit the target accepts.

The file's keys are the fields of :class:`HardwareProfile`, flat::

    name = "ibm-torino"          # must equal the file stem
    kind = "ibm"                 # aer-statevector | aer-mps | aer-gpu | fake | ibm
    backend = "ibm_torino"       # the provider's own backend name
    shots = 4096
    optimization_level = 2
    seed_transpiler = 1234
    layout = "sabre"             # default | trivial | dense | sabre
    mode = "batch"               # job | batch | session
    dynamical_decoupling = "XY4" # XX | XpXm | XY4, or false / "none" for off
    gate_twirling = true
    measure_twirling = true
    max_qubits = 133
    max_depth = 1000
    description = "..."

Unknown keys, wrong types, bad enumeration values and missing required keys
raise :class:`~qslack.exceptions.ValidationError` naming the file and the key;
a file that is not valid TOML raises :class:`~qslack.exceptions.ParseError`.

This module imports the standard library only.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from qslack._sys import load_toml
from qslack.exceptions import ResourceError, ValidationError

__all__ = [
    "DD_SEQUENCES",
    "KINDS",
    "LAYOUTS",
    "MODES",
    "HardwareProfile",
    "check_fits",
    "list_profiles",
    "load_profile",
    "profiles_dir",
]

#: profile kinds and the backend names each accepts
KINDS = ("aer-statevector", "aer-mps", "aer-gpu", "fake", "ibm")
LAYOUTS = ("default", "trivial", "dense", "sabre")
MODES = ("job", "batch", "session")
#: dynamical decoupling sequences of qiskit-ibm-runtime's ``DynamicalDecouplingOptions``
DD_SEQUENCES = ("XX", "XpXm", "XY4")

_BACKEND_PATTERNS = {
    "aer-statevector": re.compile(r"^aer_simulator(_statevector)?$"),
    "aer-mps": re.compile(r"^aer_simulator(_matrix_product_state)?$"),
    "aer-gpu": re.compile(r"^aer_simulator(_statevector)?(_gpu)?$"),
    "fake": re.compile(r"^fake_[a-z0-9_]+$"),
    "ibm": re.compile(r"^ibm_[a-z0-9_]+$"),
}
_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_REQUIRED = ("name", "kind", "backend", "shots", "max_qubits", "max_depth")
_ENV_DIR = "QSLACK_PROFILES"


@dataclass(frozen=True)
class HardwareProfile:
    """Where and how QAOA circuits run.

    Parameters
    ----------
    name : str
        Hyphenated profile name (``"fake-torino"``), equal to the file stem.
    kind : {"aer-statevector", "aer-mps", "aer-gpu", "fake", "ibm"}
        Local Aer simulator, fake IBM backend (noise model, local mode) or a
        real IBM backend.
    backend : str
        The provider's own name: ``"ibm_torino"``, ``"fake_torino"``,
        ``"aer_simulator_statevector"``...
    shots : int
        Shots per circuit.
    optimization_level : int
        Preset pass manager level, 0 to 3.
    seed_transpiler : int, optional
        Transpiler seed; ``None`` uses the sampler's seed.
    layout : {"default", "trivial", "dense", "sabre"}
        Initial layout method (``"default"``: the preset pass manager's choice).
    mode : {"job", "batch", "session"}
        qiskit-ibm-runtime execution mode.
    dynamical_decoupling : {"XX", "XpXm", "XY4"}, optional
        Dynamical decoupling sequence, ``None`` for off.
    gate_twirling, measure_twirling : bool
        Pauli twirling of two-qubit gates and of measurements.
    max_qubits : int
        Largest number of (active physical) qubits accepted.
    max_depth : int
        Largest transpiled circuit depth accepted.
    description : str

    Examples
    --------
    >>> p = HardwareProfile(name="fake-x", kind="fake", backend="fake_torino", shots=100,
    ...                     max_qubits=20, max_depth=500)
    >>> p.mode, p.layout, p.runtime_options()["default_shots"]
    ('job', 'default', 100)
    """

    name: str
    kind: str
    backend: str
    shots: int
    max_qubits: int
    max_depth: int
    optimization_level: int = 2
    seed_transpiler: int | None = None
    layout: str = "default"
    mode: str = "job"
    dynamical_decoupling: str | None = None
    gate_twirling: bool = False
    measure_twirling: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        _validate(self, "<HardwareProfile>")

    # ---------------------------------------------------------------- build
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | os.PathLike = "<dict>") -> HardwareProfile:
        """A profile from a mapping (the parsed TOML), validated key by key.

        ``source`` (the file) is named in every error.
        """
        src = str(source)
        if not isinstance(data, dict):
            raise ValidationError(f"{src}: a profile must be a table of keys, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ValidationError(f"{src}: unknown key {key!r}; allowed keys: {', '.join(sorted(known))}")
        for key in _REQUIRED:
            if key not in data:
                raise ValidationError(f"{src}: missing required key {key!r}")
        kwargs = dict(data)
        if "dynamical_decoupling" in kwargs:
            dd = kwargs["dynamical_decoupling"]
            if dd is False or (isinstance(dd, str) and dd.lower() == "none"):
                kwargs["dynamical_decoupling"] = None
        _check_types(kwargs, src)
        obj = cls.__new__(cls)
        defaults = {f.name: f.default for f in fields(cls)}
        for f in fields(cls):
            object.__setattr__(obj, f.name, kwargs.get(f.name, defaults[f.name]))
        _validate(obj, src)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The profile as a plain dict (``dynamical_decoupling`` ``None`` when off).

        Examples
        --------
        >>> p = load_profile("fake-torino")
        >>> HardwareProfile.from_dict(p.to_dict()) == p
        True
        """
        return asdict(self)

    def runtime_options(self) -> dict[str, Any]:
        """qiskit-ibm-runtime ``SamplerV2`` options of this profile.

        ``default_shots``, ``dynamical_decoupling.enable/sequence_type`` and
        ``twirling.enable_gates/enable_measure``.
        """
        dd: dict[str, Any] = {"enable": self.dynamical_decoupling is not None}
        if self.dynamical_decoupling is not None:
            dd["sequence_type"] = self.dynamical_decoupling
        return {
            "default_shots": int(self.shots),
            "dynamical_decoupling": dd,
            "twirling": {
                "enable_gates": bool(self.gate_twirling),
                "enable_measure": bool(self.measure_twirling),
            },
        }

    @property
    def layout_method(self) -> str | None:
        """``layout`` as ``generate_preset_pass_manager``'s ``layout_method`` (``None`` for default)."""
        return None if self.layout == "default" else self.layout


# --------------------------------------------------------------------------- validation
_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "kind": (str,),
    "backend": (str,),
    "shots": (int,),
    "max_qubits": (int,),
    "max_depth": (int,),
    "optimization_level": (int,),
    "seed_transpiler": (int,),
    "layout": (str,),
    "mode": (str,),
    "dynamical_decoupling": (str,),
    "gate_twirling": (bool,),
    "measure_twirling": (bool,),
    "description": (str,),
}
_OPTIONAL_NONE = ("seed_transpiler", "dynamical_decoupling")


def _type_name(types: tuple[type, ...]) -> str:
    return {"int": "an integer", "str": "a string", "bool": "a boolean (true/false)"}[types[0].__name__]


def _check_types(values: dict[str, Any], src: str) -> None:
    for key, val in values.items():
        types = _TYPES[key]
        if val is None and key in _OPTIONAL_NONE:
            continue
        ok = isinstance(val, types)
        if types == (int,) and isinstance(val, bool):
            ok = False
        if not ok:
            raise ValidationError(f"{src}: key {key!r} must be {_type_name(types)}, got {val!r}")


def _enum(src: str, key: str, val: Any, allowed: tuple[str, ...]) -> None:
    if val not in allowed:
        raise ValidationError(f"{src}: key {key!r} must be one of {', '.join(allowed)}; got {val!r}")


def _validate(p: HardwareProfile, src: str) -> None:
    _check_types({f.name: getattr(p, f.name) for f in fields(p)}, src)
    if not _NAME_RE.match(p.name):
        raise ValidationError(f"{src}: key 'name' must be lower-case words joined by hyphens, got {p.name!r}")
    _enum(src, "kind", p.kind, KINDS)
    if not _BACKEND_PATTERNS[p.kind].match(p.backend):
        want = {
            "fake": "a fake backend name such as 'fake_torino'",
            "ibm": "an IBM backend name such as 'ibm_torino'",
        }.get(p.kind, f"an Aer simulator name matching {_BACKEND_PATTERNS[p.kind].pattern}")
        raise ValidationError(f"{src}: key 'backend' of kind {p.kind!r} must be {want}, got {p.backend!r}")
    for key in ("shots", "max_qubits", "max_depth"):
        if getattr(p, key) < 1:
            raise ValidationError(f"{src}: key {key!r} must be >= 1, got {getattr(p, key)}")
    if not 0 <= p.optimization_level <= 3:
        raise ValidationError(
            f"{src}: key 'optimization_level' must be 0, 1, 2 or 3, got {p.optimization_level}"
        )
    if p.seed_transpiler is not None and p.seed_transpiler < 0:
        raise ValidationError(f"{src}: key 'seed_transpiler' must be >= 0, got {p.seed_transpiler}")
    _enum(src, "layout", p.layout, LAYOUTS)
    _enum(src, "mode", p.mode, MODES)
    if p.dynamical_decoupling is not None:
        _enum(src, "dynamical_decoupling", p.dynamical_decoupling, DD_SEQUENCES)
    if p.kind.startswith("aer-"):
        if p.mode != "job":
            raise ValidationError(f"{src}: key 'mode' must be 'job' for kind {p.kind!r}, got {p.mode!r}")
        for key in ("dynamical_decoupling", "gate_twirling", "measure_twirling"):
            if getattr(p, key):
                raise ValidationError(f"{src}: key {key!r} is not available on kind {p.kind!r}")


# --------------------------------------------------------------------------- files
def profiles_dir(dir: str | os.PathLike | None = None) -> Path:
    """The profile directory: ``dir``, else ``$QSLACK_PROFILES``, else the repository's
    ``hardware_profiles/``."""
    if dir is not None:
        return Path(dir)
    env = os.environ.get(_ENV_DIR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "hardware_profiles"


def _read(path: Path) -> HardwareProfile:
    data = load_toml(path, "profile")
    prof = HardwareProfile.from_dict(data, source=path)
    if prof.name != path.stem:
        raise ValidationError(
            f"{path}: key 'name' is {prof.name!r} but must equal the file stem {path.stem!r}"
        )
    return prof


def load_profile(name_or_path: str | os.PathLike, *, dir: str | os.PathLike | None = None) -> HardwareProfile:
    """Load and validate one profile, by name (``"fake-torino"``) or by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A profile name, looked up as ``<dir>/<name>.toml``, or a ``.toml`` path.
    dir : path-like, optional
        Profile directory (default: :func:`profiles_dir`).

    Examples
    --------
    >>> p = load_profile("fake-torino")
    >>> p.kind, p.backend
    ('fake', 'fake_torino')
    """
    text = os.fspath(name_or_path)
    is_path = isinstance(name_or_path, os.PathLike) or text.endswith(".toml") or os.sep in text or "/" in text
    if is_path:
        path = Path(text)
        if not path.is_file():
            raise ValidationError(f"no profile file {path}")
        return _read(path)
    base = profiles_dir(dir)
    path = base / f"{text}.toml"
    if not path.is_file():
        names = sorted(p.stem for p in base.glob("*.toml")) if base.is_dir() else []
        raise ValidationError(
            f"unknown hardware profile {text!r} in {base}; available: {', '.join(names) or 'none'}"
        )
    return _read(path)


def list_profiles(dir: str | os.PathLike | None = None) -> list[HardwareProfile]:
    """Every profile of the directory, validated, sorted by name.

    Examples
    --------
    >>> [p.name for p in list_profiles() if p.kind == "fake"]
    ['fake-fez', 'fake-marrakesh', 'fake-torino']
    """
    base = profiles_dir(dir)
    if not base.is_dir():
        raise ValidationError(f"profile directory {base} does not exist")
    return [_read(path) for path in sorted(base.glob("*.toml"))]


def check_fits(profile: HardwareProfile, n_qubits: int, depth: int | None = None) -> None:
    """Raise :class:`~qslack.exceptions.ResourceError` if a circuit exceeds the profile's limits.

    Examples
    --------
    >>> p = load_profile("fake-torino")
    >>> check_fits(p, 4, 50)
    >>> try:
    ...     check_fits(p, 4, 10**9)
    ... except ResourceError as exc:
    ...     print(str(exc).split(":")[0])
    profile 'fake-torino'
    """
    if n_qubits > profile.max_qubits:
        raise ResourceError(
            f"profile {profile.name!r}: the circuit needs {n_qubits} qubits, "
            f"the profile accepts at most max_qubits={profile.max_qubits} (backend {profile.backend})"
        )
    if depth is not None and depth > profile.max_depth:
        raise ResourceError(
            f"profile {profile.name!r}: the transpiled circuit has depth {depth}, "
            f"the profile accepts at most max_depth={profile.max_depth} (backend {profile.backend})"
        )
