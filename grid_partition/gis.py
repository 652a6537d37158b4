"""GeoPackage round trip of a grid version for planners working in QGIS.

:func:`export_version` writes four layers (WGS84): ``grids``, ``micro_grids``, ``unit_grids``
and ``assignments`` (one point per building, or per unit of a building split by unit, with
``building_id``, ``unit``, ``micro_grid_code``, ``grid_code``, ``community_code``,
``households``). Every layer carries ``version_id``, the version it came from.

:func:`import_version` reads the file back after the planner edited it. Two kinds of edit are
understood, per community:

* attributes of ``assignments`` changed (a building given another micro-grid / grid code);
* polygons of ``micro_grids`` (or ``grids``) redrawn or added: buildings are then assigned by
  containment of their representative point (a micro-grid moved to another grid is renumbered
  in it).

Everything is validated together (unknown or missing buildings, codes that do not match their
community, caps, contiguity, nesting); when anything is wrong nothing is stored except a
refused ``grid_edits`` row, and :class:`~common.errors.Conflict` lists every problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely

from address_registry import queries as register
from common.errors import InvalidInput, NotFound
from grid_partition._io import record_edit, write_version
from grid_partition._register import load_communities
from grid_partition._snapshot import (
    Problem,
    Snapshot,
    check_rules,
    materialise,
    prepare,
    refuse,
    short_list,
)
from grid_partition.queries import (
    assignments_frame,
    assignments_sql,
    grids_frame,
    micro_grids_frame,
    resolve_version,
    unit_grids_frame,
    version_caps,
)

LAYERS = ("grids", "micro_grids", "unit_grids", "assignments")
#: The polygon layers and the frames they are written from.
_POLYGONS = {"grids": grids_frame, "micro_grids": micro_grids_frame, "unit_grids": unit_grids_frame}


def _layer(con: duckdb.DuckDBPyConnection, layer: str, version: int) -> pd.DataFrame:
    """The rows of one layer of :data:`LAYERS`, geometry as WKB (``wkb``): the polygons of the
    version, or one point per assignment (its building's point)."""
    if layer in _POLYGONS:
        return _POLYGONS[layer](con, version, geometry=True)
    return con.execute(
        f"SELECT a.*, ST_AsWKB(ST_Point(p.lon, p.lat)) AS wkb FROM ({assignments_sql(version)}) a "
        f"LEFT JOIN ({register.building_points_sql()}) p USING (building_id) "
        "ORDER BY a.building_id, a.unit"
    ).df()


def export_version(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike[str],
    version: int | None = None,
    format: str = "gpkg",
) -> dict[str, Any]:
    """Write a version to a GeoPackage (layers :data:`LAYERS`, EPSG:4326), replacing the file.

    Returns
    -------
    dict
        ``version``, ``path`` and the number of features per layer.
    """
    import geopandas as gpd
    import pyogrio

    if format.lower() not in ("gpkg", "geopackage"):
        raise InvalidInput(f"export format must be 'gpkg', not {format!r}")
    v = resolve_version(con, version)
    target = Path(path)
    if target.exists():
        target.unlink()
    counts: dict[str, int] = {}
    for layer in LAYERS:
        df = _layer(con, layer, v)
        geom = shapely.from_wkb([None if w is None else bytes(w) for w in df.pop("wkb")])
        gdf = gpd.GeoDataFrame(df, geometry=np.asarray(geom, dtype=object), crs="EPSG:4326")
        for col in gdf.columns:
            if col != "geometry" and gdf[col].dtype == object:
                gdf[col] = gdf[col].astype(str).where(gdf[col].notna(), None)
        pyogrio.write_dataframe(gdf, target, layer=layer, driver="GPKG")
        counts[layer] = len(gdf)
    return {"version": v, "path": str(target), "layers": counts}


def _read(path: Path, layer: str) -> Any:
    import pyogrio

    if layer not in {name for name, _ in pyogrio.list_layers(path)}:
        return None
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def _str(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))


def _drawn(con: duckdb.DuckDBPyConnection, layer: Any, table: str, key: str, base: int) -> set[str]:
    """Communities whose polygons in ``layer`` differ from the base version (redrawn / new)."""
    if layer is None or not len(layer):
        return set()
    old = _POLYGONS[table](con, base, geometry=True)
    before = {str(c): shapely.from_wkb(bytes(w)) for c, w in zip(old[key], old["wkb"], strict=True)}
    out: set[str] = set()
    for code, g in zip(_str(layer[key]), layer.geometry, strict=True):
        if code is None or g is None:
            continue
        prev = before.get(code)
        if prev is None or shapely.area(shapely.symmetric_difference(prev, g)) > 1e-6 * max(
            prev.area, 1e-18
        ):
            out.add(code[:12])
    return out


