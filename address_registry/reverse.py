"""Reverse geocoding: a point → the building containing it, or the nearest within a tolerance.

One set-based DuckDB query serves both a single lookup (:func:`reverse`) and a batch
(:func:`reverse_many`, used by fusion to link records by coordinates). Distances are metres,
measured in a transverse Mercator projection centred on the query points (exact to well under a
centimetre over a city), never in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from yizhi.errors import InvalidInput, NotFound

#: Metres per degree of latitude (mean); used only to size the degree-space prefilter box.
_M_PER_DEG = 110_574.0
DEFAULT_TOLERANCE_M = 50.0

_REVERSE_SQL = """
WITH pts AS (
    SELECT pid, lon, lat, ST_Point(lon, lat) AS pt,
           ST_Transform(ST_Point(lon, lat), 'EPSG:4326', $proj, always_xy := true) AS ptm
    FROM _reverse_points
),
candidates AS (
    SELECT p.pid, b.building_id, b.doorplate_id, b.community_code, b.address, b.name,
           ST_Contains(b.geom, p.pt) AS inside,
           ST_Distance(ST_Transform(b.geom, 'EPSG:4326', $proj, always_xy := true), p.ptm)
               AS distance_m
    FROM pts p
    JOIN buildings b
      ON b.status = 'active'
     AND ST_Intersects(
            b.geom,
            ST_MakeEnvelope(p.lon - $dlon, p.lat - $dlat, p.lon + $dlon, p.lat + $dlat))
)
SELECT c.pid, c.building_id, c.inside, c.distance_m, c.address, c.name, c.community_code,
       a.name AS community_name, c.doorplate_id,
       r.name || d.number AS doorplate
FROM candidates c
LEFT JOIN admin_areas a ON a.code = c.community_code
LEFT JOIN doorplates d ON d.doorplate_id = c.doorplate_id
LEFT JOIN roads r ON r.road_code = d.road_code
WHERE c.inside OR c.distance_m <= $tol
QUALIFY row_number() OVER (
    PARTITION BY c.pid ORDER BY c.inside DESC, c.distance_m, c.building_id) = 1
"""


def _to_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if crs.lower() in {"wgs84", "epsg:4326", "4326"}:
        return lon, lat
    from yizhi.coords import transform

    x, y = transform(lon, lat, crs, "wgs84")
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def _check_points(lon: np.ndarray, lat: np.ndarray) -> None:
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"{int(bad.sum())} point(s) are not longitude/latitude, first at index {i}: "
            f"({lon[i]!r}, {lat[i]!r})"
        )


def reverse_many(
    con: duckdb.DuckDBPyConnection,
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    *,
    crs: str = "wgs84",
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> pd.DataFrame:
    """Reverse-geocode many points at once.

    Parameters
    ----------
    con
        A store with a built register.
    lon, lat
        Coordinates in ``crs``.
    crs
        ``wgs84``, ``cgcs2000``, ``gcj02`` or ``bd09``.
    tolerance_m
        A point outside every building takes the nearest active building within this distance.

    Returns
    -------
    pandas.DataFrame
        One row per input point (``pid`` = its position): ``building_id`` (None when nothing is
        within the tolerance), ``inside``, ``distance_m``, ``address``, ``name``,
        ``community_code``, ``community_name``, ``doorplate``, ``lon``, ``lat`` (WGS84).
    """
    if tolerance_m < 0 or not math.isfinite(tolerance_m):
        raise InvalidInput(
            f"tolerance must be a non-negative number of metres, got {tolerance_m!r}"
        )
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    if x.shape != y.shape or x.ndim != 1:
        raise InvalidInput(f"lon and lat must be 1-D of equal length, got {x.shape} and {y.shape}")
    _check_points(x, y)
    x, y = _to_wgs84(x, y, crs)
    points = pd.DataFrame({"pid": np.arange(len(x), dtype="int64"), "lon": x, "lat": y})
    if points.empty:
        return points.assign(building_id=pd.Series(dtype="object"))
    lon0, lat0 = float(np.mean(x)), float(np.mean(y))
    proj = f"+proj=tmerc +lon_0={lon0:.6f} +lat_0={lat0:.6f} +ellps=GRS80 +units=m +no_defs"
    dlat = tolerance_m / _M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(float(np.max(np.abs(y))))), 0.01)
    cur = con.cursor()
    try:
        cur.register("_reverse_points", points)
        found = cur.execute(
            _REVERSE_SQL, {"proj": proj, "dlon": dlon, "dlat": dlat, "tol": tolerance_m}
        ).df()
    finally:
        cur.close()
    out = points.merge(found, on="pid", how="left")
    out["inside"] = out["inside"].fillna(False).astype(bool)
    return out.sort_values("pid", ignore_index=True)


def reverse(
    con: duckdb.DuckDBPyConnection,
    lon: float,
    lat: float,
    *,
    crs: str = "wgs84",
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> dict[str, Any]:
    """Reverse-geocode one point: the building containing it, else the nearest within tolerance.

    Raises
    ------
    NotFound
        When no active building contains the point or lies within ``tolerance_m``.
    InvalidInput
        For coordinates that are not numbers in range, or an unknown CRS.
    """
    row = reverse_many(con, [lon], [lat], crs=crs, tolerance_m=tolerance_m).iloc[0]
    if not isinstance(row["building_id"], str):
        raise NotFound(
            f"no building contains ({lon}, {lat}) [{crs}] or lies within {tolerance_m:g} m of it"
        )
    return {
        "query": {"lon": lon, "lat": lat, "crs": crs},
        "lon": float(row["lon"]),
        "lat": float(row["lat"]),
        "building_id": row["building_id"],
        "inside": bool(row["inside"]),
        "distance_m": round(float(row["distance_m"]), 2),
        "address": _none(row["address"]),
        "name": _none(row["name"]),
        "doorplate": _none(row["doorplate"]),
        "community_code": _none(row["community_code"]),
        "community_name": _none(row["community_name"]),
    }


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
