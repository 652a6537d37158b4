"""Reads of the register's tables for the other packages: the one place they learn about it.

``address_registry`` owns the tables in :data:`TABLES`; every other package reads them through
the functions here (and :mod:`address_registry.lookup` for one building or room) and never
names them in its own SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import duckdb

if TYPE_CHECKING:
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


# --- read by layers (ingest, the demo's data) and the pipeline's summary ----------------------


def active_buildings_sql() -> str:
    """The active buildings, as one SELECT to embed (``FROM ({active_buildings_sql()}) b``).

    Columns: ``building_id, community_code, name, address, use, households, lon, lat, geom``
    (as in ``buildings``). Used by :mod:`layers.demo_data`.
    """
    return (
        "SELECT building_id, community_code, name, address, use, households, lon, lat, geom "
        "FROM buildings WHERE status = 'active'"
    )


def active_rooms_sql() -> str:
    """The active rooms, as one SELECT to embed (``FROM ({active_rooms_sql()}) r``).

    Columns: ``room_id, building_id, unit, floor, room, use, area_m2`` (as in ``rooms``).
    Used by :mod:`layers.demo_data`.
    """
    return (
        "SELECT room_id, building_id, unit, floor, room, use, area_m2 FROM rooms "
        "WHERE status = 'active'"
    )


def room_ids_sql() -> str:
    """Every room ID the register has issued, active or retired: one column, ``room_id``.

    Used by :mod:`layers.ingest` (a record naming another room is quarantined as
    ``unknown_room``).
    """
    return "SELECT room_id FROM rooms"


def city_area_sql() -> str:
    """The city as the register knows it: ``geom``, the union of its district polygons; one
    row, none when it has no district polygon. Used by :mod:`layers.ingest` (records outside
    the city are quarantined)."""
    return (
        "SELECT ST_Union_Agg(geom) AS geom FROM admin_areas "
        "WHERE level = 'district' AND geom IS NOT NULL HAVING count(*) > 0"
    )


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """What the register holds, for the demo's closing summary (:mod:`yizhi.pipeline`).

    Keys: ``communities`` (with a boundary), ``roads``, ``doorplates``, ``buildings`` and
    ``rooms`` (active), ``households`` (of the active buildings), ``quarantined`` (source rows
    the build could not register).
    """
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM admin_areas WHERE level = 'community' AND geom IS NOT NULL),
               (SELECT count(*) FROM roads),
               (SELECT count(*) FROM doorplates),
               (SELECT count(*) FROM buildings WHERE status = 'active'),
               (SELECT count(*) FROM rooms WHERE status = 'active'),
               (SELECT coalesce(sum(households), 0) FROM buildings WHERE status = 'active'),
               (SELECT count(*) FROM registry_quarantine)
        """
    ).fetchone()
    keys = ("communities", "roads", "doorplates", "buildings", "rooms", "households")
    return dict(zip((*keys, "quarantined"), (int(v) for v in row or (0,) * 7), strict=True))


# -- Reads for grid_partition: the partitioner's inputs and the GeoPackage round trip --------


