"""Reads of the register's tables for the other packages: the one place they learn about it.

``address_registry`` owns the tables in :data:`TABLES`; every other package reads them through
the functions here (and :mod:`address_registry.lookup` for one building or room) and never
names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb
import pandas as pd

#: The tables ``address_registry`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {
        "admin_areas",
        "admin_aliases",
        "roads",
        "road_aliases",
        "estates",
        "buildings",
        "building_aliases",
        "doorplates",
        "rooms",
        "registry_operations",
        "building_lineage",
        "building_history",
        "id_serials",
        "registry_quarantine",
        "registry_builds",
    }
)


# -- read by fusion (links, coverage) ------------------------------------------------------------


def buildings_sql() -> str:
    """Relation: ``building_id, status, community_code, lon, lat, updated_at`` of every building.

    Every status (``proposed``, ``active``, ``retired``); ``lon, lat`` is the representative
    point inside the footprint (WGS84), ``updated_at`` the last change of the row. One
    ``SELECT`` to embed as ``JOIN ({buildings_sql()}) b ON ...``. Used by :mod:`fusion.link`.
    """
    return "SELECT building_id, status, community_code, lon, lat, updated_at FROM buildings"


def rooms_sql() -> str:
    """Relation: ``room_id, building_id, unit, floor, room, status`` of every room.

    Used by :mod:`fusion.link` (records linked by room ID).
    """
    return "SELECT room_id, building_id, unit, floor, room, status FROM rooms"


def active_building_shapes(
    con: duckdb.DuckDBPyConnection,
    bbox: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """``building_id`` and footprint (``wkb``, WGS84) of the active buildings, by id.

    Parameters
    ----------
    bbox
        Only the footprints meeting this WGS84 box ``(minx, miny, maxx, maxy)``.

    Used by :mod:`fusion.link` (the nearest building of a point) and :mod:`fusion.coverage`
    (public space is a block minus the footprints).
    """
    sql = "SELECT building_id, ST_AsWKB(geom) AS wkb FROM buildings WHERE status = 'active'"
    params: list[float] = []
    if bbox is not None:
        sql += " AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?))"
        params = [float(v) for v in bbox]
    return con.execute(sql + " ORDER BY building_id", params).df()
