"""The dual loop: ask/tell solver, methods registry, results."""

from qslack.dual.api import DualSolver, default_multipliers, solve_dual, step_seed
from qslack.dual.methods import METHODS
from qslack.dual.result import DualIterate, DualResult, gap

__all__ = [
    "METHODS",
    "DualIterate",
    "DualResult",
    "DualSolver",
    "default_multipliers",
    "gap",
    "solve_dual",
    "step_seed",
]
