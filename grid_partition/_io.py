"""Write grid versions and planner edits to the store (private; the reads are in
:mod:`grid_partition.queries`).

A version is a full snapshot: the communities it did not touch are copied from its parent in
one ``INSERT ... SELECT`` per table; the rows it made are written from Arrow tables registered
with DuckDB. Geometries go in as WKB (WGS84).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

import store
from grid_partition._snapshot import Snapshot
from grid_partition.caps import Caps
from grid_partition.queries import COLUMNS, GEOMETRY, version_row


def version_communities(con: duckdb.DuckDBPyConnection, version: int) -> list[str]:
    """Communities present in a version."""
    rows = con.execute(
        "SELECT DISTINCT community_code FROM grids WHERE version_id = ? ORDER BY 1", [version]
    ).fetchall()
    return [str(r[0]) for r in rows]


def _arrow(frame: pd.DataFrame, cols: tuple[str, ...], geom: bool) -> pa.Table:
    data = {c: frame[c].to_numpy() for c in cols}
    table = pa.table(
        {
            c: pa.array(list(v) if v.dtype == object else v, from_pandas=True)
            for c, v in data.items()
        }
    )
    if geom:
        table = table.append_column("wkb", pa.array([bytes(w) for w in frame["wkb"]], pa.binary()))
    return table


def write_version(
    con: duckdb.DuckDBPyConnection,
    snapshots: list[Snapshot],
    *,
    kind: str,
    parent: int | None,
    caps: Caps,
    params: dict[str, Any] | None = None,
    note: str | None = None,
    actor: str | None = None,
    carry: bool | list[str] = True,
) -> int:
    """Write a new active version: ``snapshots`` plus the parent's other communities.

    The previous active version becomes superseded; all in one transaction. ``carry``: copy
    the parent's communities that ``snapshots`` do not cover (a list: only those; False: the
    version holds only ``snapshots``, the parent is just the version churn is measured
    against). The quality report holds each community's report and, with a parent, the churn
    against it (:func:`churn`).
    """
    made = sorted({s.community for s in snapshots})
    if parent is None or carry is False:
        kept: list[str] = []
    elif carry is True:
        kept = [c for c in version_communities(con, parent) if c not in set(made)]
    else:
        kept = sorted(set(carry) - set(made))
    with store.transaction(con, changes=("grid_partition",), what=f"grid version ({kind})"):
        row = con.execute("SELECT nextval('grid_version_seq')").fetchone()
        assert row is not None
        vid = int(row[0])
        for table, cols in COLUMNS.items():
            frames = [getattr(s, _attr(table)) for s in snapshots]
            frames = [f for f in frames if len(f)]
            if frames:
                arrow = _arrow(pd.concat(frames, ignore_index=True), cols, table in GEOMETRY)
                con.register("_gp_new", arrow)
                geom_sel = ", ST_GeomFromWKB(wkb)" if table in GEOMETRY else ""
                geom_col = ", geom" if table in GEOMETRY else ""
                con.execute(
                    f"INSERT INTO {table} (version_id, {', '.join(cols)}{geom_col}) "
                    f"SELECT {vid}, {', '.join(cols)}{geom_sel} FROM _gp_new"
                )
                con.unregister("_gp_new")
            if kept:
                geom_col = ", geom" if table in GEOMETRY else ""
                con.execute(
                    f"INSERT INTO {table} (version_id, {', '.join(cols)}{geom_col}) "
                    f"SELECT {vid}, {', '.join(cols)}{geom_col} FROM {table} "
                    "WHERE version_id = ? AND list_contains(?::VARCHAR[], community_code)",
                    [parent, kept],
                )
        per: dict[str, Any] = {}
        if kept:
            assert parent is not None
            old = version_row(con, parent)["quality"].get("communities", {})
            per.update({k: v for k, v in old.items() if k in set(kept)})
        per.update({s.community: s.report for s in snapshots})
        quality: dict[str, Any] = {"communities": dict(sorted(per.items()))}
        if parent is not None:
            quality["churn"] = churn(con, parent, vid)
        con.execute(
            "INSERT INTO grid_versions (version_id, parent_version, status, kind, params, quality, "
            "note, actor) VALUES (?, ?, 'active', ?, ?, ?, ?, ?)",
            [
                vid,
                parent,
                kind,
                json.dumps({**caps.as_dict(), **caps.options(), **(params or {})}),
                json.dumps(quality, default=_json_default),
                note,
                actor,
            ],
        )
        con.execute(
            "UPDATE grid_versions SET status = 'superseded' "
            "WHERE status = 'active' AND version_id <> ?",
            [vid],
        )
    return vid


def _attr(table: str) -> str:
    return {
        "grids": "grids",
        "micro_grids": "micro",
        "grid_assignments": "assignments",
        "unit_grids": "unit_grids",
    }[table]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return str(value)


def record_edit(
    con: duckdb.DuckDBPyConnection,
    *,
    base: int,
    result: int | None,
    op: str,
    detail: dict[str, Any],
    error: str | None = None,
    actor: str | None = None,
) -> int:
    """Append a ``grid_edits`` row (outcome applied when ``result`` is set, else refused)."""
    row = con.execute("SELECT coalesce(max(edit_id), 0) + 1 FROM grid_edits").fetchone()
    assert row is not None
    eid = int(row[0])
    con.execute(
        "INSERT INTO grid_edits (edit_id, base_version, result_version, op, detail, outcome, "
        "error, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            eid,
            base,
            result,
            op,
            json.dumps(detail, default=_json_default),
            "applied" if result is not None else "refused",
            error,
            actor,
        ],
    )
    store.mark_changed(con, "grid_partition", what=f"grid edit {op}")
    return eid


def churn(con: duckdb.DuckDBPyConnection, parent: int, version: int) -> dict[str, Any]:
    """Moved households between ``version`` and its ``parent``, over the rows in both (the
    ``churn`` of a version's quality report)."""
    r = con.execute(
        """
        SELECT coalesce(sum(o.households), 0),
               coalesce(sum(o.households) FILTER (WHERE o.micro_grid_code <> n.micro_grid_code), 0),
               coalesce(sum(o.households) FILTER (WHERE o.grid_code <> n.grid_code), 0),
               count(*) FILTER (WHERE o.micro_grid_code <> n.micro_grid_code)
        FROM grid_assignments o JOIN grid_assignments n USING (building_id, unit)
        WHERE o.version_id = ? AND n.version_id = ?
        """,
        [parent, version],
    ).fetchone()
    assert r is not None
    total = int(r[0])
    return {
        "parent": parent,
        "households_compared": total,
        "moved_households_micro": int(r[1]),
        "moved_households_grid": int(r[2]),
        "moved_rows": int(r[3]),
        "micro": int(r[1]) / total if total else 0.0,
        "grid": int(r[2]) / total if total else 0.0,
    }
