"""The demo's closing summary: every count from its owner's queries module, as the store holds it."""

from __future__ import annotations

from pathlib import Path

import duckdb

import store
from yizhi.pipeline import store_summary

KEYS = [
    "communities", "roads", "doorplates", "buildings", "rooms", "households",
    "quarantined (registry)", "grids", "micro-grids", "unit grids", "quarantined (layers)",
    "people", "legal persons", "houses", "events", "sensors",
]  # fmt: skip


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def test_summary_of_the_sample_city(sample_store: Path) -> None:
    con = store.connect(sample_store, read_only=True)
    try:
        summary = store_summary(con)
        active = "version_id = (SELECT max(version_id) FROM grid_versions WHERE status = 'active')"
        expected = {
            "communities": "admin_areas WHERE level = 'community' AND geom IS NOT NULL",
            "buildings": "buildings WHERE status = 'active'",
            "rooms": "rooms WHERE status = 'active'",
            "quarantined (registry)": "registry_quarantine",
            "grids": f"grids WHERE {active}",
            "micro-grids": f"micro_grids WHERE {active}",
            "unit grids": f"unit_grids WHERE {active}",
            "quarantined (layers)": "layer_quarantine",
        }
        for key, where in expected.items():
            assert summary[key] == _count(con, f"SELECT count(*) FROM {where}"), key
        households = "SELECT sum(households) FROM buildings WHERE status = 'active'"
        assert summary["households"] == _count(con, households) > 0
        for layer in ("people", "legal_persons", "houses", "events", "sensors"):
            total = _count(con, f"SELECT count(*) FROM {layer}")
            linked = _count(con, f"SELECT count(*) FROM links WHERE layer = '{layer}'")
            unlinked = _count(con, f"SELECT count(*) FROM unlinked WHERE layer = '{layer}'")
            shown = f"{total:,} ({linked:,} linked, {unlinked:,} unlinked)"
            assert summary[layer.replace("_", " ")] == shown
            assert total > 0 and linked + unlinked == total
    finally:
        con.close()
    assert list(summary) == KEYS


def test_summary_of_an_empty_store() -> None:
    summary = store_summary(store.connect(":memory:"))
    assert list(summary) == KEYS
    assert summary["grids"] == summary["households"] == 0  # no active grid version: none
    assert summary["people"] == "0 (0 linked, 0 unlinked)"
