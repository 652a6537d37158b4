"""Deterministic synthetic inputs for fusion tests and benchmarks.

>>> grids = voronoi_grids(20, width_m=1000.0, seed=1)
>>> len(grids), bool(grids["geometry"].map(lambda g: g.is_valid).all())
(20, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def voronoi_grids(
    n: int,
    *,
    width_m: float = 40_000.0,
    vertices: int = 40,
    seed: int = 0,
) -> pd.DataFrame:
    """``n`` irregular grids: the Voronoi tessellation of random seeds in a square box.

    Edges are cut into pieces so that each grid has about ``vertices`` vertices. Returns
    ``polygon_id`` (int, 0..n-1 in a shuffled order) and shapely ``geometry``.
    """
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, width_m, size=(n, 2))
    box = shapely.box(0.0, 0.0, width_m, width_m)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box))
    cells = shapely.intersection(cells, box)
    cells = cells[shapely.get_type_id(cells) == 3]
    perimeter = float(np.mean(shapely.length(cells)))
    cells = shapely.segmentize(cells, perimeter / max(vertices - 6, 1))
    ids = rng.permutation(len(cells))
    return pd.DataFrame({"polygon_id": ids, "geometry": cells})


def mixed_points(
    n: int,
    *,
    width_m: float = 40_000.0,
    clustered: float = 0.3,
    clusters: int = 200,
    sigma_m: float = 300.0,
    seed: int = 0,
) -> pd.DataFrame:
    """``n`` points in random order: ``1 - clustered`` uniform, the rest in Gaussian clusters.

    Returns ``point_id`` (int64 0..n-1), ``x``, ``y`` (clipped to the box).
    """
    rng = np.random.default_rng(seed + 1)
    n_cl = round(n * clustered)
    uni = rng.uniform(0, width_m, size=(n - n_cl, 2))
    centres = rng.uniform(0, width_m, size=(clusters, 2))
    which = rng.integers(0, clusters, size=n_cl)
    # clipped just inside the box: no point lies on its outer edge (interior == covers there)
    cl = np.clip(centres[which] + rng.normal(0, sigma_m, size=(n_cl, 2)), 1e-3, width_m - 1e-3)
    xy = np.concatenate([uni, cl])[rng.permutation(n)]
    return pd.DataFrame({"point_id": np.arange(n, dtype=np.int64), "x": xy[:, 0], "y": xy[:, 1]})
