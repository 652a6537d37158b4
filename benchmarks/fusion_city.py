"""Whole fusion of a generated Shenzhen-size city (or a fraction): link every layer record and
compute the block data (``python -m benchmarks.fusion_city [--scale F] [--db STORE]``).

Stages, each timed with its CPU seconds and the peak RSS of the process tree (sampled):

1. register: :func:`synthetic.city.generate_city` (skipped when ``--db`` has one);
2. grids: :func:`grid_partition.store.partition_store` (skipped when a version is active);
3. layers: :func:`benchmarks._city_layers.city_layers` (the rates of
   :mod:`layers.demo_data`, drawn in bulk) with people capped at 17.7 M x scale (legal persons,
   events and sensors follow at the Shenzhen ratios), then ``layers.ingest`` per kind (skipped
   when people are already loaded);
4. **fusion** (the goal, issue 7: <= 10 min and <= 12 GiB on 2 cores at full scale):
   ``fusion.link.link(incremental=False)`` then ``fusion.blocks.compute_blocks``.

Prints a Markdown table and a JSON line. Only stage 4 counts for the goal; the others build
its input.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import store
from benchmarks._measure import TreeRss, cpu_seconds

FULL_PEOPLE = 17_700_000
GOAL_SECONDS = 600.0
GOAL_GIB = 12.0


def _stage(results: dict[str, Any], name: str) -> Any:
    class _Timer:
        def __enter__(self) -> dict[str, Any]:
            self.rss = TreeRss().__enter__()
            self.t, self.c = time.perf_counter(), cpu_seconds()
            self.out: dict[str, Any] = {}
            return self.out

        def __exit__(self, *exc: object) -> None:
            self.rss.__exit__()
            self.out.update(
                seconds=round(time.perf_counter() - self.t, 1),
                cpu_seconds=round(cpu_seconds() - self.c, 1),
                peak_rss_gib=round(self.rss.peak / 2**30, 2),
                load_avg_1m=round(os.getloadavg()[0], 1),
            )
            results[name] = self.out
            print(f"{name}: {json.dumps(self.out, ensure_ascii=False)}", flush=True)

    return _Timer()


def _count(con: Any, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str] | None = None) -> int:
    """Build what is missing, run the fusion, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the full city")
    parser.add_argument("--db", type=Path, default=Path("/tmp/yizhi-bench-fusion/city.duckdb"))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes (partition, address resolution)"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the input city, skip the fusion"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("YIZHI_HMAC_SECRET", "benchmark-secret-not-for-production")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(args.db)
    results: dict[str, Any] = {"scale": args.scale, "db": str(args.db)}

    if _count(con, "buildings") == 0:
        from synthetic.city import generate_city

        with _stage(results, "register") as out:
            generate_city(con, args.scale, seed=args.seed)
            out["buildings"], out["rooms"] = _count(con, "buildings"), _count(con, "rooms")
    if _count(con, "grid_versions WHERE status = 'active'") == 0:
        from common.workers import check_workers
        from grid_partition.store import partition_store

        with _stage(results, "grids") as out:
            out["version"] = partition_store(
                con, note="benchmark city", actor="bench", workers=check_workers(args.workers)
            )
            out["micro_grids"] = _count(con, "micro_grids")
    if _count(con, "people") == 0:
        from benchmarks._city_layers import city_layers
        from layers.ingest import ingest

        layer_dir = args.db.parent / "layers"
        if not (layer_dir / "sensors.csv").exists():  # files of an interrupted run are reused
            with _stage(results, "layers_generate") as out:
                out.update(
                    city_layers(
                        con, layer_dir, seed=args.seed, max_people=round(FULL_PEOPLE * args.scale)
                    )
                )
        for kind in ("people", "legal_persons", "houses", "events", "sensors"):
            with _stage(results, f"ingest_{kind}") as out:
                done = ingest(con, kind, layer_dir / f"{kind}.csv")
                out.update(rows_in=done.rows_in, loaded=done.loaded, quarantined=done.quarantined)

    if args.build_only:
        con.close()
        print(json.dumps(results, ensure_ascii=False))
        return 0
    from fusion.blocks import check_sums, compute_blocks
    from fusion.link import LAYERS, link

    with _stage(results, "fusion") as out:
        t = time.perf_counter()
        report = {"layers": {}}
        out["link_seconds_by_layer"] = {}
        for layer in LAYERS:  # one call per layer (same work as one call) to time each
            t1 = time.perf_counter()
            report["layers"] |= link(con, layers=[layer], incremental=False, workers=args.workers)[
                "layers"
            ]
            out["link_seconds_by_layer"][layer] = round(time.perf_counter() - t1, 1)
        out["link_seconds"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        out["block_data_rows"] = compute_blocks(con)
        out["blocks_seconds"] = round(time.perf_counter() - t, 1)
        out["layers"] = {
            name: {k: r[k] for k in ("total", "linked", "unlinked", "by_method", "reasons")}
            for name, r in report["layers"].items()
        }
    results["sums_agree"] = check_sums(con) == []
    con.close()

    fusion = results["fusion"]
    print(f"\n## Whole fusion of a generated city (scale {args.scale:g})\n")
    print("| stage | wall s | CPU s | peak RSS GiB | load avg |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        if isinstance(r, dict) and "seconds" in r:
            print(
                f"| {name} | {r['seconds']} | {r['cpu_seconds']} | {r['peak_rss_gib']} "
                f"| {r['load_avg_1m']} |"
            )
    print(
        f"\nfusion (link {fusion['link_seconds']} s + blocks {fusion['blocks_seconds']} s): "
        f"linear projection to scale 1: {fusion['seconds'] / args.scale:.0f} s wall, "
        f"{fusion['cpu_seconds'] / args.scale / 2:.0f} s on two idle cores (CPU / 2), "
        f"goal {GOAL_SECONDS:.0f} s; peak RSS {fusion['peak_rss_gib']} GiB (goal {GOAL_GIB} GiB "
        f"at scale 1); sums agree: {results['sums_agree']}"
    )
    # BENCH-RESULT line for `make bench` (benchmarks/_report.py; docs/benchmarks.md)
    from benchmarks._report import emit, goal

    projected = fusion["seconds"] / args.scale
    at = "at scale 1" if args.scale == 1 else f"projected linearly from scale {args.scale:g}"
    emit(
        "fusion_city",
        args.scale,
        [
            goal(
                "whole fusion of the Shenzhen-size city ≤ 10 min on 2 cores",
                f"{projected:.0f} s {at} ({fusion['seconds']} s wall, {fusion['cpu_seconds']} "
                f"CPU s; link {fusion['link_seconds']} s + blocks {fusion['blocks_seconds']} s)",
                projected,
                GOAL_SECONDS,
                "s",
            ),
            goal(
                "whole fusion peak memory ≤ 12 GiB",
                f"{fusion['peak_rss_gib']} GiB at scale {args.scale:g}"
                + ("" if args.scale == 1 else " (not projected)"),
                fusion["peak_rss_gib"],
                GOAL_GIB,
                "GiB",
            ),
            goal(
                "block data sums agree across levels (check_sums)",
                f"sums agree: {results['sums_agree']}",
                0 if results["sums_agree"] else 1,
                0,
                "disagreements",
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
