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
