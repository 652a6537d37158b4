"""Resolver tolerances, ambiguity, retired buildings, batch, calibration, accuracy floor."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import store
from address_registry import _resolve_calibrate as cal
from address_registry.resolve import MAX_BATCH, index_for, resolve, resolve_many
from common.errors import InvalidInput
from store import clear_cache
from synthetic.addresses import han_number, variants
from tests.resolve._crafted import building_by_alias as _id
from tests.resolve._crafted import crafted_store
from tests.resolve._crafted import top as _top


@pytest.fixture(scope="module")
def city_con(crafted: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The crafted city (tests here add same-named and retired buildings, then restore it)."""
    return crafted


@pytest.mark.parametrize(
    "query",
    [
        "汉口路12号",  # no district, no street
        "上海市黄浦区外滩街道汉口路12号",
        "汉口路12号黄浦区外滩街道",  # reordered
        "黄浦外滩汉口路十二号",  # short names, Chinese numerals
        "卢湾区汉口路12号",  # old district name
        "漢口路12號附近",  # traditional, noise word
        "汗口路12号",  # typo in the road name
        "一号楼",  # the building's name instead of its doorplate
    ],
)
def test_tolerances_find_the_building(city_con: duckdb.DuckDBPyConnection, query: str) -> None:
    top = _top(resolve(city_con, query))
    assert top["building_id"] == _id(city_con, "汉口路12号"), query


def test_typo_scores_below_the_exact_road(city_con: duckdb.DuckDBPyConnection) -> None:
    typo = _top(resolve(city_con, "汗口路12号"))
    exact = _top(resolve(city_con, "汉口路12号"))
    assert typo["matched"]["road"] == "汉口路" and typo["matched"]["road_written"] == "汗口路"
    assert typo["confidence"] < exact["confidence"]


def test_estate_and_building_number(city_con: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(city_con, "天安小区2栋"))
    assert top["building_id"] == _id(city_con, "天安小区2号楼")
    assert top["matched"]["estate"] == "天安小区" and top["matched"]["building_no"] == "2"


def test_room_is_verified(city_con: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(city_con, "天安小区1号楼1单元101室"))
    assert top["level"] == "room" and top["room_id"][25:] == "010010101"
    assert top["address"].endswith("1单元101室")


def test_same_name_in_two_communities_is_ambiguous(city_con: duckdb.DuckDBPyConnection) -> None:
    a = _id(city_con, "汉口路12号")
    b = _id(city_con, "九江路126弄9号")
    communities = city_con.execute(
        "SELECT community_code FROM buildings WHERE building_id IN (?, ?)", [a, b]
    ).fetchall()
    assert len({c[0] for c in communities}) == 2
    for bid in (a, b):
        city_con.execute(
            "INSERT INTO building_aliases (building_id, alias, kind) VALUES (?, '同名大厦', 'name')",
            [bid],
        )
    clear_cache()
    try:
        answer = resolve(city_con, "同名大厦")
        assert answer["ambiguous"]
        assert {c["building_id"] for c in answer["candidates"][:2]} == {a, b}
        assert answer["candidates"][0]["confidence"] <= 0.5
        # naming the community settles it
        community = city_con.execute(
            "SELECT name FROM admin_areas WHERE code = (SELECT community_code FROM buildings "
            "WHERE building_id = ?)",
            [b],
        ).fetchone()
        assert community is not None
        settled = resolve(city_con, f"{community[0]}同名大厦")
        assert not settled["ambiguous"] and _top(settled)["building_id"] == b
    finally:
        city_con.execute("DELETE FROM building_aliases WHERE alias = '同名大厦'")
        clear_cache()


def test_retired_building_answers_with_its_successors(
    city_con: duckdb.DuckDBPyConnection,
) -> None:
    old = _id(city_con, "老饭店")
    new = _id(city_con, "天安小区2号楼")
    city_con.execute("UPDATE buildings SET status = 'retired' WHERE building_id = ?", [old])
    city_con.execute(
        "INSERT INTO registry_operations (op_id, op, valid_at) VALUES (9999, 'merge', now())"
    )
    city_con.execute("INSERT INTO building_lineage VALUES (?, ?, 9999)", [old, new])
    clear_cache()
    try:
        top = _top(resolve(city_con, "老饭店"))
        assert top["building_id"] == new and top["matched"]["successor_of"] == old
    finally:
        city_con.execute("DELETE FROM building_lineage WHERE op_id = 9999")
        city_con.execute("DELETE FROM registry_operations WHERE op_id = 9999")
        city_con.execute("UPDATE buildings SET status = 'active' WHERE building_id = ?", [old])
        clear_cache()


def test_batch_keeps_every_row_with_a_reason(city_con: duckdb.DuckDBPyConnection) -> None:
    texts: list[object] = [
        "汉口路12号",
        "",
        "   ",
        "汉" * 201,
        "hello",
        b"\x00\x01",
        None,
        "杭州市西湖区文三路259号",
        "汉口路12号",
        "黄浦区外滩街道",
    ]
    answers = resolve_many(city_con, texts)
    assert len(answers) == len(texts)
    reasons = [a["reason"] for a in answers]
    assert reasons == [
        None,
        "empty",
        "empty",
        "too_long",
        "not_an_address",
        "binary",
        "empty",
        "no_match",
        None,
        "admin_only",
    ]
    assert answers[0]["candidates"] == answers[8]["candidates"]


