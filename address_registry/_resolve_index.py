"""In-memory index of the register for the resolver: built once per store, no SQL per query.

:func:`index_for` returns the :class:`ResolveIndex` of a store, cached per database file (all
connections to one file share one index) by the store's data version of the register
(:func:`store.cached`: rebuilt after a write of the register). Rooms are not indexed as records:
a room ID is the building ID + unit (2) + floor (3) + room (4), so the index keeps one sorted
int64 per active room (building ordinal, unit, floor, room) and verifies a room by binary search
(:func:`existing_rooms`).

Names are indexed in their normalised spelling (:func:`address_registry.normalize.normalize_mapped`)
and as written; :class:`Scanner` finds every indexed name occurring in a text in one pass over
its characters (a dictionary from the first two characters to the names starting with them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

import store
from address_registry.normalize import normalize_mapped


def norm(text: str) -> str:
    """Normalised spelling of a register name (no validation: names are trusted)."""
    return normalize_mapped(text).text if text else ""


@dataclass(frozen=True, slots=True)
class Building:
    """What the resolver needs of one building."""

    building_id: str
    address: str
    lon: float | None
    lat: float | None
    community: str
    status: str
    units: int


@dataclass(frozen=True, slots=True)
class Plate:
    """A doorplate: ``lane``/``house``/``sub`` numbers, or a ``lo``-``hi`` range of houses."""

    road_code: str
    number: str
    lane: int | None
    house: int | None
    sub: int | None
    hi: int | None
    building_id: str


@dataclass(frozen=True, slots=True)
class Admin:
    """An admin area a name or alias stands for."""

    code: str
    level: str
    name: str
    via: str


class Scanner:
    """Every indexed name occurring in a text: per first two characters, the names by length
    (so a text position costs one set lookup per length, however many names share the prefix:
    人民路, 人民东路, ... or thousands of numbered roads)."""

    def __init__(self, names: object) -> None:
        by_prefix: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        for name in set(names):  # type: ignore[call-overload]
            if len(name) >= 2:
                by_prefix[name[:2]][len(name)].add(name)
        #: prefix -> [(length, names)], longest first
        self._by_prefix: dict[str, list[tuple[int, frozenset[str]]]] = {
            prefix: sorted(((n, frozenset(v)) for n, v in lengths.items()), reverse=True)
            for prefix, lengths in by_prefix.items()
        }

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, name)`` of each occurrence, longest first at each start.

        >>> Scanner(["汉口路", "汉口", "九江路"]).find("汉口路九江路")
        [(0, 3, '汉口路'), (0, 2, '汉口'), (3, 6, '九江路')]
        """
        out = []
        get = self._by_prefix.get
        for i in range(len(text) - 1):
            lengths = get(text[i : i + 2])
            if lengths:
                for n, names in lengths:
                    if text[i : i + n] in names:
                        out.append((i, i + n, text[i : i + n]))
        return out


class MultiScanner:
    """Several :class:`Scanner` in one pass over a text (one lookup per position for all)."""

    def __init__(self, scanners: list[Scanner]) -> None:
        self._n = len(scanners)
        by_prefix: dict[str, list[list[tuple[int, frozenset[str]]]]] = {}
        for k, scanner in enumerate(scanners):
            for prefix, lengths in scanner._by_prefix.items():
                by_prefix.setdefault(prefix, [[] for _ in scanners])[k] = lengths
        #: prefix -> per scanner [(length, names)], longest first
        self._by_prefix = {p: tuple(v) for p, v in by_prefix.items()}

    def find(self, text: str) -> list[list[tuple[int, int, str]]]:
        """Per scanner, what its :meth:`Scanner.find` returns.

        >>> MultiScanner([Scanner(["汉口路"]), Scanner(["汉口", "九江路"])]).find("汉口路九江路")
        [[(0, 3, '汉口路')], [(0, 2, '汉口'), (3, 6, '九江路')]]
        """
        outs: list[list[tuple[int, int, str]]] = [[] for _ in range(self._n)]
        get = self._by_prefix.get
        for i in range(len(text) - 1):
            per = get(text[i : i + 2])
            if per:
                for out, lengths in zip(outs, per, strict=True):
                    for n, names in lengths:
                        if text[i : i + n] in names:
                            out.append((i, i + n, text[i : i + n]))
        return outs


