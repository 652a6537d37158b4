"""The search box of the map viewer: prefix and substring search over the register and grids.

:func:`search_index` builds one :class:`SearchIndex` per store (like the resolver's
:func:`address_registry.resolve.index_for`): every active building (standard address, name,
aliases, ID), active doorplate, named estate, road (and its aliases), district, street and
community with a boundary, and grid of the active version (code), each with a label, a point and
a bounding box for the map. It is read through the owners' relations
(:mod:`address_registry.queries`, :mod:`grid_partition.queries`) and cached by the store's data
version of the register and the grids (:func:`store.cached`).

A query is matched against the keys of each entry in two spellings (as typed, lower-cased and
full-width folded; and normalised like addresses, so 三号楼 finds 3栋). Candidates come from an
inverted index of character pairs (single characters for a one-character query), read in display
order (entries are numbered by kind, then key length) and verified by one substring test each,
until enough prefix matches are found: no scan of every name.

Ranking: an exact key first, then a key starting with the query, then a key containing it; then
the kind (building, doorplate, estate, road, community, street, district, grid), then the
shorter key.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

import store
from address_registry import queries as aq
from address_registry.normalize import normalize_text
from grid_partition import queries as gq

#: Kinds of hits, in display order.
KINDS = ("building", "doorplate", "estate", "road", "community", "street", "district", "grid")
#: Most candidates verified for one query (the first ones are the best, see the module doc).
MAX_CANDIDATES = 20_000

_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class Entry:
    """One searchable thing: its kind, ID, label, point, bounding box and search keys."""

    kind: str
    id: str
    label: str
    lon: float | None
    lat: float | None
    bbox: tuple[float, float, float, float] | None
    keys: tuple[str, ...]

    def hit(self) -> dict[str, Any]:
        """The JSON form of a search hit."""
        return {
            "kind": self.kind,
            "id": self.id,
            "label": self.label,
            "lon": self.lon,
            "lat": self.lat,
            "bbox": list(self.bbox) if self.bbox else None,
        }


def fold(text: str) -> str:
    """Lower-cased, full-width folded text without whitespace (the "as typed" spelling)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def spellings(text: str) -> tuple[str, ...]:
    """The spellings a key or query is matched in: folded, and normalised like an address."""
    folded = fold(text)
    try:
        normalised = fold(normalize_text(folded))
    except Exception:
        normalised = folded
    return (folded,) if normalised in ("", folded) else (folded, normalised)


