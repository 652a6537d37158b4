"""The read modules of grids: what ``grid_partition.queries`` offers the other packages, and the
reads of the register it makes through ``address_registry.queries``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely

import store
from address_registry import queries as register
from common.errors import NotFound
from grid_partition import Caps
from grid_partition import queries as q
from grid_partition.store import partition_store
from grid_partition.versions import grid_at, point_index, repartition
from tests.grid.crafted import A, B, Reg, add_building, make_register


def test_a_store_without_grids_has_no_active_version() -> None:
    con = store.connect(":memory:")
    with pytest.raises(q.NoActiveGridVersion) as exc:
        q.resolve_version(con)
    assert isinstance(exc.value, NotFound)
    assert exc.value.to_problem()["status"] == 404


def test_a_missing_version_is_one_not_found_everywhere(reg: Reg) -> None:
    con, _ = reg
    assert q.active_version(con) == q.resolve_version(con) == q.resolve_version(con, 1) == 1
    for read in (q.resolve_version, q.version_row, q.version_caps):
        with pytest.raises(q.GridVersionNotFound, match="grid version 7 does not exist") as exc:
            read(con, 7)
        assert exc.value.to_problem()["type"] == "/problems/not-found"
    with pytest.raises(q.GridVersionNotFound):
        grid_at(con, 121.48, 31.23, version=7)


def test_version_row_and_caps(reg: Reg) -> None:
    con, _ = reg
    row = q.version_row(con, 1)
    assert (row["version_id"], row["status"], row["kind"], row["parent_version"]) == (
        1,
        "active",
        "partition",
        None,
    )
    assert sorted(row["quality"]["communities"]) == [A, B]
    assert "churn" not in row["quality"]  # no parent to measure against
    assert q.version_caps(con, 1) == Caps()
    v2 = partition_store(con, open_cap=100, closed_cap=200, grid_cap=400, fill=1.0)
    assert q.version_caps(con, v2) == Caps(100, 200, 400, "needed", 1.0)
    assert q.version_row(con, 1)["status"] == "superseded"
    churn = q.version_row(con, v2)["quality"]["churn"]
    assert churn["parent"] == 1
    both = q.assignments_frame(con, 1).merge(
        q.assignments_frame(con, v2), on=["building_id", "unit"], suffixes=("", "_new")
    )
    assert churn["households_compared"] == int(both["households"].sum()) > 0
    moved = both["micro_grid_code"] != both["micro_grid_code_new"]
    assert churn["moved_rows"] == int(moved.sum())
    assert churn["moved_households_micro"] == int(both.loc[moved, "households"].sum())


@pytest.mark.parametrize(
    ("table", "relation", "frame", "key"),
    [
        ("grids", q.grids_sql, q.grids_frame, ["grid_code"]),
        ("micro_grids", q.micro_grids_sql, q.micro_grids_frame, ["micro_grid_code"]),
        ("unit_grids", q.unit_grids_sql, q.unit_grids_frame, ["unit_grid_code"]),
        ("grid_assignments", q.assignments_sql, q.assignments_frame, ["building_id", "unit"]),
    ],
)
def test_relations_and_frames_agree(
    reg: Reg, table: str, relation: object, frame: object, key: list[str]
) -> None:
    con, _ = reg
    partition_store(con, communities=[B], grid_cap=300)  # a second version to tell apart
    sql = relation(1)  # type: ignore[operator]
    got = con.execute(f"SELECT * FROM ({sql}) ORDER BY {', '.join(key)}").df()
    geom = ["geom"] if table in q.GEOMETRY else []
    assert list(got.columns) == ["version_id", *q.COLUMNS[table], *geom]
    assert len(got) and set(got["version_id"]) == {1}
    plain = frame(con, 1)  # type: ignore[operator]
    pd.testing.assert_frame_equal(plain, got.drop(columns=geom))
    if geom:
        with_wkb = frame(con, 1, geometry=True)  # type: ignore[operator]
        polygons = shapely.from_wkb([bytes(w) for w in with_wkb["wkb"]])
        assert (shapely.get_type_id(polygons) >= 3).all()
        assert len(with_wkb) == len(plain)


def test_assignments_of_some_communities(reg: Reg) -> None:
    con, ids = reg
    only_b = q.assignments_frame(con, 1, [B])
    assert set(only_b["community_code"]) == {B}
    assert sorted(set(only_b["building_id"])) == sorted(ids[B])
    assert q.assignments_frame(con, 1, []).empty


def test_the_point_index_follows_new_versions(reg: Reg) -> None:
    con, _ = reg
    v1, index = point_index(con)
    assert point_index(con) == (v1, index)  # kept, not rebuilt
    lon, lat = con.execute(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        f"FROM ({q.grids_sql(v1)}) ORDER BY grid_code LIMIT 1"
    ).fetchone() or (0.0, 0.0)
    assert grid_at(con, lon, lat)["version"] == v1
    v2 = repartition(con)  # a write of this process: seen at once, whatever the recheck
    assert grid_at(con, lon, lat)["version"] == v2
    assert grid_at(con, lon, lat, version=v1)["version"] == v1


def test_register_reads_of_the_partitioner(reg: Reg) -> None:
    con, ids = reg
    assert register.communities_with_buildings(con) == [A, B]
    bld = register.active_buildings_frame(con, [B, A, B])
    assert list(bld.columns) == [
        "community_code",
        "building_id",
        "households",
        "units",
        "estate_id",
        "enclosure",
        "wkb",
    ]
    assert list(bld["building_id"]) == sorted(ids[A]) + sorted(ids[B])
    closed = bld[bld["estate_id"].notna()]
    assert len(closed) and set(closed["enclosure"]) == {"closed"}
    assert "wkb" not in register.active_buildings_frame(con, [A], geometry=False).columns
    con.execute("UPDATE buildings SET status = 'retired' WHERE community_code = ?", [B])
    assert register.communities_with_buildings(con) == [A]
    assert register.active_buildings_frame(con, [B]).empty
    areas = register.community_boundaries_frame(con, [B, A])
    assert list(areas["code"]) == [A, B]
    assert len(register.major_roads_wkb(con)) == 1


def test_household_units(reg: Reg) -> None:
    con, ids = reg
    bid = ids[A][4]  # every fifth building has units
    rows = [
        ("01", "household", "active"),
        ("01", "household", "active"),
        ("01", "household", "active"),
        ("01", "shop", "active"),
        ("02", "household", "active"),
        ("02", "household", "retired"),
        ("00", "household", "active"),
    ]
    for k, (unit, use, status) in enumerate(rows):
        con.execute(
            "INSERT INTO rooms (room_id, building_id, unit, floor, room, use, status) "
            "VALUES (?, ?, ?, '001', ?, ?, ?)",
            [f"{bid}{unit}001{k:04d}", bid, unit, f"{k:04d}", use, status],
        )
    got = register.household_units_frame(con, [A, B])
    assert got.to_dict(orient="records") == [
        {"community_code": A, "building_id": bid, "unit": "01", "n": 3},
        {"community_code": A, "building_id": bid, "unit": "02", "n": 1},
    ]
    assert register.household_units_frame(con, [B]).empty


def test_building_points_and_communities(reg: Reg) -> None:
    con, ids = reg
    no_point = add_building(con, A, 99, 100.0, 100.0, 10)
    con.execute("UPDATE buildings SET lon = NULL, lat = NULL WHERE building_id = ?", [no_point])
    points = con.execute(
        f"SELECT building_id, p.lon, p.lat FROM ({register.building_points_sql()}) p "
        "JOIN buildings b USING (building_id) WHERE b.lon IS NOT NULL "
        "AND (p.lon <> b.lon OR p.lat <> b.lat)"
    ).fetchall()
    assert points == []  # the register's point where it has one
    lon, lat = con.execute(
        f"SELECT lon, lat FROM ({register.building_points_sql()}) WHERE building_id = ?",
        [no_point],
    ).fetchone() or (None, None)
    footprint = shapely.from_wkt(
        (
            con.execute(
                "SELECT ST_AsText(geom) FROM buildings WHERE building_id = ?", [no_point]
            ).fetchone()
            or ("",)
        )[0]
    )
    assert footprint.contains(shapely.Point(lon, lat))  # else a point on its footprint
    asked = [ids[B][0], "3101010020012020999999990", ids[A][0]]
    assert register.building_communities(con, asked) == {ids[A][0]: A, ids[B][0]: B}


def test_a_fresh_register_partitions_through_the_reads(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "fresh.duckdb")
    make_register(con)
    v = partition_store(con, workers=1)
    assert q.resolve_version(con) == v
    assert set(q.grids_frame(con, v)["community_code"]) == {A, B}
