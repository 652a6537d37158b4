"""Look up a building or a room by ID, retired ones included.

A retired ID is never "not found": it answers with its status, how it was retired and its
successors, directly and transitively down to the live buildings of today. Only a well-formed ID
that the register never issued raises :class:`~common.errors.NotFound`; a malformed one raises
:class:`~common.errors.InvalidInput` (from :mod:`address_registry.ids`).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import shapely
from shapely.geometry import mapping

from address_registry._history_queries import (
    current_successors,
    lineage,
    operations_of,
    require_building,
)
from address_registry.ids import parse_room_id, validate_building_id
from common.errors import NotFound

#: The address of a room: building address + ``N单元`` (unless unit 00) + ``地下N层`` (basements)
#: + ``NNNN室``; e.g. 汉口路12号 + unit 02, floor 012, room 1203 → 汉口路12号2单元1203室. One copy,
#: used by the rooms export too (``b`` = buildings, ``r`` = rooms).
ROOM_ADDRESS_SQL = """
    b.address
    || CASE WHEN r.unit <> '00' THEN CAST(CAST(r.unit AS INTEGER) AS VARCHAR) || '单元' ELSE '' END
    || CASE WHEN CAST(r.floor AS INTEGER) > 900
            THEN '地下' || CAST(CAST(r.floor AS INTEGER) - 900 AS VARCHAR) || '层' ELSE '' END
    || CAST(CAST(r.room AS INTEGER) AS VARCHAR) || '室'
"""

_BUILDING_PROPERTIES = """
    building_id, status, retired_by, birth_community_code, birth_year, community_code, name,
    use, use_source, floors, floors_estimated, height_m, height_estimated, footprint_m2,
    estate_id, building_no, doorplate_id, address, units, households, households_estimated,
    lon, lat, source, source_id
"""


def get_building(con: duckdb.DuckDBPyConnection, building_id: str) -> dict[str, Any]:
    """A building as a GeoJSON Feature with its status, lineage and operations.

    Parameters
    ----------
    con
        A store connection.
    building_id
        A 25-character building ID, live or retired.

    Returns
    -------
    dict
        ``{"type": "Feature", "id", "geometry", "properties"}``; properties hold the register
        columns plus ``predecessors``, ``successors`` (direct), ``current_successors`` (the
        live buildings it became, transitively; itself excluded) and ``history`` (operations).

    Raises
    ------
    InvalidInput
        A malformed ID (length, characters or check character).
    NotFound
        A well-formed ID the register never issued.
    """
    validate_building_id(building_id)
    cur = con.execute(
        f"SELECT {_BUILDING_PROPERTIES}, ST_AsWKB(geom) AS geom FROM buildings "
        "WHERE building_id = ?",
        [building_id],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no building {building_id} in the register", building_id=building_id)
    props = dict(zip([d[0] for d in cur.description], row, strict=True))
    geom = props.pop("geom")
    props["predecessors"] = lineage(con, building_id, "predecessors")
    props["successors"] = lineage(con, building_id, "successors")
    props["current_successors"] = (
        current_successors(con, building_id) if props["status"] == "retired" else []
    )
    props["history"] = operations_of(con, building_id)
    for op in props["history"]:  # room mappings can be long: keep their size only
        rooms = (op.get("detail") or {}).pop("rooms", None)
        if rooms is not None:
            op["detail"]["rooms_moved"] = len(rooms)
    return {
        "type": "Feature",
        "id": building_id,
        "geometry": mapping(shapely.from_wkb(bytes(geom))),
        "properties": props,
    }


def room_successors(con: duckdb.DuckDBPyConnection, room_id: str) -> list[str]:
    """The live rooms a retired room became (through split, merge and renumber), transitively.

    The room mappings live in the ``detail.rooms`` of the operations that retired the room's
    building; a room retired with its building (demolish) has none.
    """
    out: list[str] = []
    frontier = [room_id]
    seen = set(frontier)
    while frontier:
        room = frontier.pop()
        rows = con.execute(
            """
            SELECT DISTINCT o.detail->>('$.rooms."' || $room || '"')
            FROM building_lineage l JOIN registry_operations o USING (op_id)
            WHERE l.predecessor_id = $building
            """,
            {"room": room, "building": room[:25]},
        ).fetchall()
        for (new,) in rows:
            if new is None or new in seen:
                continue
            seen.add(new)
            status = con.execute("SELECT status FROM rooms WHERE room_id = ?", [new]).fetchone()
            if status and status[0] == "active":
                out.append(new)
            else:
                frontier.append(new)
    return sorted(out)


def get_room(con: duckdb.DuckDBPyConnection, room_id: str) -> dict[str, Any]:
    """A room with its building, full address and, when retired, its successors.

    Raises
    ------
    InvalidInput
        A malformed room ID.
    NotFound
        A well-formed room ID the register never issued.
    """
    parse_room_id(room_id)
    cur = con.execute(
        f"""
        SELECT r.room_id, r.building_id, r.unit, r.floor, r.room, r.use, r.area_m2,
               r.estimated, r.rule, r.status, b.status AS building_status,
               b.community_code, {ROOM_ADDRESS_SQL} AS address, b.lon, b.lat
        FROM rooms r JOIN buildings b USING (building_id) WHERE r.room_id = ?
        """,
        [room_id],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no room {room_id} in the register", room_id=room_id)
    out = dict(zip([d[0] for d in cur.description], row, strict=True))
    out["successors"] = room_successors(con, room_id) if out["status"] == "retired" else []
    return out


def show(con: duckdb.DuckDBPyConnection, identifier: str) -> dict[str, Any]:
    """:func:`get_building` or :func:`get_room` by the length of ``identifier``."""
    if len(identifier) > 25:
        return get_room(con, identifier)
    require_building(con, identifier)
    return get_building(con, identifier)


def to_json(record: dict[str, Any]) -> str:
    """Serialise a lookup answer (dates and decimals as strings)."""
    return json.dumps(record, ensure_ascii=False, default=str)
