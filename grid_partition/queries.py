"""Reads of the grid tables for the other packages: the one place they learn about grids.

``grid_partition`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``,
the command line) reads them through the functions here and never names them in its own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb
import pandas as pd

from common.errors import InvalidInput, NotFound

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


# -- read by fusion (links, block data, coverage) ------------------------------------------------

#: Level -> (table, code column) of the grid layers with a geometry.
_SHAPES: Final = {
    "grid": ("grids", "grid_code"),
    "micro_grid": ("micro_grids", "micro_grid_code"),
    "unit_grid": ("unit_grids", "unit_grid_code"),
}


def micro_grids_sql(version: int) -> str:
    """Relation: ``micro_grid_code, grid_code, community_code`` of every micro-grid of a version.

    One ``SELECT`` to embed as ``JOIN ({micro_grids_sql(v)}) m ON ...``. Used by
    :mod:`fusion.link` (the grids of a hit) and :mod:`fusion.blocks` (the block tree).
    """
    return (
        "SELECT micro_grid_code, grid_code, community_code FROM micro_grids "
        f"WHERE version_id = {int(version)}"
    )


def grid_assignments_sql(version: int) -> str:
    """Relation: ``building_id, unit, micro_grid_code, households`` of a version's assignments.

    Which micro-grid holds each building (``unit`` ``'00'``) or each unit of a building split
    by unit, with the households counted there. Used by :mod:`fusion.link` and
    :mod:`fusion.blocks`.
    """
    return (
        "SELECT building_id, unit, micro_grid_code, households FROM grid_assignments "
        f"WHERE version_id = {int(version)}"
    )


def grid_shapes(con: duckdb.DuckDBPyConnection, level: str, version: int) -> pd.DataFrame:
    """The ``code`` and WKB geometry (``wkb``, WGS84) of every block of a level, by code.

    Parameters
    ----------
    level
        ``grid``, ``micro_grid`` or ``unit_grid``.
    version
        The grid version; blocks without a geometry are left out.

    Used by :mod:`fusion.link` (the polygons of the point-in-polygon joins) and
    :mod:`fusion.coverage`.
    """
    if level not in _SHAPES:
        raise InvalidInput(f"unknown grid level {level!r}; expected one of {sorted(_SHAPES)}")
    table, code = _SHAPES[level]
    return con.execute(
        f"SELECT {code} AS code, ST_AsWKB(geom) AS wkb FROM {table} "
        "WHERE version_id = ? AND geom IS NOT NULL ORDER BY code",
        [int(version)],
    ).df()


def version_bounds(
    con: duckdb.DuckDBPyConnection, version: int
) -> tuple[float, float, float, float] | None:
    """WGS84 bounds ``(minx, miny, maxx, maxy)`` of a version's micro-grids; None when empty.

    Used by :mod:`fusion.link` to centre the city's metric CRS.
    """
    row = con.execute(
        "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) "
        "FROM micro_grids WHERE version_id = ? AND geom IS NOT NULL",
        [int(version)],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])
