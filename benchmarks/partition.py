"""Benchmark: household-capped micro-grids, yizhi vs spopt, and scaling.

Run with ``.venv/bin/python -m benchmarks.partition [--quick] [--no-spopt]``.

The community is the deterministic synthetic one of ``synthetic.communities`` (a street
grid of 180 m blocks, estates open and closed, 3,000 buildings, 150,720 households); every
method gets the same building adjacency (Delaunay neighbours within 300 m, no edge across a
major road) and the same polygons (block-bounded Voronoi cells of the buildings dissolved per
region) for Polsby-Popper. Cap 150 for open and closed estates alike, as in PEERS.md.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from grid_partition import GridPartitioner
from grid_partition._graph import building_graph, region_fragments
from grid_partition._validate import normalise
from grid_partition.boundaries import region_polygons
from grid_partition.quality import polsby_popper
from synthetic.communities import synthetic_community

CAP = 150
#: Scaling runs put 10k-30k buildings in one community; a larger grid cap keeps the grid
#: count within the 3-digit serial (at most 999 grids a community).
GRID_CAP_SCALING = 3000
HH_PER_BUILDING = 150_720 / 3000


def _metrics(name: str, s: Any, labels: np.ndarray, seconds: float, graph: Any) -> dict[str, Any]:
    b = s.buildings
    hh = b["households"].to_numpy()
    lab = pd.factorize(np.asarray(labels))[0].astype(np.int64)
    k = int(lab.max()) + 1
    w = np.bincount(lab, weights=hh, minlength=k)
    x = b.geometry.representative_point().x.to_numpy()
    y = b.geometry.representative_point().y.to_numpy()
    mp, _ = region_polygons(
        x,
        y,
        lab,
        np.zeros(len(lab), dtype=np.int64),
        hh,
        community=s.community,
        barriers=s.barriers,
    )
    blocks = pd.DataFrame({"r": lab, "blk": b["block"].to_numpy()}).groupby("r")["blk"].nunique()
    return {
        "method": name,
        "regions": k,
        "> cap": int((w > CAP).sum()),
        "> 2 cap": int((w > 2 * CAP).sum()),
        "max hh": int(w.max()),
        "mean PP": round(float(polsby_popper(mp).mean()), 3),
        "across estate roads": int((blocks > 1).sum()),
        "non-contiguous": int((region_fragments(graph, lab) > 1).sum()),
        "seconds": round(seconds, 2),
    }


def _ours(s: Any, split: str, fill: float) -> tuple[dict[str, Any], GridPartitioner]:
    t = time.perf_counter()
    c = time.process_time()
    p = GridPartitioner.from_geodataframe(
        s.buildings,
        community=s.community,
        barriers=s.barriers,
        open_cap=CAP,
        closed_cap=CAP,
        split_buildings=split,
        fill=fill,
    ).solve(boundaries=False)
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    t = time.perf_counter()
    p.solve(boundaries=True)
    dtb = time.perf_counter() - t
    r = p.report_
    a = p.assignments_
    blk = s.buildings.set_index("building_id")["block"]
    across = a.assign(blk=a["building_id"].map(blk)).groupby("micro")["blk"].nunique()
    return (
        {
            "method": f"yizhi (split {split}, fill {fill})",
            "regions": r["micro_grids"],
            "> cap": r["micro_over_cap"],
            "> 2 cap": 0,
            "max hh": r["micro_max_households"],
            "mean PP": round(r["micro_polsby_popper"], 3),
            "across estate roads": int((across > 1).sum()),
            "non-contiguous": r["micro_noncontiguous"],
            "seconds": round(dt, 2),
            "cpu s": round(cpu, 2),
            "with boundaries s": round(dtb, 2),
            "grids": r["grids"],
            "grid PP": round(r["grid_polsby_popper"], 3),
            "split buildings": int(a.loc[a["unit"] > 0, "building_id"].nunique()),
        },
        p,
    )


def compare(run_spopt: bool) -> pd.DataFrame:
    """yizhi against spopt on the 3,000-building community."""
    s = synthetic_community()
    rows = []
    _ours(s, "large", 1.0)  # warm up imports and caches
    for split, fill in (("large", 1.0), ("needed", 1.0), ("needed", 0.93), ("needed", 0.92)):
        r, _ = _ours(s, split, fill)
        rows.append(r)
    if run_spopt:
        from libpysal.weights import W
        from spopt.region import MaxPHeuristic, RegionKMeansHeuristic

        b = normalise(s.buildings)
        graph, _ = building_graph(b.x, b.y, max_edge=300.0, barriers=np.asarray(s.barriers))
        coo = graph.tocoo()
        neigh: dict[int, list[int]] = {i: [] for i in range(b.n)}
        for i, j in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
            neigh[i].append(j)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = W(neigh, silence_warnings=True)
            gdf = s.buildings.copy()
            gdf["x"], gdf["y"] = b.x, b.y
            t = time.perf_counter()
            c = time.process_time()
            mp = MaxPHeuristic(gdf, w, ["x", "y"], "households", 75, top_n=2)
            mp.solve()
            r = _metrics(
                "spopt MaxPHeuristic floor 75", s, mp.labels_, time.perf_counter() - t, graph
            )
            r["cpu s"] = round(time.process_time() - c, 2)
            rows.append(r)
            t = time.perf_counter()
            c = time.process_time()
            km = RegionKMeansHeuristic(np.column_stack([b.x, b.y]), 1005, w)
            km.solve()
            r = _metrics(
                "spopt RegionKMeansHeuristic k=1005", s, km.labels_, time.perf_counter() - t, graph
            )
            r["cpu s"] = round(time.process_time() - c, 2)
            rows.append(r)
    return pd.DataFrame(rows)


def scaling(sizes: list[int]) -> pd.DataFrame:
    """Time of ``solve`` (partition only, and with boundaries) as the community grows."""
    rows = []
    warm = synthetic_community(300, households=round(300 * HH_PER_BUILDING), seed=1)
    GridPartitioner.from_geodataframe(warm.buildings, community=warm.community).solve()
    for n in sizes:
        s = synthetic_community(n, households=round(n * HH_PER_BUILDING), seed=1)
        t = time.perf_counter()
        c = time.process_time()
        p = GridPartitioner.from_geodataframe(
            s.buildings,
            community=s.community,
            barriers=s.barriers,
            closed_cap=CAP,
            grid_cap=GRID_CAP_SCALING,
        ).solve(boundaries=False)
        dt = time.perf_counter() - t
        cpu = time.process_time() - c
        t = time.perf_counter()
        c = time.process_time()
        p.solve(boundaries=True)
        dtb = time.perf_counter() - t
        cpub = time.process_time() - c
        r = p.report_
        rows.append(
            {
                "buildings": n,
                "micro-grids": r["micro_grids"],
                "ratio to bound": round(r["micro_ratio_to_bound"], 3),
                "over cap": r["micro_over_cap"],
                "non-contiguous": r["micro_noncontiguous"],
                "partition s": round(dt, 2),
                "partition cpu s": round(cpu, 2),
                "with boundaries s": round(dtb, 2),
                "with boundaries cpu s": round(cpub, 2),
                "cpu us per building": round(cpub / n * 1e6, 1),
            }
        )
    return pd.DataFrame(rows)


def stability() -> dict[str, Any]:
    """Add 20 buildings in a corner of the 3,000-building community and re-partition."""
    import geopandas as gpd
    import shapely

    from grid_partition.quality import churn

    s = synthetic_community()
    kw: dict[str, Any] = {"community": s.community, "barriers": s.barriers, "closed_cap": CAP}
    p = GridPartitioner.from_geodataframe(s.buildings, **kw).solve(boundaries=False)
    rng = np.random.default_rng(0)
    xy = rng.uniform(3, 9, size=(20, 2)) + np.arange(20)[:, None] * 0.01
    new = gpd.GeoDataFrame(
        {"building_id": [f"N{i:03d}" for i in range(20)], "households": [12] * 20},
        geometry=list(shapely.points(xy)),
        crs=s.buildings.crs,
    )
    grown = pd.concat([s.buildings, new], ignore_index=True)
    t = time.perf_counter()
    q = GridPartitioner.from_geodataframe(grown, **kw).solve(
        previous=p.assignments_, boundaries=False
    )
    dt = time.perf_counter() - t
    kept = len(set(q.grids_["code"]) & set(p.grids_["code"]))
    before = p.assignments_.groupby("grid")["building_id"].apply(frozenset)
    after = q.assignments_.groupby("grid")["building_id"].apply(frozenset)
    same = sum(1 for g, bs in before.items() if g in after.index and after[g] == bs)
    return {
        "grids before": len(p.grids_),
        "codes still in use": kept,
        "grids unchanged (same code, same buildings)": same,
        "grids after": len(q.grids_),
        "micro churn": round(churn(p.assignments_, q.assignments_), 4),
        "grid churn": round(churn(p.assignments_, q.assignments_, level="grid"), 4),
        "seconds": round(dt, 2),
    }


def main() -> None:
    """Print the comparison, the scaling and the 600k estimate."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="scaling only up to 10k buildings")
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt runs (~30 s)")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    bound = math.ceil(150_720 / CAP)
    print("== 3,000 buildings, 150,720 households, cap 150; lower bound", bound)
    table = compare(not args.no_spopt)
    print(table.to_string(index=False))
    print("\n== stability: 20 new buildings in a corner, solve(previous=...)")
    print(stability())
    sizes = [1000, 3000, 10000] if args.quick else [1000, 3000, 10000, 30000]
    sc = scaling(sizes)
    print("\n== scaling (cap 150 open and closed, 600 grid)")
    print(sc.to_string(index=False))
    # a city is partitioned community by community (each ~3,000 buildings)
    row3k = sc[sc["buildings"] == 3000].iloc[0]
    per_comm = float(row3k["with boundaries cpu s"])
    est = 600_000 / 3000 * per_comm
    last = sc.iloc[-1]
    n0 = float(last["buildings"])
    big = float(last["with boundaries cpu s"]) * 600_000 / n0 * math.log(600_000) / math.log(n0)
    print(
        f"\n600,000 buildings as 200 communities of 3,000: {est:.0f} CPU s, "
        f"≈ {est / 2:.0f} s on 2 cores (goal 600 s); as one community "
        f"(n log n from {int(n0)}): ≈ {big:.0f} CPU s"
    )
    _emit(table, bound, sizes)


