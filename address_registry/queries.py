"""Reads of the register's tables for the other packages: the one place they learn about it.

``address_registry`` owns the tables in :data:`TABLES`; every other package reads them through
the functions here (and :mod:`address_registry.lookup` for one building or room) and never
names them in its own SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import duckdb

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
    footprint), ``geom`` (the footprint, WGS84). Used by the api's search box, grid pages,
    person-level reads and the ``buildings`` tile layer.
    """
    return (
        "SELECT building_id, status, name, address, use, floors, households, community_code, "
        f"estate_id, lon, lat, geom FROM buildings WHERE {_status_filter(statuses)}"
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
