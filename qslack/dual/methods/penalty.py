"""Baselines that do not update: the slack-free form frozen at its start, and the slack QUBO.

``fixed-penalty`` samples ``H(x; lam0, rho0)`` at every step (with the default
``lam0`` this is step 0 of every Lagrangian method).  ``slack-penalty`` samples
qiskit-optimization's slack QUBO (one scalar penalty, binary slack bits): the
encoding the qubit savings are measured against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options

__all__ = ["FIXED", "SLACK"]


def _init(name: str):  # type: ignore[no-untyped-def]
    def init(
        ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return resolve_options(name, {}, options), {"t": 0}

    return init


def _update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    return Update(state.lam, {"t": int(state.method_state["t"]) + 1}, 0.0, "fixed")


FIXED = Method("fixed-penalty", {}, _init("fixed-penalty"), _update, doc=__doc__ or "")
SLACK = Method("slack-penalty", {}, _init("slack-penalty"), _update, slack_qubo=True, doc=__doc__ or "")
