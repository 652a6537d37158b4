"""Unit grids, boundaries and quality figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import InvalidInput
from grid_partition.boundaries import blocks, site_cells
from grid_partition.quality import churn, cv, lower_bound, polsby_popper
from grid_partition.unit_grids import unit_grid_at, unit_grids

COMMUNITY = shapely.Polygon([(0, 0), (520, 0), (520, 300), (260, 420), (0, 300)])
ROADS = [shapely.LineString([(200, -10), (200, 500)]), shapely.LineString([(-10, 150), (600, 150)])]
CELLS = unit_grids(COMMUNITY, roads=ROADS, community_code="500101001001")


def test_blocks_follow_roads() -> None:
    blk = blocks(COMMUNITY, ROADS)
    assert len(blk) == 4
    assert np.isclose(shapely.area(blk).sum(), COMMUNITY.area)


def test_unit_grids_tile_follow_roads_and_are_about_a_hectare() -> None:
    cells = unit_grids(COMMUNITY, roads=ROADS, community_code="500101001001")
    assert np.isclose(cells.area.sum(), COMMUNITY.area, rtol=1e-9)
    assert np.isclose(shapely.union_all(np.asarray(cells.geometry)).area, COMMUNITY.area, rtol=1e-9)
    assert cells["code"].is_unique
    assert all(c.isdigit() and len(c) == 15 and c.startswith("500101001001") for c in cells["code"])
    assert (cells["display"] == "U" + cells["code"]).all()
    assert cells.area.between(5_000, 15_000).all()
    for g in cells.geometry:
        for r in ROADS:
            assert not shapely.relate_pattern(g, r, "1********")


def test_unit_grid_codes_are_stable() -> None:
    a = unit_grids(COMMUNITY, roads=ROADS, community_code="500101001001")
    b = unit_grids(COMMUNITY, roads=ROADS, community_code="500101001001")
    assert a["code"].tolist() == b["code"].tolist()
    assert all(x.equals(y) for x, y in zip(a.geometry, b.geometry, strict=True))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 520), st.floats(0, 420)), min_size=1, max_size=30))
def test_every_point_is_in_exactly_one_unit_grid(points: list[tuple[float, float]]) -> None:
    cells = CELLS
    codes = unit_grid_at(cells, points)
    inside = shapely.covers(COMMUNITY, shapely.points(points))
    for code, p, ok in zip(codes, points, inside, strict=True):
        if ok:
            assert code is not None
            holders = cells[cells.covers(shapely.Point(p))]["code"]
            assert code == min(holders)
        else:
            assert code is None


def test_shared_edge_goes_to_the_smallest_code() -> None:
    cells = unit_grids(shapely.box(0, 0, 100, 100), community_code="500101001001", target_area=5000)
    edge = shapely.intersection(cells.geometry.iloc[0].boundary, cells.geometry.iloc[1].boundary)
    pt = shapely.line_interpolate_point(edge, 0.5, normalized=True)
    assert unit_grid_at(cells, [pt])[0] == "500101001001001"


def test_unit_grid_errors() -> None:
    with pytest.raises(InvalidInput, match="'12'"):
        unit_grids(COMMUNITY, community_code="12")
    with pytest.raises(InvalidInput, match="999"):
        unit_grids(shapely.box(0, 0, 10_000, 10_000), community_code="500101001001")


def test_quality_figures() -> None:
    assert np.isclose(polsby_popper([shapely.box(0, 0, 1, 1)])[0], np.pi / 4)
    assert cv([10, 10, 10]) == 0.0
    assert lower_bound([100, 100, 100], [150, 150, 150]) == 2
    assert lower_bound([200, 100], [150, 150]) == 2
    old = pd.DataFrame(
        {"building_id": ["a", "a", "b"], "micro": ["m1", "m2", "m2"], "households": [5, 5, 10]}
    )
    new = pd.DataFrame(
        {"building_id": ["a", "b", "c"], "micro": ["m1", "m2", "m3"], "households": [10, 10, 7]}
    )
    assert churn(old, new) == pytest.approx(5 / 20)
    assert churn(old, old) == 0.0


@pytest.mark.parametrize("with_footprints", [False, True])
def test_site_cells_tile_the_community(with_footprints: bool) -> None:
    rng = np.random.default_rng(5)
    xy = rng.uniform(20, 280, size=(25, 2))
    xy[0] = xy[1]  # two buildings at one place share a site
    feet = shapely.buffer(shapely.points(xy), 4.0, quad_segs=2) if with_footprints else None
    cells, site = site_cells(xy[:, 0], xy[:, 1], COMMUNITY, ROADS, feet)
    assert site[0] == site[1] and len(cells) == 24
    assert np.isclose(shapely.area(cells).sum(), COMMUNITY.area, rtol=1e-9)
    assert np.isclose(shapely.union_all(cells).area, COMMUNITY.area, rtol=1e-9)
    assert shapely.covers(cells[site], shapely.points(xy)).all()
