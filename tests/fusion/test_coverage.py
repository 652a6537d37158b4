"""Camera coverage of public space on the crafted store: known sector areas, shares, levels."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import InvalidInput
from fusion.coverage import coverage, sector
from tests.fusion import _fusion_store as fs


def test_sector_shapes() -> None:
    wedge = sector(0, 0, 50, 90, 90)  # facing east
    assert wedge.area == pytest.approx(math.pi * 2500 / 4, rel=0.002)
    assert wedge.contains(shapely.Point(40, 0)) and not wedge.contains(shapely.Point(0, 40))
    assert sector(0, 0, 10, 0, 400).area == pytest.approx(math.pi * 100, rel=0.002)
    with pytest.raises(InvalidInput, match="range"):
        sector(0, 0, 0, 0, 90)
    with pytest.raises(InvalidInput, match="field of view"):
        sector(0, 0, 10, 0, 0)


def _camera(
    con: object,
    sid: str,
    xy: tuple[float, float],
    rng: float,
    heading: float,
    fov: float,
    status: str = "online",
) -> None:
    fs.add_point(
        con,
        "sensors",
        sid,
        xy,
        sensor_type="camera",
        status=status,  # type: ignore[arg-type]
        camera_range_m=rng,
        camera_heading_deg=heading,
        camera_fov_deg=fov,
    )


def test_grid_coverage_known_areas(db_path: Path) -> None:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    # grid 002 = x 400..600 m, y 0..200 m with building D (x 480..520, y 80..120)
    _camera(con, "c1", (550, 20), 50, 0, 90)  # a quarter disc looking north, clear of D
    _camera(con, "c2", (500, 100), 30, 0, 360)  # a disc around D: D's footprint is not public
    _camera(con, "c3", (420, 180), 10, 0, 360, status="offline")  # does not count
    got = coverage(con).set_index("code")
    public = 200 * 200 - 40 * 40
    # the crafted store converts metres to degrees with a spherical approximation: ~0.4 % off
    assert got.loc[fs.GRID2, "public_m2"] == pytest.approx(public, rel=0.01)
    expected = math.pi * 2500 / 4 + (math.pi * 900 - 1600)
    assert got.loc[fs.GRID2, "covered_m2"] == pytest.approx(expected, rel=0.01)
    assert got.loc[fs.GRID2, "share"] == pytest.approx(expected / public, rel=0.01)
    assert got.loc[fs.GRID2, "cameras"] == 2
    assert got.loc[fs.GRID1, "covered_m2"] == 0 and got.loc[fs.GRID1, "share"] == 0
    micro = coverage(con, level="micro_grid", with_geometry=True).set_index("code")
    assert micro.loc[fs.MG3, "covered_m2"] == pytest.approx(got.loc[fs.GRID2, "covered_m2"], abs=1)
    assert micro["public_m2"].sum() == pytest.approx(got["public_m2"].sum(), rel=1e-6)
    uncovered = shapely.from_wkt(micro.loc[fs.MG3, "uncovered_wkt"])
    assert uncovered.contains(shapely.Point(*fs.lonlat(420, 180)))
    offline = coverage(con, statuses=("online", "offline")).set_index("code")
    assert offline.loc[fs.GRID2, "cameras"] == 3
    with pytest.raises(InvalidInput, match="'street'"):
        coverage(con, level="street")
    con.close()


def test_worker_processes_give_the_same_rows(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import store
    from fusion import coverage as cov

    con = store.connect(db_path)
    fs.build_register(con)
    _camera(con, "c1", (550, 20), 50, 0, 90)
    _camera(con, "c2", (500, 100), 30, 0, 360)
    alone = coverage(con, level="micro_grid", with_geometry=True, workers=1)
    monkeypatch.setattr(cov, "_PARALLEL_MIN_BLOCKS", 0)
    monkeypatch.setattr(cov, "_CHUNK_BLOCKS", 1)  # one block per task over two processes
    shared = coverage(con, level="micro_grid", with_geometry=True, workers=2)
    assert len(alone) > 2
    assert shared.equals(alone)
    with pytest.raises(InvalidInput, match="at least 1"):
        coverage(con, workers=0)
    con.close()


def _reference_public(blocks: list[object], buildings: list[object]) -> list[object]:
    """Public space as the first version computed it: each block minus the union of the
    buildings meeting it."""
    out = []
    for block in blocks:
        near = [b for b in buildings if shapely.intersects(block, b)]
        out.append(shapely.difference(block, shapely.union_all(near)) if near else block)
    return out


def _public(blocks: list[object], buildings: list[object]) -> list[object]:
    import numpy as np

    from fusion.coverage import _public_space

    arr = np.array(buildings, dtype=object)
    return list(_public_space(np.array(blocks, dtype=object), arr, shapely.STRtree(arr)))


def test_public_space_holes_and_overlays() -> None:
    block = shapely.Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(80, 80), (90, 80), (90, 90), (80, 90)]]
    )
    parts = shapely.MultiPolygon([shapely.box(200, 0, 260, 60), shapely.box(300, 0, 360, 60)])
    courtyard = shapely.box(40, 40, 70, 70).difference(shapely.box(50, 50, 60, 60))
    buildings = [
        shapely.box(10, 10, 20, 20),  # alone inside: a hole
        shapely.box(10, 30, 20, 40),  # touches the next one: overlay
        shapely.box(20, 30, 30, 40),
        shapely.box(95, 10, 110, 20),  # crosses the edge
        courtyard,  # its courtyard is public space
        shapely.box(210, 10, 220, 20),  # inside a part of a multipolygon block
        shapely.box(5, 60, 15, 70),  # two overlapping buildings
        shapely.box(10, 65, 20, 75),
    ]
    got = _public([block, parts], buildings)
    want = _reference_public([block, parts], buildings)
    for g, w in zip(got, want, strict=True):
        assert g.is_valid
        assert g.area == pytest.approx(w.area, rel=1e-12)
        assert shapely.symmetric_difference(g, w).area < 1e-6
    assert got[0].contains(shapely.Point(55, 55))  # the courtyard
    assert not got[0].intersects(shapely.Point(15, 15))  # the hole


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 90), st.integers(0, 90), st.integers(1, 30), st.integers(1, 30)),
        max_size=12,
    )
)
def test_public_space_matches_difference_of_union(boxes: list[tuple[int, int, int, int]]) -> None:
    blocks = [shapely.box(0, 0, 50, 50), shapely.box(50, 0, 100, 50), shapely.box(0, 50, 100, 100)]
    buildings = [shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes]
    for g, w in zip(_public(blocks, buildings), _reference_public(blocks, buildings), strict=True):
        assert g.is_valid
        assert g.area == pytest.approx(w.area, rel=1e-9, abs=1e-9)
        assert shapely.symmetric_difference(g, w).area < 1e-6
