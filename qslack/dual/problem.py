"""What the dual loop knows of the problem: the form, the hooks, the optimum, the exactness of the oracle.

A :class:`DualProblem` is fixed for a run; everything that changes is in the
:class:`~qslack.dual.state.DualState`.  Rows added lazily live in the state as
opaque specs; :meth:`DualProblem.form_for` rebuilds (and caches) the form of
the program with those rows through the problem's hooks.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qslack.model.hooks import ProblemHooks
from qslack.model.lagrangian import LagrangianForm
from qslack.model.program import BinaryProgram

__all__ = ["DualProblem", "default_multipliers"]


def default_multipliers(form: LagrangianForm, rho: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem defaults ``(lam0, rho0)``; ``rho`` scales the quadratic weights.

    ``rho_k = rho * c_max / max|a_k|**2`` with ``c_max`` the largest objective
    coefficient, so a unit violation of row ``k`` costs about ``rho * c_max``:
    TSP position — row/col equalities; TSP edge — degree equalities (subtour
    rows get ``rho = 0``); MDKP — capacity rows (the unbalanced shape); MIS —
    product rows start at weight 1 with ``rho = 0``.  ``lam0 = 0`` elsewhere.

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-4.0, -2.0], A=[[2.0, 1.0]], b=[2.0], sense="<=")
    >>> lam0, rho0 = default_multipliers(LagrangianForm(p), rho=0.5)
    >>> lam0.tolist(), rho0.tolist()
    ([0.0], [0.5])
    """
    p = form.program
    c_max = float(max(np.abs(p.c).max(initial=0.0), np.abs(p.quadratic_terms()[2]).max(initial=0.0), 1e-12))
    amax = np.abs(p.A).max(axis=1) if p.n_cons else np.zeros(0)
    rho0 = rho * c_max / np.maximum(amax, 1e-12) ** 2
    lam0 = np.zeros(p.n_cons)
    groups = np.array(p.con_groups, dtype=object)
    rho0[groups == "subtour"] = 0.0
    rho0[form.is_product] = 0.0
    lam0[form.is_product] = 1.0
    return lam0, rho0


@dataclass(frozen=True, eq=False)
class DualProblem:
    """The fixed facts of a dual-loop run.

    Parameters
    ----------
    form : LagrangianForm
        The slack-free form of the program as built (no lazy rows).
    hooks : ProblemHooks
        Repair, lazy-row separation and restoration, decoding.
    optimum : float, optional
        Known optimum in the native sense (gaps, ``p_optimal``).
    certified_bound : float, optional
        A bound proven elsewhere (e.g. the LP relaxation), native sense.

    Whether a step's lowest sample is a proven minimiser is the sampler's to
    say, per call (:attr:`qslack.samplers.base.SampleSet.exact`).

    Examples
    --------
    >>> p = BinaryProgram.from_arrays(c=[-1.0, -2.0], A=[[1.0, 1.0]], b=[1.0], sense="<=")
    >>> prob = DualProblem(LagrangianForm(p), optimum=-2.0)
    >>> prob.sense, prob.native(-2.0)
    ('min', -2.0)
    """

    form: LagrangianForm
    hooks: ProblemHooks = field(default_factory=ProblemHooks)
    optimum: float | None = None
    certified_bound: float | None = None
    _forms: dict[tuple[str, ...], LagrangianForm] = field(default_factory=dict, repr=False)

    @property
    def program(self) -> BinaryProgram:
        """The program as built (without lazy rows)."""
        return self.form.program

    @property
    def sense(self) -> str:
        """``"max"`` or ``"min"``: the native sense."""
        return str(self.program.metadata.get("sense", "min"))

    def native(self, v: float | None) -> float | None:
        """An internal (minimisation) value in the native sense."""
        return None if v is None else float(self.program.native(v))

    def internal(self, v: float | None) -> float | None:
        """A native value in the internal (minimisation) sense."""
        return None if v is None else float(self.program.native(v))  # the map is its own inverse

    def form_for(self, rows: Sequence[Mapping[str, Any]]) -> LagrangianForm:
        """The form of the program with the lazy ``rows`` appended (cached per row set)."""
        if not rows:
            return self.form
        import json

        key = tuple(json.dumps(dict(r), sort_keys=True) for r in rows)
        form = self._forms.get(key)
        if form is None:
            form = self.form.with_program(self.hooks.add_rows(self.program, list(rows)))
            self._forms.clear()  # only the newest row set is ever asked again
            self._forms[key] = form
        return form

    @functools.cached_property
    def slack(self) -> Any:
        """qiskit-optimization's slack encoding of the program (for the slack-penalty baseline)."""
        from qslack.model.slack import slack_qubo

        return slack_qubo(self.program)
