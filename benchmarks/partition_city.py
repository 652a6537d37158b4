"""Grid partition of a generated Shenzhen-size city: time, peak memory and quality
(``python -m benchmarks.partition_city [--scale F] [--db STORE]``).

Builds the register of the generated city (:func:`synthetic.city.generate_city`, full
scale ≈ 600,000 buildings in ≈ 650 communities) into a DuckDB file, or reuses ``--db``, then
partitions every community with :func:`grid_partition.store.partition_store` (default caps 150 /
300 / 600; ``--workers`` processes, default the CPUs up to the ``threads`` setting) and prints a
Markdown table: communities, grids, micro-grids, seconds, CPU seconds (this process and its
workers), peak RSS (this process plus its workers, sampled), the load average and the quality
report of the version. Goal (issue 5): the whole city in ≤ 10 min on 2 cores, with no cap
violation outside flagged indivisible units.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

import store
from benchmarks._measure import TreeRss, cpu_seconds
from benchmarks._report import emit, goal

GOAL_SECONDS = 600.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="fraction of the full city (default 0.1; with --db: the scale it was built at, 1)",
    )
    parser.add_argument("--db", type=Path, default=None, help="reuse a built city store")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    args = parser.parse_args(argv)
    from common.workers import check_workers
    from grid_partition.store import partition_store
    from grid_partition.versions import quality
    from synthetic.city import generate_city

    workers = check_workers(args.workers)
    scale = args.scale if args.scale is not None else (1.0 if args.db else 0.1)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "city.duckdb"
        con = store.connect(path)
        t_register = 0.0
        if args.db is None:
            t0 = time.perf_counter()
            generate_city(con, scale, seed=args.seed)
            t_register = time.perf_counter() - t0
        buildings, communities = con.execute(
            "SELECT count(*), count(DISTINCT community_code) FROM buildings WHERE status = 'active'"
        ).fetchone() or (0, 0)
        load0 = psutil.getloadavg()[0]
        cpu0 = cpu_seconds()
        with TreeRss() as rss:
            t1 = time.perf_counter()
            version = partition_store(
                con, note="benchmark", actor="benchmarks.partition_city", workers=workers
            )
            seconds = time.perf_counter() - t1
        cpu = cpu_seconds() - cpu0
        load1 = psutil.getloadavg()[0]
        q = quality(con, version)
        grids, micro, unit = con.execute(
            "SELECT (SELECT count(*) FROM grids WHERE version_id = $v), "
            "(SELECT count(*) FROM micro_grids WHERE version_id = $v), "
            "(SELECT count(*) FROM unit_grids WHERE version_id = $v)",
            {"v": version},
        ).fetchone() or (0, 0, 0)
        con.close()
    print(f"## Grid partition of a generated city (scale {scale:g})\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| buildings / communities with buildings | {buildings:,} / {communities:,} |")
    if t_register:
        print(f"| register build (not part of the figure) | {t_register:.1f} s |")
    print(f"| grids / micro-grids / unit grids | {grids:,} / {micro:,} / {unit:,} |")
    print(
        f"| partition_store, every community, {workers} worker(s) | {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU (all processes) |"
    )
    print(f"| load average (1 min) at start / end (2 cores) | {load0:.1f} / {load1:.1f} |")
    print(f"| peak RSS, parent + workers (sampled) | {rss.peak / 1024**3:.2f} GiB |")
    for key in ("micro_over_cap", "grid_over_cap", "micro_flagged", "micro_noncontiguous",
                "grid_noncontiguous", "micro_polsby_popper", "tiling_area_error", "ok"):  # fmt: skip
        value = q.get(key)
        print(f"| {key} | {round(value, 4) if isinstance(value, float) else value} |")
    print(
        f"| CPU ÷ {workers} cores ÷ goal, projected to scale 1 (the wall time on idle cores) | "
        f"{cpu / workers / scale / GOAL_SECONDS:.2f} |"
    )
    print(
        f"| time ÷ goal (10 min), linear projection to scale 1 | {seconds / scale / GOAL_SECONDS:.2f} |"
    )
    over = int(q.get("micro_over_cap") or 0) + int(q.get("grid_over_cap") or 0)
    noncontiguous = int(q.get("micro_noncontiguous") or 0) + int(q.get("grid_noncontiguous") or 0)
    at = "at scale 1" if scale == 1 else f"projected linearly from scale {scale:g}"
    emit(
        "partition_city",
        scale,
        [
            goal(
                "partition the Shenzhen-size city ≤ 10 min on 2 cores",
                f"{seconds / scale:.0f} s wall {at} ({seconds:.1f} s, {cpu:.0f} CPU s, "
                f"{buildings:,} buildings → {grids:,} grids, {micro:,} micro-grids; CPU ÷ "
                f"{workers} cores: {cpu / workers / scale:.0f} s; load {load0:.1f} → {load1:.1f})",
                seconds / scale,
                GOAL_SECONDS,
                "s",
            ),
            goal(
                "no micro-grid or grid over its cap outside flagged units",
                f"{over} over cap, {q.get('micro_flagged')} flagged, {noncontiguous} "
                f"non-contiguous; ok = {q.get('ok')}",
                over,
                0,
                "grids",
            ),
        ],
        note=f"peak RSS {rss.peak / 1024**3:.2f} GiB (parent + {workers} workers)",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
