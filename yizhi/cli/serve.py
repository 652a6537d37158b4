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
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve ``db`` until interrupted (read-only unless ``writable``).

    With ``workers`` > 1, uvicorn starts that many processes, each opening the store read-only
    (DuckDB lets several processes read one file; only one may write, so a writable server
    has one worker).
    """
    import os

    import uvicorn

    from common.errors import InvalidInput

    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    if writable and workers > 1:
        raise InvalidInput("a writable server runs one worker: DuckDB allows one writing process")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    mode = "read-write (grid edits on)" if writable else f"read-only, {workers} worker(s)"
    console.print(
        f"[bold]yizhi[/] serving {db} ({mode}) at [link]http://{shown}:{port}/[/link]  "
        f"API docs: http://{shown}:{port}/docs  (Ctrl+C stops)"
    )
    if workers > 1:
        os.environ["YIZHI_DB"] = str(Path(db).resolve())
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
        return
    from api.app import create_app

    application = create_app(db, writable=writable)
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def serve(
    db: Path = typer.Option(None, "--db", help="The store (default: YIZHI_DB)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    writable: bool = typer.Option(
        False, "--writable", help="Open the store read-write so planners can edit grids."
    ),
    workers: int = typer.Option(1, help="Worker processes (read-only stores only)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API, vector tiles and the map viewer of a store."""
    from common.settings import get_settings

    serve_store(
        db or get_settings().db,
        host=host,
        port=port,
        writable=writable,
        workers=workers,
        log_level=log_level,
    )
