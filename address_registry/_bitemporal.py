"""Bitemporal bookkeeping of ``building_history``: times, transactions, versions.

Two time axes (see ``docs/lifecycle.md``):

- **valid time** (``valid_from`` / ``valid_to``, ``TIMESTAMP`` without zone): when a version was
  true in the world, half-open ``[valid_from, valid_to)``; ``valid_to`` NULL = still true;
- **record time** (``recorded_from`` / ``recorded_to``, ``TIMESTAMPTZ``, handled as UTC): when the
  register said so, half-open; ``recorded_to`` NULL = the register still says so.

A history row is never updated in place except to set its ``recorded_to`` when newer knowledge
supersedes it; every change, forward or a correction of the past, inserts new rows recorded from
the operation's record time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import shapely
from shapely.geometry.base import BaseGeometry

from common.errors import Conflict, InvalidInput

UTC = dt.UTC

#: History columns copied from ``buildings`` (besides the key and the four times).
HISTORY_COLUMNS = (
    "status",
    "community_code",
    "name",
    "use",
    "households",
    "doorplate_id",
    "address",
    "geom",
)

TimeLike = dt.date | dt.datetime | str


def valid_time(value: TimeLike | None, *, what: str = "valid_at") -> dt.datetime:
    """Normalise a valid time to a naive ``datetime`` (aware values are converted to UTC).

    >>> valid_time("2025-03-01")
    datetime.datetime(2025, 3, 1, 0, 0)
    """
    if value is None:
        return dt.datetime.now(UTC).replace(tzinfo=None)
    parsed = _parse(value, what)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def record_time(value: TimeLike | None, *, what: str = "recorded_at") -> dt.datetime:
    """Normalise a record time to an aware UTC ``datetime`` (naive values are taken as UTC).

    >>> record_time("2025-03-01T08:00:00+08:00")
    datetime.datetime(2025, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if value is None:
        return dt.datetime.now(UTC)
    parsed = _parse(value, what)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse(value: TimeLike, what: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be an ISO date or date-time, got {value!r}")


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Attach UTC to a naive UTC ``datetime`` read from SQL (``timezone('UTC', ...)``)."""
    return None if value is None else value.replace(tzinfo=UTC)


def next_record_time(
    con: duckdb.DuckDBPyConnection, building_ids: Sequence[str], requested: TimeLike | None
) -> dt.datetime:
    """The record time of a new operation on ``building_ids``.

    Record time only moves forward for a building: an explicit ``requested`` time must be later
    than everything already recorded about these buildings; the default (now) is nudged one
    microsecond past the last record if the clock has not moved.

    Raises
    ------
    Conflict
        When ``requested`` is not later than the buildings' last recorded change.
    """
    last = latest_record(con, building_ids)
    if requested is None:
        now = dt.datetime.now(UTC)
        if last is not None and now <= last:
            now = last + dt.timedelta(microseconds=1)
        return now
    at = record_time(requested)
    if last is not None and at <= last:
        raise Conflict(
            f"recorded_at {at.isoformat()} is not later than the last recorded change "
            f"({last.isoformat()}) of {sorted(building_ids)}: record time only moves forward",
            building_ids=sorted(building_ids),
        )
    return at


def latest_record(
    con: duckdb.DuckDBPyConnection, building_ids: Sequence[str]
) -> dt.datetime | None:
    """The latest ``recorded_from`` / ``recorded_to`` of any history row of ``building_ids``."""
    if not building_ids:
        return None
    row = con.execute(
        """
        SELECT timezone('UTC', max(greatest(recorded_from, coalesce(recorded_to, recorded_from))))
        FROM building_history WHERE list_contains(?, building_id)
        """,
        [list(building_ids)],
    ).fetchone()
    return as_utc(row[0]) if row else None


def record_operation(
    con: duckdb.DuckDBPyConnection,
    op: str,
    valid_at: dt.datetime,
    recorded_at: dt.datetime,
    *,
    actor: str | None,
    note: str | None,
    detail: Mapping[str, Any],
) -> int:
    """Insert a ``registry_operations`` row and return its ``op_id``."""
    row = con.execute(
        """
        INSERT INTO registry_operations (op, valid_at, recorded_at, actor, note, detail)
        VALUES (?, ?, ?, ?, ?, ?) RETURNING op_id
        """,
        [op, valid_at, recorded_at, actor, note, json.dumps(detail, ensure_ascii=False)],
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_lineage(
    con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]], op_id: int
) -> None:
    """Insert ``building_lineage`` rows (predecessor, successor) made by ``op_id``."""
    if pairs:
        con.executemany(
            "INSERT INTO building_lineage (predecessor_id, successor_id, op_id) VALUES (?, ?, ?)",
            [[p, s, op_id] for p, s in pairs],
        )


def open_version(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_from: dt.datetime,
    recorded_at: dt.datetime,
    op_id: int,
) -> None:
    """Start the history of a new building: its current ``buildings`` row, valid from now on."""
    cols = ", ".join(HISTORY_COLUMNS)
    con.execute(
        f"""
        INSERT INTO building_history
            (building_id, valid_from, valid_to, recorded_from, recorded_to, op_id, {cols})
        SELECT building_id, ?, NULL, ?, NULL, ?, {cols} FROM buildings WHERE building_id = ?
        """,
        [valid_from, recorded_at, op_id, building_id],
    )


def latest_version_start(con: duckdb.DuckDBPyConnection, building_id: str) -> dt.datetime | None:
    """``valid_from`` of the open-ended version the register currently holds, if any."""
    row = con.execute(
        """
        SELECT max(valid_from) FROM building_history
        WHERE building_id = ? AND recorded_to IS NULL AND valid_to IS NULL
        """,
        [building_id],
    ).fetchone()
    return row[0] if row else None


def require_current_from(
    con: duckdb.DuckDBPyConnection, building_id: str, valid_at: dt.datetime, op: str
) -> None:
    """Check that ``valid_at`` does not precede the building's current version.

    Operations that change status or identity apply in valid-time order; a change that happened
    before the latest known version is a correction (:func:`address_registry.lifecycle.correct`).
    """
    start = latest_version_start(con, building_id)
    if start is None:
        raise Conflict(
            f"building {building_id} has no current history version; the register build must "
            "record one (an initial 'create' operation) before lifecycle operations",
            building_id=building_id,
        )
    if valid_at < start:
        raise Conflict(
            f"{op} of {building_id} at {valid_at.isoformat()} precedes its current version "
            f"(valid from {start.isoformat()}): operations apply in valid-time order",
            building_id=building_id,
        )


def amend_history(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_from: dt.datetime,
    valid_to: dt.datetime | None,
    changes: Mapping[str, Any],
    op_id: int,
    recorded_at: dt.datetime,
) -> int:
    """Record that over ``[valid_from, valid_to)`` the building had ``changes``.

    Every version the register currently holds that overlaps the interval is superseded
    (``recorded_to = recorded_at``) and replaced, recorded from ``recorded_at``, by up to three
    rows: the part before the interval and the part after it unchanged, the overlap with
    ``changes`` applied. Nothing else is touched.

    Returns
    -------
    int
        The number of versions superseded (``0``: the building did not exist in the interval).
    """
    unknown = set(changes) - set(HISTORY_COLUMNS)
    if unknown:
        raise InvalidInput(f"history has no columns {sorted(unknown)}")
    overlap = (
        "building_id = $bid AND recorded_to IS NULL AND recorded_from < $rec::TIMESTAMPTZ "
        "AND valid_from < coalesce($vt::TIMESTAMP, 'infinity'::TIMESTAMP) "
        "AND coalesce(valid_to, 'infinity'::TIMESTAMP) > $vf::TIMESTAMP"
    )
    params: dict[str, Any] = {
        "bid": building_id,
        "vf": valid_from,
        "vt": valid_to,
        "rec": recorded_at,
    }
    count_row = con.execute(
        f"SELECT count(*) FROM building_history WHERE {overlap}", params
    ).fetchone()
    count = int(count_row[0]) if count_row else 0
    if count == 0:
        return 0
    cols = ", ".join(HISTORY_COLUMNS)
    head = (
        "INSERT INTO building_history (building_id, valid_from, valid_to, recorded_from, "
        f"recorded_to, op_id, {cols}) "
    )
    # the part before the interval, unchanged
    con.execute(
        head
        + f"SELECT building_id, valid_from, $vf::TIMESTAMP, $rec::TIMESTAMPTZ, NULL, op_id, {cols} "
        f"FROM building_history WHERE {overlap} AND valid_from < $vf",
        params,
    )
    # the part after the interval, unchanged
    con.execute(
        head + f"SELECT building_id, $vt::TIMESTAMP, valid_to, $rec::TIMESTAMPTZ, NULL, op_id, "
        f"{cols} FROM building_history WHERE {overlap} AND $vt::TIMESTAMP IS NOT NULL "
        "AND coalesce(valid_to, 'infinity'::TIMESTAMP) > $vt::TIMESTAMP",
        params,
    )
    # the overlap, with the changes
    select = []
    changed: dict[str, Any] = {**params, "op": op_id}
    for col in HISTORY_COLUMNS:
        if col in changes:
            key = f"c_{col}"
            value = changes[col]
            if col == "geom":
                select.append(f"ST_GeomFromWKB(${key})")
                changed[key] = shapely.to_wkb(value) if isinstance(value, BaseGeometry) else value
            else:
                select.append(f"${key}")
                changed[key] = value
        else:
            select.append(col)
    con.execute(
        head + "SELECT building_id, greatest(valid_from, $vf::TIMESTAMP), "
        "CASE WHEN $vt::TIMESTAMP IS NULL THEN valid_to WHEN valid_to IS NULL THEN $vt::TIMESTAMP "
        "ELSE least(valid_to, $vt::TIMESTAMP) END, "
        f"$rec::TIMESTAMPTZ, NULL, $op, {', '.join(select)} FROM building_history WHERE {overlap}",
        changed,
    )
    con.execute(
        f"UPDATE building_history SET recorded_to = $rec::TIMESTAMPTZ WHERE {overlap}", params
    )
    return count
