"""Point-in-polygon: known answers, the shared-edge tie-break, lattice == exact join."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.errors import InvalidInput, NotFound
from fusion._duckdb import KEEP_LATTICES, LATTICE_POINTS_PER_POLYGON, DuckDBEngine
from fusion._lattice import build_lattice
from synthetic.pip import mixed_points, voronoi_grids


def quad_boxes() -> pd.DataFrame:
    """Four unit boxes meeting at (1, 1); ids are digit strings in a shuffled order."""
    return pd.DataFrame(
        {
            "polygon_id": ["0030", "0002", "0100", "0011"],
            "geometry": [
                shapely.box(0, 0, 1, 1),
                shapely.box(1, 0, 2, 1),
                shapely.box(0, 1, 1, 2),
                shapely.box(1, 1, 2, 2),
            ],
        }
    )


CRAFTED = [
    # (x, y, expected polygon_id or None)
    (0.5, 0.5, "0030"),
    (1.5, 0.5, "0002"),
    (0.5, 1.5, "0100"),
    (1.5, 1.5, "0011"),
    (1.0, 1.0, "0002"),  # the shared vertex: all four cover it, smallest id wins
    (1.0, 0.5, "0002"),  # edge 0030|0002
    (0.5, 1.0, "0030"),  # edge 0030|0100
    (1.5, 1.0, "0002"),  # edge 0002|0011
    (1.0, 1.5, "0011"),  # edge 0100|0011
    (0.0, 0.0, "0030"),  # outer corner: covered (ST_Covers, not ST_Contains)
    (2.0, 2.0, "0011"),
    (2.0, 0.3, "0002"),  # outer edge
    (2.0000001, 0.3, None),
    (-5.0, 7.0, None),
]


def crafted_points() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "point_id": np.arange(len(CRAFTED), dtype=np.int64),
            "x": [c[0] for c in CRAFTED],
            "y": [c[1] for c in CRAFTED],
        }
    )


def expected(rows: list[tuple[float, float, str | None]]) -> pd.DataFrame:
    pairs = [(i, pid) for i, (_, _, pid) in enumerate(rows) if pid is not None]
    return pd.DataFrame({"point_id": [p[0] for p in pairs], "polygon_id": [p[1] for p in pairs]})


def reference(points: pd.DataFrame, polygons: pd.DataFrame) -> pd.DataFrame:
    """GEOS reference: every covering polygon, then the smallest id."""
    geoms = polygons["geometry"].to_numpy()
    pi, gi = shapely.STRtree(geoms).query(
        shapely.points(points["x"].to_numpy(), points["y"].to_numpy()), predicate="intersects"
    )
    pairs = pd.DataFrame(
        {
            "point_id": points["point_id"].to_numpy()[pi],
            "polygon_id": polygons["polygon_id"].to_numpy()[gi],
        }
    )
    out = pairs.groupby("point_id", as_index=False)["polygon_id"].min()
    return out.sort_values("point_id").reset_index(drop=True)


def exact(
    engine: DuckDBEngine, points: pd.DataFrame | str, polygons: pd.DataFrame | str
) -> pd.DataFrame:
    sql = engine.exact_pip_sql(points, polygons)
    return engine.con.execute(f"SELECT * FROM ({sql}) ORDER BY point_id").fetchdf()


@pytest.mark.parametrize("cells_per_polygon", [1, 4, 200])
def test_crafted_boxes_known_answers(
    con: duckdb.DuckDBPyConnection, cells_per_polygon: int
) -> None:
    engine = DuckDBEngine(con, lattice=True, cells_per_polygon=cells_per_polygon)
    got = engine.points_in_polygons(crafted_points(), quad_boxes())
    pd.testing.assert_frame_equal(got, expected(CRAFTED), check_dtype=False)
    pd.testing.assert_frame_equal(exact(engine, crafted_points(), quad_boxes()), got)


def test_every_vertex_of_a_voronoi_set_goes_to_smallest_covering_id(
    con: duckdb.DuckDBPyConnection,
) -> None:
    grids = voronoi_grids(60, width_m=3000.0, seed=7)
    xy = np.unique(shapely.get_coordinates(grids["geometry"].to_numpy()), axis=0)
    pts = pd.DataFrame({"point_id": np.arange(len(xy)), "x": xy[:, 0], "y": xy[:, 1]})
    engine = DuckDBEngine(con, lattice=True, cells_per_polygon=50)
    got = engine.points_in_polygons(pts, grids)
    assert len(got) == len(pts)  # every vertex is covered by at least one grid
    pd.testing.assert_frame_equal(got, reference(pts, grids), check_dtype=False)
    pd.testing.assert_frame_equal(got, exact(engine, pts, grids))


def test_overlapping_polygons_and_holes(con: duckdb.DuckDBPyConnection) -> None:
    big = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 6, 6))  # a hole
    polys = pd.DataFrame(
        {
            "polygon_id": [5, 1, 9],
            "geometry": [big, shapely.box(1, 1, 2, 2), shapely.box(4.5, 4.5, 5.5, 5.5)],
        }
    )
    rows = [
        (1.5, 1.5, 1),  # inside 1 and 5: smallest id
        (3.0, 3.0, 5),
        (5.0, 5.0, 9),  # in the hole of 5, inside 9
        (4.2, 4.2, None),  # in the hole, outside 9
        (4.0, 5.0, 5),  # on the hole's ring: covered by 5
        (9.99, 0.01, 5),
    ]
    pts = pd.DataFrame(
        {"point_id": np.arange(len(rows)), "x": [r[0] for r in rows], "y": [r[1] for r in rows]}
    )
    for cpp in (1, 3, 500):
        got = DuckDBEngine(con, lattice=True, cells_per_polygon=cpp).points_in_polygons(pts, polys)
        pd.testing.assert_frame_equal(got, expected(rows), check_dtype=False)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    n_grids=st.integers(2, 80),
    cells_per_polygon=st.sampled_from([1, 2, 7, 40, 200]),
)
def test_lattice_equals_exact_join_on_random_voronoi(
    con: duckdb.DuckDBPyConnection, seed: int, n_grids: int, cells_per_polygon: int
) -> None:
    width = 2000.0
    grids = voronoi_grids(n_grids, width_m=width, seed=seed)
    pts = mixed_points(3000, width_m=width, seed=seed, sigma_m=100.0)
    # add vertices and points just outside the box
    xy = shapely.get_coordinates(grids["geometry"].to_numpy())[::3]
    extra = pd.DataFrame(
        {
            "point_id": np.arange(len(xy)) + 10_000,
            "x": np.concatenate([xy[:-2, 0], [-1e-9, width + 1.0]]),
            "y": np.concatenate([xy[:-2, 1], [5.0, 5.0]]),
        }
    )
    pts = pd.concat([pts, extra], ignore_index=True)
    engine = DuckDBEngine(con, lattice=True, cells_per_polygon=cells_per_polygon)
    engine.load_points("p", pts)
    engine.load_polygons("g", grids)
    got = engine.points_in_polygons("p", "g")
    pd.testing.assert_frame_equal(got, exact(engine, "p", "g"))
    pd.testing.assert_frame_equal(got, reference(pts, grids), check_dtype=False)


@pytest.mark.parametrize("cells_per_polygon", [2, 40, 200])
def test_multipolygons_are_joined_like_polygons(
    con: duckdb.DuckDBPyConnection, cells_per_polygon: int
) -> None:
    """Every part's rings are boundaries of the lattice (a MultiPolygon has no rings of its own)."""
    width = 2000.0
    grids = voronoi_grids(40, width_m=width, seed=7)
    cells = shapely.buffer(grids["geometry"].to_numpy(), -2.0)  # apart: one valid multipolygon
    far = shapely.transform(cells, lambda c: c + np.array([3 * width, 0.0]))
    multi = shapely.multipolygons(
        np.stack([cells, far], axis=1).ravel(), indices=np.repeat(np.arange(len(cells)), 2)
    )
    polys = pd.DataFrame({"polygon_id": grids["polygon_id"], "geometry": multi})
    assert (shapely.get_type_id(multi) == shapely.GeometryType.MULTIPOLYGON).all()
    near = mixed_points(2000, width_m=width, seed=7, sigma_m=100.0)
    pts = pd.concat(
        [near, near.assign(point_id=near["point_id"] + 10_000, x=near["x"] + 3 * width)],
        ignore_index=True,
    )
    got = DuckDBEngine(con, lattice=True, cells_per_polygon=cells_per_polygon).points_in_polygons(
        pts, polys
    )
    pd.testing.assert_frame_equal(got, reference(pts, polys), check_dtype=False)
    assert len(got) > 3000


