"""Hilbert curve order of points (private): stable, local serial numbers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def hilbert_index(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    bounds: tuple[float, float, float, float],
    order: int = 16,
) -> npt.NDArray[np.int64]:
    """Index of every point on a Hilbert curve of ``2**order`` cells a side over ``bounds``."""
    n = 1 << order
    x0, y0, x1, y1 = bounds
    sx = max(x1 - x0, 1e-9)
    sy = max(y1 - y0, 1e-9)
    xi = np.clip(((np.asarray(x) - x0) / sx * (n - 1)).astype(np.int64), 0, n - 1)
    yi = np.clip(((np.asarray(y) - y0) / sy * (n - 1)).astype(np.int64), 0, n - 1)
    d = np.zeros(len(xi), dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = ((xi & s) > 0).astype(np.int64)
        ry = ((yi & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ry == 0
        swap_x = flip & (rx == 1)
        xi = np.where(swap_x, s - 1 - xi, xi)
        yi = np.where(swap_x, s - 1 - yi, yi)
        xi, yi = np.where(flip, yi, xi), np.where(flip, xi, yi)
        s >>= 1
    return d
