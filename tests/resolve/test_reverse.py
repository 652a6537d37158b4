"""Reverse geocoding on a crafted register: inside, nearest within tolerance, nothing, batch."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from address_registry.ids import building_id
from address_registry.reverse import reverse, reverse_many
from common.errors import InvalidInput, NotFound

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


# --- known answers on a crafted register: inside, near (exact metres), beyond, ties -------------

TWINS = (7, 6)  # one footprint under two IDs, the larger ID inserted first
OVERLAP = (9, 8)  # two overlapping footprints, the larger ID inserted first


def _add(con: duckdb.DuckDBPyConnection, serial: int, wkt: str) -> str:
    bid = building_id(COMMUNITY, 2024, serial)
    con.execute(
        "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code,"
        " status, use, geom, source) VALUES "
        "(?, ?, 2024, ?, 'active', 'residential', ST_GeomFromText(?), 'test')",
        [bid, COMMUNITY, COMMUNITY, wkt],
    )
    return bid


@pytest.fixture
def crafted(register: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A, B (active), C (retired) as above, twins at 10-11 widths east, an overlap at 20-21.5."""
    for serial in TWINS:
        _add(register, serial, _box(LON0 + 10 * DEG_40M_LON, LAT0))
    _add(register, OVERLAP[0], _box(LON0 + 20 * DEG_40M_LON, LAT0))
    _add(register, OVERLAP[1], _box(LON0 + 20.5 * DEG_40M_LON, LAT0))
    return register


def _metres(lons: list[float], lats: list[float], i: int, box_lon: float) -> float:
    """Distance of point ``i`` to the box at ``box_lon``, in the module's projection, by pyproj."""
    import shapely
    from pyproj import Transformer

    lon0, lat0 = float(np.mean(lons)), float(np.mean(lats))
    tm = f"+proj=tmerc +lon_0={lon0:.6f} +lat_0={lat0:.6f} +ellps=GRS80 +units=m +no_defs"
    to_m = Transformer.from_crs("EPSG:4326", tm, always_xy=True)
    box = shapely.from_wkt(_box(box_lon, LAT0))
    x, y = to_m.transform(*np.asarray(box.exterior.coords).T)
    px, py = to_m.transform(lons[i], lats[i])
    return float(shapely.Polygon(np.column_stack([x, y])).distance(shapely.Point(px, py)))


def test_batch_known_answers(crafted: duckdb.DuckDBPyConnection) -> None:
    a, b = building_id(COMMUNITY, 2024, 1), building_id(COMMUNITY, 2024, 2)
    twin, overlap = building_id(COMMUNITY, 2024, 6), building_id(COMMUNITY, 2024, 8)
    mid = LAT0 + DEG_40M_LAT / 2
    points = [
        (LON0 + DEG_40M_LON / 2, mid),  # 0: deep inside A
        (LON0 + DEG_40M_LON * 1.25, mid),  # 1: 10 m east of A
        (LON0 + DEG_40M_LON * 2.25, LAT0 + DEG_40M_LAT * 0.9),  # 2: 10 m west of B
        (LON0 + DEG_40M_LON * 5.0, mid),  # 3: 60 m east of B, on retired C: nothing
        (LON0 + DEG_40M_LON * 10.5, LAT0 - DEG_40M_LAT / 2),  # 4: 20 m south of the twins
        (LON0 + DEG_40M_LON * 10.5, mid),  # 5: inside both twins
        (LON0 + DEG_40M_LON * 20.75, mid),  # 6: inside both overlapping buildings
        (LON0 + DEG_40M_LON * 20.25, mid),  # 7: inside the first overlapping building only
        (LON0 + DEG_40M_LON * 1.0, mid),  # 8: on A's east edge: not inside, 0 m
    ]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    out = reverse_many(crafted, lons, lats, tolerance_m=50)

    assert list(out["pid"]) == list(range(len(points)))
    ids = [v if isinstance(v, str) else None for v in out["building_id"]]
    assert ids == [a, a, b, None, twin, twin, overlap, building_id(COMMUNITY, 2024, 9), a]
    assert list(out["inside"]) == [True, False, False, False, False, True, True, True, False]
    for i in (0, 5, 6, 7):
        assert out["distance_m"].iloc[i] == 0.0
    for i, box_lon, approx in (
        (1, LON0, 10.0),
        (2, LON0 + 2.5 * DEG_40M_LON, 10.0),
        (4, LON0 + 10 * DEG_40M_LON, 20.0),
        (8, LON0, 0.0),
    ):
        expected = _metres(lons, lats, i, box_lon)
        assert out["distance_m"].iloc[i] == pytest.approx(expected, abs=1e-6)
        assert expected == pytest.approx(approx, abs=0.1)  # the crafted layout itself
    assert np.isnan(out["distance_m"].iloc[3])
    assert out["address"].iloc[0] == "四川中路 A" and out["doorplate"].iloc[0] == "四川中路26号"
    assert list(out["lon"]) == lons and list(out["lat"]) == lats


def test_tolerance_bounds_the_nearest(crafted: duckdb.DuckDBPyConnection) -> None:
    lon, lat = LON0 + DEG_40M_LON * 1.25, LAT0 + DEG_40M_LAT / 2  # 10 m east of A
    assert reverse(crafted, lon, lat, tolerance_m=10.5)["building_id"] == building_id(
        COMMUNITY, 2024, 1
    )
    with pytest.raises(NotFound):
        reverse(crafted, lon, lat, tolerance_m=9.5)
    with pytest.raises(NotFound):
        reverse(crafted, lon, lat, tolerance_m=0)
    inside = reverse(crafted, LON0 + DEG_40M_LON / 2, LAT0 + DEG_40M_LAT / 2, tolerance_m=0)
    assert inside["inside"] is True  # a point inside needs no tolerance


def test_single_answers_as_the_batch(crafted: duckdb.DuckDBPyConnection) -> None:
    lons = [LON0 + DEG_40M_LON * 1.25, LON0 + DEG_40M_LON * 10.5, LON0 + DEG_40M_LON * 20.75]
    lats = [LAT0 + DEG_40M_LAT / 2, LAT0 - DEG_40M_LAT / 2, LAT0 + DEG_40M_LAT / 2]
    batch = reverse_many(crafted, lons, lats)
    for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        one = reverse(crafted, lon, lat)
        assert one["building_id"] == batch["building_id"].iloc[i]
        assert one["inside"] == bool(batch["inside"].iloc[i])
        assert one["distance_m"] == pytest.approx(batch["distance_m"].iloc[i], abs=0.01)


def test_a_nearest_outside_the_degree_box_is_not_an_answer(
    crafted: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The degree box always held the answer; where it would not, the box still decides."""
    import address_registry.reverse as module

    monkeypatch.setattr(module, "_M_PER_DEG", 110_574.0 * 1000)  # a box of 5 cm for 50 m
    lons = [LON0 + DEG_40M_LON * 1.25, LON0 + DEG_40M_LON / 2, LON0 + DEG_40M_LON * 10.5]
    lats = [LAT0 + DEG_40M_LAT / 2, LAT0 + DEG_40M_LAT / 2, LAT0 + DEG_40M_LAT / 2]
    out = reverse_many(crafted, lons, lats, tolerance_m=50)
    assert not isinstance(out["building_id"].iloc[0], str)  # A is 10 m away, outside the box
    assert out["building_id"].iloc[1] == building_id(COMMUNITY, 2024, 1)
    assert out["building_id"].iloc[2] == building_id(COMMUNITY, 2024, 6)
    assert list(out["inside"]) == [False, True, True]
