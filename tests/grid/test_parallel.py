"""Partitioning communities in worker processes gives the same version as one process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from common.errors import InvalidInput
from common.workers import check_workers, default_workers
from grid_partition._register import _unit_split
from grid_partition.unit_grids import unit_grids

#: Scale of the generated city: 6,605 buildings in 7 communities.
SCALE = 0.01
#: The communities partitioned: two small and two large ones (3,012 buildings).
COMMUNITIES = ["440301001001", "440301001002", "440301001004", "440301001007"]

_TABLES = {
    "grids": "grid_code",
    "micro_grids": "micro_grid_code",
    "grid_assignments": "building_id, unit",
    "unit_grids": "unit_grid_code",
}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store file holding the register of a small generated city (no grid version)."""
    import store
    from synthetic.city import generate_city

    path = tmp_path_factory.mktemp("city") / "city.duckdb"
    con = store.connect(path)
    try:
        generate_city(con, SCALE)
    finally:
        con.close()
    yield path


def _partition(city: Path, directory: Path, workers: int) -> tuple[dict[str, pd.DataFrame], Any]:
    import store
    from grid_partition.store import partition_store
    from grid_partition.versions import quality

    path = directory / f"w{workers}.duckdb"
    shutil.copyfile(city, path)
    con = store.connect(path)
    calls: list[tuple[int, int, str]] = []
    try:
        v = partition_store(
            con,
            communities=COMMUNITIES,
            workers=workers,
            progress=lambda d, t, c: calls.append((d, t, c)),
        )
        out = {}
        for table, key in _TABLES.items():
            geom = "" if table == "grid_assignments" else ", ST_AsWKB(geom) AS wkb"
            excl = "version_id" if table == "grid_assignments" else "version_id, geom"
            out[table] = con.execute(
                f"SELECT * EXCLUDE ({excl}){geom} FROM {table} WHERE version_id = ? ORDER BY {key}",
                [v],
            ).df()
        return out, (calls, quality(con, v))
    finally:
        con.close()


def test_two_workers_give_the_same_version_as_one(
    city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grid_partition._parallel as par

    monkeypatch.setattr(par, "PARALLEL_MIN_BUILDINGS", 0)  # so that the pool is really used
    k = len(COMMUNITIES)
    one, (calls1, q1) = _partition(city, tmp_path, workers=1)
    two, (calls2, q2) = _partition(city, tmp_path, workers=2)
    for table in _TABLES:
        assert len(one[table]) > 0
        pd.testing.assert_frame_equal(one[table], two[table], check_exact=True)
    assert int(one["grid_assignments"]["households"].sum()) == int(
        two["grid_assignments"]["households"].sum()
    )
    # progress: once per community, counting up to the total, in the parent process
    for calls in (calls1, calls2):
        assert [d for d, _, _ in calls] == list(range(1, k + 1))
        assert {t for _, t, _ in calls} == {k}
        assert sorted(c for _, _, c in calls) == COMMUNITIES
    assert sorted(set(one["grids"]["community_code"])) == COMMUNITIES
    assert q1["micro_over_cap"] == q2["micro_over_cap"] == 0
    assert q1["micro_noncontiguous"] == q2["micro_noncontiguous"] == 0


def test_worker_count_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput, match="workers must be at least 1, got 0"):
        check_workers(0)
    assert check_workers(3) == 3
    from common.settings import Settings

    assert default_workers(Settings(threads=1)) == 1
    assert 1 <= default_workers(Settings(threads=64)) <= 64


def test_partition_store_refuses_zero_workers() -> None:
    import store
    from grid_partition.store import partition_store

    con = store.connect(":memory:")
    with pytest.raises(InvalidInput, match="workers"):
        partition_store(con, workers=0)
    con.close()


def test_unit_split_uses_rooms_that_add_up_else_an_even_split() -> None:
    frame = pd.DataFrame(
        {
            "building_id": ["a", "b", "c", "d"],
            "households": [10, 7, 5, 0],
            "units": [2, 3, 1, 2],
        }
    )
    rooms = pd.DataFrame(
        {
            "building_id": ["a", "a", "b", "b"],
            "unit": ["02", "01", "01", "02"],
            "n": [6, 4, 1, 1],  # a adds up (10); b does not (2 of 7)
        }
    )
    units, codes = _unit_split(frame, rooms)
    assert units == [[4, 6], [3, 2, 2], None, None]
    assert codes == {"a": ["01", "02"], "b": ["01", "02", "03"]}


def test_unit_grid_cuts_give_equal_areas() -> None:
    poly = shapely.Polygon([(0, 0), (900, 0), (900, 500), (450, 700), (0, 500)])
    cells = unit_grids(poly, community_code="500101001001")
    area = np.asarray(cells["area"], dtype=float)
    assert len(cells) == round(poly.area / 10_000)
    assert np.allclose(area, poly.area / len(cells), rtol=1e-8)
    assert np.isclose(area.sum(), poly.area, rtol=1e-12)


def test_split_options_are_stored_with_the_version_and_reused(tmp_path: Path) -> None:
    import store
    from grid_partition.queries import version_caps
    from grid_partition.store import partition_store
    from grid_partition.versions import repartition
    from tests.grid.crafted import make_register

    con = store.connect(tmp_path / "opts.duckdb")
    try:
        make_register(con)
        whole = partition_store(con, split_buildings="large", fill=1.0, workers=1)
        assert version_caps(con, whole).options() == {"split_buildings": "large", "fill": 1.0}

        def units(v: int) -> set[str]:
            rows = con.execute(
                "SELECT DISTINCT unit FROM grid_assignments WHERE version_id = ?", [v]
            ).fetchall()
            return {str(r[0]) for r in rows}

        assert units(whole) == {"00"}
        needed = partition_store(con)  # the default splits a few multi-unit buildings
        assert version_caps(con, needed).options() == {"split_buildings": "needed", "fill": 0.92}
        assert units(needed) > {"00"}
        again = repartition(con, whole, workers=1)  # solved with the base version's options
        assert version_caps(con, again).options() == {"split_buildings": "large", "fill": 1.0}
        with pytest.raises(InvalidInput, match="'some'"):
            partition_store(con, split_buildings="some")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="fill must be in"):
            partition_store(con, fill=1.5)
    finally:
        con.close()
