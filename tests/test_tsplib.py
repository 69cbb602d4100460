"""Tests of qslack.formats.tsplib against the shipped TSPLIB95 files and the spec."""

from __future__ import annotations

import doctest
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from qslack.exceptions import ParseError, QslackError, ValidationError
from qslack.formats import tsplib
from qslack.formats.tsplib import (
    EDGE_WEIGHT_FORMATS,
    TSPInstance,
    distance_matrix,
    looks_like_matrix,
    looks_like_tsplib,
    read_distance_matrix,
    read_tour,
    read_tsplib,
    tsplib_distance,
    write_tour,
)

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
TSPLIB = INSTANCES / "tsplib"
FIVE_D = INSTANCES / "tsp_tiny" / "five_d.txt"

# SOURCES.md: file -> (n, EDGE_WEIGHT_TYPE, EDGE_WEIGHT_FORMAT, optimum, has .opt.tour)
TABLE = {
    "burma14": (14, "GEO", "FUNCTION", 3323, False),
    "ulysses16": (16, "GEO", None, 6859, True),
    "gr17": (17, "EXPLICIT", "LOWER_DIAG_ROW", 2085, False),
    "bayg29": (29, "EXPLICIT", "UPPER_ROW", 1610, True),
    "bays29": (29, "EXPLICIT", "FULL_MATRIX", 2020, True),
    "att48": (48, "ATT", None, 10628, True),
    "eil51": (51, "EUC_2D", None, 426, True),
    "berlin52": (52, "EUC_2D", None, 7542, True),
}

# SOURCES.md: brute-force optima of the first k = 4..7 cities.
TAKE_OPTIMA = {
    "burma14": (1570, 2321, 2336, 2378),
    "ulysses16": (1413, 3277, 3472, 3507),
    "gr17": (1342, 1348, 1352, 1346),
    "bays29": (716, 770, 787, 1135),
}


