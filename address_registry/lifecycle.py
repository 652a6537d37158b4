"""Lifecycle of the building register: create, activate, update, correct, split, merge,
demolish, renumber and reparent, each one transaction with its operation, lineage and history.

Every operation

- runs in its own transaction (all or nothing);
- records one ``registry_operations`` row (``op``, ``valid_at``, ``recorded_at``, ``actor``,
  ``note``, ``detail`` JSON with the IDs involved and the room mapping);
- links predecessors to successors in ``building_lineage``;
- keeps ``building_history`` bitemporal (:mod:`address_registry._bitemporal`): the version
  current at ``valid_at`` is superseded by new rows, never edited, except that its
  ``recorded_to`` is set.

IDs come from :func:`address_registry._allocate.allocate_building_ids` and are never issued twice;
a retired building stays in ``buildings`` with ``status = 'retired'`` and ``retired_by``. The
rules are in ``docs/lifecycle.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import shapely

import store
from address_registry import _bitemporal as bt
from address_registry._history_queries import as_of, buildings_as_of, history
from address_registry._lifecycle_base import (
    AMENDABLE,
    CREATABLE,
    LIVE,
    USES,
    allocate_ids,
    attribute_changes,
    check_community,
    load_building,
    require_live,
    set_columns,
)
from address_registry._lifecycle_geom import as_polygon, community_at, footprint_fields
from address_registry._restructure import demolish, merge, renumber, split
from address_registry.ids import validate_building_id
from common.errors import Conflict, InvalidInput

__all__ = [
    "activate",
    "as_of",
    "buildings_as_of",
    "correct",
    "create",
    "demolish",
    "history",
    "merge",
    "renumber",
    "reparent",
    "split",
    "update",
]


def create(
    con: duckdb.DuckDBPyConnection,
    geometry: Any,
    valid_at: bt.TimeLike | None = None,
    *,
    community_code: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    status: str = "active",
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> str:
    """Register a new building (``active``, or ``proposed`` for one not yet built).

    Parameters
    ----------
    con
        A writable store connection (not inside a transaction).
    geometry
        The footprint (Polygon or MultiPolygon, WGS84): shapely, WKB, WKT or GeoJSON mapping.
    valid_at
        When it came into being (default: now).
    community_code
        Its community; default: the community whose boundary contains it. It is also the birth
        community written into the ID.
    attributes
        Any of :data:`CREATABLE` (``use`` defaults to ``'other'``).
    status
        ``'active'`` or ``'proposed'``.
    recorded_at, actor, note
        Record time (default now), who did it and why.

    Returns
    -------
    str
        The new building ID (birth year = the year of ``valid_at``).
    """
    attrs = dict(attributes or {})
    unknown = sorted(set(attrs) - set(CREATABLE))
    if unknown:
        raise InvalidInput(f"cannot set {unknown} on create; allowed are {list(CREATABLE)}")
    if status not in LIVE:
        raise InvalidInput(f"a new building is 'active' or 'proposed', got {status!r}")
    use = attrs.pop("use", "other")
    if use not in USES:
        raise InvalidInput(f"use must be one of {list(USES)}, got {use!r}")
    geom = as_polygon(geometry, "geometry")
    when = bt.valid_time(valid_at)
    if community_code is None:
        community_code = community_at(con, geom)
        if community_code is None:
            raise InvalidInput(
                "no community boundary contains the new building at "
                f"{geom.representative_point().wkt}; pass community_code"
            )
    check_community(community_code, "community_code")
    with store.transaction(con, changes=("address_registry",)):
        rec = bt.next_record_time(con, [], recorded_at)
        (new_id,) = allocate_ids(con, [community_code], when.year)
        values: dict[str, Any] = {
            "building_id": new_id,
            "birth_community_code": community_code,
            "birth_year": when.year,
            "community_code": community_code,
            "status": status,
            "use": use,
            "use_source": attrs.pop("use_source", "manual"),
            "floors_estimated": False,
            "height_estimated": False,
            "households_estimated": attrs.get("households") is None,
            "source": attrs.pop("source", "manual"),
            "created_at": rec,
            "updated_at": rec,
            **footprint_fields(geom),
            **attrs,
        }
        cols = list(values)
        marks = ["ST_GeomFromWKB(?)" if c == "geom" else "?" for c in cols]
        con.execute(
            f"INSERT INTO buildings ({', '.join(cols)}) VALUES ({', '.join(marks)})",
            list(values.values()),
        )
        op_id = bt.record_operation(
            con,
            "create",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"building_ids": [new_id], "status": status, "community_code": community_code},
        )
        bt.open_version(con, new_id, when, rec, op_id)
    return new_id


def activate(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_at: bt.TimeLike | None = None,
    *,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    """Turn a ``proposed`` building ``active`` (recorded as an ``update`` operation)."""
    row = load_building(con, building_id)
    if row["status"] != "proposed":
        raise Conflict(
            f"only a proposed building can be activated; {building_id} is {row['status']}",
            building_id=building_id,
        )
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        bt.require_current_from(con, building_id, when, "activate")
        rec = bt.next_record_time(con, [building_id], recorded_at)
        op_id = bt.record_operation(
            con,
            "update",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"kind": "activate", "building_ids": [building_id]},
        )
        set_columns(con, building_id, {"status": "active"}, rec)
        bt.amend_history(con, building_id, when, None, {"status": "active"}, op_id, rec)


def update(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_at: bt.TimeLike | None,
    attributes: Mapping[str, Any],
    *,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    """Change attributes (:data:`AMENDABLE`) of a live building from ``valid_at`` on."""
    row = load_building(con, building_id)
    require_live(row, "update")
    hist, cols = attribute_changes(attributes, AMENDABLE)
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        rec = bt.next_record_time(con, [building_id], recorded_at)
        op_id = bt.record_operation(
            con,
            "update",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"kind": "update", "building_ids": [building_id], "changed": sorted(attributes)},
        )
        if not bt.amend_history(con, building_id, when, None, hist, op_id, rec):
            raise Conflict(
                f"building {building_id} has no version valid at or after {when.isoformat()}",
                building_id=building_id,
            )
        set_columns(con, building_id, cols, rec)


def correct(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_from: bt.TimeLike,
    valid_to: bt.TimeLike | None,
    attributes: Mapping[str, Any],
    *,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    """Correct what the register says about ``[valid_from, valid_to)`` (``None``: onwards).

    The versions the register held for that period are superseded (their ``recorded_to`` set
    to the record time) and replaced by corrected ones recorded from then: ``as_of`` with an
    earlier ``recorded_at`` still answers what the register said before the correction.
    Works on retired buildings too (their past can be corrected); status is not correctable.
    """
    validate_building_id(building_id)
    load_building(con, building_id)
    hist, cols = attribute_changes(attributes, AMENDABLE)
    start = bt.valid_time(valid_from, what="valid_from")
    end = None if valid_to is None else bt.valid_time(valid_to, what="valid_to")
    if end is not None and end <= start:
        raise InvalidInput(
            f"valid_to {end.isoformat()} must be after valid_from {start.isoformat()}"
        )
    with store.transaction(con, changes=("address_registry",)):
        rec = bt.next_record_time(con, [building_id], recorded_at)
        op_id = bt.record_operation(
            con,
            "update",
            start,
            rec,
            actor=actor,
            note=note,
            detail={
                "kind": "correction",
                "building_ids": [building_id],
                "valid_from": start.isoformat(),
                "valid_to": None if end is None else end.isoformat(),
                "changed": sorted(attributes),
            },
        )
        if not bt.amend_history(con, building_id, start, end, hist, op_id, rec):
            raise Conflict(
                f"building {building_id} had no version between {start.isoformat()} and "
                f"{'now' if end is None else end.isoformat()}: nothing to correct",
                building_id=building_id,
            )
        if end is None:  # the open-ended version changed: the current row follows it
            set_columns(con, building_id, cols, rec)


def reparent(
    con: duckdb.DuckDBPyConnection,
    community_code_from: str,
    community_code_to: str,
    *,
    geometry: Any = None,
    building_ids: Sequence[str] | None = None,
    valid_at: bt.TimeLike | None = None,
    recorded_at: bt.TimeLike | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> list[str]:
    """Move buildings to another community after a boundary change; IDs do not change.

    Give either the ``building_ids`` (each must lie in ``community_code_from`` now) or the
    ``geometry`` of the area that changed hands (the live buildings of ``community_code_from``
    whose representative point lies in it). The birth community in the ID never changes; the
    history records the new ``community_code`` from ``valid_at``. Doorplates follow.

    Returns
    -------
    list[str]
        The IDs moved, sorted.
    """
    check_community(community_code_from, "community_code_from")
    check_community(community_code_to, "community_code_to")
    if community_code_from == community_code_to:
        raise InvalidInput(f"reparent from and to the same community {community_code_to!r}")
    if (geometry is None) == (building_ids is None):
        raise InvalidInput("reparent takes either geometry or building_ids, not both or neither")
    known = con.execute(
        "SELECT count(*) FROM admin_areas WHERE code = ? AND level = 'community'",
        [community_code_to],
    ).fetchone()
    if not known or not known[0]:
        raise InvalidInput(f"community {community_code_to!r} is not in the register (admin_areas)")
    if building_ids is not None:
        ids = sorted(set(building_ids))
        for b in ids:
            row = load_building(con, b)
            require_live(row, "reparent")
            if row["community_code"] != community_code_from:
                raise Conflict(
                    f"building {b} lies in community {row['community_code']}, not "
                    f"{community_code_from}",
                    building_id=b,
                )
    else:
        area = as_polygon(geometry, "geometry")
        found = con.execute(
            """
            SELECT list(building_id ORDER BY building_id) FROM buildings
            WHERE community_code = ? AND status IN ('active', 'proposed')
              AND ST_Contains(ST_GeomFromWKB(?),
                              coalesce(ST_Point(lon, lat), ST_PointOnSurface(geom)))
            """,
            [community_code_from, shapely.to_wkb(area)],
        ).fetchone()
        ids = list(found[0]) if found and found[0] else []
    if not ids:
        raise InvalidInput(
            f"no live building of community {community_code_from} to move to {community_code_to}"
        )
    when = bt.valid_time(valid_at)
    with store.transaction(con, changes=("address_registry",)):
        for b in ids:
            bt.require_current_from(con, b, when, "reparent")
        rec = bt.next_record_time(con, ids, recorded_at)
        op_id = bt.record_operation(
            con,
            "reparent",
            when,
            rec,
            actor=actor,
            note=note,
            detail={"building_ids": ids, "from": community_code_from, "to": community_code_to},
        )
        con.execute(
            "UPDATE buildings SET community_code = ?, updated_at = ? "
            "WHERE list_contains(?, building_id)",
            [community_code_to, rec, ids],
        )
        con.execute(
            "UPDATE doorplates SET community_code = ? WHERE list_contains(?, building_id)",
            [community_code_to, ids],
        )
        for b in ids:
            bt.amend_history(con, b, when, None, {"community_code": community_code_to}, op_id, rec)
    return ids
