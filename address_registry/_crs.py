"""The projected CRS used for areas and distances (one switch point), and projecting to it.

The register measures in one kind of CRS: the CGCS2000 3-degree Gauss-Kruger zone of
:func:`common.coords.metric_crs` (the build chooses one zone for the whole city, a lifecycle
operation the zone at the building), so a footprint has one area whichever step measured it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from common.coords import metric_crs, metric_crs_for_bounds
from common.errors import InvalidInput

#: Densify WGS84 outlines to this step (degrees) before projecting them.
SEGMENT_DEG = 0.0005


def metric_crs_for(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> str:
    """Return the metric CRS (CGCS2000 3-degree Gauss-Kruger zone) for WGS84 data in ``frame``.

    One CRS serves a whole build, chosen from the extent of its buildings, so that every layer
    of the build is measured in the same zone.
    """
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if math.isnan(minx):
        raise InvalidInput("cannot choose a metric CRS for an empty layer")
    return str(metric_crs_for_bounds(minx, miny, maxx, maxy))


def metric_crs_at(geom: BaseGeometry) -> pyproj.CRS:
    """The metric CRS at a WGS84 geometry (its centroid): the zone a build there would use."""
    centre = geom.centroid
    return metric_crs(centre.x, centre.y)


def to_metric(geoms: Iterable[BaseGeometry], crs: str | pyproj.CRS) -> np.ndarray:
    """WGS84 geometries densified to :data:`SEGMENT_DEG` and projected to ``crs``.

    Densifying first keeps the straight edges of a long box (the sample extent) from cutting
    slivers off a district when both are projected: the district part is then exact to ~1e-9.

    >>> square = shapely.box(121.48, 31.23, 121.481, 31.231)
    >>> round(float(to_metric([square], metric_crs_at(square))[0].area))
    10569
    """
    dense = shapely.segmentize(np.asarray(list(geoms), dtype=object), SEGMENT_DEG)
    forward = _from_wgs84(crs if isinstance(crs, str) else crs.srs).transform

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(forward(coords[:, 0], coords[:, 1]))

    return np.asarray(shapely.transform(dense, project), dtype=object)


@lru_cache(maxsize=16)
def _from_wgs84(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