def test_lattice_cells_are_sound() -> None:
    """Interior cells lie inside their polygon; every cell a ring touches is a boundary cell."""
    grids = voronoi_grids(30, width_m=1000.0, seed=2)
    geoms = grids.sort_values("polygon_id")["geometry"].to_numpy()
    lat = build_lattice(geoms, cells_per_polygon=30)
    i, j = lat.inner_cells % lat.nx, lat.inner_cells // lat.nx
    boxes = shapely.box(
        lat.x0 + i * lat.size,
        lat.y0 + j * lat.size,
        lat.x0 + (i + 1) * lat.size,
        lat.y0 + (j + 1) * lat.size,
    )
    assert shapely.covers(geoms[lat.inner_rank], boxes).all()
    assert not np.intersect1d(lat.inner_cells, lat.boundary_cells).size
    assert set(np.unique(lat.cand_cells)) == set(lat.boundary_cells)
    assert 0.05 < lat.boundary_share < 0.5


def test_lattice_is_cached_per_polygon_set(con: duckdb.DuckDBPyConnection) -> None:
    grids = voronoi_grids(20, width_m=1000.0, seed=4)
    first = DuckDBEngine(con, lattice=True)
    first.load_polygons("g", grids)
    assert first.last_build_seconds is not None
    second = DuckDBEngine(con, lattice=True)
    second.load_polygons("g", grids.iloc[::-1])  # same set, other row order
    assert second.last_build_seconds is None
    moved = grids.assign(geometry=shapely.transform(grids["geometry"].to_numpy(), lambda c: c + 1))
    second.load_polygons("h", moved)
    assert second.last_build_seconds is not None
    assert con.execute("SELECT count(*) FROM fusion_lattice").fetchone() == (2,)
    info = second.lattice_info("g")
    assert info["n_polygons"] == 20 and info["n_boundary"] > 0