@dataclass
class SearchIndex:
    """Entries and the inverted index from character pairs (and characters) to entries."""

    entries: list[Entry] = field(default_factory=list)
    pairs: dict[str, np.ndarray] = field(default_factory=dict)
    chars: dict[str, np.ndarray] = field(default_factory=dict)
    #: key → entries having it (exact matches without a scan)
    exact: dict[str, list[int]] = field(default_factory=dict)
    #: per entry, its keys each preceded by NUL: ``"\0" + q in hay`` tests "a key starts with q"
    haystacks: list[str] = field(default_factory=list)

    @classmethod
    def from_entries(cls, entries: list[Entry]) -> SearchIndex:
        """Number ``entries`` in display order and index their keys."""
        entries = sorted(
            entries, key=lambda e: (_KIND_RANK[e.kind], min(len(k) for k in e.keys), e.id)
        )
        pairs: dict[str, list[int]] = defaultdict(list)
        chars: dict[str, list[int]] = defaultdict(list)
        exact: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(entries):
            seen_pairs: set[str] = set()
            seen_chars: set[str] = set()
            for key in entry.keys:
                exact[key].append(i)
                seen_chars.update(key)
                seen_pairs.update(key[j : j + 2] for j in range(len(key) - 1))
            for p in seen_pairs:
                pairs[p].append(i)
            for c in seen_chars:
                chars[c].append(i)
        return cls(
            entries,
            {p: np.asarray(ids, dtype=np.int32) for p, ids in pairs.items()},
            {c: np.asarray(ids, dtype=np.int32) for c, ids in chars.items()},
            dict(exact),
            ["".join("\0" + k for k in e.keys) for e in entries],
        )

    def _candidates(self, query: str) -> np.ndarray:
        if len(query) == 1:
            return self.chars.get(query, np.zeros(0, dtype=np.int32))
        lists = []
        for p in {query[j : j + 2] for j in range(len(query) - 1)}:
            ids = self.pairs.get(p)
            if ids is None:
                return np.zeros(0, dtype=np.int32)
            lists.append(ids)
        lists.sort(key=len)
        out = lists[0]
        for ids in lists[1:]:
            if not len(out):
                break
            out = np.intersect1d(out, ids, assume_unique=True)
        return out

    def search(self, q: str, limit: int = 10, kinds: set[str] | None = None) -> list[Entry]:
        """The best ``limit`` entries matching ``q`` (optionally only of ``kinds``).

        Exact keys come from a dictionary; the candidates of the pair index are then read in
        display order, each tested with one substring search of its NUL-joined keys, until
        ``limit`` prefix matches are found (later entries rank lower) — so a one-character
        query over a large city does not rank every entry it occurs in.
        """
        found: dict[int, int] = {}  # entry → quality (0 exact, 1 prefix, 2 substring)
        entries, hay = self.entries, self.haystacks

        def wanted(i: int) -> bool:
            return kinds is None or entries[i].kind in kinds

        for query in spellings(q):
            if not query:
                continue
            for i in self.exact.get(query, ()):
                if wanted(i):
                    found[i] = 0
            needle = "\0" + query
            prefix = substring = 0
            for i in self._candidates(query)[:MAX_CANDIDATES].tolist():
                if i in found or not wanted(i):
                    continue
                if needle in hay[i]:
                    found[i] = 1
                    prefix += 1
                    if prefix >= limit:
                        break
                elif substring < limit and query in hay[i]:
                    found[i] = 2
                    substring += 1
        queries = [x for x in spellings(q) if x]

        def rank(i: int) -> tuple[int, int, int, int]:
            lengths = [len(k) for k in entries[i].keys if any(x in k for x in queries)]
            return (found[i], _KIND_RANK[entries[i].kind], min(lengths, default=0), i)

        return [entries[i] for i in sorted(found, key=rank)[:limit]]


# -- building the index from a store ---------------------------------------------------------

_BBOX = "ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
#: Other names of a building that the search box finds it by.
_ALIAS_KINDS = ("name", "poi", "old_name", "estate_building", "name_en")


