"""Incident density: counts on H3 cells, a kernel density surface, Getis-Ord Gi* hotspots.

All three take the same selection of events (a time window on ``reported_at`` and an optional
category), so a map can show one window and category at several resolutions. None of them is a
point-in-polygon join: events are counted on H3 cells (computed from the coordinates by
``h3``) or binned on a metric raster, so nothing here goes through the spatial engine of
:mod:`fusion.engine`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from common.errors import InvalidInput
from layers import queries as records

_M_PER_DEG_LAT = 110_574.0


def event_points(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """Events with a point, reported in ``[start, end)``, optionally of one category.

    ``category`` is ``<kind>-<code>`` (``event-0102``), a bare code (either kind) or a major
    code of two digits (``01``: every minor class of it).
    """
    sql = (
        f"SELECT source_id, lon, lat, reported_at FROM ({records.records_sql('events')}) "
        "WHERE lon IS NOT NULL"
    )
    params: list[Any] = []
    if start is not None:
        sql += " AND reported_at >= ?"
        params.append(start)
    if end is not None:
        sql += " AND reported_at < ?"
        params.append(end)
    if category:
        kind, _, code = category.rpartition("-")
        if not code.isdigit() or len(code) not in (2, 4) or kind not in ("", "event", "part"):
            raise InvalidInput(
                f"category must be like 'event-0102', '0102' or '01', got {category!r}"
            )
        sql += " AND starts_with(category_code, ?)"
        params.append(code)
        if kind:
            sql += " AND category_kind = ?"
            params.append(kind)
    return con.execute(sql + " ORDER BY source_id", params).df()


def h3_counts(points: pd.DataFrame, resolutions: Sequence[int] = (7, 8, 9)) -> pd.DataFrame:
    """Event counts per H3 cell at each resolution: ``resolution, cell, count, lon, lat``.

    Raises
    ------
    InvalidInput
        For a resolution outside 0..15.
    """
    import h3

    bad = [r for r in resolutions if not isinstance(r, int) or not 0 <= r <= 15]
    if bad:
        raise InvalidInput(f"H3 resolutions are integers 0..15, got {bad!r}")
    frames = []
    for res in resolutions:
        cells = [
            h3.latlng_to_cell(float(la), float(lo), res)
            for lo, la in zip(points["lon"], points["lat"], strict=True)
        ]
        counts = pd.Series(cells, dtype="object").value_counts().sort_index()
        centres = [h3.cell_to_latlng(c) for c in counts.index]
        frames.append(
            pd.DataFrame(
                {
                    "resolution": res,
                    "cell": list(counts.index),
                    "count": counts.to_numpy(dtype="int64"),
                    "lon": [c[1] for c in centres],
                    "lat": [c[0] for c in centres],
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["resolution", "cell", "count", "lon", "lat"])
    return pd.concat(frames, ignore_index=True)


def kde_surface(
    points: pd.DataFrame,
    *,
    bandwidth_m: float = 200.0,
    cell_m: float = 50.0,
    pad_bandwidths: float = 3.0,
) -> dict[str, Any]:
    """A Gaussian kernel density surface of the points in events per km².

    The points are binned on a metric grid (local equirectangular projection, exact enough over
    a city) and smoothed with a Gaussian of ``bandwidth_m``; the surface integrates to the
    number of points (less what falls beyond the padding).

    Returns
    -------
    dict
        ``{"density": 2-D array (rows = south → north), "lon": column centres,
        "lat": row centres, "cell_m", "bandwidth_m", "n"}``.
    """
    from scipy.ndimage import gaussian_filter

    if not (bandwidth_m > 0 and cell_m > 0 and math.isfinite(bandwidth_m + cell_m)):
        raise InvalidInput(
            f"bandwidth and cell size must be positive metres, got {bandwidth_m!r}, {cell_m!r}"
        )
    n = len(points)
    if n == 0:
        return {
            "density": np.zeros((0, 0)),
            "lon": np.zeros(0),
            "lat": np.zeros(0),
            "cell_m": cell_m,
            "bandwidth_m": bandwidth_m,
            "n": 0,
        }
    lon = points["lon"].to_numpy(dtype="float64")
    lat = points["lat"].to_numpy(dtype="float64")
    lat0 = float(np.mean(lat))
    m_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    x, y = (lon - lon.min()) * m_lon, (lat - lat.min()) * _M_PER_DEG_LAT
    pad = pad_bandwidths * bandwidth_m
    nx = math.ceil((x.max() + 2 * pad) / cell_m) + 1
    ny = math.ceil((y.max() + 2 * pad) / cell_m) + 1
    if nx * ny > 25_000_000:
        raise InvalidInput(f"a {nx} x {ny} surface is too large; use a larger cell size")
    ix = np.floor((x + pad) / cell_m).astype(int)
    iy = np.floor((y + pad) / cell_m).astype(int)
    grid = np.zeros((ny, nx))
    np.add.at(grid, (iy, ix), 1.0)
    smooth = gaussian_filter(grid, sigma=bandwidth_m / cell_m, mode="constant")
    density = smooth / (cell_m * cell_m) * 1e6  # per km²
    cols = lon.min() + ((np.arange(nx) + 0.5) * cell_m - pad) / m_lon
    rows = lat.min() + ((np.arange(ny) + 0.5) * cell_m - pad) / _M_PER_DEG_LAT
    return {
        "density": density,
        "lon": cols,
        "lat": rows,
        "cell_m": cell_m,
        "bandwidth_m": bandwidth_m,
        "n": n,
    }


def hotspots(
    points: pd.DataFrame,
    *,
    resolution: int = 9,
    ring: int = 1,
    permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Getis-Ord Gi* on H3 cell counts: hot and cold spots with significance.

    The study area is every cell with an event plus ``ring`` rings around it (zero counts); the
    neighbours of a cell are its ``ring``-disk (binary weights, the cell itself included by
    Gi*). Significance is the pseudo p-value of ``permutations`` conditional permutations
    (``seed`` fixed).

    Returns
    -------
    pandas.DataFrame
        ``cell, count, z, p, spot`` with ``spot`` ``hot`` / ``cold`` (p < ``alpha``) or ``""``,
        sorted by ``z`` descending.
    """
    import esda
    import h3
    from libpysal.weights import W

    counts = h3_counts(points, [resolution])
    observed = dict(zip(counts["cell"], counts["count"], strict=True))
    area: set[str] = set()
    for cell in observed:
        area.update(h3.grid_disk(cell, ring))
    cells = sorted(area)
    if len(cells) < 3:
        raise InvalidInput(f"Gi* needs at least 3 cells, the events cover {len(cells)}")
    inside = set(cells)
    neighbours = {
        c: sorted(x for x in h3.grid_disk(c, ring) if x != c and x in inside) for c in cells
    }
    w = W(neighbours, silence_warnings=True)
    y = np.array([float(observed.get(c, 0)) for c in w.id_order])
    with warnings.catch_warnings():
        # esda warns that the default alternative of conditional randomization will change
        warnings.filterwarnings(
            "ignore", message="The alternative hypothesis", category=DeprecationWarning
        )
        g = esda.G_Local(
            y, w, star=True, transform="B", permutations=permutations, seed=seed, n_jobs=1
        )
    z = np.asarray(g.Zs, dtype="float64")
    p = np.asarray(g.p_sim if permutations > 0 else g.p_norm, dtype="float64")
    spot = np.where(p < alpha, np.where(z > 0, "hot", "cold"), "")
    out = pd.DataFrame(
        {"cell": list(w.id_order), "count": y.astype("int64"), "z": z, "p": p, "spot": spot}
    )
    return out.sort_values(["z", "cell"], ascending=[False, True], ignore_index=True)
