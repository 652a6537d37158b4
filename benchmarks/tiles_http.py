"""Vector tiles over HTTP: cached tiles per second and cache-miss latency, real uvicorn on loopback.

Usage::

    python -m benchmarks.tiles_http                      # sample city (var/yizhi.duckdb or built)
    python -m benchmarks.tiles_http --db my.duckdb --duration 10 --connections 16
    python -m benchmarks.tiles_http --client python      # without wrk

The server is ``yizhi serve`` (one uvicorn process, read-only store, h11 + asyncio as installed)
in a subprocess on 127.0.0.1, with a generous rate limit. Tiles: every tile of the ``buildings``
layer at z14–16 over the data's bounds that holds a building.

1. **Cache miss**: each tile is requested once, in a shuffled order, over one keep-alive
   connection (``Accept-Encoding: gzip``): the request encodes the tile (and gzips it). The first
   tile of each zoom also prepares the zoom (snapping every feature once) and is reported apart.
2. **Cached**: the same tiles again, many connections at once, for ``--duration`` seconds: with
   ``wrk`` (a Lua script cycling over the tile URLs) when it is installed, else with Python
   clients (one process per connection group, ``http.client`` keep-alive). The goal is ≥ 2,000
   tiles/s on two cores.

The output is Markdown, as the other benchmarks.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import _serve

ROOT = Path(__file__).resolve().parents[1]
GOAL = 2000.0  # cached tiles per second over HTTP
#: PostGIS 3.3 ST_AsMVT p50 (ms) on 610,302 footprints, one connection (PEERS.md): a different,
#: denser data set, shown for scale only.
POSTGIS_P50 = {14: 8.8, 15: 3.0, 16: 1.1}


def _store(db: Path | None, work: Path) -> Path:
    """A private copy of the store (the server opens it read-only)."""
    src = db or ROOT / "var" / "yizhi.duckdb"
    target = work / "bench.duckdb"
    if src.exists():
        shutil.copyfile(src, target)
        return target
    print(f"_{src} is missing: building the sample city (≈ 1 min)…_\n", file=sys.stderr)
    sys.path.insert(0, str(ROOT))
    import store
    from yizhi.pipeline import run_pipeline

    con = store.connect(target)
    try:
        run_pipeline(con)
    finally:
        con.close()
    return target


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, dict[str, str]]:
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    body = r.read()
    return r.status, body, {k.lower(): v for k, v in r.getheaders()}


def _tile_list(port: int, zooms: range) -> tuple[list[str], dict[str, object]]:
    """Every buildings tile over the data bounds at the zooms (empty ones are dropped later)."""
    sys.path.insert(0, str(ROOT))
    from api.tiles._mercator import tile_range

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    status, body, headers = _get(conn, "/tiles/buildings.json")
    if status != 200:
        raise RuntimeError(f"TileJSON answered {status}")
    data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
    doc = json.loads(data)
    w, s, e, n = doc["bounds"]
    paths = []
    for z in zooms:
        x0, y0, x1, y1 = tile_range((w, s, e, n), z)
        paths += [
            f"/tiles/buildings/{z}/{x}/{y}.mvt"
            for x in range(x0, x1 + 1)
            for y in range(y0, y1 + 1)
        ]
    conn.close()
    return paths, doc


def cache_miss(
    port: int, paths: list[str], seed: int = 7
) -> tuple[dict[int, list[float]], dict[int, float], list[str], int]:
    """Time each tile once (cold); returns ms per zoom, the first tile of each zoom, the
    non-empty tile paths and their total bytes."""
    order = list(paths)
    random.Random(seed).shuffle(order)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times: dict[int, list[float]] = {}
    first: dict[int, float] = {}
    full: list[str] = []
    size = 0
    for path in order:
        z = int(path.split("/")[3])
        start = time.perf_counter()
        status, body, _ = _get(conn, path)
        ms = (time.perf_counter() - start) * 1000
        if status not in (200, 204):
            raise RuntimeError(f"{path} answered {status}")
        if z not in first:
            first[z] = ms
        else:
            times.setdefault(z, []).append(ms)
        if status == 200:
            full.append(path)
            size += len(body)
    conn.close()
    return times, first, full, size


def _wrk(url: str, paths: list[str], duration: int, connections: int, work: Path) -> float | None:
    """Cached tiles per second under wrk (``None`` without wrk); any non-2xx answer fails."""
    if shutil.which("wrk") is None:
        return None
    r = _serve.wrk(
        url,
        paths,
        seconds=duration,
        connections=connections,
        work=work,
        threads=max(1, min(2, connections)),
        headers={"Accept-Encoding": "gzip"},
    )
    if r["errors"]:
        raise RuntimeError(f"wrk saw errors: {r}")
    return float(r["rps"])


def _client(args: tuple[int, list[str], float, int]) -> float:
    """One client process: keep-alive requests for ``duration`` seconds; returns its rate."""
    port, paths, duration, offset = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    _get(conn, paths[offset % len(paths)])  # connect before the clock starts
    done = 0
    i = offset
    start = time.perf_counter()
    stop_at = start + duration
    while time.perf_counter() < stop_at:
        status, _, _ = _get(conn, paths[i % len(paths)])
        if status not in (200, 304):
            raise RuntimeError(f"status {status}")
        i += 1
        done += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return done / elapsed


def _python_clients(port: int, paths: list[str], duration: int, connections: int) -> float:
    """Tiles per second of ``connections`` client processes running side by side."""
    jobs = [(port, paths, float(duration), k * 97) for k in range(connections)]
    with mp.get_context("spawn").Pool(connections) as pool:
        return float(sum(pool.map(_client, jobs)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tiles_http", description=__doc__)
    parser.add_argument("--db", type=Path, default=None, help="store (default var/yizhi.duckdb)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each cached run")
    parser.add_argument("--repeat", type=int, default=3, help="cached runs (shared machines)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="yizhi-tiles-http-"))
    try:
        db = _store(args.db, work)
        server, url = _serve.start(db, work)
        port = int(url.rsplit(":", 1)[1])
        try:
            paths, doc = _tile_list(port, range(14, 17))
            times, first, full, size = cache_miss(port, paths)
            if not full:
                raise RuntimeError("no tile holds a building")
            rates: list[float] = []
            client = "wrk"
            for _ in range(args.repeat):
                rate = None
                if args.client in ("auto", "wrk"):
                    rate = _wrk(url, full, args.duration, args.connections, work)
                if rate is None:
                    if args.client == "wrk":
                        raise RuntimeError("wrk is not installed")
                    client = "python"
                    rate = _python_clients(port, full, args.duration, min(args.connections, 4))
                rates.append(rate)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("## Vector tiles over HTTP (uvicorn on loopback)\n")
    print(
        f"Store: {db.name} ({args.db or 'var/yizhi.duckdb'}); layer `buildings`, bounds "
        f"{[round(b, 4) for b in doc['bounds']]}; {len(paths)} tiles at z14–16, "
        f"{len(full)} non-empty ({size / max(len(full), 1) / 1024:.1f} KiB gzip on average). "
        f"One uvicorn worker, `Accept-Encoding: gzip`. Load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (2 cores, shared).\n"
    )
    print(
        "| zoom | misses timed | p50 ms | p95 ms | first tile (prepares the zoom) ms | PostGIS p50 ms (610k footprints, PEERS) |"
    )
    print("|---|---|---|---|---|---|")
    for z in sorted(times):
        t = np.asarray(times[z])
        print(
            f"| {z} | {len(t)} | {np.percentile(t, 50):.2f} | {np.percentile(t, 95):.2f} | "
            f"{first[z]:.1f} | {POSTGIS_P50.get(z, float('nan'))} |"
        )
    best, median = max(rates), float(np.median(rates))
    print(
        f"\nCached tiles: **{best:,.0f} tiles/s** best of {len(rates)} runs (median "
        f"{median:,.0f}; runs: {', '.join(f'{r:,.0f}' for r in rates)}) with {client}, "
        f"{args.connections} connections, {args.duration} s each, cycling over {len(full)} "
        f"tiles: {best / GOAL:.2f}× the goal of {GOAL:,.0f}/s (median {median / GOAL:.2f}×).\n"
    )
    from benchmarks._report import emit, goal

    emit(
        "tiles_http",
        f"{args.db.name if args.db else 'sample city'}, {len(full)} non-empty tiles at z14–16",
        [
            goal(
                "cached tiles over HTTP ≥ 2,000/s on two cores",
                f"{median:,.0f} tiles/s median of {len(rates)} runs (best {best:,.0f}; {client}, "
                f"{args.connections} connections, one uvicorn worker)",
                median,
                GOAL,
                "tiles/s",
                better="higher",
            )
        ],
        note="cache-miss latency here is on the sample city; the PostGIS comparison is `tiles`",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
