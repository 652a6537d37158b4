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

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from common.errors import InvalidInput

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
    """The geometries of the major roads (WKB, WGS84), by road code.

    Used by grid_partition (the barriers no grid crosses). The blocks the barriers cut depend on
    their order: a fixed order makes the partition of a register reproducible.
    """
    rows = con.execute(
        "SELECT ST_AsWKB(geom) FROM roads WHERE is_major AND geom IS NOT NULL ORDER BY road_code"
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


# -- reads of the api (lookups, search, grids, person-level data, tiles) ----------------------
#
# Relation functions (``*_sql``) return one SELECT with the columns their docstring lists; a
# consumer embeds it (``FROM ({buildings_sql()}) b``) and filters or joins on those columns only.

#: The statuses of a building, a doorplate and an admin area.
_STATUSES: Final = frozenset({"proposed", "active", "retired"})
#: Kinds of an admin area, top down.
LEVELS: Final = ("province", "city", "district", "street", "community")


def _status_filter(statuses: Sequence[str] | None) -> str:
    if statuses is None:
        return "TRUE"
    bad = [s for s in statuses if s not in _STATUSES]
    if bad or not statuses:
        raise InvalidInput(f"unknown statuses {bad!r}; expected some of {sorted(_STATUSES)}")
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def admin_areas_sql(
    level: str | None = None, *, statuses: Sequence[str] | None = ("active",)
) -> str:
    """Admin areas (of one ``level``; active ones by default).

    Columns: ``code``, ``level``, ``name``, ``short_name``, ``parent_code``, ``status``,
    ``boundary_source``, ``boundary_method``, ``area_m2``, ``geom`` (WGS84; NULL without a
    boundary). Used by the api's search box, grid pages and tile layers.
    """
    where = _status_filter(statuses)
    if level is not None:
        if level not in LEVELS:
            raise InvalidInput(f"unknown admin level {level!r}; expected one of {list(LEVELS)}")
        where += f" AND level = '{level}'"
    return (
        "SELECT code, level, name, short_name, parent_code, status, boundary_source, "
        f"boundary_method, area_m2, geom FROM admin_areas WHERE {where}"
    )


def buildings_sql(statuses: Sequence[str] | None = None) -> str:
    """Buildings of the register (those of ``statuses``, every one by default).

    Columns: ``building_id``, ``status``, ``name``, ``address``, ``use``, ``floors``,
    ``households``, ``community_code``, ``estate_id``, ``lon``, ``lat`` (a point inside the
    footprint), ``geom`` (the footprint, WGS84), ``updated_at`` (the row's last change). Used
    by :mod:`fusion.link` (a record's building, the unlinked queue's retry), the api's search
    box, grid pages,
    person-level reads and the ``buildings`` tile layer, and :mod:`layers.demo_data`.
    """
    return (
        "SELECT building_id, status, name, address, use, floors, households, community_code, "
        f"estate_id, lon, lat, geom, updated_at FROM buildings WHERE {_status_filter(statuses)}"
    )


def rooms_sql(statuses: Sequence[str] | None = None) -> str:
    """Rooms (户室) of the register (those of ``statuses``, every one by default).

    Columns: ``room_id``, ``building_id``, ``unit``, ``floor``, ``room``, ``use``, ``area_m2``,
    ``status``. Used by :mod:`fusion.link` (records linked by room ID) and
    :mod:`layers.demo_data`.
    """
    return (
        "SELECT room_id, building_id, unit, floor, room, use, area_m2, status FROM rooms "
        f"WHERE {_status_filter(statuses)}"
    )


def building_aliases_sql(kinds: Sequence[str] | None = None) -> str:
    """Other names of buildings (of ``kinds``: ``name``, ``name_en``, ``old_name``,
    ``estate_building``, ``doorplate``, ``poi``; every kind by default).

    Columns: ``building_id``, ``alias``, ``kind``. Used by the api's search box.
    """
    where = "TRUE"
    if kinds is not None:
        where = "kind IN (" + ", ".join("'" + k.replace("'", "''") + "'" for k in kinds) + ")"
    return f"SELECT building_id, alias, kind FROM building_aliases WHERE {where}"


def doorplates_sql(statuses: Sequence[str] | None = ("active",)) -> str:
    """Doorplates (active ones by default).

    Columns: ``doorplate_id``, ``road_code``, ``number`` (display form: 126弄9号),
    ``building_id``, ``status``, ``geom`` (WGS84 point; may be NULL). Used by the api's search
    box and the ``doorplates`` tile layer.
    """
    return (
        "SELECT doorplate_id, road_code, number, building_id, status, geom FROM doorplates "
        f"WHERE {_status_filter(statuses)}"
    )


def roads_sql() -> str:
    """Roads (merged by name per district).

    Columns: ``road_code``, ``name``, ``district_code``, ``road_class``, ``is_major``, ``geom``
    (WGS84 (multi)linestring; may be NULL). Used by the api's search box and the ``roads``
    tile layer.
    """
    return "SELECT road_code, name, district_code, road_class, is_major, geom FROM roads"


def road_aliases_sql() -> str:
    """Other names of roads. Columns: ``road_code``, ``alias``, ``kind``. Used by the api's
    search box."""
    return "SELECT road_code, alias, kind FROM road_aliases"


def estates_sql() -> str:
    """Estates (小区). Columns: ``estate_id``, ``name`` (may be NULL), ``community_code``,
    ``enclosure`` (``closed`` / ``open``), ``geom`` (may be NULL). Used by the api's search box
    and grid pages."""
    return "SELECT estate_id, name, community_code, enclosure, geom FROM estates"


def area_names(
    con: duckdb.DuckDBPyConnection, codes: Iterable[str] | None = None
) -> dict[str, str]:
    """``{code: name}`` of the districts, streets and communities (of ``codes``, or all),
    retired ones included. Used by the api's grid pages and its grid-at-a-point index."""
    sql = "SELECT code, name FROM admin_areas WHERE level IN ('district', 'street', 'community')"
    params: list[Any] = []
    if codes is not None:
        sql += " AND list_contains(?::VARCHAR[], code)"
        params.append(list(codes))
    return {str(code): str(name) for code, name in con.execute(sql, params).fetchall()}


def community(con: duckdb.DuckDBPyConnection, code: str) -> dict[str, Any] | None:
    """One community (居委会 / 村) of the register, ``None`` when there is none.

    Keys: ``code``, ``name``, ``short_name``, ``status``, ``boundary_source``,
    ``boundary_method``, ``area_m2``, ``geojson`` (the boundary as GeoJSON text, or ``None``).
    Used by the api's community page.
    """
    row = con.execute(
        "SELECT code, name, short_name, status, boundary_source, boundary_method, area_m2, "
        "ST_AsGeoJSON(geom) AS geojson FROM admin_areas WHERE code = ? AND level = 'community'",
        [code],
    ).fetchone()
    if row is None:
        return None
    keys = ("code", "name", "short_name", "status", "boundary_source", "boundary_method")
    return dict(zip((*keys, "area_m2", "geojson"), row, strict=True))


def is_community(con: duckdb.DuckDBPyConnection, code: str) -> bool:
    """Whether the register has a community ``code``. Used by the api's grid list."""
    sql = "SELECT 1 FROM admin_areas WHERE code = ? AND level = 'community'"
    return con.execute(sql, [code]).fetchone() is not None


def building_exists(con: duckdb.DuckDBPyConnection, building_id: str) -> bool:
    """Whether the register ever issued ``building_id`` (retired ones included). Used by the
    api's person-level reads."""
    sql = "SELECT 1 FROM buildings WHERE building_id = ?"
    return con.execute(sql, [building_id]).fetchone() is not None


def room_exists(con: duckdb.DuckDBPyConnection, room_id: str) -> bool:
    """Whether the register ever issued ``room_id`` (retired ones included). Used by the api's
    person-level reads."""
    return con.execute("SELECT 1 FROM rooms WHERE room_id = ?", [room_id]).fetchone() is not None


# -- read by fusion (the nearest building of a point, coverage) -------------------------------


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
