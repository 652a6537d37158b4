"""Partition the register's communities and store the result as a new grid version.

>>> import store
>>> con = store.connect(":memory:")
>>> partition_store(con)  # doctest: +SKIP
1
"""

from __future__ import annotations

from typing import Any, Literal

import duckdb
import pandas as pd

from common.errors import InvalidInput
from grid_partition._io import churn_vs_parent, write_version
from grid_partition._parallel import ProgressFn, check_workers, solve_inputs
from grid_partition._register import Community, community_codes, read_communities
from grid_partition._snapshot import Caps, Snapshot, materialise, prepare

__all__ = ["ProgressFn", "check_options", "partition_store", "solve_community", "to_rows"]


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
        split_buildings=caps.split_buildings,
        fill=caps.fill,
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


def check_options(split_buildings: str, fill: float) -> None:
    """Refuse partitioner options that no community could use (before any work starts).

    Raises
    ------
    InvalidInput
        For a ``split_buildings`` other than ``"needed"`` / ``"large"``, or ``fill`` outside
        (0, 1].
    """
    if split_buildings not in ("needed", "large"):
        raise InvalidInput(f"split_buildings must be 'needed' or 'large', not {split_buildings!r}")
    if not (isinstance(fill, int | float) and 0 < fill <= 1):
        raise InvalidInput(f"fill must be in (0, 1], not {fill!r}")


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
    workers: int | None = None,
    split_buildings: Literal["needed", "large"] = "needed",
    fill: float = 0.92,
) -> int:
    """Partition communities of the register and store a new active version.

    Communities are independent: they are partitioned in ``workers`` processes at once (the
    register is read here, the results are written here in one transaction), and the
    version does not depend on the number of workers.

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
        Called after each community with ``(done, total, code)``, in this process.
    workers
        Worker processes (default: the CPUs, at most the ``threads`` setting); 1 solves
        every community in this process.
    split_buildings, fill
        How the partitioner meets the caps (see
        :class:`~grid_partition.partition.GridPartitioner`): ``"needed"`` splits a building
        of several units (never a unit) where no split of whole buildings fits, ``"large"``
        only buildings over their cap; stored with the version, so that a repartition or a
        rebalance uses the same.

    Returns
    -------
    int
        The new version id (status active; the previous active one is superseded).
    """
    from grid_partition._validate import check_caps

    check_caps(open_cap=open_cap, closed_cap=closed_cap, grid_cap=grid_cap)
    n_workers = check_workers(workers)
    check_options(split_buildings, fill)
    caps = Caps(int(open_cap), int(closed_cap), int(grid_cap), split_buildings, float(fill))
    codes = community_codes(con, communities)
    if not codes:
        raise InvalidInput("the register holds no community with a boundary and buildings")
    row = con.execute(
        "SELECT max(version_id) FROM grid_versions WHERE status = 'active'"
    ).fetchone()
    parent = None if row is None or row[0] is None else int(row[0])
    inputs = read_communities(con, codes, barriers=barriers)
    snaps = solve_inputs(inputs, caps, workers=n_workers, progress=progress)
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