def _by_polygon(
    rows: pd.DataFrame, points: pd.DataFrame, layer: Any, key: str, community: str
) -> tuple[pd.Series, list[Problem]]:
    """Code of ``layer`` (polygons of ``community``) containing each row's building point."""
    codes = _str(layer[key])
    mine = codes.str[:12] == community
    polys = np.asarray(layer.geometry[mine.to_numpy()], dtype=object)
    names = codes[mine].to_numpy(dtype=object)
    pts = points.reindex(rows["building_id"]).to_numpy()
    geoms = shapely.points(pts[:, 0].astype(float), pts[:, 1].astype(float))
    tree = shapely.STRtree(polys)
    pi, gi = tree.query(geoms, predicate="intersects")
    found = np.full(len(rows), None, dtype=object)
    order = np.lexsort((names[gi].astype(str), pi))
    for p, g in zip(pi[order][::-1], gi[order][::-1], strict=True):
        found[p] = names[g]  # lowest code wins on a shared edge
    probs = []
    lost = rows["building_id"][pd.isna(found)].unique()
    if len(lost):
        probs.append(
            Problem(
                "uncovered",
                None,
                f"buildings {list(lost[:5])} of community "
                f"{community} lie in no drawn {key[:-5].replace('_', '-')} polygon",
                community,
            )
        )
    return pd.Series(found, index=rows.index), probs


def _renumber(rows: pd.DataFrame) -> pd.DataFrame:
    """Micro-grids whose grid changed get a free serial in their new grid."""
    bad = rows["micro"].str[:15] != rows["grid"]
    if not bad.any():
        return rows
    used: dict[str, set[int]] = {}
    for m in rows.loc[~bad, "micro"].unique():
        used.setdefault(m[:15], set()).add(int(m[15:]))
    ren: dict[tuple[str, str], str] = {}
    for key, _ in rows[bad].groupby(["micro", "grid"], sort=True):
        m, g = (str(v) for v in key)
        taken = used.setdefault(g, set())
        s = next((k for k in range(1, 100) if k not in taken), 100)
        taken.add(s)
        ren[(m, g)] = f"{g}{s:02d}"
    rows = rows.copy()
    rows.loc[bad, "micro"] = [
        ren[(m, g)] for m, g in zip(rows.loc[bad, "micro"], rows.loc[bad, "grid"], strict=True)
    ]
    return rows


