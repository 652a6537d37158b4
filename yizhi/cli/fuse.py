"""``yizhi fuse``: link every layer record to the register and the grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from yizhi.cli._common import JsonOption, emit, progress

app = typer.Typer()


@app.command("fuse")
def fuse(
    db: Path | None = typer.Option(None, "--db", help="Store file (default: var/yizhi.duckdb)."),
    layer: list[str] | None = typer.Option(
        None, "--layer", help="Layer to link (repeatable; default: all five)."
    ),
    full: bool = typer.Option(False, "--full", help="Relink every record, not only new ones."),
    blocks: bool = typer.Option(
        True, "--blocks/--no-blocks", help="Recompute the block data afterwards."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Link people, legal persons, houses, events and sensors to rooms, buildings and grids.

    Records link by room ID, address (the resolver) or coordinates; those that cannot link are
    queued in ``unlinked`` with a reason. Re-running links only new or changed records.
    """
    import store
    from fusion.link import link
    from yizhi.settings import get_settings

    path = db or get_settings().db
    con = store.connect(path)
    try:
        with progress(quiet=as_json) as bar:
            tasks: dict[str, Any] = {}

            def on_progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"linking {name}", total=total)
                bar.update(tasks[name], completed=done, total=total)

            report = link(con, layers=layer or None, incremental=not full, progress=on_progress)
        if blocks:
            from fusion.blocks import compute_blocks

            report["block_data_rows"] = compute_blocks(con)
    finally:
        con.close()
    if as_json:
        emit(report, as_json=True)
        return
    rows = [
        {
            "layer": name,
            "total": r["total"],
            "linked": r["linked"],
            "unlinked": r["unlinked"],
            "relinked now": r["processed"],
            "by method": ", ".join(f"{k} {v}" for k, v in r["by_method"].items()),
            "reasons": ", ".join(f"{k} {v}" for k, v in r["reasons"].items()),
        }
        for name, r in report["layers"].items()
    ]
    emit(rows, as_json=False, title=f"fusion links (grid version {report['grid_version']})")
