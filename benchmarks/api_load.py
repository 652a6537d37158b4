"""Load test of the HTTP API: 50 concurrent clients on loopback (issue #8 goals).

Goals: under 50 concurrent clients for 60 s, ``/v1/resolve`` p99 ≤ 50 ms and ``/v1/grids/at``
p99 ≤ 10 ms with zero errors; cached tiles ≥ 2,000/s.

The server is ``yizhi serve`` on the sample city in its own processes (``--workers``, read-only
store); the load comes from ``wrk`` (Debian package ``wrk``) with a Lua script that cycles
through real requests: messy sample addresses (the clerk-typed addresses of the sample people
layer) for resolve, and points inside random buildings for grids/at. wrk is closed-loop: each of
the 50 connections sends its next request as soon as the previous answer arrives, so the test
runs the server at saturation — the hardest reading of "50 concurrent clients".

Usage::

    python -m benchmarks.api_load                  # 60 s per endpoint, 2 workers
    python -m benchmarks.api_load --seconds 10 --workers 1
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from benchmarks._report import emit, goal
from benchmarks._serve import ROOT, start, warm, wrk


def _sample_store() -> Path:
    """The sample city: ``var/yizhi.duckdb`` when built (``make demo``), else built now."""
    path = ROOT / "var" / "yizhi.duckdb"
    import store
    from yizhi.pipeline import run_pipeline

    con = store.connect(path)
    try:
        run_pipeline(con)  # reuses every stage already built
    finally:
        con.close()
    return path


def _workload(db: Path, n: int = 5000) -> dict[str, list[str]]:
    """Request paths for each endpoint, from the sample city."""
    import store

    con = store.connect(db, read_only=True)
    try:
        addresses = [
            r[0]
            for r in con.execute(
                "SELECT address FROM people WHERE address IS NOT NULL "
                "ORDER BY hash(source_id) LIMIT ?",
                [n],
            ).fetchall()
        ]
        points = con.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM buildings "
            "WHERE status = 'active' AND geom IS NOT NULL ORDER BY hash(building_id) LIMIT ?)",
            [n],
        ).fetchall()
    finally:
        con.close()
    quote = urllib.parse.quote
    return {
        "resolve": [f"/v1/resolve?q={quote(a)}" for a in addresses],
        "grids_at": [f"/v1/grids/at?lon={x:.6f}&lat={y:.6f}" for x, y in points],
        "health": ["/health"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=50.0,
        help="pause of each client between answer and next request in the paced run",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("## API load\n\nskipped: `wrk` is not installed (`apt-get install wrk`).")
        emit("api_load", "sample city", status="skipped", note="`wrk` is not installed")
        return
    db = _sample_store()
    goals_ms = {"resolve": 50.0, "grids_at": 10.0}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = _workload(db)
        proc, url = start(db, work, workers=args.workers)
        try:
            rows = []
            for name in ("health", "grids_at", "resolve"):
                warm(url, paths[name])
                for think in (args.think_ms, 0.0):
                    r = wrk(
                        url,
                        paths[name],
                        seconds=args.seconds,
                        connections=args.connections,
                        work=work,
                        think_ms=think,
                    )
                    rows.append((name, think, r))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"## API load: {args.connections} clients × {args.seconds} s, {args.workers} worker(s)\n")
    print(
        "| endpoint | clients | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | "
        "p99 goal | p99 / goal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, think, r in rows:
        target = goals_ms.get(name)
        ratio = f"{r['p99_ms'] / target:.2f}" if target else ""
        mode = f"paced, {think:g} ms think" if think else "back-to-back"
        print(
            f"| {name} | {mode} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['errors']} | {target or ''} | {ratio} |"
        )
    goals = []
    for name, think, r in rows:
        if name not in goals_ms:
            continue
        mode = f"paced ({think:g} ms think)" if think else "back-to-back"
        goals.append(
            goal(
                f"API {name.replace('_', '/')} p99 ≤ {goals_ms[name]:g} ms, "
                f"{args.connections} clients, {mode}",
                f"p99 {r['p99_ms']:.2f} ms, {r['rps']:,.0f} requests/s, {r['errors']} errors",
                r["p99_ms"],
                goals_ms[name],
                "ms",
            )
        )
    errors = sum(r["errors"] for _, _, r in rows)
    goals.append(goal("API: zero errors under load", f"{errors} errors", errors, 0, "errors"))
    emit(
        "api_load",
        f"sample city; {args.connections} clients × {args.seconds} s, {args.workers} worker(s)",
        goals,
    )


if __name__ == "__main__":
    main()
