"""GeoPackage round trip: export, edit with pyogrio (attributes or polygons), import."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
import shapely

from common.errors import Conflict, InvalidInput
from grid_partition.gis import LAYERS, export_version, import_version
from grid_partition.versions import diff, quality
from tests.grid.crafted import A, B, Reg


def _versions(con: object) -> int:
    row = con.execute("SELECT count(*) FROM grid_versions").fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def test_export_writes_four_layers(reg: Reg, tmp_path: Path) -> None:
    con, ids = reg
    out = export_version(con, tmp_path / "v1.gpkg")
    assert out["version"] == 1
    names = {n for n, _ in pyogrio.list_layers(tmp_path / "v1.gpkg")}
    assert names == set(LAYERS)
    a = pyogrio.read_dataframe(tmp_path / "v1.gpkg", layer="assignments")
    assert a.crs.to_epsg() == 4326
    assert len(a) == out["layers"]["assignments"]
    assert set(a["building_id"]) == set(ids[A]) | set(ids[B])
    assert set(a.geometry.geom_type) == {"Point"}
    assert a["grid_code"].str.len().eq(15).all()
    # whole buildings have one row (unit 00); the default split_buildings="needed" also splits
    # a few multi-unit buildings by unit: one row per unit, each unit once, never with a 00 row
    split = a[a["unit"] != "00"]
    assert 0 < split["building_id"].nunique() < len(ids[A])
    assert not set(split["building_id"]) & set(a.loc[a["unit"] == "00", "building_id"])
    assert split.groupby("building_id")["unit"].agg(lambda u: u.is_unique and len(u) > 1).all()
    assert len(a) == len(ids[A]) + len(ids[B]) + len(split) - split["building_id"].nunique()
    g = pyogrio.read_dataframe(tmp_path / "v1.gpkg", layer="grids")
    assert len(g) == 5 and set(g.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    with pytest.raises(InvalidInput, match="shp"):
        export_version(con, tmp_path / "x.shp", format="shp")


def test_unchanged_import_makes_no_version(reg: Reg, tmp_path: Path) -> None:
    con, _ = reg
    export_version(con, tmp_path / "v1.gpkg")
    out = import_version(con, tmp_path / "v1.gpkg")
    assert out == {**out, "changed": False, "version": 1, "moved_rows": 0}
    assert _versions(con) == 1


def test_edited_assignment_imports_as_new_version(reg: Reg, tmp_path: Path) -> None:
    con, _ = reg
    path = tmp_path / "v1.gpkg"
    export_version(con, path)
    a = pyogrio.read_dataframe(path, layer="assignments")
    pair = a.groupby("micro_grid_code").filter(lambda g: len(g) == 2).iloc[0]
    new_micro = pair["grid_code"] + "90"
    a.loc[a["building_id"] == pair["building_id"], "micro_grid_code"] = new_micro
    pyogrio.write_dataframe(a, path, layer="assignments", driver="GPKG")
    out = import_version(con, path, actor="planner")
    assert out["changed"] and out["version"] == 2 and out["moved_rows"] == 1
    d = diff(con, 1, 2)
    assert [(r["building_id"], r["to_micro_grid"]) for r in d["moved"]] == [
        (pair["building_id"], new_micro)
    ]
    q = quality(con, 2)
    assert q["ok"] and q["kind"] == "import" and q["tiling_area_error"] < 1e-6
    log = con.execute("SELECT op, outcome, result_version, actor FROM grid_edits").fetchall()
    assert log == [("import", "applied", 2, "planner")]
    # the same file again: it was exported from version 1, version 2 is active now
    with pytest.raises(Conflict) as info:
        import_version(con, path)
    assert info.value.context["rule"] == "stale_version"
    again = import_version(con, path, version=1)  # explicitly on top of version 1
    assert again["version"] == 3 and diff(con, 2, 3)["empty"]


def test_import_refused_lists_every_problem(reg: Reg, tmp_path: Path) -> None:
    con, ids = reg
    path = tmp_path / "bad.gpkg"
    export_version(con, path)
    a = pyogrio.read_dataframe(path, layer="assignments")
    grids = sorted(set(a.loc[a["community_code"] == A, "grid_code"]))
    target = sorted(set(a.loc[a["grid_code"] == grids[0], "micro_grid_code"]))[0]
    over = a["grid_code"] == grids[1]
    a.loc[over, "micro_grid_code"] = target  # cap violations
    a.loc[over, "grid_code"] = grids[0]
    a.loc[a["building_id"] == ids[B][0], ["micro_grid_code", "grid_code"]] = [target, grids[0]]
    a.loc[a["building_id"] == ids[A][-1], "building_id"] = "3101010020012020999999991"
    pyogrio.write_dataframe(a, path, layer="assignments", driver="GPKG")
    with pytest.raises(Conflict) as info:
        import_version(con, path)
    rules = {p["rule"] for p in info.value.context["problems"]}
    assert {"micro_cap", "grid_cap", "unknown_building", "missing_building", "community"} <= rules
    for rule in ("micro_cap", "grid_cap", "unknown_building", "missing_building", "community"):
        assert f"{rule}: " in info.value.message
    assert "3101010020012020999999991" in info.value.message
    assert _versions(con) == 1
    log = con.execute("SELECT op, outcome, result_version FROM grid_edits").fetchall()
    assert log == [("import", "refused", None)]


def test_drawn_micro_grid_polygon_assigns_by_containment(reg: Reg, tmp_path: Path) -> None:
    con, _ = reg
    path = tmp_path / "drawn.gpkg"
    export_version(con, path)
    a = pyogrio.read_dataframe(path, layer="assignments")
    m = pyogrio.read_dataframe(path, layer="micro_grids")
    pair = a.groupby("micro_grid_code").filter(lambda g: len(g) == 2).iloc[0]
    pt = pair.geometry
    pocket = shapely.box(pt.x - 5e-5, pt.y - 5e-5, pt.x + 5e-5, pt.y + 5e-5)
    i = m.index[m["micro_grid_code"] == pair["micro_grid_code"]][0]
    pocket = shapely.intersection(pocket, m.geometry[i])
    m.loc[i, "geometry"] = shapely.difference(m.geometry[i], pocket)
    new = m.loc[[i]].copy()
    new["micro_grid_code"] = pair["grid_code"] + "77"
    new["geometry"] = [pocket]
    m = type(m)(__import__("pandas").concat([m, new], ignore_index=True), crs=m.crs)
    pyogrio.write_dataframe(m, path, layer="micro_grids", driver="GPKG")
    out = import_version(con, path)
    assert out["changed"] and out["moved_rows"] == 1
    moved = diff(con, 1, out["version"])["moved"]
    assert [(r["building_id"], r["to_micro_grid"]) for r in moved] == [
        (pair["building_id"], pair["grid_code"] + "77")
    ]
    assert quality(con, out["version"])["ok"]


def test_drawn_grid_polygon_renumbers_its_micro_grids(reg: Reg, tmp_path: Path) -> None:
    con, _ = reg
    path = tmp_path / "grids.gpkg"
    export_version(con, path)
    g = pyogrio.read_dataframe(path, layer="grids")
    old = sorted(g.loc[g["community_code"] == A, "grid_code"])[0]
    new = A + "050"
    g.loc[g["grid_code"] == old, "grid_code"] = new  # a drawn grid with a new code
    pyogrio.write_dataframe(g, path, layer="grids", driver="GPKG")
    out = import_version(con, path)
    assert out["changed"]
    d = diff(con, 1, out["version"])
    assert d["grids"]["created"] == [new] and d["grids"]["retired"] == [old]
    assert {r["to_grid"] for r in d["moved"]} == {new}
    micros = sorted({r["to_micro_grid"] for r in d["moved"]})
    assert micros == [f"{new}{i + 1:02d}" for i in range(len(micros))]
    assert quality(con, out["version"])["ok"]
