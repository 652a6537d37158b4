"""The closed loop of events: the valid path, refused skips and backward moves, history."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import duckdb
import pytest

from common.errors import Conflict, InvalidInput, NotFound
from layers.events import STATES, can_transition, next_states, transition
from layers.ingest import ingest

from ._helpers import SECRET

T0 = dt.datetime(2026, 11, 1, 8, 0)


@pytest.fixture
def event(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> str:
    path = tmp_path / "e.csv"
    path.write_text(
        "source_id,category,source,address,reported_at\nE1,0401,hotline_12345,外滩路1号,"
        f"{T0:%Y-%m-%d %H:%M:%S}\n",
        encoding="utf-8",
    )
    assert ingest(con, "events", path, secret=SECRET).loaded == 1
    return "E1"


def test_the_loop_is_a_chain() -> None:
    for a, b in itertools.pairwise(STATES):
        assert can_transition(a, b)
    assert not can_transition("reported", "dispatched")  # a skip
    assert not can_transition("handled", "dispatched")  # backwards
    assert next_states("closed") == ()
    with pytest.raises(InvalidInput):
        next_states("lost")


def test_valid_path_records_times_and_history(con: duckdb.DuckDBPyConnection, event: str) -> None:
    for i, state in enumerate(STATES[1:], start=1):
        previous = transition(
            con, event, state, at=T0 + dt.timedelta(minutes=10 * i), department="城管"
        )
        assert previous == STATES[i - 1]
    row = con.execute(
        "SELECT state, closed_at, department FROM events WHERE source_id = ?", [event]
    ).fetchone()
    assert row == ("closed", T0 + dt.timedelta(minutes=50), "城管")
    history = con.execute(
        "SELECT from_state, to_state FROM event_transitions WHERE event_id = ? ORDER BY transition_id",
        [event],
    ).fetchall()
    assert history == [(None, "reported"), *itertools.pairwise(STATES)]


def test_skips_backwards_and_time_travel_are_refused(
    con: duckdb.DuckDBPyConnection, event: str
) -> None:
    with pytest.raises(Conflict, match="cannot go to 'handled'"):
        transition(con, event, "handled", at=T0)
    transition(con, event, "registered", at=T0 + dt.timedelta(minutes=5))
    with pytest.raises(Conflict, match="cannot go to 'reported'"):
        transition(con, event, "reported", at=T0 + dt.timedelta(minutes=6))
    with pytest.raises(Conflict, match="before"):
        transition(con, event, "dispatched", at=T0)
    with pytest.raises(NotFound):
        transition(con, "nope", "registered")
    with pytest.raises(InvalidInput):
        transition(con, event, "teleported")
    count = con.execute(
        "SELECT count(*) FROM event_transitions WHERE event_id = ?", [event]
    ).fetchone()
    assert count == (2,)  # the report and the registration only


def test_failed_verification_goes_back_to_dispatch(
    con: duckdb.DuckDBPyConnection, event: str
) -> None:
    for i, state in enumerate(["registered", "dispatched", "handled", "verified"], start=1):
        transition(con, event, state, at=T0 + dt.timedelta(minutes=i))
    transition(con, event, "dispatched", at=T0 + dt.timedelta(minutes=9), note="not fixed")
    row = con.execute("SELECT state, handled_at, verified_at FROM events").fetchone()
    assert row == ("dispatched", None, None)
