"""Address normaliser: known answers for each rule, offsets that map back, invariants."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from address_registry.normalize import (
    han_to_int,
    normalize,
    normalize_mapped,
    normalize_text,
    normalize_with_offsets,
)
from common.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Chinese numerals before an address marker become digits
        ("三号楼", "3栋"),
        ("十二层", "12层"),
        ("一〇二室", "102室"),
        ("二十一弄", "21弄"),
        ("五单元", "5单元"),
        # a range of numbers written in numerals: both ends convert
        ("南苏州路一六一-一七五号", "南苏州路161-175号"),
        ("第三栋", "3栋"),
        ("一百零八号", "108号"),
        ("绿城二期", "绿城2期"),
        ("三号楼二单元十二层", "3栋2单元12层"),
        # ... but names keep their characters
        ("三里屯", "三里屯"),
        ("五角场", "五角场"),
        ("十六铺", "十六铺"),
        ("梅园二村", "梅园二村"),
        ("八一路", "八一路"),
        ("三门县海游镇", "三门县海游镇"),
        ("三门峡市湖滨区", "三门峡市湖滨区"),
        ("二号桥街道", "二号桥街道"),
        # a numeral right after digits stays a separate number
        ("东方俊园55五单元", "东方俊园55-5单元"),
        # ... unless the digits end a name behind a middle dot (a generated city's road tag)
        ("滇池路·004二三号", "滇池路·00423号"),
        # after a house number, 三门 is a unit door, not 三门县
        ("衡山路一二号三门六〇三", "衡山路12号3门六〇三"),  # no marker after the room
        ("七-0#", "7-0号"),
        ("三门县海游镇人民路八号三门", "三门县海游镇人民路8号3门"),
        # building / unit / floor / room synonyms
        ("10幢5单元1638室", "10栋5单元1638室"),
        ("A座1201", "A栋1201"),
        ("5#楼3单元", "5栋3单元"),
        ("3号楼2门", "3栋2单元"),
        ("3栋2门", "3栋2单元"),
        ("12楼", "12层"),
        ("174-8楼", "174-8层"),
        ("7户", "7室"),
        ("2门", "2门"),
        ("上吴路23弄26号", "上吴路23弄26号"),
        ("步高里", "步高里"),
        ("售楼处", "售楼处"),
        # width, script, spaces, punctuation, noise
        ("３号楼２单元", "3栋2单元"),
        ("ａ座", "A栋"),
        ("臺北市中正區", "台北市中正区"),
        ("杭州市 西湖区，文三路", "杭州市西湖区文三路"),
        ("中山东一路12号附近", "中山东一路12号"),
        ("农村信用社对面往东50米", "农村信用社"),
        ("3—2—1201室", "3-2-1201室"),
    ],
)
def test_known_answers(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_han_to_int() -> None:
    assert [han_to_int(s) for s in ("十", "十二", "二十", "二十一", "一〇二", "两千零五")] == [
        10,
        12,
        20,
        21,
        102,
        2005,
    ]


def test_offsets_map_back_to_the_original() -> None:
    m = normalize_with_offsets("上海 二十一弄三号楼")
    assert m.text == "上海21弄3栋"
    assert m.original_span(2, 5) == (3, 7)  # 21弄 ← 二十一弄
    assert m.original_span(5, 7) == (7, 10)  # 3栋 ← 三号楼
    assert m.original_span(0, 2) == (0, 2)


@pytest.mark.parametrize(
    "bad", ["", "   ", "x" * 201, "hello world", "杭州\x00市", "\ud800汉口路", b"\xe6\x9d\xad"]
)
def test_bad_input_raises(bad: object) -> None:
    with pytest.raises(InvalidInput):
        normalize(bad)  # type: ignore[arg-type]


def test_messages_quote_the_value() -> None:
    with pytest.raises(InvalidInput, match="hello"):
        normalize("hello")
    with pytest.raises(InvalidInput, match="201 characters"):
        normalize("杭" * 201)


address_chars = st.text(
    alphabet="杭州市西湖区文三路一二三四五六七八九十号楼栋幢单元层室弄 0123456789-#", max_size=40
)


@given(address_chars)
@example("七-0#")  # once found: # became 号 only after the numerals were converted
@example("二三号三门六〇三·0一号")
def test_idempotent_and_offsets_monotone(text: str) -> None:
    once = normalize_mapped(text)
    assert normalize_mapped(once.text).text == once.text
    assert len(once.starts) == len(once.ends) == len(once.text)
    assert all(0 <= a < b <= len(text) for a, b in zip(once.starts, once.ends, strict=True))
    assert list(once.starts) == sorted(once.starts)


@given(
    st.text(
        alphabet="上海市黃浦區汉口路第一二三〇两十百号樓栋幢座单元門层室户弄#附近门口对面，。 ０１2-Ａa",
        max_size=40,
    )
)
def test_plain_normaliser_equals_the_mapped_one(text: str) -> None:
    assert normalize_text(text) == normalize_mapped(text).text
