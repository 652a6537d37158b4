"""``yizhi registry export | show | history``: the lifecycle commands of the register group.

:func:`register` adds them to the ``registry`` Typer app (``yizhi/cli/registry.py`` calls it).
"""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, emit, output_path

DbOption = typer.Option(
    None, "--db", help="Database file (default: $YIZHI_DB or var/yizhi.duckdb)."
)


def register(app: typer.Typer) -> None:
    """Add the ``export``, ``show`` and ``history`` commands to ``app``."""

    @app.command("export")
    def export_cmd(
        path: Path = typer.Argument(
            ..., help="Output file (replaced if it exists).", callback=output_path
        ),
        layer: str = typer.Option(
            "buildings",
            "--layer",
            help="buildings | rooms | doorplates | communities | streets | districts | roads "
            "| estates",
        ),
        format: str = typer.Option("gpkg", "--format", help="gpkg | geojson | parquet"),
        include_retired: bool = typer.Option(
            False, "--include-retired", help="Keep retired buildings, rooms and doorplates."
        ),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Buildings only: the register at this date (ISO)."
        ),
        db: Path | None = DbOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Export one layer of the register to GeoPackage, GeoJSON or GeoParquet (EPSG:4326)."""
        import store
        from address_registry.export import export_layer

        con = store.connect(db, read_only=True)
        try:
            info = export_layer(
                con, layer, format, path, include_retired=include_retired, as_of=as_of
            )
        finally:
            con.close()
        emit(
            {k: v for k, v in info.items() if k != "columns"} if not as_json else info,
            as_json=as_json,
            title="export",
        )

    @app.command("show")
    def show_cmd(
        identifier: str = typer.Argument(..., help="A building ID (25) or room ID (34)."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Building only: the version valid at this date (ISO)."
        ),
        recorded_at: str | None = typer.Option(
            None, "--recorded-at", help="With --as-of: as the register said at this date."
        ),
        db: Path | None = DbOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Show a building or room; a retired ID answers with its successors."""
        import store
        from address_registry.lifecycle import as_of as version_as_of
        from address_registry.lookup import show
        from common.errors import NotFound

        con = store.connect(db, read_only=True)
        try:
            if as_of is not None or recorded_at is not None:
                record = version_as_of(con, identifier, as_of, recorded_at)
                if record is None:
                    raise NotFound(
                        f"the register held no version of {identifier} valid at "
                        f"{as_of or 'now'} as recorded at {recorded_at or 'now'}",
                        building_id=identifier,
                    )
            else:
                record = show(con, identifier)
        finally:
            con.close()
        if as_json:
            emit(record, as_json=True)
            return
        emit(_summary(record), as_json=False, title=identifier)

    @app.command("history")
    def history_cmd(
        building_id: str = typer.Argument(..., help="A building ID."),
        db: Path | None = DbOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Every version and operation of a building (both time axes)."""
        import store
        from address_registry.lifecycle import history

        con = store.connect(db, read_only=True)
        try:
            record = history(con, building_id)
        finally:
            con.close()
        if as_json:
            emit(record, as_json=True)
            return
        emit(
            [
                {
                    "valid": f"{v['valid_from']} → {v['valid_to'] or '…'}",
                    "recorded": f"{v['recorded_from']} → {v['recorded_to'] or '…'}",
                    "op": v["op_id"],
                    "status": v["status"],
                    "community": v["community_code"],
                    "name": v["name"],
                    "address": v["address"],
                }
                for v in record["versions"]
            ],
            as_json=False,
            title=f"history of {building_id}",
        )
        emit(
            [
                {k: op[k] for k in ("op_id", "op", "valid_at", "recorded_at", "actor", "note")}
                for op in record["operations"]
            ],
            as_json=False,
            title="operations",
        )


def _summary(record: dict[str, object]) -> dict[str, object]:
    """Flat key/value lines for people: a Feature's properties without the geometry."""
    props = record.get("properties", record)
    assert isinstance(props, dict)
    out = {k: v for k, v in props.items() if k not in ("geometry", "history")}
    for key in ("predecessors", "successors", "current_successors"):
        value = out.get(key)
        if isinstance(value, list):
            out[key] = ", ".join(str(v) for v in value) or "-"
    return out
