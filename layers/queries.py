"""Reads of the layer tables for the other packages: the one place they learn about layers.

``layers`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``, the
command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb

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


# -- reads of the api (person-level data, tile layers) -----------------------------------------
#
# Relation functions (``*_sql``) return one SELECT with the columns their docstring lists; a
# consumer embeds it (``FROM ({people_sql()}) p``). ``point`` is a record's location: its
# geometry, or else the point of its ``lon``/``lat`` (NULL when it has neither).

_POINT = "COALESCE(geom, ST_Point(lon, lat)) AS point"


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


def legal_persons_sql() -> str:
    """Legal persons (enterprises: public records).

    Columns: ``source_id``, ``uscc``, ``name``, ``industry``, ``status``, ``established``,
    ``reg_address``, ``op_address``, ``lon``, ``lat``. Used by the api's building pages.
    """
    return (
        "SELECT source_id, uscc, name, industry, status, established, reg_address, op_address, "
        "lon, lat FROM legal_persons"
    )


def houses_sql() -> str:
    """Houses: a room's use, occupants and rental registration.

    Columns: ``source_id``, ``room_id``, ``use``, ``occupants``, ``rental_registered``,
    ``rental_reg_no``, ``rental_reg_date``. Used by the api's building pages.
    """
    return (
        "SELECT source_id, room_id, use, occupants, rental_registered, rental_reg_no, "
        "rental_reg_date FROM houses"
    )


def events_sql() -> str:
    """Events (事件) and component reports (部件).

    Columns: ``source_id``, ``category_kind``, ``category_code``, ``state``, ``source``,
    ``reported_at`` (TIMESTAMP), ``point`` (see above). Used by the api's tile layers and
    feature collections.
    """
    return (
        "SELECT source_id, category_kind, category_code, state, source, reported_at, "
        f"{_POINT} FROM events"
    )


def sensors_sql() -> str:
    """IoT sensors (物联感知设备).

    Columns: ``source_id``, ``sensor_type``, ``status``, ``camera_range_m``,
    ``camera_fov_deg``, ``camera_heading_deg`` (0 = north, clockwise; cameras only), ``point``
    (see above). Used by the api's tile layers and feature collections.
    """
    return (
        "SELECT source_id, sensor_type, status, camera_range_m, camera_fov_deg, "
        f"camera_heading_deg, {_POINT} FROM sensors"
    )
