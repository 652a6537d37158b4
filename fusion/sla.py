"""SLA of the closed loop (上报 → 立案 → 派遣 → 处置 → 核查 → 结案).

:func:`overdue` counts open events past their deadline per grid and department;
:func:`state_durations` gives the mean time events spent in each state, from
``event_transitions`` (a stay ends at the event's next transition; the current, unfinished stay
of an open event is not counted).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from layers import queries as records

#: The states of the loop, in order.
STATES: tuple[str, ...] = ("reported", "registered", "dispatched", "handled", "verified", "closed")


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC).replace(tzinfo=None)


def overdue(
    con: duckdb.DuckDBPyConnection, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Open events past their SLA deadline, per grid and department.

    Parameters
    ----------
    now
        The instant to judge at (naive UTC; default: now).

    Returns
    -------
    list of dict
        ``{"grid_code", "department", "open", "overdue", "max_overdue_hours"}`` sorted by
        ``overdue`` descending; ``grid_code`` is None for events not linked to a grid and
        ``department`` None for events not yet dispatched to one.
    """
    rows = con.execute(
        f"""
        SELECT l.grid_code, e.department, count(*) AS open,
               count(*) FILTER (WHERE e.sla_deadline < $now) AS overdue,
               max(date_diff('minute', e.sla_deadline, $now::TIMESTAMP))
                   FILTER (WHERE e.sla_deadline < $now) / 60.0 AS max_overdue_hours
        FROM ({records.records_sql("events")}) e
        LEFT JOIN links l ON l.layer = 'events' AND l.source_id = e.source_id
        WHERE e.state <> 'closed'
        GROUP BY ALL
        ORDER BY overdue DESC, grid_code NULLS LAST, department NULLS LAST
        """,
        {"now": _now(now)},
    ).fetchall()
    return [
        {
            "grid_code": g,
            "department": d,
            "open": int(o),
            "overdue": int(n),
            "max_overdue_hours": None if h is None else round(float(h), 2),
        }
        for g, d, o, n, h in rows
    ]


def state_durations(
    con: duckdb.DuckDBPyConnection, *, grid_code: str | None = None
) -> dict[str, dict[str, float | int]]:
    """Mean / median hours spent in each state before the next transition.

    Parameters
    ----------
    grid_code
        Only events linked to this grid (default: all events).

    Returns
    -------
    dict
        ``{state: {"n", "mean_hours", "median_hours"}}`` for the states with finished stays, in
        loop order (``closed`` is final and never appears).
    """
    where = ""
    params: list[Any] = []
    if grid_code is not None:
        where = (
            "WHERE t.event_id IN (SELECT source_id FROM links "
            "WHERE layer = 'events' AND grid_code = ?)"
        )
        params.append(grid_code)
    rows = con.execute(
        f"""
        WITH stays AS (
            SELECT t.to_state AS state, t.occurred_at AS entered,
                   lead(t.occurred_at) OVER (
                       PARTITION BY t.event_id ORDER BY t.occurred_at, t.transition_id) AS left_at
            FROM ({records.event_transitions_sql()}) t {where}
        )
        SELECT state, count(*),
               avg(date_diff('second', entered, left_at)) / 3600.0,
               median(date_diff('second', entered, left_at)) / 3600.0
        FROM stays WHERE left_at IS NOT NULL GROUP BY state
        """,
        params,
    ).fetchall()
    found = {s: (int(n), float(m), float(md)) for s, n, m, md in rows}
    order = {s: i for i, s in enumerate(STATES)}
    return {
        s: {"n": n, "mean_hours": round(m, 3), "median_hours": round(md, 3)}
        for s, (n, m, md) in sorted(found.items(), key=lambda kv: order.get(kv[0], 99))
    }
