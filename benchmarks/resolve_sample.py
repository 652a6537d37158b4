"""Resolver round trip on the sample register: every building's own address, resolved back.

Run: ``.venv/bin/python -m benchmarks.resolve_sample [--db FILE]``. Without ``--db`` the sample
register is built from ``data/`` into a temporary store first (≈ 30 s). Prints the share of
addresses whose best candidate is the building itself, and queries per second (wall clock, one
connection).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Run the round trip and print the figures."""
    import store
    from address_registry.build import build_registry
    from address_registry.resolve import resolve

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None, help="an already built register")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db
        if path is None:
            path = Path(tmp) / "sample.duckdb"
            started = time.perf_counter()
            build_registry(path)
            print(f"sample register built in {time.perf_counter() - started:.1f} s")
        con = store.connect(path)
        rows = con.execute(
            "SELECT building_id, address FROM buildings WHERE address IS NOT NULL ORDER BY 1"
        ).fetchall()
        resolve(con, rows[0][1])  # warm up: model, gazetteer
        hits = rooms = 0
        started = time.perf_counter()
        for building_id, address in rows:
            answer = resolve(con, address)
            top = answer["candidates"][0] if answer["candidates"] else None
            hits += top is not None and top["building_id"] == building_id
        elapsed = time.perf_counter() - started
        room_rows = con.execute(
            """
            SELECT r.room_id, b.address || CAST(CAST(r.room AS INTEGER) AS VARCHAR) || '室'
              FROM rooms r JOIN buildings b USING (building_id)
             WHERE b.address IS NOT NULL AND r.unit = '00'
             ORDER BY 1 LIMIT 200
            """
        ).fetchall()
        for room_id, address in room_rows:
            answer = resolve(con, address)
            top = answer["candidates"][0] if answer["candidates"] else None
            rooms += top is not None and top["room_id"] == room_id
        con.close()
    print(
        f"buildings: {hits}/{len(rows)} resolved to themselves ({hits / len(rows):.1%}), "
        f"{len(rows) / elapsed:.1f} queries/s"
    )
    if room_rows:
        print(
            f"rooms (unit 00, first 200): {rooms}/{len(room_rows)} ({rooms / len(room_rows):.1%})"
        )
    from benchmarks._report import emit, goal

    goals = [
        goal(
            "resolver top-1 ≥ 99% on clean addresses: every building's own address",
            f"{hits:,} of {len(rows):,} ({hits / len(rows):.2%}), {len(rows) / elapsed:,.0f}/s",
            hits / len(rows),
            0.99,
            "share",
            better="higher",
        ),
    ]
    if room_rows:
        goals.append(
            goal(
                "resolver top-1 ≥ 99% on clean addresses: rooms (unit 00, first 200)",
                f"{rooms} of {len(room_rows)}",
                rooms / len(room_rows),
                0.99,
                "share",
                better="higher",
            )
        )
    emit("resolve_sample", f"sample register ({len(rows):,} buildings)", goals)


if __name__ == "__main__":
    main()
