"""Resolver against the crafted city of ``tests/registry/_registry_city.py`` (built once)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import store
from address_registry._resolve_match import road_number
from address_registry.resolve import resolve
from common.errors import InvalidInput
from store import clear_cache
from tests.resolve._crafted import building_by_alias as _building
from tests.resolve._crafted import top as _top


def test_doorplate_with_district(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "上海市黄浦区汉口路12号")
    top = _top(answer)
    assert top["building_id"] == _building(crafted, "汉口路12号")
    assert top["level"] == "building" and top["confidence"] >= 0.9
    assert not answer["ambiguous"]
    assert answer["normalized"] == "上海市黄浦区汉口路12号"
    assert top["matched"]["district"]["code"] == "310101"
    assert set(top) == {
        "building_id",
        "room_id",
        "level",
        "confidence",
        "address",
        "lon",
        "lat",
        "matched",
    }


def test_lane_doorplate(crafted: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(crafted, "九江路126弄9号"))
    assert top["building_id"] == _building(crafted, "九江路126弄9号")
    assert top["confidence"] >= 0.9


def test_old_district_name_resolves_through_its_alias(crafted: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(crafted, "卢湾区汉口路12号"))
    assert top["building_id"] == _building(crafted, "汉口路12号")
    assert top["matched"]["district"] == {"code": "310101", "name": "黄浦区", "via": "old_name"}


def test_conflicting_district_lowers_confidence(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "浦东新区汉口路12号")
    top = _top(answer)
    assert top["confidence"] < resolve(crafted, "汉口路12号")["candidates"][0]["confidence"]
    assert top["matched"]["district"] == {"conflict": ["310115"]}


def test_estate_building_and_room(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "外滩街道天安小区一号楼一单元101室")
    top = _top(answer)
    building = _building(crafted, "天安小区1号楼")
    assert top["building_id"] == building
    assert top["level"] == "room"
    assert top["room_id"].startswith(building) and top["room_id"][25:] == "010010101"
    assert top["address"].endswith("1单元101室")
    assert answer["candidates"][1]["building_id"] == _building(crafted, "天安小区2号楼")


def test_room_missing_from_register_keeps_the_building(crafted: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(crafted, "汉口路12号1单元9901室"))
    assert top["level"] == "building" and top["room_id"] is None
    assert top["matched"]["room"] == {"unit": 1, "floor": 99, "room": 9901, "in_register": False}


def test_poi_name(crafted: duckdb.DuckDBPyConnection) -> None:
    top = _top(resolve(crafted, "老饭店"))
    assert top["building_id"] == _building(crafted, "老饭店")


def test_admin_only_answer(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "黄浦区外滩街道")
    top = _top(answer)
    assert (top["building_id"], top["level"]) == (None, "street")
    assert top["lon"] is not None and top["confidence"] == 0.2


def test_nothing_found(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "杭州市西湖区文三路259号")
    assert answer["candidates"] == [] and not answer["ambiguous"]


def test_bad_input(crafted: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        resolve(crafted, "汉口路12号", limit=0)
    with pytest.raises(InvalidInput):
        resolve(crafted, "")


def test_road_number_forms() -> None:
    assert road_number({"roadno": "12号"}) == (None, 12, None)
    assert road_number({"roadno": "126弄", "subroadno": "9号"}) == (126, 9, None)
    assert road_number({"roadno": "12号之1"}) == (None, 12, 1)
    assert road_number({}) == (None, None, None)


def test_cli(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from yizhi.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["normalize", "三号楼二单元十二楼", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["normalized"] == "3栋2单元12层"
    result = runner.invoke(app, ["parse", "闲林街道五常大道1288号", "--json"])
    doc = json.loads(result.stdout)
    assert (doc["town"], doc["road"], doc["district"]) == ("闲林街道", "五常大道", None)
    result = runner.invoke(app, ["parse", "hello"])
    assert result.exit_code != 0 and isinstance(result.exception, InvalidInput)
    path = tmp_path / "empty.duckdb"  # an empty register: nothing to find
    store.connect(path).close()
    result = runner.invoke(app, ["resolve", "汉口路12号", "--db", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["candidates"] == []


def test_name_as_written_matches_an_alias(crafted: duckdb.DuckDBPyConnection) -> None:
    # the alias is stored as 一号楼; the normalised query would say 1栋
    top = _top(resolve(crafted, "一号楼"))
    assert top["building_id"] == _building(crafted, "一号楼")
    assert "name" in top["matched"]["ways"]


def test_doorplate_range_covers_the_number(crafted: duckdb.DuckDBPyConnection) -> None:
    building = _building(crafted, "汉口路12号")
    crafted.execute(
        """
        INSERT INTO doorplates (doorplate_id, road_code, number, house_no, building_id, source)
        SELECT '9999999999999999', road_code, '300-310号', 300, ?, 'imported'
          FROM roads WHERE name = '汉口路'
        """,
        [building],
    )
    clear_cache()
    top = _top(resolve(crafted, "汉口路306号"))
    assert top["building_id"] == building and top["matched"]["doorplate"] == "300-310号"
    assert top["level"] == "building" and 0.8 < top["confidence"] <= 1.0
    crafted.execute("DELETE FROM doorplates WHERE doorplate_id = '9999999999999999'")
    clear_cache()


def test_estate_named_slightly_differently(crafted: duckdb.DuckDBPyConnection) -> None:
    answer = resolve(crafted, "天安新小区2号楼")  # one character too many
    top = _top(answer)
    assert top["building_id"] == _building(crafted, "天安小区2号楼")
    assert top["matched"]["estate"] == "天安小区" and top["matched"]["estate_written"]
    exact = _top(resolve(crafted, "天安小区2号楼"))
    assert top["confidence"] < exact["confidence"]
