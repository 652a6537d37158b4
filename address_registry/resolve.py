"""Resolve free text to buildings and rooms of the register, with a calibrated confidence.

``resolve(con, q)`` answers one query, ``resolve_many(con, texts)`` a batch (≤ 10,000). Both use
the in-memory index of the store (:func:`index_for`, built once per store and cached by the
register's data version): no SQL on the hot path (rooms are verified by binary search in the index's room array).

Retrieval, in two passes over the *normalised* text:

1. **exact scan** — every admin name or alias (incl. old names such as 卢湾区), road name or
   alias, estate name and building name/alias written anywhere in the text, in any order; a
   road is followed by its number (126弄9号, 12号之1), an estate by a building number (3栋 or
   3-2-1201), a room by unit/floor/room. This is the fast path: no parser.
2. **fuzzy** — only when pass 1 found no building by name, estate+number or exact doorplate: the
   CRF parser (:mod:`address_registry.parse`, cached per string) labels the road and POI, which
   are matched by edit distance (rapidfuzz) against road, estate and building names, restricted
   to the district written when there is one.

Scores per way: whole standard address 0.95, exact doorplate 0.92, 之-less plate 0.80, a range
covering the number 0.85, the nearest number on the road 0.50 − 0.02 × gap (level
``doorplate``); estate + building number 0.88, estate alone 0.40; building name 0.80; a fuzzy
match multiplies by 0.75 × its similarity. Two ways to the same building add 0.04 each. An admin
area written that contains the building adds 0.03; one that does not halves the score (raw
scores may pass 1). The raw score, less a tie penalty when another building is within 0.10, is
mapped to a confidence in [0, 1] by the shipped isotonic calibration
(:mod:`address_registry._resolve_calibrate`). ``ambiguous`` is true when the best two buildings
are within :data:`AMBIGUOUS_GAP`. A retired building answers with its current successors.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

import duckdb

from address_registry import _resolve_match as m
from address_registry._resolve_calibrate import calibrate
from address_registry._resolve_index import (
    RESOLVE_INDEX,
    Admin,
    Building,
    ResolveIndex,
    all_scanner,
    existing_rooms,
    index_for,
)
from address_registry.normalize import MAX_LENGTH, han_to_int, normalize_text, validate
from address_registry.parse import ParsedAddress, parse
from common.errors import InvalidInput

__all__ = [
    "AMBIGUOUS_GAP",
    "BEST_COLUMNS",
    "MAX_BATCH",
    "RESOLVE_INDEX",
    "best_candidates",
    "index_for",
    "resolve",
    "resolve_many",
    "unresolved_reason",
]

#: Most texts in one :func:`resolve_many` call.
MAX_BATCH = 10_000
#: The best two buildings closer than this (raw score) make the answer ambiguous.
AMBIGUOUS_GAP = 0.05
_TIE = 0.10
_ADMIN_SCORE = {"community": 0.30, "street": 0.20, "district": 0.10}
_ADMIN_RANK = {"district": 1, "street": 2, "community": 3}
_FUZZY_ROAD = 60.0
_FUZZY_NAME = 65.0
_CITY_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}省)?(?:[\u4e00-\u9fff]{2,4}市)?")
_FUZZY = 0.75  # a fuzzy match scores below every exact way of the same kind
_SUB_HAN = re.compile(r"(?<=号)之([一二三四五六七八九十]+)")


@dataclass(slots=True)
class _Cand:
    building_id: str
    score: float = 0.0
    level: str = "building"
    ways: set[str] = field(default_factory=set)
    matched: dict[str, Any] = field(default_factory=dict)

    def add(self, way: str, score: float, level: str, matched: dict[str, Any]) -> None:
        if self.ways and way not in self.ways:
            self.score = max(self.score, score) + 0.04  # a raw score, may pass 1
        elif score > self.score:
            self.score = score
        if level == "building" or not self.ways:
            self.level = level
        self.ways.add(way)
        for key, value in matched.items():
            self.matched.setdefault(key, value)


@dataclass
class _Pending:
    query: str
    normalized: str
    ranked: list[_Cand]  # the best ones (at most _KEEP)
    scores: tuple[float, ...]  # of every candidate, best first
    admin_answer: dict[str, Any] | None
    room: tuple[int | None, int | None, int | None]
    room_ids: dict[str, list[str]] = field(default_factory=dict)


@lru_cache(maxsize=65_536)
def _parse(text: str) -> ParsedAddress:
    return parse(text)


#: A short name or alias followed by one of these is another place's name with its own suffix
#: (北京 of 北京居委会 in 北京市, 汉口 in 汉口路): never read an admin area out of it.
_NAME_SUFFIXES = frozenset("省市区县镇乡村路街道巷弄里")


def _named(idx: ResolveIndex, name: str) -> tuple[bool, bool]:
    """Whether one / all of the areas of the admin name or alias ``name`` are written by name."""
    named = idx.admin_named.get(name)
    if named is None:
        vias = [x.via == "name" for x in idx.admins[name]]
        named = idx.admin_named[name] = (any(vias), all(vias))
    return named


def _hits(idx: ResolveIndex, t: str) -> list[tuple[int, int, str, str]]:
    if idx.all_scan is None:
        idx.all_scan = all_scanner(idx)
    admin_found, road_found, estate_found, name_found = idx.all_scan.find(t)
    hits = [
        (a, b, "admin", n)
        for a, b, n in admin_found
        if b >= len(t) or t[b] not in _NAME_SUFFIXES or _named(idx, n)[0]
    ]
    roads = [(a, b, "road", n) for a, b, n in road_found]
    if roads and hits:
        road_spans = {(a, b) for a, b, _, _ in roads}
        # 南京东路 is a road and the short name of 南京东路街道: the road wins
        hits = [h for h in hits if (h[0], h[1]) not in road_spans or _named(idx, h[3])[1]]
    hits += roads
    hits += [(a, b, "estate", n) for a, b, n in estate_found]
    hits += [(a, b, "name", n) for a, b, n in name_found]
    # less the hits inside a longer one (上港小区 in 上港小区13栋: both, estate and name)
    kept = []
    for h in hits:
        a, b, kind = h[0], h[1], h[2]
        for o in hits:
            if (
                o[0] <= a
                and b <= o[1]
                and o[1] - o[0] > b - a
                and not (kind == "estate" and o[2] == "name")
            ):
                break
        else:
            kept.append(h)
    return kept


def _plates(
    idx: ResolveIndex,
    codes: Iterable[str],
    lane: int | None,
    house: int | None,
    sub: int | None,
) -> list[tuple[str, float, str, str]]:
    """``(building_id, score, number, level)`` of the plates for a number on roads ``codes``."""
    out: list[tuple[str, float, str, str]] = []
    if house is None and lane is None:
        return out
    for code in codes:
        table = idx.plates.get(code)
        if not table:
            continue
        exact = table.get((lane, house, sub))
        if exact:
            out += [(p.building_id, 0.92, p.number, "building") for p in exact]
            continue
        if sub is not None and table.get((lane, house, None)):
            out += [(p.building_id, 0.80, p.number, "building") for p in table[(lane, house, None)]]
            continue
        ranged = [
            p
            for p in idx.ranges.get(code, ())
            if p.lane == lane
            and house is not None
            and p.house is not None
            and p.hi is not None
            and p.house <= house <= p.hi
        ]
        if ranged:
            out += [(p.building_id, 0.85, p.number, "building") for p in ranged]
            continue
        near = sorted(
            (abs((k[1] or 0) - (house or 0)) + abs((k[0] or 0) - (lane or 0)), n, k)
            for n, k in enumerate(table)
            if (lane is None or k[0] == lane or house is None)
        )[:2]
        for gap, _, key in near:
            for p in table[key]:
                score = max(0.10, 0.50 - 0.02 * gap)
                out.append((p.building_id, score, p.number, "doorplate"))
    return out


def _plates_trimmed(
    idx: ResolveIndex,
    codes: Iterable[str],
    lane: int | None,
    house: int | None,
    sub: int | None,
) -> tuple[list[tuple[str, float, str, str]], int]:
    """:func:`_plates`, reading 之11 as 之1 (+ the digits of a unit or room written right after,
    58号之11单元) when only the shorter number is an exact plate; also the digits given back."""
    plates = _plates(idx, codes, lane, house, sub)
    trimmed, cut = sub, 0
    while trimmed is not None and trimmed >= 10 and not any(x[1] > 0.9 for x in plates):
        trimmed, cut = trimmed // 10, cut + 1
        shorter = _plates(idx, codes, lane, house, trimmed)
        if any(x[1] > 0.9 for x in shorter):
            return shorter, cut
    return plates, 0


def _district_filter(idx: ResolveIndex, codes: set[str], admins: list[Admin]) -> set[str]:
    districts = {a.code for a in admins if a.level == "district"}
    if not districts:
        return codes
    kept = {c for c in codes if idx.road_district.get(c) in districts}
    return kept or codes


def _area_filter(idx: ResolveIndex, estate_ids: set[str], admins: list[Admin]) -> set[str]:
    """The estates of that name inside the most specific area written (street, else district);
    all of them when none is (an estate name recurs across a city: 幸福小区)."""
    for level in ("community", "street", "district"):
        codes = tuple(a.code for a in admins if a.level == level)
        if codes:
            kept = {e for e in estate_ids if idx.estate_community.get(e, "").startswith(codes)}
            if kept:
                return kept
    return estate_ids


def _estate_buildings(
    idx: ResolveIndex, estate_ids: Iterable[str], number: str | None
) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    for eid in sorted(estate_ids):
        per_no = idx.estate_buildings.get(eid, {})
        if number is not None and number in per_no:
            out += [(bid, 0.88, number) for bid in per_no[number]]
        out += [(bid, 0.40, no) for no, bids in per_no.items() for bid in bids if no != number][:30]
    return out


def _collect(
    idx: ResolveIndex, t: str
) -> tuple[dict[str, _Cand], list[Admin], tuple[str, ...], int]:
    """Candidates of the (building part of the) normalised text ``t``, the admin areas written
    and their names, and where the room part may start."""
    found: dict[str, _Cand] = {}

    def add(bid: str, way: str, score: float, level: str, matched: dict[str, Any]) -> None:
        cand = found.get(bid)
        if cand is None:  # as _Cand(bid).add(...); ``matched`` is always a new dict
            found[bid] = _Cand(bid, score if score > 0.0 else 0.0, level, {way}, matched)
        else:
            cand.add(way, score, level, matched)

    for bid in idx.addresses.get(t, ()):
        add(bid, "address", 0.95, "building", {"address": t})
    hits = _hits(idx, t)
    names = tuple(h[3] for h in hits if h[2] == "admin")
    admins = _admin_plan(idx, names)[0] if names else []
    road_only: list[tuple[str, set[str]]] = []
    room_from = 0
    for _, b, kind, name in hits:
        if kind == "road":
            lane, house, sub, end = m.number_after(t, b)
            codes = _district_filter(idx, idx.roads[name], admins)
            plates, cut = _plates_trimmed(idx, codes, lane, house, sub)
            end -= cut
            if plates:
                room_from = max(room_from, end)
            for bid, score, number, level in plates:
                add(bid, "doorplate", score, level, {"road": name, "doorplate": number})
            if not plates:
                road_only.append((name, codes))
        elif kind == "estate":
            tail = t[b:]
            bno = m.BUILDING_NO.search(tail)
            triple = m.TRIPLE.search(tail)
            written_no = bno.group(1) if bno else triple.group(1) if triple else None
            estates = _area_filter(idx, idx.estates[name], admins)
            for bid, score, no in _estate_buildings(idx, estates, written_no):
                add(bid, "estate", score, "building", {"estate": name, "building_no": no})
        elif kind == "name":
            for bid in sorted(idx.names[name]):
                add(bid, "name", 0.80, "building", {"name": name})
    if not any(c.score >= 0.80 for c in found.values()):
        residual = t
        for a, b, kind, _ in sorted(hits, reverse=True):
            if kind == "admin":
                residual = residual[:a] + residual[b:]
        room_from = max(room_from, _fuzzy(idx, t, admins, add, residual))
    if not found and road_only:
        for name, codes in road_only:
            add("road:" + sorted(codes)[0], "road", 0.25, "road", {"road": name})
    return found, admins, names, room_from


def _fuzzy(
    idx: ResolveIndex,
    t: str,
    admins: list[Admin],
    add: Callable[[str, str, float, str, dict[str, Any]], None],
    residual: str = "",
) -> int:
    """Fuzzy candidates from the parsed road and POI (and, with no road, from ``residual``: the
    text less the admin names, 明乐榭 in 南市区明乐榭); returns where the room part may start."""
    room_from = 0
    parsed = _parse(t)  # the normalised text (之一 → 之1 done): normalising again is a no-op
    parts = {
        k: v
        for k in ("road", "roadno", "subroad", "subroadno", "building")
        if (v := getattr(parsed, k))
    }
    if parsed.road and parsed.road not in idx.roads:
        lane, house, sub = m.road_number(parts, parsed.normalized)
        districts = {a.code for a in admins if a.level == "district"}
        allowed = (
            set().union(*(idx.district_roads.get(d, set()) for d in districts))
            if districts
            else None
        )
        found = idx.road_fuzzy.extract(parsed.road, limit=5, cutoff=_FUZZY_ROAD, allowed=allowed)
        if allowed and not found:
            found = idx.road_fuzzy.extract(parsed.road, limit=5, cutoff=_FUZZY_ROAD)
        for name, sim in found:
            codes = _district_filter(idx, idx.roads[name], admins)
            plates, cut = _plates_trimmed(idx, codes, lane, house, sub)
            if plates and sub is not None and (at := t.find(f"号之{sub}")) >= 0:
                room_from = max(room_from, at + 2 + len(str(sub)) - cut)
            for bid, score, number, level in plates:
                matched = {"road": name, "road_written": parsed.road, "doorplate": number}
                add(bid, "doorplate", score * _FUZZY * sim / 100, level, matched)
    building_no: str | None = None
    if parsed.building and (digits := re.search(r"\d+|[A-Z]", parsed.building)):
        building_no = digits.group()
    residual = _CITY_PREFIX.sub("", residual)
    extra = [residual] if not parsed.road and 2 <= len(residual) <= 12 else []
    for poi in dict.fromkeys(v for v in (parsed.poi, parsed.subpoi, *extra) if v):
        if poi in idx.estates or poi in idx.names:
            continue
        for name, sim in idx.estate_fuzzy.extract(poi, limit=3, cutoff=_FUZZY_NAME):
            for bid, score, no in _estate_buildings(
                idx, _area_filter(idx, idx.estates[name], admins), building_no
            ):
                matched = {"estate": name, "estate_written": poi, "building_no": no}
                add(bid, "estate", score * _FUZZY * sim / 100, "building", matched)
        for name, sim in idx.name_fuzzy.extract(poi, limit=3, cutoff=_FUZZY_NAME):
            for bid in sorted(idx.names[name]):
                add(
                    bid,
                    "name",
                    0.80 * _FUZZY * sim / 100,
                    "building",
                    {"name": name, "name_written": poi},
                )
    return room_from


#: Communities remembered in :attr:`ResolveIndex.admin_memo`, all admin names together.
_ADMIN_MEMO = 200_000

_AdminPlan = tuple[
    list[Admin],
    list[tuple[str, list[Admin]]],
    dict[str, list[str]],
    dict[str, list[tuple[str, Admin | None, dict[str, Any]]]],
]


def _admin_plan(idx: ResolveIndex, names: tuple[str, ...]) -> _AdminPlan:
    """The areas of the admin ``names`` written (never to be changed), the same by level, their
    codes per level, and (filled by :func:`_admin_adjust`) per community the first area of each
    level that contains it; remembered per index (many texts write the same areas)."""
    plan: _AdminPlan | None = idx.admin_memo.get(names)
    if plan is None:
        if idx.admin_memo_size >= _ADMIN_MEMO:
            idx.admin_memo.clear()
            idx.admin_memo_size = 0
        admins = [a for n in names for a in idx.admins[n]]
        by_level: dict[str, list[Admin]] = {}
        for a in admins:
            by_level.setdefault(a.level, []).append(a)
        levels = sorted(by_level.items())
        conflicts = {level: sorted({o.code for o in options}) for level, options in levels}
        plan = idx.admin_memo[names] = (admins, levels, conflicts, {})
        idx.admin_memo_size += 1
    return plan


def _admin_adjust(
    idx: ResolveIndex, found: dict[str, _Cand], admins: list[Admin], names: tuple[str, ...]
) -> None:
    """Scores and ``matched`` of the candidates for the admin areas written (``admins``, of the
    admin ``names`` written): +0.03 per level where one contains the building, else halved."""
    if not admins:
        return
    _, levels, conflicts, per_community = _admin_plan(idx, names)
    buildings = idx.buildings
    for cand in found.values():
        b = buildings.get(cand.building_id)
        community = b.community if b is not None else ""
        inside_at = per_community.get(community)
        if inside_at is None:
            inside_at = per_community[community] = []
            idx.admin_memo_size += 1
            for level, options in levels:
                first = None
                for o in options:
                    if community.startswith(o.code):
                        first = o
                        break
                value: dict[str, Any] = (
                    {"conflict": conflicts[level]}
                    if first is None
                    else {"code": first.code, "name": first.name, "via": first.via}
                )
                inside_at.append((level, first, value))
        # ``value`` is shared by the candidates: :func:`_answer` hands out copies
        for level, inside, value in inside_at:
            if inside is not None:
                cand.score = cand.score + 0.03
                cand.matched[level] = value
            elif b is not None:
                cand.score *= 0.5
                cand.matched[level] = value


def _successors(idx: ResolveIndex, found: dict[str, _Cand]) -> dict[str, _Cand]:
    """Retired buildings replaced by their current successors (a demolished one stays)."""
    if idx.retired is None:
        idx.retired = frozenset(b for b, v in idx.buildings.items() if v.status == "retired")
    if idx.retired.isdisjoint(found):
        return found  # nothing retired: the same candidates in the same order
    out: dict[str, _Cand] = {}
    buildings = idx.buildings
    for bid, cand in found.items():
        b = buildings.get(bid)
        if b is None or b.status != "retired":
            out.setdefault(bid, cand)
            continue
        if not idx.successors.get(bid):
            cand.score *= 0.5
            cand.matched["retired"] = {"successors": []}
            out.setdefault(bid, cand)
            continue
        for succ in idx.successors[bid]:
            new = _Cand(succ, cand.score * 0.97, cand.level, set(cand.ways), dict(cand.matched))
            new.matched["successor_of"] = bid
            if succ not in out or out[succ].score < new.score:
                out[succ] = new
    return out


#: A room written after the building's number (号 / 栋): unit (2单元, 2门, 2-), floor, room.
_ROOM_TAIL = re.compile(r"(?<=[号栋])(?:\d{1,2}(?:单元|门|-))?(?:(?:地下)?\d{1,3}层)?\d{1,4}室?$")
#: Candidates remembered per index, all building parts together (cleared when full: ~1 KB each).
_MEMO_CANDIDATES = 300_000
#: Candidates kept per building part: the most an answer lists (``limit`` ≤ 100).
_KEEP = 100

_Located = tuple[list[_Cand], tuple[float, ...], dict[str, Any] | None, int]


def _building_part(t: str) -> str:
    """``t`` less a room written at its end after 号 or 栋: what locates the building.

    >>> _building_part("汉口路12号2单元12层1203室"), _building_part("上港小区3栋1单元103室")
    ('汉口路12号', '上港小区3栋')
    >>> _building_part("汉口路12号之1"), _building_part("汉口路12号")
    ('汉口路12号之1', '汉口路12号')
    """
    tail = _ROOM_TAIL.search(t)
    return t[: tail.start()] if tail else t


_BY_ID = attrgetter("building_id")
_BY_SCORE = attrgetter("score")


def _locate(idx: ResolveIndex, key: str) -> _Located:
    """Ranked buildings, the admin answer and where the room part may start, for the building
    part ``key``; remembered per index (many rooms of one building share it; never mutated)."""
    memo = idx.memo
    if (hit := memo.get(key)) is not None:
        return hit
    found, admins, names, room_from = _collect(idx, key)
    found = _successors(idx, found)
    _admin_adjust(idx, found, admins, names)
    # by score, best first, then building ID (a stable sort keeps the order of equal scores)
    ranked = sorted(found.values(), key=_BY_ID)
    ranked.sort(key=_BY_SCORE, reverse=True)
    admin_answer = None
    if not ranked and admins:
        best = max(admins, key=lambda a: (_ADMIN_RANK[a.level], a.code))
        name, lon, lat = idx.admin_centres.get(best.code, (best.name, None, None))
        admin_answer = {
            "building_id": None,
            "room_id": None,
            "level": best.level,
            "confidence": _ADMIN_SCORE[best.level],
            "address": name,
            "lon": lon,
            "lat": lat,
            "matched": {best.level: {"code": best.code, "name": best.name, "via": best.via}},
        }
    kept = ranked[:_KEEP]
    if idx.memo_candidates + len(kept) + 1 > _MEMO_CANDIDATES:
        memo.clear()
        idx.memo_candidates = 0
    idx.memo_candidates += len(kept) + 1
    located = memo[key] = (kept, tuple(c.score for c in ranked), admin_answer, room_from)
    return located


def _query_text(q: str) -> str:
    """The normalised text of the valid address ``q``, 号之一 → 号之1."""
    t = normalize_text(q)
    return _SUB_HAN.sub(lambda x: "之" + str(han_to_int(x.group(1))), t) if "之" in t else t


def _room_ids(
    building_id: str, building: Building, unit: int | None, floor: int, room: int
) -> list[str]:
    """The room IDs the written unit / floor / room may be, in the order they are tried (no
    unit written: unit 0, then every unit of the building)."""
    units = [unit] if unit is not None else [0, *range(1, max(building.units, 1) + 1)]
    return [
        f"{building_id}{u:02d}{floor:03d}{room:04d}"
        for u in units
        if u < 100 and floor < 1000 and room < 10_000
    ]


def _confidence(scores: Sequence[float], i: int) -> float:
    """Confidence of the ``i``-th of the ranked candidates scored ``scores``: its calibrated
    score, less when a rival is within :data:`_TIE`, at most 1 / the candidates tied with it."""
    score = scores[i]
    others = [*scores[:i], *scores[i + 1 :]]
    nearest = max(others) if others else 0.0
    effective = score - max(0.0, _TIE - (score - nearest))
    tied = sum(abs(x - score) < AMBIGUOUS_GAP for x in scores)
    return min(calibrate(effective), round(1 / tied, 3))


def _ambiguous(scores: Sequence[float]) -> bool:
    return len(scores) > 1 and scores[0] - scores[1] < AMBIGUOUS_GAP


def _prepare(idx: ResolveIndex, q: str, limit: int) -> _Pending:
    """Candidates of the valid address ``q`` (see :func:`validate`), rooms not yet checked."""
    t = _query_text(q)
    ranked, scores, admin_answer, room_from = _locate(idx, _building_part(t))
    pending = _Pending(q, t, ranked, scores, admin_answer, m.room_parts(t[room_from:]))
    unit, floor, room = pending.room
    if room is not None and floor is not None:
        for cand in ranked[:limit]:
            b = idx.buildings.get(cand.building_id)
            if b is not None:
                pending.room_ids[cand.building_id] = _room_ids(
                    cand.building_id, b, unit, floor, room
                )
    return pending


def _finish(idx: ResolveIndex, p: _Pending, rooms: set[str], limit: int) -> dict[str, Any]:
    candidates = []
    for i, cand in enumerate(p.ranked[:limit]):
        answer = _answer(idx, cand, _confidence(p.scores, i))
        ids = [r for r in p.room_ids.get(cand.building_id, []) if r in rooms]
        unit, floor, room = p.room
        if room is not None:
            written = {"unit": unit, "floor": floor, "room": room}
            if ids:
                answer.update(room_id=ids[0], level="room", address=_room_address(answer, ids[0]))
                answer["matched"]["room"] = dict(written, in_register=True)
            else:
                answer["confidence"] = round(answer["confidence"] * 0.9, 3)
                answer["matched"]["room"] = dict(written, in_register=False)
        candidates.append(answer)
    if not candidates and p.admin_answer is not None:
        candidates = [copy.deepcopy(p.admin_answer)]  # remembered: never hand it out
    return {
        "query": p.query,
        "normalized": p.normalized,
        "ambiguous": _ambiguous(p.scores),
        "candidates": candidates,
    }


def _answer(idx: ResolveIndex, cand: _Cand, confidence: float) -> dict[str, Any]:
    matched = dict(cand.matched, ways=sorted(cand.ways))
    for level in _ADMIN_RANK:  # shared by remembered candidates (_admin_adjust): copies
        if (value := matched.get(level)) is not None:
            if "conflict" in value:
                matched[level] = {"conflict": value["conflict"][:]}
            else:
                matched[level] = value.copy()
    if cand.building_id.startswith("road:"):
        return {
            "building_id": None,
            "room_id": None,
            "level": "road",
            "confidence": confidence,
            "address": cand.matched.get("road"),
            "lon": None,
            "lat": None,
            "matched": matched,
        }
    b = idx.buildings[cand.building_id]
    return {
        "building_id": cand.building_id,
        "room_id": None,
        "level": cand.level,
        "confidence": confidence,
        "address": b.address,
        "lon": b.lon,
        "lat": b.lat,
        "matched": matched,
    }


def _room_address(answer: dict[str, Any], room_id: str) -> str:
    unit, floor, room = int(room_id[25:27]), int(room_id[27:30]), int(room_id[30:34])
    out = str(answer["address"])
    if unit:
        out += f"{unit}单元"
    if floor > 900:
        out += f"地下{floor - 900}层"
    return out + f"{room}室"


def _check_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise InvalidInput(f"limit must be an integer from 1 to 100, got {limit!r}")
    return limit


def resolve(con: duckdb.DuckDBPyConnection, q: str, limit: int = 5) -> dict[str, Any]:
    """Resolve ``q`` to at most ``limit`` candidates, best first.

    Returns
    -------
    dict
        ``{"query", "normalized", "ambiguous", "candidates": [{"building_id", "room_id", "level",
        "confidence", "address", "lon", "lat", "matched"}]}``; ``level`` is room, building,
        doorplate (nearest number on the road), road, community, street or district.

    Raises
    ------
    InvalidInput
        For a bad address (empty, > 200 characters, binary, no Chinese character) or ``limit``
        outside 1..100.
    """
    _check_limit(limit)
    idx = index_for(con)
    pending = _prepare(idx, validate(q), limit)
    rooms = existing_rooms(idx, [r for ids in pending.room_ids.values() for r in ids])
    return _finish(idx, pending, rooms, limit)


def unresolved_reason(text: object) -> str:
    """Why ``text`` is not an address: empty, too_long, binary, not_text or not_an_address.

    >>> unresolved_reason("   "), unresolved_reason("hello"), unresolved_reason("汉" * 201)
    ('empty', 'not_an_address', 'too_long')
    """
    if text is None or (isinstance(text, float) and text != text):
        return "empty"
    if isinstance(text, bytes | bytearray):
        return "binary"
    if not isinstance(text, str):
        return "not_text"
    if not text.strip():
        return "empty"
    if len(text) > MAX_LENGTH:
        return "too_long"
    try:
        validate(text)
    except InvalidInput as exc:
        return "binary" if "control" in exc.message else "not_an_address"
    return "ok"


def resolve_many(
    con: duckdb.DuckDBPyConnection,
    texts: Iterable[object],
    limit: int = 1,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Resolve a batch; one answer per text, in order, never dropping one.

    Each answer is that of :func:`resolve` plus ``reason``: ``None`` when resolved to a
    building or room with no tie, else ``empty``, ``too_long``, ``binary``, ``not_text``,
    ``not_an_address``, ``no_match``, ``ambiguous``, ``admin_only``, ``road_only`` or
    ``doorplate_nearest``. Bad texts do not raise: their answer has no candidates.

    Raises
    ------
    InvalidInput
        More than :data:`MAX_BATCH` texts, or ``limit`` outside 1..100.
    """
    items = list(texts)
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"batch has {len(items)} addresses, more than {MAX_BATCH}")
    _check_limit(limit)
    return _answers(index_for(con), items, limit, on_progress)


