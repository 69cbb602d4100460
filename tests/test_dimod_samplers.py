"""dimod samplers through qslack's interface; D-Wave's SA and tabu as classical QUBO baselines."""

from __future__ import annotations

import time

import dimod
import numpy as np
import pytest
from dwave.samplers import SteepestDescentSolver

from qslack.exceptions import OptionError, ValidationError
from qslack.samplers.dimod import DimodSampler, SASampler, TabuSampler, sampler_seed
from qslack.samplers.exact import ExactSampler
from qslack.testing import check_sampler, random_qubo


def _ground(q):  # type: ignore[no-untyped-def]
    return float(ExactSampler(n_lowest=1).sample(q).energy[0])


def test_dimod_exact_solver_passes_the_kit_as_an_exact_sampler() -> None:
    report = check_sampler(DimodSampler(dimod.ExactSolver(), exact=True))
    assert report["ground_energy"] == "passed"
    assert set(report.values()) == {"passed"}


def test_dimod_sampler_passes_options_and_seed_through() -> None:
    s = DimodSampler(SteepestDescentSolver(), num_reads=7)
    assert "num_reads" in s.parameters and "seed" not in s.parameters
    q = random_qubo(8, seed=2)
    ss = s.sample(q, seed=5)
    assert ss.n_shots == 7 and ss.info["sampler_seed"] == 5
    assert ss.info["backend"] == "dimod:SteepestDescentSolver"
    assert s.sample(q, seed=5, num_reads=3).n_shots == 3
    with pytest.raises(OptionError, match="bogus"):
        DimodSampler(SteepestDescentSolver(), bogus=1)
    with pytest.raises(ValidationError, match="dimod sampler"):
        DimodSampler(object())
    # a sampler without a seed parameter: qslack's seed is recorded, not passed
    r = DimodSampler(dimod.RandomSampler(), num_reads=10).sample(q, seed=3)
    assert r.info["seed"] == 3 and "sampler_seed" not in r.info


@pytest.mark.parametrize("make", [lambda: SASampler(num_reads=100, num_sweeps=500),
                                  lambda: TabuSampler(num_reads=10, timeout=None, num_restarts=0)],
                         ids=["sa", "tabu"])
def test_heuristics_find_the_ground_state_of_small_qubos(make) -> None:  # type: ignore[no-untyped-def]
    s = make()
    rng = np.random.default_rng(2025)
    for t in range(6):
        q = random_qubo(int(rng.integers(8, 15)), seed=rng, kind=("int", "float")[t % 2], density=0.7)
        ss = s.sample(q, seed=t)
        assert float(ss.energy[0]) == pytest.approx(_ground(q), abs=1e-9), (t, q.n_vars)
        np.testing.assert_allclose(ss.energy, q.energies(ss.X), rtol=1e-12)


def test_sa_equal_samples_and_recorded_configuration() -> None:
    q = random_qubo(20, seed=1)
    s = SASampler(num_reads=64, num_sweeps=100)
    ss = s.sample(q, seed=9)
    assert ss.n_shots == 64 and ss.info["num_sweeps"] == 100 and ss.info["seed"] == 9
    assert ss.info["shots_total"] == 64 and ss.info["circuit_evals"] == 0  # counted like QAOA's shots
    cfg = s.config()
    assert cfg["sampler"] == "sa" and cfg["num_reads"] == 64 and cfg["num_sweeps"] == 100
    assert cfg["dwave_samplers"] and cfg["dimod"]
    again = SASampler(num_reads=64, num_sweeps=100).sample(q, seed=9)
    assert np.array_equal(ss.X, again.X) and np.array_equal(ss.counts, again.counts)


def test_sa_wall_time_budget_chooses_sweeps_and_is_replayable() -> None:
    q = random_qubo(40, seed=3, density=0.3)
    budget = 0.5
    s = SASampler(num_reads=50, time_limit=budget)
    t0 = time.perf_counter()
    ss = s.sample(q, seed=4)
    took = time.perf_counter() - t0
    sweeps = ss.info["num_sweeps"]
    cal = ss.info["calibration"]
    assert sweeps >= 1 and cal["probe_sweeps"] >= 16 and cal["s_per_sweep_read"] > 0
    assert not cal["over_budget"]
    assert cal["wall_s"] < budget  # the calibration leaves most of the budget
    # generous slack: a shared machine; the point is "about the budget", not 10x it
    assert took < 2 * budget + 0.5, (took, sweeps, cal)
    assert s.config()["num_sweeps"] is None and s.config()["time_limit"] == budget
    replay = SASampler(num_reads=50, num_sweeps=sweeps).sample(q, seed=4)
    assert np.array_equal(replay.X, ss.X) and np.array_equal(replay.counts, ss.counts)


def test_tabu_wall_time_budget_sets_timeout_per_read() -> None:
    q = random_qubo(30, seed=5)
    budget = 0.3
    t0 = time.perf_counter()
    ss = TabuSampler(num_reads=8, time_limit=budget).sample(q, seed=1)
    took = time.perf_counter() - t0
    cal = ss.info["calibration"]
    assert ss.n_shots == 8 and not cal["over_budget"]
    # a read lasts its timeout plus the measured fixed cost; together they fill the budget
    assert 1 < ss.info["timeout_ms"] <= 1000 * budget / 8
    assert took < 2 * budget + 0.5, (took, cal)
    cfg = TabuSampler(num_reads=8, time_limit=budget).config()
    assert cfg["sampler"] == "tabu" and cfg["time_limit"] == budget and cfg["timeout"] is None
    # a budget below num_reads x the fixed cost of a read cannot be met: said, not hidden
    tight = TabuSampler(num_reads=40, time_limit=0.01).sample(q, seed=1)
    assert tight.info["timeout_ms"] == 1 and tight.info["calibration"]["over_budget"]


def test_seeds_big_none_and_bad() -> None:
    assert sampler_seed(2**70) == sampler_seed(2**70) and 0 <= sampler_seed(2**70)[1] < 2**31
    assert sampler_seed(-1)[1] != sampler_seed(1)[1]
    q = random_qubo(10, seed=0)
    s = SASampler(num_reads=20, num_sweeps=50)
    a = s.sample(q, seed=2**40)
    assert a.info["seed"] == 2**40 and np.array_equal(a.X, s.sample(q, seed=2**40).X)
    free = s.sample(q)
    assert isinstance(free.info["seed"], int)
    assert np.array_equal(free.X, s.sample(q, seed=free.info["seed"]).X)
    with pytest.raises(ValidationError, match="seed"):
        s.sample(q, seed=1.5)  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValidationError, match="num_reads"):
        SASampler(num_reads=0)
    with pytest.raises(ValidationError, match="time budget"):
        SASampler(time_limit=-1)
    with pytest.raises(OptionError, match="beta_schedule_type"):
        SASampler(beta_schedule_type="custom")
    with pytest.raises(ValidationError, match="beta_range"):
        SASampler(beta_range=(2.0, 1.0))
    with pytest.raises(ValidationError, match="1e6 restarts"):
        TabuSampler(timeout=None)
    with pytest.raises(OptionError, match="shots"):
        TabuSampler().sample(random_qubo(3), shots=5)
