"""Tests of the LP / MPS reader (``qslack.formats.lp``), by brute force over all points."""

from __future__ import annotations

import doctest
import gzip
import itertools
import subprocess
import sys
import warnings

import highspy
import numpy as np
import pytest

from qslack.exceptions import ParseError, ValidationError
from qslack.formats import lp as lp_mod
from qslack.formats.dimacs import FormatWarning
from qslack.formats.lp import read_lp
from qslack.model.program import BinaryProgram


def all_points(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)


def by_name(p: BinaryProgram, names: list[str], X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` (ordered as ``names``) reordered to ``p.var_names``."""
    pos = {v: i for i, v in enumerate(names)}
    return X[:, [pos[v] for v in p.var_names]]


def brute_optimum(p: BinaryProgram) -> tuple[float, np.ndarray]:
    X = all_points(p.n_vars)
    ok = p.is_feasible(X)
    f = p.objective(X)
    k = int(np.argmin(np.where(ok, f, np.inf)))
    return float(p.native(f[k])), X[k]


def highs_mip_optimum(path) -> float:
    """HiGHS's own MIP optimum of a linear model file (independent of our conversion)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------- LP files
KNAPSACK = """\\ 3-item knapsack
Maximize
 profit: 5 a + 4 b + 3 c
Subject To
 cap: 2 a + 3 b + c <= 4
Binary
 a b c
End
"""


def test_knapsack_max(tmp_path):
    path = write(tmp_path, "knap.lp", KNAPSACK)
    p = read_lp(path)
    assert p.name == "knap"
    assert p.var_names == ("a", "b", "c")
    assert p.con_names == ("cap",)
    assert p.con_groups == ("constraint",)
    assert p.sense == ("<=",)
    assert dict(p.metadata) == {"sense": "max", "problem": "program", "source": str(path)}
    assert p.is_max
    X = all_points(3)
    a, b, c = X.T
    np.testing.assert_array_equal(p.native_objective(X), 5 * a + 4 * b + 3 * c)
    np.testing.assert_array_equal(p.objective(X), -(5 * a + 4 * b + 3 * c))  # stored negated
    np.testing.assert_array_equal(p.is_feasible(X), 2 * a + 3 * b + c <= 4)
    best, x = brute_optimum(p)
    assert best == 8.0 and x.tolist() == [1, 0, 1]
    assert best == pytest.approx(highs_mip_optimum(path))


MIXED = """Minimize
 obj: 2 x1 - 3 x2 + x3 - x4 + 7
Subject To
 ge: x1 + x2 + x3 >= 2
 eq: x2 - x4 = 0
 le: 3 x1 + 2 x3 + x4 <= 4
 x1 + x4 >= 1
Bounds
 0 <= x1 <= 1
Binaries
 x1 x2 x3 x4
End
"""


def test_ge_eq_le_rows_and_unnamed_row(tmp_path):
    path = write(tmp_path, "mixed.lp", MIXED)
    p = read_lp(path)
    assert p.metadata["sense"] == "min"
    assert p.var_names == ("x1", "x2", "x3", "x4")
    assert p.con_names[:3] == ("ge", "eq", "le")
    assert p.n_cons == 4 and len(set(p.con_names)) == 4
    assert p.sense == ("<=", "==", "<=", "<=")
    # a >= row is negated into a <= row
    np.testing.assert_array_equal(p.A[0], [-1, -1, -1, 0])
    assert p.b[0] == -2
    X = all_points(4)
    x1, x2, x3, x4 = X.T
    np.testing.assert_array_equal(p.objective(X), 2 * x1 - 3 * x2 + x3 - x4 + 7)
    hand = (x1 + x2 + x3 >= 2) & (x2 == x4) & (3 * x1 + 2 * x3 + x4 <= 4) & (x1 + x4 >= 1)
    np.testing.assert_array_equal(p.is_feasible(X), hand)
    best, _ = brute_optimum(p)
    f = np.where(hand, 2 * x1 - 3 * x2 + x3 - x4 + 7, np.inf)
    assert best == f.min() == pytest.approx(highs_mip_optimum(path))


QP = """Minimize
 obj: x + 2 y - 3 z + [ 2 x * y - 4 y * z + 6 x ^ 2 ] / 2 + 0.5
Subject To
 c1: x + y + z <= 2
Binary
 x y z
End
"""


def test_quadratic_objective_hessian_convention(tmp_path):
    p = read_lp(write(tmp_path, "qp.lp", QP))
    X = all_points(3)
    x, y, z = X.T
    # [ ... ] / 2 halves the bracket: x*y - 2 y*z + 3 x^2, and x^2 = x on binaries
    hand = x + 2 * y - 3 * z + x * y - 2 * y * z + 3 * x + 0.5
    np.testing.assert_allclose(p.objective(X), hand)
    np.testing.assert_array_equal(p.Q, np.triu(p.Q, 1))  # strictly upper
    i = {v: k for k, v in enumerate(p.var_names)}
    assert p.Q[i["x"], i["y"]] == 1.0
    assert p.Q[i["y"], i["z"]] == -2.0
    assert p.c[i["x"]] == 4.0
    assert p.const == 0.5
    np.testing.assert_array_equal(p.is_feasible(X), x + y + z <= 2)
    best, xb = brute_optimum(p)
    assert best == pytest.approx(np.where(x + y + z <= 2, hand, np.inf).min())
    assert best == -2.5 and xb.tolist() == [0, 0, 1]


def test_quadratic_maximisation(tmp_path):
    text = "Maximize\n obj: x + y + [ -6 x * y + 2 y ^ 2 ] / 2\nSubject To\nBinary\n x y\nEnd\n"
    p = read_lp(write(tmp_path, "qmax.lp", text))
    X = all_points(2)
    x, y = X.T
    hand = x + y - 3 * x * y + y
    assert p.is_max and p.n_cons == 0
    np.testing.assert_allclose(p.native_objective(X), hand)
    np.testing.assert_allclose(p.objective(X), -hand)
    assert brute_optimum(p)[0] == 2.0


FIXED = """Minimize
 obj: x + y - z
Subject To
 c1: x + y + z >= 1
Bounds
 x = 1
 y = 0
Binary
 x y z
End
"""


def test_fixed_binaries_become_bound_rows(tmp_path):
    p = read_lp(write(tmp_path, "fixed.lp", FIXED))
    assert p.var_names == ("x", "y", "z")
    assert p.con_names == ("c1", "bound_x", "bound_y")
    assert p.con_groups == ("constraint", "bound", "bound")
    assert p.sense[1:] == ("==", "==")
    X = all_points(3)
    x, y, _ = X.T
    np.testing.assert_array_equal(p.is_feasible(X), (x == 1) & (y == 0))
    np.testing.assert_array_equal(p.group_mask("bound"), [False, True, True])
    assert brute_optimum(p) == (0.0, pytest.approx(np.array([1, 0, 1])))


def test_gzip_reads_like_plain(tmp_path):
    plain = write(tmp_path, "mixed.lp", MIXED)
    gz = tmp_path / "mixedz.lp.gz"
    gz.write_bytes(gzip.compress(MIXED.encode()))
    a, b = read_lp(plain), read_lp(gz)
    assert b.name == "mixedz"
    assert a.fingerprint() == b.fingerprint()


# ------------------------------------------------------------------ MPS (ranges)
# Maximise 3x + 2y + 4z + 2x + 2xy  (QUADOBJ lower triangle, objective 0.5 x'Hx:
# H_xx = 4 -> 2x^2 = 2x, H_yx = 2 -> 2xy)
#   c1: L 2 with R 1.5  -> 0.5 <= x + y + z <= 2
#   c2: G 1 with R 2    -> 1 <= x + 2z <= 3
#   c3: E 0 with R -1   -> -1 <= x - y <= 0
#   c4: E 1 with R 1    -> 1 <= y + z <= 2
#   c5: L 1, no range   -> x + z <= 1
# 'spare' is a second N row (free): it is dropped.
MPS = """NAME          RANGED
OBJSENSE
    MAX
ROWS
 N  obj
 N  spare
 L  c1
 G  c2
 E  c3
 E  c4
 L  c5
COLUMNS
    MARKER                 'MARKER'                 'INTORG'
    x         obj       3.0          c1        1.0
    x         c2        1.0          c3        1.0
    x         spare     9.0          c5        1.0
    MARKER                 'MARKER'                 'INTEND'
    y         obj       2.0          c1        1.0
    y         c3        -1.0         c4        1.0
    z         obj       4.0          c1        1.0
    z         c2        2.0          c4        1.0
    z         c5        1.0
RHS
    rhs       c1        2.0          c2        1.0
    rhs       c3        0.0          c4        1.0
    rhs       c5        1.0
RANGES
    rng       c1        1.5          c2        2.0
    rng       c3        -1.0         c4        1.0
BOUNDS
 UP bnd       x         1.0
 BV bnd       y
 BV bnd       z
QUADOBJ
    x         x         4.0
    x         y         2.0
ENDATA
"""


def mps_hand(X):
    x, y, z = X.T
    obj = 3 * x + 2 * y + 4 * z + 2 * x + 2 * x * y
    s1, s2, d3, s4, s5 = x + y + z, x + 2 * z, x - y, y + z, x + z
    feas = (
        (0.5 <= s1)
        & (s1 <= 2)
        & (1 <= s2)
        & (s2 <= 3)
        & (-1 <= d3)
        & (d3 <= 0)
        & (1 <= s4)
        & (s4 <= 2)
        & (s5 <= 1)
    )
    return obj, feas


def test_mps_ranges_markers_quadobj(tmp_path):
    path = write(tmp_path, "ranged.mps", MPS)
    p = read_lp(path)
    assert p.name == "ranged" and p.is_max
    assert p.var_names == ("x", "y", "z")
    assert "spare" not in p.con_names  # extra N row: free, dropped
    assert p.con_names == ("c1", "c1_lo", "c2", "c2_lo", "c3", "c3_lo", "c4", "c4_lo", "c5")
    assert set(p.sense) == {"<="}
    X = all_points(3)
    obj, feas = mps_hand(X)
    np.testing.assert_allclose(p.native_objective(X), obj)
    np.testing.assert_array_equal(p.is_feasible(X), feas)
    best, xb = brute_optimum(p)
    assert best == np.where(feas, obj, -np.inf).max() == 9.0
    assert xb.tolist() == [1, 1, 0]


def test_mps_equals_lp_equivalent(tmp_path):
    """The knapsack written by hand in fixed MPS reads as the LP file does."""
    mps = """NAME          KNAP
OBJSENSE
    MAX
ROWS
 N  profit
 L  cap
COLUMNS
    a         profit    5.0          cap       2.0
    b         profit    4.0          cap       3.0
    c         profit    3.0          cap       1.0
RHS
    RHS       cap       4.0
BOUNDS
 BV BND       a
 BV BND       b
 BV BND       c
ENDATA
"""
    a = read_lp(write(tmp_path, "knap.lp", KNAPSACK))
    b = read_lp(write(tmp_path, "knap.mps", mps))
    assert a.fingerprint() == b.fingerprint()
    X = all_points(3)
    np.testing.assert_array_equal(a.objective(X), b.objective(X))
    assert highs_mip_optimum(tmp_path / "knap.mps") == 8.0


def test_mps_ranged_rows_match_highs_mip(tmp_path):
    """Linear part of the ranged model: our brute-force optimum equals HiGHS's MIP optimum."""
    text = MPS.split("QUADOBJ")[0] + "ENDATA\n"
    path = write(tmp_path, "lin.mps", text)
    p = read_lp(path)
    assert p.n_cons == 9
    assert brute_optimum(p)[0] == pytest.approx(highs_mip_optimum(path))


# ------------------------------------------------------- round trip via qiskit
def random_program(seed: int) -> BinaryProgram:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 7)), int(rng.integers(0, 5))
    Q = rng.integers(-3, 4, size=(n, n)) / 2.0
    Q[rng.random((n, n)) < 0.4] = 0.0
    A = rng.integers(-3, 4, size=(m, n)).astype(float)
    b = rng.integers(-2, 5, size=m).astype(float)
    sense = [("==", "<=")[int(k)] for k in rng.integers(0, 2, size=m)]
    return BinaryProgram.from_arrays(
        c=rng.integers(-4, 5, size=n) / 2.0,
        Q=Q,
        const=float(rng.integers(-3, 4)) / 4.0,
        A=A,
        b=b,
        sense=sense,
        var_names=[f"x{i}" for i in range(n)],
        con_names=[f"r{k}" for k in range(m)],
        metadata={"sense": "max" if seed % 2 else "min"},
    )


def export_lp(p: BinaryProgram) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return p.to_quadratic_program().export_as_lp_string()


@pytest.mark.parametrize("seed", range(12))
def test_round_trip_through_qiskit_lp_writer(tmp_path, seed):
    p = random_program(seed)
    path = write(tmp_path, f"rt{seed}.lp", export_lp(p))
    q = read_lp(path)
    assert q.metadata["sense"] == "min"  # the export is of the internal minimisation
    assert set(q.var_names) == set(p.var_names)
    assert set(q.con_names) <= {*p.con_names, *(f"{r}_lo" for r in p.con_names)}
    X = all_points(p.n_vars)
    Xq = by_name(q, list(p.var_names), X)
    np.testing.assert_allclose(q.objective(Xq), p.objective(X), atol=1e-9)
    np.testing.assert_array_equal(q.is_feasible(Xq), p.is_feasible(X))


def test_farm_mis_as_lp(tmp_path):
    from qslack.problems.catalog import build_program, load_instance

    p = build_program(load_instance("farm"))
    path = write(tmp_path, "farm.lp", export_lp(p))
    q = read_lp(path)
    assert q.name == "farm" and q.n_vars == p.n_vars == 17 and q.n_cons == p.n_cons == 39
    # DOcplex prefixes names starting with 'e' ("edge_0_5" -> "_edge_0_5")
    q_rows = {nm.removeprefix("_"): k for k, nm in enumerate(q.con_names)}
    assert set(q_rows) == set(p.con_names)
    cols = [q.var_names.index(v) for v in p.var_names]
    rows = [q_rows[r] for r in p.con_names]
    np.testing.assert_array_equal(q.A[np.ix_(rows, cols)], p.A)
    np.testing.assert_array_equal(q.b[rows], p.b)
    np.testing.assert_array_equal([q.sense[k] for k in rows], p.sense)
    np.testing.assert_array_equal(q.c[cols], p.c)  # p is stored negated (max); the export is its min
    assert not np.any(q.Q) and q.const == p.const
    X = np.random.default_rng(0).integers(0, 2, size=(2000, p.n_vars))
    feas = p.is_feasible(X)
    assert 0 < feas.sum() < len(X)
    np.testing.assert_array_equal(q.is_feasible(X[:, np.argsort(cols)]), feas)
    np.testing.assert_array_equal(q.objective(X[:, np.argsort(cols)]), p.objective(X))


# ------------------------------------------------------------------------ errors
def test_continuous_variable_is_named(tmp_path):
    text = "Minimize\n obj: x + yy\nSubject To\n c: x + yy >= 1\nBounds\n 0 <= yy <= 1\nBinary\n x\nEnd\n"
    with pytest.raises(ValidationError, match=r"'yy'.*continuous"):
        read_lp(write(tmp_path, "cont.lp", text))


def test_general_integer_is_named(tmp_path):
    text = (
        "Minimize\n obj: x + k\nSubject To\n c: x + k >= 1\nBounds\n 0 <= k <= 3\n"
        "General\n k\nBinary\n x\nEnd\n"
    )
    with pytest.raises(ValidationError, match=r"'k'.*\[0, 3\]"):
        read_lp(write(tmp_path, "gen.lp", text))


def test_pure_lp_is_refused(tmp_path):
    mps = "NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    u  obj  1.0  c1  1.0\nRHS\n    rhs c1 1.0\nENDATA\n"
    with pytest.raises(ValidationError, match="'u'"):
        read_lp(write(tmp_path, "lp.mps", mps))


def test_malformed_lp_names_path_and_line(tmp_path):
    path = write(tmp_path, "bad.lp", "Maximize\n obj: 3 x + \nSubject To\n c1: x <= 1\nBinary\n x\nEnd\n")
    with pytest.raises(ParseError) as info:
        read_lp(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert info.value.line == 3  # HiGHS's LP parser reports where it stopped


def test_malformed_mps(tmp_path):
    path = write(tmp_path, "bad.mps", "NAME x\nCOLUMNS\n    x   c1   1.0\nENDATA\n")  # no ROWS
    with pytest.raises(ParseError, match=r"bad\.mps"):
        read_lp(path)


def test_highs_warnings_are_reissued(tmp_path):
    mps = (
        "NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    x  obj  1.0  c1  1.0\n    x  nosuchrow  1.0\n"
        "RHS\n    rhs  c1  1.0\nBOUNDS\n BV bnd  x\nENDATA\n"
    )
    with pytest.warns(FormatWarning, match="nosuchrow"):
        p = read_lp(write(tmp_path, "warn.mps", mps))
    assert p.var_names == ("x",) and p.con_names == ("c1",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_lp(write(tmp_path, "knap.lp", KNAPSACK))  # a clean file warns nothing


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(ParseError, match=r"nothere\.lp"):
        read_lp(tmp_path / "nothere.lp")
    with pytest.raises(ParseError, match=r"model\.txt"):
        read_lp(write(tmp_path, "model.txt", KNAPSACK))
    with pytest.raises(ParseError):
        read_lp(tmp_path)  # a directory


def test_reading_prints_nothing(tmp_path):
    path = write(tmp_path, "knap.lp", KNAPSACK)
    code = "import sys; from qslack.formats.lp import read_lp; p = read_lp(sys.argv[1]); print('n', p.n_vars)"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout == "n 3\n"  # no HiGHS banner, and stdout still works afterwards
    assert "HiGHS" not in out.stderr


def test_helpers():
    assert lp_mod._unique(["a", "", "a", "a"], "c") == ["a", "c1", "a_1", "a_2"]
    assert lp_mod._program_name(lp_mod.Path("d/knap.mps.gz")) == "knap"
    assert lp_mod._program_name(lp_mod.Path("d/knap.lp")) == "knap"


def test_doctests():
    assert doctest.testmod(lp_mod, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
