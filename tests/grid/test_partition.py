"""Known answers of the grid partitioner on tiny box communities."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from common.errors import InvalidInput
from grid_partition import GridPartitioner
from tests.grid.conftest import CODE, CRS, frame, row_of


def solve(b: gpd.GeoDataFrame, **kw: object) -> GridPartitioner:
    return GridPartitioner.from_geodataframe(b, community_code=CODE, **kw).solve()  # type: ignore[arg-type]


def test_three_buildings_of_100_make_three_micro_grids_in_one_grid() -> None:
    p = solve(frame(row_of(3, 100)), community=shapely.box(0, 0, 100, 100))
    assert len(p.micro_grids_) == 3
    assert p.grids_["code"].tolist() == [CODE + "001"]
    assert sorted(p.micro_grids_["code"]) == [CODE + "00101", CODE + "00102", CODE + "00103"]
    assert p.assignments_["households"].sum() == 300
    assert p.report_["micro_over_cap"] == 0
    assert p.report_["tiling_area_error"] < 1e-6


def test_codes_are_digit_strings_nested_in_their_grid() -> None:
    p = solve(frame(row_of(12, 100)))
    for m, g in zip(p.micro_grids_["code"], p.micro_grids_["grid"], strict=True):
        assert isinstance(m, str) and m.isdigit() and len(m) == 17
        assert m.startswith(g) and len(g) == 15
    assert (p.grids_["households"] <= 600).all()
    assert len(p.grids_) == 2  # 1,200 households, grid cap 600


def test_closed_estate_under_cap_is_one_micro_grid() -> None:
    rows = row_of(4, 60, estate_id="E1", enclosure="closed") + row_of(3, 40, y=80.0)
    p = solve(frame(rows))
    a = p.assignments_
    est = a[a["building_id"].str.startswith("b50_")]
    assert est["micro"].nunique() == 1
    assert p.micro_grids_.set_index("code").loc[est["micro"].iloc[0], "households"] == 240
    assert p.report_["estates_split_micro_under_cap"] == 0


def test_open_buildings_with_a_closed_estate_use_the_smaller_cap() -> None:
    rows = row_of(2, 50, estate_id="E1", enclosure="closed") + row_of(2, 50, y=60.0)
    p = solve(frame(rows))
    assert (p.micro_grids_["households"] <= p.micro_grids_["cap"]).all()


def test_large_building_is_split_by_unit_and_no_unit_is_split() -> None:
    rows = [{"building_id": "big", "households": 180, "units": [60, 60, 60], "x": 50.0, "y": 50.0}]
    p = solve(frame(rows), community=shapely.box(0, 0, 100, 100))
    a = p.assignments_
    assert a["unit"].tolist() == [1, 2, 3]
    assert a["households"].tolist() == [60, 60, 60]
    assert a["micro"].nunique() == 2
    assert (p.micro_grids_["households"] <= 150).all()
    assert len(p.micro_polygons_) == 2 and p.report_["tiling_area_error"] < 1e-6


def test_indivisible_unit_over_cap_is_its_own_flagged_micro_grid() -> None:
    rows = [
        {"building_id": "tower", "households": 200, "units": [200], "x": 20.0, "y": 20.0},
        {"building_id": "small", "households": 20, "units": None, "x": 50.0, "y": 20.0},
    ]
    p = solve(frame(rows))
    assert p.flagged_["building_id"].tolist() == ["tower"]
    assert p.report_["micro_flagged"] == 1 and p.report_["micro_over_cap"] == 0
    assert p.assignments_.set_index("building_id").loc["small", "micro"] != p.flagged_["micro"][0]


def test_barrier_separates_regions() -> None:
    rows = row_of(2, 30, y=20.0) + row_of(2, 30, y=80.0)
    community = shapely.box(0, 0, 100, 100)
    free = solve(frame(rows), community=community)
    assert len(free.micro_grids_) == 1
    road = gpd.GeoSeries([shapely.LineString([(-10, 50), (110, 50)])], crs=CRS)
    cut = solve(frame(rows), community=community, barriers=road)
    assert len(cut.micro_grids_) == 2 and len(cut.grids_) == 2
    side = cut.assignments_.assign(top=cut.assignments_["building_id"].str.startswith("b80"))
    assert (side.groupby("grid")["top"].nunique() == 1).all()
    # the polygons follow the road
    for g in cut.grid_polygons_.geometry:
        assert not shapely.relate_pattern(g, road.iloc[0], "1********")


def test_courtyard_mode_uses_courtyard_caps() -> None:
    rows = row_of(10, 5, dx=15.0)
    p = GridPartitioner.from_geodataframe(frame(rows), mode="courtyard").solve()
    assert p.open_cap == 30
    assert len(p.micro_grids_) == 2
    assert (p.micro_grids_["households"] <= 30).all()
    assert len(p.grids_) == 1


def test_labels_per_building() -> None:
    p = solve(frame(row_of(3, 100)))
    assert p.micro_labels_.tolist() == sorted(
        set(p.micro_labels_.tolist()), key=p.micro_labels_.tolist().index
    )
    assert len(p.micro_labels_) == 3 and (p.grid_labels_ == 0).all()


@pytest.mark.parametrize(
    ("change", "params", "needle"),
    [
        ({"households": [-1, 10]}, {}, "-1"),
        ({}, {"open_cap": 0}, "open_cap=0"),
        ({}, {"grid_cap": -5}, "grid_cap=-5"),
        ({"building_id": ["a", "a"]}, {}, "duplicate building_id"),
        ({"units": [[5, 6], None]}, {}, "units [5, 6] vs households 10"),
        ({"enclosure": ["walled", None]}, {}, "walled"),
        ({}, {"community_code": "5001"}, "'5001'"),
        ({}, {"mode": "rural"}, "'rural'"),
        ({}, {"fill": 1.5}, "1.5"),
        ({}, {"split_buildings": "all"}, "'all'"),
    ],
)
def test_invalid_inputs_raise_with_the_values(change: dict, params: dict, needle: str) -> None:
    data = {
        "building_id": ["a", "b"],
        "households": [10, 10],
        "units": [None, None],
        "enclosure": [None, None],
    }
    data.update(change)
    b = gpd.GeoDataFrame(
        data, geometry=[shapely.box(0, 0, 5, 5), shapely.box(10, 0, 15, 5)], crs=CRS
    )
    with pytest.raises(InvalidInput, match=None) as err:
        GridPartitioner.from_geodataframe(b, **params).solve()
    assert needle in str(err.value)


def test_geographic_crs_is_refused() -> None:
    b = frame(row_of(2, 10)).to_crs("EPSG:4326")
    with pytest.raises(InvalidInput, match="projected"):
        GridPartitioner.from_geodataframe(b)


def test_building_outside_community_is_refused() -> None:
    with pytest.raises(InvalidInput, match="outside the community"):
        solve(frame(row_of(2, 10)), community=shapely.box(0, 0, 30, 30))


def test_points_work_as_geometry() -> None:
    b = frame(row_of(4, 50))
    b = b.set_geometry(b.geometry.centroid)
    p = solve(b, community=shapely.box(0, 0, 200, 100))
    assert p.report_["micro_over_cap"] == 0 and p.report_["tiling_area_error"] < 1e-6
    assert np.isclose(p.grid_polygons_.area.sum(), 20000)
