"""Re-partitioning after a change keeps what still holds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from common.errors import InvalidInput
from grid_partition import GridPartitioner
from grid_partition.quality import churn
from synthetic.communities import synthetic_community


@pytest.fixture(scope="module")
def base() -> tuple[object, GridPartitioner]:
    s = synthetic_community(600, households=30_000, seed=3)
    p = GridPartitioner.from_geodataframe(
        s.buildings, community=s.community, barriers=s.barriers, community_code="500101001001"
    ).solve(boundaries=False)
    return s, p


def test_same_input_keeps_everything(base: tuple) -> None:
    s, p = base
    q = GridPartitioner.from_geodataframe(
        s.buildings, community=s.community, barriers=s.barriers, community_code="500101001001"
    ).solve(previous=p.assignments_, boundaries=False)
    assert churn(p.assignments_, q.assignments_) == 0.0
    assert set(q.grids_["code"]) == set(p.grids_["code"])


def test_twenty_new_buildings_in_a_corner(base: tuple) -> None:
    s, p = base
    rng = np.random.default_rng(0)
    xy = rng.uniform(3, 9, size=(20, 2)) + np.arange(20)[:, None] * 0.01
    new = gpd.GeoDataFrame(
        {
            "building_id": [f"N{i:03d}" for i in range(20)],
            "households": [12] * 20,
            "units": [[12]] * 20,
            "estate_id": [None] * 20,
            "enclosure": [None] * 20,
            "block": [-1] * 20,
        },
        geometry=list(shapely.points(xy)),
        crs=s.buildings.crs,
    )
    grown = pd.concat([s.buildings, new], ignore_index=True)
    q = GridPartitioner.from_geodataframe(
        grown, community=s.community, barriers=s.barriers, community_code="500101001001"
    ).solve(previous=p.assignments_, boundaries=False)
    kept = set(q.grids_["code"]) & set(p.grids_["code"])
    assert len(kept) >= 0.9 * len(p.grids_)
    assert churn(p.assignments_, q.assignments_) < 0.05
    assert churn(p.assignments_, q.assignments_, level="grid") < 0.05
    assert q.report_["micro_over_cap"] == 0 and q.report_["micro_noncontiguous"] == 0
    assert set(new["building_id"]) <= set(q.assignments_["building_id"])
    assert q.assignments_["micro"].is_unique is False  # still grouped


def test_more_households_reopen_only_the_grid_concerned(base: tuple) -> None:
    s, p = base
    b = s.buildings.copy()
    a = p.assignments_
    target = a[a["unit"] == 0].iloc[0]
    i = int(np.flatnonzero(b["building_id"] == target["building_id"])[0])
    b.at[i, "households"] = 600
    b.at[i, "units"] = [150, 150, 150, 150]
    q = GridPartitioner.from_geodataframe(
        b, community=s.community, barriers=s.barriers, community_code="500101001001"
    ).solve(previous=a, boundaries=False)
    assert (
        target["grid"] not in set(q.grids_["code"])
        or q.grids_.set_index("code").loc[target["grid"], "households"] <= 600
    )
    assert len(set(q.grids_["code"]) & set(p.grids_["code"])) >= len(p.grids_) - 3
    assert q.report_["micro_over_cap"] == 0


def test_previous_without_columns_is_refused(base: tuple) -> None:
    s, p = base
    with pytest.raises(InvalidInput, match="micro"):
        GridPartitioner.from_geodataframe(s.buildings).solve(
            previous=p.assignments_.drop(columns=["micro"]), boundaries=False
        )
