"""Reads of the register's tables for the other packages: the one place they learn about it.

``address_registry`` owns the tables in :data:`TABLES`; every other package reads them through
the functions here (and :mod:`address_registry.lookup` for one building or room) and never
names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb

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
