"""Compare two yizhi stores table by table: rows in one and not the other (``EXCEPT ALL``).

``yizhi db diff BEFORE AFTER`` shows that a change (of the code, an upgrade, a rebuild) left the
data as it was, ids included. Columns that record *when* a run happened (timestamps, batch ids,
the path the sample was read from) differ between any two runs and are left out unless
``keep_times``; geometries are compared normalised (a ring may start at any vertex) and doubles
to 1e-9 relative (sums taken in another order differ in the last bits). Caches and bookkeeping
(the migrations ledger, the data-change log, the pipeline's fingerprints, the engines' lattices)
are not the city's data and are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from common.errors import NotFound
from store._connect import connect

#: Columns made from the wall clock of a run in every table (besides TIMESTAMP-typed ones).
RUN_COLUMNS_ANYWHERE = {"batch_id"}
#: ... and in one table.
RUN_COLUMNS = {
    "registry_builds": {"build_id", "report", "source"},
    "registry_operations": {"note", "detail"},
    "building_history": {"op_id"},
    "layer_batches": {"file"},
    "layer_quarantine": {"source_file"},
    "pipeline_stages": {"summary"},
    "grid_versions": {"quality", "params"},
    "data_changes": {"what"},
}
#: Tables of caches and bookkeeping that are not the city's data.
SKIP = {"schema_migrations", "data_changes", "pipeline_stages", "fusion_lattice"}


def _columns(
    con: duckdb.DuckDBPyConnection, catalog: str, table: str, keep_times: bool
) -> dict[str, str]:
    """Column -> the expression compared: geometries normalised (a ring may start anywhere)
    and doubles rounded to 1e-9 relative (sums in another order differ in the last bits)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_name = ? AND table_schema = 'main' "
        "ORDER BY ordinal_position",
        [catalog, table],
    ).fetchall()
    drop = set() if keep_times else RUN_COLUMNS.get(table, set()) | RUN_COLUMNS_ANYWHERE
    out = {}
    for name, kind in rows:
        kind = kind.upper()
        if name in drop or (not keep_times and kind.startswith("TIMESTAMP")):
            continue
        if kind == "GEOMETRY":
            out[name] = f'ST_AsText(ST_ReducePrecision(ST_Normalize("{name}"), 1e-9)) AS "{name}"'
        elif kind in ("DOUBLE", "FLOAT"):
            out[name] = (
                f'CASE WHEN "{name}" = 0 OR NOT isfinite("{name}") THEN "{name}" ELSE '
                f'round("{name}", 9 - ceil(log10(abs("{name}")))::INTEGER) END AS "{name}"'
            )
        else:
            out[name] = f'"{name}"'
    return out


def _tables(con: duckdb.DuckDBPyConnection, alias: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT temporary",
        [alias],
    ).fetchall()
    return {r[0] for r in rows}


def _quoted(path: str | os.PathLike[str]) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def compare(
    before: str | os.PathLike[str],
    after: str | os.PathLike[str],
    *,
    tables: list[str] | None = None,
    keep_times: bool = False,
) -> dict[str, Any]:
    """Compare the stores ``before`` and ``after`` table by table.

    Returns
    -------
    dict
        ``{"equal": bool, "tables": {table: {"rows", "only_before", "only_after", "columns",
        "columns_only_before", "columns_only_after"}}}``; a table in one store only is
        ``{"only_in": "before" | "after"}``.

    Raises
    ------
    NotFound
        When a store file does not exist.
    """
    for path in (before, after):
        if not Path(path).is_file():
            raise NotFound(f"no store at {path}")
    con = connect(":memory:")
    try:
        return _compare(con, before, after, tables, keep_times)
    finally:
        con.close()


def _compare(
    con: duckdb.DuckDBPyConnection,
    before: str | os.PathLike[str],
    after: str | os.PathLike[str],
    tables: list[str] | None,
    keep_times: bool,
) -> dict[str, Any]:
    con.execute(f"ATTACH {_quoted(before)} AS a (READ_ONLY)")
    con.execute(f"ATTACH {_quoted(after)} AS b (READ_ONLY)")
    in_a, in_b = _tables(con, "a"), _tables(con, "b")
    if tables is None:
        names = sorted(t for t in (in_a | in_b) - SKIP if not t.startswith("fusion_"))
    else:
        unknown = sorted(set(tables) - in_a - in_b)
        if unknown:
            raise NotFound(f"no table {unknown} in either store")
        names = list(tables)
    out: dict[str, Any] = {"tables": {}, "equal": True}
    for table in names:
        if table not in in_a or table not in in_b:
            out["tables"][table] = {"only_in": "before" if table in in_a else "after"}
            out["equal"] = False
            continue
        cols_a = _columns(con, "a", table, keep_times)
        cols_b = _columns(con, "b", table, keep_times)
        cols = [c for c in cols_a if c in cols_b]
        # a table of run bookkeeping only (every column left out) compares by its row count
        sel = ", ".join(cols_a[c] for c in cols) or "1 AS row"
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM a.{table} EXCEPT ALL SELECT {sel} FROM b.{table})"
        ).fetchone()
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM b.{table} EXCEPT ALL SELECT {sel} FROM a.{table})"
        ).fetchone()
        rows = con.execute(f"SELECT count(*) FROM b.{table}").fetchone()
        entry = {
            "rows": int(rows[0]) if rows else 0,
            "only_before": int(only_a[0]) if only_a else 0,
            "only_after": int(only_b[0]) if only_b else 0,
            "columns": cols,
            "columns_only_before": [c for c in cols_a if c not in cols_b],
            "columns_only_after": [c for c in cols_b if c not in cols_a],
        }
        out["tables"][table] = entry
        if entry["only_before"] or entry["only_after"]:
            out["equal"] = False
    return out
