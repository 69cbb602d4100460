"""Samplers: the conformance kit on every sampler, plus CP-SAT and brute-force specifics."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from qslack.exceptions import OptionError, ResourceError, ValidationError
from qslack.model.qubo import QUBO
from qslack.samplers.base import Sampler, SampleSet
from qslack.samplers.dimod import SASampler, TabuSampler
from qslack.samplers.exact import ExactSampler
from qslack.samplers.ortools import CPSATSampler
from qslack.samplers.qaoa.sampler import QAOASampler
from qslack.samplers.random import RandomSampler
from qslack.testing import CHECK_NAMES, check_sampler, conformance_checks, random_qubo


# --------------------------------------------------------------------------- conformance
class _PerSizeQAOA(Sampler):
    """A QAOASampler whose one-hot groups / warm start fit each QUBO (the kit's QUBOs vary in size):
    groups of 3 consecutive variables, warm start ``linspace(0.1, 0.9, n)``."""

    parameters: ClassVar[dict[str, str]] = QAOASampler.parameters
    properties: ClassVar[dict[str, Any]] = {"name": "qaoa", "exact": False}

    def __init__(self, **kw: Any) -> None:
        self.kw = kw

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        n, kw = qubo.n_vars, dict(self.kw)
        if kw.get("mixer", "x").startswith("xy"):
            kw["groups"] = [list(range(i, min(i + 3, n))) for i in range(0, n, 3)]
        if kw.get("mixer") == "warm":
            kw["warm_start"] = np.linspace(0.1, 0.9, n)
        return QAOASampler(**kw).sample(qubo, seed=seed, **options)


# (id, factory, options of the kit).  A new sampler is one line here, e.g.
#   ("qaoa", partial(QAOASampler, p=1, shots=256, maxiter=20), {}),
SAMPLERS: list[tuple[str, Any, dict[str, Any]]] = [
    ("exact", ExactSampler, {}),
    ("random", partial(RandomSampler, shots=200), {}),
    ("cpsat", partial(CPSATSampler, time_limit=10.0), {}),
    ("qaoa-statevector", partial(QAOASampler, p=1, shots=256, maxiter=20), {}),
    ("qaoa-xy-ring", partial(_PerSizeQAOA, mixer="xy-ring", p=1, shots=256, maxiter=20), {}),
    ("qaoa-xy-complete", partial(_PerSizeQAOA, mixer="xy-complete", p=2, shots=256, optimizer="none"), {}),
    ("qaoa-warm", partial(_PerSizeQAOA, mixer="warm", p=1, shots=256, maxiter=20), {}),
    ("qaoa-lr-ramp", partial(QAOASampler, p=4, params="ramp", shots=256, maxiter=10), {}),
    ("qaoa-p0", partial(QAOASampler, p=0, shots=256), {}),
    ("sa", partial(SASampler, num_reads=30, num_sweeps=200), {}),
    ("tabu", partial(TabuSampler, num_reads=5, timeout=None, num_restarts=0), {}),
    ("tabu-timeout", partial(TabuSampler, num_reads=5, timeout=2.0), {"reproducible": False}),
]

CONFORMANCE = [
    pytest.param(check, id=f"{sid}-{name}")
    for sid, make, kit in SAMPLERS
    for name, check in conformance_checks(make, **kit)
]


@pytest.mark.parametrize("check", CONFORMANCE)
def test_conformance(check: Any) -> None:
    check()  # AssertionError on failure, unittest.SkipTest (a pytest skip) where it does not apply


def test_check_sampler_reports_every_check() -> None:
    report = check_sampler(ExactSampler())
    assert list(report) == list(CHECK_NAMES)
    assert set(report.values()) == {"passed"}


# --------------------------------------------------------------------------- the kit catches faults
class _Broken(Sampler):
    """A RandomSampler with one fault switched on."""

    parameters: ClassVar[dict[str, str]] = {"shots": "number of bitstrings"}
    properties: ClassVar[dict[str, Any]] = {"name": "broken", "exact": False}

    def __init__(self, fault: str) -> None:
        self.fault = fault

    def sample(self, qubo: QUBO, *, seed: int | None = None, **options: Any) -> SampleSet:
        if self.fault != "silent_options":
            self._check_options(options)
        rng = np.random.default_rng(None if self.fault == "ignores_seed" else seed)
        X = rng.integers(0, 2, size=(64, qubo.n_vars), dtype=np.uint8)
        info = {"backend": "broken", "seed": seed}
        if self.fault == "no_seed":
            del info["seed"]
        if self.fault == "duplicates":
            return SampleSet.from_samples(np.vstack([X, X]), qubo, info=info, aggregate=False)
        ss = SampleSet.from_samples(X, qubo, info=info)
        if self.fault == "misses_ground":
            return SampleSet.from_samples(ss.X[-1:], qubo, info=info)  # the worst row only
        if self.fault == "wrong_energy":
            return SampleSet(ss.X, ss.energy + 1e-3, ss.counts, ss.var_names, ss.info)
        if self.fault == "unsorted":
            return SampleSet(ss.X[::-1], ss.energy[::-1], ss.counts[::-1], ss.var_names, ss.info)
        if self.fault == "wrong_names":
            return SampleSet(ss.X, ss.energy, ss.counts, tuple(f"z{i}" for i in range(qubo.n_vars)), ss.info)
        return ss


@pytest.mark.parametrize(
    ("fault", "check", "kit"),
    [
        ("wrong_energy", "energies", {}),
        ("duplicates", "aggregated", {}),
        ("unsorted", "aggregated", {}),
        ("wrong_names", "sampleset", {}),
        ("silent_options", "unknown_option", {}),
        ("no_seed", "info", {}),
        ("ignores_seed", "reproducible", {}),
        ("misses_ground", "ground_energy", {"exact": True}),  # a heuristic that claims to be exact
    ],
)
def test_kit_detects_fault(fault: str, check: str, kit: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match=check):
        check_sampler(_Broken(fault), **kit)


def test_kit_skips_what_does_not_apply() -> None:
    report = check_sampler(_Broken("ignores_seed"), reproducible=False)
    assert report["reproducible"].startswith("skipped")
    assert report["ground_energy"].startswith("skipped")
    assert report["sparse"].startswith("skipped")


# --------------------------------------------------------------------------- CP-SAT
def _ground(q: QUBO) -> float:
    return float(ExactSampler(n_lowest=1).sample(q).energy[0])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def test_cpsat_agrees_with_exact_on_random_qubos() -> None:
    rng = np.random.default_rng(2024)
    sampler = CPSATSampler(time_limit=10.0)
    for t in range(30):
        n = int(rng.integers(2, 13))
        kind = ("int", "float")[t % 2]
        q = random_qubo(n, seed=rng, kind=kind, density=float(rng.uniform(0.2, 1.0)), sparse=t % 3 == 0)
        ss = sampler.sample(q, seed=t)
        want = _ground(q)
        assert _close(float(ss.energy[0]), want), (t, n, kind, ss.energy[0], want)
        assert ss.info["status"] == "OPTIMAL"
        assert ss.info["proven_optimal"]
        assert ss.info["bound"] <= float(ss.energy[0]) + 1e-9 * max(1.0, abs(want))
        if kind == "int":
            assert ss.info["exact"] and ss.info["scale"] == 1.0


@pytest.mark.parametrize("kind", ["int", "float"])
def test_cpsat_proves_40_variable_sparse_optimum(kind: str) -> None:
    q = random_qubo(40, seed=7, kind=kind, density=0.15, sparse=True)
    ss = CPSATSampler(time_limit=10.0).sample(q, seed=1)
    assert ss.info["status"] == "OPTIMAL" and ss.info["proven_optimal"]
    assert ss.info["wall_s"] < 10.0
    assert ss.info["exact"] == (kind == "int")
    rand = RandomSampler(shots=20000).sample(q, seed=1)
    assert float(ss.energy[0]) <= float(rand.energy[0])
    assert _close(float(ss.energy[0]), float(q.energies(ss.X[:1])[0]))


def test_cpsat_decimal_coefficients_are_exact() -> None:
    q = QUBO(np.array([[0.25, -1.5, 0.0], [0.0, 1.75, -0.05], [0.0, 0.0, -0.1]]), offset=0.3)
    ss = CPSATSampler().sample(q, seed=0)
    assert ss.info["exact"] and ss.info["scale"] == 100.0
    assert _close(float(ss.energy[0]), _ground(q))
    assert _close(ss.info["bound"], float(ss.energy[0]))


def test_cpsat_inexact_scaling_reports_exact_false() -> None:
    rng = np.random.default_rng(3)
    Q = np.triu(rng.integers(-9, 10, size=(8, 8)) / 3.0) + np.triu(rng.integers(-3, 4, size=(8, 8)) / 7.0)
    q = QUBO(Q, offset=1 / 3)
    ground = _ground(q)
    # default scale: rounding far below float precision of the energies
    fine = CPSATSampler().sample(q, seed=0)
    assert fine.info["exact"] is False
    assert fine.info["status"] == "OPTIMAL" and fine.info["proven_optimal"]
    assert _close(float(fine.energy[0]), ground)
    # a coarse scale: still exact energies (recomputed) and a valid bound
    coarse = CPSATSampler(scale=10.0).sample(q, seed=0)
    assert coarse.info["exact"] is False and coarse.info["scale"] == 10.0
    np.testing.assert_allclose(coarse.energy, q.energies(coarse.X), rtol=1e-12)
    assert coarse.info["bound"] <= ground + 1e-12
    assert float(coarse.energy[0]) >= ground - 1e-12


def test_cpsat_n_solutions_and_option_overrides() -> None:
    q = random_qubo(10, seed=5, kind="float")
    ss = CPSATSampler(n_solutions=4).sample(q, seed=0)
    assert 1 <= len(ss) <= 4
    assert _close(float(ss.energy[0]), _ground(q))
    assert len(np.unique(ss.X, axis=0)) == len(ss)
    one = CPSATSampler(n_solutions=4).sample(q, seed=0, n_solutions=1, workers=1, time_limit=5.0)
    assert len(one) == 1 and one.info["workers"] == 1 and one.info["time_limit"] == 5.0
    assert np.array_equal(one.X[0], ss.X[0])


def test_cpsat_free_parallel_mode_and_seed_none() -> None:
    q = random_qubo(12, seed=11, kind="int", density=0.5)
    free = CPSATSampler(deterministic=False).sample(q)
    assert isinstance(free.info["seed"], int) and free.info["deterministic"] is False
    assert _close(float(free.energy[0]), _ground(q))
    a = CPSATSampler().sample(q)
    b = CPSATSampler().sample(q, seed=a.info["seed"])
    assert np.array_equal(a.X, b.X)


def test_cpsat_time_limit_gives_valid_bound_without_proof() -> None:
    q = random_qubo(70, seed=2, kind="float")  # dense: far beyond a fraction of a second
    ss = CPSATSampler(time_limit=0.3).sample(q, seed=0)
    assert ss.info["status"] in ("FEASIBLE", "UNKNOWN")
    assert not ss.info["proven_optimal"] and not ss.info["exact"]
    assert ss.info["bound"] < float(ss.energy[0])
    np.testing.assert_allclose(ss.energy, q.energies(ss.X), rtol=1e-12)


def test_cpsat_tiny_and_huge_coefficients() -> None:
    for Q in (np.array([[1e-300, -3e-300], [0.0, 1e-300]]), np.array([[1e20, -3e20], [0.0, 1e20]])):
        q = QUBO(Q)
        ss = CPSATSampler().sample(q, seed=0)
        assert ss.X[0].tolist() == [1, 1] and ss.info["proven_optimal"], ss.info


def test_cpsat_rejects_bad_options() -> None:
    q = random_qubo(3, seed=0)
    with pytest.raises(ValidationError, match="time_limit"):
        CPSATSampler(time_limit=0)
    with pytest.raises(ValidationError, match="scale"):
        CPSATSampler(scale=-1.0)
    with pytest.raises(ValidationError, match="workers"):
        CPSATSampler().sample(q, workers=0)
    with pytest.raises(OptionError, match="shots"):
        CPSATSampler().sample(q, shots=10)


def test_lazy_imports() -> None:
    code = (
        "import sys, qslack.samplers.ortools, qslack.samplers.dimod, qslack.testing; "
        "bad = [m for m in ('ortools', 'pytest', 'qiskit', 'dimod', 'dwave') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- brute force
@pytest.mark.parametrize("kind", ["int", "float"])
def test_exact_chunked_equals_unchunked(kind: str) -> None:
    q = random_qubo(9, seed=4, kind=kind)
    whole = ExactSampler(n_lowest=20).sample(q)
    chunked = ExactSampler(n_lowest=20, chunk_bits=4).sample(q)
    np.testing.assert_allclose(chunked.energy, whole.energy, rtol=1e-12, atol=1e-12)
    # rows tied with the 20th energy may differ (which ties survive the cut is not specified)
    below = whole.energy < whole.energy[-1] - 1e-9
    assert np.array_equal(whole.X[below], chunked.X[below])
    if kind == "float":
        assert np.array_equal(whole.X, chunked.X)
    np.testing.assert_allclose(whole.energy, np.sort(q.diagonal())[:20], rtol=1e-12, atol=1e-12)


def test_exact_refuses_27_variables_without_allocating() -> None:
    q = QUBO(sp.random(27, 27, density=0.1, random_state=0, format="csr"))
    tracemalloc.start()
    try:
        with pytest.raises(ResourceError, match="27"):
            ExactSampler().sample(q)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # a 2**27 diagonal would be 1 GiB


def test_exact_info_ground_energy() -> None:
    q = QUBO(np.array([[1.0, -3.0], [0.0, 1.0]]))
    ss = ExactSampler().sample(q)
    assert ss.info["ground_energy"] == pytest.approx(float(ss.energy[0]))
    assert ss.info["n_ground"] == 1
