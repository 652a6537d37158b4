"""Shared pieces of the lifecycle operations: loading, checks, ID allocation, row copies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import shapely

from address_registry import _bitemporal as bt
from address_registry._allocate import allocate_building_ids
from address_registry._lifecycle_geom import as_polygon, footprint_fields
from address_registry.ids import validate_building_id
from common.errors import Conflict, InvalidInput, NotFound

USES = ("residential", "commercial", "office", "public", "mixed", "industrial", "other")
LIVE = ("active", "proposed")
#: Attributes ``update`` and ``correct`` may change (the columns the history keeps).
AMENDABLE = ("name", "use", "households", "doorplate_id", "address", "geometry")
#: Attributes ``create`` accepts.
CREATABLE = (
    "name",
    "use",
    "use_source",
    "floors",
    "height_m",
    "estate_id",
    "building_no",
    "doorplate_id",
    "address",
    "units",
    "households",
    "source",
    "source_id",
)


def load_building(con: duckdb.DuckDBPyConnection, building_id: str) -> dict[str, Any]:
    """The ``buildings`` row of ``building_id`` as a dict (``geom`` as shapely)."""
    validate_building_id(building_id)
    cur = con.execute(
        "SELECT * EXCLUDE (geom, created_at, updated_at), ST_AsWKB(geom) AS geom "
        "FROM buildings WHERE building_id = ?",
        [building_id],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no building {building_id} in the register", building_id=building_id)
    names = [d[0] for d in cur.description]
    record = dict(zip(names, row, strict=True))
    record["geom"] = shapely.from_wkb(bytes(record["geom"]))
    return record


def require_live(row: Mapping[str, Any], op: str) -> None:
    if row["status"] not in LIVE:
        raise Conflict(
            f"cannot {op} building {row['building_id']}: it is retired "
            f"(by {row['retired_by']}); operate on its successors",
            building_id=row["building_id"],
        )


def check_community(code: str, what: str) -> None:
    if not (isinstance(code, str) and len(code) == 12 and code.isdigit()):
        raise InvalidInput(f"{what} must be a 12-digit community code, got {code!r}")


def allocate_ids(
    con: duckdb.DuckDBPyConnection, communities: Sequence[str], year: int
) -> list[str]:
    """One fresh ID per entry of ``communities`` (birth community of each), in order.

    The allocator never hands a serial out twice; as a second guard, a serial that is somehow
    already used in its birth community (e.g. a counter reset by hand) is refused, whatever the
    birth year.
    """
    out: list[str | None] = [None] * len(communities)
    for code in sorted(set(communities)):
        slots = [i for i, c in enumerate(communities) if c == code]
        for i, new in zip(slots, allocate_building_ids(con, code, year, len(slots)), strict=True):
            out[i] = new
    ids = [i for i in out if i is not None]
    keys = [i[:12] + i[16:24] for i in ids]  # birth community + serial
    row = con.execute(
        "SELECT list(building_id ORDER BY building_id) FROM buildings "
        "WHERE list_contains(?, substr(building_id, 1, 12) || substr(building_id, 17, 8))",
        [keys],
    ).fetchone()
    taken = row[0] if row and row[0] else []
    if taken:
        raise Conflict(
            f"the ID allocator handed out serials already used by {taken} in the same birth "
            "community: a serial is never issued twice (check the id_serials counters)",
            building_ids=taken,
        )
    return ids


def building_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'buildings' "
        "ORDER BY ordinal_position"
    ).fetchall()
    return [r[0] for r in rows]


def insert_like(
    con: duckdb.DuckDBPyConnection, template_id: str, values: Mapping[str, Any]
) -> None:
    """Insert a building copying ``template_id``'s row, with ``values`` overriding columns."""
    select, params = [], []
    for col in building_columns(con):
        if col in values:
            select.append("ST_GeomFromWKB(?)" if col == "geom" else "?")
            params.append(values[col])
        else:
            select.append(col)
    con.execute(
        f"INSERT INTO buildings SELECT {', '.join(select)} FROM buildings WHERE building_id = ?",
        [*params, template_id],
    )


def retire(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    how: str,
    valid_at: dt.datetime,
    op_id: int,
    recorded_at: dt.datetime,
) -> None:
    con.execute(
        "UPDATE buildings SET status = 'retired', retired_by = ?, updated_at = ? "
        "WHERE building_id = ?",
        [how, recorded_at, building_id],
    )
    bt.amend_history(con, building_id, valid_at, None, {"status": "retired"}, op_id, recorded_at)


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` into integers summing to ``total``."""
    whole = sum(weights) or 1.0
    raw = [total * w / whole for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def doorplates_of(con: duckdb.DuckDBPyConnection, building_id: str) -> list[tuple[str, Any]]:
    rows = con.execute(
        "SELECT doorplate_id, ST_AsWKB(geom) FROM doorplates "
        "WHERE building_id = ? AND status = 'active' ORDER BY doorplate_id",
        [building_id],
    ).fetchall()
    return [(r[0], shapely.from_wkb(bytes(r[1])) if r[1] is not None else None) for r in rows]


def repoint_doorplates(
    con: duckdb.DuckDBPyConnection, moves: Iterable[tuple[str, str]], community: Mapping[str, str]
) -> None:
    for doorplate_id, new_building in moves:
        con.execute(
            "UPDATE doorplates SET building_id = ?, community_code = ? WHERE doorplate_id = ?",
            [new_building, community[new_building], doorplate_id],
        )


def attribute_changes(
    attributes: Mapping[str, Any], allowed: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split user attributes into history changes and ``buildings`` column updates."""
    unknown = sorted(set(attributes) - set(allowed))
    if unknown:
        raise InvalidInput(f"cannot set {unknown}; allowed attributes are {list(allowed)}")
    if not attributes:
        raise InvalidInput("no attributes to change")
    hist: dict[str, Any] = {}
    cols: dict[str, Any] = {}
    for key, value in attributes.items():
        if key == "geometry":
            geom = as_polygon(value, "geometry")
            hist["geom"] = shapely.to_wkb(geom)
            cols.update(footprint_fields(geom))
        elif key == "use":
            if value not in USES:
                raise InvalidInput(f"use must be one of {list(USES)}, got {value!r}")
            hist["use"] = cols["use"] = value
        elif key == "households":
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInput(f"households must be a count >= 0, got {value!r}")
            hist["households"] = cols["households"] = value
            cols["households_estimated"] = False
        else:
            hist[key] = cols[key] = value
    return hist, cols


def set_columns(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    cols: Mapping[str, Any],
    recorded_at: dt.datetime,
) -> None:
    sets = [f"{c} = ST_GeomFromWKB(?)" if c == "geom" else f"{c} = ?" for c in cols]
    con.execute(
        f"UPDATE buildings SET {', '.join(sets)}, updated_at = ? WHERE building_id = ?",
        [*cols.values(), recorded_at, building_id],
    )


def same_or(values: Iterable[Any], default: Any) -> Any:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else default


def set_detail_rooms(
    con: duckdb.DuckDBPyConnection, op_id: int, mapping: Mapping[str, str]
) -> None:
    """Write the room mapping into the operation's detail (same transaction)."""
    con.execute(
        "UPDATE registry_operations SET detail = json_merge_patch(detail, ?::JSON) WHERE op_id = ?",
        [json.dumps({"rooms": dict(mapping)}), op_id],
    )
