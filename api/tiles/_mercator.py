"""Web Mercator (EPSG:3857) and XYZ tile arithmetic, identical to PostGIS ``ST_TileEnvelope``."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from common.errors import InvalidInput

#: Half the width of the Web Mercator square, metres (EPSG:3857 bounds).
ORIGIN = 20037508.342789244
#: Earth radius of the spherical Mercator, metres.
RADIUS = 6378137.0
#: Highest zoom level a tile request may ask for.
MAX_ZOOM = 22
#: Latitude limit of Web Mercator, degrees.
MAX_LAT = 85.0511287798066


def lonlat_to_mercator(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Project WGS84 degrees to Web Mercator metres (the closed form of EPSG:3857).

    >>> x, y = lonlat_to_mercator([180.0], [0.0])
    >>> round(float(x[0]), 3), abs(round(float(y[0]), 6))
    (20037508.343, 0.0)
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -MAX_LAT, MAX_LAT)
    x = np.radians(lon_a) * RADIUS
    y = np.log(np.tan(np.pi / 4.0 + np.radians(lat_a) / 2.0)) * RADIUS
    return x, y


def mercator_to_lonlat(
    x: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Inverse of :func:`lonlat_to_mercator`."""
    x_a = np.asarray(x, dtype=np.float64)
    y_a = np.asarray(y, dtype=np.float64)
    lon = np.degrees(x_a / RADIUS)
    lat = np.degrees(2.0 * np.arctan(np.exp(y_a / RADIUS)) - np.pi / 2.0)
    return lon, lat


def check_tile(z: int, x: int, y: int) -> None:
    """Raise :class:`~common.errors.InvalidInput` unless ``z/x/y`` names a tile.

    >>> check_tile(0, 0, 0)
    >>> check_tile(1, 2, 0)
    Traceback (most recent call last):
    ...
    common.errors.InvalidInput: tile 1/2/0 does not exist: x and y must be in 0..1 at zoom 1
    """
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: zoom must be in 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(
            f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{n - 1} at zoom {z}"
        )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Mercator bounds ``(xmin, ymin, xmax, ymax)`` of a tile, computed as PostGIS does.

    >>> tile_bounds(0, 0, 0) == (-ORIGIN, -ORIGIN, ORIGIN, ORIGIN)
    True
    """
    size = 2.0 * ORIGIN / (1 << z)
    return (
        -ORIGIN + size * x,
        ORIGIN - size * (y + 1),
        -ORIGIN + size * (x + 1),
        ORIGIN - size * y,
    )


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The ``(x, y)`` of the tile holding a WGS84 point at zoom ``z``.

    >>> lonlat_tile(121.49, 31.24, 14)
    (13721, 6694)
    """
    n = 1 << z
    lat_c = max(-MAX_LAT, min(MAX_LAT, lat))
    xt = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat_c)
    yt = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(xt, 0), n - 1), min(max(yt, 0), n - 1)


def tile_range(bbox: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    """Tiles ``(xmin, ymin, xmax, ymax)`` (inclusive) covering a WGS84 ``bbox`` at zoom ``z``."""
    west, south, east, north = bbox
    if not (west < east and south < north):
        raise InvalidInput(f"bbox must be (west, south, east, north) with west < east, got {bbox}")
    x0, y0 = lonlat_tile(west, north, z)
    x1, y1 = lonlat_tile(east, south, z)
    return x0, y0, x1, y1
