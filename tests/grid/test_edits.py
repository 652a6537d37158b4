"""Planner edits on the crafted register: applied and refused cases, each rule named."""

from __future__ import annotations

import pandas as pd
import pytest

from common.errors import Conflict
from grid_partition import edits
from grid_partition.versions import diff, quality
from tests.grid.crafted import DX, LON0, A, B, Reg


def _rows(con: object, version: int) -> pd.DataFrame:
    return con.execute(  # type: ignore[attr-defined, no-any-return]
        "SELECT a.*, b.lon FROM grid_assignments a JOIN buildings b USING (building_id) "
        "WHERE version_id = ? ORDER BY building_id",
        [version],
    ).df()


def _versions(con: object) -> int:
    row = con.execute("SELECT count(*) FROM grid_versions").fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def _refused(con: object, call: object, *args: object, **kw: object) -> Conflict:
    before = _versions(con)
    with pytest.raises(Conflict) as info:
        call(con, *args, **kw)  # type: ignore[operator]
    assert _versions(con) == before  # a refused edit makes no version
    last = con.execute(  # type: ignore[attr-defined]
        "SELECT outcome, result_version, error FROM grid_edits ORDER BY edit_id DESC LIMIT 1"
    ).fetchone()
    assert last[0] == "refused" and last[1] is None
    assert info.value.context["rule"] in last[2]
    return info.value


def test_move_to_new_micro_grid_and_back(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    two = a.groupby("micro_grid_code").filter(lambda g: len(g) == 2).iloc[0]
    bid, micro, grid = two["building_id"], two["micro_grid_code"], two["grid_code"]
    v2 = edits.move(con, [bid], to_grid=grid, actor="planner")
    moved = _rows(con, v2).set_index("building_id").loc[bid]
    assert moved["grid_code"] == grid and moved["micro_grid_code"] != micro
    assert moved["micro_grid_code"].startswith(grid)
    d = diff(con, 1, v2)
    assert [r["building_id"] for r in d["moved"]] == [bid]
    assert d["micro_grids"]["created"] == [moved["micro_grid_code"]]
    assert micro in d["micro_grids"]["reshaped"]
    q = quality(con, v2)
    assert q["ok"] and q["kind"] == "edit" and q["tiling_area_error"] < 1e-6
    assert q["churn"]["moved_households_micro"] == int(two["households"])
    v3 = edits.move(con, [bid], to_micro_grid=micro)
    assert diff(con, 1, v3)["empty"]
    log = con.execute("SELECT op, outcome, base_version, result_version FROM grid_edits").fetchall()
    assert log == [("move", "applied", 1, v2), ("move", "applied", v2, v3)]


def test_move_refused_over_cap(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    grids = sorted(set(a.loc[a["community_code"] == A, "grid_code"]))
    target = sorted(set(a.loc[a["grid_code"] == grids[0], "micro_grid_code"]))[0]
    donors = a.loc[a["grid_code"] == grids[1], "building_id"].tolist()
    err = _refused(con, edits.move, donors, to_micro_grid=target)
    assert err.context["rule"] == "micro_cap" and err.context["grid"] == grids[0]
    rules = {p["rule"] for p in err.context["problems"]}
    assert {"micro_cap", "grid_cap"} <= rules
    assert target in err.message


def test_move_refused_across_communities_and_unknown(reg: Reg) -> None:
    con, ids = reg
    a = _rows(con, 1)
    target = a.loc[a["community_code"] == A, "micro_grid_code"].iloc[0]
    err = _refused(con, edits.move, [ids[B][0]], to_micro_grid=target)
    assert err.context["rule"] == "community" and err.context["grid"] == target[:15]
    err = _refused(con, edits.move, [ids[A][0]], to_micro_grid=A + "00999")
    assert err.context["rule"] == "unknown_code"
    err = _refused(con, edits.move, ["3101010020012020999999991"], to_micro_grid=target)
    assert err.context["rule"] == "unknown_building"


def test_move_refused_across_the_major_road(reg: Reg) -> None:
    con, ids = reg
    a = _rows(con, 1)
    east = a[(a["community_code"] == A) & (a["lon"] > LON0 + 300 * DX)]
    per = east.groupby("micro_grid_code")["households"].sum().sort_values()
    west_building = ids[A][0]  # x = 37.5 m, west of the road at 300 m
    err = _refused(con, edits.move, [west_building], to_micro_grid=per.index[0])
    assert "contiguity" in {p["rule"] for p in err.context["problems"]}
    assert "not contiguous" in err.message


def test_split_then_merge_back(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    grid = (
        a.loc[a["community_code"] == A].groupby("grid_code")["micro_grid_code"].nunique().idxmax()
    )
    v2 = edits.split(con, grid)
    b = _rows(con, v2)
    new_grid = A + "005"  # the next free serial
    assert set(b["grid_code"]) == set(a["grid_code"]) | {new_grid}
    parts = b[b["grid_code"].isin([grid, new_grid])]
    assert int(parts["households"].sum()) == int(a.loc[a["grid_code"] == grid, "households"].sum())
    assert (parts["micro_grid_code"].str[:15] == parts["grid_code"]).all()
    assert sorted(set(b.loc[b["grid_code"] == new_grid, "micro_grid_code"]))[0] == new_grid + "01"
    q = quality(con, v2)
    assert q["ok"] and q["grids"] == 6
    v3 = edits.merge(con, [new_grid, grid])
    c = _rows(con, v3)
    assert set(c["grid_code"]) == set(a["grid_code"])
    same = (
        c.groupby("grid_code")["households"]
        .sum()
        .equals(a.groupby("grid_code")["households"].sum())
    )
    assert same
    assert quality(con, v3)["ok"]


def test_split_refused(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    grid = a.loc[a["community_code"] == A, "grid_code"].iloc[0]
    micros = sorted(set(a.loc[a["grid_code"] == grid, "micro_grid_code"]))
    err = _refused(con, edits.split, grid, micro_grids=micros)
    assert err.context["rule"] == "nesting" and err.context["grid"] == grid
    err = _refused(con, edits.split, A + "999")
    assert err.context["rule"] == "unknown_code"
    v2 = edits.split(con, grid, micro_grids=[micros[0]])
    lone = sorted(set(_rows(con, v2)["grid_code"]) - set(a["grid_code"]))[0]
    err = _refused(con, edits.split, lone)
    assert err.context["rule"] == "indivisible" and err.context["grid"] == lone


def test_merge_refused(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    ga = sorted(set(a.loc[a["community_code"] == A, "grid_code"]))
    err = _refused(con, edits.merge, ga[:2])
    assert err.context["rule"] == "grid_cap" and err.context["grid"] == ga[0]
    err = _refused(con, edits.merge, [ga[0], B + "001"])
    assert err.context["rule"] == "community"
    assert "within one community" in err.message


def test_rebalance_keeps_codes_where_it_can(reg: Reg) -> None:
    con, _ = reg
    a = _rows(con, 1)
    v2 = edits.rebalance(con, A)
    b = _rows(con, v2)
    assert set(b.loc[b["community_code"] == A, "grid_code"]) <= set(a["grid_code"])
    q = quality(con, v2)
    assert q["ok"] and q["tiling_area_error"] < 1e-6
    op = con.execute("SELECT op, outcome FROM grid_edits").fetchall()
    assert op == [("rebalance", "applied")]
    # community B untouched
    assert (
        b[b["community_code"] == B]
        .drop(columns="version_id")
        .reset_index(drop=True)
        .equals(a[a["community_code"] == B].drop(columns="version_id").reset_index(drop=True))
    )
