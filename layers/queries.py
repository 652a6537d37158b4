"""Reads of the layer tables for the other packages: the one place they learn about layers.

``layers`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``, the
command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb

from common.errors import InvalidInput
from layers.schemas import KINDS

#: The tables ``layers`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {
        "people",
        "legal_persons",
        "houses",
        "events",
        "event_transitions",
        "event_categories",
        "sensors",
        "sensor_readings",
        "layer_batches",
        "layer_quarantine",
        "layer_locks",
    }
)


# --- read by the command line and the pipeline's summary ---------------------------------------


def event_categories(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The event categories (部件/事件 classes), parts first, by code.

    Each: ``kind``, ``code``, ``major``, ``minor``, ``sla_hours``. Used by
    ``yizhi layers categories``.
    """
    rows = con.execute(
        "SELECT kind, code, major_name, minor_name, sla_hours FROM event_categories "
        "ORDER BY kind DESC, code"
    ).fetchall()
    keys = ("kind", "code", "major", "minor", "sla_hours")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records per layer, for the demo's closing summary (:mod:`yizhi.pipeline`).

    Keys: every kind of :data:`layers.schemas.KINDS` (``people`` ... ``readings``), then
    ``quarantined`` (the rows of every ingest that failed their checks).
    """
    tables = [kind.table for kind in KINDS.values()]
    selects = ", ".join(f"(SELECT count(*) FROM {t})" for t in (*tables, "layer_quarantine"))
    row = con.execute(f"SELECT {selects}").fetchone()
    values = (int(v) for v in row or (0,) * (len(tables) + 1))
    return dict(zip((*KINDS, "quarantined"), values, strict=True))


# -- the records of a layer (fusion: links, block data, SLA, density, coverage; api: pages, tiles)
#
# Relation functions (``*_sql``) return one SELECT with the columns their docstring lists; a
# consumer embeds it (``FROM ({records_sql("events")}) e``).

_POINT = "COALESCE(geom, ST_Point(lon, lat)) AS point"

#: Per layer: the SQL expressions of what linking reads (room ID, address, lon, lat).
_LINK_COLUMNS: Final = {
    "people": ("room_id", "address", "NULL::DOUBLE", "NULL::DOUBLE"),
    "houses": ("room_id", "NULL::VARCHAR", "NULL::DOUBLE", "NULL::DOUBLE"),
    "legal_persons": ("NULL::VARCHAR", "coalesce(op_address, reg_address)", "lon", "lat"),
    "events": ("NULL::VARCHAR", "address", "lon", "lat"),
    "sensors": ("NULL::VARCHAR", "address", "lon", "lat"),
}

#: Per layer: the columns of :func:`records_sql`. No keyed hash (``id_hmac``) and no person's
#: own fields: a person's masked data is read through :func:`people_sql` only.
RECORD_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "people": ("source_id", "hukou_type", "care_tags", "moved_in", "moved_out"),
    "legal_persons": (
        "source_id",
        "uscc",
        "name",
        "industry",
        "status",
        "established",
        "reg_address",
        "op_address",
        "lon",
        "lat",
    ),
    "houses": (
        "source_id",
        "room_id",
        "use",
        "occupants",
        "rental_registered",
        "rental_reg_no",
        "rental_reg_date",
    ),
    "events": (
        "source_id",
        "category_kind",
        "category_code",
        "source",
        "state",
        "department",
        "reported_at",
        "sla_deadline",
        "lon",
        "lat",
    ),
    "sensors": (
        "source_id",
        "sensor_type",
        "status",
        "lon",
        "lat",
        "camera_range_m",
        "camera_heading_deg",
        "camera_fov_deg",
    ),
}
#: The layers whose records have a location: :func:`records_sql` adds their ``point``.
_POINT_LAYERS: Final = frozenset({"legal_persons", "events", "sensors"})


def _check_layer(layer: str) -> None:
    if layer not in _LINK_COLUMNS:
        raise InvalidInput(f"unknown layer {layer!r}; expected one of {sorted(_LINK_COLUMNS)}")


def link_records_sql(layer: str) -> str:
    """Relation: ``source_id, row_hash, room_id, address, lon, lat`` of a layer's records.

    What a record can be linked by: its room ID (people, houses), its address as written (a
    legal person's operating address, else its registered one) and its WGS84 point; a column a
    layer does not have is NULL. ``row_hash`` changes whenever the record does. Used by
    :mod:`fusion.link`.
    """
    _check_layer(layer)
    room, address, lon, lat = _LINK_COLUMNS[layer]
    return (
        f"SELECT source_id, row_hash, {room} AS room_id, {address} AS address, "
        f"{lon} AS lon, {lat} AS lat FROM {layer}"
    )


def records_sql(layer: str) -> str:
    """Relation: the columns :data:`RECORD_COLUMNS` lists for ``layer``, one row per record,
    and for a layer with locations (legal persons, events, sensors) ``point``: the record's
    geometry, else the point of its ``lon``/``lat`` (NULL when it has neither).

    ``people``: ``source_id, hukou_type, care_tags, moved_in, moved_out`` (a person's masked
    fields: :func:`people_sql`);
    ``legal_persons``: ``source_id, uscc, name, industry, status, established, reg_address,
    op_address, lon, lat, point``;
    ``houses``: ``source_id, room_id, use, occupants, rental_registered, rental_reg_no,
    rental_reg_date``;
    ``events``: ``source_id, category_kind, category_code, source, state, department,
    reported_at, sla_deadline, lon, lat, point``;
    ``sensors``: ``source_id, sensor_type, status, lon, lat, camera_range_m,
    camera_heading_deg, camera_fov_deg, point``.

    Used by :mod:`fusion` (blocks, SLA, density, coverage) and :mod:`api` (building pages, tile
    layers, feature collections).
    """
    _check_layer(layer)
    point = f", {_POINT}" if layer in _POINT_LAYERS else ""
    return f"SELECT {', '.join(RECORD_COLUMNS[layer])}{point} FROM {layer}"


def record_count(con: duckdb.DuckDBPyConnection, layer: str) -> int:
    """The number of records of a layer. Used by :func:`fusion.queries.link_summary`."""
    _check_layer(layer)
    row = con.execute(f"SELECT count(*) FROM {layer}").fetchone()
    return int(row[0]) if row else 0


def event_transitions_sql() -> str:
    """Relation: ``transition_id, event_id, to_state, occurred_at`` of every event transition.

    Used by :func:`fusion.sla.state_durations`.
    """
    return "SELECT transition_id, event_id, to_state, occurred_at FROM event_transitions"


def people_sql() -> str:
    """People records, pseudonymised as ingested.

    Columns: ``source_id``, ``id_hmac`` (the keyed hash of the ID number: for matching only,
    never to be served), ``id_masked``, ``name_masked``, ``phone_masked``, ``sex``,
    ``birth_year``, ``hukou_type``, ``care_tags``, ``address`` (as registered), ``room_id`` (as
    given; may be empty), ``moved_in``, ``moved_out``. Used by the api's person-level reads.
    """
    return (
        "SELECT source_id, id_hmac, id_masked, name_masked, phone_masked, sex, birth_year, "
        "hukou_type, care_tags, address, room_id, moved_in, moved_out FROM people"
    )
