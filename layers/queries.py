"""Reads of the layer tables for the other packages: the one place they learn about layers.

``layers`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``, the
command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb

from common.errors import InvalidInput

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


# -- read by fusion (links, block data, SLA, density, coverage) ---------------------------------

#: Per layer: the SQL expressions of what linking reads (room ID, address, lon, lat).
_LINK_COLUMNS: Final = {
    "people": ("room_id", "address", "NULL::DOUBLE", "NULL::DOUBLE"),
    "houses": ("room_id", "NULL::VARCHAR", "NULL::DOUBLE", "NULL::DOUBLE"),
    "legal_persons": ("NULL::VARCHAR", "coalesce(op_address, reg_address)", "lon", "lat"),
    "events": ("NULL::VARCHAR", "address", "lon", "lat"),
    "sensors": ("NULL::VARCHAR", "address", "lon", "lat"),
}

#: Per layer: the columns of :func:`records_sql` (never a keyed hash such as ``id_hmac``).
RECORD_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "people": ("source_id", "hukou_type", "care_tags", "moved_in", "moved_out"),
    "legal_persons": ("source_id", "industry", "status", "lon", "lat"),
    "houses": ("source_id", "use", "rental_registered"),
    "events": (
        "source_id",
        "category_kind",
        "category_code",
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
    """Relation: the columns :data:`RECORD_COLUMNS` lists for ``layer``, one row per record.

    ``people``: ``source_id, hukou_type, care_tags, moved_in, moved_out``;
    ``legal_persons``: ``source_id, industry, status, lon, lat``;
    ``houses``: ``source_id, use, rental_registered``;
    ``events``: ``source_id, category_kind, category_code, state, department, reported_at,
    sla_deadline, lon, lat``;
    ``sensors``: ``source_id, sensor_type, status, lon, lat, camera_range_m,
    camera_heading_deg, camera_fov_deg``.

    Used by :mod:`fusion.blocks`, :mod:`fusion.sla`, :mod:`fusion.density` and
    :mod:`fusion.coverage`.
    """
    _check_layer(layer)
    return f"SELECT {', '.join(RECORD_COLUMNS[layer])} FROM {layer}"


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
