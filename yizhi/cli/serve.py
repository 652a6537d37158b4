"""``yizhi serve``: the HTTP API, tiles and map viewer on a store (uvicorn)."""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import console

app = typer.Typer()

#: uvicorn's log levels.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def check_listen(host: str, port: int) -> None:
    """Refuse at once (one line, exit 2) when ``host:port`` cannot be listened on, instead of
    announcing a server that never starts.

    Raises
    ------
    InvalidInput
        A port outside 1..65535, or a host name that does not resolve.
    Conflict
        The address is taken (another server) or not this machine's.
    """
    import socket

    from common.errors import Conflict, InvalidInput

    if not 0 < port < 65536:
        raise InvalidInput(f"port must be in 1..65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, OverflowError) as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


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
    if log_level not in LOG_LEVELS:
        raise InvalidInput(f"unknown log level {log_level!r}; choose from {', '.join(LOG_LEVELS)}")
    if not Path(db).is_file():
        raise InvalidInput(
            f"no yizhi store at {db}: build one with `yizhi demo --no-serve`, or give --db"
        )
    check_listen(host, port)
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
