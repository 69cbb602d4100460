"""Tests of the DIMACS / QOBLIB graph readers against the shipped files."""

from __future__ import annotations

import doctest
import warnings
from pathlib import Path

import numpy as np
import pytest

from qslack.exceptions import ParseError, ValidationError
from qslack.formats import dimacs
from qslack.formats.dimacs import (
    FormatWarning,
    Graph,
    read_dimacs,
    read_opt_sol,
    sniff_dimacs,
    write_dimacs,
)

MIS = Path(__file__).resolve().parents[1] / "instances" / "mis"

# SOURCES.md: file stem, nodes, edges, alpha
GRAPHS = [
    ("farm", 17, 39, 10),
    ("ibm32", 32, 90, 13),
    ("karate", 34, 78, 20),
    ("football", 35, 118, 16),
    ("sloane_1dc_64", 64, 543, 10),
    ("C125-9", 125, 787, 34),
]


def is_canonical(g: Graph) -> bool:
    e = g.edges
    if e.dtype != np.int64 or e.ndim != 2 or e.shape[1] != 2:
        return False
    if e.size == 0:
        return True
    keys = e[:, 0] * g.n_nodes + e[:, 1]
    return bool(
        np.all(e[:, 0] < e[:, 1])
        and e.min() >= 0
        and e.max() < g.n_nodes
        and np.all(np.diff(keys) > 0)  # sorted and unique
    )


def is_independent(g: Graph, nodes: np.ndarray) -> bool:
    chosen = np.zeros(g.n_nodes, dtype=bool)
    chosen[nodes] = True
    return not np.any(chosen[g.edges[:, 0]] & chosen[g.edges[:, 1]])


def write(tmp_path: Path, text: str, name: str = "g.gph") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


# ----------------------------------------------------------------------- shipped files


@pytest.mark.parametrize(("stem", "n", "m", "alpha"), GRAPHS)
def test_qoblib_graph_and_solution(stem: str, n: int, m: int, alpha: int) -> None:
    g = read_dimacs(MIS / f"{stem}.gph")
    assert g.name == stem
    assert g.source == str(MIS / f"{stem}.gph")
    assert (g.n_nodes, g.n_edges) == (n, m)
    assert is_canonical(g)
    np.testing.assert_array_equal(g.weights, np.ones(n))
    # the file's e lines, read independently, give the same edge set
    raw = {
        tuple(sorted(int(x) - 1 for x in line.split()[1:3]))
        for line in (MIS / f"{stem}.gph").read_text().splitlines()
        if line.startswith("e ")
    }
    assert raw == set(map(tuple, g.edges.tolist()))

    objective, nodes = read_opt_sol(MIS / f"{stem}.opt.sol")
    assert objective == alpha
    assert nodes.dtype == np.int64
    assert nodes.size == alpha
    assert len(set(nodes.tolist())) == alpha
    assert nodes.min() >= 0
    assert nodes.max() < n
    assert is_independent(g, nodes)


def test_opt_sol_is_zero_based() -> None:
    _, nodes = read_opt_sol(MIS / "farm.opt.sol")
    first = [ln for ln in (MIS / "farm.opt.sol").read_text().splitlines() if ln[:1].isdigit()]
    assert nodes.tolist() == [int(x) - 1 for x in first]
    assert nodes[0] == 4  # the file lists vertex 5 first


def test_brute_force_alpha_farm() -> None:
    g = read_dimacs(MIS / "farm.gph")
    masks = np.arange(2**g.n_nodes, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(g.n_nodes)) & 1).astype(bool)
    ok = ~np.any(bits[:, g.edges[:, 0]] & bits[:, g.edges[:, 1]], axis=1)
    assert int(bits[ok].sum(axis=1).max()) == 10


def test_keller4_clq_complement() -> None:
    path = MIS / "keller4.clq"
    assert b"\r\n" in path.read_bytes()  # the shipped file has CRLF line ends
    g = read_dimacs(path)  # .clq: complement by default
    assert g.name == "keller4"
    assert (g.n_nodes, g.n_edges) == (171, 5100)
    assert is_canonical(g)
    raw = read_dimacs(path, complement=False)
    assert (raw.n_nodes, raw.n_edges) == (171, 9435)  # M on the p line = number of e lines
    assert raw.n_edges + g.n_edges == 171 * 170 // 2
    np.testing.assert_array_equal(raw.complement().edges, g.edges)
    assert raw.complement().name == "keller4^c"
    # no edge in both
    both = set(map(tuple, raw.edges.tolist())) & set(map(tuple, g.edges.tolist()))
    assert not both
    # a .gph file is not complemented unless asked
    assert read_dimacs(MIS / "farm.gph", complement=True).n_edges == 17 * 16 // 2 - 39


