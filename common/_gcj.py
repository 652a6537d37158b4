"""Numeric kernels of the GCJ-02 and BD-09 offsets (private; see :mod:`common.coords`).

The forward formulas are the widely published ones (the same constants and terms as
wandergis/coordtransform, eviltransform and the many ports of them): GCJ-02 adds a smooth,
deterministic offset of a few hundred metres computed on the Krassovsky ellipsoid, BD-09 adds a
small rotation and shift on top of GCJ-02. Neither has a closed-form inverse, so the inverses
here iterate the forward map to a fixed point.

Every function takes and returns float64 arrays of any (matching) shape, evaluates whole arrays
at once and never applies the "outside China" rule: the public module decides which points are
converted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: Semi-major axis (m) and first eccentricity squared of the Krassovsky 1940 ellipsoid, as used
#: by the GCJ-02 offset.
KRASSOVSKY_A = 6378245.0
KRASSOVSKY_EE = 0.00669342162296594323
#: BD-09 uses ``pi * 3000 / 180`` as the frequency of its small periodic terms.
BD_X_PI = np.pi * 3000.0 / 180.0

#: The bounding box of the "outside China" rule (degrees): lon 72.004..137.8347,
#: lat 0.8293..55.8271, boundaries included as inside.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)

_Map = Callable[[Array, Array], tuple[Array, Array]]


def in_china_box(lon: Array, lat: Array) -> NDArray[np.bool_]:
    """Return True where a point lies inside (or on) the China bounding box; NaN is outside."""
    minx, miny, maxx, maxy = CHINA_BOX
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def _sin_multiples(t: Array) -> tuple[Array, Array, Array, Array, Array]:
    """Return sin t, sin 4t, sin 12t, sin 24t and sin 72t from one sin and one cos of ``t``.

    The offset formula needs sines of x·pi/12, x·pi/3, x·pi, 2·x·pi and 6·x·pi; computing them
    by double- and triple-angle identities halves the transcendental calls, which dominate the
    cost. The identities amplify rounding by at most ~100 ulp of a unit sine, i.e. ~1e-18 degree
    after the offset's scaling: the results equal the textbook formula to the last digit that
    matters (tests compare them).
    """
    s, c = np.sin(t), np.cos(t)
    s2 = 2.0 * s * c  # sin 2t
    c2 = 1.0 - 2.0 * s * s  # cos 2t
    s4 = 2.0 * s2 * c2  # sin 4t
    c4 = 1.0 - 2.0 * s2 * s2  # cos 4t
    s12 = s4 * (3.0 - 4.0 * s4 * s4)  # sin 12t
    c12 = c4 * (4.0 * c4 * c4 - 3.0)  # cos 12t
    s24 = 2.0 * s12 * c12  # sin 24t
    s72 = s24 * (3.0 - 4.0 * s24 * s24)  # sin 72t
    return s, s4, s12, s24, s72


def gcj_offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at the WGS84 point (lon, lat).

    The published formula, with x = lon - 105 and y = lat - 35 (in "offset units" that the
    last lines scale to degrees on the Krassovsky ellipsoid)::

        dlat = -100 + 2x + 3y + 0.2y² + 0.1xy + 0.2√|x|
               + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πy + 40 sin πy/3)·2/3
               + (160 sin πy/12 + 320 sin πy/30)·2/3
        dlon = 300 + x + 2y + 0.1x² + 0.1xy + 0.1√|x|
               + (20 sin 6πx + 20 sin 2πx)·2/3 + (20 sin πx + 40 sin πx/3)·2/3
               + (150 sin πx/12 + 300 sin πx/30)·2/3
    """
    x = lon - 105.0
    y = lat - 35.0
    # sines of πx/12, πx/3, πx, 2πx, 6πx and of πy/12, πy/3, πy
    sx12, sx3, sx, sx2, sx6 = _sin_multiples(x * (np.pi / 12.0))
    sy12, sy3, sy, _, _ = _sin_multiples(y * (np.pi / 12.0))
    shared = (20.0 * sx6 + 20.0 * sx2) * (2.0 / 3.0)
    root = np.sqrt(np.abs(x))
    xy = x * y
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * root + shared
    dlat += (20.0 * sy + 40.0 * sy3) * (2.0 / 3.0)
    dlat += (160.0 * sy12 + 320.0 * np.sin(y * (np.pi / 30.0))) * (2.0 / 3.0)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * root + shared
    dlon += (20.0 * sx + 40.0 * sx3) * (2.0 / 3.0)
    dlon += (150.0 * sx12 + 300.0 * np.sin(x * (np.pi / 30.0))) * (2.0 / 3.0)
    sin_lat = np.sin(lat * (np.pi / 180.0))
    cos_lat = np.sqrt(1.0 - sin_lat * sin_lat)  # |lat| <= 90°, so cos >= 0
    magic = 1.0 - KRASSOVSKY_EE * sin_lat * sin_lat
    sqrt_magic = np.sqrt(magic)
    dlat *= 180.0 / ((KRASSOVSKY_A * (1.0 - KRASSOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon *= 180.0 / (KRASSOVSKY_A / sqrt_magic * cos_lat * np.pi)
    return dlon, dlat


def wgs_to_gcj(lon: Array, lat: Array) -> tuple[Array, Array]:
    """WGS84 -> GCJ-02 (forward formula, no bounding-box rule)."""
    dlon, dlat = gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj_to_bd(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 -> BD-09 (forward formula)."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd_to_gcj_approx(lon: Array, lat: Array) -> tuple[Array, Array]:
    """BD-09 -> GCJ-02 by the published one-step approximate inverse (error ~1e-6 degree)."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj_to_wgs_one_step(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 -> WGS84 by the common one-step approximation (error up to ~2 m)."""
    dlon, dlat = gcj_offset(lon, lat)
    return lon - dlon, lat - dlat


def invert(
    forward: _Map,
    lon: Array,
    lat: Array,
    start: tuple[Array, Array],
    *,
    tol: float,
    max_iter: int,
) -> tuple[Array, Array, int]:
    """Solve ``forward(p) == (lon, lat)`` for p by fixed-point iteration from ``start``.

    Each step moves the estimate by the residual: ``p += target - forward(p)``. The offsets
    change by well under 1 % across their own size, so the map is a strong contraction and each
    step gains two to three decimal digits. The whole array is updated until every finite point
    moved less than ``tol`` (degrees) in both components (3 steps inside China at tol=1e-8; a
    converged point only gets closer, so nothing is gained by masking); NaN points never hold
    the loop.

    Returns
    -------
    lon, lat, iterations
        The solution and the number of forward evaluations made on the slowest point.
    """
    px = np.array(start[0], dtype=np.float64, copy=True)
    py = np.array(start[1], dtype=np.float64, copy=True)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        fx, fy = forward(px, py)
        # residual steps, in place: p += target - forward(p)
        np.subtract(lon, fx, out=fx)
        np.subtract(lat, fy, out=fy)
        px += fx
        py += fy
        # NaN steps compare False: a NaN point never holds the loop
        if not ((np.abs(fx) > tol) | (np.abs(fy) > tol)).any():
            break
    return px, py, iterations
