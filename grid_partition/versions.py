"""Grid versions: diff two versions, repartition after change, point lookup, quality.

Every partition, repartition, planner edit and import is a new version (a full snapshot); the
newest one made is *active*, the others *superseded*. Versions are compared by the assignment
of every building (or unit) to a micro-grid and by the polygons and membership of each code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

import store
from common.errors import NotFound
from grid_partition._io import (
    assignments,
    churn_vs_parent,
    resolve_version,
    version_caps,
    version_row,
    write_version,
)
from grid_partition._parallel import check_workers, solve_inputs
from grid_partition._register import community_codes, read_communities
from grid_partition._snapshot import Caps
from grid_partition.queries import active_version

#: Relative area of the symmetric difference above which a polygon counts as re-shaped.
SHAPE_TOLERANCE = 1e-6


def diff(con: duckdb.DuckDBPyConnection, v1: int, v2: int) -> dict[str, Any]:
    """What changed from version ``v1`` to ``v2``.

    Returns
    -------
    dict
        ``moved``: rows (building_id, unit, households, from/to micro-grid and grid) whose
        micro-grid changed; ``added`` / ``removed``: buildings only in ``v2`` / ``v1``;
        ``grids`` and ``micro_grids``: codes ``created``, ``retired`` and ``reshaped`` (same
        code, different polygon or membership); ``churn``: moved households / households of
        the rows in both (micro and grid level).
    """
    v1 = resolve_version(con, v1)
    v2 = resolve_version(con, v2)
    moved = con.execute(
        """
        SELECT n.building_id, n.unit, n.households,
               o.micro_grid_code AS from_micro_grid, n.micro_grid_code AS to_micro_grid,
               o.grid_code AS from_grid, n.grid_code AS to_grid
        FROM grid_assignments o JOIN grid_assignments n USING (building_id, unit)
        WHERE o.version_id = ? AND n.version_id = ? AND o.micro_grid_code <> n.micro_grid_code
        ORDER BY n.building_id, n.unit
        """,
        [v1, v2],
    ).df()
    totals = con.execute(
        "SELECT coalesce(sum(o.households), 0) FROM grid_assignments o "
        "JOIN grid_assignments n USING (building_id, unit) WHERE o.version_id = ? AND n.version_id = ?",
        [v1, v2],
    ).fetchone()
    total = int(totals[0]) if totals else 0
    only = (
        "SELECT DISTINCT building_id FROM grid_assignments WHERE version_id = ? EXCEPT "
        "SELECT DISTINCT building_id FROM grid_assignments WHERE version_id = ? ORDER BY 1"
    )
    added = [str(r[0]) for r in con.execute(only, [v2, v1]).fetchall()]
    removed = [str(r[0]) for r in con.execute(only, [v1, v2]).fetchall()]
    out: dict[str, Any] = {"from_version": v1, "to_version": v2}
    out["moved"] = [
        {**r, "households": int(r["households"])} for r in moved.to_dict(orient="records")
    ]
    out["added_buildings"] = added
    out["removed_buildings"] = removed
    for table, key in (("grids", "grid_code"), ("micro_grids", "micro_grid_code")):
        out[table] = _code_changes(con, table, key, v1, v2)
    grid_moved = int(moved.loc[moved["from_grid"] != moved["to_grid"], "households"].sum())
    out["churn"] = {
        "households_compared": total,
        "moved_households_micro": int(moved["households"].sum()),
        "moved_households_grid": grid_moved,
        "micro": float(moved["households"].sum()) / total if total else 0.0,
        "grid": grid_moved / total if total else 0.0,
    }
    out["empty"] = not (
        out["moved"]
        or added
        or removed
        or any(
            out[t][k] for t in ("grids", "micro_grids") for k in ("created", "retired", "reshaped")
        )
    )
    return out


def _code_changes(
    con: duckdb.DuckDBPyConnection, table: str, key: str, v1: int, v2: int
) -> dict[str, list[str]]:
    rows = con.execute(
        f"""
        WITH o AS (SELECT {key} AS code, geom FROM {table} WHERE version_id = $1),
             n AS (SELECT {key} AS code, geom FROM {table} WHERE version_id = $2),
             mo AS (SELECT {key} AS code, list(building_id || '/' || unit ORDER BY building_id, unit)
                    AS m FROM grid_assignments WHERE version_id = $1 GROUP BY 1),
             mn AS (SELECT {key} AS code, list(building_id || '/' || unit ORDER BY building_id, unit)
                    AS m FROM grid_assignments WHERE version_id = $2 GROUP BY 1)
        SELECT coalesce(o.code, n.code) AS code,
               CASE WHEN o.code IS NULL THEN 'created' WHEN n.code IS NULL THEN 'retired'
                    WHEN mo.m IS DISTINCT FROM mn.m THEN 'reshaped'
                    WHEN ST_Area(ST_SymDifference(ST_MakeValid(o.geom), ST_MakeValid(n.geom)))
                         > $3 * greatest(ST_Area(o.geom), 1e-18) THEN 'reshaped'
                    ELSE 'same' END AS change
        FROM o FULL JOIN n USING (code) LEFT JOIN mo USING (code) LEFT JOIN mn USING (code)
        ORDER BY 1
        """,
        [v1, v2, SHAPE_TOLERANCE],
    ).fetchall()
    out: dict[str, list[str]] = {"created": [], "retired": [], "reshaped": []}
    for code, change in rows:
        if change != "same":
            out[str(change)].append(str(code))
    return out


def repartition(
    con: duckdb.DuckDBPyConnection,
    base_version: int | None = None,
    *,
    communities: list[str] | None = None,
    caps: Caps | None = None,
    barriers: Any | None = None,
    note: str | None = None,
    actor: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    workers: int | None = None,
) -> int:
    """Partition again after the register changed, keeping what still holds.

    Every community of the register (or those named) is solved with the base version's
    assignments as ``previous``: grids whose buildings are unchanged and whose caps and
    contiguity still hold keep their codes and micro-grids; only the others are partitioned
    again, with unused codes. Communities new to the register are partitioned from scratch.
    A community whose active buildings and households are exactly those of the base version
    is carried over unchanged (when no extra ``barriers`` are given), so an unchanged register
    repartitions with zero churn. Communities are solved in ``workers`` processes (default:
    the CPUs, at most the ``threads`` setting), with the same result for any count.

    Returns
    -------
    int
        The new version (kind ``repartition``, parent ``base_version``).
    """
    base = resolve_version(con, base_version)
    caps = caps or version_caps(con, base)
    codes = community_codes(con, communities)
    prev = assignments(con, base, codes)
    same = [] if barriers is not None else unchanged_communities(con, prev, codes)
    todo = [c for c in codes if c not in set(same)]
    n_workers = check_workers(workers)
    inputs = read_communities(con, todo, barriers=barriers)
    cols = ["building_id", "unit", "micro_grid_code", "grid_code"]
    previous = {
        str(k): v[cols].reset_index(drop=True)
        for k, v in prev[prev["community_code"].isin(todo)].groupby("community_code")
    }
    snaps = solve_inputs(inputs, caps, previous=previous, workers=n_workers, progress=progress)
    vid = write_version(
        con,
        snaps,
        kind="repartition",
        parent=base,
        caps=caps,
        params={"communities": communities},
        note=note,
        actor=actor,
        carry=True if communities is not None else same,
    )
    churn_vs_parent(con, vid)
    return vid


def unchanged_communities(
    con: duckdb.DuckDBPyConnection, prev: pd.DataFrame, codes: list[str]
) -> list[str]:
    """Communities whose active buildings and households equal those of ``prev`` (base rows)."""
    reg = con.execute(
        "SELECT community_code, building_id, coalesce(households, 0) AS households "
        "FROM buildings WHERE status = 'active' AND list_contains(?::VARCHAR[], community_code)",
        [codes],
    ).df()
    old = prev.groupby(["community_code", "building_id"], as_index=False)["households"].sum()
    both = reg.merge(old, on="building_id", how="outer", suffixes=("", "_old"))
    same = (both["community_code"] == both["community_code_old"]) & (
        both["households"] == both["households_old"]
    )
    bad = set(both.loc[~same, "community_code"].dropna()) | set(
        both.loc[~same, "community_code_old"].dropna()
    )
    return [c for c in codes if c not in bad and c in set(old["community_code"])]


class PointIndex:
    """Polygons of one version (grids, micro-grids, unit grids) in an STRtree."""

    def __init__(self, con: duckdb.DuckDBPyConnection, version: int) -> None:
        import shapely

        self.levels: dict[str, tuple[Any, list[str], list[str]]] = {}
        for kind, code, table in (
            ("grid", "grid_code", "grids"),
            ("micro_grid", "micro_grid_code", "micro_grids"),
            ("unit_grid", "unit_grid_code", "unit_grids"),
        ):
            rows = con.execute(
                f"SELECT {code}, community_code, ST_AsWKB(geom) FROM {table} "
                "WHERE version_id = ? AND geom IS NOT NULL ORDER BY 1",
                [version],
            ).fetchall()
            geoms = shapely.from_wkb([bytes(r[2]) for r in rows])
            self.levels[kind] = (
                shapely.STRtree(geoms),
                [str(r[0]) for r in rows],
                [str(r[1]) for r in rows],
            )

    def at(self, lon: float, lat: float) -> dict[str, tuple[str, str]]:
        """``{kind: (code, community)}`` of the grid, micro-grid and unit grid covering a WGS84
        point (the kinds none covers are left out)."""
        import shapely

        pt = shapely.Point(lon, lat)
        out: dict[str, tuple[str, str]] = {}
        for kind, (tree, codes, comms) in self.levels.items():
            hit = tree.query(pt, predicate="intersects")  # bbox prefilter, then the exact test
            if len(hit):
                i = min(int(h) for h in hit)  # on a shared edge: the lowest code
                out[kind] = (codes[i], comms[i])
        return out


def _index(con: duckdb.DuckDBPyConnection, version: int | None) -> tuple[int, PointIndex]:
    """The version and its index, cached by the store's data version of the grids (a version
    never changes once written, but the active one moves with every edit)."""
    if version is None:
        return store.cached(con, "grid_partition.point_index", ("grid_partition",), _active_index)
    v = int(version)
    return store.cached(
        con, f"grid_partition.point_index@{v}", ("grid_partition",), lambda c: _version_index(c, v)
    )


def _active_index(con: duckdb.DuckDBPyConnection) -> tuple[int, PointIndex]:
    v = active_version(con)
    return v, PointIndex(con, v)


def _version_index(con: duckdb.DuckDBPyConnection, version: int) -> tuple[int, PointIndex]:
    sql = "SELECT 1 FROM grid_versions WHERE version_id = ?"
    if con.execute(sql, [version]).fetchone() is None:
        raise NotFound(f"grid version {version} does not exist")
    return version, PointIndex(con, version)


def grid_at(
    con: duckdb.DuckDBPyConnection,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    version: int | None = None,
) -> dict[str, Any]:
    """Grid, micro-grid, unit grid and community at a point.

    The polygons of a version are loaded once into an in-memory STRtree (bounding-box
    prefilter, then an exact point-in-polygon test); later calls cost no query while the grids
    are unchanged (:func:`store.cached`).

    Parameters
    ----------
    lon, lat
        The point in ``crs`` (``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``).
    version
        Default the active version.

    Raises
    ------
    NotFound
        When no grid of the version covers the point.
    """
    from common.coords import transform

    if crs.lower().replace("-", "") not in ("wgs84", "4326", "epsg:4326"):
        lon, lat = transform(float(lon), float(lat), crs, "wgs84")
    v, idx = _index(con, version)
    found = idx.at(float(lon), float(lat))
    if "grid" not in found:
        raise NotFound(f"no grid of version {v} covers the point ({lon:.6f}, {lat:.6f})")
    return {
        "version": v,
        "lon": float(lon),
        "lat": float(lat),
        "community_code": found["grid"][1],
        "grid_code": found["grid"][0],
        "micro_grid_code": found.get("micro_grid", (None, None))[0],
        "unit_grid_code": found.get("unit_grid", (None, None))[0],
    }


def quality(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any]:
    """The quality report of a version.

    Returns
    -------
    dict
        ``micro_over_cap`` / ``grid_over_cap`` (violations: over the cap and not flagged),
        ``micro_flagged`` / ``grid_flagged``, ``micro_noncontiguous`` / ``grid_noncontiguous``,
        ``micro_polsby_popper`` / ``grid_polsby_popper`` (mean), ``micro_households_cv`` /
        ``grid_households_cv``, ``tiling_area_error`` (worst community), ``churn`` vs the
        parent version, per-community reports, ``violations`` (the rules broken) and ``ok``.
    """
    v = resolve_version(con, version)
    row = version_row(con, v)
    caps = version_caps(con, v)
    stored = row["quality"]
    m = con.execute(
        "SELECT households, cap, flagged, compactness FROM micro_grids WHERE version_id = ?", [v]
    ).df()
    g = con.execute(
        "SELECT households, micro_grids, compactness FROM grids WHERE version_id = ?", [v]
    ).df()
    if not len(g):
        raise NotFound(f"grid version {v} holds no grids")
    from grid_partition.quality import cv

    comm = stored.get("communities", {})
    gflag = (g["households"] > caps.grid_cap) & (g["micro_grids"] == 1)
    out: dict[str, Any] = {
        "version": v,
        "kind": row["kind"],
        "status": row["status"],
        "parent_version": None if row["parent_version"] is None else int(row["parent_version"]),
        "caps": caps.as_dict(),
        "communities": len(comm),
        "buildings": int(sum(r.get("buildings", 0) for r in comm.values())),
        "households": int(m["households"].sum()),
        "grids": len(g),
        "micro_grids": len(m),
        "micro_over_cap": int(((m["households"] > m["cap"]) & ~m["flagged"]).sum()),
        "micro_flagged": int(m["flagged"].sum()),
        "grid_over_cap": int(((g["households"] > caps.grid_cap) & ~gflag).sum()),
        "grid_flagged": int(gflag.sum()),
        "micro_noncontiguous": int(sum(r.get("micro_noncontiguous", 0) for r in comm.values())),
        "grid_noncontiguous": int(sum(r.get("grid_noncontiguous", 0) for r in comm.values())),
        "micro_polsby_popper": float(m["compactness"].mean()),
        "grid_polsby_popper": float(g["compactness"].mean()),
        "micro_households_cv": cv(m["households"]),
        "grid_households_cv": cv(g["households"]),
        "tiling_area_error": max(
            (r.get("tiling_area_error", 0.0) for r in comm.values()), default=0.0
        ),
        "churn": stored.get("churn"),
    }
    rules = {
        "micro_cap": out["micro_over_cap"],
        "grid_cap": out["grid_over_cap"],
        "contiguity": out["micro_noncontiguous"] + out["grid_noncontiguous"],
        "tiling": int(out["tiling_area_error"] > 1e-6),
    }
    out["violations"] = sorted(k for k, n in rules.items() if n)
    out["ok"] = not out["violations"]
    out["per_community"] = comm
    return out


def list_versions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every version: id, parent, status, kind, note, actor, created_at, grids, households."""
    rows = con.execute(
        """
        SELECT v.version_id, v.parent_version, v.status, v.kind, v.note, v.actor,
               strftime(v.created_at, '%Y-%m-%dT%H:%M:%S%z') AS created_at,
               (SELECT count(*) FROM grids g WHERE g.version_id = v.version_id) AS grids,
               (SELECT coalesce(sum(households), 0) FROM grids g
                WHERE g.version_id = v.version_id) AS households
        FROM grid_versions v ORDER BY v.version_id
        """
    ).df()
    return [
        {
            str(k): (None if pd.isna(v) else v) if not isinstance(v, list | dict) else v
            for k, v in r.items()
        }
        for r in rows.to_dict(orient="records")
    ]


def point_index(
    con: duckdb.DuckDBPyConnection, version: int | None = None
) -> tuple[int, PointIndex]:
    """The version number and the in-memory point index of a grid version (active by default).

    This is what :func:`grid_at` looks points up in; a server answers points with it and no SQL
    (``index.at(lon, lat)`` gives the grid, micro-grid and unit grid at a WGS84 point).

    Raises
    ------
    NoActiveGridVersion
        (a :class:`~common.errors.NotFound`) when no version is active and none is asked for.
    NotFound
        When the version asked for does not exist.
    """
    return _index(con, version)


__all__ = [
    "PointIndex",
    "diff",
    "grid_at",
    "list_versions",
    "point_index",
    "quality",
    "repartition",
    "resolve_version",
    "version_caps",
]
