"""Grid versions on the sample city (``python -m benchmarks.grid_versions [--db PATH]``).

Builds the sample register into a temporary store (or uses ``--db``, a store that already holds
the register), then times: ``partition_store`` over every community, ``grid_at`` (N random
points inside the grids' extent; the first call, which loads the version's index, timed
apart), ``diff`` of two versions, an unchanged ``repartition``, and the GeoPackage export and
import. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=None, help="store holding the register")
    parser.add_argument("--points", type=int, default=2000, help="grid_at lookups")
    args = parser.parse_args()

    import store
    from grid_partition.gis import export_version, import_version
    from grid_partition.store import partition_store
    from grid_partition.versions import diff, grid_at, quality, repartition

    tmp = Path(tempfile.mkdtemp(prefix="bench_grid_"))
    path = tmp / "grid.duckdb"
    if args.db is not None:
        shutil.copyfile(args.db, path)
        con = store.connect(path)
    else:
        from yizhi.pipeline import run_pipeline

        con = store.connect(path)
        t = time.perf_counter()
        run_pipeline(con, only=["registry"])
        print(f"registry build: {time.perf_counter() - t:.1f} s")
    rows: list[tuple[str, str]] = []

    def timed(label: str, fn: object) -> object:
        t = time.perf_counter()
        out = fn()  # type: ignore[operator]
        rows.append((label, f"{time.perf_counter() - t:.2f} s"))
        return out

    v1 = int(timed("partition_store (all communities)", lambda: partition_store(con)))  # type: ignore[call-overload]
    q = quality(con, v1)
    x0, y0, x1, y1 = con.execute(
        "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) "
        "FROM grids WHERE version_id = ?",
        [v1],
    ).fetchone()  # type: ignore[misc]
    rng = np.random.default_rng(0)
    xs = rng.uniform(x0, x1, args.points)
    ys = rng.uniform(y0, y1, args.points)
    t = time.perf_counter()
    with contextlib.suppress(LookupError):
        grid_at(con, float(xs[0]), float(ys[0]))
    first = time.perf_counter() - t
    hits = 0
    t = time.perf_counter()
    for x, y in zip(xs, ys, strict=True):
        try:
            grid_at(con, float(x), float(y))
            hits += 1
        except LookupError:
            pass
    per = (time.perf_counter() - t) / len(xs) * 1000
    rows.append(("grid_at first call (loads the index)", f"{first * 1000:.1f} ms"))
    rows.append((f"grid_at per lookup ({len(xs)} points, {hits} in a grid)", f"{per:.2f} ms"))
    v2 = int(timed("repartition (register unchanged)", lambda: repartition(con)))  # type: ignore[call-overload]
    d = timed("diff v1 v2", lambda: diff(con, v1, v2))
    gpkg = tmp / "grids.gpkg"
    timed("export GeoPackage", lambda: export_version(con, gpkg))
    timed("import GeoPackage (unchanged)", lambda: import_version(con, gpkg))
    con.close()
    print(
        f"\nsample city: {q['communities']} communities, {q['buildings']} buildings, "
        f"{q['households']} households -> {q['grids']} grids, {q['micro_grids']} micro-grids "
        f"({q['micro_flagged']} flagged); churn of the unchanged repartition: "
        f"{d['churn']['micro']:.4f}\n"  # type: ignore[index]
    )
    print("| step | time |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    shutil.rmtree(tmp, ignore_errors=True)
    from benchmarks._report import emit

    emit(
        "grid_versions",
        "sample city" if args.db is None else f"store {args.db.name}",
        note="no goal or peer of its own: timings of the grid version operations",
    )


if __name__ == "__main__":
    main()