def brute_force(dist: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """Optimal closed tour by enumeration: city 0 fixed, all orders of the rest."""
    n = dist.shape[0]
    perms = np.array(list(itertools.permutations(range(1, n))), dtype=np.int64)
    tours = np.hstack([np.zeros((len(perms), 1), dtype=np.int64), perms])
    lengths = dist[tours, np.roll(tours, -1, axis=1)].sum(axis=1)
    best = int(np.argmin(lengths))
    return float(lengths[best]), tuple(int(c) for c in tours[best])


def write(tmp_path: Path, text: str, name: str = "x.tsp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def parse_error(path: Path, reader=read_tsplib) -> ParseError:
    with pytest.raises(ParseError) as info:
        reader(path)
    return info.value


@pytest.fixture(scope="module", autouse=True)
def _instances_present() -> None:
    if not TSPLIB.is_dir():
        pytest.fail(f"instance directory {TSPLIB} is missing")


# --------------------------------------------------------------------------- #
# shipped files
# --------------------------------------------------------------------------- #
def test_every_table_file_is_shipped() -> None:
    shipped = {p.stem for p in TSPLIB.glob("*.tsp")}
    assert shipped == set(TABLE)
    tours = {p.name.removesuffix(".opt.tour") for p in TSPLIB.glob("*.opt.tour")}
    assert tours == {k for k, v in TABLE.items() if v[4]}


@pytest.mark.parametrize("stem", sorted(TABLE))
def test_shipped_tsp_parses(stem: str) -> None:
    n, kind, fmt, _, _ = TABLE[stem]
    inst = read_tsplib(TSPLIB / f"{stem}.tsp")
    assert inst.n == n
    assert inst.edge_weight_type == kind
    assert inst.edge_weight_format == fmt
    assert inst.source == str(TSPLIB / f"{stem}.tsp")
    assert inst.dist.shape == (n, n) and inst.dist.dtype == np.float64
    assert np.array_equal(inst.dist, inst.dist.T)
    assert np.all(np.diag(inst.dist) == 0)
    assert np.all(inst.dist == np.round(inst.dist))
    off = inst.dist[~np.eye(n, dtype=bool)]
    assert np.all(off > 0)
    assert inst.comment  # every shipped file has a COMMENT
    if stem == "gr17":
        assert inst.coords is None  # no NODE_COORD_SECTION, no DISPLAY_DATA_SECTION
    else:
        assert inst.coords is not None and inst.coords.shape == (n, 2)
    assert not inst.dist.flags.writeable
    assert looks_like_tsplib((TSPLIB / f"{stem}.tsp").read_text())
    assert not looks_like_matrix((TSPLIB / f"{stem}.tsp").read_text())


def test_name_field_taken_verbatim() -> None:
    # ulysses16's NAME field really is "ulysses16.tsp".
    assert read_tsplib(TSPLIB / "ulysses16.tsp").name == "ulysses16.tsp"
    assert read_tsplib(TSPLIB / "burma14.tsp").name == "burma14"


def solutions() -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (TSPLIB / "solutions").read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = int(value.split()[0])
    return out


def test_solutions_file_matches_sources_table() -> None:
    sol = solutions()
    for stem, (_, _, _, opt, _) in TABLE.items():
        assert sol[stem] == opt


@pytest.mark.parametrize("stem", sorted(k for k, v in TABLE.items() if v[4]))
def test_opt_tour_has_the_optimal_length(stem: str) -> None:
    inst = read_tsplib(TSPLIB / f"{stem}.tsp")
    tour = read_tour(TSPLIB / f"{stem}.opt.tour")
    assert tour.dtype == np.int64
    assert sorted(tour.tolist()) == list(range(inst.n))
    assert tour[0] == 0  # all shipped tours start at city 1
    assert inst.tour_length(tour) == solutions()[stem] == TABLE[stem][3]
    assert looks_like_tsplib((TSPLIB / f"{stem}.opt.tour").read_text())


def test_bayg29_and_bays29_share_cities_not_distances() -> None:
    # Same 29 Bavarian cities (identical DISPLAY_DATA_SECTION), but bayg29 holds
    # geographical distances and bays29 street distances: the matrices differ.
    g = read_tsplib(TSPLIB / "bayg29.tsp")
    s = read_tsplib(TSPLIB / "bays29.tsp")
    assert np.array_equal(g.coords, s.coords)
    assert not np.array_equal(g.dist, s.dist)
    assert np.all(s.dist >= g.dist)  # street distance never below the geographic one
    # Each optimal tour is no better than optimal on the other instance.
    assert s.tour_length(read_tour(TSPLIB / "bayg29.opt.tour")) >= 2020
    assert g.tour_length(read_tour(TSPLIB / "bays29.opt.tour")) >= 1610


@pytest.mark.parametrize("stem", sorted(TAKE_OPTIMA))
def test_take_brute_force_optima(stem: str) -> None:
    inst = read_tsplib(TSPLIB / f"{stem}.tsp")
    got = []
    for k in range(4, 8):
        sub = inst.take(k)
        assert sub.n == k and sub.name == f"{inst.name}[:{k}]"
        assert np.array_equal(sub.dist, inst.dist[:k, :k])
        length, tour = brute_force(sub.dist)
        assert sub.tour_length(tour) == length
        got.append(length)
    assert tuple(got) == TAKE_OPTIMA[stem]


def test_take_rejects_bad_k() -> None:
    inst = read_tsplib(TSPLIB / "burma14.tsp")
    for k in (2, 15, -1):
        with pytest.raises(ValidationError):
            inst.take(k)
    with pytest.raises(ValidationError):
        inst.take(4.0)  # type: ignore[arg-type]
    sub = inst.take(3)
    assert np.array_equal(sub.coords, inst.coords[:3])
    assert sub.edge_weight_type == "GEO"
    assert inst.take(14).n == 14


# --------------------------------------------------------------------------- #
# plain matrix (five_d.txt)
# --------------------------------------------------------------------------- #
def test_five_d_matrix() -> None:
    raw = FIVE_D.read_bytes()
    assert b"\r\n" in raw  # the published file has CRLF line ends
    inst = read_distance_matrix(FIVE_D)
    assert inst.name == "five_d" and inst.n == 5
    assert inst.edge_weight_type == "MATRIX" and inst.coords is None
    length, _ = brute_force(inst.dist)
    assert length == 19
    assert inst.tour_length(np.array([1, 3, 2, 5, 4]) - 1) == 19
    assert inst.tour_length([0, 1, 2, 3, 4]) == 3 + 4 + 5 + 6 + 7
    text = raw.decode()
    assert looks_like_matrix(text) and not looks_like_tsplib(text)


@pytest.mark.parametrize(
    ("text", "message", "line", "token"),
    [
        ("0 1 2\n1 0 x3\n2 3 0\n", "non-numeric token", 2, "x3"),
        ("0 1 2\n1 0 3\n2 4 0\n", "not symmetric", 3, "4"),
        ("0 1 2\n1 5 3\n2 3 0\n", "non-zero diagonal", 2, "5"),
        ("0 1 2\n1 0\n2 3 0\n", "not square", 2, None),
        ("0 1\n1 0\n2 2\n", "not square", 1, None),
        ("0 1 nan\n1 0 3\nnan 3 0\n", "non-numeric token", 1, "nan"),
    ],
)
def test_matrix_errors(tmp_path: Path, text: str, message: str, line: int, token: str) -> None:
    err = parse_error(write(tmp_path, text, "m.txt"), read_distance_matrix)
    assert message in str(err)
    assert err.line == line
    assert f"m.txt:{line}:" in str(err)
    if token is not None:
        assert err.token == token and repr(token) in str(err)


def test_matrix_empty_and_tolerance(tmp_path: Path) -> None:
    assert "empty" in str(parse_error(write(tmp_path, "\n \n", "e.txt"), read_distance_matrix))
    p = write(tmp_path, "0 1 2\n1.0000000000001 0 3\n2 3 0\n\n", "m.txt")
    inst = read_distance_matrix(p)
    assert inst.dist[0, 1] == inst.dist[1, 0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- #
# EDGE_WEIGHT_FORMAT layouts
# --------------------------------------------------------------------------- #
# Hand-written from the spec for n = 4, d(i, j) = 10 * min(i, j) + max(i, j) (1-based),
# zero diagonal. The column-wise layouts equal the transposed row-wise ones.
N4_LAYOUTS = {
    "UPPER_ROW": "12 13 14 23 24 34",
    "LOWER_ROW": "12 13 23 14 24 34",
    "UPPER_COL": "12 13 23 14 24 34",
    "LOWER_COL": "12 13 14 23 24 34",
    "UPPER_DIAG_ROW": "0 12 13 14 0 23 24 0 34 0",
    "LOWER_DIAG_ROW": "0 12 0 13 23 0 14 24 34 0",
    "UPPER_DIAG_COL": "0 12 0 13 23 0 14 24 34 0",
    "LOWER_DIAG_COL": "0 12 13 14 0 23 24 0 34 0",
    "FULL_MATRIX": "0 12 13 14 12 0 23 24 13 23 0 34 14 24 34 0",
}
N4 = np.array(
    [[0 if i == j else 10 * min(i, j) + max(i, j) for j in range(1, 5)] for i in range(1, 5)]
)


def explicit_file(name: str, n: int, fmt: str, numbers: list[str], per_line: list[int]) -> str:
    lines = [
        f"NAME : {name}",
        "TYPE : TSP",
        f"DIMENSION : {n}",
        "EDGE_WEIGHT_TYPE : EXPLICIT",
        f"EDGE_WEIGHT_FORMAT : {fmt}",
        "EDGE_WEIGHT_SECTION",
    ]
    pos = 0
    for count in itertools.cycle(per_line):
        if pos >= len(numbers):
            break
        lines.append(" ".join(numbers[pos : pos + count]))
        pos += count
    lines.append("EOF")
    return "\n".join(lines) + "\n"


def layout(mat: np.ndarray, fmt: str) -> list[str]:
    """Tiny writer: the numbers of ``mat`` in ``fmt`` order, from the spec's wording."""
    n = len(mat)
    if fmt == "FULL_MATRIX":
        cells = [(i, j) for i in range(n) for j in range(n)]
    else:
        triangle, _, order = fmt.rpartition("_")
        upper = triangle.startswith("UPPER")
        diag = triangle.endswith("DIAG")

        def keep(r: int, c: int) -> bool:
            return (r == c and diag) or (r < c if upper else r > c)

        if order == "ROW":
            cells = [(i, j) for i in range(n) for j in range(n) if keep(i, j)]
        else:
            cells = [(i, j) for j in range(n) for i in range(n) if keep(i, j)]
    return [str(int(mat[i, j])) for i, j in cells]


def test_n4_layouts_match_the_hand_written_ones() -> None:
    assert set(N4_LAYOUTS) == set(EDGE_WEIGHT_FORMATS)
    for fmt, expected in N4_LAYOUTS.items():
        assert " ".join(layout(N4, fmt)) == expected, fmt


@pytest.mark.parametrize("fmt", sorted(N4_LAYOUTS))
def test_n4_hand_written_layouts_parse(tmp_path: Path, fmt: str) -> None:
    numbers = N4_LAYOUTS[fmt].split()
    inst = read_tsplib(write(tmp_path, explicit_file("n4", 4, fmt, numbers, [1])))
    assert np.array_equal(inst.dist, N4)
    assert inst.edge_weight_format == fmt and inst.edge_weight_type == "EXPLICIT"


@pytest.mark.parametrize("fmt", sorted(N4_LAYOUTS))
def test_random_matrix_round_trips_every_layout(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(sum(map(ord, fmt)))
    n = 9
    upper = np.triu(rng.integers(1, 1000, size=(n, n)), 1)
    mat = upper + upper.T
    written = mat.copy()
    np.fill_diagonal(written, rng.integers(0, 5, size=n))  # diagonal values are ignored
    numbers = layout(written, fmt)
    per_line = [int(c) for c in rng.integers(1, 12, size=7)]  # wrapped freely
    inst = read_tsplib(write(tmp_path, explicit_file("r", n, fmt, numbers, per_line)))
    assert np.array_equal(inst.dist, mat)


def test_all_numbers_on_one_line_and_section_header_data(tmp_path: Path) -> None:
    text = "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: UPPER_ROW\n"
    inst = read_tsplib(write(tmp_path, text + "EDGE_WEIGHT_SECTION\n5 6 7"))
    assert inst.dist.tolist() == [[0, 5, 6], [5, 0, 7], [6, 7, 0]]
    assert inst.name == "x"  # no NAME: the file stem


# --------------------------------------------------------------------------- #
# distance functions
# --------------------------------------------------------------------------- #
def d(kind: str, a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return float(tsplib_distance(kind, np.array(a, dtype=float), np.array(b, dtype=float)))


def test_euc_2d_and_ceil_2d_by_hand() -> None:
    assert d("EUC_2D", (0, 0), (3, 4)) == 5
    assert d("EUC_2D", (0, 0), (3, 4.4)) == 5  # 5.325 -> 5
    assert d("EUC_2D", (0, 0), (1, 1.5)) == 2  # 1.803 -> 2
    assert d("EUC_2D", (0, 0), (0, 2.5)) == 3  # nint rounds halves up, not to even
    assert d("EUC_2D", (1, 1), (1, 1)) == 0
    assert d("CEIL_2D", (0, 0), (3, 4)) == 5
    assert d("CEIL_2D", (0, 0), (3, 4.1)) == 6  # 5.06 -> 6
    assert d("CEIL_2D", (0, 0), (0.1, 0)) == 1
    # berlin52 nodes 1 and 2: sqrt(540^2 + 390^2) = 666.1 -> 666
    assert d("EUC_2D", (565.0, 575.0), (25.0, 185.0)) == 666


def test_other_coordinate_kinds_by_hand() -> None:
    assert d("MAN_2D", (0, 0), (1.4, 2.3)) == 4  # nint(3.7)
    assert d("MAX_2D", (0, 0), (1.4, 2.3)) == 2  # max(nint 1.4, nint 2.3)
    assert d("EUC_3D", (0, 0, 0), (1, 2, 2)) == 3
    assert d("MAN_3D", (0, 0, 0), (1, 2, 2.6)) == 6
    assert d("MAX_3D", (0, 0, 0), (1, 2, 2.6)) == 3
    with pytest.raises(ValidationError):
        d("EUC_2D", (0, 0, 0), (1, 2, 2))
    with pytest.raises(ValidationError):
        d("HAVERSINE", (0, 0), (1, 1))


def test_att_by_hand() -> None:
    # r = sqrt(100 / 10) = 3.162, t = nint(r) = 3 < r -> 4
    assert d("ATT", (0, 0), (10, 0)) == 4
    # r = sqrt(2500 / 10) = 15.81, t = 16 >= r -> 16
    assert d("ATT", (0, 0), (30, 40)) == 16
    # r = sqrt(1000 / 10) = 10 exactly -> 10
    assert d("ATT", (0, 0), (30, 10)) == 10
    # att48 nodes 1, 2: dx = 4501, dy = 1443, r = sqrt(2234125) = 1494.70 -> 1495
    assert d("ATT", (6734, 1453), (2233, 10)) == 1495
    assert read_tsplib(TSPLIB / "att48.tsp").dist[0, 1] == 1495


def geo_reference(a: tuple[float, float], b: tuple[float, float]) -> int:
    """TSPLIB's GEO code, transcribed line by line with Python's math."""
    pi, rrr = 3.141592, 6378.388

    def rad(x: float) -> float:
        deg = int(x)
        minutes = x - deg
        return pi * (deg + 5.0 * minutes / 3.0) / 180.0

    q1 = math.cos(rad(a[1]) - rad(b[1]))
    q2 = math.cos(rad(a[0]) - rad(b[0]))
    q3 = math.cos(rad(a[0]) + rad(b[0]))
    return int(rrr * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0)


def test_geo_by_hand() -> None:
    # burma14 nodes 1, 2: both at 16 deg 47 min N; 96 deg 10 min E and 94 deg 44 min E.
    assert d("GEO", (16.47, 96.10), (16.47, 94.44)) == 153
    assert read_tsplib(TSPLIB / "burma14.tsp").dist[0, 1] == 153
    # Degrees are truncated toward zero: mirroring the points keeps the distance
    # (floor() or nint() on the degrees would not).
    assert d("GEO", (-16.47, -96.10), (-16.47, -94.44)) == 153
    # TSPLIB's PI = 3.141592 matters: with math.pi this pair gives 9171.
    assert d("GEO", (26.70, -157.84), (-18.96, 130.92)) == 9172
    # The same point is 1 apart (int(0 + 1.0)); a distance matrix has a zero diagonal.
    assert d("GEO", (10.0, 10.0), (10.0, 10.0)) == 1
    mat = distance_matrix(np.array([[10.0, 10.0], [10.0, 10.0], [11.0, 10.0]]), "GEO")
    assert mat[0, 0] == 0 and mat[0, 1] == 1


def test_geo_matches_reference_on_all_pairs() -> None:
    for stem in ("burma14", "ulysses16"):
        inst = read_tsplib(TSPLIB / f"{stem}.tsp")
        for i, j in itertools.combinations(range(inst.n), 2):
            a = tuple(inst.coords[i])
            b = tuple(inst.coords[j])
            assert inst.dist[i, j] == geo_reference(a, b), (stem, i, j)


def test_distance_matrix_is_symmetric() -> None:
    rng = np.random.default_rng(3)
    coords = np.round(rng.uniform(-89, 89, size=(40, 2)), 2)
    for kind in ("GEO", "ATT", "EUC_2D", "CEIL_2D", "MAN_2D", "MAX_2D"):
        mat = distance_matrix(np.abs(coords) * 10 if kind != "GEO" else coords, kind)
        assert np.array_equal(mat, mat.T) and np.all(np.diag(mat) == 0)


# --------------------------------------------------------------------------- #
# header syntax and sections
# --------------------------------------------------------------------------- #
TRIANGLE = "NODE_COORD_SECTION\n1 0 0\n2 3 0\n3 3 4\n"


@pytest.mark.parametrize("sep", [" : ", ": ", " :", ":", "\t:\t"])
def test_colon_spacing(tmp_path: Path, sep: str) -> None:
    head = f"NAME{sep}tri\nTYPE{sep}TSP\nDIMENSION{sep}3\nEDGE_WEIGHT_TYPE{sep}EUC_2D\n"
    inst = read_tsplib(write(tmp_path, head + TRIANGLE + "EOF\n"))
    assert inst.name == "tri"
    assert inst.tour_length([0, 1, 2]) == 12


def test_comments_join_eof_optional_crlf(tmp_path: Path) -> None:
    text = (
        "NAME: tri\r\nCOMMENT: first: part\r\nDIMENSION: 3\r\nCOMMENT : second\r\n"
        "EDGE_WEIGHT_TYPE: EUC_2D\r\nCAPACITY: 7\r\n" + TRIANGLE.replace("\n", "\r\n")
    )
    inst = read_tsplib(write(tmp_path, text))  # no EOF at all
    assert inst.comment == "first: part\nsecond"
    assert inst.coords.tolist() == [[0, 0], [3, 0], [3, 4]]
    # node lines in any order, indented EOF, trailing blank lines
    shuffled = "NODE_COORD_SECTION\n3 3 4\n1 0 0\n2 3 0\n"
    head = "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n"
    inst2 = read_tsplib(write(tmp_path, head + shuffled + "  EOF\n\n\n"))
    assert np.array_equal(inst2.dist, inst.dist)


def test_display_data_never_gives_distances(tmp_path: Path) -> None:
    text = (
        "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: UPPER_ROW\n"
        "DISPLAY_DATA_TYPE: TWOD_DISPLAY\nEDGE_WEIGHT_SECTION\n1 1\n1\n"
        "DISPLAY_DATA_SECTION\n1 0 0\n2 30 0\n3 30 40\nEOF\n"
    )
    inst = read_tsplib(write(tmp_path, text))
    assert inst.dist.tolist() == [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
    assert inst.coords.tolist() == [[0, 0], [30, 0], [30, 40]]


def test_three_d_coordinates(tmp_path: Path) -> None:
    text = "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_3D\nNODE_COORD_SECTION\n1 0 0 0\n2 1 2 2\n3 0 0 6\n"
    inst = read_tsplib(write(tmp_path, text))
    assert inst.coords.shape == (3, 3)
    assert inst.dist[0, 1] == 3 and inst.dist[0, 2] == 6


GOOD_HEAD = "NAME: t\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D\n"
GOOD_NODES = "NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 1 1\n4 0 1\n"
EXPLICIT_HEAD = "NAME: e\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\n"


@pytest.mark.parametrize(
    ("text", "message", "line", "token"),
    [
        # truncated EDGE_WEIGHT_SECTION (file ends)
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4\n",
            "file ends inside EDGE_WEIGHT_SECTION: expected 6 numbers, found 4",
            8,
            None,
        ),
        # ... and ends at EOF
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\nEOF\n",
            "EDGE_WEIGHT_SECTION ends at EOF: expected 6 numbers, found 3",
            8,
            None,
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4 5 6 7\n",
            "too many numbers in EDGE_WEIGHT_SECTION: UPPER_ROW with DIMENSION 4 needs 6",
            8,
            "7",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4 5 6\n7\n",
            "too many numbers",
            9,
            "7",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4 x5 6\n",
            "non-numeric token",
            8,
            "x5",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\nabc 5 6\n",
            "non-numeric token",
            8,
            "abc",
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n"
            "0 1 2 3\n1 0 4 5\n2 4 0 6\n3 9 6 0\n",
            "FULL_MATRIX is not symmetric: d(2,4) = 5 but d(4,2) = 9",
            10,
            None,
        ),
        (GOOD_HEAD + "FOO : bar\n" + GOOD_NODES, "unknown keyword", 5, "FOO"),
        (GOOD_HEAD + GOOD_NODES + "FOO\nEOF\n", "unknown keyword", 10, "FOO"),
        (
            GOOD_HEAD.replace("EUC_2D", "EUC_4D") + GOOD_NODES,
            "unknown EDGE_WEIGHT_TYPE",
            4,
            "EUC_4D",
        ),
        (GOOD_HEAD.replace("EUC_2D", "XRAY1") + GOOD_NODES, "XRAY1 is not supported", 4, "XRAY1"),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "3 1.0 x4"), "non-numeric token", 8, "x4"),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "3 1 1e999"), "number out of range", 8, "1e999"),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "3.0 1 1"), "node id is not an integer", 8, "3.0"),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "3 1"), "expected '<id> <x> <y>'", 8, None),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "2 1 1"), "duplicate node id", 8, "2"),
        (GOOD_HEAD + GOOD_NODES.replace("3 1 1", "7 1 1"), "node id out of range 1..4", 8, "7"),
        # DIMENSION disagreeing with the node count
        (
            GOOD_HEAD.replace("4", "5") + GOOD_NODES + "EOF\n",
            "NODE_COORD_SECTION ends at EOF: found 4 of DIMENSION = 5 nodes (missing id 5)",
            10,
            None,
        ),
        (
            GOOD_HEAD.replace("4", "3") + GOOD_NODES,
            "NODE_COORD_SECTION has more than DIMENSION = 3 entries",
            9,
            "4",
        ),
        (GOOD_HEAD.replace("DIMENSION: 4\n", "") + GOOD_NODES, "DIMENSION must be given", 4, None),
        (GOOD_HEAD.replace("4", "four") + GOOD_NODES, "positive integer", 3, "four"),
        (GOOD_HEAD.replace("DIMENSION: 4", "DIMENSION 4") + GOOD_NODES, "missing ':'", 3, None),
        (GOOD_HEAD + "DIMENSION: 4\n" + GOOD_NODES, "DIMENSION given twice", 5, None),
        (GOOD_HEAD + GOOD_NODES + GOOD_NODES, "NODE_COORD_SECTION given twice", 10, None),
        ("1 0 0\n" + GOOD_HEAD, "data outside any section", 1, "1"),
        (GOOD_HEAD.replace("TSP", "ATSP") + GOOD_NODES, "ATSP is not supported", 2, None),
        (GOOD_HEAD.replace("TSP", "TOUR") + GOOD_NODES, "read_tour", 2, None),
        (GOOD_HEAD.replace("TSP", "FOO") + GOOD_NODES, "unknown TYPE", 2, "FOO"),
        (GOOD_HEAD + "EDGE_DATA_FORMAT: EDGE_LIST\n" + GOOD_NODES, "EDGE_DATA_FORMAT", 5, None),
        (
            GOOD_HEAD + "FIXED_EDGES_SECTION\n1 2\n-1\n",
            "FIXED_EDGES_SECTION is not supported",
            5,
            None,
        ),
        (GOOD_HEAD, "needs a NODE_COORD_SECTION", 4, None),
        (EXPLICIT_HEAD + "EDGE_WEIGHT_SECTION\n1 2 3 4 5 6\n", "EDGE_WEIGHT_FORMAT must", 5, None),
        (
            GOOD_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3 4 5 6\n",
            "EDGE_WEIGHT_SECTION with EDGE_WEIGHT_TYPE: EUC_2D",
            6,
            None,
        ),
        (
            EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: FUNCTION\n" + GOOD_NODES,
            "FUNCTION with EXPLICIT",
            5,
            None,
        ),
        (GOOD_HEAD + "EDGE_WEIGHT_FORMAT: LOWER_ROW\n" + GOOD_NODES, "LOWER_ROW with", 5, None),
        (GOOD_HEAD + GOOD_NODES + "EOF junk\n", "unexpected text after EOF", 10, "junk"),
    ],
)
def test_bad_tsp(tmp_path: Path, text: str, message: str, line: int, token: str | None) -> None:
    path = write(tmp_path, text, "bad.tsp")
    err = parse_error(path)
    assert message in str(err)
    assert err.line == line, str(err)
    assert str(err).startswith(f"{path}:{line}: ")
    if token is not None:
        assert err.token == token
        assert str(err).endswith(f": {token!r}")
    assert isinstance(err, QslackError) and isinstance(err, ValueError)