def test_batch_limit(city_con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput, match="10000"):
        resolve_many(city_con, ["汉口路12号"] * (MAX_BATCH + 1))


@pytest.mark.parametrize("bad", ["", "汉" * 201, "abc", "汉口\x00路", b"bytes"])
def test_bad_single_input_raises_invalid_input(
    city_con: duckdb.DuckDBPyConnection, bad: Any
) -> None:
    with pytest.raises(InvalidInput):
        resolve(city_con, bad)


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet="汉口路12号之一栋单元室层区街道弄-#天安小区 ab\x00", max_size=40))
def test_any_text_answers_or_raises_invalid_input(
    city_con: duckdb.DuckDBPyConnection, text: str
) -> None:
    try:
        answer = resolve(city_con, text, limit=3)
    except InvalidInput:
        return
    candidates = answer["candidates"]
    assert len(candidates) <= 3
    assert all(0.0 <= c["confidence"] <= 1.0 for c in candidates)
    ids = [c["building_id"] for c in candidates if c["building_id"]]
    assert len(ids) == len(set(ids))


def test_index_is_cached_and_refreshed(city_con: duckdb.DuckDBPyConnection) -> None:
    first = index_for(city_con)
    assert index_for(city_con) is first
    path = city_con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    assert path is not None
    other = store.connect(path[0])  # a second connection to the same store shares the index
    try:
        assert index_for(other) is first
    finally:
        other.close()
    assert index_for(city_con, refresh=True) is not first


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=60), st.data())
def test_calibration_is_monotone_and_bounded(scores: list[float], data: st.DataObject) -> None:
    hits = data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores)))
    table = cal.fit(scores, hits)
    xs, ys = tuple(table["x"]), tuple(table["y"])
    grid = [i / 50 for i in range(51)]
    values = [cal.calibrate(g, (xs, ys)) for g in grid]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a <= b for a, b in itertools.pairwise(values))


def test_shipped_calibration_is_monotone() -> None:
    xs, ys = cal.load()
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys)
    assert ys[0] >= 0.0 and ys[-1] <= 1.0


def test_han_number() -> None:
    assert [han_number(n) for n in (0, 10, 15, 101, 110)] == [
        "零",
        "十",
        "十五",
        "一百零一",
        "一百一十",
    ]


def test_accuracy_floor_on_sample_variants(sample_store: Path) -> None:
    con = store.connect(sample_store, read_only=True)
    try:
        items = variants(con, 200, seed=7)
        answers = resolve_many(con, [v.text for v in items])
    finally:
        con.close()
        clear_cache()
    hits = [
        bool(a["candidates"]) and a["candidates"][0]["building_id"] == v.building_id
        for v, a in zip(items, answers, strict=True)
    ]
    assert sum(hits) / len(hits) >= 0.9
    confident = [
        h
        for h, a in zip(hits, answers, strict=True)
        if a["candidates"] and a["candidates"][0]["confidence"] >= 0.9
    ]
    assert confident and sum(confident) / len(confident) >= 0.97


def test_cli_batch_file(tmp_path: Path) -> None:
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from yizhi.cli import app

    db = tmp_path / "city.duckdb"
    crafted_store(db).close()
    clear_cache()
    rows = ["汉口路12号", "", "hello", "天安小区1号楼1单元101室", "杭州市文三路1号"]
    gbk = tmp_path / "in.csv"  # an Excel export: GBK
    gbk.write_bytes(("id,地址\n" + "".join(f"{i},{r}\n" for i, r in enumerate(rows))).encode("gbk"))
    runner = CliRunner()
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["resolve", str(gbk), "--column", "地址", "--out", str(out), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 5 and summary["reasons"]["resolved"] == 2
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert frame["id"].tolist() == ["0", "1", "2", "3", "4"]
    assert frame["reason"].tolist() == ["", "empty", "not_an_address", "", "no_match"]
    assert len(frame.loc[3, "room_id"]) == 34 and frame.loc[3, "level"] == "room"
    parquet = tmp_path / "in.parquet"
    pd.DataFrame({"address": rows}).to_parquet(parquet)
    result = runner.invoke(app, ["resolve", str(parquet), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["results"]) == 5
    result = runner.invoke(app, ["resolve", str(parquet), "--column", "nope", "--db", str(db)])
    assert result.exit_code != 0 and isinstance(result.exception, InvalidInput)
    # a query that is not a file still resolves as a single address
    result = runner.invoke(app, ["resolve", "汉口路12号", "--db", str(db), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["candidates"]
    clear_cache()


def test_short_names_are_not_read_out_of_other_places(sample_store: Path) -> None:
    """北京 is the short name of 北京居委会 (静安区); 北京市 is another city, not that community."""
    con = store.connect(sample_store, read_only=True)
    try:
        answer = resolve(con, "北京市海淀区中关村大街27号")
        codes = [c["matched"].get("community", {}).get("code") for c in answer["candidates"]]
        assert "310106006011" not in codes
        # the community is still found by its full name
        named = resolve(con, "静安区北京居委会")
        assert named["candidates"][0]["matched"]["community"]["code"] == "310106006011"
    finally:
        con.close()
