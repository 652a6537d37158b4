"""Reads of the grid tables for the other packages: the one place they learn about grids.

``grid_partition`` owns the tables in :data:`TABLES`; every other package (``fusion``, ``api``,
the command line) reads them through the functions here and never names them in its own SQL.

Three shapes: point reads (:func:`active_version`, :func:`resolve_version`,
:func:`version_row`, :func:`version_caps`); frames of a version's tables (``*_frame``, pandas,
geometry as WKB on request); and relations (``*_sql(version)``: one SELECT with the columns of
:data:`COLUMNS`, ``version_id`` first and ``geom`` (WGS84) last where the table has one) that a
consumer embeds in its own SQL as ``FROM ({micro_grids_sql(v)}) m``.

>>> import store
>>> con = store.connect(":memory:")
>>> active_version(con)
Traceback (most recent call last):
  ...
grid_partition.queries.NoActiveGridVersion: no active grid version: run `yizhi grid partition` first
>>> micro_grids_frame(con, 1).columns.tolist()[:3]
['version_id', 'micro_grid_code', 'grid_code']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import duckdb
import pandas as pd

from grid_partition.caps import Caps

if TYPE_CHECKING:
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


class GridVersionNotFound(NotFound):
    """A grid version asked for by number does not exist (a :class:`~common.errors.NotFound`,
    problem type ``not-found``)."""


# -- Versions ---------------------------------------------------------------------------------


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


def resolve_version(con: duckdb.DuckDBPyConnection, version: int | None = None) -> int:
    """The version asked for (checked), or the active one when ``version`` is None.

    Used by every read of a version (grid_partition, api, fusion, the command line).

    Raises
    ------
    GridVersionNotFound
        When ``version`` does not exist.
    NoActiveGridVersion
        When ``version`` is None and no version is active.
    """
    if version is None:
        return active_version(con)
    row = con.execute(
        "SELECT version_id FROM grid_versions WHERE version_id = ?", [int(version)]
    ).fetchone()
    if row is None:
        raise GridVersionNotFound(f"grid version {version} does not exist")
    return int(row[0])


def version_row(con: duckdb.DuckDBPyConnection, version: int) -> dict[str, Any]:
    """The ``grid_versions`` row of ``version`` as a dict: ``version_id``, ``parent_version``,
    ``status``, ``kind``, ``params`` and ``quality`` (parsed JSON), ``note``, ``actor``,
    ``created_at`` (ISO 8601 text).

    Used by grid_partition (caps, quality, churn) and api (a version's page).

    Raises
    ------
    GridVersionNotFound
        When the version does not exist.
    """
    cur = con.execute(
        "SELECT version_id, parent_version, status, kind, params, quality, note, actor, "
        "strftime(created_at, '%Y-%m-%dT%H:%M:%S%z') AS created_at "
        "FROM grid_versions WHERE version_id = ?",
        [int(version)],
    )
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is None:
        raise GridVersionNotFound(f"grid version {version} does not exist")
    out = dict(zip(cols, row, strict=True))
    for k in ("params", "quality"):
        out[k] = json.loads(out[k]) if out[k] else {}
    return out


def version_caps(con: duckdb.DuckDBPyConnection, version: int) -> Caps:
    """The caps (and partitioner options) ``version`` was made with.

    Used by grid_partition (repartition, edits, quality) and api (block pages, edits).

    Raises
    ------
    GridVersionNotFound
        When the version does not exist.
    """
    p = version_row(con, version)["params"]
    return Caps(
        int(p.get("open_cap", 150)),
        int(p.get("closed_cap", 300)),
        int(p.get("grid_cap", 600)),
        # versions stored before these options were made with whole buildings
        "needed" if p.get("split_buildings", "large") == "needed" else "large",
        float(p.get("fill", 1.0)),
    )


# -- The tables of a version: relations and frames --------------------------------------------

#: The columns of each table of a version besides ``version_id`` (and ``geom``, see
#: :data:`GEOMETRY`), in the order of the relations and frames below.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "grids": (
        "grid_code",
        "community_code",
        "households",
        "buildings",
        "micro_grids",
        "area_m2",
        "compactness",
    ),
    "micro_grids": (
        "micro_grid_code",
        "grid_code",
        "community_code",
        "enclosure",
        "cap",
        "households",
        "buildings",
        "flagged",
        "flag_reason",
        "area_m2",
        "compactness",
    ),
    "grid_assignments": (
        "building_id",
        "unit",
        "micro_grid_code",
        "grid_code",
        "community_code",
        "households",
    ),
    "unit_grids": ("unit_grid_code", "community_code", "area_m2"),
}
#: The tables of :data:`COLUMNS` with a polygon ``geom`` (WGS84).
GEOMETRY: Final = frozenset({"grids", "micro_grids", "unit_grids"})
#: The order of a table's rows in its frame.
_ORDER: Final = {
    "grids": "grid_code",
    "micro_grids": "micro_grid_code",
    "grid_assignments": "building_id, unit",
    "unit_grids": "unit_grid_code",
}


def _select(table: str, version: int | None, geom: str | None = "geom") -> str:
    cols = ", ".join(("version_id", *COLUMNS[table]))
    if geom and table in GEOMETRY:
        cols += f", {geom}"
    return f"SELECT {cols} FROM {table} WHERE version_id = {_version_sql(version)}"


def _version_sql(version: int | None) -> str:
    """A version number, or for ``None`` the SQL of the active version (the relation then
    follows the active version by itself: see :func:`active_version_sql`)."""
    return active_version_sql() if version is None else str(int(version))


def grids_sql(version: int | None = None) -> str:
    """The grids of ``version`` (``None``: the active one) as one SELECT: ``version_id``, the columns of
    ``COLUMNS["grids"]`` (grid_code, community_code, households, buildings, micro_grids,
    area_m2, compactness) and ``geom``.

    Used by grid_partition; for api and fusion joins on grids.
    """
    return _select("grids", version)


def micro_grids_sql(version: int | None = None) -> str:
    """The micro-grids of ``version`` (``None``: the active one) as one SELECT: ``version_id``, the columns of
    ``COLUMNS["micro_grids"]`` (micro_grid_code, grid_code, community_code, enclosure, cap,
    households, buildings, flagged, flag_reason, area_m2, compactness) and ``geom``.

    Used by grid_partition; for fusion (linking, blocks) and api joins on micro-grids.
    """
    return _select("micro_grids", version)


def unit_grids_sql(version: int | None = None) -> str:
    """The unit grids of ``version`` (``None``: the active one) as one SELECT: ``version_id``, unit_grid_code,
    community_code, area_m2 and ``geom``.

    Used by grid_partition; for fusion (linking) and the tile layers.
    """
    return _select("unit_grids", version)


def assignments_sql(version: int | None = None) -> str:
    """The assignments of ``version`` (``None``: the active one) as one SELECT, one row per building or per unit of a
    building split by unit: ``version_id``, building_id, unit (``00`` the whole building),
    micro_grid_code, grid_code, community_code, households.

    Used by grid_partition (GeoPackage export); for fusion (a building's micro-grid, block
    households) and api.
    """
    return _select("grid_assignments", version)


def _frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    version: int,
    geometry: bool,
    communities: Iterable[str] | None = None,
) -> pd.DataFrame:
    sql = _select(table, version, "ST_AsWKB(geom) AS wkb" if geometry else None)
    params: list[Any] = []
    if communities is not None:
        sql += " AND list_contains(?::VARCHAR[], community_code)"
        params.append(sorted(communities))
    return con.execute(f"{sql} ORDER BY {_ORDER[table]}", params).df()


def grids_frame(
    con: duckdb.DuckDBPyConnection, version: int, *, geometry: bool = False
) -> pd.DataFrame:
    """The grids of ``version`` (columns of :func:`grids_sql`, ``wkb`` instead of ``geom``
    with ``geometry``), ordered by code.

    Used by grid_partition (GeoPackage export and import, point index).
    """
    return _frame(con, "grids", version, geometry)


def micro_grids_frame(
    con: duckdb.DuckDBPyConnection, version: int, *, geometry: bool = False
) -> pd.DataFrame:
    """The micro-grids of ``version`` (columns of :func:`micro_grids_sql`, ``wkb`` instead of
    ``geom`` with ``geometry``), ordered by code.

    Used by grid_partition (GeoPackage export and import, point index, quality).
    """
    return _frame(con, "micro_grids", version, geometry)


def unit_grids_frame(
    con: duckdb.DuckDBPyConnection, version: int, *, geometry: bool = False
) -> pd.DataFrame:
    """The unit grids of ``version`` (columns of :func:`unit_grids_sql`, ``wkb`` instead of
    ``geom`` with ``geometry``), ordered by code.

    Used by grid_partition (GeoPackage export, point index).
    """
    return _frame(con, "unit_grids", version, geometry)


def assignments_frame(
    con: duckdb.DuckDBPyConnection, version: int, communities: Iterable[str] | None = None
) -> pd.DataFrame:
    """The assignments of ``version`` (columns of :func:`assignments_sql`), of every community
    or of ``communities``, ordered by building and unit.

    Used by grid_partition (repartition, edits, GeoPackage import).
    """
    return _frame(con, "grid_assignments", version, False, communities)


# -- read by fusion (links, block data, coverage) ------------------------------------------------

#: Level -> (table, code column) of the grid layers with a geometry.
_SHAPES: Final = {
    "grid": ("grids", "grid_code"),
    "micro_grid": ("micro_grids", "micro_grid_code"),
    "unit_grid": ("unit_grids", "unit_grid_code"),
}


def grid_shapes(con: duckdb.DuckDBPyConnection, level: str, version: int) -> pd.DataFrame:
    """The ``code`` and WKB geometry (``wkb``, WGS84) of every block of a level, by code.

    Parameters
    ----------
    level
        ``grid``, ``micro_grid`` or ``unit_grid``.
    version
        The grid version; blocks without a geometry are left out.

    Used by :mod:`fusion` (the polygons of the point-in-polygon joins, coverage).
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
