"""The closed loop of an event: report → register → dispatch → handle → verify → close.

Each state records its time in ``events.<state>_at``; every change is a row of
``event_transitions``. Only the next state of the loop may follow (no skips, no going back),
with two exceptions of practice: verification may *fail* and send the event back to
``dispatched`` (re-dispatch), and a report may be closed right after registration when it is not
a case (``registered`` → ``closed``, e.g. a duplicate report).

>>> can_transition("reported", "registered"), can_transition("reported", "handled")
(True, False)
>>> next_states("verified")
('closed', 'dispatched')
"""

from __future__ import annotations

import datetime as dt

import duckdb

import store
from common.errors import Conflict, InvalidInput, NotFound

STATES = ("reported", "registered", "dispatched", "handled", "verified", "closed")

#: state -> the states that may follow it.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("registered",),
    "registered": ("dispatched", "closed"),
    "dispatched": ("handled",),
    "handled": ("verified",),
    "verified": ("closed", "dispatched"),
    "closed": (),
}


def next_states(state: str) -> tuple[str, ...]:
    """The states allowed after ``state``."""
    if state not in TRANSITIONS:
        raise InvalidInput(f"unknown event state {state!r}; states: {list(STATES)}")
    return TRANSITIONS[state]


def can_transition(current: str, target: str) -> bool:
    """Whether ``current`` → ``target`` is a step of the loop."""
    return target in next_states(current)


def transition(
    con: duckdb.DuckDBPyConnection,
    event_id: str,
    target: str,
    *,
    at: dt.datetime | None = None,
    department: str | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> str:
    """Move event ``event_id`` to ``target``, record the history and return the previous state.

    Raises
    ------
    NotFound
        No event with that source ID.
    Conflict
        ``target`` does not follow the current state, or ``at`` is before the current state's time.
    """
    if target not in STATES:
        raise InvalidInput(f"unknown event state {target!r}; states: {list(STATES)}")
    at = at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    cols = ", ".join(f"{s}_at" for s in STATES)
    row = con.execute(
        f"SELECT state, {cols} FROM events WHERE source_id = ?", [event_id]
    ).fetchone()
    if row is None:
        raise NotFound(f"no event with source ID {event_id!r}")
    current = str(row[0])
    if not can_transition(current, target):
        raise Conflict(
            f"event {event_id!r} is {current!r}: it cannot go to {target!r} "
            f"(allowed: {list(TRANSITIONS[current]) or 'none, it is closed'})"
        )
    since = row[1 + STATES.index(current)]
    if since is not None and at < since:
        raise Conflict(f"event {event_id!r}: {target!r} at {at} is before {current!r} at {since}")
    sets = [f"{target}_at = ?"]
    params: list[object] = [at]
    if target == "dispatched" and current == "verified":  # failed verification: re-dispatch
        sets += ["handled_at = NULL", "verified_at = NULL"]
    if department is not None:
        sets.append("department = ?")
        params.append(department)
    with store.transaction(con, changes=("layers",), what="event transition"):
        con.execute(
            f"UPDATE events SET state = ?, {', '.join(sets)} WHERE source_id = ?",
            [target, *params, event_id],
        )
        con.execute(
            "INSERT INTO event_transitions (event_id, from_state, to_state, occurred_at, "
            "department, actor, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [event_id, current, target, at, department, actor, note],
        )
    return current


def history_from_times_sql(ready: str, status: str) -> str:
    """SQL inserting the transitions implied by the state times of newly ingested events.

    ``ready`` is the checked-rows table (``o_<column>`` values), ``status`` says which are new.
    """
    parts = []
    for i, state in enumerate(STATES):
        prev = f"'{STATES[i - 1]}'" if i else "NULL"
        parts.append(
            f"SELECT r.source_id, {prev} AS from_state, '{state}' AS to_state, "
            f"r.o_{state}_at AS occurred_at, r.o_department AS department FROM {ready} r "
            f"SEMI JOIN {status} s ON s.source_id = r.source_id AND s.status = 'inserted' "
            f"WHERE len(r.reasons) = 0 AND r.o_{state}_at IS NOT NULL"
        )
    return (
        "INSERT INTO event_transitions (event_id, from_state, to_state, occurred_at, department, "
        "actor, note) SELECT source_id, from_state, to_state, occurred_at, department, NULL, "
        f"'ingested' FROM ({' UNION ALL '.join(parts)}) ORDER BY source_id, occurred_at"
    )
