"""Geometry helpers of the lifecycle operations: metric areas, coverage checks, communities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from address_registry._crs import metric_crs_at, to_metric
from common.errors import InvalidInput

#: Default tolerance of a split: the parts may miss or exceed the original footprint, and
#: overlap each other, by at most this share of its area.
SPLIT_TOLERANCE = 0.02


def as_polygon(value: Any, what: str) -> BaseGeometry:
    """Accept a shapely geometry, WKB bytes, WKT or a GeoJSON-like mapping as a valid polygon.

    Raises
    ------
    InvalidInput
        When it is not a non-empty, valid Polygon or MultiPolygon in lon/lat degrees.
    """
    if isinstance(value, BaseGeometry):
        geom = value
    elif isinstance(value, bytes | bytearray):
        geom = shapely.from_wkb(bytes(value))
    elif isinstance(value, str):
        geom = shapely.from_wkt(value)
    elif isinstance(value, dict):
        geom = shapely.geometry.shape(value)
    else:
        raise InvalidInput(f"{what} must be a geometry, got {type(value).__name__}")
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            f"{what} must be a non-empty Polygon or MultiPolygon, got {geom.wkt[:80]}"
        )
    if not geom.is_valid:
        raise InvalidInput(f"{what} is not a valid polygon: {shapely.is_valid_reason(geom)}")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput(f"{what} is not in lon/lat degrees (EPSG:4326): bounds {geom.bounds}")
    return geom


def area_m2(geom: BaseGeometry) -> float:
    """The area of a WGS84 geometry in square metres (:func:`metric_crs_at` its centroid)."""
    return float(to_metric([geom], metric_crs_at(geom))[0].area)


def check_split_cover(
    building_id: str, original: BaseGeometry, parts: Sequence[BaseGeometry], tolerance: float
) -> None:
    """Check that ``parts`` tile ``original`` within ``tolerance`` (a share of its area).

    Raises
    ------
    InvalidInput
        Naming the rule (too few parts, gaps or excess, overlapping parts) and the figures.
    """
    if len(parts) < 2:
        raise InvalidInput(
            f"a split of {building_id} needs at least 2 parts, got {len(parts)}",
            building_id=building_id,
        )
    metric = to_metric([original, *parts], metric_crs_at(original))
    whole, pieces = metric[0], metric[1:]
    total = whole.area
    union = shapely.union_all(pieces)
    missed = whole.difference(union).area / total
    excess = union.difference(whole).area / total
    overlap = (sum(p.area for p in pieces) - union.area) / total
    problems = []
    if missed > tolerance:
        problems.append(f"leave {missed:.1%} of it uncovered")
    if excess > tolerance:
        problems.append(f"reach {excess:.1%} beyond it")
    if overlap > tolerance:
        problems.append(f"overlap each other by {overlap:.1%}")
    if problems:
        raise InvalidInput(
            f"the parts of a split must cover building {building_id} within "
            f"{tolerance:.1%} of its area ({total:.0f} m²); these parts " + " and ".join(problems),
            building_id=building_id,
        )


def community_at(con: duckdb.DuckDBPyConnection, geom: BaseGeometry) -> str | None:
    """The community whose boundary contains the representative point of ``geom``, if any."""
    point = geom.representative_point()
    row = con.execute(
        """
        SELECT code FROM admin_areas
        WHERE level = 'community' AND status = 'active' AND geom IS NOT NULL
          AND ST_Contains(geom, ST_Point(?, ?))
        ORDER BY code LIMIT 1
        """,
        [point.x, point.y],
    ).fetchone()
    return str(row[0]) if row else None


def footprint_fields(geom: BaseGeometry) -> dict[str, Any]:
    """``geom`` (WKB), ``footprint_m2``, ``lon`` and ``lat`` of a building footprint."""
    point = geom.representative_point()
    return {
        "geom": shapely.to_wkb(geom),
        "footprint_m2": round(area_m2(geom), 1),
        "lon": round(point.x, 7),
        "lat": round(point.y, 7),
    }


def axis_points(geom: BaseGeometry, n: int) -> list[BaseGeometry]:
    """``n`` points evenly spaced along the long axis of ``geom`` (WGS84 in, WGS84 out).

    The axis is the centre line of the minimum rotated rectangle, oriented west to east, or south
    to north when it runs closer to north-south than to west-east; point ``k`` sits at ``(k + 0.5) / n`` of it.
    """
    rect = shapely.minimum_rotated_rectangle(geom)
    if rect.geom_type != "Polygon":  # degenerate: a line or a point
        centre = geom.centroid
        return [centre] * n
    corners = shapely.get_coordinates(shapely.get_exterior_ring(rect))[:4]
    edges = [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    lengths = [np.hypot(*(b - a)) for a, b in edges]
    i = int(np.argmax(lengths[:2]))
    # the axis joins the midpoints of the two short edges
    a0, a1 = edges[(i + 1) % 4]
    b0, b1 = edges[(i + 3) % 4]
    start, end = (a0 + a1) / 2, (b0 + b1) / 2
    dx, dy = end - start
    if (dx < 0) if abs(dx) >= abs(dy) else (dy < 0):
        start, end = end, start
    return [shapely.Point(*(start + (end - start) * (k + 0.5) / n)) for k in range(n)]


def nearest_part(point: BaseGeometry, parts: Sequence[BaseGeometry]) -> int:
    """Index of the part containing ``point``, else of the nearest part (lowest index on ties)."""
    for i, part in enumerate(parts):
        if part.covers(point):
            return i
    distances = [part.distance(point) for part in parts]
    return int(np.argmin(distances))
