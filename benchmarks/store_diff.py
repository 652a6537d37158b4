"""Compare two yizhi stores table by table: rows in one and not the other (``EXCEPT ALL``).

Used to show that a change of the code leaves the data as it was (issue 16: the demo's store
before and after, ids included). Columns that record *when* a run happened (timestamps, and the
ids made from them) differ between any two runs and are left out; pass ``--keep-times`` to
compare them too.

    python -m benchmarks.store_diff before.duckdb after.duckdb [--json] [--table links ...]

Exit status 0 when every table compared equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import duckdb

import store

#: Columns made from the wall clock of a run in every table (besides TIMESTAMP-typed ones).
RUN_COLUMNS_ANYWHERE = {"batch_id"}
#: ... and in one table.
RUN_COLUMNS = {
    "registry_builds": {"build_id", "report"},
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


def compare(
    before: str, after: str, *, tables: list[str] | None = None, keep_times: bool = False
) -> dict[str, Any]:
    """Per table: rows only in ``before``, only in ``after``, and the columns compared."""
    con = store.connect(":memory:")
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    in_a, in_b = _tables(con, "a"), _tables(con, "b")
    names = sorted((in_a | in_b) - SKIP) if tables is None else tables
    names = [n for n in names if not n.startswith("fusion_")]
    out: dict[str, Any] = {"tables": {}, "equal": True}
    for table in names:
        if table not in in_a or table not in in_b:
            out["tables"][table] = {"only_in": "before" if table in in_a else "after"}
            out["equal"] = False
            continue
        cols_a = _columns(con, "a", table, keep_times)
        cols_b = _columns(con, "b", table, keep_times)
        cols = [c for c in cols_a if c in cols_b]
        sel = ", ".join(cols_a[c] for c in cols)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--table", action="append", dest="tables")
    parser.add_argument("--keep-times", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = compare(args.before, args.after, tables=args.tables, keep_times=args.keep_times)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for table, entry in result["tables"].items():
            if "only_in" in entry:
                print(f"{table:24} only in {entry['only_in']}")
                continue
            mark = "=" if not (entry["only_before"] or entry["only_after"]) else "≠"
            extra = ""
            if entry["columns_only_before"] or entry["columns_only_after"]:
                extra = (
                    f"  columns only before {entry['columns_only_before']}, "
                    f"only after {entry['columns_only_after']}"
                )
            print(
                f"{mark} {table:24} {entry['rows']:>9,} rows  −{entry['only_before']:,} "
                f"+{entry['only_after']:,}{extra}"
            )
        print("equal" if result["equal"] else "DIFFERENT")
    return 0 if result["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