def _answers(
    idx: ResolveIndex,
    items: list[object],
    limit: int,
    on_progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """The answers of :func:`resolve_many` from the index alone (no database)."""
    done: dict[str, _Pending] = {}
    pendings: list[_Pending | str] = []
    for i, text in enumerate(items):
        reason = unresolved_reason(text)
        if reason != "ok":
            pendings.append(reason)
        else:
            key = str(text)
            if key not in done:
                done[key] = _prepare(idx, key, limit)
            pendings.append(done[key])
        if on_progress is not None and (i + 1) % 500 == 0:
            on_progress(500)
    if on_progress is not None and len(items) % 500:
        on_progress(len(items) % 500)
    rooms = existing_rooms(
        idx, [r for p in done.values() for ids in p.room_ids.values() for r in ids]
    )
    finished = {key: _finish(idx, p, rooms, limit) for key, p in done.items()}
    out: list[dict[str, Any]] = []
    for text, p in zip(items, pendings, strict=True):
        if isinstance(p, str):
            query = text if isinstance(text, str) else repr(text)[:60]
            out.append(
                {
                    "query": query,
                    "normalized": None,
                    "ambiguous": False,
                    "candidates": [],
                    "reason": p,
                }
            )
        else:
            answer = dict(finished[str(text)])
            answer["reason"] = _reason(answer)
            out.append(answer)
    return out


#: Columns of :func:`best_candidates`.
BEST_COLUMNS = ("address", "reason", "building_id", "room_id", "confidence", "level")
#: Texts per task of a worker process in :func:`best_candidates`.
_CHUNK = 2_000
#: Fewer distinct texts than this are resolved in this process whatever ``workers`` says.
PARALLEL_MIN_TEXTS = 20_000


_LEVEL_REASON = {
    "community": "admin_only",
    "street": "admin_only",
    "district": "admin_only",
    "road": "road_only",
    "doorplate": "doorplate_nearest",
}

#: The best answer of a building part for :func:`_best_rows`: reason (without a room),
#: building ID, level, confidence, ambiguous, the building (for its rooms) and where the room
#: part may start (``None`` for an admin area: no room checked); ``None`` for no answer at all.
_Top = tuple[str | None, str | None, str, float, bool, Building | None, int | None]


def _top(idx: ResolveIndex, key: str) -> _Top | None:
    """What :func:`_finish` with ``limit=1`` answers for the building part ``key``, before the
    room is checked."""
    ranked, scores, admin_answer, room_from = _locate(idx, key)
    if not ranked:
        if admin_answer is None:
            return None
        level = admin_answer["level"]
        return _LEVEL_REASON.get(level), None, level, admin_answer["confidence"], False, None, None
    cand = ranked[0]
    confidence = _confidence(scores, 0)
    ambiguous = _ambiguous(scores)
    if cand.building_id.startswith("road:"):
        building, bid, level = None, None, "road"
    else:
        building = idx.buildings[cand.building_id]
        bid, level = cand.building_id, cand.level
    reason = "ambiguous" if ambiguous else _LEVEL_REASON.get(level)
    return reason, bid, level, confidence, ambiguous, building, room_from


def _best_rows(idx: ResolveIndex, texts: list[str]) -> list[tuple[Any, ...]]:
    """One :data:`BEST_COLUMNS` row per text: the first candidate of :func:`resolve_many` with
    ``limit=1`` (same rows), without building the answers."""
    rows: list[tuple[Any, ...]] = []
    tops: dict[str, _Top | None] = {}
    # rows waiting for their room check: (row number, top, room IDs to try in order)
    waiting: list[tuple[int, _Top, list[str]]] = []
    for text in texts:
        bad = unresolved_reason(text)
        if bad != "ok":
            rows.append((text, bad, None, None, 0.0, None))
            continue
        t = _query_text(text)
        key = _building_part(t)
        if key in tops:
            top = tops[key]
        else:
            top = tops[key] = _top(idx, key)
        if top is None:
            rows.append((text, "no_match", None, None, 0.0, None))
            continue
        reason, bid, level, confidence, _, building, room_from = top
        if room_from is None:  # an admin area: no room
            rows.append((text, reason, None, None, float(confidence or 0.0), level))
            continue
        unit, floor, room = m.room_parts(t[room_from:])
        if room is None:
            rows.append((text, reason, bid, None, float(confidence or 0.0), level))
            continue
        ids: list[str] = []
        if floor is not None and building is not None and bid is not None:
            ids = _room_ids(bid, building, unit, floor, room)
        waiting.append((len(rows), top, ids))
        rows.append((text, reason, bid, None, float(round(confidence * 0.9, 3) or 0.0), level))
    if waiting:
        rooms = existing_rooms(idx, [r for _, _, ids in waiting for r in ids])
        for n, top, ids in waiting:
            found = next((r for r in ids if r in rooms), None)
            if found is not None:
                _, bid, _, confidence, ambiguous, _, _ = top
                row = rows[n]
                rows[n] = (
                    row[0],
                    "ambiguous" if ambiguous else None,
                    bid,
                    found,
                    float(confidence or 0.0),
                    "room",
                )
    return rows


def best_candidates(
    con: duckdb.DuckDBPyConnection,
    texts: Sequence[str],
    *,
    workers: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> list[tuple[Any, ...]]:
    """The best candidate of each text, for bulk linking: one row per text, in order.

    Rows are :data:`BEST_COLUMNS`: ``(address, reason, building_id, room_id, confidence,
    level)`` with ``reason`` as in :func:`resolve_many` and the rest from its first candidate
    (``None`` / ``0.0`` when there is none). Any number of texts (no :data:`MAX_BATCH`).

    With ``workers`` > 1 and at least :data:`PARALLEL_MIN_TEXTS` texts, chunks of texts are
    resolved in that many worker processes *forked* from this one after the index is built,
    so they share it instead of building their own; they run only the resolver (never
    DuckDB: forking is safe while this process's connection is idle). Texts sorted by the
    caller keep the rooms of one building in one chunk, where the building is looked up once.
    Same rows whatever ``workers``.

    Raises
    ------
    InvalidInput
        When ``workers`` is below 1.
    """
    from common.workers import fork_map

    if workers < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    items = [str(t) for t in texts]
    idx = index_for(con)
    chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    out: list[tuple[Any, ...]] = []
    for rows in fork_map(
        lambda chunk: _best_rows(idx, chunk),
        chunks,
        workers if len(items) >= PARALLEL_MIN_TEXTS else 1,
    ):
        out += rows
        if on_progress is not None:
            on_progress(len(rows))
    return out


def _reason(answer: dict[str, Any]) -> str | None:
    if not answer["candidates"]:
        return "no_match"
    if answer["ambiguous"]:
        return "ambiguous"
    return _LEVEL_REASON.get(answer["candidates"][0]["level"])
