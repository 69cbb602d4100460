"""Tests of the OR-Library MDKP readers against the shipped files."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pytest

from qslack.exceptions import ParseError, ValidationError
from qslack.formats import orlib
from qslack.formats.orlib import (
    MDKPInstance,
    list_problems,
    mknapcb_best_known,
    read_mdkp,
    read_mkcbres,
    read_mknap,
    read_mknap2,
    sniff_orlib,
)

MDKP = Path(__file__).resolve().parents[1] / "instances" / "mdkp"
MKNAP1 = MDKP / "mknap1.txt"
MKNAP2 = MDKP / "mknap2.txt"
MKNAPCB1 = MDKP / "mknapcb1.txt"
MKCBRES = MDKP / "best-feasible-slns.txt"

# SOURCES.md: mknap1 (n, m, optimum)
MKNAP1_TABLE = [
    (6, 10, 3800.0),
    (10, 10, 8706.1),
    (15, 10, 4015.0),
    (20, 10, 6120.0),
    (28, 10, 12400.0),
    (39, 5, 10618.0),
    (50, 5, 16537.0),
]

MKNAP2_NAMES = (
    ["SENTO1", "SENTO2"]
    + [f"WEING{i}" for i in range(1, 9)]
    + [f"WEISH{i:02d}" for i in range(1, 31)]
    + ["PB1", "PB2", "PB4", "PB5", "PB6", "PB7", "HP1", "HP2"]
)
# SOURCES.md, in the order of MKNAP2_NAMES
_MKNAP2_OPT_TEXT = """
7772 8722
141278 130883 95677 119337 98796 130623 1095445 624319
4554 4536 4115 4561 4514 5557 5567 5605 5246 6339
5643 6339 6159 6954 7486 7289 8633 9580 7698 9450
9074 8947 8344 10220 9939 9584 9819 9492 9410 11191
3090 3186 95168 2139 776 1035 3418 3186
"""
MKNAP2_OPT = dict(zip(MKNAP2_NAMES, map(float, _MKNAP2_OPT_TEXT.split()), strict=True))

# best-feasible-slns.txt rows 5.100-00 .. 5.100-29 (proven optimal per SOURCES.md)
CB1_BEST = [
    24381, 24274, 23551, 23534, 23991, 24613, 25591, 23410, 24216, 24411,
    42757, 42545, 41968, 45090, 42218, 42927, 42009, 45020, 43441, 44554,
    59822, 62081, 59802, 60479, 61091, 58959, 61538, 61520, 59453, 59965,
]  # fmt: skip


def brute_force(inst: MDKPInstance) -> float:
    """Exact optimum by enumerating all 2^n selections (meet in the middle)."""
    n, h = inst.n, inst.n // 2

    def enumerate_half(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = (np.arange(2 ** len(cols))[:, None] >> np.arange(len(cols))) & 1
        bits = bits.astype(np.float64)
        return bits @ inst.profits[cols], bits @ inst.weights[:, cols].T

    p_lo, w_lo = enumerate_half(np.arange(h))
    p_hi, w_hi = enumerate_half(np.arange(h, n))
    best = -math.inf
    for j in range(p_hi.size):
        ok = np.all(w_lo + w_hi[j] <= inst.capacities, axis=1)
        if ok.any():
            best = max(best, p_hi[j] + p_lo[ok].max())
    return best


# ----------------------------------------------------------------------- Format A


def test_mknap1_all_problems() -> None:
    assert list_problems(MKNAP1) == [str(i) for i in range(1, 8)]
    for k, (n, m, opt) in enumerate(MKNAP1_TABLE, start=1):
        inst = read_mknap(MKNAP1, k)
        assert inst.name == f"mknap1#{k}"
        assert (inst.n, inst.m) == (n, m)
        assert inst.profits.shape == (n,)
        assert inst.profits.dtype == np.float64
        assert inst.weights.shape == (m, n)
        assert inst.weights.dtype == np.float64
        assert inst.capacities.shape == (m,)
        assert inst.capacities.dtype == np.float64
        assert inst.optimum == pytest.approx(opt, rel=1e-12)
        assert inst.source == str(MKNAP1)


def test_mknap1_first_problem_values() -> None:
    inst = read_mknap(MKNAP1, 1)
    assert inst.profits.tolist() == [100, 600, 1200, 2400, 500, 2000]
    assert inst.weights[0].tolist() == [8, 12, 13, 64, 22, 41]
    assert inst.weights[9].tolist() == [3, 2, 4, 8, 8, 4]
    assert inst.capacities.tolist() == [80, 96, 20, 36, 44, 48, 10, 18, 22, 24]
    # mknap1 #2 has non-integer profits
    assert read_mknap(MKNAP1, 2).profits[0] == pytest.approx(600.1)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_mknap1_brute_force_matches_optimum(k: int) -> None:
    inst = read_mknap(MKNAP1, k)
    assert brute_force(inst) == pytest.approx(inst.optimum, rel=1e-12)


def test_mknapcb1_problems_and_best_known() -> None:
    assert list_problems(MKNAPCB1) == [str(i) for i in range(1, 31)]
    for k in range(1, 31):
        inst = read_mknap(MKNAPCB1, k)
        assert inst.name == f"mknapcb1#{k}"
        assert (inst.m, inst.n) == (5, 100)
        assert inst.optimum is None  # 0 in the file
        assert mknapcb_best_known(MKCBRES, "mknapcb1", k) == CB1_BEST[k - 1]
        # Chu-Beasley tightness 0.25 / 0.50 / 0.75 for problems 00-09 / 10-19 / 20-29,
        # confirming that problem k is row 5.100-{k-1:02d}.
        tightness = (0.25, 0.50, 0.75)[(k - 1) // 10]
        ratio = inst.capacities / inst.weights.sum(axis=1)
        np.testing.assert_allclose(ratio, tightness, atol=1e-3)


def test_read_mkcbres() -> None:
    res = read_mkcbres(MKCBRES)
    groups = [f"{m}.{n}" for m in (5, 10, 30) for n in (100, 250, 500)]
    assert set(res) == {f"{g}-{k:02d}" for g in groups for k in range(30)}
    assert res["5.100-00"] == {"best": 24381.0, "lp": pytest.approx(24585.902722)}
    assert res["30.500-29"] == {"best": 300460.0, "lp": pytest.approx(301020.62978)}
    assert [res[f"5.100-{k:02d}"]["best"] for k in range(30)] == CB1_BEST
    for row in res.values():
        assert row["best"] <= row["lp"]  # LP relaxation bounds the best integer value
    assert mknapcb_best_known(MKCBRES, "mknapcb9.txt", 30) == 300460.0
    assert mknapcb_best_known(MKCBRES, "mknapcb4", 1) == res["10.100-00"]["best"]
    with pytest.raises(ValidationError, match="mknapcb1"):
        mknapcb_best_known(MKCBRES, "mknapcb10", 1)
    with pytest.raises(ValidationError, match=r"5\.100-30"):
        mknapcb_best_known(MKCBRES, "mknapcb1", 31)
    with pytest.raises(ValidationError):
        mknapcb_best_known(MKCBRES, "mknapcb1")


def test_mkcbres_row_before_header(tmp_path: Path) -> None:
    f = tmp_path / "res.txt"
    f.write_text("5.100-00 1\n")
    with pytest.raises(ParseError, match="before any table header"):
        read_mkcbres(f)
    f.write_text("Problem Name  Best\n5.100-00 x1\n")
    with pytest.raises(ParseError) as err:
        read_mkcbres(f)
    assert err.value.line == 2
    assert err.value.token == "x1"


# ----------------------------------------------------------------------- Format B


def test_mknap2_all_problems() -> None:
    assert list_problems(MKNAP2) == MKNAP2_NAMES
    for k, name in enumerate(MKNAP2_NAMES, start=1):
        inst = read_mknap2(MKNAP2, name)
        assert inst.name == f"mknap2#{name}"
        assert inst.optimum == MKNAP2_OPT[name]
        assert inst.weights.shape == (inst.m, inst.n)
        assert np.all(inst.weights >= 0)
        assert np.all(inst.profits > 0)
        by_index = read_mknap2(MKNAP2, k)
        assert by_index.name == inst.name
        np.testing.assert_array_equal(by_index.weights, inst.weights)


def test_mknap2_constraints_first_and_values() -> None:
    sento1 = read_mknap2(MKNAP2, "SENTO1")
    assert (sento1.m, sento1.n) == (30, 60)  # "30 60": constraints first
    assert sento1.profits[:3].tolist() == [2, 77, 6]
    assert sento1.capacities[:3].tolist() == [6000, 6000, 6000]
    assert sento1.capacities[9] == 4000
    assert sento1.weights[0, :3].tolist() == [47, 774, 76]
    # HP2 is the last problem in the file
    hp2 = read_mknap2(MKNAP2, "HP2")
    assert (hp2.m, hp2.n) == (4, 35)
    assert hp2.capacities.tolist() == [163, 165, 239, 168]
    assert hp2.weights[3, -5:].tolist() == [4, 18, 3, 4, 0]
    # The commented example of the header is WEING1: the real section must match it.
    weing1 = read_mknap2(MKNAP2, "WEING1")
    assert (weing1.m, weing1.n) == (2, 28)
    assert weing1.capacities.tolist() == [600, 600]
    assert weing1.profits[-1] == 10500
    assert weing1.weights[1, -1] == 150


def test_mknap2_name_forms() -> None:
    ref = read_mknap2(MKNAP2, "PB5")
    for key in ("pb5", "PB5.DAT", "pb5.dat", " PB5 ", 44, "44"):
        inst = read_mknap2(MKNAP2, key)
        assert inst.name == "mknap2#PB5"
        np.testing.assert_array_equal(inst.weights, ref.weights)


def test_mknap2_brute_force_pb5() -> None:
    inst = read_mknap2(MKNAP2, "PB5")
    assert inst.n == 20  # the only SAC-94 problem with at most 20 items
    assert brute_force(inst) == inst.optimum == 2139


def test_mknap2_unknown_name_lists_available() -> None:
    with pytest.raises(ValidationError) as err:
        read_mknap2(MKNAP2, "PB3")
    msg = str(err.value)
    assert "'PB3'" in msg
    assert "SENTO1" in msg
    assert "HP2" in msg


def test_index_out_of_range() -> None:
    with pytest.raises(ValidationError, match="holds 7 problem"):
        read_mknap(MKNAP1, 8)
    with pytest.raises(ValidationError, match="holds 7 problem"):
        read_mknap(MKNAP1, 0)
    with pytest.raises(ValidationError, match="holds 48 problem"):
        read_mknap2(MKNAP2, 49)
    with pytest.raises(ValidationError):
        read_mknap(MKNAP1, True)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- dispatch


def test_sniff_and_dispatch() -> None:
    assert sniff_orlib(MKNAP1.read_text()) == "mknap"
    assert sniff_orlib(MKNAPCB1.read_text()) == "mknap"
    assert sniff_orlib(MKNAP2.read_text()) == "mknap2"
    assert sniff_orlib(MKCBRES.read_text()) is None
    assert sniff_orlib((MDKP / "file-format.txt").read_text()) is None
    text = MKNAP1.read_text()
    assert sniff_orlib(text.rsplit(maxsplit=1)[0]) is None  # one token short
    assert sniff_orlib(text + " 1") is None  # one token too many

    assert read_mdkp(MKNAP2, "pb5").name == "mknap2#PB5"
    assert read_mdkp(MKNAP1, 3).name == "mknap1#3"
    assert read_mdkp(MKNAP1, "3").name == "mknap1#3"
    assert read_mdkp(MKNAPCB1, 2, fmt="mknap").name == "mknapcb1#2"
    assert read_mdkp(MKNAP2, 1, fmt="mknap2").name == "mknap2#SENTO1"
    with pytest.raises(ValidationError, match="fmt"):
        read_mdkp(MKNAP1, 1, fmt="mknap3")
    with pytest.raises(ParseError):
        read_mdkp(MKNAP2, 1, fmt="mknap")
    with pytest.raises(ParseError):
        read_mdkp(MKNAP1, 1, fmt="mknap2")
    with pytest.raises(ParseError, match="not an OR-Library"):
        read_mdkp(MDKP / "file-format.txt", 1)
    with pytest.raises(ValidationError):
        read_mdkp(MKNAP1, "PB5")


def test_crlf_file_reads_the_same(tmp_path: Path) -> None:
    f = tmp_path / "mknap1.txt"
    f.write_bytes(MKNAP1.read_bytes().replace(b"\n", b"\r\n"))
    a, b = read_mknap(f, 7), read_mknap(MKNAP1, 7)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.name == b.name
    assert a.optimum == b.optimum


# ----------------------------------------------------------------------- take


def test_take_capacity_rule_by_hand() -> None:
    inst = read_mknap(MKNAP1, 1)
    sub = inst.take(3)
    # b_i * (w_i1 + w_i2 + w_i3) / sum_j w_ij, floored:
    #   80*33/160 = 16.5 -> 16     96*33/171 = 18.53 -> 18    20*13/41 = 6.34 -> 6
    #   36*23/73 = 11.34 -> 11     44*26/94 = 12.17 -> 12     48*26/100 = 12.48 -> 12
    #   10*0/8 = 0                 18*7/15 = 8.4 -> 8         22*9/21 = 9.43 -> 9
    #   24*9/29 = 7.45 -> 7
    assert sub.capacities.tolist() == [16, 18, 6, 11, 12, 12, 0, 8, 9, 7]
    assert sub.name == "mknap1#1[:3]"
    assert sub.optimum is None
    assert sub.source == inst.source
    assert sub.profits.tolist() == [100, 600, 1200]
    np.testing.assert_array_equal(sub.weights, inst.weights[:, :3])
    # k = n keeps the capacities
    np.testing.assert_array_equal(inst.take(6).capacities, inst.capacities)


def test_take_exact_and_degenerate_rows() -> None:
    inst = MDKPInstance("t", [1, 1, 1], [[1, 1, 2], [0, 0, 0]], [4, 5.5], None, "")
    sub = inst.take(2)
    assert sub.capacities.tolist() == [2.0, 5.0]  # 4*2/4 = 2 exactly; zero row keeps floor(b)
    with pytest.raises(ValidationError):
        inst.take(0)
    with pytest.raises(ValidationError):
        inst.take(4)


def test_instance_is_read_only_and_validated() -> None:
    inst = read_mknap(MKNAP1, 1)
    with pytest.raises(ValueError, match="read-only"):
        inst.weights[0, 0] = 1.0
    with pytest.raises(ValidationError):
        MDKPInstance("bad", [1, 2], [[1, 2, 3]], [1], None, "")
    with pytest.raises(ValidationError):
        MDKPInstance("bad", [1, 2], [[1, 2]], [1, 2], None, "")
    with pytest.raises(ValidationError):
        MDKPInstance("bad", [1, np.nan], [[1, 2]], [1], None, "")


# ----------------------------------------------------------------------- bad files


def test_truncated_format_a(tmp_path: Path) -> None:
    f = tmp_path / "trunc.txt"
    f.write_text(MKNAP1.read_text().rsplit(maxsplit=3)[0])
    with pytest.raises(ParseError) as err:
        read_mknap(f, 1)
    msg = str(err.value)
    assert "problem 7 of 7" in msg
    assert "truncated" in msg
    assert "n=50, m=5" in msg
    assert "305 numbers" in msg
    f.write_text("2\n1 1 0\n5\n1\n1\n")
    with pytest.raises(ParseError, match="problem 2 of 2"):
        list_problems(f)


def test_extra_tokens_format_a(tmp_path: Path) -> None:
    f = tmp_path / "extra.txt"
    f.write_text("1\n2 1 5\n3 4\n1 1\n1\n\n7\n")
    with pytest.raises(ParseError) as err:
        read_mknap(f, 1)
    assert err.value.line == 7
    assert err.value.token == "7"


def test_non_numeric_token_format_a(tmp_path: Path) -> None:
    lines = MKNAP1.read_text().split("\n")
    assert lines[3].split()[:2] == ["100", "600"]  # line 4: profits of problem 1
    lines[3] = lines[3].replace("600", "6OO", 1)
    f = tmp_path / "typo.txt"
    f.write_text("\n".join(lines))
    with pytest.raises(ParseError) as err:
        read_mknap(f, 5)  # a bad token anywhere in the file is reported
    assert err.value.line == 4
    assert err.value.token == "6OO"
    assert ":4:" in str(err.value)
    assert "'6OO'" in str(err.value)
    for bad in ("nan", "inf", "1_000"):
        f.write_text(f"1\n2 1 5\n3 {bad}\n1 1\n1\n")
        with pytest.raises(ParseError, match="non-numeric"):
            read_mknap(f, 1)


def test_bad_header_format_a(tmp_path: Path) -> None:
    f = tmp_path / "hdr.txt"
    f.write_text("1\n2.5 1 5\n3 4\n1 1\n1\n")
    with pytest.raises(ParseError, match="positive integer") as err:
        read_mknap(f, 1)
    assert err.value.line == 2
    f.write_text("")
    with pytest.raises(ParseError, match="empty"):
        read_mknap(f, 1)


def test_format_b_bad_sections(tmp_path: Path) -> None:
    text = MKNAP2.read_text()
    head, tail = text.rsplit("3186", 1)  # drop HP2's optimum
    f = tmp_path / "short.txt"
    f.write_text(head + tail)
    with pytest.raises(ParseError) as err:
        read_mknap2(f, "SENTO1")
    msg = str(err.value)
    assert "problem HP2" in msg
    assert "m=4, n=35" in msg
    assert "needs 182" in msg
    assert "has 181" in msg
    f.write_text(text.replace(" 163 165 239 168", " 163 165 239 l68"))
    with pytest.raises(ParseError) as err:
        read_mknap2(f, "HP2")
    assert err.value.token == "l68"
    assert err.value.line == text.split("\n").index(" 163 165 239 168") + 1
    f.write_text("no markers here\n1 2 3\n")
    with pytest.raises(ParseError, match="marker"):
        read_mknap2(f, 1)
    dup = "+++\nproblem A.DAT\n+++\n1 1\n1\n1\n1\n1\n"
    f.write_text(dup + dup)
    with pytest.raises(ParseError, match="twice"):
        read_mknap2(f, "A")


def test_docstring_examples() -> None:
    result = doctest.testmod(orlib, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8
    assert result.failed == 0
