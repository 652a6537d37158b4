"""Resolver evaluation: accuracy on clean and noisy variants, calibration, speed, peer.

Run: ``.venv/bin/python -m benchmarks.resolve [--db FILE] [--n 2000] [--calibrate]``.
Without ``--db`` the sample register is built from ``data/`` into a temporary store (≈ 20 s).

- clean: every building's own address and 200 with a room;
- noisy: ``--n`` variants from ``synthetic.addresses`` with ``--seed`` (default 2);
- ``--calibrate`` first fits the isotonic calibration on variants of ``--fit-seed`` (default 1)
  and writes ``address_registry/models/resolve_calibration.json``;
- throughput of ``resolve_many`` (parse cache cleared first) and single ``resolve`` p50/p99;
- peer: rapidfuzz ``process.extractOne`` (WRatio) of the whole query against the register's
  address strings, on the first ``--peer-n`` noisy variants;
- index size per building, and the estimate for 600,000 buildings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _raw_scores() -> Iterator[None]:
    """Confidences = raw effective scores (identity calibration), for fitting."""
    import address_registry.resolve as r

    saved = r.calibrate
    r.calibrate = lambda score, table=None: round(min(1.0, max(0.0, score)), 4)
    try:
        yield
    finally:
        r.calibrate = saved


def _evaluate(con: Any, items: list[Any]) -> dict[str, Any]:
    from address_registry.resolve import _parse, resolve_many

    _parse.cache_clear()
    started, cpu = time.perf_counter(), time.process_time()
    texts = [v.text for v in items]
    answers = [
        a for k in range(0, len(texts), 10_000) for a in resolve_many(con, texts[k : k + 10_000])
    ]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    correct = rooms_ok = rooms = confident = confident_ok = ambiguous = 0
    by_edit: Counter[str] = Counter()
    by_edit_ok: Counter[str] = Counter()
    scores: list[float] = []
    hits: list[bool] = []
    for v, a in zip(items, answers, strict=True):
        top = a["candidates"][0] if a["candidates"] else None
        ok = top is not None and top["building_id"] == v.building_id
        correct += ok
        ambiguous += bool(a["ambiguous"])
        if v.room_id is not None:
            rooms += 1
            rooms_ok += ok and top is not None and top["room_id"] == v.room_id
        if top is not None and top["building_id"] is not None:
            scores.append(float(top["confidence"]))
            hits.append(ok)
            if top["confidence"] >= 0.9:
                confident += 1
                confident_ok += ok
        for e in v.edits:
            by_edit[e] += 1
            by_edit_ok[e] += ok
    return {
        "n": len(items),
        "top1": correct / max(1, len(items)),
        "rooms": f"{rooms_ok}/{rooms}",
        "confident_share": confident / max(1, len(items)),
        "precision_at_0.9": confident_ok / max(1, confident),
        "ambiguous_share": ambiguous / max(1, len(items)),
        "crf_parsed_share": round(_parse.cache_info().misses / max(1, len(items)), 3),
        "per_second": round(len(items) / elapsed),
        "per_cpu_second": round(len(items) / max(cpu, 1e-9)),
        "by_edit": {
            e: f"{by_edit_ok[e] / by_edit[e]:.3f} of {by_edit[e]}" for e in sorted(by_edit)
        },
        "_scores": scores,
        "_hits": hits,
    }


def main() -> None:
    """Run the evaluation and print the figures."""
    import store
    from address_registry import _resolve_calibrate as cal
    from address_registry._resolve_index import index_for, index_size_bytes
    from address_registry.build import build_registry
    from address_registry.resolve import resolve
    from synthetic.addresses import clean_addresses, variants

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None, help="an already built register")
    ap.add_argument("--n", type=int, default=2000, help="noisy variants to check")
    ap.add_argument("--seed", type=int, default=2, help="seed of the checked variants")
    ap.add_argument("--fit-seed", type=int, default=1, help="seed of the calibration variants")
    ap.add_argument("--calibrate", action="store_true", help="fit and write the calibration")
    ap.add_argument("--peer-n", type=int, default=300, help="noisy variants for the peer")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db
        if path is None:
            path = Path(tmp) / "sample.duckdb"
            build_registry(path)
        con = store.connect(path)
        import psutil

        rss = psutil.Process().memory_info().rss
        started = time.perf_counter()
        idx = index_for(con, refresh=True)
        built = time.perf_counter() - started
        rss = psutil.Process().memory_info().rss - rss
        resolve(con, "上海市黄浦区汉口路12号1室")  # warm up: model, gazetteer, duckdb
        if args.calibrate:
            fit_items = variants(con, 4000, args.fit_seed) + variants(
                con, 1000, args.fit_seed, clean=True
            )
            with _raw_scores():
                fitted = _evaluate(con, fit_items)
            table = cal.fit(fitted["_scores"], fitted["_hits"])
            doc = {**table, "seed": args.fit_seed, "n": len(fitted["_scores"])}
            cal.CALIBRATION_PATH.write_text(json.dumps(doc) + "\n", encoding="utf-8")
            cal.load.cache_clear()
            print(f"calibration fitted on {len(fit_items)} variants of seed {args.fit_seed}")
        clean = (
            clean_addresses(con)
            + [v for v in variants(con, 800, args.seed, clean=True) if v.room_id is not None][:200]
        )
        noisy = variants(con, args.n, args.seed)
        report: dict[str, Any] = {
            "register": {"buildings": len(idx.buildings), "rooms": len(idx.rooms)},
            "index_build_s": round(built, 2),
            "index_rss_MiB": round(rss / 2**20, 1),
        }
        for name, items in (("clean", clean), ("noisy", noisy)):
            result = _evaluate(con, items)
            report[name] = {k: v for k, v in result.items() if not k.startswith("_")}
        # calibration check: observed accuracy per confidence band on the checked seed
        result = _evaluate(con, noisy + clean)
        bands: dict[str, list[int]] = {}
        for s, ok in zip(result["_scores"], result["_hits"], strict=True):
            band = f"{min(int(s * 10), 9) / 10:.1f}"
            bands.setdefault(band, [0, 0])
            bands[band][0] += 1
            bands[band][1] += ok
        report["calibration_bands"] = {
            b: f"{v[1] / v[0]:.3f} of {v[0]}" for b, v in sorted(bands.items())
        }
        times = []
        for v in noisy[:1000]:
            t0 = time.perf_counter()
            resolve(con, v.text)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        report["single_ms"] = {
            "p50": round(statistics.median(times), 3),
            "p99": round(times[int(len(times) * 0.99) - 1], 3),
        }
        report["index"] = _index_estimate(idx, index_size_bytes)
        report["peer"] = _peer(con, noisy[: args.peer_n])
        con.close()
    confident = [ok for s, ok in zip(result["_scores"], result["_hits"], strict=True) if s >= 0.9]
    print(json.dumps(report, ensure_ascii=False, indent=2))
    _emit(report, sum(confident) / max(1, len(confident)), len(confident))


def _emit(report: dict[str, Any], precision: float, confident: int) -> None:
    """The BENCH-RESULT line of the resolver goals (issue 4) and the rapidfuzz peer."""
    from benchmarks._report import emit, goal, peer

    clean, noisy, single = report["clean"], report["noisy"], report["single_ms"]
    estimate = report["index"]["estimate_shenzhen_GiB"]
    rf = report["peer"]
    emit(
        "resolve",
        f"sample register ({report['register']['buildings']:,} buildings), "
        f"{noisy['n']:,} noisy and {clean['n']:,} clean addresses",
        [
            goal(
                "resolver top-1 ≥ 99% on clean addresses",
                f"{clean['top1']:.2%} of {clean['n']:,}",
                clean["top1"],
                0.99,
                "share",
                better="higher",
            ),
            goal(
                "resolver top-1 ≥ 95% on noisy addresses",
                f"{noisy['top1']:.2%} of {noisy['n']:,}",
                noisy["top1"],
                0.95,
                "share",
                better="higher",
            ),
            goal(
                "≥ 99.5% right at confidence ≥ 0.9",
                f"{precision:.2%} of {confident:,} answers",
                precision,
                0.995,
                "share",
                better="higher",
            ),
            goal(
                "resolver ≥ 2,000 addresses/s in batch",
                f"{noisy['per_second']:,}/s noisy (wall)",
                noisy["per_second"],
                2000,
                "addresses/s",
                better="higher",
            ),
            goal(
                "single resolve p99 ≤ 20 ms",
                f"p99 {single['p99']} ms, p50 {single['p50']} ms",
                single["p99"],
                20.0,
                "ms",
            ),
            goal(
                "index of the Shenzhen-size city ≤ 4 GiB",
                f"≈ {estimate} GiB estimated from "
                f"{report['index']['per_building']} bytes a building",
                estimate,
                4.0,
                "GiB",
            ),
        ],
        {
            "rapidfuzz extractOne (WRatio), top-1 on noisy": peer(
                noisy["top1"] / rf["top1"] if rf["top1"] else None,
                f"yizhi top-1 ÷ peer's ({noisy['top1']:.1%} vs {rf['top1']:.1%} on {rf['n']})",
            ),
            "rapidfuzz extractOne (WRatio), speed": peer(
                noisy["per_second"] / rf["per_second"] if rf["per_second"] else None,
                f"yizhi addresses/s ÷ peer's ({noisy['per_second']:,} vs {rf['per_second']:,})",
            ),
        },
    )


#: Parts of the index that grow with the buildings, with the roads, and that are fixed (admin).
_PER_BUILDING = (
    "buildings",
    "plates",
    "ranges",
    "estates",
    "estate_community",
    "estate_buildings",
    "names",
    "addresses",
    "successors",
    "ordinal",
    "estate_scan",
    "name_scan",
    "estate_fuzzy",
    "name_fuzzy",
)
_PER_ROAD = ("roads", "road_district", "road_scan", "road_fuzzy", "district_roads")
_FIXED = ("admins", "admin_centres", "admin_scan")


def _index_estimate(idx: Any, size: Any) -> dict[str, Any]:
    """Index bytes per building / per road / fixed, and the estimate for a Shenzhen-size city
    (600k buildings, 11M rooms, 20k road names; the fixed admin part as measured)."""
    buildings = max(1, len(idx.buildings))
    roads = max(1, len(idx.roads))
    per_building = sum(size(getattr(idx, f)) for f in _PER_BUILDING) / buildings
    per_road = sum(size(getattr(idx, f)) for f in _PER_ROAD) / roads
    fixed = sum(size(getattr(idx, f)) for f in _FIXED)
    per_room = idx.rooms.itemsize
    estimate = per_building * 600_000 + per_road * 20_000 + fixed + per_room * 11_000_000
    return {
        "total_bytes": sum(size(getattr(idx, f)) for f in _PER_BUILDING + _PER_ROAD + _FIXED)
        + idx.rooms.nbytes,
        "per_building": round(per_building),
        "per_road_name": round(per_road),
        "fixed_admin": fixed,
        "per_room": per_room,
        "estimate_shenzhen_GiB": round(estimate / 2**30, 2),
    }


def _peer(con: Any, items: list[Any]) -> dict[str, Any]:
    from rapidfuzz import fuzz, process

    rows = con.execute(
        "SELECT address, building_id FROM buildings WHERE address IS NOT NULL ORDER BY 2"
    ).fetchall()
    choices = [r[0] for r in rows]
    ids = [r[1] for r in rows]
    started, cpu = time.perf_counter(), time.process_time()
    ok = 0
    for v in items:
        best = process.extractOne(v.text, choices, scorer=fuzz.WRatio)
        ok += best is not None and ids[best[2]] == v.building_id
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "engine": "rapidfuzz extractOne WRatio",
        "n": len(items),
        "top1": round(ok / max(1, len(items)), 4),
        "per_second": round(len(items) / elapsed, 1),
        "per_cpu_second": round(len(items) / max(cpu, 1e-9), 1),
        "gazetteer": len(choices),
    }


if __name__ == "__main__":
    main()