def test_good_variants_of_the_bad_cases_parse(tmp_path: Path) -> None:
    # Guards the table above: the same skeletons without the defect read fine.
    inst = read_tsplib(write(tmp_path, GOOD_HEAD + GOOD_NODES + "EOF\n"))
    assert inst.tour_length([0, 1, 2, 3]) == 4
    text = EXPLICIT_HEAD + "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1 2 3\n4 5 6\n"
    assert read_tsplib(write(tmp_path, text)).dist[2, 3] == 6


# --------------------------------------------------------------------------- #
# tours
# --------------------------------------------------------------------------- #
def test_write_read_tour_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    tour = rng.permutation(52)
    path = tmp_path / "r.tour"
    write_tour(path, tour, name="r.tour", comment="line one\nline two")
    text = path.read_text()
    assert text.startswith("NAME : r.tour\nCOMMENT : line one\nCOMMENT : line two\n")
    assert "TYPE : TOUR\nDIMENSION : 52\nTOUR_SECTION\n" in text
    assert text.endswith("-1\nEOF\n")
    assert str(int(tour[0]) + 1) == text.split("TOUR_SECTION\n")[1].split("\n")[0]
    back = read_tour(path)
    assert np.array_equal(back, tour)
    berlin = read_tsplib(TSPLIB / "berlin52.tsp")
    assert berlin.tour_length(back) == berlin.tour_length(tour)
    opt = read_tour(TSPLIB / "berlin52.opt.tour")
    write_tour(path, opt.tolist(), name="again")
    assert np.array_equal(read_tour(path), opt)


