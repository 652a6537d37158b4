"""``yizhi db``: the store itself (migrations, status)."""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, emit

app = typer.Typer(help="The DuckDB store: create, migrate, inspect.", no_args_is_help=True)

DbOption = typer.Option(
    None, "--db", help="Database file (default: $YIZHI_DB or var/yizhi.duckdb)."
)


@app.command("migrate")
def migrate_cmd(db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """Create the store or bring it to the newest schema."""
    import store

    con = store.connect(db, migrate=False)
    applied = store.migrate(con)
    version = max(store.applied_versions(con), default=0)
    con.close()
    emit({"applied": applied, "version": version}, as_json=as_json, title="migrations")


@app.command("status")
def status_cmd(db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """Show the schema version and the row count of every table."""
    import store

    con = store.connect(db, read_only=True)
    counts = store.table_counts(con)
    version = max(store.applied_versions(con), default=0)
    con.close()
    emit({"version": version, "tables": counts}, as_json=as_json, title="store")


@app.command("diff")
def diff_cmd(
    before: Path = typer.Argument(..., help="The store before (a DuckDB file)."),
    after: Path = typer.Argument(..., help="The store after."),
    table: list[str] = typer.Option(None, "--table", help="Compare only these tables."),
    keep_times: bool = typer.Option(
        False, "--keep-times", help="Also compare timestamps, batch ids and source paths."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Compare two stores table by table (rows only in one, EXCEPT ALL); exit 1 when they
    differ."""
    import store

    result = store.compare_stores(before, after, tables=table or None, keep_times=keep_times)
    if as_json:
        emit(result, as_json=True)
    else:
        for name, entry in result["tables"].items():
            if "only_in" in entry:
                typer.echo(f"≠ {name:24} only in the store {entry['only_in']}")
                continue
            mark = "≠" if entry["only_before"] or entry["only_after"] else "="
            extra = ""
            if entry["columns_only_before"] or entry["columns_only_after"]:
                extra = (
                    f"  columns only before {entry['columns_only_before']}, "
                    f"only after {entry['columns_only_after']}"
                )
            typer.echo(
                f"{mark} {name:24} {entry['rows']:>10,} rows  −{entry['only_before']:,} "
                f"+{entry['only_after']:,}{extra}"
            )
        typer.echo("equal" if result["equal"] else "different")
    if not result["equal"]:
        raise typer.Exit(1)
