"""Partition the register's communities and store the result as a new grid version.

>>> import store
>>> con = store.connect(":memory:")
>>> partition_store(con)  # doctest: +SKIP
1
"""

from __future__ import annotations

from typing import Any

import duckdb

from common.errors import InvalidInput
from common.workers import check_workers
from grid_partition._io import write_version
from grid_partition._parallel import ProgressFn, solve_inputs
from grid_partition._register import community_codes, read_communities
from grid_partition.caps import Caps, SplitBuildings, check_options
from grid_partition.queries import NoActiveGridVersion, active_version

__all__ = ["ProgressFn", "check_options", "partition_store"]


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
    split_buildings: SplitBuildings = "needed",
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
    caps = Caps.checked(open_cap, closed_cap, grid_cap, split_buildings, fill)
    n_workers = check_workers(workers)
    codes = community_codes(con, communities)
    if not codes:
        raise InvalidInput("the register holds no community with a boundary and buildings")
    try:
        parent: int | None = active_version(con)
    except NoActiveGridVersion:
        parent = None
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
    return vid