def test_write_tour_validates(tmp_path: Path) -> None:
    for bad in ([0, 1, 1], [1, 2, 3], [], [0.0, 1.0, 2.0], [[0, 1]]):
        with pytest.raises(ValidationError):
            write_tour(tmp_path / "b.tour", bad, name="b")
    with pytest.raises(ValidationError):
        write_tour(tmp_path / "b.tour", [0, 1, 2], name="two\nlines")


def test_tour_variants_accepted(tmp_path: Path) -> None:
    # ids on one line, the spec's additional -1 closing the section, no EOF, no DIMENSION
    p = write(tmp_path, "TYPE: TOUR\nTOUR_SECTION\n2 1\n3\n-1\n-1\n", "a.tour")
    assert read_tour(p).tolist() == [1, 0, 2]
    p = write(tmp_path, "NAME: a\nDIMENSION: 3\nTOUR_SECTION\n3 2 1 -1\nEOF\n", "b.tour")
    assert read_tour(p).tolist() == [2, 1, 0]


@pytest.mark.parametrize(
    ("text", "message", "line", "token"),
    [
        ("TYPE: TOUR\nDIMENSION: 4\nTOUR_SECTION\n1\n2\n4\n2\n-1\nEOF\n", "duplicate city", 7, "2"),
        (
            "TYPE: TOUR\nDIMENSION: 4\nTOUR_SECTION\n1\n2\n3\n4\nEOF\n",
            "not terminated by -1",
            8,
            None,
        ),
        ("TYPE: TOUR\nDIMENSION: 4\nTOUR_SECTION\n1\n2\n3\n4\n", "file ends inside TOUR", 7, None),
        (
            "TYPE: TOUR\nDIMENSION: 4\nTOUR_SECTION\n1 2 3\n-1\n",
            "3 cities but DIMENSION is 4",
            3,
            None,
        ),
        ("TYPE: TOUR\nDIMENSION: 3\nTOUR_SECTION\n1 2 4\n-1\n", "out of range 1..3", 4, "4"),
        ("TYPE: TOUR\nTOUR_SECTION\n1 2 4\n-1\n", "out of range 1..3", 3, "4"),
        ("TYPE: TOUR\nTOUR_SECTION\n1 2 x\n-1\n", "not an integer", 3, "x"),
        ("TYPE: TOUR\nTOUR_SECTION\n1 0 2\n-1\n", "must be positive", 3, "0"),
        ("TYPE: TOUR\nTOUR_SECTION\n-1\n", "empty tour", 2, None),
        ("TYPE: TOUR\nTOUR_SECTION\n1 2 -1\n2 1 -1\n-1\n", "more than one tour", 4, "2"),
        ("TYPE: TSP\nTOUR_SECTION\n1 2 3\n-1\n", "TYPE must be TOUR", 1, "TSP"),
        ("TYPE: TOUR\nDIMENSION: 3\n", "no TOUR_SECTION", 2, None),
        ("TYPE: TOUR\nNODE_COORD_SECTION\n1 0 0\n", "in a tour file", 2, None),
    ],
)
def test_bad_tour(tmp_path: Path, text: str, message: str, line: int, token: str | None) -> None:
    path = write(tmp_path, text, "bad.tour")
    err = parse_error(path, read_tour)
    assert message in str(err)
    assert err.line == line, str(err)
    if token is not None:
        assert err.token == token


