"""Address parser: the shipped model on hand-written addresses, peers' failures, bad input, and
(with ``../shared``) micro-F1 on the NAACL 2019 test set."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from address_registry.parse import ParsedAddress, parse, parse_many
from common.errors import InvalidInput, MissingDependency

COMPONENTS = (
    "province",
    "city",
    "district",
    "town",
    "community",
    "road",
    "roadno",
    "poi",
    "subpoi",
    "building",
    "unit",
    "floor",
    "room",
)

# (address, {component: expected value}); every component not listed must be None.
CASES: list[tuple[str, dict[str, str]]] = [
    (
        "上海市黄浦区中山东一路12号",
        {"city": "上海市", "district": "黄浦区", "road": "中山东一路", "roadno": "12号"},
    ),
    (
        "上海市黄浦区南京东路300号",
        {"city": "上海市", "district": "黄浦区", "road": "南京东路", "roadno": "300号"},
    ),
    (
        "上海市徐汇区漕溪北路88号圣爱大厦2301室",
        {
            "city": "上海市",
            "district": "徐汇区",
            "road": "漕溪北路",
            "roadno": "88号",
            "poi": "圣爱大厦",
            "room": "2301室",
        },
    ),
    (
        "上海市静安区南京西路1266号恒隆广场",
        {
            "city": "上海市",
            "district": "静安区",
            "road": "南京西路",
            "roadno": "1266号",
            "poi": "恒隆广场",
        },
    ),
    (
        "上海市闵行区七宝镇漕宝路3366号",
        {
            "city": "上海市",
            "district": "闵行区",
            "town": "七宝镇",
            "road": "漕宝路",
            "roadno": "3366号",
        },
    ),
    (
        "上海市浦东新区张江镇科苑路88号",
        {
            "city": "上海市",
            "district": "浦东新区",
            "town": "张江镇",
            "road": "科苑路",
            "roadno": "88号",
        },
    ),
    (
        "浦东新区陆家嘴环路1000号恒生银行大厦",
        {"district": "浦东新区", "road": "陆家嘴环路", "roadno": "1000号", "poi": "恒生银行大厦"},
    ),
    (
        "上海市浦东新区世纪大道100号",
        {"city": "上海市", "district": "浦东新区", "road": "世纪大道", "roadno": "100号"},
    ),
    (
        "上海市杨浦区五角场镇国定路400号",
        {
            "city": "上海市",
            "district": "杨浦区",
            "town": "五角场镇",
            "road": "国定路",
            "roadno": "400号",
        },
    ),
    (
        "上海市长宁区仙霞路99号尚嘉中心10楼",
        {
            "city": "上海市",
            "district": "长宁区",
            "road": "仙霞路",
            "roadno": "99号",
            "poi": "尚嘉中心",
            "floor": "10层",
        },
    ),
    (
        "杭州市下城区武林路100号",
        {"city": "杭州市", "district": "下城区", "road": "武林路", "roadno": "100号"},
    ),
    (
        "浙江省杭州市下城区朝晖路168号",
        {
            "province": "浙江省",
            "city": "杭州市",
            "district": "下城区",
            "road": "朝晖路",
            "roadno": "168号",
        },
    ),
    (
        "浙江省杭州市西湖区文三路259号",
        {
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "road": "文三路",
            "roadno": "259号",
        },
    ),
    (
        "杭州市西湖区文三路259号昌地火炬大厦1号楼5层",
        {
            "city": "杭州市",
            "district": "西湖区",
            "road": "文三路",
            "roadno": "259号",
            "poi": "昌地火炬大厦",
            "building": "1栋",
            "floor": "5层",
        },
    ),
    (
        "杭州市萧山区宁围街道市心北路1000号",
        {
            "city": "杭州市",
            "district": "萧山区",
            "town": "宁围街道",
            "road": "市心北路",
            "roadno": "1000号",
        },
    ),
    (
        "杭州市拱墅区莫干山路100号",
        {"city": "杭州市", "district": "拱墅区", "road": "莫干山路", "roadno": "100号"},
    ),
    (
        "杭州市滨江区长河街道江南大道588号",
        {
            "city": "杭州市",
            "district": "滨江区",
            "town": "长河街道",
            "road": "江南大道",
            "roadno": "588号",
        },
    ),
    (
        "浙江省杭州市余杭区五常街道文一西路969号",
        {
            "province": "浙江省",
            "city": "杭州市",
            "district": "余杭区",
            "town": "五常街道",
            "road": "文一西路",
            "roadno": "969号",
        },
    ),
    ("闲林街道五常大道1288号", {"town": "闲林街道", "road": "五常大道", "roadno": "1288号"}),
    (
        "彭埠镇环站东路新和嘉苑10幢5单元1638室",
        {
            "town": "彭埠镇",
            "road": "环站东路",
            "poi": "新和嘉苑",
            "building": "10栋",
            "unit": "5单元",
            "room": "1638室",
        },
    ),
    (
        "浙江省宁波市江东区百丈路100号",
        {
            "province": "浙江省",
            "city": "宁波市",
            "district": "江东区",
            "road": "百丈路",
            "roadno": "100号",
        },
    ),
    (
        "浙江省台州市玉环县玉城街道环城西路8号",
        {
            "province": "浙江省",
            "city": "台州市",
            "district": "玉环县",
            "town": "玉城街道",
            "road": "环城西路",
            "roadno": "8号",
        },
    ),
    (
        "杭州市江干区彭埠镇新和嘉苑3幢2单元502室",
        {
            "city": "杭州市",
            "district": "江干区",
            "town": "彭埠镇",
            "poi": "新和嘉苑",
            "building": "3栋",
            "unit": "2单元",
            "room": "502室",
        },
    ),
    ("3号楼2单元1203室", {"building": "3栋", "unit": "2单元", "room": "1203室"}),
    ("三号楼二单元十二层", {"building": "3栋", "unit": "2单元", "floor": "12层"}),
    (
        "杭州市西湖区翠苑一区5幢1单元301室",
        {
            "city": "杭州市",
            "district": "西湖区",
            "poi": "翠苑",
            "subpoi": "一区",
            "building": "5栋",
            "unit": "1单元",
            "room": "301室",
        },
    ),
    (
        "浙江省杭州市拱墅区湖墅南路186号",
        {
            "province": "浙江省",
            "city": "杭州市",
            "district": "拱墅区",
            "road": "湖墅南路",
            "roadno": "186号",
        },
    ),
    (
        "宁波市鄞州区首南街道天童南路588号",
        {
            "city": "宁波市",
            "district": "鄞州区",
            "town": "首南街道",
            "road": "天童南路",
            "roadno": "588号",
        },
    ),
]


def _components(p: ParsedAddress) -> dict[str, str]:
    return {k: v for k in COMPONENTS if (v := getattr(p, k)) is not None}


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hand_written(text: str, expected: dict[str, str]) -> None:
    assert _components(parse(text)) == expected


def test_lane_addresses_keep_road_and_lane() -> None:
    p = parse("永中街道上吴路23弄26号")  # starts at the street/town: still parsed
    assert (p.town, p.road, p.province, p.city, p.district) == (
        "永中街道",
        "上吴路",
        None,
        None,
        None,
    )
    assert "23弄" in {s.normalized for s in p.spans}
    p = parse("外滩街道四川中路126弄9号")
    assert (p.town, p.road) == ("外滩街道", "四川中路")
    assert "126弄" in {s.normalized for s in p.spans}


def test_hyphenated_building_unit_room() -> None:
    p = parse("缤纷北苑47-6-746")
    assert (p.poi, p.building, p.unit, p.room) == ("缤纷北苑", "47", "6", "746")


def test_no_admin_read_out_of_road_or_estate_names() -> None:
    p = parse("闲林街道五常大道1288号")
    assert p.district is None and p.city is None and p.province is None
    p = parse("彭埠镇环站东路新和嘉苑10幢5单元1638室")
    assert p.district is None and p.province is None
    assert p.poi == "新和嘉苑"


def test_old_district_names_kept_as_written() -> None:
    assert parse("杭州市下城区武林路100号").district == "下城区"
    assert parse("宁波市江东区百丈路100号").district == "江东区"
    assert parse("台州市玉环县环城西路8号").district == "玉环县"


def test_two_admin_chains_the_one_before_the_street_wins() -> None:
    p = parse("浙江省杭州市余杭区 上海市浦东新区陆家嘴环路1000号")
    assert (p.province, p.city, p.district, p.road) == (None, "上海市", "浦东新区", "陆家嘴环路")
    assert p.admin_chains == 2
    # a repeated chain completes the chosen one
    p = parse("浙江省杭州市 杭州市西湖区文三路259号")
    assert (p.province, p.city, p.district) == ("浙江省", "杭州市", "西湖区")


def test_spans_index_the_text_as_written() -> None:
    text = "杭州市 三号楼二单元十二层"
    p = parse(text)
    assert p.normalized == "杭州市3栋2单元12层"
    by_label = {s.label: s for s in p.spans}
    assert by_label["houseno"].text == "三号楼" and by_label["houseno"].normalized == "3栋"
    assert text[by_label["floorno"].start : by_label["floorno"].end] == "十二层"


def test_traditional_and_full_width_input() -> None:
    p = parse("浙江省杭州市西湖區文三路２５９號")
    assert (p.district, p.road, p.roadno) == ("西湖区", "文三路", "259号")


def test_parse_many_matches_parse() -> None:
    texts = [c[0] for c in CASES[:5]]
    assert parse_many(texts) == [parse(t) for t in texts]


@pytest.mark.parametrize("bad", ["", "  ", "杭" * 201, "\x00\x01\x02杭州", "Main Street 5", b"abc"])
def test_bad_input(bad: object) -> None:
    with pytest.raises(InvalidInput):
        parse(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        parse_many(["杭州市西湖区", bad])  # type: ignore[list-item]


def test_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(MissingDependency, match="train_parser"):
        parse("杭州市西湖区", model=tmp_path / "absent.crfsuite")


@pytest.mark.shared
def test_naacl_test_micro_f1(shared_dir: Path) -> None:
    from address_registry._parse_data import STRUCTURAL, Score, read_naacl
    from address_registry.normalize import normalize_mapped
    from address_registry.parse import original_entities, tag_mapped

    test = read_naacl(shared_dir / "data" / "address-parsing-naacl2019" / "test.txt")
    assert len(test) == 2985
    pred = []
    for example in test:
        mapped = normalize_mapped(example.text)
        pred.append(original_entities(mapped, tag_mapped(mapped)))
    precision, recall, f1, support = Score.of([e.entities for e in test], pred).prf(STRUCTURAL)
    assert support > 12000
    assert f1 >= 0.90, (precision, recall, f1)


address_text = st.text(
    alphabet="浙江省杭州市西湖区文三路一二三号楼栋幢单元层室弄附近 0123456789-#ＡＢ臺灣",
    min_size=1,
    max_size=60,
).filter(lambda s: any("\u4e00" <= c <= "\u9fff" for c in s))


@settings(max_examples=60, deadline=None)
@given(address_text)
def test_spans_are_ordered_disjoint_slices_of_the_input(text: str) -> None:
    p = parse(text)
    previous_end = 0
    for span in p.spans:
        assert 0 <= previous_end <= span.start < span.end <= len(text)
        assert span.text == text[span.start : span.end]
        assert span.normalized and span.normalized in p.normalized
        previous_end = span.end
