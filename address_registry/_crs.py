"""The projected CRS used for areas and distances (one switch point)."""

from __future__ import annotations

import math

import geopandas as gpd

from common.coords import metric_crs_for_bounds
from common.errors import InvalidInput


def metric_crs_for(frame: gpd.GeoSeries | gpd.GeoDataFrame) -> str:
    """Return the metric CRS (CGCS2000 3-degree Gauss-Kruger zone) for WGS84 data in ``frame``.

    One CRS serves a whole build, chosen from the extent of its buildings, so that every layer
    of the build is measured in the same zone.
    """
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if math.isnan(minx):
        raise InvalidInput("cannot choose a metric CRS for an empty layer")
    return str(metric_crs_for_bounds(minx, miny, maxx, maxy))