# --------------------------------------------------------------------------- #
# the instance object, sniffing, docstrings
# --------------------------------------------------------------------------- #
def test_instance_validation() -> None:
    with pytest.raises(ValidationError):
        TSPInstance("a", [[0, 1], [2, 0]])
    with pytest.raises(ValidationError):
        TSPInstance("a", [[1, 1], [1, 0]])
    with pytest.raises(ValidationError):
        TSPInstance("a", [[0, 1, 2], [1, 0, 3]])
    with pytest.raises(ValidationError):
        TSPInstance("a", [[0, 1], [1, 0]], coords=[[0, 0]])
    inst = TSPInstance("a", [[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    for bad in ([0, 1], [0, 1, 1], [0, 1, 3], [True, False, True], [0.0, 1.0, 2.0]):
        with pytest.raises(ValidationError):
            inst.tour_length(bad)
    assert inst.tour_length(np.array([2, 1, 0])) == 6
    assert "n=3" in repr(inst)
    with pytest.raises(ValueError):
        inst.dist[0, 1] = 5


def test_sniffing() -> None:
    assert looks_like_tsplib("\n  NAME : x\n")
    assert looks_like_tsplib("NODE_COORD_SECTION\n1 0 0\n")
    assert not looks_like_tsplib("NAME x\n")  # header key without a colon
    assert not looks_like_tsplib("HELLO: world\n")
    assert not looks_like_tsplib("")
    assert not looks_like_tsplib("c comment\np edge 3 2\n")
    assert looks_like_matrix("1\n")
    assert not looks_like_matrix("")
    assert not looks_like_matrix("0 1\n1 x\n")
    assert not looks_like_matrix("0 1 2\n1 0 3\n")
    assert not looks_like_matrix((INSTANCES / "mdkp" / "mknap1.txt").read_text())


def test_docstring_examples_run() -> None:
    result = doctest.testmod(tsplib, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0
