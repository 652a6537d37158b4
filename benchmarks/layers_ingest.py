"""Benchmark: ingest and validate people rows (Shenzhen: 17.7 million) from Parquet and CSV.

Goal (PEERS.md / issue 6): <= 3 min per format on 2 cores, memory <= 8 GiB. The synthetic input
is generated first, deterministically from the seed (not timed), with a known share of bad rows
(bad check characters, birth dates that disagree with the ID, bad phones, duplicate source IDs).
Each format is ingested into a fresh store in a child process, so that its peak memory (max RSS)
is measured alone.

    .venv/bin/python -m benchmarks.layers_ingest --rows 1000000
    .venv/bin/python -m benchmarks.layers_ingest --rows 17700000 --workdir /tmp/yizhi-bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmarks._report import emit, goal

FULL_ROWS = 17_700_000
GOAL_SECONDS = 180.0
GOAL_RSS_GIB = 8.0
CHUNK = 1_000_000
REGIONS = np.array([440303, 440304, 440305, 440306, 440307, 440308, 440309, 440310, 440311])
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞建国文")
ROADS = ["深南大道", "北环大道", "滨海大道", "南海大道", "科苑路", "沙河西路", "桂庙路", "前海路"]
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
CHECK = np.array(list("10X98765432"))


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(str))


def people_chunk(start: int, n: int, rng: np.random.Generator) -> pa.Table:
    """``n`` synthetic people rows (source IDs from ``start``), ~1.5 % of them bad."""
    region = REGIONS[rng.integers(0, len(REGIONS), n)]
    days = rng.integers(0, (2024 - 1930) * 365, n)
    birth = np.datetime64("1930-01-01") + days.astype("timedelta64[D]")
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd_digits = np.char.replace(ymd, "-", "").astype(np.int64)
    seq = rng.integers(0, 1000, n)
    body = region * 10**11 + ymd_digits * 1000 + seq
    total = np.zeros(n, dtype=np.int64)
    rest = body.copy()
    for i in range(16, -1, -1):
        total += (rest % 10) * ID_WEIGHTS[i]
        rest //= 10
    check = CHECK[total % 11]
    bad_check = rng.random(n) < 0.005
    check = np.where(bad_check, np.where(check == "0", "1", "0"), check)
    id_number = pc.binary_join_element_wise(
        pc.utf8_lpad(pa.array(body).cast(pa.string()), 17, "0"), pa.array(check), ""
    )
    male = (seq % 2) == 1
    sex = np.where(male, "男", "女")
    birth_str = ymd.copy()
    wrong_birth = rng.random(n) < 0.003
    birth_str = np.where(wrong_birth, "1999-02-30", birth_str)
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    name = np.char.add(np.char.add(sur, g1), g2)
    phone_num = (13 + rng.integers(0, 7, n)) * 10**9 + rng.integers(0, 10**9, n)
    phone = pa.array(phone_num).cast(pa.string())
    bad_phone = rng.random(n) < 0.004
    phone = pc.if_else(pa.array(bad_phone), pc.utf8_slice_codeunits(phone, 0, 8), phone)
    ids = np.arange(start, start + n)
    dup = rng.random(n) < 0.001
    ids = np.where(dup & (ids > 0), ids - 1, ids)
    source_id = pc.binary_join_element_wise(
        "P", pc.utf8_lpad(pa.array(ids).cast(pa.string()), 9, "0"), ""
    )
    road = np.array(ROADS)[rng.integers(0, len(ROADS), n)]
    house = pa.array(rng.integers(1, 3000, n)).cast(pa.string())
    address = pc.binary_join_element_wise("广东省深圳市", _strings(road), house, "号", "")
    hukou = np.where(rng.random(n) < 0.35, "registered", "floating")
    tags = np.where(
        rng.random(n) < 0.02, "elderly_alone", np.where(rng.random(n) < 0.01, "disability", "")
    )
    return pa.table(
        {
            "source_id": source_id,
            "id_number": id_number,
            "name": _strings(name),
            "sex": _strings(sex),
            "birth_date": _strings(birth_str),
            "hukou_type": _strings(hukou),
            "care_tags": _strings(tags),
            "address": address,
            "room_id": pa.nulls(n, pa.string()),
            "phone": phone,
        }
    )


def generate(rows: int, workdir: Path, seed: int) -> tuple[Path, Path]:
    """Write ``people.parquet`` and ``people.csv`` with ``rows`` rows (skipped when present)."""
    workdir.mkdir(parents=True, exist_ok=True)
    parquet = workdir / f"people-{rows}.parquet"
    csv = workdir / f"people-{rows}.csv"
    if parquet.exists() and csv.exists():
        return parquet, csv
    rng = np.random.default_rng(seed)
    pw = cw = None
    for start in range(0, rows, CHUNK):
        table = people_chunk(start, min(CHUNK, rows - start), rng)
        if pw is None:
            pw = pq.ParquetWriter(parquet, table.schema, compression="zstd")
            cw = pacsv.CSVWriter(csv, table.schema)
        pw.write_table(table, row_group_size=256_000)
        assert cw is not None
        cw.write_table(table)
    assert pw is not None and cw is not None
    pw.close()
    cw.close()
    return parquet, csv


def run_one(path: Path, workdir: Path, slice_mb: float | None = None) -> dict[str, object]:
    """Ingest ``path`` into a fresh store (in this process); return the figures."""
    os.environ.setdefault("YIZHI_HMAC_SECRET", "benchmark-secret-not-for-production")
    import store
    from layers.ingest import ingest

    db = workdir / f"bench-{path.suffix[1:]}.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    con = store.connect(db, threads=2, memory_limit="7GB")
    t0, c0 = time.perf_counter(), time.process_time()
    slice_bytes = None if slice_mb is None else int(slice_mb * 2**20)
    report = ingest(con, "people", path, slice_bytes=slice_bytes)
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0  # all threads of this process
    con.close()
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    db.unlink(missing_ok=True)
    return {
        "format": path.suffix[1:],
        "rows_in": report.rows_in,
        "loaded": report.loaded,
        "quarantined": report.quarantined,
        "reasons": report.reasons,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "rows_per_s": round(report.rows_in / seconds),
        "max_rss_gib": round(rss_gib, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--scale", type=float, default=None, help="rows = 17.7 M × scale (overrides --rows)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/yizhi-bench-layers"))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument(
        "--slice-mb",
        type=float,
        default=None,
        help="CSV slice size in MiB (default: the ingest's, from DuckDB's memory limit); "
        "0: one scan of the whole file (serial past the memory limit, the code before slices)",
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.workdir, args.slice_mb)))
        return
    if args.scale is not None:
        args.rows = max(1000, round(FULL_ROWS * args.scale))
    goals = []
    t0 = time.perf_counter()
    parquet, csv = generate(args.rows, args.workdir, args.seed)
    print(
        f"generated {args.rows:,} rows in {time.perf_counter() - t0:.0f} s (not timed): "
        f"parquet {parquet.stat().st_size / 2**20:.0f} MiB, csv {csv.stat().st_size / 2**20:.0f} MiB"
    )
    scale = FULL_ROWS / args.rows
    for fmt in args.formats.split(","):
        path = parquet if fmt == "parquet" else csv
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.layers_ingest",
                "--one",
                str(path),
                "--workdir",
                str(args.workdir),
                *(["--slice-mb", str(args.slice_mb)] if args.slice_mb is not None else []),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        projected = float(res["seconds"]) * scale  # type: ignore[arg-type]
        print(json.dumps(res, ensure_ascii=False))
        print(
            f"  {fmt}: {res['rows_per_s']:,} rows/s; projected full scale {projected:.0f} s "
            f"(goal {GOAL_SECONDS:.0f} s, ratio {projected / GOAL_SECONDS:.2f}); "
            f"max RSS {res['max_rss_gib']} GiB (goal {GOAL_RSS_GIB} GiB)"
        )
        at = "at scale 1" if args.rows == FULL_ROWS else "projected linearly"
        goals += [
            goal(
                f"ingest 17.7M people ≤ 3 min per format: {fmt}",
                f"{projected:.0f} s {at} ({res['seconds']} s for {args.rows:,} rows, "
                f"{res['rows_per_s']:,} rows/s, load {res['load_avg_1m']})",
                projected,
                GOAL_SECONDS,
                "s",
            ),
            goal(
                f"ingest peak memory ≤ 8 GiB: {fmt}",
                f"{res['max_rss_gib']} GiB for {args.rows:,} rows"
                + ("" if args.rows == FULL_ROWS else " (not projected)"),
                float(res["max_rss_gib"]),
                GOAL_RSS_GIB,
                "GiB",
            ),
        ]
    emit("layers_ingest", args.rows / FULL_ROWS, goals)


if __name__ == "__main__":
    main()
