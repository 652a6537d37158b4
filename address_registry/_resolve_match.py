"""Number patterns of the resolver: road numbers, building numbers, unit, floor and room.

All work on the *normalised* text (三号楼 is already 3栋, 十二楼 12层, 七户 7室).
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(\d+)")
_LANE = re.compile(r"(\d+)弄")
_HOUSE = re.compile(r"(\d+)号")
_SUB = re.compile(r"之(\d+)")

#: A road number right after a road name: 126弄9号, 12号之1, 12号, 126弄, or a bare 12.
ROAD_NUMBER = re.compile(
    r"-?(?:(\d+)弄)?(?:(\d+)(?:-\d+)?号|(\d+)(?![\d-]*(?:栋|单元|层|室|弄)))?(?:之(\d+))?"
)
BUILDING_NO = re.compile(r"([0-9]+|[A-Z])栋")
UNIT = re.compile(r"(\d+)单元")
FLOOR = re.compile(r"(?:地下)?(\d+)层")
ROOM = re.compile(r"(\d+)室")
#: 3-2-1201 after an estate or a road number: building-unit-room.
TRIPLE = re.compile(r"(?<![\d-])(\d+)-(\d+)-(\d+)(?![\d-])")


def road_number(parts: dict[str, str], text: str = "") -> tuple[int | None, int | None, int | None]:
    """``(lane, house, sub)`` of parsed road-number components: 126弄9号 → (126, 9, None).

    >>> road_number({"roadno": "126弄", "subroadno": "9号"})
    (126, 9, None)
    >>> road_number({"roadno": "126弄", "building": "9号"})
    (126, 9, None)
    >>> road_number({"roadno": "12号之1"})
    (None, 12, 1)
    >>> road_number({"roadno": "704号"}, "浦东南路704号之1")  # 之1 tagged apart by the model
    (None, 704, 1)
    """
    number = "".join(parts.get(k, "") for k in ("roadno", "subroad", "subroadno"))
    lane = _LANE.search(number)
    house = _HOUSE.search(number)
    if lane and not house and parts.get("building", "").endswith("号"):
        house = _HOUSE.search(parts["building"])  # 126弄 9号: the model calls 9号 a building
    sub = _SUB.search(number)
    if house is None and lane is None:
        bare = _NUMBER.search(number)
        return None, int(bare.group(1)) if bare else None, None
    if sub is None and house is not None:
        sub = re.search(rf"(?<!\d){house.group(1)}号之(\d+)", text)
    return (
        int(lane.group(1)) if lane else None,
        int(house.group(1)) if house else None,
        int(sub.group(1)) if sub else None,
    )


def number_after(text: str, pos: int) -> tuple[int | None, int | None, int | None, int]:
    """``(lane, house, sub, end)`` of the road number written at ``pos`` (all ``None`` if none).

    >>> number_after("汉口路126弄9号3栋", 3)
    (126, 9, None, 9)
    >>> number_after("汉口路12号之1", 3)
    (None, 12, 1, 8)
    >>> number_after("汉口路3栋", 3)
    (None, None, None, 3)
    """
    m = ROAD_NUMBER.match(text, pos)
    if m is None or m.end() == pos or not any(m.groups()):
        return None, None, None, pos
    lane, house, bare, sub = m.groups()
    house = house or bare
    return (
        int(lane) if lane else None,
        int(house) if house else None,
        int(sub) if sub else None,
        m.end(),
    )


def room_parts(text: str) -> tuple[int | None, int | None, int | None]:
    """``(unit, floor, room)`` written in ``text``; the floor of a room ≥ 100 is its hundreds
    when not written.

    >>> room_parts("汉口路12号2单元12层1203室")
    (2, 12, 1203)
    >>> room_parts("3-2-1201")
    (2, 12, 1201)
    >>> room_parts("汉口路12号")
    (None, None, None)
    """
    room_m = ROOM.search(text)
    unit_m = UNIT.search(text)
    floor_m = FLOOR.search(text)
    unit = int(unit_m.group(1)) if unit_m else None
    floor = int(floor_m.group(1)) if floor_m else None
    room = int(room_m.group(1)) if room_m else None
    if room is None:
        triple = TRIPLE.search(text)
        if triple is not None:
            unit, room = int(triple.group(2)), int(triple.group(3))
    if floor_m is not None and floor is not None and floor_m.group(0).startswith("地下"):
        floor += 900
    if room is not None and floor is None and room >= 100:
        floor = room // 100
    return unit, floor, room
