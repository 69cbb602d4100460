"""Conformance checks every sampler must pass (as ``dimod.testing``).

Two entry points:

- :func:`conformance_checks` gives ``(name, check)`` pairs, one per property,
  so a test suite can parametrise one test case per check and sampler::

      SAMPLERS = {"exact": ExactSampler, "random": partial(RandomSampler, shots=200)}
      CASES = [pytest.param(check, id=f"{s}-{name}")
               for s, make in SAMPLERS.items() for name, check in conformance_checks(make)]

      @pytest.mark.parametrize("check", CASES)
      def test_conformance(check):
          check()

- :func:`check_sampler` runs them all and raises :class:`AssertionError` with
  a message naming the check and the QUBO at the first failure.

A check that does not apply to a sampler (the ground-energy check on a
heuristic sampler, reproducibility when ``reproducible=False``) raises
:class:`unittest.SkipTest`, which pytest reports as a skip.

The checks, with their names:

``sampleset``
    ``sample`` returns a :class:`~qslack.samplers.base.SampleSet` whose ``X``
    is a ``(k, n)`` uint8 array of 0/1, ``k >= 1``, and whose ``var_names``
    are the QUBO's.
``energies``
    ``energy`` equals ``qubo.energies(X)`` to ``1e-9`` relative.
``aggregated``
    counts ``>= 1``, no duplicate rows, rows sorted by energy.
``reproducible``
    the same seed gives identical ``X``, ``counts`` and ``energy``.
``unknown_option``
    an unknown option raises :class:`~qslack.exceptions.OptionError`.
``ground_energy``
    (samplers with ``properties["exact"]``) the lowest energy equals
    :class:`~qslack.samplers.exact.ExactSampler`'s on random dense QUBOs with
    integer and float coefficients.
``degenerate``
    an all-zero ``Q`` and a one-variable QUBO work (and, for exact samplers,
    give the right ground energy).
``info``
    ``info`` is a dict with ``"backend"`` (or ``"name"``) and ``"seed"``, the
    latter equal to the seed passed.
``sparse``
    a QUBO built from a ``scipy.sparse`` matrix gives the same lowest energy
    as its dense twin (for heuristic samplers only when ``reproducible``).
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qslack.exceptions import OptionError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet

__all__ = ["CHECK_NAMES", "check_sampler", "conformance_checks", "random_qubo"]

#: Names of the checks, in the order they run.
CHECK_NAMES = (
    "sampleset",
    "energies",
    "aggregated",
    "reproducible",
    "unknown_option",
    "ground_energy",
    "degenerate",
    "info",
    "sparse",
)

_RTOL = 1e-9
_BOGUS_OPTION = "definitely_not_an_option"

SamplerLike = Sampler | Callable[[], Sampler]


def random_qubo(
    n: int,
    *,
    seed: int | np.random.Generator | None = 0,
    kind: str = "float",
    density: float = 1.0,
    offset: float | None = None,
    sparse: bool = False,
) -> QUBO:
    """A random upper-triangular QUBO for tests.

    Parameters
    ----------
    n : int
        Number of variables.
    seed : int or numpy.random.Generator, optional
        Seed of ``numpy.random.default_rng``.
    kind : {"float", "int"}
        Standard-normal coefficients, or integers in ``[-5, 5]``.
    density : float
        Share of off-diagonal pairs that get a coefficient (the diagonal is
        always filled).
    offset : float, optional
        Constant term; default a random one of the same ``kind``.
    sparse : bool
        Store ``Q`` as a ``scipy.sparse`` CSR matrix.

    Examples
    --------
    >>> q = random_qubo(4, seed=1, kind="int")
    >>> q.n_vars, bool(np.all(q.Q == np.rint(q.Q)))
    (4, True)
    """
    rng = np.random.default_rng(seed)
    if kind == "float":
        Q = rng.normal(size=(n, n))
        off = float(rng.normal()) if offset is None else float(offset)
    elif kind == "int":
        Q = rng.integers(-5, 6, size=(n, n)).astype(np.float64)
        off = float(rng.integers(-5, 6)) if offset is None else float(offset)
    else:
        raise ValueError(f"kind must be 'float' or 'int', got {kind!r}")
    mask = np.triu(rng.random((n, n)) < density, 1) | np.eye(n, dtype=bool)
    Q = np.triu(Q) * mask
    names = tuple(f"v{i}" for i in range(n))
    if sparse:
        import scipy.sparse as sp

        return QUBO(sp.csr_matrix(Q), off, names)
    return QUBO(Q, off, names)


# --------------------------------------------------------------------------- helpers
def _is_instance(sampler: SamplerLike) -> bool:
    """A sampler object (not a class or other factory): anything with a bound ``sample``."""
    return isinstance(sampler, Sampler) or (not isinstance(sampler, type) and hasattr(sampler, "sample"))


def _make(sampler: SamplerLike) -> Sampler:
    """The sampler itself, or a fresh one from a factory."""
    if _is_instance(sampler):
        return sampler  # type: ignore[return-value]
    return sampler()  # type: ignore[operator]


def _label(sampler: SamplerLike) -> str:
    if _is_instance(sampler):
        return type(sampler).__name__
    return getattr(sampler, "__name__", None) or repr(sampler)


def _describe(q: QUBO) -> str:
    kind = "sparse" if q.is_sparse else "dense"
    return f"{kind} QUBO n={q.n_vars}, offset={q.offset:g}"


def _tol(q: QUBO) -> float:
    """Absolute tolerance: 1e-9 relative to the largest ``|energy|`` a state can have."""
    return _RTOL * (float(abs(q.Q).sum()) + abs(q.offset))


def _is_exact(sampler: Sampler, exact: bool | None) -> bool:
    if exact is not None:
        return bool(exact)
    return bool(getattr(sampler, "properties", {}).get("exact", False))


def _ground_energy(q: QUBO) -> float:
    from qslack.samplers.exact import ExactSampler

    return float(ExactSampler(n_lowest=1).sample(q).energy.min())


def _call(sampler: Sampler, q: QUBO, seed: int | None, where: str, **options: Any) -> SampleSet:
    try:
        ss = sampler.sample(q, seed=seed, **options)
    except Exception as exc:
        raise AssertionError(
            f"[{where}] {type(sampler).__name__}.sample raised {type(exc).__name__}: {exc} on {_describe(q)}"
        ) from exc
    if not isinstance(ss, SampleSet):
        raise AssertionError(f"[{where}] sample returned {type(ss).__name__}, not a SampleSet")
    return ss


def _assert_shape(ss: SampleSet, q: QUBO, where: str) -> None:
    X = ss.X
    n = q.n_vars
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8:
        raise AssertionError(f"[{where}] X must be a uint8 ndarray, got {type(X).__name__} {X.dtype}")
    if X.ndim != 2 or X.shape[1] != n or X.shape[0] < 1:
        raise AssertionError(f"[{where}] X has shape {X.shape}, expected (k>=1, {n}) on {_describe(q)}")
    if X.size and not np.all(X <= 1):
        raise AssertionError(f"[{where}] X has values other than 0 and 1: {np.unique(X).tolist()}")
    if tuple(ss.var_names) != tuple(q.var_names):
        raise AssertionError(f"[{where}] var_names {ss.var_names} differ from the QUBO's {q.var_names}")


def _assert_energies(ss: SampleSet, q: QUBO, where: str) -> None:
    want = q.energies(ss.X)
    got = np.asarray(ss.energy, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"[{where}] energy has shape {got.shape}, X has {want.shape[0]} rows")
    bad = np.abs(got - want) > np.maximum(_tol(q), _RTOL * np.abs(want))
    if np.any(bad):
        r = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"[{where}] energy[{r}] = {got[r]!r} but qubo.energies(X[{r}]) = {want[r]!r} on {_describe(q)}"
        )


def _assert_aggregated(ss: SampleSet, q: QUBO, where: str) -> None:
    counts = np.asarray(ss.counts)
    if counts.shape != (len(ss),) or np.any(counts < 1):
        raise AssertionError(f"[{where}] counts must be >= 1 per row, got {counts.tolist()[:10]}")
    if len(np.unique(ss.X, axis=0)) != len(ss):
        raise AssertionError(f"[{where}] SampleSet has duplicate rows (not aggregated) on {_describe(q)}")
    if np.any(np.diff(ss.energy) < 0):
        raise AssertionError(f"[{where}] rows are not sorted by energy: {ss.energy.tolist()[:10]}")


def _assert_valid(ss: SampleSet, q: QUBO, where: str) -> None:
    _assert_shape(ss, q, where)
    _assert_energies(ss, q, where)
    _assert_aggregated(ss, q, where)


def _assert_ground(ss: SampleSet, q: QUBO, where: str) -> None:
    want = _ground_energy(q)
    got = float(ss.energy.min())
    if abs(got - want) > _tol(q):
        raise AssertionError(
            f"[{where}] lowest energy {got!r} differs from the ground energy {want!r} "
            f"(ExactSampler) on {_describe(q)}"
        )


def _qubos(n_vars: Sequence[int], seed: int) -> list[QUBO]:
    """Dense random QUBOs: integer and float coefficients for each ``n``."""
    rng = np.random.default_rng(seed)
    out = []
    for n in n_vars:
        for kind in ("int", "float"):
            out.append(random_qubo(int(n), seed=rng, kind=kind))
    return out


# --------------------------------------------------------------------------- checks
def conformance_checks(
    sampler: SamplerLike,
    *,
    n_vars: Sequence[int] = (3, 6),
    seed: int = 0,
    exact: bool | None = None,
    reproducible: bool = True,
) -> list[tuple[str, Callable[[], None]]]:
    """The conformance checks for one sampler, as ``(name, check)`` pairs.

    Parameters
    ----------
    sampler : Sampler or callable returning a Sampler
        A factory (a class, a ``functools.partial``, a lambda) is called anew
        in every check, lazily: building the list constructs nothing.
    n_vars : sequence of int
        Sizes of the random QUBOs.
    seed : int
        Seed of the random QUBOs, also passed to ``sample``.
    exact : bool, optional
        Whether the sampler must find the ground state; default
        ``properties["exact"]`` of the sampler.
    reproducible : bool
        Whether the same seed must give the same SampleSet.

    Returns
    -------
    list of (str, callable)
        Each callable takes no argument and returns ``None`` when the check
        passes; it raises ``AssertionError`` when it fails and
        ``unittest.SkipTest`` when it does not apply.

    Examples
    --------
    >>> from qslack.samplers.exact import ExactSampler
    >>> checks = conformance_checks(ExactSampler)
    >>> [name for name, _ in checks] == list(CHECK_NAMES)
    True
    >>> checks[0][1]()
    """
    n_vars = tuple(int(n) for n in n_vars)

    def check_sampleset() -> None:
        s = _make(sampler)
        for q in _qubos(n_vars, seed):
            _assert_shape(_call(s, q, seed, "sampleset"), q, "sampleset")

    def check_energies() -> None:
        s = _make(sampler)
        for q in _qubos(n_vars, seed):
            _assert_energies(_call(s, q, seed, "energies"), q, "energies")

    def check_aggregated() -> None:
        s = _make(sampler)
        for q in _qubos(n_vars, seed):
            _assert_aggregated(_call(s, q, seed, "aggregated"), q, "aggregated")

    def check_reproducible() -> None:
        if not reproducible:
            raise unittest.SkipTest("sampler declared not reproducible")
        s = _make(sampler)
        for q in _qubos(n_vars, seed):
            a = _call(s, q, seed, "reproducible")
            b = _call(_make(sampler), q, seed, "reproducible")
            same = (
                a.X.shape == b.X.shape
                and np.array_equal(a.X, b.X)
                and np.array_equal(a.counts, b.counts)
                and np.array_equal(a.energy, b.energy)
            )
            if not same:
                raise AssertionError(
                    f"[reproducible] seed={seed} gave different SampleSets on {_describe(q)}: "
                    f"{len(a)} vs {len(b)} rows, lowest {a.energy[:1].tolist()} vs {b.energy[:1].tolist()}"
                )

    def check_unknown_option() -> None:
        s = _make(sampler)
        q = _qubos(n_vars[:1], seed)[0]
        try:
            s.sample(q, seed=seed, **{_BOGUS_OPTION: 1})
        except OptionError:
            return
        except Exception as exc:
            raise AssertionError(
                f"[unknown_option] expected OptionError for option {_BOGUS_OPTION!r}, "
                f"got {type(exc).__name__}: {exc}"
            ) from exc
        raise AssertionError(f"[unknown_option] option {_BOGUS_OPTION!r} was accepted silently")

    def check_ground_energy() -> None:
        s = _make(sampler)
        if not _is_exact(s, exact):
            raise unittest.SkipTest(f"{type(s).__name__} is not an exact sampler")
        for q in _qubos(n_vars, seed):
            _assert_ground(_call(s, q, seed, "ground_energy"), q, "ground_energy")

    def check_degenerate() -> None:
        s = _make(sampler)
        is_exact = _is_exact(s, exact)
        cases = [
            QUBO(np.zeros((3, 3)), 1.5, ("a", "b", "c")),
            QUBO(np.array([[-2.0]]), 0.5, ("only",)),
            QUBO(np.array([[3.0]]), 0.0, ("pos",)),
        ]
        for q in cases:
            where = f"degenerate {_describe(q)}"
            ss = _call(s, q, seed, where)
            _assert_valid(ss, q, where)
            if is_exact:
                _assert_ground(ss, q, where)
        zero = _call(s, cases[0], seed, "degenerate all-zero")
        if not np.allclose(zero.energy, 1.5, rtol=0.0, atol=_RTOL):
            raise AssertionError(f"[degenerate] all-zero Q must give energy = offset 1.5, got {zero.energy}")

    def check_info() -> None:
        s = _make(sampler)
        q = _qubos(n_vars[:1], seed)[0]
        ss = _call(s, q, seed, "info")
        info = ss.info
        if not isinstance(info, dict):
            raise AssertionError(f"[info] info must be a dict, got {type(info).__name__}")
        if "backend" not in info and "name" not in info:
            raise AssertionError(f"[info] info lacks 'backend' (or 'name'); keys: {sorted(info)}")
        if "seed" not in info:
            raise AssertionError(f"[info] info lacks 'seed'; keys: {sorted(info)}")
        if info["seed"] != seed:
            raise AssertionError(f"[info] info['seed'] = {info['seed']!r}, but seed={seed!r} was passed")

    def check_sparse() -> None:
        s = _make(sampler)
        is_exact = _is_exact(s, exact)
        if not is_exact and not reproducible:
            raise unittest.SkipTest("a heuristic, non-reproducible sampler need not match its dense twin")
        rng = np.random.default_rng(seed)
        for n in n_vars:
            for kind in ("int", "float"):
                state = int(rng.integers(2**31))
                dense = random_qubo(n, seed=state, kind=kind, density=0.5)
                sparse = random_qubo(n, seed=state, kind=kind, density=0.5, sparse=True)
                a = _call(s, dense, seed, "sparse (dense twin)")
                b = _call(s, sparse, seed, "sparse")
                _assert_valid(b, sparse, "sparse")
                ea, eb = float(a.energy.min()), float(b.energy.min())
                if abs(ea - eb) > _tol(dense):
                    raise AssertionError(
                        f"[sparse] lowest energy {eb!r} on {_describe(sparse)} differs from "
                        f"{ea!r} on its dense twin"
                    )

    checks = {
        "sampleset": check_sampleset,
        "energies": check_energies,
        "aggregated": check_aggregated,
        "reproducible": check_reproducible,
        "unknown_option": check_unknown_option,
        "ground_energy": check_ground_energy,
        "degenerate": check_degenerate,
        "info": check_info,
        "sparse": check_sparse,
    }
    return [(name, checks[name]) for name in CHECK_NAMES]


def check_sampler(
    sampler: SamplerLike,
    *,
    n_vars: Sequence[int] = (3, 6),
    seed: int = 0,
    exact: bool | None = None,
    reproducible: bool = True,
) -> dict[str, str]:
    """Run every conformance check; raise ``AssertionError`` at the first failure.

    Parameters are those of :func:`conformance_checks`.

    Returns
    -------
    dict
        Check name -> ``"passed"`` or ``"skipped: <reason>"``.

    Examples
    --------
    >>> from qslack.samplers.random import RandomSampler
    >>> report = check_sampler(RandomSampler(shots=50))
    >>> report["ground_energy"]
    'skipped: RandomSampler is not an exact sampler'
    >>> sorted(set(report.values()))[0]
    'passed'
    """
    report: dict[str, str] = {}
    label = _label(sampler)
    for name, check in conformance_checks(
        sampler, n_vars=n_vars, seed=seed, exact=exact, reproducible=reproducible
    ):
        try:
            check()
        except unittest.SkipTest as exc:
            report[name] = f"skipped: {exc}"
            continue
        except AssertionError as exc:
            raise AssertionError(f"{label} fails conformance check {name!r}: {exc}") from exc
        report[name] = "passed"
    return report
