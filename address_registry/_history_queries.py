"""Read side of the bitemporal history: ``as_of``, ``history``, ``buildings_as_of``, lineage.

Re-exported by :mod:`address_registry.lifecycle`. Intervals are half-open on both axes: a
version answers for valid time ``T`` when ``valid_from <= T < valid_to`` and for record time
``R`` when ``recorded_from <= R < recorded_to`` (NULL ends are open).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import duckdb
import shapely
from shapely.geometry import mapping

from address_registry import _bitemporal as bt
from address_registry.ids import validate_building_id
from common.errors import NotFound

if TYPE_CHECKING:
    import geopandas

_VERSION_COLUMNS = """
    building_id, valid_from, valid_to,
    timezone('UTC', recorded_from) AS recorded_from, timezone('UTC', recorded_to) AS recorded_to,
    op_id, status, community_code, name, use, households, doorplate_id, address,
    ST_AsWKB(geom) AS geom
"""

#: One copy of the "register at a date" filter; ``$valid_at`` TIMESTAMP, ``$recorded_at``
#: TIMESTAMPTZ. Used by :func:`buildings_as_of` and the export of a past register.
AS_OF_FILTER = """
    valid_from <= $valid_at::TIMESTAMP
    AND (valid_to IS NULL OR $valid_at::TIMESTAMP < valid_to)
    AND recorded_from <= $recorded_at::TIMESTAMPTZ
    AND (recorded_to IS NULL OR $recorded_at::TIMESTAMPTZ < recorded_to)
