"""Operations that retire an ID: split, merge, demolish, renumber (see ``docs/lifecycle.md``).

Re-exported by :mod:`address_registry.lifecycle`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import shapely
from shapely.geometry.base import BaseGeometry

import store
from address_registry import _bitemporal as bt
from address_registry._crs import metric_crs_at, to_metric
from address_registry._lifecycle_base import (
    allocate_ids,
    check_community,
    doorplates_of,
    insert_like,
    largest_remainder,
    load_building,
    repoint_doorplates,
    require_live,
    retire,
    same_or,
    set_detail_rooms,
)
from address_registry._lifecycle_geom import (
    SPLIT_TOLERANCE,
    as_polygon,
    check_split_cover,
    community_at,
    footprint_fields,
    nearest_part,
)
from address_registry._room_moves import (
    active_rooms,
    household_room_ids,
    move_rooms,
    plan_merge,
    plan_split,
    retire_rooms,
)
from common.errors import Conflict, InvalidInput


def split(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    parts: Sequence[Any],
    valid_at: bt.TimeLike | None = None,
    *,
    tolerance: float = SPLIT_TOLERANCE,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> list[str]:
    """Split a building into ``parts``; it is retired and each part gets a new ID.

    Parameters
    ----------
    con
        A writable store connection.
    building_id
        The building to split (active or proposed).
    parts
        Two or more footprints that tile the original within ``tolerance`` (share of its area:
        gaps, excess and overlaps each at most that).
    valid_at
        When the split happened in the world (default now). The birth year of the new IDs.
    tolerance
        See ``parts``.
    recorded_at, actor, note
        Record time (default now), who did it and why.

    Returns
    -------
    list[str]
        The successors' IDs, one per part in the order given. Each is born in the community
        that contains it now (boundary lookup; the original's community when there is none).
        Rooms move by the rule of :mod:`address_registry._room_moves`; doorplates move to the
        part containing them; households follow the rooms (else the area).
    """
    row = load_building(con, building_id)
    require_live(row, "split")
    geoms = [as_polygon(p, f"part {i}") for i, p in enumerate(parts)]
    check_split_cover(building_id, row["geom"], geoms, tolerance)
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        bt.require_current_from(con, building_id, when, "split")
        rec = bt.next_record_time(con, [building_id], recorded_at)
        communities = [community_at(con, g) or row["community_code"] for g in geoms]
        new_ids = allocate_ids(con, communities, when.year)
        community_of = dict(zip(new_ids, communities, strict=True))
        rooms = active_rooms(con, building_id)
        targets = plan_split(rooms, row["geom"], geoms)
        areas = [a.area for a in to_metric(geoms, metric_crs_at(row["geom"]))]
        # doorplates go to the part containing them; the building's address goes with its own
        plates = doorplates_of(con, building_id)
        anchor = row["geom"].representative_point()
        plate_part = {d: nearest_part(g if g is not None else anchor, geoms) for d, g in plates}
        address_part = plate_part.get(row["doorplate_id"], nearest_part(anchor, geoms))
        homes = household_room_ids(con, building_id)
        households = _split_households(row, [r in homes for r, _ in rooms], targets, areas)
        op_id = bt.record_operation(
            con,
            "split",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"building_ids": [building_id], "successors": new_ids, "rooms": {}},
        )
        for i, (new_id, geom) in enumerate(zip(new_ids, geoms, strict=True)):
            keeps_address = i == address_part
            units = len({rooms[k][1][0] for k, t in enumerate(targets) if t == i}) or None
            if not rooms:
                units = None
            insert_like(
                con,
                building_id,
                {
                    "building_id": new_id,
                    "birth_community_code": community_of[new_id],
                    "birth_year": when.year,
                    "community_code": community_of[new_id],
                    "retired_by": None,
                    "doorplate_id": row["doorplate_id"] if keeps_address else None,
                    "address": row["address"] if keeps_address else None,
                    "building_no": row["building_no"] if keeps_address else None,
                    "units": units,
                    "households": households[i],
                    "source": "manual",
                    "source_id": None,
                    "created_at": rec,
                    "updated_at": rec,
                    **footprint_fields(geom),
                },
            )
        mapping = move_rooms(
            con, [(rid, new_ids[t], key) for (rid, key), t in zip(rooms, targets, strict=True)]
        )
        repoint_doorplates(con, ((d, new_ids[p]) for d, p in plate_part.items()), community_of)
        retire(con, building_id, "split", when, op_id, rec)
        for new_id in new_ids:
            bt.open_version(con, new_id, when, rec, op_id)
        bt.add_lineage(con, [(building_id, n) for n in new_ids], op_id)
        set_detail_rooms(con, op_id, mapping)
    return new_ids


def _split_households(
    row: Mapping[str, Any],
    is_household: Sequence[bool],
    targets: Sequence[int],
    areas: Sequence[float],
) -> list[int | None]:
    """Households of each part: its household rooms, else the old count split by area."""
    if is_household:
        counts: list[int | None] = [0] * len(areas)
        for home, t in zip(is_household, targets, strict=True):
            if home:
                counts[t] = (counts[t] or 0) + 1
        return counts
    if row["households"] is None:
        return [None] * len(areas)
    return list(largest_remainder(int(row["households"]), areas))


def merge(
    con: duckdb.DuckDBPyConnection,
    building_ids: Sequence[str],
    valid_at: bt.TimeLike | None = None,
    geometry: Any = None,
    *,
    community_code: str | None = None,
    tolerance: float = SPLIT_TOLERANCE,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> str:
    """Merge two or more buildings into one new building; the old ones are retired.

    Parameters
    ----------
    building_ids
        The buildings to merge (live, distinct).
    valid_at
        When the merge happened (default now); the birth year of the new ID.
    geometry
        The merged footprint; default the union of the footprints, which must then be one
        polygon. A given footprint must cover each building within ``tolerance``.
    community_code
        The community of the result (its birth community). Required when the buildings lie in
        different communities.

    Returns
    -------
    str
        The new building ID. Rooms move by the rule of :mod:`address_registry._room_moves`.
    """
    ids = sorted(set(building_ids))
    if len(ids) < 2 or len(ids) != len(building_ids):
        raise InvalidInput(
            f"a merge needs two or more distinct building IDs, got {list(building_ids)}"
        )
    rows = [load_building(con, b) for b in ids]
    for row in rows:
        require_live(row, "merge")
    codes = sorted({r["community_code"] for r in rows})
    if community_code is None:
        if len(codes) > 1:
            raise Conflict(
                f"buildings {ids} lie in different communities {codes}: say which community "
                "the merged building belongs to (community_code)",
                building_ids=ids,
            )
        community_code = codes[0]
    check_community(community_code, "community_code")
    geom = _merged_geometry(ids, [r["geom"] for r in rows], geometry, tolerance)
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        for b in ids:
            bt.require_current_from(con, b, when, "merge")
        rec = bt.next_record_time(con, ids, recorded_at)
        (new_id,) = allocate_ids(con, [community_code], when.year)
        rooms = [active_rooms(con, b) for b in ids]
        keys = plan_merge(rooms)
        with_address = [r for r in rows if r["doorplate_id"] or r["address"]]
        lead = with_address[0] if with_address else rows[0]
        households = [r["households"] for r in rows]
        units = [r["units"] for r in rows if r["units"] is not None]
        floors = [r["floors"] for r in rows if r["floors"] is not None]
        heights = [r["height_m"] for r in rows if r["height_m"] is not None]
        op_id = bt.record_operation(
            con,
            "merge",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"building_ids": ids, "successors": [new_id], "rooms": {}},
        )
        insert_like(
            con,
            ids[0],
            {
                "building_id": new_id,
                "birth_community_code": community_code,
                "birth_year": when.year,
                "community_code": community_code,
                "status": "active" if any(r["status"] == "active" for r in rows) else "proposed",
                "retired_by": None,
                "name": same_or((r["name"] for r in rows), None),
                "use": same_or((r["use"] for r in rows), "mixed"),
                "use_source": same_or((r["use_source"] for r in rows), "derived"),
                "floors": max(floors) if floors else None,
                "floors_estimated": any(r["floors_estimated"] for r in rows),
                "height_m": max(heights) if heights else None,
                "height_estimated": any(r["height_estimated"] for r in rows),
                "estate_id": same_or((r["estate_id"] for r in rows), None),
                "building_no": lead["building_no"],
                "doorplate_id": lead["doorplate_id"],
                "address": lead["address"],
                "units": sum(units) if units else None,
                "households": None
                if all(h is None for h in households)
                else sum(h or 0 for h in households),
                "households_estimated": any(
                    r["households_estimated"] or r["households"] is None for r in rows
                ),
                "source": "manual",
                "source_id": None,
                "created_at": rec,
                "updated_at": rec,
                **footprint_fields(geom),
            },
        )
        mapping: dict[str, str] = {}
        for room_list, new_keys in zip(rooms, keys, strict=True):
            mapping.update(
                move_rooms(
                    con,
                    [(rid, new_id, k) for (rid, _), k in zip(room_list, new_keys, strict=True)],
                )
            )
        community_of = {new_id: community_code}
        for b in ids:
            repoint_doorplates(con, ((d, new_id) for d, _ in doorplates_of(con, b)), community_of)
            retire(con, b, "merge", when, op_id, rec)
        bt.open_version(con, new_id, when, rec, op_id)
        bt.add_lineage(con, [(b, new_id) for b in ids], op_id)
        set_detail_rooms(con, op_id, mapping)
    return new_id


def _merged_geometry(
    ids: Sequence[str], geoms: Sequence[BaseGeometry], geometry: Any, tolerance: float
) -> BaseGeometry:
    if geometry is None:
        union = shapely.union_all(list(geoms))
        if union.geom_type != "Polygon":
            raise Conflict(
                f"buildings {list(ids)} do not touch (their union is a {union.geom_type}): "
                "give the merged footprint (geometry)",
                building_ids=list(ids),
            )
        return union
    geom = as_polygon(geometry, "geometry")
    metric = to_metric([geom, *geoms], metric_crs_at(geom))
    for bid, part in zip(ids, metric[1:], strict=True):
        missed = part.difference(metric[0]).area / part.area
        if missed > tolerance:
            raise InvalidInput(
                f"the merged footprint leaves {missed:.1%} of building {bid} outside "
                f"(tolerance {tolerance:.1%})",
                building_id=bid,
            )
    return geom


def demolish(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_at: bt.TimeLike | None = None,
    *,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    """Retire a demolished building: no successors; its rooms and doorplates are retired."""
    row = load_building(con, building_id)
    require_live(row, "demolish")
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        bt.require_current_from(con, building_id, when, "demolish")
        rec = bt.next_record_time(con, [building_id], recorded_at)
        op_id = bt.record_operation(
            con, "demolish", when, rec, actor=actor, note=note, detail={"building_ids": []}
        )
        retired_rooms = retire_rooms(con, building_id)
        plates = [d for d, _ in doorplates_of(con, building_id)]
        con.execute(
            "UPDATE doorplates SET status = 'retired' WHERE list_contains(?, doorplate_id)",
            [plates],
        )
        retire(con, building_id, "demolish", when, op_id, rec)
        con.execute(
            "UPDATE registry_operations SET detail = ?::JSON WHERE op_id = ?",
            [
                json.dumps(
                    {
                        "building_ids": [building_id],
                        "successors": [],
                        "rooms_retired": len(retired_rooms),
                        "doorplates_retired": plates,
                    }
                ),
                op_id,
            ],
        )


def renumber(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_at: bt.TimeLike | None = None,
    reason: str = "",
    *,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> str:
    """Give the same building a new ID (e.g. one issued in error); the old ID is retired.

    The new ID is born in the building's current community in the year of ``valid_at``; rooms
    keep unit/floor/room under the new ID; doorplates and aliases follow; lineage old → new.
    """
    if not reason or not reason.strip():
        raise InvalidInput(f"renumbering {building_id} needs a reason")
    row = load_building(con, building_id)
    require_live(row, "renumber")
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        bt.require_current_from(con, building_id, when, "renumber")
        rec = bt.next_record_time(con, [building_id], recorded_at)
        (new_id,) = allocate_ids(con, [row["community_code"]], when.year)
        op_id = bt.record_operation(
            con,
            "renumber",
            when,
            rec,
            actor=actor,
            note=note or reason,
            detail={
                "building_ids": [building_id],
                "successors": [new_id],
                "reason": reason,
                "rooms": {},
            },
        )
        insert_like(
            con,
            building_id,
            {
                "building_id": new_id,
                "birth_community_code": row["community_code"],
                "birth_year": when.year,
                "created_at": rec,
                "updated_at": rec,
            },
        )
        mapping = move_rooms(
            con, [(rid, new_id, key) for rid, key in active_rooms(con, building_id)]
        )
        repoint_doorplates(
            con,
            ((d, new_id) for d, _ in doorplates_of(con, building_id)),
            {new_id: row["community_code"]},
        )
        con.execute(
            "INSERT INTO building_aliases SELECT ?, alias, kind, valid_from, valid_to "
            "FROM building_aliases WHERE building_id = ?",
            [new_id, building_id],
        )
        retire(con, building_id, "renumber", when, op_id, rec)
        bt.open_version(con, new_id, when, rec, op_id)
        bt.add_lineage(con, [(building_id, new_id)], op_id)
        set_detail_rooms(con, op_id, mapping)
    return new_id
