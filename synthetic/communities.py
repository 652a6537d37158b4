"""Deterministic synthetic communities for tests and benchmarks (not part of the product).

A street grid of square blocks (180 m of buildable land, 20 m streets). Every fourth street is
a major road (a barrier line along its centre); the others are estate roads that adjacency may
cross. Each block is, at random (fixed seed): one closed estate (40 %), one open estate (30 %),
two estates side by side (10 %), or buildings outside any estate (20 %). Buildings sit on a
jittered 6 x 5 lattice inside the block, with rectangular footprints. Their households come
from three kinds (low-rise: 1 unit of 6-24; mid-rise: 2-4 units of 12-30; high-rise: 3-6 units
of 20-60), then all unit counts are scaled and rounded so that the total is exactly the
requested number of households (the 3,000-building community of PEERS.md has 150,720).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

BLOCK = 180.0
STREET = 20.0
PITCH = BLOCK + STREET
PER_BLOCK = 30


@dataclass(frozen=True)
class Synthetic:
    """A synthetic community."""

    buildings: Any
    """GeoDataFrame: building_id, households, units, estate_id, enclosure, block, geometry."""
    community: Any
    barriers: Any
    """Centre lines of the major roads (GeoSeries)."""


def synthetic_community(
    n_buildings: int = 3000, households: int = 150_720, seed: int = 0, crs: str = "EPSG:32648"
) -> Synthetic:
    """Build the community (see the module docstring)."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    nb = math.ceil(n_buildings / PER_BLOCK)
    cols = math.ceil(math.sqrt(nb))
    rows = math.ceil(nb / cols)
    per = np.full(nb, n_buildings // nb)
    per[: n_buildings - per.sum()] += 1
    kinds = rng.choice(4, size=nb, p=[0.4, 0.3, 0.1, 0.2])
    bid: list[str] = []
    geo: list[Any] = []
    est: list[Any] = []
    enc: list[Any] = []
    blk: list[int] = []
    units: list[list[float]] = []
    for k in range(nb):
        r, c = divmod(k, cols)
        x0, y0 = c * PITCH + STREET / 2, r * PITCH + STREET / 2
        cells = rng.permutation(30)[: per[k]]
        kind = kinds[k]
        closed_a = bool(rng.random() < 0.5)
        for j, cell in enumerate(sorted(cells)):
            gx, gy = cell % 6, cell // 6
            cx = x0 + 15 + gx * 30 + rng.uniform(-4, 4)
            cy = y0 + 18 + gy * 36 + rng.uniform(-4, 4)
            w, h = rng.uniform(12, 24), rng.uniform(10, 16)
            geo.append(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
            bid.append(f"B{k:05d}{j:03d}")
            blk.append(k)
            if kind == 0:
                est.append(f"E{k:05d}")
                enc.append("closed")
            elif kind == 1:
                est.append(f"E{k:05d}")
                enc.append("open")
            elif kind == 2:
                side = "a" if gx < 3 else "b"
                est.append(f"E{k:05d}{side}")
                enc.append("closed" if (side == "a") == closed_a else "open")
            else:
                est.append(None)
                enc.append(None)
            t = rng.choice(3, p=[0.35, 0.4, 0.25])
            if t == 0:
                units.append([rng.uniform(6, 24)])
            elif t == 1:
                units.append(list(rng.uniform(12, 30, size=rng.integers(2, 5))))
            else:
                units.append(list(rng.uniform(20, 60, size=rng.integers(3, 7))))
    flat = np.concatenate([np.asarray(u) for u in units])
    scaled = np.maximum(1, np.floor(flat * households / flat.sum())).astype(np.int64)
    rest = households - int(scaled.sum())
    order = np.argsort(-(flat * households / flat.sum() - scaled), kind="stable")
    step = 1 if rest > 0 else -1
    i = 0
    while rest != 0:
        j = order[i % len(order)]
        if step > 0 or scaled[j] > 1:
            scaled[j] += step
            rest -= step
        i += 1
    counts = [len(u) for u in units]
    split = np.split(scaled, np.cumsum(counts)[:-1])
    ulist = [[int(v) for v in s] for s in split]
    frame = gpd.GeoDataFrame(
        {
            "building_id": bid,
            "households": [sum(u) for u in ulist],
            "units": ulist,
            "estate_id": est,
            "enclosure": enc,
            "block": blk,
        },
        geometry=geo,
        crs=crs,
    )
    width, height = cols * PITCH, rows * PITCH
    community = shapely.box(0, 0, width, height)
    lines = []
    for c in range(0, cols + 1, 4):
        lines.append(shapely.LineString([(c * PITCH, 0), (c * PITCH, height)]))
    for r in range(0, rows + 1, 4):
        lines.append(shapely.LineString([(0, r * PITCH), (width, r * PITCH)]))
    inner = [ln for ln in lines if not shapely.covers(community.boundary, ln)]
    barriers = gpd.GeoSeries(inner, crs=crs)
    return Synthetic(frame, community, barriers)
