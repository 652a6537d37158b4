"""SLA: overdue counts per grid and department at a fixed instant; mean time per state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fusion.link import link
from fusion.sla import overdue, state_durations
from tests.fusion import _fusion_store as fs


@pytest.fixture
def linked(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    fs.add_event(
        con,
        "e5",
        (100, 100),
        department="房管",
        sla_hours=2,
        reported=dt.datetime(2026, 6, 1, 9, 0),
    )  # deadline 11:00, 1 h overdue at NOW
    link(con)
    yield con
    con.close()


def test_overdue_by_grid_and_department(linked: duckdb.DuckDBPyConnection) -> None:
    rows = {(r["grid_code"], r["department"]): r for r in overdue(linked, now=fs.NOW)}
    # e1 (grid 1, 城管, deadline 05-31 08:00) overdue; e3 (grid 1, 城管) open, not yet due;
    # e2 closed; e4 unlinked (no grid), overdue; e5 (grid 1, 房管) 1 h overdue.
    assert rows[(fs.GRID1, "城管")] | {} == {
        "grid_code": fs.GRID1,
        "department": "城管",
        "open": 2,
        "overdue": 1,
        "max_overdue_hours": 28.0,
    }
    assert rows[(fs.GRID1, "房管")]["overdue"] == 1
    assert rows[(fs.GRID1, "房管")]["max_overdue_hours"] == 1.0
    assert rows[(None, "城管")]["overdue"] == 1
    assert sum(r["open"] for r in rows.values()) == 4
    earlier = overdue(linked, now=dt.datetime(2026, 5, 30, 9, 0))
    assert sum(r["overdue"] for r in earlier) == 0


def test_state_durations(linked: duckdb.DuckDBPyConnection) -> None:
    t0 = dt.datetime(2026, 5, 1, 8, 0)
    steps = [
        (None, "reported", 0),
        ("reported", "registered", 2),
        ("registered", "dispatched", 3),
        ("dispatched", "handled", 7),
    ]
    for event, scale in (("e1", 1), ("e3", 3)):
        for a, b, h in steps:
            linked.execute(
                "INSERT INTO event_transitions (event_id, from_state, to_state, occurred_at) "
                "VALUES (?, ?, ?, ?)",
                [event, a, b, t0 + dt.timedelta(hours=h * scale)],
            )
    got = state_durations(linked)
    assert list(got) == ["reported", "registered", "dispatched"]  # handled: still in it
    assert got["reported"] == {"n": 2, "mean_hours": 4.0, "median_hours": 4.0}  # 2 h and 6 h
    assert got["dispatched"]["mean_hours"] == 8.0  # 4 h and 12 h
    only = state_durations(linked, grid_code=fs.GRID2)
    assert only == {}