def test_invalid_inputs_are_reported(con: duckdb.DuckDBPyConnection) -> None:
    engine = DuckDBEngine(con)
    bad_pts = pd.DataFrame({"point_id": [1, 1, 2], "x": [0.0, 1.0, np.nan], "y": [0.0, 0.0, 0.0]})
    with pytest.raises(InvalidInput, match=r"duplicate point_id \[1\].*non-finite.*\[2\]"):
        engine.load_points("p", bad_pts)
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    bad_polys = pd.DataFrame({"polygon_id": ["a", "b"], "geometry": [bowtie, shapely.Point(0, 0)]})
    with pytest.raises(
        InvalidInput, match=r"not a \(multi\)polygon: polygon_id \['b'\].*invalid.*\['a'\]"
    ):
        engine.load_polygons("g", bad_polys)
    with pytest.raises(NotFound, match="'nope'"):
        engine.points_in_polygons("nope", quad_boxes())
    with pytest.raises(InvalidInput, match="layer name"):
        engine.load_points("x; drop table", crafted_points())


def test_edges_lying_on_cell_lines(con: duckdb.DuckDBPyConnection) -> None:
    """A shared edge along a lattice line: the cells on both sides must be boundary cells."""
    polys = pd.DataFrame(
        {"polygon_id": [0, 1], "geometry": [shapely.box(0, 0, 3, 8), shapely.box(3, 0, 6, 8)]}
    )
    engine = DuckDBEngine(
        con, lattice=True, cells_per_polygon=6
    )  # 2 m cells from x0 = -1: a line at x = 3
    engine.load_polygons("g", polys)
    info = engine.lattice_info("g")
    assert (info["size"], info["x0"]) == (2.0, -1.0)
    rows = [
        (3.0, 4.0, 0),
        (3.0, 0.0, 0),
        (3.0, 8.0, 0),
        (6.0, 4.0, 1),
        (2.9, 4.0, 0),
        (3.1, 4.0, 1),
    ]
    pts = pd.DataFrame(
        {"point_id": np.arange(len(rows)), "x": [r[0] for r in rows], "y": [r[1] for r in rows]}
    )
    pd.testing.assert_frame_equal(
        engine.points_in_polygons(pts, "g"), expected(rows), check_dtype=False
    )


