"""A crafted store for the fusion tests: one community, two grids, five buildings, layer rows.

Layout along a street at lat 31.24 (W = 200 m):

    | micro 01 (grid 001) | micro 02 (grid 001) | micro 01 (grid 002) |      ...      | E |
    lon0                  lon0+W                lon0+2W               lon0+3W        lon0+5W

Buildings A (with doorplate 四川中路26号) and A2 in micro 01, B in micro 02, D in grid 002,
E outside every micro-grid. One unit grid covers the first two micro-grids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np

from address_registry.ids import building_id, room_id

DISTRICT, STREET, COMMUNITY = "310101", "310101013", "310101013001"
GRID1, GRID2 = COMMUNITY + "001", COMMUNITY + "002"
MG1, MG2, MG3 = GRID1 + "01", GRID1 + "02", GRID2 + "01"
UNIT = COMMUNITY + "901"
LON0, LAT0 = 121.4900, 31.2400
M_LON = 1 / (111_320 * np.cos(np.radians(LAT0)))  # degrees per metre
M_LAT = 1 / 110_574
W = 200.0

A, A2, B, D, E = (building_id(COMMUNITY, 2024, n) for n in (1, 2, 3, 4, 5))
#: building -> (west edge in metres from lon0, micro-grid or None)
BUILDINGS = {A: (80.0, MG1), A2: (20.0, MG1), B: (280.0, MG2), D: (480.0, MG3), E: (1000.0, None)}
ADDRESS_A = "上海市黄浦区外滩街道四川中路26号"
NOW = dt.datetime(2026, 6, 1, 12, 0)


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """Metres east / north of (lon0, lat0) as (lon, lat)."""
    return LON0 + x_m * M_LON, LAT0 + y_m * M_LAT


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """A WKT rectangle from metre offsets."""
    (a, b), (c, d) = lonlat(x0, y0), lonlat(x1, y1)
    return f"POLYGON(({a} {b}, {c} {b}, {c} {d}, {a} {d}, {a} {b}))"


def room(building: str, n: int = 1) -> str:
    """Room ``n`` on floor 1 of unit 1 of ``building``."""
    return room_id(building, unit=1, floor=1, room=n)


def build_register(con: duckdb.DuckDBPyConnection) -> None:
    """Admin areas, a road and doorplate, buildings, rooms, an active grid version."""
    con.execute(
        "INSERT INTO admin_areas (code, level, name, short_name, parent_code) VALUES "
        "('310000', 'province', '上海市', '上海', NULL), "
        "(?, 'district', '黄浦区', '黄浦', '310000'), (?, 'street', '外滩街道', '外滩', ?), "
        "(?, 'community', '汉口路居委会', '汉口路', ?)",
        [DISTRICT, STREET, DISTRICT, COMMUNITY, STREET],
    )
    con.execute(
        "INSERT INTO roads (road_code, name, district_code, source) "
        "VALUES ('31010100001', '四川中路', '310101', 'osm')"
    )
    con.execute(
        "INSERT INTO doorplates (doorplate_id, road_code, number, house_no, building_id, "
        "community_code, source) VALUES ('3101010000100001', '31010100001', '26号', 26, ?, ?, "
        "'osm')",
        [A, COMMUNITY],
    )
    for bid, (x0, _) in BUILDINGS.items():
        lon, lat = lonlat(x0 + 20, 100)
        con.execute(
            "INSERT INTO buildings (building_id, birth_community_code, birth_year, "
            "community_code, status, use, geom, source, doorplate_id, address, lon, lat, "
            "households) VALUES (?, ?, 2024, ?, 'active', 'residential', "
            "ST_GeomFromText(?), 'test', ?, ?, ?, ?, 10)",
            [
                bid,
                COMMUNITY,
                COMMUNITY,
                box(x0, 80, x0 + 40, 120),
                "3101010000100001" if bid == A else None,
                ADDRESS_A if bid == A else None,
                lon,
                lat,
            ],
        )
        for n in (1, 2):
            rid = room(bid, n)
            con.execute(
                "INSERT INTO rooms (room_id, building_id, unit, floor, room) "
                "VALUES (?, ?, '01', '001', ?)",
                [rid, bid, rid[30:]],
            )
    con.execute("INSERT INTO grid_versions (status, kind) VALUES ('active', 'partition')")
    for code, grid, x0 in ((MG1, GRID1, 0.0), (MG2, GRID1, W), (MG3, GRID2, 2 * W)):
        con.execute(
            "INSERT INTO micro_grids (version_id, micro_grid_code, grid_code, community_code, "
            "cap, households, buildings, geom) VALUES (1, ?, ?, ?, 300, 10, 1, "
            "ST_GeomFromText(?))",
            [code, grid, COMMUNITY, box(x0, 0, x0 + W, W)],
        )
    for grid, x0, x1 in ((GRID1, 0.0, 2 * W), (GRID2, 2 * W, 3 * W)):
        con.execute(
            "INSERT INTO grids (version_id, grid_code, community_code, households, buildings, "
            "micro_grids, geom) VALUES (1, ?, ?, 10, 1, 1, ST_GeomFromText(?))",
            [grid, COMMUNITY, box(x0, 0, x1, W)],
        )
    for bid, (_, mg) in BUILDINGS.items():
        if mg is not None:
            con.execute(
                "INSERT INTO grid_assignments VALUES (1, ?, '00', ?, ?, ?, 10)",
                [bid, mg, mg[:15], COMMUNITY],
            )
    con.execute(
        "INSERT INTO unit_grids VALUES (1, ?, ?, NULL, ST_GeomFromText(?))",
        [UNIT, COMMUNITY, box(0, 0, 2 * W, W)],
    )


def add_person(
    con: duckdb.DuckDBPyConnection,
    source_id: str,
    *,
    room_id: str | None = None,
    address: str | None = None,
    hukou: str = "registered",
    care: list[str] | None = None,
) -> None:
    """One people row (hashes are placeholders)."""
    con.execute(
        "INSERT INTO people (source_id, id_hmac, id_masked, hukou_type, care_tags, address, "
        "room_id, row_hash, ingested_at, batch_id) "
        "SELECT $s, 'x', 'x', $h, $c, $a, $r, 'h' || $s, TIMESTAMPTZ '2026-05-01 00:00:00+00', "
        "'b1'",
        {"s": source_id, "h": hukou, "c": care or [], "a": address, "r": room_id},
    )


def add_point(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source_id: str,
    xy: tuple[float, float] | None,
    **values: Any,
) -> None:
    """One events / sensors / legal_persons row at metre offsets ``xy`` (None: no point)."""
    lon, lat = lonlat(*xy) if xy is not None else (None, None)
    cols = {"source_id": source_id, "lon": lon, "lat": lat, **values}
    names = ", ".join(cols)
    marks = ", ".join("?" for _ in cols)
    con.execute(
        f"INSERT INTO {table} ({names}, row_hash, ingested_at, batch_id) "
        f"SELECT {marks}, 'h' || ?, TIMESTAMPTZ '2026-05-01 00:00:00+00', 'b1'",
        [*cols.values(), source_id],
    )


def add_event(
    con: duckdb.DuckDBPyConnection,
    source_id: str,
    xy: tuple[float, float] | None,
    *,
    state: str = "reported",
    code: str = "0102",
    reported: dt.datetime = dt.datetime(2026, 5, 30, 8, 0),
    sla_hours: int = 24,
    department: str | None = "城管",
) -> None:
    """One event (category event-``code``) reported at ``reported``."""
    add_point(
        con,
        "events",
        source_id,
        xy,
        category_kind="event",
        category_code=code,
        source="grid_worker",
        state=state,
        reported_at=reported,
        sla_deadline=reported + dt.timedelta(hours=sla_hours),
        department=department,
        closed_at=reported + dt.timedelta(hours=5) if state == "closed" else None,
    )


def build_layers(con: duckdb.DuckDBPyConnection) -> None:
    """The layer rows every fusion test starts from (see the module docstring)."""
    add_person(con, "p1", room_id=room(A), care=["elderly_alone"])
    add_person(con, "p2", room_id=room(A, 7))  # room not in the register: building A
    add_person(con, "p3", address=ADDRESS_A, hukou="floating")
    add_person(con, "p4", address="上海市黄浦区火星路999号")
    add_person(con, "p5")
    add_person(con, "p6", room_id=room(building_id("310101013002", 2024, 9)))
    add_person(con, "p7", room_id=room(E))
    for i in range(6):  # six residents in B: above the suppression threshold
        add_person(con, f"pb{i}", room_id=room(B, 1 + i % 2), hukou="floating")
    con.execute(
        "INSERT INTO houses (source_id, room_id, use, occupants, rental_registered, row_hash, "
        "ingested_at, batch_id) SELECT 'h1', ?, 'rented', 2, true, 'hh1', "
        "TIMESTAMPTZ '2026-05-01 00:00:00+00', 'b1'",
        [room(B)],
    )
    con.execute(
        "INSERT INTO houses (source_id, room_id, use, occupants, rental_registered, row_hash, "
        "ingested_at, batch_id) SELECT 'h2', ?, 'rented', 1, false, 'hh2', "
        "TIMESTAMPTZ '2026-05-01 00:00:00+00', 'b1'",
        [room(D)],
    )
    add_event(con, "e1", (300, 100))  # inside B
    add_event(con, "e2", (130, 100), state="closed")  # 10 m east of A
    add_event(con, "e3", (360, 20), reported=dt.datetime(2026, 6, 1, 10, 0))  # public space
    add_event(con, "e4", (2000, 100))  # far outside
    add_point(con, "sensors", "s1", (500, 100), sensor_type="camera", status="online")
    add_point(con, "sensors", "s2", None, sensor_type="smoke", status="online")
    add_point(
        con,
        "legal_persons",
        "l1",
        None,
        uscc="u1",
        name="甲公司",
        industry="零售业",
        reg_address=ADDRESS_A,
        status="active",
    )
    add_point(
        con,
        "legal_persons",
        "l2",
        (290, 110),
        uscc="u2",
        name="乙公司",
        industry="餐饮业",
        reg_address="上海市黄浦区火星路1号",
        status="active",
    )