def _pairs(name: str) -> set[str]:
    adjacent = {name[i : i + 2] for i in range(len(name) - 1)}
    return adjacent | {name[i] + "_" + name[i + 2] for i in range(len(name) - 2)}


#: A character pair in more names than this (and than 2 % of them) does not pick candidates.
_COMMON_PAIR = 2_000


class FuzzyList:
    """Names for edit-distance lookups: only names sharing a character pair (adjacent, or with
    one character between: 汉口路 → 汉口, 口路, 汉_路) with the query are scored, so a lookup does
    not scan a city's 300k names, and one typo (汉X路) or a dropped character still meets.
    Pairs common to many names (东路) are left out of the candidate search unless the query has
    no other."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._postings: dict[str, list[int]] = defaultdict(list)
        for k, name in enumerate(names):
            for pair in _pairs(name):
                self._postings[pair].append(k)

    def extract(
        self, query: str, *, limit: int, cutoff: float, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``limit`` names most like ``query`` (rapidfuzz ratio ≥ ``cutoff``), optionally
        only among ``allowed``."""
        from rapidfuzz import fuzz, process

        postings = sorted((p for pair in _pairs(query) if (p := self._postings.get(pair))), key=len)
        # a pair shared by a large part of the names (东路, 路·) tells nothing: skip it unless
        # it is all there is
        rare = [p for p in postings if len(p) <= max(_COMMON_PAIR, len(self.names) // 50)]
        ids: set[int] = set()
        for p in rare or postings[:1]:
            ids.update(p)
        choices = [self.names[k] for k in sorted(ids)]
        if allowed is not None:
            choices = [c for c in choices if c in allowed]
        found = process.extract(query, choices, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff)
        return [(name, float(score)) for name, score, _ in found]


@dataclass
class ResolveIndex:
    """Dictionaries from normalised names to register entries (see the module docstring)."""

    buildings: dict[str, Building] = field(default_factory=dict)
    roads: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    road_district: dict[str, str] = field(default_factory=dict)
    plates: dict[str, dict[tuple[int | None, int | None, int | None], list[Plate]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    ranges: dict[str, list[Plate]] = field(default_factory=lambda: defaultdict(list))
    estates: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    estate_community: dict[str, str] = field(default_factory=dict)
    estate_buildings: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    addresses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    admins: dict[str, list[Admin]] = field(default_factory=lambda: defaultdict(list))
    admin_centres: dict[str, tuple[str, float | None, float | None]] = field(default_factory=dict)
    successors: dict[str, list[str]] = field(default_factory=dict)
    ordinal: dict[str, int] = field(default_factory=dict)
    rooms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    road_scan: Scanner = field(default_factory=lambda: Scanner(()))
    estate_scan: Scanner = field(default_factory=lambda: Scanner(()))
    name_scan: Scanner = field(default_factory=lambda: Scanner(()))
    admin_scan: Scanner = field(default_factory=lambda: Scanner(()))
    #: The retired buildings (``None``: found when first needed).
    retired: frozenset[str] | None = field(default=None, repr=False, compare=False)
    #: The admin, road, estate and name scanners in one (``None``: made when first needed).
    all_scan: MultiScanner | None = field(default=None, repr=False, compare=False)
    road_fuzzy: FuzzyList = field(default_factory=lambda: FuzzyList([]))
    estate_fuzzy: FuzzyList = field(default_factory=lambda: FuzzyList([]))
    name_fuzzy: FuzzyList = field(default_factory=lambda: FuzzyList([]))
    district_roads: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: What the resolver found per building part of a query (see ``resolve._locate``).
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    memo_candidates: int = field(default=0, repr=False, compare=False)
    #: Per admin name: (one of its areas is written by name, all of them are) (``resolve._hits``).
    admin_named: dict[str, tuple[bool, bool]] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: Per admin names written: the areas by level and, per community, the first area written
    #: that contains it (see ``resolve._admin_adjust``); ``admin_memo_size`` counts communities.
    admin_memo: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False, compare=False)
    admin_memo_size: int = field(default=0, repr=False, compare=False)


def build_index(con: duckdb.DuckDBPyConnection) -> ResolveIndex:
    """Read the register into a :class:`ResolveIndex` (a handful of full-table queries)."""
    idx = ResolveIndex()
    for bid, address, lon, lat, community, status, units in con.execute(
        """SELECT building_id, coalesce(address, ''), lon, lat, community_code, status,
                  coalesce(units, 1) FROM buildings WHERE status IN ('active', 'retired')"""
    ).fetchall():
        idx.buildings[bid] = Building(bid, address, lon, lat, community, status, int(units))
        if address:
            idx.addresses[norm(address)].append(bid)
    for code, name, district in con.execute(
        """SELECT road_code, name, district_code FROM roads
           UNION ALL SELECT a.road_code, a.alias, r.district_code
             FROM road_aliases a JOIN roads r USING (road_code)"""
    ).fetchall():
        idx.road_district[code] = district
        for key in {name, norm(name)}:
            idx.roads[key].add(code)
            idx.district_roads[district].add(key)
    for road, number, lane, house, sub, bid in con.execute(
        """SELECT road_code, number, lane_no, house_no, sub_no, building_id FROM doorplates
            WHERE status = 'active' AND building_id IS NOT NULL"""
    ).fetchall():
        hi = None
        head = number.split("号")[0].split("弄")[-1]
        if "-" in head and house is not None:
            tail = head.rsplit("-", 1)[1]
            hi = int(tail) if tail.isdigit() else None
        plate = Plate(road, number, lane, house, sub, hi, bid)
        idx.plates[road][(lane, house, sub)].append(plate)
        if hi is not None:
            idx.ranges[road].append(plate)
    for bid, estate_id, estate, community, number in con.execute(
        """SELECT b.building_id, e.estate_id, e.name, e.community_code, b.building_no
             FROM buildings b JOIN estates e USING (estate_id)
            WHERE e.name IS NOT NULL AND b.status IN ('active', 'retired')"""
    ).fetchall():
        idx.estates[norm(estate)].add(estate_id)
        idx.estates[estate].add(estate_id)
        idx.estate_community[estate_id] = community
        idx.estate_buildings[estate_id][str(number or "")].append(bid)
    for bid, alias in con.execute(
        """SELECT building_id, alias FROM building_aliases
            WHERE kind IN ('name', 'poi', 'estate_building', 'old_name')
           UNION SELECT building_id, name FROM buildings WHERE name IS NOT NULL"""
    ).fetchall():
        if bid in idx.buildings:
            for key in {alias, norm(alias)}:
                if len(key) >= 2:
                    idx.names[key].add(bid)
    _admins(con, idx)
    _rooms(con, idx)
    for pred, succ in con.execute(
        """WITH RECURSIVE walk(root, id) AS (
               SELECT predecessor_id, successor_id FROM building_lineage
               UNION SELECT w.root, l.successor_id FROM building_lineage l
                 JOIN walk w ON l.predecessor_id = w.id)
           SELECT DISTINCT w.root, w.id FROM walk w JOIN buildings b ON b.building_id = w.id
            WHERE b.status IN ('active', 'proposed') ORDER BY 1, 2"""
    ).fetchall():
        idx.successors.setdefault(pred, []).append(succ)
    idx.road_fuzzy = FuzzyList(sorted(idx.roads))
    idx.estate_fuzzy = FuzzyList(sorted(idx.estates))
    idx.name_fuzzy = FuzzyList(sorted(idx.names))
    idx.road_scan = Scanner(idx.roads)
    idx.estate_scan = Scanner(idx.estates)
    idx.name_scan = Scanner(idx.names)
    idx.admin_scan = Scanner(idx.admins)
    idx.all_scan = all_scanner(idx)
    idx.retired = frozenset(b for b, v in idx.buildings.items() if v.status == "retired")
    return idx


def all_scanner(idx: ResolveIndex) -> MultiScanner:
    """The admin, road, estate and name scanners of ``idx`` in one."""
    return MultiScanner([idx.admin_scan, idx.road_scan, idx.estate_scan, idx.name_scan])


def _admins(con: duckdb.DuckDBPyConnection, idx: ResolveIndex) -> None:
    rows = con.execute(
        """
        SELECT code, level, name, name, 'name' FROM admin_areas
         WHERE status = 'active' AND level IN ('district', 'street', 'community')
        UNION ALL
        SELECT code, level, name, short_name, 'short_name' FROM admin_areas
         WHERE status = 'active' AND level IN ('district', 'street') AND short_name IS NOT NULL
        UNION ALL
        SELECT a.code, a.level, a.name, al.alias, al.kind FROM admin_aliases al
          JOIN admin_areas a USING (code)
         WHERE al.kind <> 'former_code' AND a.level IN ('district', 'street', 'community')
        """
    ).fetchall()
    for code, level, name, key, via in rows:
        if len(key) < 2:
            continue
        entry = Admin(code, level, name, via)
        for k in {key, norm(key)}:
            if entry not in idx.admins[k]:
                idx.admins[k].append(entry)
    for code, name, lon, lat in con.execute(
        """SELECT code, name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
             FROM admin_areas WHERE level IN ('district', 'street', 'community')"""
    ).fetchall():
        idx.admin_centres[code] = (name, lon, lat)


#: The name of the resolver's index in the store's cache.
RESOLVE_INDEX = "address_registry.resolve_index"


def index_for(con: duckdb.DuckDBPyConnection, *, refresh: bool = False) -> ResolveIndex:
    """The index of the store behind ``con``, built on first use (a handful of full-table
    queries) and rebuilt when the register changes.

    Every connection to one file shares one index; a call costs no query while the index is
    trusted (see :func:`store.cached` for the recheck rule). ``refresh`` forces a rebuild.
    """
    return store.cached(con, RESOLVE_INDEX, ("address_registry",), build_index, refresh=refresh)


def _rooms(con: duckdb.DuckDBPyConnection, idx: ResolveIndex) -> None:
    """Active rooms as one sorted int64 array of ``ordinal·10⁹ + unit·10⁷ + floor·10⁴ + room``
    (8 bytes a room: 11M rooms are 88 MB), computed in DuckDB."""
    ordered = sorted(idx.buildings)
    idx.ordinal = {bid: k for k, bid in enumerate(ordered)}
    keys = con.execute(
        """
        WITH o AS (SELECT building_id, row_number() OVER (ORDER BY building_id) - 1 AS k
                     FROM buildings WHERE status IN ('active', 'retired'))
        SELECT o.k * 1000000000 + CAST(r.unit AS BIGINT) * 10000000
               + CAST(r.floor AS BIGINT) * 10000 + CAST(r.room AS BIGINT) AS key
          FROM rooms r JOIN o USING (building_id)
         WHERE r.status = 'active' AND length(r.unit) = 2 AND length(r.floor) = 3
           AND length(r.room) = 4
         ORDER BY key
        """
    ).fetchnumpy()["key"]
    idx.rooms = np.asarray(keys, dtype=np.int64)


def room_key(idx: ResolveIndex, room_id: str) -> int | None:
    """The key of ``room_id`` in :attr:`ResolveIndex.rooms` (``None`` for an unknown building)."""
    k = idx.ordinal.get(room_id[:25])
    tail = room_id[25:]
    if k is None or len(tail) != 9 or not tail.isdigit():
        return None
    return k * 1_000_000_000 + int(tail)


def existing_rooms(idx: ResolveIndex, room_ids: list[str]) -> set[str]:
    """The active rooms among ``room_ids`` (binary search in the room array, no SQL)."""
    keys = [(r, room_key(idx, r)) for r in room_ids]
    known = [(r, k) for r, k in keys if k is not None]
    if not known or not len(idx.rooms):
        return set()
    wanted = np.asarray([k for _, k in known], dtype=np.int64)
    pos = np.searchsorted(idx.rooms, wanted).clip(0, len(idx.rooms) - 1)
    found = idx.rooms[pos] == wanted
    return {r for (r, _), hit in zip(known, found, strict=True) if hit}


def index_size_bytes(idx: ResolveIndex) -> int:
    """Approximate deep size of ``idx`` in bytes (for the memory estimate of the benchmark)."""
    import sys

    seen: set[int] = set()
    stack: list[object] = [idx]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s))
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
    return total
