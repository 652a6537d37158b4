"""Grid versions on a crafted register: partition invariants, diff, repartition, grid_at."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import store
from common.coords import metric_crs, wgs84_to_gcj02
from common.errors import InvalidInput, NotFound
from grid_partition.store import partition_store
from grid_partition.versions import diff, grid_at, list_versions, quality, repartition
from tests.grid.crafted import (
    A,
    B,
    Reg,
    add_building,
    make_register,
)


def _metric(con: object, wkb: bytes, lon: float, lat: float) -> shapely.Geometry:
    tr = pyproj.Transformer.from_crs("EPSG:4326", metric_crs(lon, lat), always_xy=True)
    return shapely.transform(
        shapely.from_wkb(wkb), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
    )


def test_partition_invariants(reg: Reg) -> None:
    con, ids = reg
    (vid, status, kind), *_ = con.execute(
        "SELECT version_id, status, kind FROM grid_versions"
    ).fetchall()
    assert (vid, status, kind) == (1, "active", "partition")
    a = con.execute("SELECT * FROM grid_assignments WHERE version_id = 1").df()
    # every household in exactly one micro-grid
    reg_hh = con.execute("SELECT sum(households) FROM buildings").fetchone()
    assert reg_hh is not None and int(a["households"].sum()) == int(reg_hh[0])
    assert not a.duplicated(["building_id", "unit"]).any()
    assert set(a["building_id"]) == set(ids[A]) | set(ids[B])
    whole = a.groupby("building_id")["unit"].agg(lambda u: "00" in set(u) and len(u) > 1)
    assert not whole.any()
    # nesting and codes
    assert (a["micro_grid_code"].str[:15] == a["grid_code"]).all()
    assert (a["grid_code"].str[:12] == a["community_code"]).all()
    m = con.execute("SELECT * FROM micro_grids WHERE version_id = 1").df()
    g = con.execute("SELECT * FROM grids WHERE version_id = 1").df()
    assert (m["micro_grid_code"].str[:15] == m["grid_code"]).all()
    per_m = a.groupby("micro_grid_code")["households"].sum()
    assert (per_m.reindex(m["micro_grid_code"]).to_numpy() == m["households"].to_numpy()).all()
    # caps (nothing is flagged in this register)
    assert not m["flagged"].any()
    assert (m["households"] <= m["cap"]).all()
    assert (g["households"] <= 600).all()
    assert set(m.loc[m["enclosure"] == "closed", "cap"]) <= {300}
    # polygons tile each community; micro-grids lie inside their grid
    for code in (A, B):
        row = con.execute(
            "SELECT ST_AsWKB(geom), ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
            "FROM admin_areas WHERE code = ?",
            [code],
        ).fetchone()
        assert row is not None
        lon, lat = float(row[1]), float(row[2])
        comm = _metric(con, bytes(row[0]), lon, lat)
        grids = [
            _metric(con, bytes(w), lon, lat)
            for (w,) in con.execute(
                "SELECT ST_AsWKB(geom) FROM grids WHERE version_id = 1 AND community_code = ?",
                [code],
            ).fetchall()
        ]
        union = shapely.union_all(grids)
        assert abs(sum(x.area for x in grids) - comm.area) / comm.area < 1e-6
        assert shapely.symmetric_difference(union, comm).area / comm.area < 1e-6
    outside = con.execute(
        "SELECT max(ST_Area(ST_Difference(m.geom, g.geom)) / ST_Area(m.geom)) FROM micro_grids m "
        "JOIN grids g USING (version_id, grid_code) WHERE version_id = 1"
    ).fetchone()
    assert outside is not None and float(outside[0]) < 1e-6


def test_quality_is_stored_and_clean(reg: Reg) -> None:
    con, _ = reg
    q = quality(con, 1)
    assert q["ok"] and q["violations"] == []
    assert q["micro_over_cap"] == 0 and q["grid_over_cap"] == 0
    assert q["micro_noncontiguous"] == 0 and q["grid_noncontiguous"] == 0
    assert set(q["per_community"]) == {A, B}
    assert 0 < q["micro_polsby_popper"] <= 1
    assert q["tiling_area_error"] < 1e-6
    assert q["churn"] is None  # the first version has no parent


def test_diff_of_identical_versions_is_empty(reg: Reg) -> None:
    con, _ = reg
    d = diff(con, 1, 1)
    assert d["empty"] and d["moved"] == [] and d["churn"]["micro"] == 0.0


def test_second_partition_supersedes_and_matches(reg: Reg) -> None:
    con, _ = reg
    v2 = partition_store(con)
    status = dict(con.execute("SELECT version_id, status FROM grid_versions").fetchall())
    assert status == {1: "superseded", v2: "active"}
    assert diff(con, 1, v2)["empty"]  # deterministic
    assert [v["version_id"] for v in list_versions(con)] == [1, v2]


def test_partition_of_one_community_keeps_the_other(reg: Reg) -> None:
    con, _ = reg
    v2 = partition_store(con, communities=[B], grid_cap=300, open_cap=100)
    d = diff(con, 1, v2)
    assert all(r["from_grid"].startswith(B) for r in d["moved"])
    kept = con.execute(
        "SELECT count(*) FROM grids WHERE version_id = ? AND community_code = ?", [v2, A]
    ).fetchone()
    assert kept is not None and kept[0] == 4
    assert not any(c.startswith(A) for c in d["grids"]["reshaped"] + d["grids"]["created"])
    with pytest.raises(NotFound, match="999999999999"):
        partition_store(con, communities=["999999999999"])
    with pytest.raises(InvalidInput, match="caps"):
        partition_store(con, grid_cap=0)


def test_repartition_keeps_most_codes(reg: Reg) -> None:
    con, _ = reg
    new = [add_building(con, A, 100, 100.0, 120.0, 60), add_building(con, A, 101, 500, 300, 70)]
    con.execute("UPDATE buildings SET households = households + 30 WHERE building_id = ?", [new[0]])
    v2 = repartition(con, 1, note="two new buildings")
    d = diff(con, 1, v2)
    assert sorted(d["added_buildings"]) == sorted(new)
    assert d["churn"]["grid"] < 0.5
    assert d["churn"]["micro"] < 0.6
    # community B did not change: its grid and micro-grids keep their codes and shapes
    assert not any(c.startswith(B) for t in ("grids", "micro_grids") for k in d[t] for c in d[t][k])
    q = quality(con, v2)
    assert q["ok"] and q["kind"] == "repartition" and q["parent_version"] == 1
    assert q["churn"]["grid"] == pytest.approx(d["churn"]["grid"])
    # without change a repartition keeps everything
    v3 = repartition(con)
    assert diff(con, v2, v3)["empty"]


def test_grid_at_answers_for_a_point_in_each_grid(reg: Reg) -> None:
    con, _ = reg
    pts = con.execute(
        "SELECT grid_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM grids WHERE version_id = 1 ORDER BY 1"
    ).fetchall()
    assert len(pts) == 5
    for code, x, y in pts:
        r = grid_at(con, x, y)
        assert r["grid_code"] == code and r["community_code"] == code[:12]
        assert r["micro_grid_code"].startswith(code)
        assert r["unit_grid_code"].startswith(code[:12])
        gx, gy = wgs84_to_gcj02(x, y)
        assert grid_at(con, float(gx), float(gy), crs="gcj02")["grid_code"] == code
    with pytest.raises(NotFound, match="no grid"):
        grid_at(con, 100.0, 20.0)
    with pytest.raises(NotFound, match="version 9"):
        grid_at(con, 121.48, 31.23, version=9)


def test_partition_on_the_sample_store(sample_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_store, path)
    con = store.connect(path)
    try:
        codes = [
            str(c)
            for (c,) in con.execute(
                "SELECT b.community_code FROM buildings b JOIN admin_areas a "
                "ON a.code = b.community_code AND a.geom IS NOT NULL WHERE b.status = 'active' "
                "GROUP BY 1 ORDER BY count(*), 1 LIMIT 2"
            ).fetchall()
        ]
        before = {
            str(c)
            for (c,) in con.execute(
                "SELECT DISTINCT community_code FROM grids WHERE version_id = "
                "(SELECT max(version_id) FROM grid_versions WHERE status = 'active')"
            ).fetchall()
        }
        v = partition_store(con, communities=codes)
        q = quality(con, v)
        # the named communities are partitioned afresh; the others are carried over
        assert q["ok"] and q["communities"] == len(before | set(codes))
        assert q["tiling_area_error"] < 1e-6
        hh = con.execute(
            "SELECT sum(coalesce(households, 0)) FROM buildings WHERE status = 'active' "
            "AND list_contains(?, community_code)",
            [sorted(before | set(codes))],
        ).fetchone()
        assert hh is not None and q["households"] == int(hh[0])
        for code, x, y in con.execute(
            "SELECT grid_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM grids WHERE version_id = ?",
            [v],
        ).fetchall():
            assert grid_at(con, x, y)["grid_code"] == code
    finally:
        con.close()


@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    extra=st.lists(st.integers(min_value=0, max_value=400), min_size=50, max_size=50),
    grid_cap=st.sampled_from([450, 600, 900]),
)
def test_invariants_hold_for_any_households(extra: list[int], grid_cap: int) -> None:
    """Every household in exactly one micro-grid; caps hold or the unit is flagged; nesting."""
    con = store.connect(":memory:")
    try:
        make_register(con)
        ids = [r[0] for r in con.execute("SELECT building_id FROM buildings ORDER BY 1").fetchall()]
        for bid, hh in zip(ids, extra, strict=True):
            con.execute(
                "UPDATE buildings SET households = ?, units = 1 WHERE building_id = ?", [hh, bid]
            )
        v = partition_store(con, grid_cap=grid_cap)
        a = con.execute("SELECT * FROM grid_assignments WHERE version_id = ?", [v]).df()
        assert int(a["households"].sum()) == sum(extra)
        assert sorted(a["building_id"]) == sorted(ids)
        m = con.execute("SELECT * FROM micro_grids WHERE version_id = ?", [v]).df()
        assert ((m["households"] <= m["cap"]) | (m["flagged"] & (m["buildings"] == 1))).all()
        g = con.execute("SELECT * FROM grids WHERE version_id = ?", [v]).df()
        assert ((g["households"] <= grid_cap) | (g["micro_grids"] == 1)).all()
        assert (a["micro_grid_code"].str[:15] == a["grid_code"]).all()
        q = quality(con, v)
        assert q["micro_over_cap"] == 0 and q["grid_over_cap"] == 0
        assert q["tiling_area_error"] < 1e-6
    finally:
        con.close()
