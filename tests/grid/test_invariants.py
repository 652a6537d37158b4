"""Invariants on random synthetic communities (Hypothesis)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid_partition import GridPartitioner
from tests.grid.conftest import CODE, CRS

SIZE = 400.0


def community(
    seed: int, n: int, barrier: bool, split: str, fill: float = 1.0
) -> tuple[gpd.GeoDataFrame, GridPartitioner]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(10, SIZE - 10, size=(n, 2))
    if barrier:  # keep buildings off the road
        xy[:, 1] = np.where(np.abs(xy[:, 1] - SIZE / 2) < 6, xy[:, 1] + 12, xy[:, 1])
    units = [rng.integers(0, 70, size=int(rng.integers(1, 5))).tolist() for _ in range(n)]
    if n > 2:
        units[0] = [int(rng.integers(151, 260))]  # an indivisible unit over the cap
    estate = rng.choice(["E1", "E2", None], size=n, p=[0.2, 0.2, 0.6])
    enclosure = [("closed" if e == "E1" else "open") if e else None for e in estate]
    b = gpd.GeoDataFrame(
        {
            "building_id": [f"B{i:04d}" for i in range(n)],
            "households": [sum(u) for u in units],
            "units": units,
            "estate_id": estate,
            "enclosure": enclosure,
        },
        geometry=shapely.buffer(shapely.points(xy), 3.0, quad_segs=2),
        crs=CRS,
    )
    road = gpd.GeoSeries([shapely.LineString([(-5, SIZE / 2), (SIZE + 5, SIZE / 2)])], crs=CRS)
    p = GridPartitioner.from_geodataframe(
        b,
        community=shapely.box(0, 0, SIZE, SIZE),
        barriers=road if barrier else None,
        community_code=CODE,
        split_buildings=split,
        fill=fill,
    ).solve()
    return b, p


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 35),
    barrier=st.booleans(),
    split=st.sampled_from(["large", "needed"]),
    fill=st.sampled_from([1.0, 0.93]),
)
def test_partition_invariants(seed: int, n: int, barrier: bool, split: str, fill: float) -> None:
    b, p = community(seed, n, barrier, split, fill)
    a = p.assignments_
    # every household in exactly one micro-grid; a unit is never split
    per_b = a.groupby("building_id")["households"].sum()
    assert per_b.reindex(b["building_id"]).tolist() == b["households"].tolist()
    assert not a.duplicated(["building_id", "unit"]).any()
    for bid, rows in a.groupby("building_id"):
        if (rows["unit"] > 0).any():
            units = b.set_index("building_id").loc[bid, "units"]
            assert rows["unit"].tolist() == list(range(1, len(units) + 1))
            assert rows["households"].tolist() == list(units)
        else:
            assert len(rows) == 1
    # caps held except flagged indivisible units
    m = p.micro_grids_
    over = m[m["households"] > m["cap"]]
    assert (over["units"] == 1).all() and over["flagged"].all()
    assert p.report_["micro_over_cap"] == 0 and p.report_["grid_over_cap"] == 0
    g = p.grids_.set_index("code")
    assert ((g["households"] <= 600) | g["flagged"]).all()
    # micro-grids nest in grids
    assert (a.groupby("micro")["grid"].nunique() == 1).all()
    assert all(str(mc).startswith(str(gc)) for mc, gc in zip(a["micro"], a["grid"], strict=True))
    # contiguity
    assert p.report_["micro_noncontiguous"] == 0 and p.report_["grid_noncontiguous"] == 0
    # closed estate under its cap stays whole
    assert p.report_["estates_split_micro_under_cap"] == 0
    assert p.report_["estates_split_grid_under_cap"] == 0
    # polygons tile the community and nest
    area = SIZE * SIZE
    mp, gp = p.micro_polygons_, p.grid_polygons_
    assert abs(mp.area.sum() - area) <= 1e-6 * area
    assert abs(gp.area.sum() - area) <= 1e-6 * area
    assert abs(shapely.union_all(np.asarray(gp.geometry)).area - area) <= 1e-6 * area
    gpoly = gp.set_index("code").geometry
    for code, grid, geom in zip(mp["code"], mp["grid"], mp.geometry, strict=True):
        assert code.startswith(grid)
        assert shapely.difference(geom, gpoly[grid]).area <= 1e-6 * area
    # barrier respected
    if barrier:
        top = pd.Series(b.geometry.centroid.y.to_numpy() > SIZE / 2, index=b["building_id"])
        side = a.assign(top=a["building_id"].map(top))
        assert (side.groupby("grid")["top"].nunique() == 1).all()