def test_sniff_dimacs() -> None:
    for stem, *_ in GRAPHS:
        assert sniff_dimacs((MIS / f"{stem}.gph").read_text())
    assert sniff_dimacs((MIS / "keller4.clq").read_bytes().decode())
    assert not sniff_dimacs((MIS / "farm.opt.sol").read_text())
    assert not sniff_dimacs("p cnf 3 2\n")
    assert not sniff_dimacs("e 1 2\np edge 2 1\n")
    assert not sniff_dimacs("")
    assert sniff_dimacs("p col 3 0\n")


# ----------------------------------------------------------------------- Graph methods


def test_take_induced_subgraph() -> None:
    g = read_dimacs(MIS / "karate.gph")
    sub = g.take(10)
    assert sub.name == "karate[:10]"
    assert sub.n_nodes == 10
    expected = [e for e in g.edges.tolist() if max(e) < 10]
    assert sub.edges.tolist() == expected
    assert 0 < sub.n_edges < g.n_edges
    assert g.take(g.n_nodes).n_edges == g.n_edges
    for bad in (0, g.n_nodes + 1):
        with pytest.raises(ValidationError):
            g.take(bad)


def test_to_networkx() -> None:
    g = read_dimacs(MIS / "football.gph")
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == 35
    assert nxg.number_of_edges() == 118
    assert nxg.has_edge(*g.edges[0].tolist())
    assert all(d["weight"] == 1.0 for _, d in nxg.nodes(data=True))


def test_graph_constructor_normalises_and_validates() -> None:
    g = Graph("t", 4, [(3, 1), (1, 3), (0, 2)], weights=[1, 2, 3, 4])
    assert g.edges.tolist() == [[0, 2], [1, 3]]
    assert g.weights.tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="read-only"):
        g.edges[0, 0] = 5
    assert Graph("empty", 3, []).n_edges == 0
    with pytest.raises(ValidationError):
        Graph("t", 3, [(0, 3)])
    with pytest.raises(ValidationError):
        Graph("t", 3, [(1, 1)])
    with pytest.raises(ValidationError):
        Graph("t", 3, [(0, 1)], weights=[1, 2])


# ----------------------------------------------------------------------- bad inputs


def test_duplicate_edges_merged_with_one_warning(tmp_path: Path) -> None:
    text = "c dup\np edge 4 5\ne 1 2\ne 2 3\ne 2 1\ne 3 4\ne 1 2\n"
    f = write(tmp_path, text)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        g = read_dimacs(f)
    ours = [w for w in rec if issubclass(w.category, FormatWarning)]
    assert len(ours) == 1
    assert len(rec) == 1
    msg = str(ours[0].message)
    assert str(f) in msg
    assert "merged 2" in msg
    assert "line 5" in msg
    assert g.edges.tolist() == [[0, 1], [1, 2], [2, 3]]
    # M may also count the distinct edges
    with pytest.warns(FormatWarning):
        assert read_dimacs(write(tmp_path, text.replace("p edge 4 5", "p edge 4 3"))).n_edges == 3
    # ... but nothing else
    with pytest.raises(ParseError, match="M=4") as err:
        read_dimacs(write(tmp_path, text.replace("p edge 4 5", "p edge 4 4")))
    assert err.value.line == 2
    # a clean file warns nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_dimacs(MIS / "farm.gph")


def test_edge_count_mismatch(tmp_path: Path) -> None:
    f = write(tmp_path, "p edge 3 3\ne 1 2\ne 2 3\n")
    with pytest.raises(ParseError) as err:
        read_dimacs(f)
    assert "M=3" in str(err.value)
    assert "2 'e' lines" in str(err.value)
    assert err.value.line == 1


def test_self_loop(tmp_path: Path) -> None:
    f = write(tmp_path, "p edge 3 2\ne 1 2\ne 3 3\n")
    with pytest.raises(ParseError, match="self-loop") as err:
        read_dimacs(f)
    assert err.value.line == 3


@pytest.mark.parametrize("bad", ["0", "4", "-1"])
def test_node_id_out_of_range(tmp_path: Path, bad: str) -> None:
    f = write(tmp_path, f"c x\np edge 3 2\ne 1 2\ne 2 {bad}\n")
    with pytest.raises(ParseError, match=r"outside 1\.\.3") as err:
        read_dimacs(f)
    assert err.value.line == 4


