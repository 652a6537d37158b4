"""Vector tiles: yizhi vs PostGIS 3 ``ST_AsMVT`` + GiST vs DuckDB ``ST_AsMVT``, side by side.

Usage::

    python -m benchmarks.tiles                 # full scale: 610,302 footprints
    python -m benchmarks.tiles --scale 0.25    # a quarter (on a busy machine)
    python -m benchmarks.tiles --no-postgis    # yizhi and DuckDB only

Data: :mod:`benchmarks._footprints` (synthetic, deterministic) written to the ``buildings`` table
of a fresh store. yizhi loads the ``buildings`` layer from it (:class:`api.tiles.TileSource`);
DuckDB and PostGIS get the same rows with the same integer feature id column (``fid`` =
:func:`api.tiles.feature_id` of the building ID) and the same six properties.

Tiles: for each zoom, random buildings are drawn and the tile holding each is requested (so every
tile holds data, and dense areas are drawn more often, as map users do). Every engine gets the same
tile list, cache cold (yizhi's tile cache is not used for the timings). The engines take turns
tile by tile, so that load on a shared machine hits them alike.

PostGIS: Debian ``postgresql-15`` + ``postgresql-15-postgis-3`` (skipped when not installed),
a private cluster in a temporary directory (``initdb`` as user ``postgres``),
``shared_buffers=1GB``, ``jit=off``, no parallel workers (one connection, like one tile server
worker), GiST on ``geom``; each tile is the query Martin and pg_tileserv issue
(``ST_AsMVT(ST_AsMVTGeom(geom, ST_TileEnvelope(z,x,y), 4096, 64)) WHERE geom &&
ST_TileEnvelope(z,x,y, margin => 64/4096)``), sent through one persistent ``psql`` session and
timed by ``\\timing`` (client-side: includes the round trip over the Unix socket, ~0.05 ms).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from benchmarks._footprints import N_BUILDINGS, footprints

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 54329
PROPS = ("building_id", "name", "use", "floors", "households", "community_code")
PG_SQL = (
    "SELECT length(ST_AsMVT(q, 'buildings', 4096, 'geom', 'fid')) FROM (SELECT fid, building_id, "
    "name, use, floors, households, community_code, ST_AsMVTGeom(geom, ST_TileEnvelope({z},{x},{y}), "
    "4096, 64, true) AS geom FROM b WHERE geom && ST_TileEnvelope({z},{x},{y}, margin => (64.0 / 4096))) q;"
)
SERVER_LOOP = """
CREATE OR REPLACE FUNCTION bench_tiles(zs int[], xs int[], ys int[])
RETURNS TABLE (i int, ms double precision, bytes int) AS $$
DECLARE t0 timestamptz; tile bytea;
BEGIN
  FOR k IN 1 .. array_length(zs, 1) LOOP
    t0 := clock_timestamp();
    EXECUTE 'SELECT ST_AsMVT(q, ''buildings'', 4096, ''geom'', ''fid'') FROM (SELECT fid, building_id, '
      'name, use, floors, households, community_code, ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), '
      '4096, 64, true) AS geom FROM b WHERE geom && ST_TileEnvelope($1, $2, $3, margin => (64.0 / 4096))) q'
      INTO tile USING zs[k], xs[k], ys[k];
    i := k; ms := extract(epoch FROM clock_timestamp() - t0) * 1000; bytes := length(tile);
    RETURN NEXT;
  END LOOP;
