"""Each build step on tiny crafted inputs (shapely boxes), and the whole build of a crafted city."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

import store
from address_registry import _admin, _buildings, _doorplates, _rooms
from address_registry._allocate import (
    allocate_building_ids,
    allocate_building_ids_bulk,
    compose_ids,
)
from address_registry.build import build_registry
from address_registry.ids import building_id, is_valid_building_id
from common.errors import InvalidInput
from tests.registry import _registry_city as city

# ----------------------------------------------------------------------------- allocation


def test_allocation_never_reuses_a_serial(con: duckdb.DuckDBPyConnection) -> None:
    first = allocate_building_ids(con, "310101013001", 2024, 3)
    assert first == [building_id("310101013001", 2024, s) for s in (1, 2, 3)]
    later = allocate_building_ids(con, "310101013001", 2025, 2)
    assert [int(i[16:24]) for i in later] == [4, 5]  # serials continue across birth years
    assert allocate_building_ids(con, "310101013001", 2025, 0) == []
    other = allocate_building_ids_bulk(con, {"310101013003": 2, "310101013001": 1}, 2024)
    assert list(other["310101013003"]) == [building_id("310101013003", 2024, s) for s in (1, 2)]
    assert list(other["310101013001"]) == [building_id("310101013001", 2024, 6)]
    with pytest.raises(InvalidInput, match="12 digits"):
        allocate_building_ids(con, "3101", 2024, 1)
    with pytest.raises(InvalidInput, match="negative"):
        allocate_building_ids(con, "310101013001", 2024, -1)


@given(
    st.from_regex(r"\A[1-6][0-9]{11}\Z", fullmatch=True),
    st.integers(1949, 2099),
    st.integers(1, 10**8 - 50),
)
def test_vectorised_ids_match_the_reference(code: str, year: int, start: int) -> None:
    serials = np.arange(start, start + 20, dtype=np.int64)
    ids = compose_ids(code, year, serials)
    assert list(ids) == [building_id(code, year, int(s)) for s in serials]
    assert all(is_valid_building_id(i) for i in ids)


# ----------------------------------------------------------------------------- admin


def test_blocks_tile_the_part() -> None:
    part = shapely.box(0, 0, 1000, 800)
    roads = gpd.GeoSeries(
        [
            shapely.LineString([(-10, 400), (1010, 400)]),
            shapely.LineString([(300, -10), (300, 810)]),
        ]
    )
    faces = _admin.blocks(part, roads)
    assert len(faces) == 4
    assert faces.area.sum() == pytest.approx(part.area, rel=1e-12)
    assert sorted(faces.area.round(6)) == [120000.0, 120000.0, 280000.0, 280000.0]


def test_seeds_by_road_and_estate_name() -> None:
    comms = pd.DataFrame(
        {"code": ["1", "2", "3", "4"], "short_name": ["汉口路", "崂山三村", "崂山五村", "梅园一村"]}
    )
    roads = gpd.GeoDataFrame(
        {"name": ["汉口路", "九江路"]},
        geometry=[shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(0, 5), (10, 5)])],
    )
    estates = gpd.GeoDataFrame(
        {"name": ["崂山三村", "崂山四村", "梅一小区"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)],
    )
    seeds = _admin.seeds(comms, roads, estates, shapely.box(-100, -100, 100, 100))
    # 崂山四村 ties 崂山三村/崂山五村 on two characters: dropped; 梅一小区 shares one character only
    assert seeds[["code", "seed_kind", "seed_name"]].values.tolist() == [
        ["1", "road", "汉口路"],
        ["2", "estate", "崂山三村"],
    ]


def test_divider_road_splits_streets() -> None:
    line = shapely.LineString([(100, 0), (110, 1000)])
    pts = shapely.points([(50, 500), (150, 500), (104, 500)])
    assert _admin.west_of(pts, line).tolist() == [True, False, True]


def test_short_names() -> None:
    assert _admin.short_name("汉口路居委会", "community") == "汉口路"
    assert _admin.short_name("外滩街道", "street") == "外滩"
    assert _admin.short_name("浦东新区", "district") == "浦东"
    assert _admin.short_name("上海市", "province") == "上海市"


# ----------------------------------------------------------------------------- buildings


def test_heights_and_floors_rules() -> None:
    out = _buildings.heights_and_floors(
        np.array([32.0, np.nan, np.nan, 0.0]),
        np.array([np.nan, 5.0, np.nan, np.nan]),
        np.array(["office", "residential", "residential", "other"], dtype=object),
        np.array([800.0, 300.0, 300.0, 50.0]),
    )
    assert out["floors"].tolist() == [10, 5, 6, 1]
    assert out["floors_estimated"].tolist() == [True, False, True, True]
    assert out["height_estimated"].tolist() == [False, True, True, True]
    assert out["height_m"][1] == pytest.approx(5 * _buildings.STOREY_M)


def test_enclosure_evidence() -> None:
    estates = gpd.GeoDataFrame(
        {"name": ["甲小区", "乙小区", None, "某大厦"]},
        geometry=[
            shapely.box(0, 0, 100, 100),
            shapely.box(200, 0, 300, 100),
            shapely.box(400, 0, 500, 100),
            shapely.box(600, 0, 700, 100),
        ],
    )
    barriers = gpd.GeoDataFrame(
        {"kind": ["fence"]}, geometry=[shapely.LineString([(0, -5), (100, -5)])]
    )
    gates = gpd.GeoDataFrame({"kind": ["gate"]}, geometry=[shapely.Point(250, 110)])
    status, evidence = _buildings.enclosure(estates, barriers, gates)
    assert status.tolist() == ["closed", "closed", "open", "open"]
    assert evidence.tolist() == ["fences", "gates", "default", "default"]


# ----------------------------------------------------------------------------- doorplates


@pytest.mark.parametrize(
    ("street", "number", "expected"),
    [
        ("四川中路126弄", "9", ("四川中路", 126, 9, None, "126弄9号")),
        ("九江路", "126弄", ("九江路", 126, None, None, "126弄")),
        ("九江路", "126弄9号", ("九江路", 126, 9, None, "126弄9号")),
        ("中山东一路", "26", ("中山东一路", None, 26, None, "26号")),
        ("中山东一路", "12之1", ("中山东一路", None, 12, 1, "12号之1")),
        ("东昌路", "505號", ("东昌路", None, 505, None, "505号")),
        ("塘沽路", "387-401", ("塘沽路", None, 387, None, "387-401号")),
        ("陆家嘴环路", "No. 8", ("陆家嘴环路", None, 8, None, "8号")),
    ],
)
def test_parse_real_doorplates(street: str, number: str, expected: tuple[object, ...]) -> None:
    parsed = _doorplates.parse_number(street, number)
    assert parsed is not None
    assert (
        parsed["road_name"],
        parsed["lane_no"],
        parsed["house_no"],
        parsed["sub_no"],
        parsed["number"],
    ) == expected


@pytest.mark.parametrize("number", ["B2", "3F", "7 7Floor", "528-N1 37", ""])
def test_unparseable_numbers(number: str) -> None:
    assert _doorplates.parse_number("九江路", number) is None


def test_derived_doorplates_sides_order_and_no_collision() -> None:
    roads = gpd.GeoDataFrame(
        {
            "road_code": ["31010100001"],
            "name": ["汉口路"],
            "road_class": ["minor"],
            "geom_m": [shapely.LineString([(0, 0), (200, 0)])],
        },
        geometry=[shapely.LineString([(0, 0), (200, 0)])],
    )
    buildings = gpd.GeoDataFrame(
        {"building_id": ["a", "b", "c", "d", "e", "f"]},
        geometry=[
            shapely.box(12, 10, 18, 20),
            shapely.box(12, -20, 18, -10),
            shapely.box(52, 10, 58, 20),
            shapely.box(54, 10, 56, 12),
            shapely.box(90, 500, 95, 505),
            shapely.box(90, 1500, 95, 1505),
        ],
    )
    real = pd.DataFrame(
        {"road_code": ["31010100001"], "lane_no": [None], "house_no": [11], "sub_no": [None]}
    )
    out = _doorplates.derive_doorplates(buildings, roads, real).set_index("building_id")
    assert "f" not in out.index  # too far from every road, even for the fallback reach
    assert out.loc["e", "road_code"] == "31010100001"  # beyond 150 m: the nearest road still
    assert out.loc["e", "side"] == "odd" and out.loc["e", "house_no"] == 2 * 9 + 1
    assert out.loc["a", "side"] == "odd" and out.loc["b", "side"] == "even"  # 左单右双
    assert (out.loc["a", "house_no"], out.loc["b", "house_no"]) == (3, 4)
    assert out.loc["c", "house_no"] == out.loc["d", "house_no"] == 11  # 11 is real: 之1, 之2
    assert sorted([out.loc["c", "sub_no"], out.loc["d", "sub_no"]]) == [1, 2]


# ----------------------------------------------------------------------------- rooms


def test_room_plans_and_ids(con: duckdb.DuckDBPyConnection) -> None:
    bid = building_id("310101013001", 2024, 1)
    oid = building_id("310101013001", 2024, 2)
    mid = building_id("310101013001", 2024, 3)
    plans = _rooms.room_plans(
        np.array([bid, oid, mid], dtype=object),
        np.array(["residential", "office", "mixed"], dtype=object),
        np.array([6, 120, 3]),
        np.array([1440.0, 1600.0, 240.0]),
    )
    assert _rooms.insert_rooms(con, plans) > 0
    rows = con.execute(
        "SELECT building_id, use, count(*), count(DISTINCT unit), max(floor) FROM rooms GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    # residential: 1440 * 0.75 / 90 = 12 households a floor, 3 stair cores of 4, 6 floors
    assert (bid, "household", 72, 3, "006") in rows
    # office: 1600 * 0.75 / 200 = 6 offices a floor, 120 floors
    assert (oid, "office", 720, 1, "120") in rows
    # mixed: 3 shops of 60 m² on floor 1, then 2 households a floor on floors 2-3
    assert (mid, "shop", 3, 1, "001") in rows and (mid, "household", 4, 1, "003") in rows
    assert con.execute(
        "SELECT room FROM rooms WHERE building_id = ? AND floor = '012' ORDER BY room LIMIT 1",
        [oid],
    ).fetchone() == ("1201",)
    assert con.execute(
        "SELECT room FROM rooms WHERE building_id = ? AND floor = '101' ORDER BY room LIMIT 1",
        [oid],
    ).fetchone() == ("0001",)
    assert con.execute(
        "SELECT count(*) FROM rooms WHERE NOT starts_with(room_id, building_id)"
    ).fetchone() == (0,)


# ----------------------------------------------------------------------------- crafted city


def test_loader_rejects_are_accounted() -> None:
    from address_registry._quarantine import Quarantine
    from address_registry.build import _fold_load_reports

    rejected = gpd.GeoDataFrame(
        {
            "layer": ["buildings"] * 2,
            "source": ["f"] * 2,
            "row": [3, 7],
            "source_id": ["9", None],
            "reason": ["invalid_geometry", "missing_source_id"],
            "detail": ["bow-tie", "no id"],
        },
        geometry=[shapely.box(0, 0, 1, 1), None],
        crs="EPSG:4326",
    )
    sources = city.city()
    sources.load_reports = [("buildings", 10, rejected), ("pois", 4, rejected.iloc[:0])]
    q = Quarantine()
    _fold_load_reports(sources, q)
    assert q.counts["source:buildings"].as_dict() == {"in": 10, "registered": 8, "quarantined": 2}
    assert q.counts["source:pois"].as_dict() == {"in": 4, "registered": 4, "quarantined": 0}
    frame = q.frame()
    assert sorted(frame["reason"]) == ["invalid_geometry", "missing_source_id"]
    assert frame["geom_wkb"].notna().sum() == 1


def test_crafted_city_quarantine_accounting(db_path: Path) -> None:
    report = build_registry(db_path, sources=city.city(bad=True), derive=city.DERIVE)
    for counts in report["layers"].values():
        assert counts["in"] == counts["registered"] + counts["quarantined"]
    assert report["layers"]["buildings"] == {"in": 9, "registered": 4, "quarantined": 5}
    assert report["quarantine_reasons"]["buildings"] == {
        "invalid_geometry": 1,
        "empty_geometry": 1,
        "duplicate_source_id": 1,
        "outside_communities": 2,
    }
    con = store.connect(db_path, read_only=True)
    try:
        rows = con.execute(
            "SELECT source_id, reason, detail, raw FROM registry_quarantine WHERE layer = 'buildings' ORDER BY 1, 2"
        ).fetchall()
        kept = dict(con.execute("SELECT source_id, ST_AsText(geom) FROM buildings").fetchall())
    finally:
        con.close()
    assert [(r[0], r[1]) for r in rows] == [
        ("101", "duplicate_source_id"),
        ("106", "outside_communities"),
        ("901", "invalid_geometry"),
        ("902", "empty_geometry"),
        ("903", "outside_communities"),
    ]
    assert "Self-intersection" in rows[2][2]
    assert json.loads(rows[0][3])["kind"] == "building"
    # the first footprint of a duplicated ID is the one kept; the part was merged into its root
    assert shapely.from_wkt(kept["101"]).equals(city.square(121.001, 31.001))
    assert set(kept) == {"101", "102", "103", "104"}


def test_crafted_city_derivation_and_attributes(db_path: Path) -> None:
    build_registry(db_path, sources=city.city(), derive=city.DERIVE)
    con = store.connect(db_path, read_only=True)
    try:
        comm = dict(con.execute("SELECT source_id, community_code FROM buildings").fetchall())
        methods = dict(
            con.execute(
                "SELECT code, boundary_method FROM admin_areas WHERE boundary_source = 'derived'"
            ).fetchall()
        )
        b = con.execute(
            "SELECT use, use_source, floors, height_m, estate_id, building_no, address FROM buildings WHERE source_id = '104'"
        ).fetchone()
        shop = con.execute(
            "SELECT use, use_source FROM buildings WHERE source_id = '102'"
        ).fetchone()
        estate = con.execute("SELECT name, enclosure, enclosure_evidence FROM estates").fetchall()
    finally:
        con.close()
    assert comm["101"] == comm["102"] == "310101013001"  # south of 汉口路: its seeded blocks
    assert {comm["103"], comm["104"]} <= {"310101013003", "310101013004"}  # the unseeded ones
    assert "seed_road=汉口路" in methods["310101013001"]
    assert "hilbert_runs_of_unseeded_blocks" in methods["310101013003"]
    assert methods["310101013"] == "union_of_derived_communities"
    assert b is not None and b[0] == "residential" and b[1] == "landuse"
    assert b[2] == 12 and b[3] == 40.0  # the part is taller than the root: 40 m, 12.5 → 12 floors
    assert b[4] is not None and b[5] == "1" and "天安小区1号楼" in b[6]
    assert shop == ("commercial", "poi")
    assert estate == [("天安小区", "closed", "walls")]


def test_import_official_boundaries(tmp_path: Path) -> None:
    first = tmp_path / "derived.duckdb"
    build_registry(first, sources=city.city(), derive=city.DERIVE)
    con = store.connect(first, read_only=True)
    try:
        comms = con.execute(
            "SELECT code, ST_AsWKB(geom) FROM admin_areas WHERE level = 'community' AND geom IS NOT NULL"
        ).fetchall()
        ids = con.execute("SELECT source_id, building_id FROM buildings ORDER BY 1").fetchall()
    finally:
        con.close()
    frame = gpd.GeoDataFrame(
        {"jwh": [c for c, _ in comms] + ["310101013999"]},
        geometry=[shapely.from_wkb(bytes(g)) for _, g in comms]
        + [shapely.box(121.0, 31.0, 121.001, 31.001)],
        crs="EPSG:4326",
    )
    path = tmp_path / "communities.geojson"
    frame.to_file(path, driver="GeoJSON")
    second = tmp_path / "imported.duckdb"
    report = build_registry(
        second, sources=city.city(), boundaries=path, code_column="jwh", level="community"
    )
    assert report["layers"]["admin_boundaries"] == {"in": 4, "registered": 3, "quarantined": 1}
    assert report["quarantine_reasons"]["admin_boundaries"] == {"unknown_division_code": 1}
    con = store.connect(second, read_only=True)
    try:
        methods = dict(
            con.execute(
                "SELECT code, boundary_method FROM admin_areas WHERE geom IS NOT NULL AND level IN ('street', 'community')"
            ).fetchall()
        )
        assert (
            con.execute("SELECT source_id, building_id FROM buildings ORDER BY 1").fetchall() == ids
        )
    finally:
        con.close()
    assert methods == {
        **{c: "imported" for c, _ in comms},
        "310101013": "union_of_official_communities",
    }
