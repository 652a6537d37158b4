"""Unit grids (万米单元网格): cells of about 10,000 m² that tile a community.

The community is cut into blocks along the roads (the barrier lines, and any other road lines
given), then each block is cut by recursive bisection across its longer side into
``round(area / target)`` pieces of equal area. Cells are numbered in Hilbert order of their
representative points: code = community code (12 digits) + serial (3 digits), shown with a
``U`` in front. A point lies in exactly one cell: where cells share an edge, the cell with the
smallest code wins (:func:`unit_grid_at`).

>>> from shapely import box
>>> cells = unit_grids(box(0, 0, 200, 100), community_code="500101001001")
>>> cells["code"].tolist()
['500101001001001', '500101001001002']
>>> unit_grid_at(cells, [(50, 50), (150, 50), (500, 500)]).tolist()
['500101001001001', '500101001001002', None]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry as Geometry

from common.errors import InvalidInput
from grid_partition._hilbert import hilbert_index
from grid_partition.boundaries import blocks

TARGET_AREA = 10_000.0


#: Precision of a cut position (CRS units: a micrometre).
CUT_XTOL = 1e-6


def _cut(poly: Geometry, k: int, out: list[Geometry]) -> None:
    """Append ``k`` pieces of ``poly`` with equal areas, cut across the longer side.

    The cut position is the root of (area left of the cut − the wanted share), a continuous
    increasing function: Brent's method finds it to :data:`CUT_XTOL` in about six rectangle
    clips (bisection needed fifty overlays, and they were the cost).
    """
    from scipy.optimize import brentq

    if k <= 1:
        out.append(poly)
        return
    k1 = k // 2
    x0, y0, x1, y1 = poly.bounds
    along_x = (x1 - x0) >= (y1 - y0)
    lo, hi = (x0, x1) if along_x else (y0, y1)
    goal = poly.area * k1 / k

    def left(c: float) -> Geometry:
        box = (
            shapely.box(x0 - 1, y0 - 1, c, y1 + 1)
            if along_x
            else shapely.box(x0 - 1, y0 - 1, x1 + 1, c)
        )
        return shapely.intersection(poly, box)

    def left_area(c: float) -> float:
        # GEOS's rectangle clip: ~20x faster than an overlay, same area; its output may be
        # invalid (so the pieces kept are cut by `left`) and it refuses some inputs
        rect = (x0 - 1, y0 - 1, c, y1 + 1) if along_x else (x0 - 1, y0 - 1, x1 + 1, c)
        try:
            return float(shapely.area(shapely.clip_by_rect(poly, *rect)))
        except shapely.errors.GEOSException:
            return float(left(c).area)

    if hi > lo:
        cut = float(brentq(lambda c: left_area(c) - goal, lo, hi, xtol=CUT_XTOL, maxiter=200))
    else:
        cut = lo
    lpart = left(cut)
    rpart = shapely.difference(poly, lpart)
    _cut(lpart, k1, out)
    _cut(rpart, k - k1, out)


def unit_grids(
    community: Geometry,
    *,
    roads: Any | None = None,
    community_code: str = "000000000000",
    target_area: float = TARGET_AREA,
    crs: Any | None = None,
) -> Any:
    """Cells of about ``target_area`` that tile ``community`` and follow ``roads``.

    Parameters
    ----------
    community
        The community polygon in a metric CRS.
    roads
        Road (and water) lines or polygons that cells must not cross.
    community_code
        The 12-digit division code.
    target_area
        Wanted cell area in square CRS units (10,000 m²).
    crs
        CRS of the result.

    Returns
    -------
    geopandas.GeoDataFrame
        code (15 digits), display (``U`` + code), area, geometry; ordered by code.

    Raises
    ------
    InvalidInput
        For a bad code, a non-positive target or more than 999 cells.
    """
    import geopandas as gpd

    if not (
        isinstance(community_code, str) and len(community_code) == 12 and community_code.isdigit()
    ):
        raise InvalidInput(f"community_code must be 12 digits, not {community_code!r}")
    if not target_area > 0:
        raise InvalidInput(f"target_area must be positive, not {target_area!r}")
    blks = blocks(community, roads)
    ks = [max(1, round(blk.area / target_area)) for blk in blks]
    if sum(ks) > 999:
        raise InvalidInput(
            f"{sum(ks)} unit grids do not fit the 3-digit serial (at most 999); "
            f"community area {community.area:.0f}, target {target_area:.0f}"
        )
    pieces: list[Geometry] = []
    for blk, k in zip(blks, ks, strict=True):
        _cut(blk, k, pieces)
    geoms = np.asarray([g for g in pieces if not g.is_empty and g.area > 0], dtype=object)
    if len(geoms) > 999:
        raise InvalidInput(
            f"{len(geoms)} unit grids do not fit the 3-digit serial (at most 999); "
            f"community area {community.area:.0f}, target {target_area:.0f}"
        )
    rp = shapely.get_coordinates(shapely.point_on_surface(geoms))
    x0, y0, x1, y1 = community.bounds
    order = np.argsort(hilbert_index(rp[:, 0], rp[:, 1], (x0, y0, x1, y1)), kind="stable")
    geoms = geoms[order]
    codes = [f"{community_code}{i + 1:03d}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"code": codes, "display": ["U" + c for c in codes], "area": shapely.area(geoms)},
        geometry=list(geoms),
        crs=crs,
    )


def unit_grid_at(cells: Any, points: Any) -> np.ndarray:
    """Code of the unit grid holding each point (None outside every cell).

    A point on an edge or corner shared by several cells goes to the smallest code, so every
    point and every building (by its representative point) has exactly one cell.

    Parameters
    ----------
    cells
        The frame returned by :func:`unit_grids`.
    points
        Shapely points, geometries (their representative points are used) or (x, y) pairs.
    """
    arr = np.asarray(points, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 2 and not isinstance(arr[0, 0], Geometry):
        geoms = shapely.points(np.asarray(points, dtype=np.float64))
    else:
        geoms = np.asarray(list(points), dtype=object)
        nonpt = shapely.get_type_id(geoms) != 0
        if nonpt.any():
            geoms = geoms.copy()
            geoms[nonpt] = shapely.point_on_surface(geoms[nonpt])
    cell_geoms = np.asarray(cells.geometry, dtype=object)
    codes = np.asarray(cells["code"], dtype=object)
    tree = shapely.STRtree(cell_geoms)
    pi, ci = tree.query(geoms, predicate="intersects")
    geoms = np.asarray(geoms, dtype=object)
    out: np.ndarray = np.empty(len(geoms), dtype=object)
    out[:] = None
    if len(pi):
        df = pd.DataFrame({"p": pi, "c": codes[ci]}).groupby("p")["c"].min()
        out[df.index.to_numpy()] = df.to_numpy()
    return out
