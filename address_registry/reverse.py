"""Reverse geocoding: a point → the building containing it, or the nearest within a tolerance.

One set-based DuckDB query serves both a single lookup (:func:`reverse`) and a batch
(:func:`reverse_many`; fusion links records by coordinates to the same buildings through its
spatial engine, with the same rule: covering first, else nearest, ties to the smallest ID; its
test: ``tests/fusion/test_sample_city_engines.py``). Distances are metres,
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

from common.errors import InvalidInput, NotFound

#: Metres per degree of latitude (mean); used only to size the degree-space prefilter box.
_M_PER_DEG = 110_574.0
DEFAULT_TOLERANCE_M = 50.0
#: A point inside a building (in degrees) has a projected distance of 0 to it unless it lies this
#: close to the boundary (in degrees, about 1 m): an edge straight in degrees bends by about
#: L**2 / (8 * R) metres in the projection (a millimetre for a 200 m edge), so only points this
#: close to an edge need the projected distance, which orders overlapping buildings exactly.
_EDGE_DEG = 1e-5

# The answer of every point is the best of its candidates ordered by (inside desc, distance_m,
# building_id), where the candidates are the active buildings containing it (in degrees) and, for
# a point in none, those meeting its degree box at most `tol` metres away (in the projection).
# The query finds this with as little work per row as it can:
#   1. a spatial join on ST_Contains finds the points inside; their distance is 0 (projected only
#      near an edge, _EDGE_DEG);
#   2. the other points are projected once, every active building near them once (not once per
#      pair), and a spatial join on ST_DWithin in metres gives the candidates (`reach` is `tol`
#      plus a micrometre, so no candidate at exactly `tol` is lost; the HAVING keeps `tol`);
#   3. the best per point is an arg_min over (distance_m, building_id); only the winners are
#      joined to their address, community and doorplate.
# The degree box holds the whole tolerance disc (half-sides >= tol in metres, and the projection
# never shortens a distance), so `in_box` is true for every winner in practice; a winner outside
# the box is recomputed with the box applied to every candidate (`boxed`), as the box decides.
_REVERSE_SQL = """
WITH pts AS (
    SELECT pid, lon, lat, ST_Point(lon, lat) AS pt FROM _reverse_points
),
inside_pairs AS MATERIALIZED (
    SELECT p.pid, b.building_id,
           CASE WHEN ST_Distance(ST_Boundary(b.geom), p.pt) < $edge
                THEN ST_Distance(ST_Transform(b.geom, 'EPSG:4326', $proj, always_xy := true),
                                 ST_Transform(p.pt, 'EPSG:4326', $proj, always_xy := true))
                ELSE 0.0 END AS distance_m
    FROM pts p
    JOIN buildings b ON b.status = 'active' AND ST_Contains(b.geom, p.pt)
),
outside AS MATERIALIZED (
    SELECT pid, lon, lat, ST_Transform(pt, 'EPSG:4326', $proj, always_xy := true) AS ptm
    FROM pts
    WHERE pid NOT IN (SELECT pid FROM inside_pairs)
),
near_buildings AS MATERIALIZED (
    SELECT building_id, geom, ST_Transform(geom, 'EPSG:4326', $proj, always_xy := true) AS geom_m
    FROM buildings
    WHERE status = 'active'
      AND ST_Intersects_Extent(geom, (
            SELECT ST_MakeEnvelope(min(lon) - $dlon, min(lat) - $dlat,
                                   max(lon) + $dlon, max(lat) + $dlat) FROM outside))
),
near_pairs AS (
    SELECT o.pid, b.building_id, ST_Distance(b.geom_m, o.ptm) AS distance_m
    FROM outside o
    JOIN near_buildings b ON ST_DWithin(b.geom_m, o.ptm, $reach)
    WHERE CASE WHEN $boxed THEN ST_Intersects(b.geom, ST_MakeEnvelope(
              o.lon - $dlon, o.lat - $dlat, o.lon + $dlon, o.lat + $dlat)) ELSE true END
),
best AS (
    SELECT pid, arg_min(building_id, {'d': distance_m, 'b': building_id}) AS building_id,
           true AS inside, min(distance_m) AS distance_m
    FROM inside_pairs
    GROUP BY pid
    UNION ALL
    SELECT pid, arg_min(building_id, {'d': distance_m, 'b': building_id}), false, min(distance_m)
    FROM near_pairs
    GROUP BY pid
    HAVING min(distance_m) <= $tol
)
SELECT c.pid, c.building_id, c.inside, c.distance_m, b.address, b.name, b.community_code,
       a.name AS community_name, b.doorplate_id,
       r.name || d.number AS doorplate,
       CASE WHEN c.inside THEN true ELSE ST_Intersects(b.geom, ST_MakeEnvelope(
           p.lon - $dlon, p.lat - $dlat, p.lon + $dlon, p.lat + $dlat)) END AS in_box
FROM best c
JOIN _reverse_points p ON p.pid = c.pid
JOIN buildings b ON b.building_id = c.building_id
LEFT JOIN admin_areas a ON a.code = b.community_code
LEFT JOIN doorplates d ON d.doorplate_id = b.doorplate_id
LEFT JOIN roads r ON r.road_code = d.road_code
"""


def _to_wgs84(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if crs.lower() in {"wgs84", "epsg:4326", "4326"}:
        return lon, lat
    from common.coords import transform

    x, y = transform(lon, lat, crs, "wgs84")
    return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")


def _parameters(lon: np.ndarray, lat: np.ndarray, tolerance_m: float) -> dict[str, Any]:
    """The projection centred on the points, the degree box and the distances of the query."""
    lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
    dlat = tolerance_m / _M_PER_DEG
    return {
        "proj": f"+proj=tmerc +lon_0={lon0:.6f} +lat_0={lat0:.6f} +ellps=GRS80 +units=m +no_defs",
        "dlat": dlat,
        "dlon": dlat / max(math.cos(math.radians(float(np.max(np.abs(lat))))), 0.01),
        "tol": tolerance_m,
        "reach": tolerance_m * (1 + 1e-9) + 1e-6,
        "edge": _EDGE_DEG,
        "boxed": False,
    }


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
    cur = con.cursor()
    try:
        cur.register("_reverse_points", points)
        params = _parameters(x, y, tolerance_m)
        found = cur.execute(_REVERSE_SQL, params).to_arrow_table().to_pandas()
        stray = found.loc[~found.pop("in_box").astype(bool), "pid"]
        if len(stray):
            # A nearest building outside the degree box of its point: the box decides, as it
            # always did; query these points again with the box applied to every candidate.
            cur.register("_reverse_points", points[points["pid"].isin(stray)])
            again = (
                cur.execute(_REVERSE_SQL, params | {"boxed": True})
                .to_arrow_table()
                .to_pandas()
                .drop(columns="in_box")
            )
            found = pd.concat([found[~found["pid"].isin(stray)], again], ignore_index=True)
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
