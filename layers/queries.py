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
