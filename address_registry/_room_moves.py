"""Where the rooms of a building go when it is split, merged, renumbered or demolished.

Rooms have no geometry of their own, so their place inside a footprint is inferred (the rule of
``docs/lifecycle.md``):

- **split**: the rooms of a unit (staircase) go together: the ``n`` units, in order, are placed
  at ``(k + 0.5) / n`` along the long axis of the original footprint (west to east). Rooms outside
  units (unit ``00``) are placed the same way by their position on the floor (the last two
  digits of the room number: 1203 → 3). Each room moves to the part containing its point, else
  to the nearest part. A moved room keeps unit, floor and room number under its new building.
- **merge**: every room moves to the merged building. If two predecessors share a
  unit/floor/room key, units are renumbered consecutively across the predecessors (in ID order,
  each predecessor's units in order, unit ``00`` counting as one unit).
- **renumber**: every room moves with the same unit/floor/room under the new building ID.
- **demolish**: every room is retired, with no successor.

A moved room is a new room ID; the old row is kept with ``status = 'retired'`` and the mapping
old → new is recorded in the operation's ``detail.rooms``.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
from shapely.geometry.base import BaseGeometry

from address_registry._lifecycle_geom import axis_points, nearest_part
from common.errors import Conflict

RoomKey = tuple[str, str, str]  # unit, floor, room


def active_rooms(con: duckdb.DuckDBPyConnection, building_id: str) -> list[tuple[str, RoomKey]]:
    """``(room_id, (unit, floor, room))`` of the active rooms of a building, in ID order."""
    rows = con.execute(
        "SELECT room_id, unit, floor, room FROM rooms "
        "WHERE building_id = ? AND status = 'active' ORDER BY room_id",
        [building_id],
    ).fetchall()
    return [(r[0], (r[1], r[2], r[3])) for r in rows]


def plan_split(
    rooms: Sequence[tuple[str, RoomKey]], original: BaseGeometry, parts: Sequence[BaseGeometry]
) -> list[int]:
    """The index of the part each room moves to (see the module rule)."""
    if not rooms:
        return []
    units = sorted({key[0] for _, key in rooms} - {"00"})
    # rooms of a unit go together; rooms outside units (unit 00: ground-floor shops of a mixed
    # building, or a building without units) are placed by their position on the floor
    positions = sorted({int(key[2]) % 100 for _, key in rooms if key[0] == "00"})
    unit_points = axis_points(original, len(units)) if units else []
    position_points = axis_points(original, len(positions)) if positions else []
    unit_target = {u: nearest_part(p, parts) for u, p in zip(units, unit_points, strict=True)}
    position_target = {
        q: nearest_part(p, parts) for q, p in zip(positions, position_points, strict=True)
    }
    return [
        position_target[int(key[2]) % 100] if key[0] == "00" else unit_target[key[0]]
        for _, key in rooms
    ]


def plan_merge(rooms_by_building: Sequence[Sequence[tuple[str, RoomKey]]]) -> list[list[RoomKey]]:
    """New unit/floor/room keys for the rooms of each predecessor (see the module rule)."""
    seen: set[RoomKey] = set()
    clash = False
    for rooms in rooms_by_building:
        keys = {key for _, key in rooms}
        if keys & seen:
            clash = True
        seen |= keys
    if not clash:
        return [[key for _, key in rooms] for rooms in rooms_by_building]
    out: list[list[RoomKey]] = []
    next_unit = 1
    for rooms in rooms_by_building:
        units = sorted({key[0] for _, key in rooms})
        new_unit = {u: next_unit + i for i, u in enumerate(units)}
        next_unit += len(units)
        if next_unit - 1 > 99:
            raise Conflict(
                f"merging these buildings needs {next_unit - 1} units to keep room numbers "
                "apart; a building has at most 99"
            )
        out.append([(f"{new_unit[key[0]]:02d}", key[1], key[2]) for _, key in rooms])
    return out


def move_rooms(
    con: duckdb.DuckDBPyConnection, moves: Sequence[tuple[str, str, RoomKey]]
) -> dict[str, str]:
    """Move rooms: ``(old room ID, new building ID, new key)``; returns ``{old: new}``.

    The new row copies use, area, flags and rule of the old one; the old row is retired. One
    set-based INSERT and one UPDATE, whatever the number of rooms.
    """
    if not moves:
        return {}
    frame = pd.DataFrame(
        {
            "old": [m[0] for m in moves],
            "building": [m[1] for m in moves],
            "unit": [m[2][0] for m in moves],
            "floor": [m[2][1] for m in moves],
            "room": [m[2][2] for m in moves],
        }
    )
    frame["new"] = frame["building"] + frame["unit"] + frame["floor"] + frame["room"]
    con.register("_lifecycle_room_moves", frame)
    try:
        con.execute(
            """
            INSERT INTO rooms (room_id, building_id, unit, floor, room, use, area_m2, estimated,
                               rule, status)
            SELECT m.new, m.building, m.unit, m.floor, m.room, r.use, r.area_m2, r.estimated,
                   r.rule, 'active'
            FROM _lifecycle_room_moves m JOIN rooms r ON r.room_id = m.old
            """
        )
        con.execute(
            "UPDATE rooms SET status = 'retired' FROM _lifecycle_room_moves m "
            "WHERE rooms.room_id = m.old"
        )
    finally:
        con.unregister("_lifecycle_room_moves")
    return dict(zip(frame["old"], frame["new"], strict=True))


def retire_rooms(con: duckdb.DuckDBPyConnection, building_id: str) -> list[str]:
    """Retire every active room of a building; return their IDs."""
    ids = [room for room, _ in active_rooms(con, building_id)]
    con.execute(
        "UPDATE rooms SET status = 'retired' WHERE building_id = ? AND status = 'active'",
        [building_id],
    )
    return ids


def household_room_ids(con: duckdb.DuckDBPyConnection, building_id: str) -> set[str]:
    """IDs of the active rooms of a building used as homes (``use`` household or unknown)."""
    rows = con.execute(
        "SELECT room_id FROM rooms WHERE building_id = ? AND status = 'active' "
        "AND coalesce(use, 'household') = 'household'",
        [building_id],
    ).fetchall()
    return {r[0] for r in rows}
