"""Problem builders, decode/evaluate/repair and the instance catalog, against brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from qslack.exceptions import ValidationError
from qslack.model.lagrangian import LagrangianForm
from qslack.problems import evaluate, repair
from qslack.problems import tsp as tspmod
from qslack.problems.catalog import build_program, load_instance, read_manifest
from qslack.problems.generators import parse_spec
from qslack.samplers.exact import ExactSampler
from tests.conftest import all_bitstrings


def brute_tsp(dist: np.ndarray) -> float:
    n = dist.shape[0]
    return min(tspmod.tour_length(dist, (0, *p)) for p in itertools.permutations(range(1, n)))


@pytest.mark.parametrize("encoding", ["position", "edge"])
@pytest.mark.parametrize("k", [4, 5])
def test_tsp_feasible_optimum_equals_brute_force(encoding: str, k: int) -> None:
    loaded = load_instance("burma14", take=k)
    prog = build_program(loaded, encoding=encoding)
    X = all_bitstrings(prog.n_vars)
    feas = prog.is_feasible(X)
    # every feasible point is a tour, and its objective is its length
    tours = [tspmod.decode(prog, x) for x in X[feas]]
    assert all(t is not None for t in tours)
    assert len(tours) == (math.factorial(k - 1) if encoding == "position" else math.factorial(k - 1) // 2)
    best = prog.objective(X[feas]).min()
    assert best == pytest.approx(brute_tsp(loaded.instance.dist))
    assert best == pytest.approx(loaded.known_optimum)


def test_tsp_edge_subtour_rows_cut_off_two_triangles() -> None:
    prog = build_program(load_instance("burma14", take=6), encoding="edge")
    assert prog.groups == ("degree", "subtour")
    assert prog.group_mask("subtour").sum() == 10
    two_triangles = tspmod.encode  # noqa: F841 - documented helper
    x = np.zeros(prog.n_vars, dtype=np.uint8)
    for i, j in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]:
        x[prog.var_names.index(f"e_{i}_{j}")] = 1
    degree_ok = prog.subset(prog.group_mask("degree")).is_feasible(x)[0]
    assert degree_ok and not prog.is_feasible(x)[0]
    assert tspmod.decode(prog, x) is None


def test_tsp_edge_beyond_nine_cities_counts_subtours() -> None:
    prog = build_program(load_instance("burma14"), encoding="edge")
    assert prog.groups == ("degree",)
    rows, bits = tspmod.subtour_slack_bits(14)
    assert prog.metadata["unbuilt_slack_bits"] == bits
    assert rows == sum(math.comb(14, s) for s in range(3, 7)) + math.comb(14, 7) // 2


@pytest.mark.parametrize("n", [6, 7, 9])
def test_subtour_counts_match_built_rows(n: int) -> None:
    from qslack.model.slack import count_slack_bits

    prog = tspmod.build_tsp(load_instance(f"gen:tsp?n={n}&seed=2").instance, "edge")
    rows, bits = tspmod.subtour_slack_bits(n)
    assert prog.group_mask("subtour").sum() == rows
    assert count_slack_bits(prog) == bits


@pytest.mark.parametrize("encoding", ["position", "edge"])
def test_tsp_encode_decode_repair(encoding: str) -> None:
    inst = load_instance("gen:tsp?n=7&seed=3").instance
    prog = tspmod.build_tsp(inst, encoding)
    tour = [0, 3, 1, 6, 2, 5, 4]
    x = tspmod.encode(prog, tour)
    assert prog.is_feasible(x)[0]
    assert tspmod.evaluate(prog, x) == pytest.approx(inst.tour_length(tour))
    rng = np.random.default_rng(0)
    for _ in range(25):
        junk = rng.integers(0, 2, prog.n_vars).astype(np.uint8)
        fixed = repair(prog, junk, "tsp")[0]
        assert prog.is_feasible(fixed)[0], junk
    assert np.array_equal(repair(prog, x, "tsp")[0], x)  # feasible input is kept


def test_mdkp_and_mis_repair_feasible_and_optimum() -> None:
    for spec in ["mknap1#1", "gen:mdkp?n=12&m=3&tightness=0.25&seed=4", "farm", "gen:mis?n=12&p=0.4&seed=1"]:
        loaded = load_instance(spec)
        prog = build_program(loaded)
        rng = np.random.default_rng(1)
        for _ in range(20):
            fixed = repair(prog, rng.integers(0, 2, prog.n_vars), loaded.problem)[0]
            assert prog.is_feasible(fixed)[0]
            assert evaluate(prog, fixed, loaded.problem) is not None
        if prog.n_vars <= 17:
            X = all_bitstrings(prog.n_vars)
            best = prog.native_objective(X[prog.is_feasible(X)]).max()
            if loaded.known_optimum is not None:
                assert best == pytest.approx(loaded.known_optimum)


def test_mis_product_form_ground_state_is_maximum_set() -> None:
    """Unit weights: product weight w_e > 1 makes every ground state a maximum independent set."""
    loaded = load_instance("gen:mis?n=12&p=0.35&seed=5")
    prog = build_program(loaded)
    form = LagrangianForm(prog)
    assert form.is_product.all()
    X = all_bitstrings(prog.n_vars)
    alpha = prog.native_objective(X[prog.is_feasible(X)]).max()
    ss = ExactSampler(n_lowest=50).sample(form.qubo(np.full(prog.n_cons, 1.5)))
    ground = ss.X[ss.energy <= ss.energy[0] + 1e-9]
    assert prog.is_feasible(ground).all()
    assert prog.native_objective(ground).tolist() == [alpha] * len(ground)


def test_mdkp_take_rule() -> None:
    full = load_instance("mknap1#3").instance
    sub = load_instance("mknap1#3", take=5).instance
    expect = np.floor(full.capacities * full.weights[:, :5].sum(axis=1) / full.weights.sum(axis=1))
    np.testing.assert_array_equal(sub.capacities, expect)


def test_catalog_entries_all_load() -> None:
    entries = read_manifest()
    assert len(entries) == 107  # 101 + six Sloane graphs (sloane_1dc_64 was already there)
    for e in entries:
        if e.name in ("keller4", "C125-9"):
            continue  # large graphs are covered by the parser tests
        loaded = load_instance(e.name)
        assert loaded.problem == e.problem
        assert loaded.known_optimum == e.optimum


def test_catalog_errors() -> None:
    with pytest.raises(ValidationError, match="unknown instance"):
        load_instance("no-such-thing")
    with pytest.raises(ValidationError, match="outside"):
        load_instance("mknap1#1", take=99)
    with pytest.raises(ValidationError, match="unknown parameter"):
        parse_spec("gen:tsp?n=5&colour=red")
    with pytest.raises(ValidationError, match="not mis"):
        load_instance("burma14", problem="mis")


def test_path_with_format_detection(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qslack.problems.catalog import instances_dir

    loaded = load_instance(str(instances_dir() / "mdkp" / "mknap2.txt") + "#PB5")
    assert loaded.format == "mknap2" and loaded.known_optimum == 2139
    loaded = load_instance(str(instances_dir() / "tsp_tiny" / "five_d.txt"))
    assert loaded.format == "matrix" and loaded.instance.n == 5
    odd = tmp_path / "weird.txt"
    odd.write_text("hello world\n")
    from qslack.exceptions import ParseError

    with pytest.raises(ParseError, match="--format"):
        load_instance(str(odd))
