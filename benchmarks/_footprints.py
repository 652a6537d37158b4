"""Deterministic synthetic building footprints for the tile benchmark.

610,302 footprints (the building count of a Shenzhen-sized city) over a 40 x 40 km box in
Shanghai (south-west corner 121.30 E, 31.05 N): buildings come in estates (小区) of 8-90 buildings
on a rotated lattice, each estate with its own orientation, footprint size (12-60 m long,
9-18 m deep) and spacing; 65% of the estates gather around five urban cores (Gaussian, sigma
2.5-7 km), the rest are spread uniformly. Footprints are rotated rectangles with 5% of them
L-shaped (6 vertices). Everything comes from one seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

N_BUILDINGS = 610_302
LON0, LAT0 = 121.30, 31.05
SIZE_M = 40_000.0
_M_PER_DEG_LAT = 111_320.0


def footprints(n: int = N_BUILDINGS, seed: int = 20261123) -> npt.NDArray[np.object_]:
    """``n`` WGS84 polygons (see the module docstring)."""
    rng = np.random.default_rng(seed)
    per = rng.integers(8, 91, size=n // 8 + 10)
    cum = np.cumsum(per)
    k = int(np.searchsorted(cum, n)) + 1
    per = per[:k].copy()
    per[-1] -= int(cum[k - 1] - n)
    cores = np.array([[0.35, 0.55], [0.62, 0.48], [0.5, 0.2], [0.2, 0.25], [0.8, 0.8]]) * SIZE_M
    sigma = np.array([5000.0, 3500.0, 2500.0, 6000.0, 7000.0])
    which = rng.integers(0, len(cores), size=k)
    clustered = rng.random(k) < 0.65
    centre = np.where(
        clustered[:, None],
        cores[which] + rng.normal(size=(k, 2)) * sigma[which, None],
        rng.random((k, 2)) * SIZE_M,
    )
    centre = np.clip(centre, 200.0, SIZE_M - 200.0)
    theta = rng.uniform(0, np.pi, size=k)
    length = rng.uniform(12.0, 60.0, size=k)
    depth = rng.uniform(9.0, 18.0, size=k)
    gap = rng.uniform(8.0, 25.0, size=k)
    cols = np.ceil(np.sqrt(per * depth / length * 1.5)).astype(np.int64).clip(1)
    est = np.repeat(np.arange(k), per)
    j = np.arange(n) - np.repeat(np.cumsum(per) - per, per)
    col = j % cols[est]
    row = j // cols[est]
    rows = np.ceil(per / cols).astype(np.int64)
    sx = length[est] + gap[est]
    sy = depth[est] + gap[est]
    lx = (col - (cols[est] - 1) / 2.0) * sx
    ly = (row - (rows[est] - 1) / 2.0) * sy
    t = theta[est] + rng.normal(scale=0.03, size=n)
    ct, st = np.cos(theta[est]), np.sin(theta[est])
    cx = centre[est, 0] + lx * ct - ly * st
    cy = centre[est, 1] + lx * st + ly * ct
    hl = length[est] * rng.uniform(0.9, 1.1, size=n) / 2.0
    hd = depth[est] * rng.uniform(0.9, 1.1, size=n) / 2.0
    # rectangle (closed, 5 vertices) or L shape (7 vertices), counter-clockwise
    rect = np.stack([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]).astype(float)
    ell = np.stack([[-1, -1], [1, -1], [1, 0], [0, 0], [0, 1], [-1, 1], [-1, -1]]).astype(float)
    is_l = rng.random(n) < 0.05
    out = np.empty(n, dtype=object)
    for shape, mask in ((rect, ~is_l), (ell, is_l)):
        m = int(mask.sum())
        ux = shape[None, :, 0] * hl[mask, None]
        uy = shape[None, :, 1] * hd[mask, None]
        c, s = np.cos(t[mask])[:, None], np.sin(t[mask])[:, None]
        ex = cx[mask, None] + ux * c - uy * s
        ny = cy[mask, None] + ux * s + uy * c
        lat = LAT0 + ny / _M_PER_DEG_LAT
        lon = LON0 + ex / (_M_PER_DEG_LAT * np.cos(np.radians(lat)))
        coords = np.stack([lon, lat], axis=-1).reshape(m, -1, 2)
        out[mask] = shapely.polygons(coords)
    return out
