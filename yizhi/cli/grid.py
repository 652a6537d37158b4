"""``yizhi grid``: partition communities into grids, check, diff, edit, export and import
versions, and find the grid at a point.

Every command opens the store (``--db``, default ``$YIZHI_DB``), prints for people or, with
``--json``, one JSON document; a refused edit or import is one line on stderr (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from yizhi.cli._common import JsonOption, emit, output_path, progress

app = typer.Typer(
    help="Grids and micro-grids (网格化管理): versions, edits, checks.", no_args_is_help=True
)
edit_app = typer.Typer(
    help="Planner edits; each makes a new version or is refused.", no_args_is_help=True
)
app.add_typer(edit_app, name="edit")

DbOption = typer.Option(None, "--db", help="Database file (default: $YIZHI_DB).")
VersionOption = typer.Option(None, "--version", "-v", help="Version (default: the active one).")
ActorOption = typer.Option(None, "--actor", help="Who made it (stored with the version).")
NoteOption = typer.Option(None, "--note", help="Why (stored with the version).")
WorkersOption = typer.Option(
    None,
    "--workers",
    "-w",
    help="Worker processes partitioning communities at once (default: the CPUs, at most "
    "$YIZHI_THREADS); the result does not depend on it.",
)


def _connect(db: Path | None) -> Any:
    import store

    return store.connect(db)


def _stepper(bar: Any, task: Any, label: str) -> Any:
    """A ``(done, total, code)`` callback that advances a progress bar."""

    def step(done: int, total: int, code: str) -> None:
        bar.update(task, total=total, completed=done, description=f"{label}: {code}")

    return step


def _version_summary(con: Any, vid: int) -> dict[str, Any]:
    from grid_partition.versions import quality

    q = quality(con, vid)
    keep = (
        "version",
        "kind",
        "parent_version",
        "communities",
        "buildings",
        "households",
        "grids",
        "micro_grids",
        "micro_over_cap",
        "grid_over_cap",
        "micro_flagged",
        "micro_noncontiguous",
        "grid_noncontiguous",
        "micro_polsby_popper",
        "micro_households_cv",
        "ok",
    )
    out = {k: q[k] for k in keep}
    if q.get("churn"):
        out["churn_micro"] = round(q["churn"]["micro"], 4)
        out["churn_grid"] = round(q["churn"]["grid"], 4)
    return out


@app.command("partition")
def partition_cmd(
    community: list[str] = typer.Option(
        None, "--community", "-c", help="Community code (repeat); default all."
    ),
    open_cap: int = typer.Option(
        150, "--open-cap", help="Households of an open-estate micro-grid."
    ),
    closed_cap: int = typer.Option(
        300, "--closed-cap", help="Households of a closed-estate micro-grid."
    ),
    grid_cap: int = typer.Option(600, "--grid-cap", help="Households of a grid."),
    split_buildings: str = typer.Option(
        "needed",
        "--split-buildings",
        help="'needed': split a building of several units where whole buildings do not fit "
        "(fewer micro-grids); 'large': only buildings over their cap. A unit is never split.",
    ),
    fill: float = typer.Option(
        0.92, "--fill", help="Planned fill of a micro-grid, in (0, 1]: slack for compact cuts."
    ),
    water: bool = typer.Option(False, "--water", help="Also cut along the sample's water."),
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    workers: int | None = WorkersOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Partition communities of the register and store a new active version."""
    from grid_partition.store import check_options, partition_store

    check_options(split_buildings, fill)
    barriers = None
    if water:
        from address_registry.sources import water_from_geojson

        barriers = water_from_geojson()
    con = _connect(db)
    try:
        with progress(quiet=as_json) as bar:
            step = _stepper(bar, bar.add_task("partition", total=None), "partition")
            vid = partition_store(
                con,
                communities=community or None,
                open_cap=open_cap,
                closed_cap=closed_cap,
                grid_cap=grid_cap,
                barriers=barriers,
                note=note,
                actor=actor,
                progress=step,
                workers=workers,
                split_buildings="large" if split_buildings == "large" else "needed",
                fill=fill,
            )
        emit(_version_summary(con, vid), as_json=as_json, title=f"grid version {vid}")
    finally:
        con.close()


