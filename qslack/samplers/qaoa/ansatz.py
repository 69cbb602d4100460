"""QAOA ansätze beyond the X mixer: XY mixers on one-hot groups, warm starts, initial states.

Every layer is ``exp(-i beta_l M) exp(-i gamma_l H / scale)`` applied to an
initial state ``|s>``.  One convention holds for every mixer ``M`` here: the
default initial state is the **top** eigenstate of ``M`` (eigenvalue
``max``), as ``|+>^n`` is for ``M = sum_j X_j``.  Minimising ``H``, the
annealing path from ``|s>`` is ``H(t) = -(1 - t) M + t H``, whose Trotter
steps have ``gamma > 0`` and ``beta < 0``; this is also the LR-QAOA
convention (:func:`qslack.samplers.qaoa.angles.lr_schedule`).

Mixers
------
``"x"``
    ``M = sum_j X_j``; the layer is ``prod_j exp(-i beta X_j)`` (``RX(2 beta)``).
``"xy-ring"`` / ``"xy-complete"`` (Hadfield et al., Algorithms 12, 34 (2019);
Wang et al., PRA 101, 012320 (2020))
    Inside each group ``G`` of qubits (one-hot variables), two-qubit XY
    rotations ``exp(-i beta (X_a X_b + Y_a Y_b) / 2)`` over the pairs of a
    ring or of the complete graph on ``G``; qubits in no group get the X
    mixer.  ``(XX + YY) / 2`` swaps ``|01>`` and ``|10>`` and kills ``|00>``,
    ``|11>``, so each rotation is ``cos(beta) - i sin(beta) SWAP`` on the
    ``{|01>, |10>}`` pair of amplitudes and the identity on the others: it
    keeps the Hamming weight of every group, hence one-hot states stay
    one-hot exactly.  The pair rotations do not commute; the layer applies
    their **product** in a fixed order (one first-order Trotter step of
    ``exp(-i beta sum_pairs (XX + YY) / 2)``; the product itself is the mixer,
    as in Wang et al., and the circuits apply the same product):

    * ring on ``G = (g_0, ..., g_{k-1})`` (in the order given): first the even
      pairs ``(g_0, g_1), (g_2, g_3), ...``, then the odd pairs
      ``(g_1, g_2), (g_3, g_4), ...``, then the closing pair ``(g_{k-1}, g_0)``
      (for ``k > 2``; ``k = 2`` has the one pair ``(g_0, g_1)``);
    * complete: all pairs ``(g_a, g_b)``, ``a < b``, in lexicographic order.

    The default initial state is the product over the groups of the W state
    ``(1/sqrt(k)) sum_a |e_a>`` (``|+>`` on the free qubits): the top eigenstate
    of the ring's and the complete graph's hopping matrix on the one-hot
    subspace.
``"warm"`` (Egger, Marecek, Woerner, Quantum 5, 479 (2021))
    From ``c`` in ``[eps, 1 - eps]^n`` (a relaxed solution, regularised, see
    :func:`regularise`) and ``theta_j = 2 arcsin(sqrt(c_j))``: the initial state
    ``prod_j RY(theta_j)|0>`` (so ``P(x_j = 1) = c_j``) and per qubit
    ``M_j = RY(theta_j) Z RY(theta_j)^† = (1 - 2 c_j) Z + 2 sqrt(c_j (1 - c_j)) X``,
    whose ``+1`` eigenstate is ``RY(theta_j)|0>``.  ``M_j**2 = I``, so
    ``exp(-i beta M_j) = cos(beta) I - i sin(beta) M_j
    = RY(theta_j) RZ(2 beta) RY(-theta_j)``.  The paper's mixer Hamiltonian is
    ``H_M = -sum_j M_j`` (the initial state is its ground state) and its layer
    ``exp(-i beta H_M)`` (qiskit-optimization's ``WarmStartQAOAFactory``:
    ``RY(theta) RZ(-2 beta) RY(-theta)``); ours is that with ``beta -> -beta``,
    chosen so that ``c_j = 1/2`` gives exactly the X mixer and angles keep one
    meaning across mixers.

Initial states
--------------
``"uniform"`` (``|+>^n``), ``"one-hot"`` (W per group, ``|+>`` elsewhere),
``"warm"`` (the product above) or a basis state given as a 0/1 bitstring (for
example a feasible solution).  Defaults: uniform for ``x``, one-hot for the XY
mixers, warm for ``warm``.

This module is numpy only; the kernels (:mod:`~qslack.samplers.qaoa.kernel_ansatz`,
:mod:`~qslack.samplers.qaoa.kernel_ansatz_gpu`) and the circuits
(:mod:`~qslack.samplers.qaoa.circuit`) read an :class:`Ansatz`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qslack.exceptions import OptionError, ValidationError

__all__ = [
    "INITIAL_STATES",
    "MIXERS",
    "Ansatz",
    "regularise",
    "warm_mixer_matrix",
    "xy_pairs",
]

MIXERS = ("x", "xy-ring", "xy-complete", "warm")
INITIAL_STATES = ("uniform", "one-hot", "warm")
_DEFAULT_INITIAL = {"x": "uniform", "xy-ring": "one-hot", "xy-complete": "one-hot", "warm": "warm"}


def regularise(c: Sequence[float] | np.ndarray, eps: float = 0.25) -> np.ndarray:
    """Egger et al.'s regularisation: ``c_j -> eps`` below ``eps``, ``1 - eps`` above ``1 - eps``.

    ``eps = 0.25`` is qiskit-optimization's default (``WarmStartQAOAOptimizer``);
    ``eps = 0.5`` gives ``c = 1/2`` everywhere, i.e. plain QAOA; ``eps = 0`` keeps
    ``c`` (a 0 or 1 then freezes that qubit under the warm mixer).

    Examples
    --------
    >>> regularise([0.0, 0.4, 1.0]).tolist()
    [0.25, 0.4, 0.75]
    """
    eps = float(eps)
    if not 0.0 <= eps <= 0.5:
        raise ValidationError(f"eps must be in [0, 0.5], got {eps}")
    a = np.asarray(c, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ValidationError("warm-start vector holds a non-finite value")
    bad = np.flatnonzero((a < -1e-9) | (a > 1 + 1e-9))
    if bad.size:
        raise ValidationError(f"warm-start values must be in [0, 1]: c[{bad[0]}] = {a[bad[0]]}")
    return np.clip(a, eps, 1.0 - eps)


def warm_mixer_matrix(c: float, beta: float) -> np.ndarray:
    """``exp(-i beta M)`` with ``M = (1 - 2c) Z + 2 sqrt(c (1 - c)) X`` (basis ``|0>, |1>``).

    Examples
    --------
    >>> np.allclose(warm_mixer_matrix(0.5, 0.3), [[np.cos(0.3), -1j * np.sin(0.3)],
    ...                                           [-1j * np.sin(0.3), np.cos(0.3)]])
    True
    """
    z = 1.0 - 2.0 * c
    x = 2.0 * np.sqrt(c * (1.0 - c))
    cb, sb = np.cos(beta), np.sin(beta)
    return np.array([[cb - 1j * sb * z, -1j * sb * x], [-1j * sb * x, cb + 1j * sb * z]])


def xy_pairs(group: Sequence[int], kind: str) -> list[tuple[int, int]]:
    """The XY pairs of one group in application order (``kind`` ``"ring"`` or ``"complete"``).

    Examples
    --------
    >>> xy_pairs([0, 1, 2, 3, 4], "ring")
    [(0, 1), (2, 3), (1, 2), (3, 4), (4, 0)]
    >>> xy_pairs([5, 6, 7], "complete")
    [(5, 6), (5, 7), (6, 7)]
    >>> xy_pairs([3, 9], "ring")
    [(3, 9)]
    """
    g = [int(q) for q in group]
    k = len(g)
    if kind == "complete":
        return [(g[a], g[b]) for a in range(k) for b in range(a + 1, k)]
    if kind != "ring":
        raise ValidationError(f"XY pair kind must be 'ring' or 'complete', not {kind!r}")
    even = [(g[a], g[a + 1]) for a in range(0, k - 1, 2)]
    odd = [(g[a], g[a + 1]) for a in range(1, k - 1, 2)]
    close = [(g[k - 1], g[0])] if k > 2 else []
    return even + odd + close


def _as_groups(groups: Any, n: int) -> tuple[tuple[int, ...], ...]:
    if groups is None:
        return ()
    out: list[tuple[int, ...]] = []
    seen: dict[int, int] = {}
    for gi, grp in enumerate(groups):
        idx = tuple(int(q) for q in np.asarray(grp, dtype=np.int64).reshape(-1))
        if not idx:
            raise ValidationError(f"group {gi} is empty")
        for q in idx:
            if not 0 <= q < n:
                raise ValidationError(f"group {gi} holds qubit {q}, outside 0..{n - 1} (n={n})")
            if q in seen:
                raise ValidationError(
                    f"qubit {q} is in group {seen[q]} and group {gi}: groups must be disjoint"
                )
            seen[q] = gi
        out.append(idx)
    return tuple(out)


@dataclass(frozen=True)
class Ansatz:
    """Mixer and initial state of a QAOA circuit on ``n`` qubits (build with :meth:`build`).

    Attributes
    ----------
    n : int
        Number of qubits.
    mixer : {"x", "xy-ring", "xy-complete", "warm"}
    initial : {"uniform", "one-hot", "warm", "basis"}
    groups : tuple of tuple of int
        Disjoint one-hot groups (XY mixers, one-hot initial state).
    warm : tuple of float, optional
        The regularised ``c`` of the warm mixer / state.
    bits : tuple of int, optional
        The basis state of ``initial = "basis"``.
    eps : float
        Regularisation of the warm-start vector.
    warm_start : tuple of float, optional
        The warm-start vector as given (before regularisation).

    Examples
    --------
    >>> a = Ansatz.build(4, mixer="xy-ring", groups=[[0, 1], [2, 3]])
    >>> a.initial, a.free_qubits
    ('one-hot', ())
    >>> psi = a.initial_state()
    >>> np.flatnonzero(np.abs(psi) > 0).tolist()   # one 1 in bits {0, 1} and one in bits {2, 3}
    [5, 6, 9, 10]
    >>> Ansatz.build(3).is_default
    True
    """

    n: int
    mixer: str = "x"
    initial: str = "uniform"
    groups: tuple[tuple[int, ...], ...] = ()
    warm: tuple[float, ...] | None = None
    bits: tuple[int, ...] | None = None
    eps: float = 0.25
    warm_start: tuple[float, ...] | None = None

    @classmethod
    def build(
        cls,
        n: int,
        *,
        mixer: str = "x",
        initial_state: str | Sequence[int] | np.ndarray | None = None,
        groups: Sequence[Sequence[int]] | None = None,
        warm_start: Sequence[float] | np.ndarray | None = None,
        eps: float = 0.25,
    ) -> Ansatz:
        """Validate the options of a QAOA ansatz on ``n`` qubits.

        Parameters
        ----------
        n : int
            Number of qubits (= QUBO variables).
        mixer : {"x", "xy-ring", "xy-complete", "warm"}
        initial_state : {"uniform", "one-hot", "warm"} or 0/1 sequence, optional
            Default: uniform for ``x``, one-hot for the XY mixers, warm for ``warm``.
        groups : list of index lists, optional
            Disjoint one-hot groups; needed by the XY mixers and the one-hot state.
        warm_start : (n,) array_like in [0, 1], optional
            Relaxed solution ``c*``; needed by the warm mixer and the warm state.
        eps : float
            Regularisation of ``warm_start`` (:func:`regularise`).
        """
        n = int(n)
        if n < 1:
            raise ValidationError(f"an ansatz needs n >= 1 qubits, got {n}")
        if mixer not in MIXERS:
            raise OptionError(f"unknown mixer {mixer!r}; choose from {MIXERS}")
        grps = _as_groups(groups, n)
        eps = float(eps)
        warm = raw = None
        if warm_start is not None:
            raw_arr = np.asarray(warm_start, dtype=np.float64).reshape(-1)
            if raw_arr.size != n:
                raise ValidationError(f"warm_start has {raw_arr.size} values for {n} qubits")
            warm = tuple(float(v) for v in regularise(raw_arr, eps))
            raw = tuple(float(v) for v in raw_arr)
        elif not 0.0 <= eps <= 0.5:
            raise ValidationError(f"eps must be in [0, 0.5], got {eps}")
        bits = None
        if initial_state is None:
            initial = _DEFAULT_INITIAL[mixer]
        elif isinstance(initial_state, str):
            if initial_state not in INITIAL_STATES:
                raise OptionError(
                    f"unknown initial_state {initial_state!r}; "
                    f"choose from {INITIAL_STATES} or a 0/1 bitstring"
                )
            initial = initial_state
        else:
            b = np.asarray(initial_state).reshape(-1)
            if b.size != n or not np.all((b == 0) | (b == 1)):
                raise ValidationError(
                    f"initial_state bitstring must be {n} values in {{0, 1}}, got {b.tolist()}"
                )
            bits = tuple(int(v) for v in b)
            initial = "basis"
        if mixer.startswith("xy") and not grps:
            raise OptionError(f"mixer {mixer!r} needs groups= (the one-hot variable groups)")
        if initial == "one-hot" and not grps:
            raise OptionError("initial_state 'one-hot' needs groups= (the one-hot variable groups)")
        if (mixer == "warm" or initial == "warm") and warm is None:
            raise OptionError("the warm mixer and the warm initial state need warm_start= (c* in [0, 1]^n)")
        return cls(n, mixer, initial, grps, warm, bits, eps, raw)

    def recentred(self, centre: Sequence[float] | np.ndarray) -> Ansatz:
        """The same ansatz warm-started from ``centre`` instead (e.g. the best solution so far).

        ``centre`` is regularised with the ansatz's ``eps`` like any warm start,
        so a 0/1 point prepares each qubit with probability ``1 - eps`` on its bit.

        Examples
        --------
        >>> a = Ansatz.build(2, mixer="warm", warm_start=[0.5, 0.5], eps=0.1)
        >>> b = a.recentred([1, 0])
        >>> b.warm, b.warm_start
        ((0.9, 0.1), (1.0, 0.0))
        """
        if self.warm is None:
            raise OptionError("only a warm-start ansatz (mixer or initial state 'warm') can be recentred")
        return Ansatz.build(
            self.n,
            mixer=self.mixer,
            initial_state=self.initial if self.bits is None else list(self.bits),
            groups=[list(g) for g in self.groups] or None,
            warm_start=centre,
            eps=self.eps,
        )

    # ------------------------------------------------------------ structure
    @property
    def is_default(self) -> bool:
        """The plain QAOA ansatz (X mixer, ``|+>^n``): the fast kernel runs it."""
        return self.mixer == "x" and self.initial == "uniform"

    @property
    def free_qubits(self) -> tuple[int, ...]:
        """Qubits the mixer treats one by one (outside every XY group)."""
        if not self.mixer.startswith("xy"):
            return tuple(range(self.n))
        inside = {q for g in self.groups for q in g}
        return tuple(q for q in range(self.n) if q not in inside)

    @property
    def thetas(self) -> np.ndarray:
        """``RY`` angles ``2 arcsin(sqrt(c))`` of the warm start (empty without one)."""
        if self.warm is None:
            return np.zeros(0)
        return 2.0 * np.arcsin(np.sqrt(np.asarray(self.warm)))

    def pairs(self) -> list[list[tuple[int, int]]]:
        """Per group, its XY pairs in application order (empty lists for the other mixers)."""
        if not self.mixer.startswith("xy"):
            return [[] for _ in self.groups]
        kind = self.mixer.split("-", 1)[1]
        return [xy_pairs(g, kind) for g in self.groups]

    def mixer_ops(self, beta: float) -> list[tuple[str, tuple[int, ...], np.ndarray]]:
        """The mixer layer ``exp(-i beta M)`` as gates in application order.

        Each entry is ``("pair", (a, b), U)`` (``U`` acts on the amplitudes of
        ``|x_a = 1, x_b = 0>`` and ``|x_a = 0, x_b = 1>``, identity elsewhere) or
        ``("single", (q,), U)`` (``U`` on ``|x_q = 0>, |x_q = 1>``).  Gates on
        disjoint qubits commute; only the order within a group matters.

        Examples
        --------
        >>> ops = Ansatz.build(3, mixer="xy-complete", groups=[[0, 1]]).mixer_ops(0.1)
        >>> [(kind, qs) for kind, qs, _ in ops]
        [('pair', (0, 1)), ('single', (2,))]
        """
        cb, sb = np.cos(beta), np.sin(beta)
        rot = np.array([[cb, -1j * sb], [-1j * sb, cb]])
        ops: list[tuple[str, tuple[int, ...], np.ndarray]] = []
        for plist in self.pairs():
            ops.extend(("pair", (a, b), rot) for a, b in plist)
        if self.mixer == "warm":
            assert self.warm is not None  # checked in build()
            ops.extend(("single", (q,), warm_mixer_matrix(self.warm[q], beta)) for q in range(self.n))
        else:
            ops.extend(("single", (q,), rot) for q in self.free_qubits)
        return ops

    # --------------------------------------------------------------- states
    def initial_state(self) -> np.ndarray:
        """The ``2**n`` initial state (complex128, bit ``j`` of the index = qubit ``j``)."""
        n = self.n
        if self.initial == "basis":
            assert self.bits is not None
            psi = np.zeros(1 << n, dtype=np.complex128)
            psi[int(sum(b << j for j, b in enumerate(self.bits)))] = 1.0
            return psi
        if self.initial == "uniform":
            return np.full(1 << n, 2.0 ** (-0.5 * n), dtype=np.complex128)
        if self.initial == "warm":
            assert self.warm is not None
            c = np.asarray(self.warm)
            vecs = np.stack([np.sqrt(1.0 - c), np.sqrt(c)], axis=1)
            psi = np.ones(1, dtype=np.float64)
            for q in range(n):  # qubit q is bit q: later qubits are the slower index
                psi = np.kron(vecs[q], psi)
            return psi.astype(np.complex128)
        # one-hot: W state per group, |+> on the other qubits
        k = np.arange(1 << n, dtype=np.int64)
        amp = np.ones(1 << n, dtype=np.float64)
        inside = np.zeros(n, dtype=bool)
        for g in self.groups:
            mask = np.zeros(1 << n, dtype=np.int64)
            for q in g:
                mask += (k >> q) & 1
                inside[q] = True
            amp *= np.where(mask == 1, 1.0 / np.sqrt(len(g)), 0.0)
        amp *= 2.0 ** (-0.5 * int((~inside).sum()))
        return amp.astype(np.complex128)

    def subspace_mask(self) -> np.ndarray:
        """Boolean ``2**n`` mask of the basis states with exactly one 1 in every group.

        Examples
        --------
        >>> Ansatz.build(2, mixer="xy-ring", groups=[[0, 1]]).subspace_mask().tolist()
        [False, True, True, False]
        """
        k = np.arange(1 << self.n, dtype=np.int64)
        ok = np.ones(1 << self.n, dtype=bool)
        for g in self.groups:
            cnt = np.zeros(1 << self.n, dtype=np.int64)
            for q in g:
                cnt += (k >> q) & 1
            ok &= cnt == 1
        return ok

    def sampler_options(self) -> dict[str, Any]:
        """The ``QAOASampler`` keywords that rebuild this ansatz.

        Examples
        --------
        >>> a = Ansatz.build(4, mixer="xy-ring", groups=[[0, 1], [2, 3]])
        >>> Ansatz.build(4, **a.sampler_options()) == a
        True
        """
        return {
            "mixer": self.mixer,
            "initial_state": list(self.bits) if self.bits is not None else self.initial,
            "groups": [list(g) for g in self.groups] or None,
            "warm_start": None if self.warm_start is None else list(self.warm_start),
            "eps": self.eps,
        }

    def config(self) -> dict[str, Any]:
        """JSON-friendly description (what identifies the ansatz in the store).

        Examples
        --------
        >>> Ansatz.build(2, mixer="warm", warm_start=[0.1, 0.6]).config()["warm"]
        [0.25, 0.6]
        """
        return {
            "mixer": self.mixer,
            "initial_state": self.initial if self.bits is None else list(self.bits),
            "groups": [list(g) for g in self.groups],
            "warm_start": None if self.warm_start is None else list(self.warm_start),
            "warm": None if self.warm is None else list(self.warm),
            "eps": self.eps,
        }