def test_non_numeric_token(tmp_path: Path) -> None:
    f = write(tmp_path, "p edge 3 2\ne 1 2\ne 2 x3\n")
    with pytest.raises(ParseError) as err:
        read_dimacs(f)
    assert err.value.line == 3
    assert err.value.token == "x3"
    assert str(err.value).startswith(f"{f}:3:")
    assert "'x3'" in str(err.value)
    f = write(tmp_path, "p edge 3 two\n")
    with pytest.raises(ParseError) as err:
        read_dimacs(f)
    assert err.value.token == "two"


@pytest.mark.parametrize(
    ("text", "pattern", "line"),
    [
        ("c only\ne 1 2\n", "before the 'p' line", 2),
        ("c only\n", "no 'p edge", None),
        ("p edge 2 1\nx 1 2\n", "unknown line type", 2),
        ("p edge 2 1\np edge 2 1\ne 1 2\n", "second 'p' line", 2),
        ("p cnf 2 1\ne 1 2\n", "unknown problem format", 1),
        ("p edge 2\ne 1 2\n", "problem line", 1),
        ("p edge 2 1\ne 1 2 7\n", "expected 'e u v'", 2),
        ("p edge 2 1\nn 1 1\nn 1 2\ne 1 2\n", "weighted twice", 3),
        ("p edge 2 1\nn 1 heavy\ne 1 2\n", "non-numeric node weight", 2),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, pattern: str, line: int | None) -> None:
    with pytest.raises(ParseError, match=pattern) as err:
        read_dimacs(write(tmp_path, text))
    assert err.value.line == line


def test_crlf_node_weights_and_col(tmp_path: Path) -> None:
    f = tmp_path / "w.col"
    f.write_bytes(b"c w\r\np col 3 2\r\nn 2 2.5\r\n\r\ne 1 2\r\ne 3 2\r\n")
    g = read_dimacs(f)
    assert g.weights.tolist() == [1.0, 2.5, 1.0]
    assert g.edges.tolist() == [[0, 1], [1, 2]]
    assert g.name == "w"


def test_opt_sol_errors(tmp_path: Path) -> None:
    f = write(tmp_path, "# Objective value = 2\n1\n1\n", "a.opt.sol")
    with pytest.raises(ParseError, match="twice") as err:
        read_opt_sol(f)
    assert err.value.line == 3
    f = write(tmp_path, "# Objective value = 2\n1\nv3\n", "a.opt.sol")
    with pytest.raises(ParseError) as err:
        read_opt_sol(f)
    assert err.value.line == 3
    assert err.value.token == "v3"
    f = write(tmp_path, "# Objective value = 2\n0\n", "a.opt.sol")
    with pytest.raises(ParseError, match="1-based"):
        read_opt_sol(f)
    f = write(tmp_path, "# no objective\n2 4\n", "a.opt.sol")
    obj, nodes = read_opt_sol(f)
    assert obj is None
    assert nodes.tolist() == [1, 3]


# ----------------------------------------------------------------------- round trip


def test_write_read_round_trip(tmp_path: Path) -> None:
    for stem, *_ in GRAPHS:
        g = read_dimacs(MIS / f"{stem}.gph")
        out = tmp_path / f"{stem}.gph"
        write_dimacs(out, g)
        back = read_dimacs(out)
        assert back.n_nodes == g.n_nodes
        np.testing.assert_array_equal(back.edges, g.edges)
        np.testing.assert_array_equal(back.weights, g.weights)
    weighted = Graph("w", 4, [(0, 3), (1, 2)], weights=[0.1, 2.0, -3.5, 1e-300])
    out = tmp_path / "w.clq"
    write_dimacs(out, weighted)
    back = read_dimacs(out, complement=False)
    np.testing.assert_array_equal(back.weights, weighted.weights)  # bit-exact
    np.testing.assert_array_equal(back.edges, weighted.edges)
    assert read_dimacs(out).n_edges == 6 - 2  # .clq complemented by default
    keller = read_dimacs(MIS / "keller4.clq")
    write_dimacs(tmp_path / "k.gph", keller)
    np.testing.assert_array_equal(read_dimacs(tmp_path / "k.gph").edges, keller.edges)


def test_docstring_examples() -> None:
    result = doctest.testmod(dimacs)
    assert result.attempted >= 10
    assert result.failed == 0
