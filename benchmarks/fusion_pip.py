"""Benchmark: point-in-polygon of many points onto 10,000 irregular grids (PEERS.md).

Run with ``.venv/bin/python -m benchmarks.fusion_pip [--sizes 1000000,10000000] [--no-postgis]``.

Inputs (deterministic, :mod:`synthetic.pip`): the Voronoi tessellation of 10,000 random seeds
in a 40 x 40 km box, edges cut so each grid has ≈ 40 vertices; points 70% uniform and 30% in 200
Gaussian clusters (σ 300 m), in random order. Engines, one at a time, data already loaded, the
join written to a table (or a frame for GeoPandas and Dask):

- GeoPandas ``sjoin(predicate="within")``;
- DuckDB ``ST_Contains`` join (SPATIAL_JOIN operator), points in random and in ``ST_Hilbert``
  order;
- yizhi's DuckDB engine: the lattice join (lattice build timed separately, once per grid set);
- yizhi's Dask engine and, on the same LocalCluster (1 and 2 worker processes), the
  dask-geopandas peer (``sjoin(predicate="within")`` of persisted point partitions), smallest size;
- PostGIS 3 (private cluster in a temp dir, loopback port, as user ``postgres``): GiST on the
  points (every size) and GiST on the grids (smallest size only: it is ~10x slower).

Every engine must give the same match count and checksum ``sum((point_id*7919 + polygon_id) %
1000000007)``: points fall on no grid edge, so ``within``, ``ST_Contains`` and ``ST_Covers`` agree.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import store
from fusion._duckdb import DuckDBEngine
from synthetic.pip import mixed_points, voronoi_grids

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 54337
WIDTH = 40_000.0
MOD = 1_000_000_007


def log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def checksum_frame(df: pd.DataFrame) -> tuple[int, int]:
    p = df["point_id"].to_numpy(np.int64)
    g = df["polygon_id"].to_numpy(np.int64)
    return len(df), int(((p * 7919 + g) % MOD).sum())


def checksum_sql(con: Any, table: str) -> tuple[int, int]:
    n, s = con.execute(
        f"SELECT count(*), coalesce(sum((point_id * 7919 + polygon_id) % {MOD}), 0) FROM {table}"
    ).fetchone()
    return int(n), int(s)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# -- engines -------------------------------------------------------------------------------------


def run_geopandas(grids: pd.DataFrame, pts: pd.DataFrame) -> tuple[float, tuple[int, int]]:
    import geopandas as gpd

    g = gpd.GeoDataFrame(grids, geometry="geometry")
    p = gpd.GeoDataFrame(
        pts[["point_id"]], geometry=gpd.points_from_xy(pts["x"].to_numpy(), pts["y"].to_numpy())
    )
    t = time.perf_counter()
    j = gpd.sjoin(p, g, predicate="within", how="inner")
    sec = time.perf_counter() - t
    out = j.groupby("point_id", as_index=False)["polygon_id"].min()
    del j, p
    return sec, checksum_frame(out)


def run_duckdb(
    con: Any, engine: DuckDBEngine, repeat: int
) -> dict[str, tuple[float, tuple[int, int]]]:
    res: dict[str, tuple[float, tuple[int, int]]] = {}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pts_g AS "
        "SELECT point_id, ST_Point(x, y) AS geom FROM fusion_points_pts"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pts_h AS SELECT * FROM pts_g "
        f"ORDER BY ST_Hilbert(geom, ST_MakeBox2D(ST_Point(0, 0), ST_Point({WIDTH}, {WIDTH})))"
    )
    grids = f"fusion_polys_{engine._polygon_key('grids')}"
    for label, table in (("DuckDB ST_Contains", "pts_g"), ("DuckDB, Hilbert-ordered", "pts_h")):
        sql = (
            "CREATE OR REPLACE TEMP TABLE r AS SELECT p.point_id, g.polygon_id "
            f"FROM {table} p JOIN {grids} g ON ST_Contains(g.geom, p.geom)"
        )
        sec, _ = timed(lambda sql=sql: con.execute(sql), repeat)
        res[label] = (sec, checksum_sql(con, "r"))
        log(f"{label}: {sec:.2f} s")
    pip = engine.pip_sql("pts", "grids")
    sec, _ = timed(lambda: con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {pip}"), repeat)
    res["yizhi lattice join (DuckDB)"] = (sec, checksum_sql(con, "r"))
    log(f"lattice: {sec:.2f} s")
    sec, df = timed(lambda: engine.points_in_polygons("pts", "grids"), 1)
    res["yizhi points_in_polygons() to a sorted DataFrame"] = (sec, checksum_frame(df))
    con.execute("DROP TABLE pts_g; DROP TABLE pts_h; DROP TABLE r")
    return res


def run_dask(
    grids: pd.DataFrame, pts: pd.DataFrame, workers: int = 2, repeat: int = 2
) -> dict[str, tuple[float, float, tuple[int, int]]]:
    """Our Dask engine and the dask-geopandas peer on one LocalCluster of ``workers`` one-thread
    processes: ``{label: (best join s of repeat, load/persist s, checksum)}``."""
    from distributed import Client, LocalCluster, wait

    from fusion._dask import DaskEngine

    res: dict[str, tuple[float, float, tuple[int, int]]] = {}
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(workers)
        engine = DaskEngine(client)
        t = time.perf_counter()
        engine.load_points("pts", pts)
        engine.load_polygons("grids", grids)
        engine._points["pts"] = engine._points["pts"].persist()
        wait(engine._points["pts"])
        load = time.perf_counter() - t
        sec, out = timed(lambda: engine.points_in_polygons("pts", "grids"), repeat)
        res["ours"] = (sec, load, checksum_frame(out))
        res["peer"] = _run_dask_geopandas(client, grids, pts, workers, repeat)
    return res


def _run_dask_geopandas(
    client: Any, grids: pd.DataFrame, pts: pd.DataFrame, workers: int, repeat: int
) -> tuple[float, float, tuple[int, int]]:
    """The PEERS.md peer: dask-geopandas ``sjoin(predicate="within")`` of the points (2
    partitions per worker, persisted) onto the grids (one partition), computed on the cluster.

    The join is timed like ours (data loaded and persisted first, best of ``repeat``); the
    smallest polygon per point is taken after the clock, as for GeoPandas.
    """
    import dask_geopandas
    import geopandas as gpd
    from distributed import wait

    t = time.perf_counter()
    g = gpd.GeoDataFrame(grids[["polygon_id", "geometry"]], geometry="geometry")
    p = gpd.GeoDataFrame(
        pts[["point_id"]], geometry=gpd.points_from_xy(pts["x"].to_numpy(), pts["y"].to_numpy())
    )
    dp = dask_geopandas.from_geopandas(p, npartitions=2 * workers).persist()
    dg = dask_geopandas.from_geopandas(g, npartitions=1).persist()
    wait([dp, dg])
    load = time.perf_counter() - t

    def join() -> pd.DataFrame:
        joined = dask_geopandas.sjoin(dp, dg, predicate="within", how="inner")
        out: pd.DataFrame = client.compute(joined[["point_id", "polygon_id"]]).result()
        return out

    sec, j = timed(join, repeat)
    best = j.groupby("point_id", as_index=False)["polygon_id"].min()
    return sec, load, checksum_frame(best)


class PostGIS:
    """A private PostgreSQL 15 + PostGIS 3 cluster in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.sock = root / "sock"
        self.sock.mkdir(parents=True)
        shutil.chown(root, "postgres")
        shutil.chown(self.sock, "postgres")

    def _as_pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, check=True)

    def start(self) -> None:
        self._as_pg(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        opts = (
            f"-p {PG_PORT} -k {self.sock} -c listen_addresses=127.0.0.1 -c shared_buffers=2GB "
            "-c jit=off -c max_parallel_workers_per_gather=2 -c fsync=off -c work_mem=256MB "
            "-c maintenance_work_mem=1GB -c synchronous_commit=off"
        )
        self._as_pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
            str(self.root / "pg.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, sql: str) -> str:
        proc = subprocess.run(
            [
                "psql", "-X", "-q", "-A", "-t", "-h", str(self.sock), "-p", str(PG_PORT),
                "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql,
            ],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return proc.stdout.strip()

    def timed(self, sql: str) -> float:
        t = time.perf_counter()
        self.psql(sql)
        return time.perf_counter() - t


@contextlib.contextmanager
def postgis(grids: pd.DataFrame) -> Iterator[PostGIS]:
    import shapely

    with tempfile.TemporaryDirectory(prefix="fusion-pg-") as tmp:
        pg = PostGIS(Path(tmp))
        pg.start()
        try:
            pg.psql("CREATE EXTENSION postgis")
            path = Path(tmp) / "grids.tsv"
            hexes = shapely.to_wkb(grids["geometry"].to_numpy(), hex=True)
            with path.open("w") as f:
                for pid, h in zip(grids["polygon_id"], hexes, strict=True):
                    f.write(f"{pid}\t{h}\n")
            shutil.chown(path, "postgres")
            pg.psql("CREATE TABLE grids (polygon_id bigint, geom geometry(Polygon))")
            pg.psql(f"\\copy grids FROM '{path}'")
            pg.psql("VACUUM ANALYZE grids")
            yield pg
        finally:
            pg.stop()


def run_postgis(
    pg: PostGIS, pts: pd.DataFrame, grids_gist: bool
) -> dict[str, tuple[float, tuple[int, int]]]:
    path = pg.root / "pts.csv"
    pts.to_csv(path, index=False, header=False, float_format="%.17g")
    shutil.chown(path, "postgres")
    pg.psql("DROP TABLE IF EXISTS pts_in, pts, r; DROP INDEX IF EXISTS grids_gist")
    pg.psql("CREATE UNLOGGED TABLE pts_in (point_id bigint, x float8, y float8)")
    t = time.perf_counter()
    pg.psql(f"\\copy pts_in FROM '{path}' (FORMAT csv)")
    pg.psql(
        "CREATE UNLOGGED TABLE pts AS SELECT point_id, ST_MakePoint(x, y) AS geom FROM pts_in; "
        "DROP TABLE pts_in"
    )
    load = time.perf_counter() - t
    path.unlink()
    join = (
        "CREATE UNLOGGED TABLE r AS SELECT p.point_id, g.polygon_id "
        "FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom)"
    )
    check = (
        f"SELECT count(*) || ' ' || coalesce(sum((point_id * 7919 + polygon_id) % {MOD}), 0) FROM r"
    )
    res: dict[str, tuple[float, tuple[int, int]]] = {}
    if grids_gist:
        pg.psql("CREATE INDEX grids_gist ON grids USING gist (geom)")
        pg.psql("VACUUM ANALYZE pts")
        sec = pg.timed(join)
        n, s = pg.psql(check).split()
        res["PostGIS 3, GiST on grids"] = (sec, (int(n), int(s)))
        log(f"PostGIS grids GiST: {sec:.2f} s")
        pg.psql("DROP TABLE r; DROP INDEX grids_gist")
    t = time.perf_counter()
    pg.psql("CREATE INDEX pts_gist ON pts USING gist (geom)")
    pg.psql("VACUUM ANALYZE pts")
    index = time.perf_counter() - t
    sec = pg.timed(join)
    n, s = pg.psql(check).split()
    res[f"PostGIS 3, GiST on points (index {index:.1f} s, load {load:.1f} s)"] = (
        sec,
        (int(n), int(s)),
    )
    log(f"PostGIS points GiST: {sec:.2f} s (index {index:.1f} s)")
    pg.psql("DROP TABLE r; DROP TABLE pts")
    return res


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000", help="point counts, comma-separated")
    ap.add_argument("--grids", type=int, default=10_000)
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--no-geopandas", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--repeat", type=int, default=2, help="best of N for DuckDB at <= 3M points")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    print(f"# fusion_pip: {args.grids:,} Voronoi grids, points 70% uniform / 30% clustered\n")
    t = time.perf_counter()
    grids = voronoi_grids(args.grids, width_m=WIDTH, seed=0)
    verts = float(np.mean([len(g.exterior.coords) - 1 for g in grids["geometry"]]))
    log(f"grids generated in {time.perf_counter() - t:.1f} s, {verts:.1f} vertices each")

    con = store.connect(":memory:")
    engine = DuckDBEngine(con, lattice=True)
    t = time.perf_counter()
    engine.load_polygons("grids", grids)
    build = time.perf_counter() - t
    info = engine.lattice_info("grids")
    share = info["n_inner"] / (info["n_inner"] + info["n_boundary"])
    print(
        f"Lattice: {info['size']:.1f} m cells, {info['nx']}x{info['ny']}; {share:.0%} of cells "
        f"that meet a grid lie wholly inside one; built in {build:.1f} s (cached per grid set; "
        f"reloading the same set: ",
        end="",
    )
    t = time.perf_counter()
    DuckDBEngine(con, lattice=True).load_polygons("grids", grids)
    print(f"{time.perf_counter() - t:.2f} s).\n")

    why_no_pg = "--no-postgis" if args.no_postgis else _postgis_missing()
    pg_cm = None if why_no_pg else postgis(grids)
    pg = None
    if pg_cm is not None:
        try:
            pg = pg_cm.__enter__()
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
            why_no_pg = f"PostGIS did not start: {exc} {text.strip()[-300:]}"
            print(f"PostGIS skipped: {why_no_pg}\n")
            pg_cm = None
    elif why_no_pg:
        print(f"PostGIS skipped: {why_no_pg}\n")
    results: dict[int, dict[str, tuple[float, tuple[int, int]]]] = {}
    try:
        for n in sizes:
            log(f"--- {n:,} points")
            pts = mixed_points(n, width_m=WIDTH, seed=0)
            repeat = args.repeat if n <= 3_000_000 else 1
            res: dict[str, tuple[float, tuple[int, int]]] = {}
            if not args.no_geopandas:
                res["GeoPandas sjoin(within)"] = run_geopandas(grids, pts)
                log(f"geopandas: {res['GeoPandas sjoin(within)'][0]:.2f} s")
            engine.load_points("pts", pts)
            res.update(run_duckdb(con, engine, repeat))
            con.execute("DROP TABLE fusion_points_pts")
            if not args.no_dask and n == min(sizes):
                for workers in (1, 2):  # scaling by worker count (2 cores here)
                    runs = run_dask(grids, pts, workers, repeat)
                    s = "s" * (workers > 1)
                    for key, label in (
                        ("ours", f"yizhi Dask engine, {workers} worker{s}"),
                        ("peer", f"dask-geopandas sjoin(within), {workers} worker{s}"),
                    ):
                        sec, load, chk = runs[key]
                        res[f"{label} (+{load:.1f} s to load/persist)"] = (sec, chk)
                        log(f"{label}: {sec:.2f} s (load {load:.1f} s)")
            if pg is not None:
                res.update(run_postgis(pg, pts, grids_gist=n == min(sizes)))
            results[n] = res
            del pts
    finally:
        if pg_cm is not None:
            pg_cm.__exit__(None, None, None)

    for n, res in results.items():
        print(f"\n## {n:,} points\n")
        gp = res.get("GeoPandas sjoin(within)", (float("nan"), None))[0]
        pgs = [v[0] for k, v in res.items() if k.startswith("PostGIS 3, GiST on points")]
        pg_t = pgs[0] if pgs else float("nan")
        print("| engine | join s | vs GeoPandas | vs PostGIS (GiST points) | matches | checksum |")
        print("|---|---|---|---|---|---|")
        for name, (sec, (cnt, chk)) in res.items():
            vs_pg = f"{pg_t / sec:.2f}x" if pgs else "— (PostGIS not run)"
            print(f"| {name} | {sec:.2f} | {gp / sec:.1f}x | {vs_pg} | {cnt:,} | {chk} |")
        sums = {v[1] for v in res.values()}
        print(f"\nAll engines agree: {'yes' if len(sums) == 1 else 'NO: ' + repr(sums)}")
    print(
        f"\nMachine: {os.cpu_count()} cores, shared with other jobs; {time.strftime('%Y-%m-%d')}."
    )
    _emit(results, sizes, args.grids, why_no_pg)


def _postgis_missing() -> str | None:
    """Why the PostGIS peer cannot run here, or ``None``."""
    if not (PG_BIN / "initdb").exists() or shutil.which("psql") is None:
        return f"PostgreSQL 15 + PostGIS is not installed ({PG_BIN}, psql)"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "the private PostgreSQL cluster needs root (runuser -u postgres)"
    return None


LATTICE = "yizhi lattice join (DuckDB)"


def _emit(
    results: dict[int, dict[str, tuple[float, tuple[int, int]]]],
    sizes: list[int],
    grids: int,
    why_no_pg: str | None,
) -> None:
    """The BENCH-RESULT line: the issue goals at the largest size, peers at every size."""
    from benchmarks._report import emit, goal, peer

    big, small = max(sizes), min(sizes)
    res = results[big]
    ours = res[LATTICE][0]
    gp = res.get("GeoPandas sjoin(within)", (None, None))[0]
    pgs = [v[0] for k, v in res.items() if k.startswith("PostGIS 3, GiST on points")]
    agree = all(len({v[1] for v in r.values()}) == 1 for r in results.values())
    goals = [
        goal(
            f"point-in-polygon {big:,} points onto {grids:,} grids ≥ 3× GeoPandas",
            f"{gp / ours:.1f}× ({ours:.2f} s vs {gp:.2f} s); all engines agree: {agree}"
            if gp
            else "GeoPandas skipped (--no-geopandas)",
            gp / ours if gp else None,
            3.0,
            "×",
            better="higher",
        ),
        goal(
            "point-in-polygon within 1.5× of PostGIS (GiST on the points)",
            f"{ours / pgs[0]:.2f}× PostGIS's time ({ours:.2f} s vs {pgs[0]:.2f} s)"
            if pgs
            else f"PostGIS skipped: {why_no_pg}",
            ours / pgs[0] if pgs else None,
            1.5,
            "× PostGIS time",
        ),
    ]
    small_res = results[small]
    dask = [v[0] for k, v in small_res.items() if k.startswith("yizhi Dask engine, 2 ")]
    dgp = [v[0] for k, v in small_res.items() if k.startswith("dask-geopandas sjoin(within), 2 ")]
    if dask:
        at = f" at {small:,} points" if small != 1_000_000 else ""
        if dgp:  # the peer measured in the same run, on the same cluster
            measured = (
                f"{dask[0]:.2f} s vs dask-geopandas {dgp[0]:.2f} s on the same 2-worker "
                f"LocalCluster{at} ({dask[0] / dgp[0]:.2f}× its time; PEERS.md: 0.9 s on a "
                "quiet machine)"
            )
            value: float | None = dask[0] / dgp[0]
        else:
            measured = f"{dask[0]:.2f} s{at}; dask-geopandas not measured (PEERS.md: 0.9 s)"
            value = None
        goals.append(
            goal(
                "Dask engine (2 workers) at 1M points ≤ dask-geopandas (measured side by side; "
                "PEERS.md: 0.9 s)",
                measured,
                value,
                1.0,
                "× dask-geopandas time",
            )
        )
    peers = {}
    for n, r in results.items():
        lattice = r[LATTICE][0]
        for name, (sec, _) in r.items():
            if name.startswith("yizhi"):
                continue
            label = name.split(" (index")[0].split(" (+")[0]
            peers[f"{label}, {n:,} points"] = peer(sec / lattice, "peer time ÷ yizhi lattice time")
    if why_no_pg:
        peers["PostGIS 3"] = peer(None, f"skipped: {why_no_pg}")
    emit(
        "fusion_pip",
        " and ".join(f"{n:,}" for n in sizes) + f" points onto {grids:,} grids",
        goals,
        peers,
    )


if __name__ == "__main__":
    main()
