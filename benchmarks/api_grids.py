"""Load test of ``GET /v1/grids/at`` (issue #8 goal: p99 ≤ 10 ms with 50 concurrent clients).

Runs ``yizhi serve`` on a copy of the sample city and loads it with ``wrk`` (50 connections)
through the helpers of :mod:`benchmarks._serve`, with points inside random buildings:

- *saturated*: closed loop, each connection sends its next request as soon as the answer
  arrives (the server runs flat out; latency is then queueing: 50 / throughput);
- *paced*: each connection pauses ``--think-ms`` after an answer (a client that does something
  with it), the reading of "50 concurrent clients" the p99 goal can be met under.

It also reports the server's CPU time per request (all its processes), which depends far
less on other load on a shared machine than the latencies do, and compares ``/health`` (one
tiny SQL query in a thread) as the floor of a request through the framework.

Usage::

    python -m benchmarks.api_grids --db /tmp/copy.duckdb --seconds 10 --workers 1
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psutil

from benchmarks import _serve, api_load
from benchmarks._report import emit, goal

GOAL_P99_MS = 10.0


def _cpu(pid: int) -> float:
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:  # pragma: no cover - a worker restarting
            pass
    return total


def _as_gcj02(path: str) -> str:
    """The same point asked in GCJ-02 (what an Amap client sends)."""
    from urllib.parse import parse_qs, urlsplit

    from common.coords import transform

    q = parse_qs(urlsplit(path).query)
    x, y = transform(float(q["lon"][0]), float(q["lat"][0]), "wgs84", "gcj02")
    return f"/v1/grids/at?lon={x:.7f}&lat={y:.7f}&crs=gcj02"


def run(
    db: Path, *, seconds: int, workers: int, connections: int, think_ms: float
) -> list[tuple[str, dict[str, Any]]]:
    """Every scenario against one server; rows of (name, wrk summary + cpu_ms_per_request)."""
    paths = api_load._workload(db, 5000)
    gcj = [_as_gcj02(p) for p in paths["grids_at"]]
    scenarios = [
        ("health, saturated", paths["health"], 0.0),
        ("grids/at, saturated", paths["grids_at"], 0.0),
        ("grids/at gcj02, saturated", gcj, 0.0),
        (f"grids/at, paced {think_ms:g} ms", paths["grids_at"], think_ms),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, url = _serve.start(db, work, workers=workers)
        try:
            for name, plist, think in scenarios:
                _serve.warm(url, plist, n=50)
                before = _cpu(proc.pid)
                r = _serve.wrk(
                    url, plist, seconds=seconds, connections=connections, work=work, think_ms=think
                )
                r["cpu_ms_per_request"] = 1000 * (_cpu(proc.pid) - before) / max(1, r["requests"])
                rows.append((name, r))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=None, help="store (default: the sample city)")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--think-ms", type=float, default=50.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("## API grids/at load\n\nskipped: `wrk` is not installed (`apt-get install wrk`).")
        emit("api_grids", "sample city", status="skipped", note="`wrk` is not installed")
        return
    db = args.db or api_load._sample_store()
    rows = run(
        db,
        seconds=args.seconds,
        workers=args.workers,
        connections=args.connections,
        think_ms=args.think_ms,
    )
    print(
        f"## /v1/grids/at load: {args.connections} clients × {args.seconds} s, "
        f"{args.workers} worker(s)\n"
    )
    print("| scenario | requests/s | p50 ms | p99 ms | max ms | errors | server CPU ms/request |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['max_ms']:.1f} | {r['errors']} | {r['cpu_ms_per_request']:.3f} |"
        )
    paced = rows[-1][1]
    print(
        f"\npaced p99 {paced['p99_ms']:.2f} ms vs goal {GOAL_P99_MS:g} ms: "
        f"ratio {paced['p99_ms'] / GOAL_P99_MS:.2f} (≤ 1 meets it)"
    )
    emit(
        "api_grids",
        f"{args.db.name if args.db else 'sample city'}; {args.connections} clients × "
        f"{args.seconds} s, {args.workers} worker(s)",
        [
            goal(
                f"API grids/at p99 ≤ 10 ms, {args.connections} clients, paced "
                f"({args.think_ms:g} ms think)",
                f"p99 {paced['p99_ms']:.2f} ms, {paced['rps']:,.0f} requests/s, "
                f"{paced['errors']} errors",
                paced["p99_ms"],
                GOAL_P99_MS,
                "ms",
            ),
            goal(
                "API grids/at: zero errors under load",
                f"{sum(r['errors'] for _, r in rows)} errors in {len(rows)} scenarios",
                sum(r["errors"] for _, r in rows),
                0,
                "errors",
            ),
        ],
    )


if __name__ == "__main__":
    main()
