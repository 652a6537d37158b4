"""Latency of lifecycle operations, history queries and exports
(``python -m benchmarks.lifecycle [--n N] [--ops K]``).

Synthesises N buildings (default 50,000; a city has ~600,000) as boxes in two communities with an
initial ``create`` history, in an in-memory store, then times K splits, merges, renumbers and
demolitions (default 50 each), 1,000 ``as_of`` / ``get_building`` lookups, one
``buildings_as_of`` over the whole register, and the buildings export to GeoPackage and
GeoParquet. Prints a Markdown table. No peer publishes comparable figures; the bar is
interactive latency (an operation well under a second at city scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

import store
from address_registry import lifecycle as lc
from address_registry._allocate import compose_ids
from address_registry.export import export_layer
from address_registry.lookup import get_building

C1, C2 = "310101002001", "310101002002"
CITY_BUILDINGS = 600_000
GOAL_MS = 1000.0


def synthesise(con: object, n: int) -> list[str]:
    """Insert ``n`` touching-in-pairs boxes in a grid over two communities; return their IDs."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    side = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    x0 = 121.40 + (k % side) * 0.0004
    y0 = 31.20 + (k // side) * 0.0004
    community = np.where(k % side < side // 2, C1, C2)
    ids = np.empty(n, dtype=object)
    for code in (C1, C2):
        mask = community == code
        ids[mask] = compose_ids(code, 2020, np.arange(1, int(mask.sum()) + 1, dtype=np.int64))
    frame = pd.DataFrame(
        {"id": ids, "code": community, "x0": x0, "y0": y0, "x1": x0 + 0.0002, "y1": y0 + 0.0001}
    )
    con.register("src", frame)
    for code in (C1, C2):
        con.execute(
            "INSERT INTO admin_areas (code, level, name) VALUES (?, 'community', ?)", [code, code]
        )
    con.execute(
        """
        INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code,
            status, use, households, lon, lat, geom, source, address)
        SELECT id, code, 2020, code, 'active', 'residential', 12, (x0 + x1) / 2, (y0 + y1) / 2,
               ST_MakeEnvelope(x0, y0, x1, y1), 'generated', '测试路' || right(id, 6) || '号'
        FROM src
        """
    )
    con.execute(
        "INSERT INTO registry_operations (op, valid_at, recorded_at) "
        "VALUES ('create', TIMESTAMP '2020-01-01', TIMESTAMPTZ '2024-01-01 00:00:00+00')"
    )
    con.execute(
        """
        INSERT INTO building_history (building_id, valid_from, recorded_from, op_id, status,
            community_code, name, use, households, doorplate_id, address, geom)
        SELECT building_id, TIMESTAMP '2020-01-01', TIMESTAMPTZ '2024-01-01 00:00:00+00', 1,
               status, community_code, name, use, households, doorplate_id, address, geom
        FROM buildings
        """
    )
    con.execute("INSERT INTO id_serials SELECT community_code, count(*) FROM buildings GROUP BY 1")
    con.unregister("src")
    return list(ids)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Mean milliseconds per call."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--ops", type=int, default=50)
    parser.add_argument(
        "--scale", type=float, default=None, help="N = 600,000 × scale (overrides --n)"
    )
    args = parser.parse_args()
    if args.scale is not None:
        args.n = max(100, round(CITY_BUILDINGS * args.scale))
    con = store.connect(":memory:")
    t0 = time.perf_counter()
    ids = synthesise(con, args.n)
    setup = time.perf_counter() - t0
    rng = np.random.default_rng(7)
    picks = iter(rng.permutation(len(ids)).tolist())
    day = dt.datetime(2025, 1, 1)
    rows: list[tuple[str, str]] = []
    op_ms: dict[str, float] = {}

    def live() -> str:
        while True:
            bid = ids[next(picks)]
            row = con.execute(
                "SELECT status FROM buildings WHERE building_id = ?", [bid]
            ).fetchone()
            if row and row[0] == "active":
                return bid

    def geom(bid: str) -> shapely.Geometry:
        row = con.execute(
            "SELECT ST_AsWKB(geom) FROM buildings WHERE building_id = ?", [bid]
        ).fetchone()
        assert row is not None
        return shapely.from_wkb(bytes(row[0]))

    def do_split() -> None:
        bid = live()
        minx, miny, maxx, maxy = geom(bid).bounds
        mid = (minx + maxx) / 2
        lc.split(
            con, bid, [shapely.box(minx, miny, mid, maxy), shapely.box(mid, miny, maxx, maxy)], day
        )

    def do_merge() -> None:
        bid = live()
        minx, miny, maxx, maxy = geom(bid).bounds
        other = con.execute(
            "SELECT building_id FROM buildings WHERE status = 'active' AND building_id <> ? "
            "AND community_code = (SELECT community_code FROM buildings WHERE building_id = ?) "
            "AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?)) LIMIT 1",
            [bid, bid, minx - 0.00021, miny, maxx + 0.00021, maxy],
        ).fetchone()
        if other:
            lc.merge(
                con,
                [bid, other[0]],
                day,
                geometry=shapely.box(minx - 0.0004, miny, maxx + 0.0004, maxy),
            )

    def do_renumber() -> None:
        lc.renumber(con, live(), day, "benchmark")

    def do_demolish() -> None:
        lc.demolish(con, live(), day)

    for name, fn in [
        ("split", do_split),
        ("merge", do_merge),
        ("renumber", do_renumber),
        ("demolish", do_demolish),
    ]:
        op_ms[name] = timed(fn, args.ops)
        rows.append((f"{name} (one transaction)", f"{op_ms[name]:.1f} ms/op"))
    sample = [ids[i] for i in rng.integers(0, len(ids), 1000)]
    it = iter(sample)
    rows.append(
        (
            "as_of (one building)",
            f"{timed(lambda: lc.as_of(con, next(it), '2025-06-01'), 1000):.2f} ms",
        )
    )
    it = iter(sample)
    rows.append(("get_building", f"{timed(lambda: get_building(con, next(it)), 1000):.2f} ms"))
    start = time.perf_counter()
    frame = lc.buildings_as_of(con, "2024-06-01")
    rows.append(
        (
            f"buildings_as_of (whole register, {len(frame):,} rows)",
            f"{time.perf_counter() - start:.2f} s",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("gpkg", "parquet"):
            start = time.perf_counter()
            info = export_layer(con, "buildings", fmt, Path(tmp) / f"b.{fmt}")
            rows.append(
                (
                    f"export buildings {fmt} ({info['rows']:,} rows)",
                    f"{time.perf_counter() - start:.2f} s",
                )
            )
    print(
        f"lifecycle benchmark: {args.n:,} buildings (synthesised in {setup:.1f} s), {args.ops} ops each\n"
    )
    print("| measure | value |\n|---|---|")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    from benchmarks._report import emit, goal

    slowest = max(op_ms, key=op_ms.__getitem__)
    emit(
        "lifecycle",
        args.n / CITY_BUILDINGS,
        [
            goal(
                "lifecycle operations at interactive latency (well under 1 s each)",
                f"slowest: {slowest} {op_ms[slowest]:.1f} ms/op ("
                + ", ".join(f"{k} {v:.0f}" for k, v in op_ms.items())
                + f" ms; {args.n:,} buildings)",
                op_ms[slowest],
                GOAL_MS,
                "ms",
            )
        ],
        note="no peer publishes comparable figures; the bar is interactive latency",
    )


if __name__ == "__main__":
    main()
