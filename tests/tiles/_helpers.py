"""Helpers of the tile tests: a tiny store of buildings, roads and doorplates built from boxes."""

from __future__ import annotations

import duckdb
import numpy as np
import shapely

import store
from address_registry.ids import building_id
from api.tiles._mercator import mercator_to_lonlat, tile_bounds
from api.tiles._ragged import Ragged

COMMUNITY = "310101013001"
#: A z16 tile in the Bund (外滩), Shanghai, and its mercator bounds.
Z, X, Y = 16, 54880, 26784
BOUNDS = tile_bounds(Z, X, Y)


def px_to_lonlat(px: float, py: float, z: int = Z, x: int = X, y: int = Y) -> tuple[float, float]:
    """WGS84 of a point given in pixels of tile ``z/x/y`` (extent 4096)."""
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    mx = xmin + px / 4096 * (xmax - xmin)
    my = ymax - py / 4096 * (ymax - ymin)
    lon, lat = mercator_to_lonlat([mx], [my])
    return float(lon[0]), float(lat[0])


def px_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A WGS84 rectangle given by its corners in pixels of the test tile."""
    a = px_to_lonlat(x0, y0)
    b = px_to_lonlat(x1, y1)
    return shapely.box(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


def add_buildings(
    con: duckdb.DuckDBPyConnection, geoms: list[shapely.Geometry], start: int = 1
) -> list[str]:
    """Insert buildings with the given WGS84 footprints (a change of the register, as
    :func:`store.mark_changed` records it); return their IDs."""
    ids = []
    for i, g in enumerate(geoms, start=start):
        bid = building_id(COMMUNITY, 2024, i)
        ids.append(bid)
        con.execute(
            "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code, "
            "status, name, use, floors, households, geom, source) VALUES "
            "(?, ?, 2024, ?, 'active', ?, ?, ?, ?, ST_GeomFromText(?), 'generated')",
            [
                bid,
                COMMUNITY,
                COMMUNITY,
                f"楼{i}" if i % 2 else None,
                "residential" if i % 3 else "office",
                i % 30 + 1,
                10 * i,
                shapely.to_wkt(g),
            ],
        )
    store.mark_changed(con, "address_registry", what="test buildings")
    return ids


def commands_to_rings(ints: list[int]) -> list[list[tuple[int, int]]]:
    """Decode MVT polygon command integers into rings of absolute coordinates (no closing vertex)."""
    rings: list[list[tuple[int, int]]] = []
    cx = cy = 0
    i = 0
    while i < len(ints):
        cmd, count = ints[i] & 7, ints[i] >> 3
        i += 1
        if cmd == 7:
            continue
        for _ in range(count):
            dx, dy = ints[i], ints[i + 1]
            i += 2
            cx += (dx >> 1) ^ -(dx & 1)
            cy += (dy >> 1) ^ -(dy & 1)
            if cmd == 1:
                rings.append([])
            rings[-1].append((cx, cy))
    return rings


def area2(ring: list[tuple[int, int]]) -> int:
    """Twice the signed area of a ring in tile coordinates (surveyor's formula)."""
    a = np.array(ring + ring[:1])
    return int((a[:-1, 0] * a[1:, 1] - a[1:, 0] * a[:-1, 1]).sum())


def ragged_rings(r: Ragged) -> list[list[tuple[int, int]]]:
    """The rings of a :class:`Ragged` as lists of tuples."""
    return [
        [tuple(int(v) for v in p) for p in r.coords[r.part_off[i] : r.part_off[i + 1]]]  # type: ignore[misc]
        for i in range(len(r.part_off) - 1)
    ]
