"""``yizhi fuse``: link every layer record to the register and the grids."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from common.errors import InvalidInput
from yizhi.cli._common import JsonOption, emit, progress

app = typer.Typer()

ENGINES = ("duckdb", "dask")


@contextlib.contextmanager
def _engine(name: str, scheduler: str | None, npartitions: int | None) -> Iterator[Any]:
    """The spatial engine of the run: None for DuckDB (SQL in the store), else a Dask engine
    on the scheduler at ``scheduler`` or, without one, on a local cluster of this machine."""
    if name not in ENGINES:
        raise InvalidInput(f"unknown engine {name!r}; choose one of {list(ENGINES)}")
    if name == "duckdb":
        if scheduler is not None or npartitions is not None:
            raise InvalidInput(
                f"--scheduler {scheduler!r} / --npartitions {npartitions!r} need --engine dask"
            )
        yield None
        return
    from fusion import get_engine

    try:
        import distributed
    except ImportError:
        get_engine("dask")  # raises MissingDependency naming the extra to install
        raise
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                distributed.LocalCluster(processes=True, dashboard_address=None)
            )
            client = stack.enter_context(distributed.Client(cluster))
        else:
            try:
                client = stack.enter_context(distributed.Client(scheduler, timeout="30s"))
            except OSError as exc:
                raise InvalidInput(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from exc
        yield get_engine("dask", client=client, npartitions=npartitions)


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
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="Spatial engine of the point-in-polygon joins: duckdb (in the store) or dask.",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786); default with --engine dask: a local "
        "cluster on this machine.",
    ),
    npartitions: int | None = typer.Option(
        None, "--npartitions", min=1, help="Dask: partitions per point layer (default 2/worker)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Processes resolving addresses (default: the CPUs, at most YIZHI_THREADS).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Link people, legal persons, houses, events and sensors to rooms, buildings and grids.

    Records link by room ID, address (the resolver) or coordinates; those that cannot link are
    queued in ``unlinked`` with a reason. Re-running links only new or changed records.
    """
    import store
    from common.settings import get_settings
    from fusion.link import link

    path = db or get_settings().db
    con = store.connect(path)
    try:
        with _engine(engine, scheduler, npartitions) as spatial, progress(quiet=as_json) as bar:
            tasks: dict[str, Any] = {}

            def on_progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"linking {name}", total=total)
                bar.update(tasks[name], completed=done, total=total)

            report = link(
                con,
                layers=layer or None,
                incremental=not full,
                progress=on_progress,
                engine=spatial,
                workers=workers,
            )
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
