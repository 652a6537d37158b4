"""``yizhi demo``: build the sample city through every stage that exists, then serve it."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, console, emit, err_console

app = typer.Typer()


@app.command("demo")
def demo(
    db: Path | None = typer.Option(None, "--db", help="Store file (default: var/yizhi.duckdb)."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the viewer afterwards."),
    force: bool = typer.Option(False, "--force", help="Rebuild every stage."),
    host: str = typer.Option("127.0.0.1", help="Address to serve on."),
    port: int = typer.Option(8000, help="Port to serve on."),
    as_json: bool = JsonOption,
) -> None:
    """Build the sample city (Shanghai Bund / Lujiazui) and serve it.

    Every stage that exists runs in order; a stage whose inputs have not changed since the last
    run is reused, so a second ``yizhi demo`` is fast.
    """
    import store
    from common.settings import get_settings
    from yizhi.cli.serve import check_listen
    from yizhi.pipeline import Stage, run_pipeline, store_summary

    settings = get_settings()
    path = db or settings.db
    if serve:  # a server that cannot start is refused before minutes of building
        check_listen(host, port)
    started = time.perf_counter()
    con = store.connect(path)

    status = err_console.status("")

    def on_stage(stage: Stage, event: str) -> None:
        if event == "start":
            status.update(f"[bold cyan]{stage.name}[/]: {stage.description} …")
            status.start()
        elif event == "reused":
            err_console.print(f"[green]✓[/] {stage.name}: unchanged, reused")
        else:
            status.stop()
            err_console.print(f"[green]✓[/] {stage.name}: {stage.description}")

    def on_step(stage: Stage, step: str) -> None:
        status.update(f"[bold cyan]{stage.name}[/]: {step} …")

    try:
        results = run_pipeline(con, force=force, on_stage=on_stage, on_step=on_step)
    finally:
        status.stop()
    summary = store_summary(con)
    con.close()
    report = {
        "db": str(path),
        "seconds": round(time.perf_counter() - started, 2),
        "stages": {
            r.name: {"reused": r.reused, "seconds": round(r.seconds, 2), "summary": r.summary}
            for r in results
        },
        "summary": summary,
    }
    if as_json:
        emit(report, as_json=True)
    else:
        emit(summary, as_json=False, title=f"sample city in {path}")
    if not serve:
        return
    if importlib.util.find_spec("api.app") is None:
        console.print(f"The HTTP API is not part of this build yet; the store is ready at {path}.")
        return
    from yizhi.cli.serve import serve_store

    serve_store(path, host=host, port=port)
