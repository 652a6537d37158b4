"""The search box of the map viewer: prefix and substring search over the register and grids.

:func:`search_index_for` builds one :class:`SearchIndex` per store (like the resolver's
:func:`address_registry._resolve_index.index_for`): every building (standard address, name,
aliases, ID), active doorplate, named estate, road (and its aliases), district, street and
community with a boundary, and grid of the active version (code), each with a label, a point and
a bounding box for the map. The index is rebuilt when the store's fingerprint changes (checked
at most every :data:`RECHECK_SECONDS`).

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

import threading
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from address_registry._resolve_index import fingerprint as register_fingerprint
from address_registry._resolve_index import norm

#: Seconds between two checks that the store has not changed under a cached index.
RECHECK_SECONDS = 5.0
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
        normalised = fold(norm(folded))
    except Exception:
        normalised = folded
    return (folded,) if normalised in ("", folded) else (folded, normalised)


@dataclass
class SearchIndex:
    """Entries and the inverted index from character pairs (and characters) to entries."""

    fingerprint: tuple[Any, ...]
    entries: list[Entry] = field(default_factory=list)
    pairs: dict[str, np.ndarray] = field(default_factory=dict)
    chars: dict[str, np.ndarray] = field(default_factory=dict)
    #: key → entries having it (exact matches without a scan)
    exact: dict[str, list[int]] = field(default_factory=dict)
    #: per entry, its keys each preceded by NUL: ``"\0" + q in hay`` tests "a key starts with q"
    haystacks: list[str] = field(default_factory=list)

    @classmethod
    def from_entries(cls, fp: tuple[Any, ...], entries: list[Entry]) -> SearchIndex:
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
            fp,
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

_QUERIES: dict[str, str] = {
    "building": f"""
        SELECT building_id, coalesce(name || ' · ' || address, address, name, building_id),
               lon, lat, {_BBOX},
               list_distinct(list_filter([address, name, building_id] || coalesce((
                   SELECT list(alias) FROM building_aliases a
                    WHERE a.building_id = b.building_id
                      AND a.kind IN ('name', 'poi', 'old_name', 'estate_building', 'name_en')
               ), []), lambda x: x IS NOT NULL))
          FROM buildings b WHERE status = 'active'
    """,
    "doorplate": """
        SELECT d.doorplate_id, r.name || d.number,
               coalesce(b.lon, ST_X(d.geom)), coalesce(b.lat, ST_Y(d.geom)),
               coalesce(ST_XMin(b.geom), ST_XMin(d.geom)), coalesce(ST_YMin(b.geom), ST_YMin(d.geom)),
               coalesce(ST_XMax(b.geom), ST_XMax(d.geom)), coalesce(ST_YMax(b.geom), ST_YMax(d.geom)),
               [r.name || d.number]
          FROM doorplates d JOIN roads r USING (road_code)
          LEFT JOIN buildings b ON b.building_id = d.building_id
         WHERE d.status = 'active'
    """,
    "estate": f"""
        SELECT estate_id, name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)),
               {_BBOX}, [name]
          FROM estates WHERE name IS NOT NULL AND geom IS NOT NULL
    """,
    "road": """
        SELECT r.road_code, r.name || coalesce('（' || a.name || '）', ''),
               ST_X(ST_PointOnSurface(r.geom)), ST_Y(ST_PointOnSurface(r.geom)),
               ST_XMin(r.geom), ST_YMin(r.geom), ST_XMax(r.geom), ST_YMax(r.geom),
               list_distinct([r.name] || coalesce((SELECT list(alias) FROM road_aliases x
                                                    WHERE x.road_code = r.road_code), []))
          FROM roads r LEFT JOIN admin_areas a ON a.code = r.district_code
         WHERE r.geom IS NOT NULL
    """,
    "admin": """
        SELECT a.level, a.code, a.name || coalesce('（' || p.name || '）', ''),
               ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)),
               ST_XMin(a.geom), ST_YMin(a.geom), ST_XMax(a.geom), ST_YMax(a.geom),
               list_filter([a.name, a.short_name, a.code], lambda x: x IS NOT NULL)
          FROM admin_areas a LEFT JOIN admin_areas p ON p.code = a.parent_code
         WHERE a.status = 'active' AND a.geom IS NOT NULL
           AND a.level IN ('community', 'street', 'district')
    """,
    "grid": """
        SELECT g.grid_code, coalesce(a.name, g.community_code) || ' 网格 '
                            || CAST(CAST(right(g.grid_code, 3) AS INTEGER) AS VARCHAR),
               ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
               ST_XMin(g.geom), ST_YMin(g.geom), ST_XMax(g.geom), ST_YMax(g.geom),
               [g.grid_code]
          FROM grids g JOIN grid_versions v USING (version_id)
          LEFT JOIN admin_areas a ON a.code = g.community_code
         WHERE v.status = 'active' AND g.geom IS NOT NULL
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


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The register's fingerprint plus the active grid version and its grid count."""
    grids = con.execute(
        """SELECT max(version_id), count(*) FROM grids
            WHERE version_id = (SELECT max(version_id) FROM grid_versions
                                 WHERE status = 'active')"""
    ).fetchone()
    return (*register_fingerprint(con), *(grids or ()))


def build_search_index(con: duckdb.DuckDBPyConnection) -> SearchIndex:
    """Read the store into a :class:`SearchIndex` (one query per kind)."""
    fp = fingerprint(con)
    entries: list[Entry] = []
    for name, sql in _QUERIES.items():
        for row in con.execute(sql).fetchall():
            kind, values = (row[0], row[1:]) if name == "admin" else (name, row)
            entry = _entry(kind, values)
            if entry is not None:
                entries.append(entry)
    return SearchIndex.from_entries(fp, entries)


_lock = threading.Lock()
#: store key → (index, last fingerprint check)
_stores: dict[str, tuple[SearchIndex, float]] = {}
#: connection id → (connection, store key)
_keys: dict[int, tuple[duckdb.DuckDBPyConnection, str]] = {}
_MAX_CACHED = 8


def _store_key(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else f"memory:{id(con)}"


def search_index_for(con: duckdb.DuckDBPyConnection, *, refresh: bool = False) -> SearchIndex:
    """The cached :class:`SearchIndex` of the store behind ``con``.

    ``con`` is used only while a module lock is held, so one connection may be shared by
    threads that call this function.
    """
    now = time.monotonic()
    with _lock:
        seen = _keys.get(id(con))
        if seen is not None and seen[0] is con:
            key = seen[1]
        else:
            key = _store_key(con)
            if len(_keys) >= 4 * _MAX_CACHED:
                _keys.pop(next(iter(_keys)))
            _keys[id(con)] = (con, key)
        cached = _stores.get(key)
        if cached is not None and not refresh:
            idx, checked = cached
            if now - checked < RECHECK_SECONDS:
                return idx
            if fingerprint(con) == idx.fingerprint:
                _stores[key] = (idx, now)
                return idx
        idx = build_search_index(con)
        if key not in _stores and len(_stores) >= _MAX_CACHED:
            _stores.pop(next(iter(_stores)))
        _stores[key] = (idx, now)
        return idx


def clear_cache() -> None:
    """Forget every cached index (the next search rebuilds it)."""
    with _lock:
        _keys.clear()
        _stores.clear()
