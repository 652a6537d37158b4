"""Reverse geocoding on a crafted register: inside, nearest within tolerance, nothing, batch."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from address_registry.ids import building_id
from address_registry.reverse import reverse, reverse_many
from yizhi.errors import InvalidInput, NotFound

COMMUNITY = "310101013001"
# two 40 m x 40 m buildings about 100 m apart along a street at lat 31.24
LON0, LAT0 = 121.4900, 31.2400
DEG_40M_LON = 40 / (111_320 * np.cos(np.radians(LAT0)))
DEG_40M_LAT = 40 / 110_574


def _box(lon: float, lat: float) -> str:
    return (
        f"POLYGON(({lon} {lat}, {lon + DEG_40M_LON} {lat}, {lon + DEG_40M_LON} "
        f"{lat + DEG_40M_LAT}, {lon} {lat + DEG_40M_LAT}, {lon} {lat}))"
    )


@pytest.fixture
def register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    a, b, c = (building_id(COMMUNITY, 2024, n) for n in (1, 2, 3))
    con.execute(
        "INSERT INTO admin_areas (code, level, name, parent_code) "
        "VALUES (?, 'community', '汉口路居委会', '310101013')",
        [COMMUNITY],
    )
    con.execute(
        "INSERT INTO roads (road_code, name, district_code, source) "
        "VALUES ('31010100001', '四川中路', '310101', 'osm')"
    )
    con.execute(
        "INSERT INTO doorplates (doorplate_id, road_code, number, house_no, source) "
        "VALUES ('3101010000100001', '31010100001', '26号', 26, 'osm')"
    )
    rows = [
        (a, _box(LON0, LAT0), "3101010000100001", "active", "A"),
        (b, _box(LON0 + 2.5 * DEG_40M_LON, LAT0), None, "active", "B"),
        (c, _box(LON0 + 5 * DEG_40M_LON, LAT0), None, "retired", "C"),
    ]
    for bid, wkt, door, status, name in rows:
        con.execute(
            "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code,"
            " status, use, geom, source, doorplate_id, name, address) VALUES "
            "(?, ?, 2024, ?, ?, 'residential', ST_GeomFromText(?), 'test', ?, ?, ?)",
            [bid, COMMUNITY, COMMUNITY, status, wkt, door, name, f"四川中路 {name}"],
        )
    return con


def test_point_inside_a_building(register: duckdb.DuckDBPyConnection) -> None:
    hit = reverse(register, LON0 + DEG_40M_LON / 2, LAT0 + DEG_40M_LAT / 2)
    assert hit["building_id"] == building_id(COMMUNITY, 2024, 1)
    assert hit["inside"] is True and hit["distance_m"] == 0
    assert hit["doorplate"] == "四川中路26号"
    assert hit["community_name"] == "汉口路居委会"


def test_nearest_within_tolerance_in_metres(register: duckdb.DuckDBPyConnection) -> None:
    # 10 m east of building A's east edge, 50 m from B's west edge
    lon = LON0 + DEG_40M_LON * 1.25
    hit = reverse(register, lon, LAT0 + DEG_40M_LAT / 2, tolerance_m=30)
    assert hit["building_id"] == building_id(COMMUNITY, 2024, 1)
    assert hit["inside"] is False
    assert hit["distance_m"] == pytest.approx(10.0, abs=0.3)


def test_nothing_within_tolerance(register: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NotFound, match="within 5 m"):
        reverse(register, LON0 + DEG_40M_LON * 1.25, LAT0 + DEG_40M_LAT / 2, tolerance_m=5)


def test_retired_buildings_are_not_answers(register: duckdb.DuckDBPyConnection) -> None:
    inside_c = (LON0 + 5.5 * DEG_40M_LON, LAT0 + DEG_40M_LAT / 2)
    hit = reverse(register, *inside_c, tolerance_m=200)
    assert hit["building_id"] == building_id(COMMUNITY, 2024, 2)  # nearest active instead


def test_batch_keeps_every_row_in_order(register: duckdb.DuckDBPyConnection) -> None:
    lons = [LON0 + DEG_40M_LON * 3, LON0 + DEG_40M_LON / 2, 100.0]
    lats = [LAT0 + DEG_40M_LAT / 2, LAT0 + DEG_40M_LAT / 2, 10.0]
    out = reverse_many(register, lons, lats, tolerance_m=20)
    assert list(out["pid"]) == [0, 1, 2]
    assert out["building_id"].iloc[0] == building_id(COMMUNITY, 2024, 2)
    assert out["building_id"].iloc[1] == building_id(COMMUNITY, 2024, 1)
    assert not isinstance(out["building_id"].iloc[2], str)


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [(float("nan"), 31.0, "not longitude/latitude"), (200.0, 31.0, "not longitude/latitude")],
)
def test_bad_points(
    register: duckdb.DuckDBPyConnection, lon: float, lat: float, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        reverse(register, lon, lat)


def test_negative_tolerance(register: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput, match="tolerance"):
        reverse(register, LON0, LAT0, tolerance_m=-1)
