"""Noisy variants of register addresses, from a seed: the test set of the resolver.

:func:`variants` draws buildings of the register and writes each the way people do: levels
dropped (no city, district or street), old or short district names (卢湾区, 黄浦), the building's
name instead of its doorplate, Chinese numerals (八号, 一百二十六弄), one typo in the road, estate
or name (a character replaced or dropped, never the suffix), traditional characters, components
reordered, noise words (附近, 对面), and a room (unit, room). Each variant knows the building and
room it stands for. Used by ``benchmarks/resolve.py``, the calibration and the tests.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import duckdb

_NOISE = ("附近", "对面", "旁边", "隔壁", "门口")
_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True, slots=True)
class Variant:
    """One query with the building (and room) it stands for and the edits that made it."""

    text: str
    building_id: str
    room_id: str | None
    edits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Source:
    building_id: str
    address: str
    city: str
    district: str
    district_alts: tuple[str, ...]
    street: str
    community: str
    road: str
    number: str
    estate: str
    building_no: str
    names: tuple[str, ...]
    rooms: tuple[tuple[str, str], ...]  # (room_id, written "2单元301室")


def han_number(n: int) -> str:
    """Chinese numeral of ``n`` (positional): 8 → 八, 126 → 一百二十六, 20 → 二十.

    >>> han_number(8), han_number(126), han_number(20), han_number(1005)
    ('八', '一百二十六', '二十', '一千零五')
    """
    if n < 10:
        return _DIGITS[n]
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, value)
        if q:
            out += ("" if value == 10 and not out and q == 1 else _DIGITS[q]) + unit
        elif out and n:
            out += "" if out.endswith("零") else "零"
    return out + (_DIGITS[n] if n else "")


def _sources(con: duckdb.DuckDBPyConnection) -> list[_Source]:
    rows = con.execute(
        """
        SELECT b.building_id, b.address, coalesce(d.name, ''), d.code, coalesce(d.short_name, ''),
               coalesce(s.name, ''), coalesce(c.name, ''), coalesce(r.name, ''),
               coalesce(dp.number, ''), coalesce(e.name, ''), coalesce(b.building_no, '')
          FROM buildings b
          LEFT JOIN admin_areas c ON c.code = b.community_code
          LEFT JOIN admin_areas s ON s.code = left(b.community_code, 9)
          LEFT JOIN admin_areas d ON d.code = left(b.community_code, 6)
          LEFT JOIN doorplates dp ON dp.doorplate_id = b.doorplate_id
          LEFT JOIN roads r ON r.road_code = dp.road_code
          LEFT JOIN estates e ON e.estate_id = b.estate_id
         WHERE b.status = 'active' AND b.address IS NOT NULL
         ORDER BY b.building_id
        """
    ).fetchall()
    old: dict[str, list[str]] = defaultdict(list)
    for code, alias in con.execute(
        "SELECT code, alias FROM admin_aliases WHERE kind = 'old_name' ORDER BY 1, 2"
    ).fetchall():
        old[code].append(alias)
    names: dict[str, list[str]] = defaultdict(list)
    for bid, alias in con.execute(
        """
        WITH n AS (SELECT building_id, alias FROM building_aliases
                    WHERE kind IN ('name', 'poi', 'old_name') AND length(alias) >= 3
                      AND regexp_matches(alias, '[\u4e00-\u9fff]'))
        SELECT building_id, alias FROM n
         WHERE alias IN (SELECT alias FROM n GROUP BY alias HAVING count(DISTINCT building_id) = 1)
         ORDER BY 1, 2
        """
    ).fetchall():
        names[bid].append(alias)
    rooms: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for room_id, bid, unit, room in con.execute(
        """
        SELECT room_id, building_id, CAST(unit AS INTEGER), CAST(room AS INTEGER) FROM (
            SELECT *, row_number() OVER (PARTITION BY building_id ORDER BY hash(room_id)) AS k
              FROM rooms WHERE status = 'active' AND CAST(floor AS INTEGER) < 900)
         WHERE k <= 3 ORDER BY 1
        """
    ).fetchall():
        rooms[bid].append((room_id, (f"{unit}单元" if unit else "") + f"{room}室"))
    out = []
    for bid, address, dname, dcode, dshort, sname, cname, road, number, estate, bno in rows:
        city = address.split(dname, 1)[0] if dname and dname in address else ""
        out.append(
            _Source(
                bid,
                address,
                city,
                dname,
                tuple(old.get(dcode or "", [])) + ((dshort,) if dshort else ()),
                sname,
                cname,
                road,
                number,
                estate,
                bno,
                tuple(names.get(bid, [])),
                tuple(rooms.get(bid, [])),
            )
        )
    return out


@lru_cache(maxsize=1)
def _traditional() -> object:
    import opencc

    return opencc.OpenCC("s2t")


def _typo(name: str, rng: random.Random, pool: str) -> str:
    """One Chinese character of ``name`` replaced or dropped, never its last (the suffix 路,
    小区 ...), nor a latin letter or digit."""
    han = [i for i, c in enumerate(name) if "\u4e00" <= c <= "\u9fff"]
    places = han[:-1]
    if len(han) < 3 or not places:
        return name
    i = rng.choice(places)
    if len(han) >= 4 and rng.random() < 0.3:
        return name[:i] + name[i + 1 :]
    new = rng.choice(pool)
    while new == name[i]:
        new = rng.choice(pool)
    return name[:i] + new + name[i + 1 :]


def _numerals(number: str) -> str:
    out, digits = "", ""
    for c in number + " ":
        if c.isdigit():
            digits += c
            continue
        if digits:
            out += han_number(int(digits))
            digits = ""
        out += c
    return out.rstrip()


def _one(src: _Source, rng: random.Random, pool: str, clean: bool) -> Variant:
    edits: list[str] = []
    room_id = None
    if clean or not (src.road or src.estate or src.names):
        text = src.address
        if src.rooms and rng.random() < 0.25:
            room_id, written = rng.choice(src.rooms)
            text += written
        return Variant(text, src.building_id, room_id, ("clean",) if room_id is None else ("room",))
    city = "" if rng.random() < 0.6 else src.city
    if city == "":
        edits.append("no_city")
    district = src.district
    r = rng.random()
    if r < 0.4:
        district = ""
        edits.append("no_district")
    elif r < 0.6 and src.district_alts:
        district = rng.choice(src.district_alts)
        edits.append("old_or_short_district")
    street = src.street
    if rng.random() < 0.5:
        street = ""
        edits.append("no_street")
    road, number, estate, bno = src.road, src.number, src.estate, src.building_no
    use_name = bool(src.names) and rng.random() < 0.35
    if number and "-" not in number and rng.random() < 0.3:
        number = _numerals(number)
        edits.append("han_numerals")
    if road and rng.random() < 0.2 and not use_name:
        road = _typo(road, rng, pool)
        edits.append("road_typo")
    if estate and rng.random() < 0.25:
        estate = _typo(estate, rng, pool)
        edits.append("estate_typo")
    place = road + number
    if estate:
        building = f"{bno}号楼" if bno else ""
        if rng.random() < 0.3:
            building = f"{_numerals(bno)}号楼" if bno.isdigit() else building
        place = (place if rng.random() < 0.5 else "") + estate + building
        if not place.startswith(road) or not road:
            edits.append("estate_without_road")
    if use_name:
        name = rng.choice(src.names)
        if rng.random() < 0.15:
            name = _typo(name, rng, pool)
            edits.append("name_typo")
        place = name
        edits.append("name_not_doorplate")
    admin = city + district + street
    text = place + admin if admin and rng.random() < 0.15 else admin + place
    if text.startswith(place) and admin:
        edits.append("reordered")
    if src.rooms and rng.random() < 0.25:
        room_id, written = rng.choice(src.rooms)
        text += written
        edits.append("room")
    if rng.random() < 0.15:
        text += rng.choice(_NOISE)
        edits.append("noise")
    if rng.random() < 0.15:
        text = _traditional().convert(text)  # type: ignore[attr-defined]
        edits.append("traditional")
    return Variant(text, src.building_id, room_id, tuple(edits))


def variants(
    con: duckdb.DuckDBPyConnection, n: int, seed: int, *, clean: bool = False
) -> list[Variant]:
    """``n`` variants of register addresses drawn with ``seed`` (``clean``: as registered,
    sometimes with a room)."""
    sources = _sources(con)
    if not sources:
        return []
    rng = random.Random(seed)
    pool = "".join(
        sorted({c for s in sources for c in s.road[:-1] + s.estate if "\u4e00" <= c <= "\u9fff"})
    )
    pool = pool or "东西南北中"
    return [_one(rng.choice(sources), rng, pool, clean) for _ in range(n)]


def clean_addresses(con: duckdb.DuckDBPyConnection) -> list[Variant]:
    """Every active building's own address, once."""
    return [Variant(s.address, s.building_id, None, ("clean",)) for s in _sources(con)]