def _queries() -> dict[str, str]:
    """One query per kind of entry, over the relations of the register and the grids; each row
    is ``(id, label, lon, lat, xmin, ymin, xmax, ymax, keys)`` (``admin`` rows start with the
    level, which is their kind)."""
    return {
        "building": f"""
            SELECT building_id, coalesce(name || ' · ' || address, address, name, building_id),
                   lon, lat, {_BBOX},
                   list_distinct(list_filter([address, name, building_id] || coalesce((
                       SELECT list(alias) FROM ({aq.building_aliases_sql(_ALIAS_KINDS)}) a
                        WHERE a.building_id = b.building_id
                   ), []), lambda x: x IS NOT NULL))
              FROM ({aq.buildings_sql(["active"])}) b
        """,
        "doorplate": f"""
            SELECT d.doorplate_id, r.name || d.number,
                   coalesce(b.lon, ST_X(d.geom)), coalesce(b.lat, ST_Y(d.geom)),
                   coalesce(ST_XMin(b.geom), ST_XMin(d.geom)),
                   coalesce(ST_YMin(b.geom), ST_YMin(d.geom)),
                   coalesce(ST_XMax(b.geom), ST_XMax(d.geom)),
                   coalesce(ST_YMax(b.geom), ST_YMax(d.geom)),
                   [r.name || d.number]
              FROM ({aq.doorplates_sql(["active"])}) d JOIN ({aq.roads_sql()}) r USING (road_code)
              LEFT JOIN ({aq.buildings_sql()}) b ON b.building_id = d.building_id
        """,
        "estate": f"""
            SELECT estate_id, name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)),
                   {_BBOX}, [name]
              FROM ({aq.estates_sql()}) WHERE name IS NOT NULL AND geom IS NOT NULL
        """,
        "road": f"""
            SELECT r.road_code, r.name || coalesce('（' || a.name || '）', ''),
                   ST_X(ST_PointOnSurface(r.geom)), ST_Y(ST_PointOnSurface(r.geom)),
                   ST_XMin(r.geom), ST_YMin(r.geom), ST_XMax(r.geom), ST_YMax(r.geom),
                   list_distinct([r.name] || coalesce((
                       SELECT list(alias) FROM ({aq.road_aliases_sql()}) x
                        WHERE x.road_code = r.road_code), []))
              FROM ({aq.roads_sql()}) r
              LEFT JOIN ({aq.admin_areas_sql(statuses=None)}) a ON a.code = r.district_code
             WHERE r.geom IS NOT NULL
        """,
        "admin": f"""
            SELECT a.level, a.code, a.name || coalesce('（' || p.name || '）', ''),
                   ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)),
                   ST_XMin(a.geom), ST_YMin(a.geom), ST_XMax(a.geom), ST_YMax(a.geom),
                   list_filter([a.name, a.short_name, a.code], lambda x: x IS NOT NULL)
              FROM ({aq.admin_areas_sql()}) a
              LEFT JOIN ({aq.admin_areas_sql(statuses=None)}) p ON p.code = a.parent_code
             WHERE a.geom IS NOT NULL AND a.level IN ('community', 'street', 'district')
        """,
        "grid": f"""
            SELECT g.grid_code, coalesce(a.name, g.community_code) || ' 网格 '
                                || CAST(CAST(right(g.grid_code, 3) AS INTEGER) AS VARCHAR),
                   ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
                   ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom), ST_YMax(g.geom),
                   [g.grid_code]
              FROM ({gq.grids_sql()}) g
              LEFT JOIN ({aq.admin_areas_sql(statuses=None)}) a ON a.code = g.community_code
             WHERE g.geom IS NOT NULL
        """,
    }


def _entry(kind: str, row: tuple[Any, ...]) -> Entry | None:
    ident, label, lon, lat, x0, y0, x1, y1, keys = row
    folded = {s for k in keys or () if k for s in spellings(str(k))}
    if not folded:
        return None
    bbox = None if x0 is None else (float(x0), float(y0), float(x1), float(y1))
    return Entry(
        kind,
        str(ident),
        str(label),
        None if lon is None else float(lon),
        None if lat is None else float(lat),
        bbox,
        tuple(sorted(folded)),
    )


def build_search_index(con: duckdb.DuckDBPyConnection) -> SearchIndex:
    """Read the store into a :class:`SearchIndex` (one query per kind)."""
    entries: list[Entry] = []
    for name, sql in _queries().items():
        for row in con.execute(sql).fetchall():
            kind, values = (row[0], row[1:]) if name == "admin" else (name, row)
            entry = _entry(kind, values)
            if entry is not None:
                entries.append(entry)
    return SearchIndex.from_entries(entries)


#: The name of the search index in the store's cache.
SEARCH_INDEX = "api.search_index"


def search_index(con: duckdb.DuckDBPyConnection, *, refresh: bool = False) -> SearchIndex:
    """The :class:`SearchIndex` of the store behind ``con``, built once and rebuilt when the
    register or the grids change (:func:`store.cached`)."""
    return store.cached(
        con,
        SEARCH_INDEX,
        ("address_registry", "grid_partition"),
        build_search_index,
        refresh=refresh,
    )
