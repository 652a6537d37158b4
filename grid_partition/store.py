"""Partition the register's communities and store the result as a new grid version.

>>> import store
>>> con = store.connect(":memory:")
>>> partition_store(con)  # doctest: +SKIP
1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

from grid_partition._io import churn_vs_parent, write_version
from grid_partition._register import Community, community_codes, load_communities
from grid_partition._snapshot import Caps, Snapshot, materialise, prepare
from yizhi.errors import InvalidInput

#: Called after each community with (done, total, community code).
ProgressFn = Callable[[int, int, str], None]


def to_rows(ctx: Community, frame: pd.DataFrame) -> pd.DataFrame:
    """Stored assignments (unit as register code) → partitioner rows (unit as number)."""
    units = [
        ctx.unit_index(str(b), str(u))
        for b, u in zip(frame["building_id"], frame["unit"], strict=True)
    ]
    return pd.DataFrame(
        {
            "building_id": frame["building_id"].astype(str).to_numpy(dtype=object),
            "unit": units,
            "micro": frame["micro_grid_code"].astype(str).to_numpy(dtype=object),
            "grid": frame["grid_code"].astype(str).to_numpy(dtype=object),
        }
    )


def solve_community(ctx: Community, caps: Caps, previous: pd.DataFrame | None = None) -> Snapshot:
    """Run the partitioner on one community (optionally keeping ``previous`` grids)."""
    from grid_partition.partition import GridPartitioner

    p = GridPartitioner.from_geodataframe(
        ctx.buildings,
        community=ctx.polygon,
        barriers=ctx.barriers if len(ctx.barriers) else None,
        open_cap=caps.open_cap,
        closed_cap=caps.closed_cap,
        grid_cap=caps.grid_cap,
        community_code=ctx.code,
    )
    p.solve(previous=previous, boundaries=False)
    a = p.assignments_
    rows = pd.DataFrame(
        {
            "building_id": a["building_id"].astype(str),
            "unit": a["unit"],
            "micro": a["micro"],
            "grid": a["grid"],
        }
    )
    prepared, problems = prepare(ctx, rows)
    if problems:  # the partitioner's output always covers the community; say so if not
        raise InvalidInput(f"partition of {ctx.code} is incomplete: {problems[0].message}")
    snap = materialise(ctx, prepared, caps)
    snap.report["partitioner"] = {k: v for k, v in p.report_.items() if isinstance(v, int | float)}
    return snap


def partition_store(
    con: duckdb.DuckDBPyConnection,
    *,
    communities: list[str] | None = None,
    open_cap: int = 150,
    closed_cap: int = 300,
    grid_cap: int = 600,
    barriers: Any | None = None,
    note: str | None = None,
    actor: str | None = None,
    progress: ProgressFn | None = None,
) -> int:
    """Partition communities of the register and store a new active version.

    Parameters
    ----------
    con
        A migrated store holding the register (``admin_areas`` with community polygons,
        ``buildings``, ``estates``, ``roads``, ``rooms``).
    communities
        Community codes to partition (default: every community with a boundary and active
        buildings). Communities not named keep their grids from the active version.
    open_cap, closed_cap, grid_cap
        Households of a micro-grid in an open / closed estate, and of a grid.
    barriers
        Extra barriers besides the major roads (e.g. water polygons, any CRS).
    note, actor
        Stored with the version.
    progress
        Called after each community with ``(done, total, code)``.

    Returns
    -------
    int
        The new version id (status active; the previous active one is superseded).
    """
    from grid_partition._validate import check_caps

    check_caps(open_cap=open_cap, closed_cap=closed_cap, grid_cap=grid_cap)
    caps = Caps(int(open_cap), int(closed_cap), int(grid_cap))
    codes = community_codes(con, communities)
    if not codes:
        raise InvalidInput("the register holds no community with a boundary and buildings")
    row = con.execute(
        "SELECT max(version_id) FROM grid_versions WHERE status = 'active'"
    ).fetchone()
    parent = None if row is None or row[0] is None else int(row[0])
    snaps: list[Snapshot] = []
    for i, ctx in enumerate(load_communities(con, codes, barriers=barriers)):
        snaps.append(solve_community(ctx, caps))
        if progress:
            progress(i + 1, len(codes), ctx.code)
    vid = write_version(
        con,
        snaps,
        kind="partition",
        parent=parent,
        caps=caps,
        params={"communities": communities, "extra_barriers": barriers is not None},
        note=note,
        actor=actor,
        carry=communities is not None,
    )
    churn_vs_parent(con, vid)
    return vid
