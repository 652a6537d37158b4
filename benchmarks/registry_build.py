"""Registry build of a generated Shenzhen-size city: time and peak memory
(``python -m benchmarks.registry_build [--scale F] [--seed S]``).

Generates the city with :func:`synthetic.city.generate_sources` (full scale ≈ 600,000
buildings, ≈ 11 million estimated rooms, 10 districts, 75 streets, 650 communities), then builds
its register into a fresh DuckDB file with :func:`address_registry.build.build_registry`. Prints a
Markdown table: buildings, rooms, seconds per stage, total, peak RSS (psutil, sampled every
50 ms, including DuckDB's native memory) and ``ru_maxrss``. Goal (issue 3): the full city in
≤ 5 min and ≤ 8 GiB on 2 cores. No peer builds such a register; the bar is the goal.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

import store
from address_registry.build import build_registry
from benchmarks._report import emit, goal
from synthetic.city import generate_sources

GOAL_SECONDS = 300.0
GOAL_BYTES = 8 * 1024**3


class PeakRss:
    """Sample the process RSS in a thread; ``peak`` is the largest seen."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the full city")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    with PeakRss() as rss, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sources = generate_sources(args.scale, seed=args.seed)
        t_gen = time.perf_counter() - t0
        con = store.connect(Path(tmp) / "city.duckdb", threads=args.threads)
        cpu0 = psutil.Process().cpu_times()
        t1 = time.perf_counter()
        report = build_registry(con, sources=sources)
        t_build = time.perf_counter() - t1
        cpu1 = psutil.Process().cpu_times()
        cpu_build = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        sizes = con.execute(
            "SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM rooms), "
            "(SELECT count(*) FROM admin_areas WHERE level = 'community'), "
            "(SELECT count(*) FROM admin_areas WHERE level = 'street'), "
            "(SELECT count(*) FROM admin_areas WHERE level = 'district')"
        ).fetchone()
        con.close()
        db_bytes = (Path(tmp) / "city.duckdb").stat().st_size
    assert sizes is not None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    buildings, rooms, communities, streets, districts = sizes
    # the goal scales linearly with the city: compare the per-building rate
    projected = t_build / args.scale
    print(f"## Registry build, generated city at scale {args.scale:g}\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| buildings / rooms | {buildings:,} / {rooms:,} |")
    print(f"| districts / streets / communities | {districts} / {streets} / {communities} |")
    print(f"| generate sources | {t_gen:.1f} s |")
    print(f"| build (store writes included) | {t_build:.1f} s wall, {cpu_build:.1f} s CPU |")
    print(f"| load average at the end (2 cores, shared) | {psutil.getloadavg()[0]:.1f} |")
    for stage, seconds in report["stage_seconds"].items():
        print(f"| &nbsp; stage {stage} | {seconds:.1f} s |")
    print(
        f"| peak RSS (sampled) / ru_maxrss | {rss.peak / 1024**3:.2f} GiB / {maxrss / 1024**3:.2f} GiB |"
    )
    print(f"| store file | {db_bytes / 1024**2:.0f} MiB |")
    print(
        f"| build time ÷ goal (5 min), linear projection to scale 1 | {projected / GOAL_SECONDS:.2f} |"
    )
    print(
        f"| peak memory ÷ goal (8 GiB) at this scale | {max(rss.peak, maxrss) / GOAL_BYTES:.2f} |"
    )
    peak = max(rss.peak, maxrss) / 1024**3
    at = "at scale 1" if args.scale == 1 else f"projected linearly from scale {args.scale:g}"
    emit(
        "registry_build",
        args.scale,
        [
            goal(
                "registry build of the Shenzhen-size city (600k buildings, 11M rooms) ≤ 5 min",
                f"{projected:.0f} s {at} ({t_build:.1f} s for {buildings:,} buildings, "
                f"{cpu_build:.0f} CPU s)",
                projected,
                GOAL_SECONDS,
                "s",
            ),
            goal(
                "registry build peak memory ≤ 8 GiB",
                f"{peak:.2f} GiB at scale {args.scale:g}"
                + ("" if args.scale == 1 else " (not projected: a lower bound)"),
                peak,
                GOAL_BYTES / 1024**3,
                "GiB",
            ),
        ],
        note="no peer builds such a register; the bar is the goal",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
