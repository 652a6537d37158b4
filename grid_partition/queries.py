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


def active_version_sql() -> str:
    """The active grid version as a scalar subquery (NULL when none is active), for SQL that
    must follow the active version by itself (the tile layers); :func:`active_version` reads
    the same."""
    return "(SELECT max(version_id) FROM grid_versions WHERE status = 'active')"


def active_version(con: duckdb.DuckDBPyConnection) -> int:
    """The active grid version: the newest version whose status is ``active``.

    Raises
    ------
    NoActiveGridVersion
        (a :class:`~common.errors.NotFound`) when no version is active.
    """
    row = con.execute(f"SELECT {active_version_sql()}").fetchone()
    if row is None or row[0] is None:
        raise NoActiveGridVersion("no active grid version: run `yizhi grid partition` first")
    return int(row[0])


# -- reads of the api (grid pages, search box, tile layers) -----------------------------------
#
# Relation functions (``*_sql``) return one SELECT with the columns their docstring lists; a
# consumer embeds it (``FROM ({grids_sql(v)}) g``). ``version`` is a version number, or ``None``
# for the active version (followed by the SQL itself, see :func:`active_version_sql`).


def _version_sql(version: int | None) -> str:
    return active_version_sql() if version is None else str(int(version))


def grids_sql(version: int | None = None) -> str:
    """The grids of a version (the active one by default).

    Columns: ``version_id``, ``grid_code``, ``community_code``, ``households``, ``buildings``,
    ``micro_grids`` (their count), ``area_m2``, ``compactness`` (Polsby-Popper), ``geom``
    (WGS84; may be NULL). Used by the api's grid pages, search box and tile layers.
    """
    return (
        "SELECT version_id, grid_code, community_code, households, buildings, micro_grids, "
        f"area_m2, compactness, geom FROM grids WHERE version_id = {_version_sql(version)}"
    )


def micro_grids_sql(version: int | None = None) -> str:
    """The micro-grids of a version (the active one by default).

    Columns: ``version_id``, ``micro_grid_code``, ``grid_code``, ``community_code``,
    ``enclosure`` (``open`` / ``closed`` / ``mixed``), ``cap``, ``households``, ``buildings``,
    ``flagged``, ``flag_reason``, ``area_m2``, ``compactness``, ``geom``. Used by the api's grid
    pages and tile layers.
    """
    return (
        "SELECT version_id, micro_grid_code, grid_code, community_code, enclosure, cap, "
        "households, buildings, flagged, flag_reason, area_m2, compactness, geom "
        f"FROM micro_grids WHERE version_id = {_version_sql(version)}"
    )


def unit_grids_sql(version: int | None = None) -> str:
    """The unit grids (万米单元网格) of a version (the active one by default).

    Columns: ``version_id``, ``unit_grid_code``, ``community_code``, ``area_m2``, ``geom``.
    Used by the api's tile layers.
    """
    return (
        "SELECT version_id, unit_grid_code, community_code, area_m2, geom FROM unit_grids "
        f"WHERE version_id = {_version_sql(version)}"
    )


def assignments_sql(version: int | None = None) -> str:
    """Which micro-grid holds each building (or unit) in a version (the active one by default).

    Columns: ``version_id``, ``building_id``, ``unit`` (``00``: the whole building),
    ``households``, ``micro_grid_code``, ``grid_code``, ``community_code``. Used by the api's
    grid pages.
    """
    return (
        "SELECT version_id, building_id, unit, households, micro_grid_code, grid_code, "
        f"community_code FROM grid_assignments WHERE version_id = {_version_sql(version)}"
    )
