"""qslack: slack-free Lagrangian QUBOs and dual loops around QAOA.

Public names are re-exported lazily, so ``import qslack`` stays fast and
imports neither qiskit, Aer nor OR-Tools.

Examples
--------
>>> import qslack
>>> ld = qslack.load_instance("mknap1#1")
>>> prog = qslack.build_program(ld)
>>> prog.n_vars, prog.n_cons
(6, 10)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "QslackError": "qslack.exceptions",
    "ParseError": "qslack.exceptions",
    "ValidationError": "qslack.exceptions",
    "OptionError": "qslack.exceptions",
    "ResourceError": "qslack.exceptions",
    "BinaryProgram": "qslack.model.program",
    "QUBO": "qslack.model.qubo",
    "LagrangianForm": "qslack.model.lagrangian",
    "slack_qubo": "qslack.model.slack",
    "SampleSet": "qslack.samplers.base",
    "Sampler": "qslack.samplers.base",
    "ExactSampler": "qslack.samplers.exact",
    "RandomSampler": "qslack.samplers.random",
    "build_tsp": "qslack.problems.tsp",
    "build_mdkp": "qslack.problems.mdkp",
    "build_mis": "qslack.problems.mis",
    "load_instance": "qslack.problems.catalog",
    "build_program": "qslack.problems.catalog",
    "read_tsplib": "qslack.formats.tsplib",
    "read_mdkp": "qslack.formats.orlib",
    "read_dimacs": "qslack.formats.dimacs",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'qslack' has no attribute {name!r}")
    value = getattr(import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
