"""Reads of the layer tables for the other packages: the one place they learn about layers.

``layers`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``, the
command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

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