def _temp_polygon_tables(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'fusion_tpolys_%'"
    ).fetchone()
    return int(row[0]) if row else 0


def test_the_default_builds_a_lattice_only_when_it_pays(con: duckdb.DuckDBPyConnection) -> None:
    """``lattice=None``: DuckDB's spatial join for few points, the lattice (built and stored)
    from LATTICE_POINTS_PER_POLYGON points per polygon, the stored lattice from then on; the
    same answers every way."""
    grids = voronoi_grids(20, width_m=1000.0, seed=5)
    few = mixed_points(100, width_m=1000.0, seed=5)
    many = mixed_points(20 * LATTICE_POINTS_PER_POLYGON, width_m=1000.0, seed=6)
    engine = DuckDBEngine(con)
    engine.load_polygons("g", grids)
    got = engine.points_in_polygons(few, "g")
    assert engine.last_build_seconds is None and _temp_polygon_tables(con) == 1
    pd.testing.assert_frame_equal(got, reference(few, grids), check_dtype=False)
    got = engine.points_in_polygons(many, "g")
    assert engine.last_build_seconds is not None
    pd.testing.assert_frame_equal(got, reference(many, grids), check_dtype=False)
    again = DuckDBEngine(con)  # the stored lattice, even for few points
    again.load_polygons("g", grids)
    assert "fusion_cells_" in again.pip_sql(few, "g") and _temp_polygon_tables(con) == 1
    pd.testing.assert_frame_equal(
        again.nearest_within(few, "g", 5.0),
        DuckDBEngine(con, lattice=False).nearest_within(few, grids, 5.0),
    )
    never = DuckDBEngine(con, lattice=False)
    never.load_polygons("h", voronoi_grids(20, width_m=1000.0, seed=8))
    never.points_in_polygons(many, "h")
    assert never.last_build_seconds is None
    assert con.execute("SELECT count(*) FROM fusion_lattice").fetchone() == (1,)


def test_the_store_keeps_the_newest_lattices(con: duckdb.DuckDBPyConnection) -> None:
    engine = DuckDBEngine(con, lattice=True, cells_per_polygon=4)
    for seed in range(KEEP_LATTICES + 2):
        DuckDBEngine(con, lattice=True, cells_per_polygon=4).load_polygons(
            "g", voronoi_grids(5, width_m=100.0, seed=seed)
        )
    assert con.execute("SELECT count(*) FROM fusion_lattice").fetchone() == (KEEP_LATTICES,)
    tables = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name SIMILAR TO "
        "'fusion_(polys|cells|cands)_.*'"
    ).fetchone()
    assert tables == (3 * KEEP_LATTICES,)
    engine.load_polygons("g", voronoi_grids(5, width_m=100.0, seed=0))  # dropped: built again
    assert engine.last_build_seconds is not None