def communities_with_buildings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Codes of the communities that have a boundary and at least one active building, in
    order.

    Used by grid_partition (the communities a partition covers).
    """
    rows = con.execute(
        "SELECT a.code FROM admin_areas a WHERE a.level = 'community' AND a.geom IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM buildings b WHERE b.community_code = a.code "
        "AND b.status = 'active') ORDER BY a.code"
    ).fetchall()
    return [str(r[0]) for r in rows]


def community_boundaries_frame(con: duckdb.DuckDBPyConnection, codes: list[str]) -> pd.DataFrame:
    """The boundaries of the admin areas ``codes``: ``code``, ``wkb`` (WGS84), ordered by code.

    Used by grid_partition (the community polygons the partitioner tiles).
    """
    return con.execute(
        "SELECT a.code, ST_AsWKB(a.geom) AS wkb FROM admin_areas a "
        "JOIN (SELECT DISTINCT unnest(?::VARCHAR[]) AS code) c USING (code) ORDER BY a.code",
        [list(codes)],
    ).df()


def active_buildings_frame(
    con: duckdb.DuckDBPyConnection, communities: list[str], *, geometry: bool = True
) -> pd.DataFrame:
    """The active buildings of ``communities``, ordered by community and building.

    Columns ``community_code``, ``building_id``, ``households`` (0 when unknown), ``units``
    (1 when unknown), ``estate_id``, ``enclosure`` (of its estate: ``open`` / ``closed`` /
    NULL) and, with ``geometry``, ``wkb`` (the footprint, WGS84).

    Used by grid_partition (the partitioner's buildings; a repartition's unchanged
    communities).
    """
    wkb = ", ST_AsWKB(b.geom) AS wkb" if geometry else ""
    return con.execute(
        "SELECT b.community_code, b.building_id, coalesce(b.households, 0) AS households, "
        f"coalesce(b.units, 1) AS units, b.estate_id, e.enclosure{wkb} "
        "FROM buildings b JOIN (SELECT DISTINCT unnest(?::VARCHAR[]) AS code) c "
        "ON b.community_code = c.code LEFT JOIN estates e ON e.estate_id = b.estate_id "
        "WHERE b.status = 'active' ORDER BY b.community_code, b.building_id",
        [list(communities)],
    ).df()


def household_units_frame(con: duckdb.DuckDBPyConnection, communities: list[str]) -> pd.DataFrame:
    """Household rooms per unit of the active buildings of ``communities`` (numbered units
    only, not ``00``): ``community_code``, ``building_id``, ``unit``, ``n``, in that order.

    Used by grid_partition (how a building's households split over its units).
    """
    return con.execute(
        "SELECT b.community_code, r.building_id, r.unit, count(*)::INTEGER AS n FROM rooms r "
        "JOIN buildings b USING (building_id) "
        "JOIN (SELECT DISTINCT unnest(?::VARCHAR[]) AS code) c ON b.community_code = c.code "
        "WHERE r.status = 'active' AND r.use = 'household' AND r.unit <> '00' "
        "AND b.status = 'active' GROUP BY ALL ORDER BY 1, 2, 3",
        [list(communities)],
    ).df()


def major_roads_wkb(con: duckdb.DuckDBPyConnection) -> list[bytes]:
    """The geometries of the major roads (WKB, WGS84), in the order of the table.

    Used by grid_partition (the barriers no grid crosses).
    """
    # The table's order, as before #16. The blocks the barriers cut depend on their order, and
    # the register writes its roads in an order that changes with Python's string hashing, so
    # the sample's grid polygons differ between builds unless PYTHONHASHSEED is fixed;
    # ``ORDER BY road_code`` would make them reproducible (and redraw a few of them).
    rows = con.execute(
        "SELECT ST_AsWKB(geom) FROM roads WHERE is_major AND geom IS NOT NULL"
    ).fetchall()
    return [bytes(r[0]) for r in rows]


def building_points_sql() -> str:
    """Every building (of any status) and its point, as one SELECT.

    Columns ``building_id``, ``community_code``, ``status``, ``lon``, ``lat``: the building's
    representative point, or a point on its footprint when the register has none.

    Used by grid_partition (the assignment points of a GeoPackage export, a building's
    community in an import).
    """
    return (
        "SELECT building_id, community_code, status, "
        "coalesce(lon, ST_X(ST_PointOnSurface(geom))) AS lon, "
        "coalesce(lat, ST_Y(ST_PointOnSurface(geom))) AS lat FROM buildings"
    )


def building_communities(con: duckdb.DuckDBPyConnection, building_ids: list[str]) -> dict[str, str]:
    """The community of each of ``building_ids`` the register knows (any status), by ID.

    Used by grid_partition (a planner's move names the community a building lies in).
    """
    rows = con.execute(
        "SELECT building_id, community_code FROM buildings "
        "WHERE list_contains(?::VARCHAR[], building_id) ORDER BY building_id",
        [list(building_ids)],
    ).fetchall()
    return {str(b): str(c) for b, c in rows}
