"""The reference optimum of a loaded instance, and where it came from.

Every run is measured against one value.  It must not depend on whether
CP-SAT happens to prove optimality within its time limit, so a value the
instance comes with always wins; OR-Tools only fills in where nothing is
known.  In order:

1. the instance's known optimum (:attr:`Loaded.known_optimum`), with its
   source as the catalog recorded it: ``"manifest: <source>"``, ``"file
   <path>"`` (the optimum an OR-Library file states), ``"opt.sol file
   <path>"`` (QOBLIB/DIMACS, next to the graph), ``"opt.tour file <path>"``
   (TSPLIB), ``"best-known table <path> row <r> (...)"`` (OR-Library mkcbres);
2. ``"OR-Tools proven"``: the reference solve proved its objective optimal;
3. ``"OR-Tools best found (not proven)"``: its best objective, no proof.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ReferenceOptimum", "reference_optimum"]

#: source texts of OR-Tools values (:attr:`ReferenceOptimum.source`)
ORTOOLS_PROVEN = "OR-Tools proven"
ORTOOLS_BEST_FOUND = "OR-Tools best found (not proven)"


@dataclass(frozen=True)
class ReferenceOptimum:
    """A reference optimum in the problem's native sense.

    Attributes
    ----------
    value : float or None
        None when nothing is known and OR-Tools gave no value.
    source : str or None
        Where ``value`` comes from (see the module docstring).
    optimal : bool
        Whether ``value`` is known to be optimal (a published or stated
        optimum, a verified ``.opt.sol``/``.opt.tour``, or an OR-Tools
        proof), as opposed to a best-known or best-found value.
    """

    value: float | None
    source: str | None
    optimal: bool

    @property
    def for_gaps(self) -> float | None:
        """The value gaps are measured against: ``value``, except an unproven OR-Tools value.

        Examples
        --------
        >>> ReferenceOptimum(10.0, "OR-Tools best found (not proven)", False).for_gaps is None
        True
        >>> ReferenceOptimum(7542.0, "manifest: TSPLIB solutions file", True).for_gaps
        7542.0
        """
        return None if self.source == ORTOOLS_BEST_FOUND else self.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {"value": self.value, "source": self.source, "optimal": self.optimal}


def reference_optimum(loaded: Any, reference: Mapping[str, Any] | None = None) -> ReferenceOptimum:
    """The optimum a run on ``loaded`` is measured against, and its source.

    Parameters
    ----------
    loaded : Loaded
        From :func:`qslack.problems.catalog.load_instance`.
    reference : mapping, optional
        The OR-Tools reference as the runner stores it (``objective``,
        ``optimal``; or ``error``).  Used only when the instance has no known
        optimum.

    Returns
    -------
    ReferenceOptimum

    Examples
    --------
    >>> from qslack.problems.catalog import load_instance
    >>> reference_optimum(load_instance("farm"), {"objective": 9.0, "optimal": False})
    ReferenceOptimum(value=10.0, source='manifest: QOBLIB farm.opt.sol', optimal=True)
    >>> ld = load_instance("gen:mis?n=8&p=0.4&seed=1")
    >>> reference_optimum(ld, {"objective": 4.0, "optimal": True}).source
    'OR-Tools proven'
    >>> reference_optimum(ld, {"objective": 4.0, "optimal": False}).for_gaps is None
    True
    >>> reference_optimum(ld, {"error": "no OR-Tools"})
    ReferenceOptimum(value=None, source=None, optimal=False)
    """
    known = getattr(loaded, "known_optimum", None)
    if known is not None:
        source = getattr(loaded, "optimum_source", None) or "instance"
        return ReferenceOptimum(float(known), source, "not proven optimal" not in source)
    ref = reference or {}
    if ref.get("objective") is None or ref.get("error"):
        return ReferenceOptimum(None, None, False)
    if ref.get("optimal"):
        return ReferenceOptimum(float(ref["objective"]), ORTOOLS_PROVEN, True)
    return ReferenceOptimum(float(ref["objective"]), ORTOOLS_BEST_FOUND, False)
