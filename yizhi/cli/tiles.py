"""``yizhi tiles``: vector tiles of the store (layers, one tile, static pyramids)."""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, emit, output_path

app = typer.Typer(
    help="Vector tiles: list layers, encode a tile, export PMTiles/MBTiles.", no_args_is_help=True
)

DbOption = typer.Option(
    None, "--db", help="Database file (default: $YIZHI_DB or var/yizhi.duckdb)."
)


@app.command("layers")
def layers_cmd(as_json: bool = JsonOption) -> None:
    """List the tile layers with their zoom ranges and properties."""
    from api.tiles import LAYERS

    rows = [
        {
            "layer": s.name,
            "kind": s.kind,
            "minzoom": s.minzoom,
            "maxzoom": s.maxzoom,
            "properties": ", ".join(s.properties),
        }
        for s in LAYERS.values()
    ]
    emit(rows, as_json=as_json, title="tile layers")


@app.command("tile")
def tile_cmd(
    layer: str = typer.Argument(..., help="Layer name, or several joined by commas."),
    z: int = typer.Argument(...),
    x: int = typer.Argument(...),
    y: int = typer.Argument(...),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the MVT bytes to this file.", callback=output_path
    ),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Encode one tile and report its size and feature counts (optionally save it)."""
    import store
    from api.tiles import TileSet

    con = store.connect(db, read_only=True)
    tiles = TileSet.from_store(con, layer.split(","), cache=None)
    con.close()
    data = tiles.tile(layer, z, x, y)
    counts: dict[str, int] = {}
    if data:
        from mapbox_vector_tile import decode

        counts = {name: len(body["features"]) for name, body in decode(data).items()}
    if out is not None:
        out.write_bytes(data)
    emit(
        {"tile": f"{z}/{x}/{y}", "bytes": len(data), "features": counts, "file": str(out or "")},
        as_json=as_json,
    )


@app.command("export")
def export_cmd(
    path: Path = typer.Argument(
        ..., help="Target .pmtiles or .mbtiles file.", callback=output_path
    ),
    layers: str = typer.Option("buildings", "--layers", "-l", help="Comma-separated layers."),
    minzoom: int = typer.Option(14, "--minzoom"),
    maxzoom: int = typer.Option(16, "--maxzoom"),
    bbox: str | None = typer.Option(
        None, "--bbox", help="west,south,east,north (default: the data)."
    ),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Export a static tile pyramid (PMTiles or MBTiles) with a progress bar."""
    import store
    from api.tiles import TileSet
    from api.tiles.pyramid import export_pyramid
    from common.errors import InvalidInput

    box = None
    if bbox:
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError:
            raise InvalidInput(f"--bbox takes west,south,east,north, got {bbox!r}") from None
        box = (west, south, east, north)
    con = store.connect(db, read_only=True)
    tiles = TileSet.from_store(con, layers.split(","), cache=None)
    con.close()
    report = export_pyramid(tiles, path, minzoom, maxzoom, box, progress=not as_json)
    emit(
        {
            "file": str(report.path),
            "format": report.format,
            "tiles": report.tiles,
            "empty": report.empty,
            "bytes": report.bytes,
            "per_zoom": {str(k): v for k, v in report.per_zoom.items()},
        },
        as_json=as_json,
        title="pyramid",
    )