def import_version(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike[str],
    *,
    version: int | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Validate an edited GeoPackage and store it as a new version (kind ``import``).

    Parameters
    ----------
    path
        A file written by :func:`export_version` and edited.
    version
        The base version. By default the ``version_id`` in the file, which must be the active
        version (rule ``stale_version`` otherwise: someone made a version since the export).

    Returns
    -------
    dict
        ``version`` (the new one; the base when nothing changed), ``base_version``,
        ``changed``, ``communities`` changed, ``moved_rows``.

    Raises
    ------
    Conflict
        Listing every problem (``problems`` in its context) when the file breaks a rule.
    """
    src = Path(path)
    if not src.is_file():
        raise NotFound(f"no such file: {src}")
    layers = {name: _read(src, name) for name in ("assignments", "micro_grids", "grids")}
    a = layers["assignments"]
    need = {"building_id", "unit", "micro_grid_code", "grid_code"}
    if a is None or not need <= set(a.columns):
        raise InvalidInput(f"{src} lacks an 'assignments' layer with columns {sorted(need)}")
    if version is None and "version_id" in a.columns and a["version_id"].notna().any():
        ids = sorted({int(v) for v in a["version_id"].dropna()})
        if len(ids) > 1:
            raise InvalidInput(f"assignments mix versions {ids}")
        active = resolve_version(con)
        if ids[0] != active:
            exc = refuse(
                [
                    Problem(
                        "stale_version",
                        None,
                        f"{src.name} was exported from version {ids[0]} but version "
                        f"{active} is active now: export again, or import on top of "
                        f"version {ids[0]} explicitly (version={ids[0]})",
                    )
                ]
            )
            record_edit(
                con,
                base=ids[0],
                result=None,
                op="import",
                detail={"path": str(src)},
                error=exc.message,
                actor=actor,
            )
            raise exc
        version = ids[0]
    base = resolve_version(con, version)
    caps = version_caps(con, base)
    rows = pd.DataFrame(
        {
            "building_id": _str(a["building_id"]),
            "unit": _str(a["unit"]).fillna("00").str.zfill(2),
            "micro_grid_code": _str(a["micro_grid_code"]),
            "grid_code": _str(a["grid_code"]),
        }
    )
    reg = (
        con.execute(
            "SELECT building_id, community_code, lon AS x, lat AS y "
            f"FROM ({register.building_points_sql()}) WHERE status = 'active'"
        )
        .df()
        .set_index("building_id")
    )
    problems: list[Problem] = []
    nulls = rows["building_id"].isna() | rows["micro_grid_code"].isna() | rows["grid_code"].isna()
    if nulls.any():
        problems.append(
            Problem(
                "code",
                None,
                f"{int(nulls.sum())} assignment features lack a "
                "building_id, micro_grid_code or grid_code",
            )
        )
        rows = rows[~nulls]
    unknown = ~rows["building_id"].isin(reg.index)
    if unknown.any():
        problems.append(
            Problem(
                "unknown_building",
                None,
                f"building IDs {short_list(rows.loc[unknown, 'building_id'])} "
                "are not active buildings of the register",
            )
        )
        rows = rows[~unknown]
    rows = rows.assign(community=reg["community_code"].reindex(rows["building_id"]).to_numpy())
    base_rows = assignments_frame(con, base)
    micro_drawn = _drawn(con, layers["micro_grids"], "micro_grids", "micro_grid_code", base)
    grid_drawn = _drawn(con, layers["grids"], "grids", "grid_code", base) - micro_drawn
    communities = _changed(rows, base_rows, reg, micro_drawn | grid_drawn)
    ctxs = {
        c.code: c
        for c in load_communities(con, [c for c in communities if c in set(reg["community_code"])])
    }
    points = reg[["x", "y"]]
    snaps: list[Snapshot] = []
    moved = 0
    for code in communities:
        ctx = ctxs.get(code)
        mine = rows[rows["community"] == code]
        if ctx is None:
            continue
        old = ctx.rows(base_rows[base_rows["community_code"] == code])
        new = ctx.rows(mine)
        if code in micro_drawn:
            found, pr = _by_polygon(new, points, layers["micro_grids"], "micro_grid_code", code)
            problems += pr
            ok = found.notna()
            new.loc[ok, "micro"] = found[ok]
            new.loc[ok, "grid"] = found[ok].str[:15]
        elif code in grid_drawn:
            found, pr = _by_polygon(new, points, layers["grids"], "grid_code", code)
            problems += pr
            ok = found.notna()
            new.loc[ok, "grid"] = found[ok]
            new = _renumber(new)
        prepared, pr = prepare(ctx, new)
        problems += pr
        both = old.merge(new, on=["building_id", "unit"], how="outer", suffixes=("_o", "_n"))
        diff = both[(both["micro_o"] != both["micro_n"]) | (both["grid_o"] != both["grid_n"])]
        if not len(diff) and not pr:
            continue
        moved += len(diff)
        touched = {str(g) for g in pd.concat([diff["grid_o"], diff["grid_n"]]).dropna()}
        problems += check_rules(ctx, prepared, caps, only=touched)
        if not problems:
            snaps.append(materialise(ctx, prepared, caps))
    detail = {"path": str(src), "communities": [s.community for s in snaps], "moved_rows": moved}
    if problems:
        exc = refuse(problems, limit=len(problems))
        record_edit(
            con, base=base, result=None, op="import", detail=detail, error=exc.message, actor=actor
        )
        raise exc
    if not snaps:
        return {"version": base, "base_version": base, "changed": False, **detail}
    vid = write_version(
        con,
        snaps,
        kind="import",
        parent=base,
        caps=caps,
        params={"path": str(src)},
        note=note,
        actor=actor,
    )
    record_edit(con, base=base, result=vid, op="import", detail=detail, actor=actor)
    return {"version": vid, "base_version": base, "changed": True, **detail}


def _changed(
    rows: pd.DataFrame, base_rows: pd.DataFrame, reg: pd.DataFrame, drawn: set[str]
) -> list[str]:
    """Communities to check: rows that differ from the base, buildings missing from the
    file or new in the register, and redrawn polygons (the others are carried unchanged)."""
    cols = ["building_id", "unit", "micro_grid_code", "grid_code"]
    m = rows[cols].merge(base_rows[cols], on=cols, how="outer", indicator=True)
    ids = set(m.loc[m["_merge"] != "both", "building_id"])
    ids |= set(reg.index) - set(rows["building_id"])
    out = set(reg["community_code"].reindex(list(ids)).dropna())
    out |= set(base_rows.loc[base_rows["building_id"].isin(ids), "community_code"])
    return sorted(out | drawn)
