"""Camera coverage of public space per grid or micro-grid.

A camera sees a circular sector: its range (``camera_range_m``), heading (``camera_heading_deg``,
0 = north, clockwise) and field of view (``camera_fov_deg``; 360 or more: a full circle). Public
space of a block is its polygon minus the footprints of active buildings. Coverage is the union
of the sectors clipped to the public space; occlusion by buildings is not modelled. Areas are in
square metres, computed in a local transverse Mercator projection
(:func:`common.coords.local_metric_crs`, centred on the blocks).

The joins here are polygon overlays (sectors and footprints against blocks, through shapely's
STRtree), not point-in-polygon or nearest-polygon joins, so they do not go through the spatial
engine of :mod:`fusion.engine`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from address_registry import queries as registry
from common.coords import local_metric_crs
from common.errors import InvalidInput
from common.workers import check_workers, fork_map
from grid_partition import queries as grids
from layers import queries as records

#: Largest angle between two vertices of a sector's arc, degrees.
ARC_STEP_DEG = 3.0
#: Fewer blocks than this are done in this process; more are spread in chunks of at most
#: ``_CHUNK_BLOCKS`` over the worker processes.
_PARALLEL_MIN_BLOCKS = 2_000
_CHUNK_BLOCKS = 5_000
_LEVELS = ("grid", "micro_grid")


def sector(x: float, y: float, range_m: float, heading_deg: float, fov_deg: float) -> Any:
    """The sector a camera at metric ``(x, y)`` sees, as a shapely polygon (metres).

    >>> round(sector(0, 0, 10, 0, 360).area / (math.pi * 100), 4)  # a 3° polygonal circle
    0.9995
    """
    if not (range_m > 0 and math.isfinite(range_m)):
        raise InvalidInput(f"camera range must be positive metres, got {range_m!r}")
    if fov_deg >= 360:
        return shapely.Point(x, y).buffer(range_m, quad_segs=int(90 / ARC_STEP_DEG))
    if not fov_deg > 0:
        raise InvalidInput(f"camera field of view must be positive degrees, got {fov_deg!r}")
    steps = max(2, math.ceil(fov_deg / ARC_STEP_DEG))
    angles = np.radians(heading_deg - fov_deg / 2 + np.linspace(0, fov_deg, steps + 1))
    arc = np.column_stack([x + range_m * np.sin(angles), y + range_m * np.cos(angles)])
    return shapely.Polygon(np.vstack([[x, y], arc, [x, y]]))


def coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str = "grid",
    version: int | None = None,
    statuses: Sequence[str] = ("online",),
    with_geometry: bool = False,
    workers: int | None = None,
) -> pd.DataFrame:
    """Public space, covered and uncovered area and covered share per block.

    Parameters
    ----------
    level
        ``grid`` or ``micro_grid``.
    version
        Grid version (default: the active one).
    statuses
        Camera statuses that count (default: online only).
    with_geometry
        Add ``uncovered_wkt``: the uncovered public space (WGS84 WKT).
    workers
        Processes sharing the blocks (:func:`common.workers.fork_map`; ``None``: the default
        count) when there are at least :data:`_PARALLEL_MIN_BLOCKS`; the same rows either way.

    Returns
    -------
    pandas.DataFrame
        ``code, public_m2, covered_m2, uncovered_m2, share, cameras`` (cameras whose sector
        reaches the block's public space), one row per block, by code.
    """
    if level not in _LEVELS:
        raise InvalidInput(f"coverage level must be one of {sorted(_LEVELS)!r}, got {level!r}")
    if version is None:
        version = grids.active_version(con)
    workers = check_workers(workers)
    blocks = grids.grid_shapes(con, level, version)
    columns = ["code", "public_m2", "covered_m2", "uncovered_m2", "share", "cameras"]
    if blocks.empty:
        return pd.DataFrame(columns=columns)
    codes = [str(c) for c in blocks["code"]]
    geoms = shapely.from_wkb([bytes(b) for b in blocks["wkb"]])
    lon0, lat0 = shapely.centroid(shapely.union_all(shapely.envelope(geoms))).coords[0]
    proj = local_metric_crs(lon0, lat0)
    fwd = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    inv = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)

    def to_m(g: Any) -> Any:
        return shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))

    blocks_m = _make_valid(to_m(geoms))
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    found = registry.active_building_shapes(con, (minx, miny, maxx, maxy))
    buildings_m = _make_valid(to_m(shapely.from_wkb([bytes(b) for b in found["wkb"]])))
    cams = con.execute(
        "SELECT lon, lat, camera_range_m, coalesce(camera_heading_deg, 0), "
        f"coalesce(camera_fov_deg, 360) FROM ({records.records_sql('sensors')}) "
        "WHERE sensor_type = 'camera' AND lon IS NOT NULL AND lat IS NOT NULL "
        "AND camera_range_m > 0 AND list_contains(?, status) ORDER BY source_id",
        [list(statuses)],
    ).fetchall()
    sectors = []
    if cams:
        x, y = fwd.transform([c[0] for c in cams], [c[1] for c in cams])
        sectors = [
            sector(float(xi), float(yi), float(c[2]), float(c[3]), float(c[4]))
            for xi, yi, c in zip(x, y, cams, strict=True)
        ]
    sector_arr = np.asarray(sectors, dtype=object)
    sector_tree = shapely.STRtree(sector_arr)
    building_tree = shapely.STRtree(buildings_m)

    def block_rows(span: tuple[int, int]) -> list[dict[str, Any]]:
        part_codes = codes[span[0] : span[1]]
        public = _public_space(blocks_m[span[0] : span[1]], buildings_m, building_tree)
        bi, si = sector_tree.query(public, predicate="intersects")
        cut = np.searchsorted(bi, np.arange(len(public) + 1))
        rows: list[dict[str, Any]] = []
        for k, (code, space) in enumerate(zip(part_codes, public, strict=True)):
            seen = si[cut[k] : cut[k + 1]]
            if len(seen):
                covered = shapely.intersection(space, shapely.union_all(sector_arr[seen]))
            else:
                covered = shapely.Polygon()
            pa, ca = float(shapely.area(space)), float(shapely.area(covered))
            row: dict[str, Any] = {
                "code": code,
                "public_m2": round(pa, 1),
                "covered_m2": round(ca, 1),
                "uncovered_m2": round(pa - ca, 1),
                "share": round(ca / pa, 4) if pa > 0 else None,
                "cameras": len(seen),
            }
            if with_geometry:
                rest = shapely.difference(space, covered)
                row["uncovered_wkt"] = shapely.transform(
                    rest, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1]))
                ).wkt
            rows.append(row)
        return rows

    # blocks are independent: spread them over worker processes forked from this one
    n = len(codes)
    step = max(1, min(_CHUNK_BLOCKS, -(-n // max(1, workers))))
    spans = [(i, min(n, i + step)) for i in range(0, n, step)]
    rows = [
        row
        for part in fork_map(block_rows, spans, workers if n >= _PARALLEL_MIN_BLOCKS else 1)
        for row in part
    ]
    return pd.DataFrame(rows)


def _make_valid(geoms: Any) -> Any:
    """``shapely.make_valid`` of the invalid ones only (it returns a valid one as it is, slower
    than the validity test).

    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> [g.geom_type for g in _make_valid(np.array([bowtie, shapely.box(0, 0, 1, 1)]))]
    ['MultiPolygon', 'Polygon']
    """
    out = np.array(geoms, dtype=object)
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.make_valid(out[bad])
    return out


def _public_space(blocks: Any, buildings: Any, tree: Any) -> Any:
    """Each block minus the footprints of the buildings (array of metric polygons).

    The same point sets as ``difference(block, union_all(buildings meeting it))``, built
    cheaply: a building properly inside a polygon block that meets no other building (and has
    no courtyard) becomes a hole of the block as it is, with no overlay; only the others (those
    crossing the block's edge or touching a neighbour) are unioned and cut out.
    """
    blocks = np.asarray(blocks, dtype=object)
    shapely.prepare(blocks)
    bi, bj = tree.query(blocks, predicate="intersects")
    hole = shapely.get_type_id(blocks[bi]) == shapely.GeometryType.POLYGON
    hole &= shapely.get_type_id(buildings[bj]) == shapely.GeometryType.POLYGON
    hole &= shapely.get_num_interior_rings(buildings[bj]) == 0
    hole[hole] = shapely.contains_properly(blocks[bi[hole]], buildings[bj[hole]])
    if hole.any():
        # a building touching another one cannot be a hole (holes of a valid polygon meet in
        # points at most): keep as holes those that meet nothing but themselves
        cand = np.unique(bj[hole])
        qi, _ = tree.query(buildings[cand], predicate="intersects")
        alone = np.bincount(qi, minlength=len(cand)) == 1
        hole[hole] = alone[np.searchsorted(cand, bj[hole])]
    out = blocks.copy()
    with_holes = np.unique(bi[hole])
    if len(with_holes):
        shells = shapely.get_exterior_ring(blocks[with_holes])
        old_n = shapely.get_num_interior_rings(blocks[with_holes])
        old_idx = np.repeat(np.arange(len(with_holes)), old_n)
        old_rings = shapely.get_interior_ring(blocks[with_holes][old_idx], _ranks(old_n))
        new_idx = np.searchsorted(with_holes, bi[hole])
        new_rings = shapely.get_exterior_ring(buildings[bj[hole]])
        order = np.argsort(np.concatenate([old_idx, new_idx]), kind="stable")
        rings = np.concatenate([old_rings, new_rings])[order]
        ring_idx = np.concatenate([old_idx, new_idx])[order]
        out[with_holes] = _polygons_with_holes(shells, rings, ring_idx)
    rest_i, rest_j = bi[~hole], bj[~hole]
    cut = np.searchsorted(rest_i, np.arange(len(blocks) + 1))
    for k in np.unique(rest_i):
        near = buildings[rest_j[cut[k] : cut[k + 1]]]
        out[k] = shapely.difference(out[k], shapely.union_all(near))
    return out


def _ranks(counts: Any) -> Any:
    """``0 .. n - 1`` for each count ``n``, concatenated.

    >>> _ranks(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def _polygons_with_holes(shells: Any, rings: Any, ring_idx: Any) -> Any:
    """Polygons of ``shells``, each with the ``rings`` whose ``ring_idx`` is its index as holes.

    >>> sq = shapely.get_exterior_ring(shapely.box(0, 0, 4, 4))
    >>> hole = shapely.get_exterior_ring(shapely.box(1, 1, 2, 2))
    >>> shapely.area(_polygons_with_holes(np.array([sq, sq]), np.array([hole]), np.array([1])))
    array([16., 15.])
    """
    idx = np.concatenate([np.arange(len(shells)), np.asarray(ring_idx, dtype=np.int64)])
    order = np.argsort(idx, kind="stable")  # each shell before its holes
    parts = np.concatenate([np.asarray(shells, dtype=object), np.asarray(rings, dtype=object)])
    return shapely.polygons(parts[order], indices=idx[order])
