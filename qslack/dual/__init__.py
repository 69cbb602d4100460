"""The dual loop as pure functions of a frozen state: methods from one registry.

``init_state`` -> (``ask`` -> sample -> ``step``)* -> ``result``.  The loop that
drives it, stores it and stops it is :mod:`qslack.runs` (``qslack.runs.solve_dual``
for the plain in-memory loop).
"""

from qslack._rng import step_seed
from qslack.dual.methods import METHODS, get_method
from qslack.dual.problem import DualProblem, default_multipliers
from qslack.dual.result import DualIterate, DualResult, gap
from qslack.dual.state import Cut, DualState, Incumbent
from qslack.dual.step import Request, ask, init_state, result, step

__all__ = [
    "METHODS",
    "Cut",
    "DualIterate",
    "DualProblem",
    "DualResult",
    "DualState",
    "Incumbent",
    "Request",
    "ask",
    "default_multipliers",
    "gap",
    "get_method",
    "init_state",
    "result",
    "step",
    "step_seed",
]
