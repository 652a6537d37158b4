"""Camera coverage of public space on the crafted store: known sector areas, shares, levels."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shapely

from fusion.coverage import coverage, sector
from tests.fusion import _fusion_store as fs
from yizhi.errors import InvalidInput


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
