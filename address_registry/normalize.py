"""Address normaliser: one canonical spelling per address, with offsets back to the input.

Steps, in order (see ``docs/resolution.md`` for the rules and the tricky cases):

1. full-width → half-width, dash variants → ``-``, latin letters upper case (one to one);
2. traditional → simplified Chinese (OpenCC ``t2s``, offline);
3. spaces, punctuation and noise words (附近, 旁边, 对面, 隔壁, 门口, 往东50米 ...) removed;
4. Chinese numerals → digits *only before an address marker* (号 弄 栋 幢 座 楼 单元 层 室 户 门
   巷 期), with an optional 第 dropped: 三号楼 → 3号楼, 第三栋 → 3栋, 二十一弄 → 21弄,
   一〇二室 → 102室; after a digit a hyphen keeps the numbers apart (55五单元 → 55-5单元),
   except after digits that end a name behind a middle dot (滇池路·004二三号 → 滇池路·00423号).
   Place names keep their characters: 三里屯, 五角场, 十六铺, 梅园二村 have no
   marker after the numeral, and division names that do (三门县, 三门峡市) are protected
   before the house number (after it, 二三号三门六〇三 → 23号3门603);
5. synonyms after a number: 号楼/幢/座/#楼 → 栋 (building), 栋N门 → 栋N单元 (unit),
   N楼 → N层 (floor; 号楼 is already 栋 by then), N户 → N室 (room), N# → N号.
   弄, 巷 and 里 stay distinct.

>>> normalize("浙江省杭州市 三号樓二單元十二楼一〇二室")
'浙江省杭州市3栋2单元12层102室'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TypeVar

from address_registry._parse_edits import Mapped
from address_registry._parse_gazetteer import gazetteer
from common.errors import InvalidInput

#: Longest input accepted by the public functions (real addresses are far shorter).
MAX_LENGTH = 200

_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_WIDTH.update({0x3000: 0x20, 0x2014: 0x2D, 0x2013: 0x2D, 0x2212: 0x2D, 0x2015: 0x2D, 0xFF5E: 0x7E})
_WIDTH.update({c: c - 32 for c in range(ord("a"), ord("z") + 1)})
# Full-width lower case latin letters go to upper case directly.
_WIDTH.update({c: c - 0xFEE0 - 32 for c in range(0xFF41, 0xFF5B)})
_TRANSLATE = str.maketrans(_WIDTH)

_HAN_NUM = "零〇一二两三四五六七八九十百千"
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGIT.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
_UNIT = {"十": 10, "百": 100, "千": 1000}
_MARKERS = "号|弄|栋|幢|座|楼|单元|层|室|户|门|巷|期"

_DROP = re.compile(
    r"[\s,.;:!?'\"，。、；：！？“”‘’「」《》【】]+"
    r"|斜?对面|附近|旁边|隔壁|边上|门口"
    r"|往?[东南西北]{1,2}(?:方向)?约?\d+(?:米|M)(?:处|左右)?"
)
# a numeral before a marker, or before "-numeral marker" (a range: 一六一-一七五号 → 161-175号)
# (# is 号 after a number: 七# → 7号, 七-0# → 7-0号)
_NUMERAL = re.compile(
    rf"(第)?([{_HAN_NUM}]+)(?=(?:{_MARKERS}|#)|-[{_HAN_NUM}0-9]+(?:{_MARKERS}|#))"
)
_MARKER_AT = re.compile(_MARKERS)
#: A house, lane or building number (digits or numerals): no division name comes after it.
_NUMBERED = re.compile(rf"[0-9{_HAN_NUM}](?:号|弄|栋|幢|座)")
#: Digits ending a name behind a middle dot (a generated city's road tag, 滇池路·004).
_NAME_TAG_END = re.compile(r"·[0-9]+$")
_BUILDING = re.compile(r"(?<=[0-9A-Z])(?:号楼|#楼|幢|座)")
_HASH = re.compile(r"(?<=[0-9])#")
_UNIT_DOOR = re.compile(r"(?<=栋)(\d+)(门)")
_FLOOR = re.compile(r"(?<![0-9A-Z.])(\d+)(楼)(?!盘|宇)")
_ROOM = re.compile(r"(?<=[0-9])户")


@lru_cache(maxsize=8192)
def han_to_int(numeral: str) -> int:
    """Value of a Chinese numeral: positional (二十一, 一百零八) or digit by digit (一〇二).

    >>> [han_to_int(s) for s in ("十", "十二", "二十一", "一百零八", "一〇二", "两千")]
    [10, 12, 21, 108, 102, 2000]
    """
    if not any(c in _UNIT for c in numeral):
        return int("".join(str(_DIGIT[c]) for c in numeral))
    total = 0
    current = 0
    for c in numeral:
        if c in _UNIT:
            total += (current or 1) * _UNIT[c]
            current = 0
        else:
            current = _DIGIT[c]
    return total + current


@lru_cache(maxsize=1)
def _protected() -> re.Pattern[str]:
    """Division names with a numeral before a marker (三门县): never converted."""
    hits = {"三门"}  # 三门县 (Taizhou) is often written without its suffix
    for name, tags in gazetteer().items():
        m = _NUMERAL.search(name)
        if m is None:
            continue
        marker = _MARKER_AT.match(name, m.end())
        goes_on = marker is not None and marker.end() < len(name)
        # Full names always; short forms only when the name goes on after the marker
        # (三门峡, 二号桥), never a bare 三号 or 七户 left by stripping 乡/镇.
        if goes_on or any(t.isupper() for t in tags):
            hits.add(name)
    alternation = "|".join(sorted((re.escape(h) for h in hits), key=len, reverse=True))
    return re.compile(alternation)


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    if text.isascii():
        return text
    converter = _converter()
    out: str = converter.convert(text)  # type: ignore[attr-defined]
    if len(out) == len(text):
        return out
    # A phrase rule changed the length: fall back to character by character (keeps the map).
    return "".join(converter.convert(c) or c for c in text)  # type: ignore[attr-defined]


def _numeral_edits(text: str) -> list[tuple[int, int, str]]:
    matches = list(_NUMERAL.finditer(text))
    if not matches:
        return []
    # division names come before the house number: 三门 after it is a unit door
    guarded = [
        m.span() for m in _protected().finditer(text) if not _NUMBERED.search(text, 0, m.start())
    ]
    edits = []
    for m in matches:
        a, b = m.span()
        if any(a < g1 and g0 < b for g0, g1 in guarded):
            continue
        if a and text[a - 1].isdigit() and not _NAME_TAG_END.search(text, 0, a):
            edits.append((a, a, "-"))  # 55五单元 → 55-5单元, not 555单元
        edits.append((a, b, str(han_to_int(m.group(2)))))
    return edits


def _group_edits(pattern: re.Pattern[str], text: str, new: str) -> list[tuple[int, int, str]]:
    """Replace the marker group (the last non-empty group, or the whole match) by ``new``."""
    edits = []
    for m in pattern.finditer(text):
        if m.lastindex is None:
            edits.append((m.start(), m.end(), new))
        else:
            edits.append((m.start(m.lastindex), m.end(m.lastindex), new))
    return edits


class _Plain:
    """A string without an offset map: the same edits as :class:`Mapped`, only the text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def apply(self, edits: Iterable[tuple[int, int, str]]) -> _Plain:
        out: list[str] = []
        pos = 0
        for a, b, new in edits:
            if a < pos:
                continue  # overlapping edit: the first one wins (as Mapped.apply)
            out += (self.text[pos:a], new)
            pos = b
        if not out:
            return self
        out.append(self.text[pos:])
        return _Plain("".join(out))


