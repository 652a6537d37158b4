"""The engine contract: registry, lazy optional import, and Dask == DuckDB on the same inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

import fusion
from common.errors import InvalidInput, MissingDependency
from fusion.engine import EngineUnsupported, SpatialEngine, get_engine
from synthetic.pip import mixed_points, voronoi_grids

REPO = Path(__file__).resolve().parents[2]


def test_registry_names_and_unknown_engine() -> None:
    assert sorted(fusion.ENGINES) == ["dask", "duckdb"]
    with pytest.raises(InvalidInput, match=r"'postgis'.*\['dask', 'duckdb'\]"):
        get_engine("postgis")


def test_duckdb_engine_uses_the_given_connection(con: duckdb.DuckDBPyConnection) -> None:
    engine = get_engine("duckdb", con=con, lattice=True)
    assert engine.name == "duckdb"
    engine.load_polygons("g", voronoi_grids(5, width_m=100.0, seed=1))
    assert con.execute("SELECT n_polygons FROM fusion_lattice").fetchone() == (5,)


def test_missing_dask_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "fusion._dask", raising=False)
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)
    with pytest.raises(MissingDependency, match=r"pip install 'yizhi\[dask\]'") as info:
        get_engine("dask")
    assert isinstance(info.value, ImportError)
    assert info.value.context["package"] == "dask_geopandas"


def test_import_fusion_without_dask_installed() -> None:
    code = (
        "import sys\n"
        "for m in ('dask', 'distributed', 'dask_geopandas'): sys.modules[m] = None\n"
        "import fusion\n"
        "from common.errors import MissingDependency\n"
        "try:\n"
        "    fusion.get_engine('dask')\n"
        "except MissingDependency as e:\n"
        "    print('MISSING', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "MISSING" in out.stdout and "pip install 'yizhi[dask]'" in out.stdout


class _MinimalEngine(SpatialEngine):
    name = "minimal"

    def load_points(self, name: str, points: pd.DataFrame) -> str:
        return name

    def load_polygons(self, name: str, polygons: pd.DataFrame) -> str:
        return name

    def points_in_polygons(self, points: object, polygons: object) -> pd.DataFrame:  # type: ignore[override]
        return pd.DataFrame()


def test_unsupported_operation_is_a_clear_not_implemented_error() -> None:
    engine = _MinimalEngine()
    with pytest.raises(NotImplementedError, match="'minimal' cannot run nearest_within"):
        engine.nearest_within("p", "g", 5.0)
    with pytest.raises(EngineUnsupported, match="bbox_query"):
        engine.bbox_query("p", 0, 0, 1, 1)


def test_aggregate_and_bbox_known_answers(con: duckdb.DuckDBPyConnection) -> None:
    engine = get_engine("duckdb", con=con)
    df = pd.DataFrame({"g": ["b", "a", "b", "a", "b"], "v": [1.0, 2.0, 3.0, None, 5.0]})
    out = engine.aggregate(
        df,
        ["g"],
        {"rows": ("*", "count"), "n": ("v", "count"), "s": ("v", "sum"), "m": ("v", "mean")},
    )
    assert out.to_dict("list") == {
        "g": ["a", "b"],
        "rows": [2, 3],
        "n": [1, 3],
        "s": [2.0, 9.0],
        "m": [2.0, 3.0],
    }
    with pytest.raises(InvalidInput, match="median"):
        engine.aggregate(df, ["g"], {"x": ("v", "median")})
    pts = pd.DataFrame({"point_id": [3, 1, 2], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0]})
    engine.load_points("p", pts)
    assert engine.bbox_query("p", 0.5, 0.5, 2.0, 2.0)["point_id"].tolist() == [1, 2]
    polys = pd.DataFrame(
        {"polygon_id": [7, 4], "geometry": [shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]}
    )
    engine.load_polygons("g", polys)
    hit = engine.bbox_query("g", 1.0, 1.0, 1.5, 1.5)  # touches box 7 at its corner
    assert hit["polygon_id"].tolist() == [7]
    assert shapely.equals(hit["geometry"].iloc[0], shapely.box(0, 0, 1, 1))


def test_nearest_within_known_answers(con: duckdb.DuckDBPyConnection) -> None:
    engine = get_engine("duckdb", con=con)
    polys = pd.DataFrame(
        {"polygon_id": [2, 1], "geometry": [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]}
    )
    pts = pd.DataFrame(
        {"point_id": [1, 2, 3, 4], "x": [5.0, 12.0, 15.0, 50.0], "y": [5.0, 5.0, 5.0, 5.0]}
    )
    out = engine.nearest_within(pts, polys, 5.0)
    assert out.to_dict("list") == {
        "point_id": [1, 2, 3],
        "polygon_id": [2, 2, 1],
        "distance_m": [0.0, 2.0, 5.0],
    }  # point 3 is 5 m from both: the smaller id wins
    with pytest.raises(InvalidInput, match="-1"):
        engine.nearest_within(pts, polys, -1)


# -- Dask == DuckDB ---------------------------------------------------------------------------


def test_dask_equals_duckdb(con: duckdb.DuckDBPyConnection, dask_client: object) -> None:
    grids = voronoi_grids(120, width_m=4000.0, seed=11)
    grids["polygon_id"] = [f"{i:04d}" for i in grids["polygon_id"]]
    pts = mixed_points(20_000, width_m=4000.0, seed=11, sigma_m=150.0)
    xy = shapely.get_coordinates(grids["geometry"].to_numpy())[::5]  # vertices: tie-breaks
    pts = pd.concat(
        [pts, pd.DataFrame({"point_id": np.arange(len(xy)) + 10**6, "x": xy[:, 0], "y": xy[:, 1]})],
        ignore_index=True,
    )
    duck = get_engine("duckdb", con=con)
    dask = get_engine("dask", client=dask_client)
    assert dask.npartitions == 4
    for engine in (duck, dask):
        engine.load_points("p", pts)
        engine.load_polygons("g", grids)
    a, b = duck.points_in_polygons("p", "g"), dask.points_in_polygons("p", "g")
    assert len(a) == len(pts)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)

    shifted = pts.assign(x=pts["x"] * 1.03 - 60.0)  # some points now outside every grid
    pd.testing.assert_frame_equal(
        duck.points_in_polygons(shifted, grids),
        dask.points_in_polygons(shifted, grids),
        check_dtype=False,
    )
    na, nb = duck.nearest_within(shifted, grids, 40.0), dask.nearest_within(shifted, grids, 40.0)
    assert (na["distance_m"] > 0).sum() > 100
    pd.testing.assert_frame_equal(na, nb, check_dtype=False, atol=1e-9)
    spatial = get_engine("duckdb", con=con, lattice=False)  # DuckDB's own spatial join
    pd.testing.assert_frame_equal(spatial.points_in_polygons(pts, grids), a)
    pd.testing.assert_frame_equal(spatial.nearest_within(shifted, grids, 40.0), na)

    measures = {"n": ("*", "count"), "first": ("point_id", "min")}
    pd.testing.assert_frame_equal(
        duck.aggregate(a, ["polygon_id"], measures),
        dask.aggregate(a, ["polygon_id"], measures),
        check_dtype=False,
    )
    box = (1000.0, 1000.0, 1600.0, 1300.0)
    pd.testing.assert_frame_equal(
        duck.bbox_query("p", *box), dask.bbox_query("p", *box), check_dtype=False
    )
    ga, gb = duck.bbox_query("g", *box), dask.bbox_query("g", *box)
    assert ga["polygon_id"].tolist() == gb["polygon_id"].tolist() and len(ga) > 1
