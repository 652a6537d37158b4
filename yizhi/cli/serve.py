"""``yizhi serve``: the HTTP API, tiles and map viewer on a store (uvicorn)."""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import console

app = typer.Typer()


def serve_store(
    db: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    writable: bool = False,
    log_level: str = "info",
) -> None:
    """Serve ``db`` until interrupted (read-only unless ``writable``)."""
    import uvicorn

    from api.app import create_app

    application = create_app(db, writable=writable)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    mode = "read-write (grid edits on)" if writable else "read-only"
    console.print(
        f"[bold]yizhi[/] serving {db} ({mode}) at [link]http://{shown}:{port}/[/link]  "
        f"API docs: http://{shown}:{port}/docs  (Ctrl+C stops)"
    )
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def serve(
    db: Path = typer.Option(None, "--db", help="The store (default: YIZHI_DB)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    writable: bool = typer.Option(
        False, "--writable", help="Open the store read-write so planners can edit grids."
    ),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API, vector tiles and the map viewer of a store."""
    from yizhi.settings import get_settings

    serve_store(
        db or get_settings().db, host=host, port=port, writable=writable, log_level=log_level
    )
