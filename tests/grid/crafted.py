"""A crafted register for the grid-version tests: two communities, 50 buildings, an estate, a
major road, written into a fresh store with SQL (no dependency on the registry build).

Community A (``310101002001``) is a 600 m x 400 m rectangle near the Bund cut in two by a
north-south major road at x = 300 m; it holds an 8 x 5 lattice of buildings (households 20-80,
every fifth building with 2-3 units) and one closed estate in its north-west corner. Community
B (``310101002002``) lies east of it (200 m x 400 m) with 10 buildings. Values come from a fixed
seed. :func:`partitioned_file` builds the register and its first partition once per test
module; :func:`open_copy` gives each test its own copy of that file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import shapely

from address_registry.ids import building_id

A = "310101002001"
B = "310101002002"
LON0, LAT0 = 121.480, 31.230
#: Degrees per metre at LAT0 (close enough for a crafted fixture).
DX, DY = 1 / 95_300.0, 1 / 110_900.0

Reg = tuple[duckdb.DuckDBPyConnection, dict[str, list[str]]]


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Fixture metres east/north of the origin to lon/lat."""
    return LON0 + x * DX, LAT0 + y * DY


def rect(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A lon/lat rectangle from fixture metres."""
    a, b = lonlat(x0, y0)
    c, d = lonlat(x1, y1)
    return shapely.box(a, b, c, d)


def add_building(
    con: duckdb.DuckDBPyConnection,
    community: str,
    serial: int,
    x: float,
    y: float,
    households: int,
    units: int = 1,
    estate: str | None = None,
) -> str:
    """Insert one active residential building (a 16 m x 10 m footprint centred at x, y)."""
    bid = building_id(community, 2020, serial)
    geom = rect(x - 8, y - 5, x + 8, y + 5)
    lon, lat = lonlat(x, y)
    con.execute(
        "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code, "
        "status, use, units, households, estate_id, lon, lat, geom, source) VALUES "
        "(?, ?, 2020, ?, 'active', 'residential', ?, ?, ?, ?, ?, ST_GeomFromText(?), 'generated')",
        [bid, community, community, units, households, estate, lon, lat, geom.wkt],
    )
    return bid


def make_register(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Fill a fresh store with the crafted register; returns building IDs per community."""
    rng = np.random.default_rng(7)
    con.execute(
        "INSERT INTO admin_areas (code, level, name, geom, boundary_source) VALUES "
        "(?, 'community', '甲居委会', ST_GeomFromText(?), 'derived'), "
        "(?, 'community', '乙居委会', ST_GeomFromText(?), 'derived')",
        [A, rect(0, 0, 600, 400).wkt, B, rect(600, 0, 800, 400).wkt],
    )
    est = A + "0001"
    con.execute(
        "INSERT INTO estates (estate_id, community_code, enclosure, geom, source) VALUES "
        "(?, ?, 'closed', ST_GeomFromText(?), 'derived')",
        [est, A, rect(0, 240, 280, 400).wkt],
    )
    a, b = lonlat(300, -50)
    c, d = lonlat(300, 450)
    con.execute(
        "INSERT INTO roads (road_code, name, district_code, road_class, is_major, geom, source) "
        "VALUES ('31010100001', '中山路', '310101', 'major', true, ST_GeomFromText(?), 'osm')",
        [f"LINESTRING ({a} {b}, {c} {d})"],
    )
    ids: dict[str, list[str]] = {A: [], B: []}
    serial = 0
    for i in range(8):
        for j in range(5):
            serial += 1
            x = 37.5 + i * 75
            y = 40.0 + j * 80
            units = int(rng.integers(2, 4)) if serial % 5 == 0 else 1
            hh = int(rng.integers(20, 81))
            estate = est if (x < 280 and y > 240) else None
            ids[A].append(add_building(con, A, serial, x, y, hh, units, estate))
    for k in range(10):
        x = 640.0 + (k % 2) * 100
        y = 40.0 + (k // 2) * 80
        ids[B].append(add_building(con, B, k + 1, x, y, int(rng.integers(20, 81))))
    return ids


def partitioned_file(directory: Path) -> Path:
    """A store file with the crafted register and version 1 (default caps)."""
    import store
    from grid_partition.store import partition_store

    path = directory / "grid.duckdb"
    con = store.connect(path)
    try:
        make_register(con)
        partition_store(con, note="fixture", actor="test")
    finally:
        con.close()
    return path


def open_copy(source: Path, directory: Path) -> Iterator[Reg]:
    """Open a private copy of ``source``; yields (connection, building IDs per community)."""
    import store

    target = directory / "copy.duckdb"
    shutil.copyfile(source, target)
    con = store.connect(target)
    rows = con.execute(
        "SELECT community_code, building_id FROM buildings ORDER BY building_id"
    ).fetchall()
    ids: dict[str, list[str]] = {A: [], B: []}
    for c, b in rows:
        ids[str(c)].append(str(b))
    yield con, ids
    con.close()
