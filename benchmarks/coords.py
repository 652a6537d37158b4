"""Throughput of the coordinate conversions (``python -m benchmarks.coords [--n N]``).

Times :func:`common.coords.transform` on N random points inside China (default 1,000,000) in
each direction and a ``transform_geometry`` call over N shapely points, with references on the
same points: the usual per-point pure-Python implementation (the formula of
wandergis/coordTransform_py, written out below, and the same fixed-point inverse one point at a
time; timed on a 20,000-point slice), PROJ (pyproj) projecting WGS84 to a Gauss-Kruger zone, a
conversion of similar arithmetic cost, and GeoPandas ``to_crs`` of the shapely points.
Prints a Markdown table with points/s and ratios.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from benchmarks._report import emit, peer
from common.coords import metric_crs, transform, transform_geometry

_A = 6378245.0
_EE = 0.00669342162296594323


def _py_wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    """Per-point reference: the published scalar formula with math (one-step, no loop)."""
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


def _py_gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    """Per-point reference inverse: the same fixed-point iteration, one point at a time."""
    x, y = 2 * lon - _py_wgs_to_gcj(lon, lat)[0], 2 * lat - _py_wgs_to_gcj(lon, lat)[1]
    for _ in range(20):
        fx, fy = _py_wgs_to_gcj(x, y)
        dx, dy = lon - fx, lat - fy
        x, y = x + dx, y + dy
        if abs(dx) <= 1e-8 and abs(dy) <= 1e-8:
            break
    return x, y


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coords", description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="points (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    n = args.n
    rng = np.random.default_rng(args.seed)
    lon = rng.uniform(73.6, 134.7, n)
    lat = rng.uniform(18.2, 53.5, n)
    gcj = transform(lon, lat, "wgs84", "gcj02")
    bd = transform(lon, lat, "wgs84", "bd09")
    inputs = {"wgs84": (lon, lat), "gcj02": gcj, "bd09": bd}

    rows: list[tuple[str, float, float | None]] = []  # name, points/s, per-point Python rate
    m = min(n, 20_000)
    py_rates: dict[tuple[str, str], float] = {}
    for (src, dst), fn in [
        (("wgs84", "gcj02"), _py_wgs_to_gcj),
        (("gcj02", "wgs84"), _py_gcj_to_wgs),
    ]:
        x, y = inputs[src]
        seconds = _best(
            lambda x=x, y=y, fn=fn: [fn(a, b) for a, b in zip(x[:m], y[:m], strict=True)], 1
        )
        py_rates[src, dst] = m / seconds

    for src, dst in [
        ("wgs84", "gcj02"),
        ("gcj02", "wgs84"),
        ("wgs84", "bd09"),
        ("bd09", "wgs84"),
        ("gcj02", "bd09"),
        ("bd09", "gcj02"),
    ]:
        x, y = inputs[src]
        seconds = _best(lambda x=x, y=y, s=src, d=dst: transform(x, y, s, d), args.repeat)
        rows.append((f"`transform` {src} → {dst}", n / seconds, py_rates.get((src, dst))))

    points = shapely.points(lon, lat)
    seconds = _best(lambda: transform_geometry(points, "wgs84", "gcj02"), 1)
    rows.append(("`transform_geometry` wgs84 → gcj02 (shapely points)", n / seconds, None))

    gk_crs = metric_crs(117.0, 35.0)
    series = gpd.GeoSeries(points, crs=4326)
    seconds = _best(lambda: series.to_crs(gk_crs), 1)
    rows.append(("reference: GeoSeries.to_crs(CM 117E) (shapely points, PROJ)", n / seconds, None))

    gk = pyproj.Transformer.from_crs(4326, gk_crs, always_xy=True)
    seconds = _best(lambda: gk.transform(lon, lat), args.repeat)
    proj_rate = n / seconds
    rows.append(("reference: PROJ WGS84 → Gauss-Kruger CM 117E (pyproj)", proj_rate, None))
    for (src, dst), rate in py_rates.items():
        name = f"reference: per-point Python loop {src} → {dst} ({m:,} points)"
        rows.append((name, rate, rate))

    print(f"### Coordinate conversions ({n:,} random points inside China, best of {args.repeat})\n")
    print("| operation | points/s | × per-point Python, same conversion | × PROJ |")
    print("|---|---:|---:|---:|")
    for name, rate, py_rate in rows:
        ratio = f"{rate / py_rate:.1f}" if py_rate else "—"
        print(f"| {name} | {rate:,.0f} | {ratio} | {rate / proj_rate:.2f} |")
    print(
        "\nThe inverses iterate the forward formula (one-step start plus 3 steps), so they run at"
        " about a quarter of the forward rate; BD-09 → WGS84 inverts twice."
    )
    forward, inverse = rows[0][1], rows[1][1]
    what = "yizhi points/s ÷ peer points/s"
    emit(
        "coords",
        f"{n:,} random points inside China",
        [],
        {
            "per-point Python (wandergis formula), wgs84 → gcj02": peer(
                forward / py_rates["wgs84", "gcj02"], what
            ),
            "per-point Python, gcj02 → wgs84": peer(inverse / py_rates["gcj02", "wgs84"], what),
            "PROJ WGS84 → Gauss-Kruger (similar arithmetic), vs wgs84 → gcj02": peer(
                forward / proj_rate, what
            ),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