def _emit(table: pd.DataFrame, bound: int, sizes: list[int]) -> None:
    """The BENCH-RESULT line: the PEERS.md bar for the default settings, spopt side by side."""
    from benchmarks._report import emit, goal, peer

    rows = table.set_index("method")
    ours = rows.loc["yizhi (split needed, fill 0.92)"].to_dict()
    goals = [
        goal(
            "micro-grids: 0 over the cap of 150 households",
            f"{int(ours['> cap'])} over cap (max {int(ours['max hh'])} households)",
            float(ours["> cap"]),
            0,
            "micro-grids",
        ),
        goal(
            "micro-grids: 0 non-contiguous",
            f"{int(ours['non-contiguous'])}",
            float(ours["non-contiguous"]),
            0,
            "micro-grids",
        ),
        goal(
            "micro-grids ≤ 1.15 × the lower bound",
            f"{int(ours['regions']):,} = {ours['regions'] / bound:.3f} × {bound:,}",
            ours["regions"] / bound,
            1.15,
            "×",
        ),
        goal(
            "micro-grid mean Polsby–Popper ≥ 0.66",
            f"{ours['mean PP']}",
            float(ours["mean PP"]),
            0.66,
            "PP",
            better="higher",
        ),
        goal(
            "micro-grids of a 3,000-building community < 13 s",
            f"{ours['seconds']} s wall, {ours['cpu s']} CPU s",
            float(ours["seconds"]),
            13.0,
            "s",
        ),
    ]
    peers = {}
    for name in ("spopt MaxPHeuristic floor 75", "spopt RegionKMeansHeuristic k=1005"):
        if name not in rows.index:
            peers[name] = peer(None, "skipped (--no-spopt)")
            continue
        theirs = rows.loc[name].to_dict()
        peers[name] = peer(
            float(theirs["seconds"]) / float(ours["seconds"]),
            f"peer time ÷ yizhi time; peer: {int(theirs['> cap'])} regions over the cap, "
            f"{int(theirs['regions']):,} regions, PP {theirs['mean PP']}",
        )
    emit(
        "partition",
        f"one 3,000-building synthetic community (PEERS.md); scaling to {max(sizes):,} buildings",
        goals,
        peers,
    )


if __name__ == "__main__":
    main()