"""


def _iso(value: dt.datetime | None, *, utc: bool = False) -> str | None:
    if value is None:
        return None
    return (bt.as_utc(value) if utc else value).isoformat()  # type: ignore[union-attr]


def _version(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    rec = dict(zip(names, row, strict=True))
    geom = rec.pop("geom")
    rec["valid_from"] = _iso(rec["valid_from"])
    rec["valid_to"] = _iso(rec["valid_to"])
    rec["recorded_from"] = _iso(rec["recorded_from"], utc=True)
    rec["recorded_to"] = _iso(rec["recorded_to"], utc=True)
    rec["geometry"] = mapping(shapely.from_wkb(bytes(geom))) if geom is not None else None
    return rec


def require_building(con: duckdb.DuckDBPyConnection, building_id: str) -> None:
    """Raise ``InvalidInput`` for a malformed ID and ``NotFound`` for one never issued."""
    validate_building_id(building_id)
    row = con.execute("SELECT 1 FROM buildings WHERE building_id = ?", [building_id]).fetchone()
    if row is None:
        raise NotFound(f"no building {building_id} in the register", building_id=building_id)


def lineage(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    direction: str,
    valid_at: dt.datetime | None = None,
    recorded_at: dt.datetime | None = None,
) -> list[str]:
    """Direct successors (``direction='successors'``) or predecessors, optionally as of a time."""
    mine, other = (
        ("predecessor_id", "successor_id")
        if direction == "successors"
        else ("successor_id", "predecessor_id")
    )
    rows = con.execute(
        f"""
        SELECT l.{other} FROM building_lineage l JOIN registry_operations o USING (op_id)
        WHERE l.{mine} = $id
          AND ($valid_at::TIMESTAMP IS NULL OR o.valid_at <= $valid_at::TIMESTAMP)
          AND ($recorded_at::TIMESTAMPTZ IS NULL OR o.recorded_at <= $recorded_at::TIMESTAMPTZ)
        ORDER BY 1
        """,
        {"id": building_id, "valid_at": valid_at, "recorded_at": recorded_at},
    ).fetchall()
    return [r[0] for r in rows]


def current_successors(con: duckdb.DuckDBPyConnection, building_id: str) -> list[str]:
    """The live (active or proposed) buildings descending from ``building_id``, transitively.

    A split into ``a, b`` followed by a merge of ``b`` with ``c`` into ``d`` answers ``a, d``;
    a demolished line ends with nothing.
    """
    rows = con.execute(
        """
        WITH RECURSIVE walk(id) AS (
            SELECT successor_id FROM building_lineage WHERE predecessor_id = ?
            UNION
            SELECT l.successor_id FROM building_lineage l JOIN walk w ON l.predecessor_id = w.id
        )
        SELECT b.building_id FROM walk JOIN buildings b ON b.building_id = walk.id
        WHERE b.status IN ('active', 'proposed') ORDER BY 1
        """,
        [building_id],
    ).fetchall()
    return [r[0] for r in rows]


def as_of(
    con: duckdb.DuckDBPyConnection,
    building_id: str,
    valid_at: bt.TimeLike | None = None,
    recorded_at: bt.TimeLike | None = None,
) -> dict[str, Any] | None:
    """What the register said at ``recorded_at`` about the building at ``valid_at``.

    Parameters
    ----------
    con
        A store connection.
    building_id
        A building ID (retired ones included).
    valid_at
        The time in the world asked about (default now).
    recorded_at
        The time of the register's knowledge (default now: what it says today).

    Returns
    -------
    dict or None
        The version (status, community, name, use, households, doorplate, address, GeoJSON
        geometry, both intervals, ``op_id``) with the ``successors`` and ``predecessors`` known
        then; ``None`` when the register held no version of it for that time (e.g. before the
        building existed, or before the register learnt of it).

    Raises
    ------
    InvalidInput
        A malformed ID.
    NotFound
        An ID the register never issued.
    """
    require_building(con, building_id)
    when = bt.valid_time(valid_at)
    rec = bt.record_time(recorded_at)
    cur = con.execute(
        f"SELECT {_VERSION_COLUMNS} FROM building_history WHERE building_id = $id AND "
        + AS_OF_FILTER,
        {"id": building_id, "valid_at": when, "recorded_at": rec},
    )
    row = cur.fetchone()
    if row is None:
        return None
    version = _version([d[0] for d in cur.description], row)
    version["successors"] = lineage(con, building_id, "successors", when, rec)
    version["predecessors"] = lineage(con, building_id, "predecessors", when, rec)
    version["as_of"] = {"valid_at": when.isoformat(), "recorded_at": rec.isoformat()}
    return version


def operations_of(con: duckdb.DuckDBPyConnection, building_id: str) -> list[dict[str, Any]]:
    """Every operation that touched the building (history versions and lineage), in order."""
    cur = con.execute(
        """
        SELECT op_id, op, valid_at, timezone('UTC', recorded_at) AS recorded_at, actor, note,
               detail
        FROM registry_operations
        WHERE op_id IN (
            SELECT op_id FROM building_history WHERE building_id = $id
            UNION SELECT op_id FROM building_lineage
                  WHERE predecessor_id = $id OR successor_id = $id
        )
        ORDER BY recorded_at, op_id
        """,
        {"id": building_id},
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        rec["valid_at"] = _iso(rec["valid_at"])
        rec["recorded_at"] = _iso(rec["recorded_at"], utc=True)
        rec["detail"] = json.loads(rec["detail"]) if rec["detail"] else None
        out.append(rec)
    return out


def history(con: duckdb.DuckDBPyConnection, building_id: str) -> dict[str, Any]:
    """Every version the register ever held of a building and every operation on it.

    Returns
    -------
    dict
        ``building_id``, ``versions`` (all rows, superseded ones included, ordered by record
        time then valid time), ``operations``, ``predecessors``, ``successors`` (direct) and
        ``current_successors`` (transitively, the live ones).
    """
    require_building(con, building_id)
    cur = con.execute(
        f"SELECT {_VERSION_COLUMNS} FROM building_history WHERE building_id = ? "
        "ORDER BY recorded_from, valid_from",
        [building_id],
    )
    names = [d[0] for d in cur.description]
    return {
        "building_id": building_id,
        "versions": [_version(names, row) for row in cur.fetchall()],
        "operations": operations_of(con, building_id),
        "predecessors": lineage(con, building_id, "predecessors"),
        "successors": lineage(con, building_id, "successors"),
        "current_successors": current_successors(con, building_id),
    }


def buildings_as_of_relation(
    con: duckdb.DuckDBPyConnection,
    valid_at: bt.TimeLike | None = None,
    recorded_at: bt.TimeLike | None = None,
    *,
    include_retired: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The SQL (and parameters) of the register at a date: one row per building version."""
    sql = (
        "SELECT building_id, status, community_code, name, use, households, doorplate_id, "
        "address, valid_from, valid_to, op_id, geom FROM building_history WHERE " + AS_OF_FILTER
    )
    if not include_retired:
        sql += " AND status <> 'retired'"
    params = {"valid_at": bt.valid_time(valid_at), "recorded_at": bt.record_time(recorded_at)}
    return sql, params


def buildings_as_of(
    con: duckdb.DuckDBPyConnection,
    valid_at: bt.TimeLike | None = None,
    recorded_at: bt.TimeLike | None = None,
    *,
    include_retired: bool = False,
) -> geopandas.GeoDataFrame:
    """The whole register as it was at ``valid_at``, as recorded at ``recorded_at``.

    One scan of ``building_history`` with the as-of filter (no per-building work), so it stays
    a single DuckDB query at city scale.

    Returns
    -------
    geopandas.GeoDataFrame
        ``building_id``, ``status``, ``community_code``, ``name``, ``use``, ``households``,
        ``doorplate_id``, ``address``, ``valid_from``, ``valid_to``, ``op_id`` and geometry
        (EPSG:4326), sorted by ID; retired buildings only with ``include_retired``.
    """
    import geopandas

    sql, params = buildings_as_of_relation(
        con, valid_at, recorded_at, include_retired=include_retired
    )
    inner = sql.replace("geom FROM", "ST_AsWKB(geom) AS geom FROM", 1)
    frame = con.execute(f"SELECT * FROM ({inner}) ORDER BY building_id", params).df()
    geometry = shapely.from_wkb([bytes(g) for g in frame.pop("geom")])
    return geopandas.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