_Doc = TypeVar("_Doc", Mapped, _Plain)


def _normalized(doc: _Doc) -> _Doc:
    """Steps 3–5 of the module docstring on an already simplified text."""
    doc = doc.apply((m.start(), m.end(), "") for m in _DROP.finditer(doc.text))
    doc = doc.apply(_numeral_edits(doc.text))
    for pattern, new in (
        (_BUILDING, "栋"),
        (_HASH, "号"),
        (_UNIT_DOOR, "单元"),
        (_FLOOR, "层"),
        (_ROOM, "室"),
    ):
        if pattern.search(doc.text):
            doc = doc.apply(_group_edits(pattern, doc.text, new))
    return doc


def normalize_mapped(text: str) -> Mapped:
    """Normalise ``text`` without validation, keeping the offset map (used at train time too)."""
    return _normalized(Mapped.identity(_to_simplified(text.translate(_TRANSLATE))))


def normalize_text(text: str) -> str:
    """Normalise ``text`` without validation: ``normalize_mapped(text).text`` without the map
    (the resolver's hot path).

    >>> normalize_text("三号樓二單元十二楼一〇二室附近") == normalize_mapped("三号樓二單元十二楼一〇二室附近").text
    True
    """
    return _normalized(_Plain(_to_simplified(text.translate(_TRANSLATE)))).text


#: Control characters (tab, line feed and carriage return allowed), DEL, U+FFFD, lone surrogates.
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ud800-\udfff]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def validate(text: object) -> str:
    """Return ``text`` when it can be an address; raise :class:`InvalidInput` otherwise.

    >>> validate("hello")
    Traceback (most recent call last):
    ...
    common.errors.InvalidInput: address 'hello' contains no Chinese character
    """
    if isinstance(text, bytes | bytearray):
        raise InvalidInput(f"address must be text, got bytes {bytes(text[:20])!r}")
    if not isinstance(text, str):
        raise InvalidInput(f"address must be text, got {type(text).__name__} {text!r:.40}")
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"address is empty: {text!r}")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(
            f"address has {len(text)} characters, more than {MAX_LENGTH}: {text[:30]!r}..."
        )
    if bad := _BAD.findall(text):
        raise InvalidInput(
            f"address contains control or binary characters {bad[:5]!r}: {text!r:.60}"
        )
    if _HAN.search(text) is None:
        raise InvalidInput(f"address {text!r:.60} contains no Chinese character")
    return text


def normalize(text: str) -> str:
    """Return the canonical spelling of an address.

    Raises
    ------
    InvalidInput
        For empty, over-long (> 200 characters), binary or non-Chinese input.

    >>> normalize("彭埠镇环站东路新和嘉苑10幢5单元1638室")
    '彭埠镇环站东路新和嘉苑10栋5单元1638室'
    """
    return normalize_mapped(validate(text)).text


def normalize_with_offsets(text: str) -> Mapped:
    """Like :func:`normalize`, also returning per character the original ``[start, end)``.

    >>> m = normalize_with_offsets("二十一弄 3号")
    >>> m.text, m.original_span(0, 3)
    ('21弄3号', (0, 4))
    """
    return normalize_mapped(validate(text))
