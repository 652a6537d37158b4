"""A tiny register for the lifecycle and export tests, inserted directly in SQL.

Two communities side by side near the Bund (lon 121.48-121.50, lat 31.235-31.245), one street and
one district; five buildings (shapely boxes) born 2020 with an initial ``create`` operation
recorded on 2024-01-01, rooms for building A (2 units x 3 floors x 2 rooms), one road and one
doorplate. Everything is made up for the tests (no real data).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import shapely
from shapely.geometry import box

from address_registry.ids import building_id, room_id

DISTRICT = "310101"
STREET = "310101002000"
C1 = "310101002001"
C2 = "310101002002"
C3 = "310101002003"  # no boundary
ROAD = "31010100001"
DOORPLATE = "3101010000100001"
BIRTH = dt.datetime(2020, 1, 1)
RECORDED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

COMMUNITY_BOXES = {
    C1: box(121.480, 31.235, 121.490, 31.245),
    C2: box(121.490, 31.235, 121.500, 31.245),
}
#: name -> (community, footprint); A is long west-east so a split into west/east halves is clean
FOOTPRINTS = {
    "A": (C1, box(121.4820, 31.2400, 121.4830, 31.2403)),
    "B": (C1, box(121.4840, 31.2400, 121.4845, 31.2404)),
    "C": (C1, box(121.4845, 31.2400, 121.4850, 31.2404)),  # touches B
    "D": (C1, box(121.4870, 31.2380, 121.4875, 31.2384)),
    "E": (C2, box(121.4950, 31.2400, 121.4955, 31.2404)),
}


def building_ids() -> dict[str, str]:
    """The IDs of the fixture buildings: serials 1.. per community in name order."""
    serial: dict[str, int] = {}
    out = {}
    for name, (code, _) in FOOTPRINTS.items():
        serial[code] = serial.get(code, 0) + 1
        out[name] = building_id(code, 2020, serial[code])
    return out


def populate(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Insert the fixture register; return ``{name: building_id}``."""
    con.execute(
        "INSERT INTO admin_areas (code, level, name, short_name, parent_code, geom) VALUES "
        "(?, 'district', '黄浦区', '黄浦', '310100', ST_GeomFromWKB(?)), "
        "(?, 'street', '外滩街道', '外滩', ?, ST_GeomFromWKB(?))",
        [
            DISTRICT,
            shapely.to_wkb(box(121.47, 31.23, 121.51, 31.25)),
            STREET,
            DISTRICT,
            shapely.to_wkb(box(121.48, 31.235, 121.50, 31.245)),
        ],
    )
    for code, geom in COMMUNITY_BOXES.items():
        con.execute(
            "INSERT INTO admin_areas (code, level, name, short_name, parent_code, geom, "
            "boundary_source, boundary_method) "
            "VALUES (?, 'community', ?, ?, ?, ST_GeomFromWKB(?), 'derived', 'test boxes')",
            [code, f"社区{code[-1]}居委会", f"社区{code[-1]}", STREET, shapely.to_wkb(geom)],
        )
    con.execute(
        "INSERT INTO roads (road_code, name, district_code, road_class, is_major, length_m, "
        "geom, source) VALUES (?, '汉口路', ?, 'minor', false, 900.0, ST_GeomFromWKB(?), 'osm')",
        [
            ROAD,
            DISTRICT,
            shapely.to_wkb(shapely.LineString([(121.480, 31.2399), (121.490, 31.2399)])),
        ],
    )
    con.execute(
        "INSERT INTO estates (estate_id, name, community_code, enclosure, enclosure_evidence, "
        "geom, source, derived) VALUES (?, '汉口小区', ?, 'closed', 'walls', "
        "ST_GeomFromWKB(?), 'derived', true)",
        [C1 + "0001", C1, shapely.to_wkb(box(121.4835, 31.2395, 121.4855, 31.2410))],
    )
    con.execute(  # a community the register holds no boundary for
        "INSERT INTO admin_areas (code, level, name, short_name, parent_code) "
        "VALUES (?, 'community', '社区3居委会', '社区3', ?)",
        [C3, STREET],
    )
    ids = building_ids()
    con.execute(
        "INSERT INTO registry_operations (op, valid_at, recorded_at, actor, note, detail) "
        "VALUES ('create', ?, ?, 'fixture', 'initial build', ?)",
        [BIRTH, RECORDED, json.dumps({"building_ids": list(ids.values())})],
    )
    op_id = con.execute("SELECT max(op_id) FROM registry_operations").fetchone()[0]  # type: ignore[index]
    for name, (code, geom) in FOOTPRINTS.items():
        point = geom.representative_point()
        address = f"汉口路{ord(name) - 64}号" if name != "E" else None
        con.execute(
            """
            INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code,
                status, name, use, use_source, floors, floors_estimated, height_m,
                footprint_m2, units, households, households_estimated, lon, lat, geom, source,
                address, doorplate_id, created_at, updated_at)
            VALUES (?, ?, 2020, ?, 'active', ?, 'residential', 'osm_tag', 3, true, 9.0,
                    100.0, 2, 12, true, ?, ?, ST_GeomFromWKB(?), 'osm', ?, ?, ?, ?)
            """,
            [
                ids[name],
                code,
                code,
                f"{name}楼",
                point.x,
                point.y,
                shapely.to_wkb(geom),
                address,
                DOORPLATE if name == "A" else None,
                RECORDED,
                RECORDED,
            ],
        )
        con.execute(
            """
            INSERT INTO building_history (building_id, valid_from, valid_to, recorded_from,
                recorded_to, op_id, status, community_code, name, use, households,
                doorplate_id, address, geom)
            SELECT building_id, ?, NULL, ?, NULL, ?, status, community_code, name, use,
                   households, doorplate_id, address, geom FROM buildings WHERE building_id = ?
            """,
            [BIRTH, RECORDED, op_id, ids[name]],
        )
    con.execute(
        "INSERT INTO id_serials VALUES (?, 4), (?, 1)",
        [C1, C2],
    )
    rooms = []
    for unit in (1, 2):
        for floor in (1, 2, 3):
            for k in (1, 2):
                rid = room_id(ids["A"], unit=unit, floor=floor, room=floor * 100 + k)
                rooms.append([rid, ids["A"], rid[25:27], rid[27:30], rid[30:34]])
    con.executemany(
        "INSERT INTO rooms (room_id, building_id, unit, floor, room, use, area_m2, rule) "
        "VALUES (?, ?, ?, ?, ?, 'household', 60.0, 'test')",
        rooms,
    )
    con.execute(
        "INSERT INTO doorplates (doorplate_id, road_code, number, house_no, building_id, "
        "community_code, side, geom, source) "
        "VALUES (?, ?, '1号', 1, ?, ?, 'odd', ST_Point(121.4829, 31.2400), 'derived')",
        [DOORPLATE, ROAD, ids["A"], C1],
    )
    return ids


def halves(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """West and east halves of a box."""
    minx, miny, maxx, maxy = geom.bounds
    mid = (minx + maxx) / 2
    return [box(minx, miny, mid, maxy), box(mid, miny, maxx, maxy)]