END $$ LANGUAGE plpgsql;
"""
DUCK_SQL = (
    "SELECT ST_AsMVT({{'geom': ST_AsMVTGeom(geom, ST_Extent(ST_TileEnvelope({z},{x},{y})), 4096, 64, true), "
    "'fid32': fid32, 'building_id': building_id, 'name': name, 'use': use, 'floors': CAST(floors AS INTEGER), "
    "'households': households, 'community_code': community_code}}, 'buildings', 4096, 'geom', 'fid32') "
    "FROM b3857 WHERE ST_Intersects(geom, ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}))"
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- data --------------------------------------------------------------------------------------


def build_store(path: Path, n: int) -> tuple[np.ndarray, float]:
    """Write ``n`` synthetic buildings into a fresh store; return their WGS84 geometries."""
    import pandas as pd

    import store
    from address_registry.ids import building_id
    from api.tiles import feature_id

    t = time.perf_counter()
    geoms = footprints(n)
    rng = np.random.default_rng(7)
    communities = [f"3101010{c:05d}" for c in range(1, 401)]
    comm = rng.integers(0, len(communities), n)
    df = pd.DataFrame(
        {
            "building_id": [building_id(communities[c], 2024, i + 1) for i, c in enumerate(comm)],
            "community_code": [communities[c] for c in comm],
            "use": rng.choice(
                ["residential", "commercial", "office", "public", "mixed"],
                n,
                p=[0.7, 0.12, 0.08, 0.05, 0.05],
            ),
            "floors": rng.integers(1, 34, n).astype("int16"),
            "households": rng.integers(0, 400, n).astype("int32"),
            "wkb": shapely.to_wkb(geoms),
        }
    )
    df["name"] = None
    df.loc[rng.random(n) < 0.1, "name"] = "示范楼"
    df["fid"] = [feature_id(b) for b in df["building_id"]]
    con = store.connect(path)
    con.execute(
        "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code, status, "
        "name, use, floors, households, geom, source) SELECT building_id, community_code, 2024, "
        "community_code, 'active', name, use, floors, households, ST_GeomFromWKB(wkb), 'generated' FROM df"
    )
    con.close()
    return geoms, time.perf_counter() - t


def sample_tiles(geoms: np.ndarray, z: int, count: int, seed: int) -> list[tuple[int, int, int]]:
    from api.tiles._mercator import lonlat_tile

    rng = np.random.default_rng(seed + z)
    pts = shapely.get_coordinates(shapely.centroid(geoms[rng.integers(0, len(geoms), count)]))
    return [(z, *lonlat_tile(float(lon), float(lat), z)) for lon, lat in pts]


# -- PostGIS -----------------------------------------------------------------------------------


def ensure_postgis() -> str | None:
    """Why PostgreSQL 15 + PostGIS 3 cannot be used here, or None when they can.

    Never installs anything (no network at run time): install the Debian packages
    ``postgresql-15 postgresql-15-postgis-3`` beforehand to measure the peer.
    """
    control = Path("/usr/share/postgresql/15/extension/postgis.control")
    if (PG_BIN / "initdb").exists() and control.exists():
        return None
    return (
        "PostgreSQL 15 / PostGIS 3 not installed "
        "(apt-get install postgresql-15 postgresql-15-postgis-3 to measure the peer)"
    )


class PostGIS:
    """A private PostgreSQL cluster with the footprints, queried through one psql session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.sock = root / "sock"
        self.sock.mkdir(parents=True)
        shutil.chown(root, "postgres")
        shutil.chown(self.sock, "postgres")
        self.session: subprocess.Popen[str] | None = None

    def _as_pg(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            check=True,
            **kw,
        )  # type: ignore[call-overload]

    def start(self) -> None:
        self._as_pg(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-p {PG_PORT} -k {self.sock} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB "
            "-c jit=off -c max_parallel_workers_per_gather=0 -c fsync=off -c work_mem=64MB "
            "-c maintenance_work_mem=1GB"
        )
        self._as_pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "start",
        )

    def psql(self, sql: str) -> str:
        proc = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                str(self.sock),
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.strip()

    def load(self, geoms: np.ndarray, table: list[tuple[object, ...]]) -> float:
        t = time.perf_counter()
        self.psql("CREATE EXTENSION postgis")
        self.psql(
            "CREATE TABLE b (fid bigint PRIMARY KEY, building_id text, name text, use text, floors int, "
            "households int, community_code text, geom geometry(Polygon, 3857))"
        )
        path = self.root / "b.tsv"
        hexes = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        with path.open("w", encoding="utf-8") as f:
            for row, h in zip(table, hexes, strict=True):
                f.write("\t".join("\\N" if v is None else str(v) for v in row) + "\t" + h + "\n")
        shutil.chown(path, "postgres")
        self.psql(
            "CREATE TABLE b_in (fid bigint, building_id text, name text, use text, floors int, households int, community_code text, geom geometry)"
        )
        self.psql(f"\\copy b_in FROM '{path}'")
        self.psql(
            "INSERT INTO b SELECT fid, building_id, name, use, floors, households, community_code, "
            "ST_Transform(geom, 3857) FROM b_in; DROP TABLE b_in"
        )
        self.psql("CREATE INDEX b_geom ON b USING gist (geom)")
        self.psql("VACUUM ANALYZE b")
        self.psql("SELECT count(*) FROM b")  # warm
        return time.perf_counter() - t

    def server_side(self, tiles: list[tuple[int, int, int]]) -> list[float]:
        """Time each tile inside the server (PL/pgSQL loop, ``clock_timestamp``): no round trip."""
        self.psql(SERVER_LOOP)
        zs = ",".join(str(t[0]) for t in tiles)
        xs = ",".join(str(t[1]) for t in tiles)
        ys = ",".join(str(t[2]) for t in tiles)
        out = self.psql(
            f"SELECT ms FROM bench_tiles(ARRAY[{zs}], ARRAY[{xs}], ARRAY[{ys}]) ORDER BY i"
        )
        return [float(v) for v in out.split()]

    def open_session(self) -> None:
        self.session = subprocess.Popen(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                str(self.sock),
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.query("\\timing on")
        self.query("SELECT 1;")

    def query(self, sql: str) -> tuple[str, float]:
        """Run one statement in the session; return its output and psql's \\timing in ms."""
        assert self.session is not None and self.session.stdin and self.session.stdout
        self.session.stdin.write(sql + "\n")
        self.session.stdin.flush()
        if sql.startswith("\\"):
            return "", 0.0
        out = []
        while True:
            line = self.session.stdout.readline()
            if not line:
                raise RuntimeError(
                    "psql session ended: "
                    + (self.session.stderr.read() if self.session.stderr else "")
                )
            if line.startswith("Time: "):
                return "".join(out).strip(), float(line.split()[1])
            out.append(line)

    def stop(self) -> None:
        if self.session is not None:
            self.session.communicate("\\q\n", timeout=30)
        self._as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


# -- run ---------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print Markdown on stdout."""
    state: dict[str, PostGIS] = {}
    try:
        return _main(argv, state)
    finally:
        if "pg" in state:
            try:
                state["pg"].stop()
            except (subprocess.SubprocessError, OSError) as exc:  # pragma: no cover
                log(f"could not stop PostGIS: {exc}")


def _main(argv: list[str] | None, state: dict[str, PostGIS]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tiles", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 610,302 footprints")
    parser.add_argument(
        "--tiles", type=int, nargs=3, default=[100, 150, 200], help="tiles at z14 z15 z16"
    )
    parser.add_argument(
        "--duckdb-tiles", type=int, default=25, help="tiles per zoom for DuckDB (slow)"
    )
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument(
        "--keep", type=Path, default=None, help="work directory to keep (default: temp)"
    )
    args = parser.parse_args(argv)

    import store
    from api.tiles import LAYERS, TileCache, TileSet, TileSource
    from api.tiles._mercator import tile_bounds

    n = round(N_BUILDINGS * args.scale)
    work = args.keep or Path(tempfile.mkdtemp(prefix="yizhi-tiles-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # the postgres user must reach its cluster directory inside
    db = work / "tiles.duckdb"
    if db.exists():
        db.unlink()
    log(f"generating {n:,} footprints into {db} ...")
    geoms, t_gen = build_store(db, n)

    con = store.connect(db, threads=1)
    t = time.perf_counter()
    src = TileSource.from_store(con, LAYERS["buildings"])
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    src.prepare([14, 15, 16])
    t_prep = time.perf_counter() - t
    log(f"yizhi: loaded in {t_load:.1f} s, zoom levels 14-16 in {t_prep:.1f} s")

    rows = con.execute(
        "SELECT building_id, name, use, floors, households, community_code FROM buildings ORDER BY rowid"
    ).fetchall()
    from api.tiles import feature_id

    table = [(feature_id(r[0]), *r) for r in rows]
    geoms_db = shapely.from_wkb(
        [
            r[0]
            for r in con.execute("SELECT ST_AsWKB(geom) FROM buildings ORDER BY rowid").fetchall()
        ]
    )
    # DuckDB peer table: projected once, R-tree index
    t = time.perf_counter()
    con.execute(
        "CREATE TABLE b3857 AS SELECT building_id, name, use, floors, households, community_code, "
        "ST_Transform(geom, 'EPSG:4326', 'EPSG:3857', always_xy := true) AS geom FROM buildings"
    )
    # DuckDB's ST_AsMVT takes int32 feature ids only: a row number stands in for the 53-bit id
    con.execute("ALTER TABLE b3857 ADD COLUMN fid32 INTEGER")
    con.execute("UPDATE b3857 SET fid32 = rowid")
    con.execute("CREATE INDEX b3857_rtree ON b3857 USING RTREE (geom)")
    t_duck = time.perf_counter() - t

    pg: PostGIS | None = None
    why_no_pg = "skipped (--no-postgis)" if args.no_postgis else ensure_postgis()
    t_pg = float("nan")
    if why_no_pg is None:
        try:
            pg = PostGIS(work / "pg")
            pg.start()
            state["pg"] = pg
            t_pg = pg.load(geoms_db, table)
            pg.open_session()
            log(f"PostGIS loaded in {t_pg:.1f} s")
        except (subprocess.CalledProcessError, OSError, RuntimeError) as exc:
            err = getattr(exc, "stderr", "") or str(exc)
            why_no_pg = f"PostGIS setup failed: {err.strip()[-300:]}"
            pg = None
            if "pg" in state:
                state.pop("pg").stop()

    lines: list[str] = []
    out = lines.append
    out(
        f"- data: {n:,} synthetic footprints (`benchmarks/_footprints.py`, seed 20261123) over 40 × 40 km; "
        f"scale {args.scale}; generated and stored in {t_gen:.1f} s"
    )
    out(
        f"- yizhi: load from the store {t_load:.1f} s; zoom levels 14–16 built in {t_prep:.1f} s (once, like an index)"
    )
    out(f"- DuckDB peer table (projected + R-tree) built in {t_duck:.1f} s")
    out(
        "- PostGIS: "
        + (
            f"loaded (COPY, ST_Transform, GiST, VACUUM ANALYZE) in {t_pg:.1f} s"
            if pg
            else str(why_no_pg)
        )
    )
    out(
        f"- machine: {os.cpu_count()} cores, {platform.platform()}; load average at start {os.getloadavg()[0]:.1f}"
    )
    out("")
    out(
        "| zoom | engine | tiles | p50 ms | p95 ms | mean ms | p50 size KB | p50 features | p50 / PostGIS in server |"
    )
    out("|---|---|---|---|---|---|---|---|---|")

    from mapbox_vector_tile import decode

    id_checks: list[str] = []
    p50s: dict[int, dict[str, float]] = {}
    for zi, z in enumerate((14, 15, 16)):
        tiles = sample_tiles(geoms, z, args.tiles[zi], seed=11)
        res: dict[str, list[float]] = {
            "yizhi": [],
            "PostGIS": [],
            "DuckDB": [],
            "PostGIS (in server)": [],
        }
        sizes: dict[str, list[int]] = {k: [] for k in res}
        feats: list[int] = []
        for i, (_, x, y) in enumerate(tiles):
            t0 = time.perf_counter()
            data = src.tile(z, x, y)
            res["yizhi"].append((time.perf_counter() - t0) * 1e3)
            sizes["yizhi"].append(len(data))
            if i < 30:
                feats.append(len(decode(data)["buildings"]["features"]) if data else 0)
            if pg is not None:
                size, ms = pg.query(PG_SQL.format(z=z, x=x, y=y))
                res["PostGIS"].append(ms)
                sizes["PostGIS"].append(int(size or 0))
            if i < args.duckdb_tiles:
                x0, y0, x1, y1 = tile_bounds(z, x, y)
                m = (x1 - x0) * 64 / 4096
                sql = DUCK_SQL.format(z=z, x=x, y=y, x0=x0 - m, y0=y0 - m, x1=x1 + m, y1=y1 + m)
                t0 = time.perf_counter()
                blob = con.execute(sql).fetchone()
                res["DuckDB"].append((time.perf_counter() - t0) * 1e3)
                sizes["DuckDB"].append(len(blob[0]) if blob and blob[0] else 0)
        if pg is not None:
            res["PostGIS (in server)"] = pg.server_side(tiles)
        # feature ids and geometries against PostGIS on a few tiles
        if pg is not None:
            same = total = extra = missing = far = 0
            for _, x, y in tiles[:10]:
                hexed, _ = pg.query(
                    PG_SQL.format(z=z, x=x, y=y)
                    .replace("SELECT length(", "SELECT encode(")
                    .replace("'fid'))", "'fid'), 'hex')")
                )
                theirs = (
                    {f["id"]: f for f in decode(bytes.fromhex(hexed))["buildings"]["features"]}
                    if hexed
                    else {}
                )
                ours = {f["id"]: f for f in decode(src.tile(z, x, y))["buildings"]["features"]}
                same += len(ours.keys() & theirs.keys())
                total += len(theirs)
                extra += len(ours.keys() - theirs.keys())
                missing += len(theirs.keys() - ours.keys())
                for k in ours.keys() & theirs.keys():
                    a = shapely.geometry.shape(ours[k]["geometry"])
                    b = shapely.geometry.shape(theirs[k]["geometry"])
                    far += shapely.hausdorff_distance(a, b) > 1.5
            id_checks.append(
                f"z{z}: {same:,} of PostGIS's {total:,} feature ids present in ours, {missing} missing, "
                f"{extra} extra; geometries farther than 1.5 px (Hausdorff) from PostGIS's: {far} (10 tiles)"
            )
        ref = "PostGIS (in server)" if res.get("PostGIS (in server)") else "PostGIS"
        pg_p50 = pct(res[ref], 50)
        p50s[z] = {k: pct(v, 50) for k, v in res.items() if v}
        p50s[z]["ref"] = pg_p50
        sizes["PostGIS (in server)"] = sizes["PostGIS"]
        for engine in ("yizhi", "PostGIS (in server)", "PostGIS", "DuckDB"):
            v = res[engine]
            if not v:
                continue
            ratio = f"{pct(v, 50) / pg_p50:.2f}" if res[ref] else "–"
            nf = f"{int(np.median(feats))}" if engine == "yizhi" and feats else ""
            out(
                f"| {z} | {engine} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 95):.2f} | {np.mean(v):.2f} | "
                f"{np.median(sizes[engine]) / 1024:.1f} | {nf} | {ratio} |"
            )
        log(f"z{z} done")

    # cached tiles
    ts = TileSet({"buildings": src}, version="bench", cache=TileCache())
    tiles = [
        t
        for zi, z in enumerate((14, 15, 16))
        for t in sample_tiles(geoms, z, args.tiles[zi], seed=11)
    ]
    for z, x, y in tiles:
        ts.tile("buildings", z, x, y)
    t0 = time.perf_counter()
    reps = 0
    while time.perf_counter() - t0 < 2.0:
        for z, x, y in tiles:
            ts.tile("buildings", z, x, y)
        reps += 1
    rate = reps * len(tiles) / (time.perf_counter() - t0)
    out("")
    out(
        f"- cached tiles (TileSet LRU, {len(tiles)} distinct tiles, in process): {rate:,.0f} tiles/s (goal ≥ 2,000/s)"
    )
    for line in id_checks:
        out(f"- feature ids vs PostGIS, {line}")
    out(f"- load average at end {os.getloadavg()[0]:.1f}")
    con.close()
    if "pg" in state:
        state.pop("pg").stop()  # before the work directory goes
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    _emit(args.scale, n, p50s, rate, why_no_pg if pg is None else None)
    return 0


def _emit(
    scale: float,
    n: int,
    p50s: dict[int, dict[str, float]],
    rate: float,
    why_no_pg: str | None,
) -> None:
    """The BENCH-RESULT line: p50 against PostGIS per zoom, cached rate; DuckDB as a peer."""
    from benchmarks._report import emit, goal, peer

    goals = []
    peers = {}
    for z, p in p50s.items():
        ours, ref = p["yizhi"], p.get("ref", float("nan"))
        has_pg = bool(np.isfinite(ref)) and why_no_pg is None
        goals.append(
            goal(
                f"building tiles z{z} cache miss p50 ≤ PostGIS `ST_AsMVT` p50",
                f"{ours:.2f} ms vs PostGIS {ref:.2f} ms (in server)"
                if has_pg
                else f"{ours:.2f} ms; PostGIS not measured: {why_no_pg}",
                ours / ref if has_pg else None,
                1.0,
                "× PostGIS p50",
            )
        )
        if has_pg:
            peers[f"PostGIS ST_AsMVT + GiST, z{z}"] = peer(ref / ours, "peer p50 ÷ yizhi p50")
        if "DuckDB" in p:
            peers[f"DuckDB ST_AsMVT, z{z}"] = peer(p["DuckDB"] / ours, "peer p50 ÷ yizhi p50")
    if why_no_pg:
        peers["PostGIS 3"] = peer(None, f"not measured: {why_no_pg}")
    goals.append(
        goal(
            "cached tiles ≥ 2,000/s (here in process; over HTTP: `tiles_http`)",
            f"{rate:,.0f} tiles/s",
            rate,
            2000.0,
            "tiles/s",
            better="higher",
        )
    )
    emit("tiles", scale, goals, peers, note=f"{n:,} synthetic footprints (scale 1: 610,302)")


if __name__ == "__main__":
    raise SystemExit(main())