@app.command("repartition")
def repartition_cmd(
    version: int | None = VersionOption,
    community: list[str] = typer.Option(None, "--community", "-c", help="Community code (repeat)."),
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    workers: int | None = WorkersOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Partition again after the register changed, keeping the grids that still hold."""
    from grid_partition.versions import repartition

    con = _connect(db)
    try:
        with progress(quiet=as_json) as bar:
            step = _stepper(bar, bar.add_task("repartition", total=None), "repartition")
            vid = repartition(
                con,
                version,
                communities=community or None,
                note=note,
                actor=actor,
                progress=step,
                workers=workers,
            )
        emit(_version_summary(con, vid), as_json=as_json, title=f"grid version {vid}")
    finally:
        con.close()


@app.command("versions")
def versions_cmd(db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """List the grid versions."""
    from grid_partition.versions import list_versions

    con = _connect(db)
    try:
        emit(list_versions(con), as_json=as_json, title="grid versions")
    finally:
        con.close()


@app.command("check")
def check_cmd(
    version: int | None = VersionOption, db: Path | None = DbOption, as_json: bool = JsonOption
) -> None:
    """Print the quality report of a version; exit 1 when a rule is violated."""
    from grid_partition.versions import quality

    con = _connect(db)
    try:
        q = quality(con, version)
    finally:
        con.close()
    if as_json:
        emit(q, as_json=True)
    else:
        per = q.pop("per_community")
        q["churn"] = (
            None
            if not q["churn"]
            else (f"micro {q['churn']['micro']:.4f}, grid {q['churn']['grid']:.4f}")
        )
        q["caps"] = "/".join(str(v) for v in q["caps"].values())
        q["violations"] = ", ".join(q["violations"]) or "none"
        emit(q, as_json=False, title=f"grid version {q['version']}")
        emit(
            [
                {
                    "community": c,
                    **{
                        k: r.get(k)
                        for k in (
                            "grids",
                            "micro_grids",
                            "households",
                            "micro_over_cap",
                            "grid_over_cap",
                        )
                    },
                }
                for c, r in per.items()
            ],
            as_json=False,
            title="communities",
        )
    if not q["ok"]:
        raise typer.Exit(1)


@app.command("diff")
def diff_cmd(
    v1: int = typer.Argument(..., help="From version."),
    v2: int = typer.Argument(..., help="To version."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """What changed between two versions: moved buildings, created/retired/re-shaped codes."""
    from grid_partition.versions import diff

    con = _connect(db)
    try:
        d = diff(con, v1, v2)
    finally:
        con.close()
    if as_json:
        emit(d, as_json=True)
        return
    emit(
        {
            "from": d["from_version"],
            "to": d["to_version"],
            "moved rows": len(d["moved"]),
            "moved households (micro)": d["churn"]["moved_households_micro"],
            "churn micro": round(d["churn"]["micro"], 4),
            "churn grid": round(d["churn"]["grid"], 4),
            "added buildings": len(d["added_buildings"]),
            "removed buildings": len(d["removed_buildings"]),
            **{
                f"{t} {k}": ", ".join(d[t][k]) or "-"
                for t in ("grids", "micro_grids")
                for k in ("created", "retired", "reshaped")
            },
        },
        as_json=False,
        title="grid diff",
    )
    if d["moved"]:
        emit(d["moved"][:50], as_json=False, title="moved (first 50)")


@app.command("export")
def export_cmd(
    path: Path = typer.Argument(..., help="GeoPackage to write (replaced).", callback=output_path),
    fmt: str = typer.Option("gpkg", "--format", help="Output format (gpkg)."),
    version: int | None = VersionOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a version to a GeoPackage for QGIS (grids, micro_grids, unit_grids, assignments)."""
    from grid_partition.gis import export_version

    con = _connect(db)
    try:
        out = export_version(con, path, version=version, format=fmt)
    finally:
        con.close()
    emit(
        out if as_json else {"version": out["version"], "path": out["path"], **out["layers"]},
        as_json=as_json,
        title="grid export",
    )


@app.command("import")
def import_cmd(
    path: Path = typer.Argument(
        ..., help="An edited GeoPackage from `grid export`.", exists=True, dir_okay=False
    ),
    version: int | None = VersionOption,
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate an edited GeoPackage and store it as a new version (every problem listed)."""
    from grid_partition.gis import import_version

    con = _connect(db)
    try:
        out = import_version(con, path, version=version, note=note, actor=actor)
    finally:
        con.close()
    emit(
        out if as_json else {k: v for k, v in out.items() if k != "communities"},
        as_json=as_json,
        title="grid import",
    )


@app.command("at")
def at_cmd(
    lon: float = typer.Argument(..., help="Longitude (or x)."),
    lat: float = typer.Argument(..., help="Latitude (or y)."),
    crs: str = typer.Option("wgs84", "--crs", help="wgs84, cgcs2000, gcj02 or bd09."),
    version: int | None = VersionOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Grid, micro-grid, unit grid and community at a point."""
    from grid_partition.versions import grid_at

    con = _connect(db)
    try:
        out = grid_at(con, lon, lat, crs=crs, version=version)
    finally:
        con.close()
    emit(out, as_json=as_json, title="grid at point")


def _edited(vid: int, as_json: bool, db: Path | None) -> None:
    con = _connect(db)
    try:
        emit(_version_summary(con, vid), as_json=as_json, title=f"grid version {vid}")
    finally:
        con.close()


@edit_app.command("move")
def move_cmd(
    buildings: list[str] = typer.Argument(..., help="Building IDs to move."),
    to_micro_grid: str | None = typer.Option(None, "--to-micro-grid", help="Target micro-grid."),
    to_grid: str | None = typer.Option(
        None, "--to-grid", help="Target grid (a new micro-grid is made in it)."
    ),
    version: int | None = VersionOption,
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Move buildings to another micro-grid or grid."""
    from grid_partition.edits import move

    con = _connect(db)
    try:
        vid = move(
            con,
            buildings,
            to_micro_grid=to_micro_grid,
            to_grid=to_grid,
            version=version,
            actor=actor,
            note=note,
        )
    finally:
        con.close()
    _edited(vid, as_json, db)


@edit_app.command("split")
def split_cmd(
    grid: str = typer.Argument(..., help="Grid code to split."),
    micro_grid: list[str] = typer.Option(
        None, "--micro-grid", "-m", help="Micro-grids of the new grid (default: balanced cut)."
    ),
    version: int | None = VersionOption,
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Split a grid in two along micro-grid lines."""
    from grid_partition.edits import split

    con = _connect(db)
    try:
        vid = split(
            con, grid, micro_grids=micro_grid or None, version=version, actor=actor, note=note
        )
    finally:
        con.close()
    _edited(vid, as_json, db)


@edit_app.command("merge")
def merge_cmd(
    grids: list[str] = typer.Argument(..., help="Grid codes to merge (same community)."),
    version: int | None = VersionOption,
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Merge grids into the one with the lowest code."""
    from grid_partition.edits import merge

    con = _connect(db)
    try:
        vid = merge(con, grids, version=version, actor=actor, note=note)
    finally:
        con.close()
    _edited(vid, as_json, db)


@edit_app.command("rebalance")
def rebalance_cmd(
    community: str = typer.Argument(..., help="Community code."),
    version: int | None = VersionOption,
    note: str | None = NoteOption,
    actor: str | None = ActorOption,
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Partition one community afresh, keeping the codes that overlap most."""
    from grid_partition.edits import rebalance

    con = _connect(db)
    try:
        vid = rebalance(con, community, version=version, actor=actor, note=note)
    finally:
        con.close()
    _edited(vid, as_json, db)
