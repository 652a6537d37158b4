"""Reads of the grid tables for the other packages: the one place they learn about grids.

``grid_partition`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``,
the command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb

from common.errors import NotFound

#: The tables ``grid_partition`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {"grid_versions", "grids", "micro_grids", "unit_grids", "grid_assignments", "grid_edits"}
)


class NoActiveGridVersion(NotFound):
    """No grid version is active: nothing is partitioned yet."""

    type = "no-active-grid-version"
    title = "No active grid version"


def active_version(con: duckdb.DuckDBPyConnection) -> int:
    """The active grid version: the newest version whose status is ``active``.

    Raises
    ------
    NoActiveGridVersion
        (a :class:`~common.errors.NotFound`) when no version is active.
    """
    row = con.execute(
        "SELECT max(version_id) FROM grid_versions WHERE status = 'active'"
    ).fetchone()
    if row is None or row[0] is None:
        raise NoActiveGridVersion("no active grid version: run `yizhi grid partition` first")
    return int(row[0])


# --- read by the pipeline's summary -----------------------------------------------------------


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Grids of the active version, for the demo's closing summary (:mod:`yizhi.pipeline`).

    Keys: ``grids``, ``micro_grids``, ``unit_grids``; all 0 when no version is active.
    """
    try:
        version = active_version(con)
    except NoActiveGridVersion:
        return {"grids": 0, "micro_grids": 0, "unit_grids": 0}
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM grids WHERE version_id = $v),
               (SELECT count(*) FROM micro_grids WHERE version_id = $v),
               (SELECT count(*) FROM unit_grids WHERE version_id = $v)
        """,
        {"v": version},
    ).fetchone()
    grids, micro, unit = (int(v) for v in row or (0, 0, 0))
    return {"grids": grids, "micro_grids": micro, "unit_grids": unit}
