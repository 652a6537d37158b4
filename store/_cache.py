"""One cache for everything derived from the store, keyed by the store's data version.

Every write of a subsystem records a change of its *domain* (``address_registry``,
``grid_partition``, ``layers``, ``fusion``) in ``data_changes``, in the transaction of the write
(:func:`mark_changed`, or ``store.transaction(con, changes=...)``). The version of a domain is
the count and time of its changes. A cached value (the resolver's index, the search index, the
grid point index, the tile layers, a suppression set) is built by :func:`cached` for the domains
it reads, and rebuilt when their version moves.

One recheck rule for all of them: a value is trusted for :func:`recheck_seconds`
(``YIZHI_RECHECK_SECONDS``, 1 s by default) after its versions were last read; then the next
call reads the versions again (one small query) and rebuilds the value if they moved. A write
made through :func:`mark_changed` in this process is seen at once, without waiting for the
recheck: other processes on the same file (read-only server workers) see it within the recheck.

A trusted value costs no query and takes no lock: the hot lookups of the API (an address, the
grid at a point, a cached tile) call :func:`cached` on every request. The store behind a
connection is asked once per connection object (:func:`store_key`).

>>> import store
>>> con = store.connect(":memory:")
>>> builds = []
>>> def count_builds(c):
...     builds.append(1)
...     return len(builds)
>>> cached(con, "demo", ("layers",), count_builds)
1
>>> cached(con, "demo", ("layers",), count_builds)  # unchanged: the cached value
1
>>> with store.transaction(con, changes=("layers",)):
...     pass
>>> cached(con, "demo", ("layers",), count_builds)  # the domain moved: built again
2
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar, get_args

import duckdb

from common.errors import InvalidInput
from common.settings import get_settings

Domain = Literal["address_registry", "grid_partition", "layers", "fusion"]
#: The domains of the store, one per subsystem that owns tables.
DOMAINS: Final[tuple[Domain, ...]] = get_args(Domain)

T = TypeVar("T")

#: Values kept per store before the oldest is dropped.
_MAX_PER_STORE = 32
#: Stores kept before the least recently used one is dropped.
_MAX_STORES = 8
#: Connections whose store key is remembered (a weak reference each).
_MAX_CONNECTIONS = 256


def recheck_seconds() -> float:
    """How long a cached value is trusted before its data version is read again."""
    return float(get_settings().recheck_seconds)


def _check_domains(domains: Iterable[str]) -> tuple[Domain, ...]:
    chosen = tuple(dict.fromkeys(domains))
    bad = [d for d in chosen if d not in DOMAINS]
    if bad or not chosen:
        raise InvalidInput(f"unknown data domain(s) {bad!r}; expected some of {list(DOMAINS)}")
    return chosen  # type: ignore[return-value]


def store_key(con: duckdb.DuckDBPyConnection) -> str:
    """The identity of the store behind ``con``: its file, or the connection for ``:memory:``.

    Every connection (and cursor) to one file shares the file's cached values. The store of a
    connection is asked once; later calls with the same connection object cost no query.
    """
    seen = _KEYS.get(id(con))
    if seen is not None and seen[0]() is con:
        return seen[1]
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    path = row[0] if row else None
    key = str(path) if path else f"memory:{id(con)}"
    if not path:  # values under this key belonged to a collected store that had the same id
        _CACHE.clear(key)
    with _KEYS_LOCK:
        while len(_KEYS) >= _MAX_CONNECTIONS:
            _KEYS.pop(next(iter(_KEYS)))
        _KEYS[id(con)] = (weakref.ref(con), key)
    return key


#: id of a connection -> (a weak reference to it, its store key); the reference tells a live
#: connection from a new one that reuses the id of a collected one.
_KEYS: dict[int, tuple[weakref.ref[duckdb.DuckDBPyConnection], str]] = {}
_KEYS_LOCK = threading.Lock()


def data_version(
    con: duckdb.DuckDBPyConnection, domains: Sequence[str] = DOMAINS
) -> tuple[Any, ...]:
    """The version of ``domains``: per domain, the count and time (epoch µs) of its recorded
    changes."""
    chosen = _check_domains(domains)
    names = ", ".join(f"'{d}'" for d in chosen)  # known names (checked above): no parameter
    rows = dict(
        (d, (n, at))
        for d, n, at in con.execute(
            "SELECT domain, count(*), epoch_us(max(changed_at)) FROM data_changes "
            f"WHERE domain IN ({names}) GROUP BY domain"
        ).fetchall()
    )
    return tuple((d, *rows.get(d, (0, None))) for d in chosen)


def mark_changed(con: duckdb.DuckDBPyConnection, *domains: str, what: str | None = None) -> None:
    """Record a change of ``domains`` (call it inside the transaction of the write).

    Values cached in this process for these domains are rechecked on their next use.
    """
    chosen = _check_domains(domains)
    con.execute("INSERT INTO data_changes (domain, what) SELECT unnest(?), ?", [list(chosen), what])
    _CACHE.dirty(store_key(con), chosen)


def version_token(con: duckdb.DuckDBPyConnection, domains: Sequence[str] = DOMAINS) -> str:
    """A short hex token of :func:`data_version` (for ETags and style metadata)."""
    return hashlib.sha1(repr(data_version(con, domains)).encode()).hexdigest()[:16]


@dataclass
class _Entry:
    value: Any
    domains: tuple[Domain, ...]
    version: tuple[Any, ...]
    checked: float


class _StoreCache:
    """Values per (store, name); see the module docstring for the rule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[str, dict[str, _Entry]] = {}
        self._building: dict[tuple[str, str], threading.Lock] = {}
        #: per store, a count of :meth:`dirty` calls: a value built while a write of this
        #: process committed is stored as needing a recheck
        self._writes: dict[str, int] = {}

    def dirty(self, key: str, domains: Sequence[str]) -> None:
        with self._lock:
            self._writes[key] = self._writes.get(key, 0) + 1
            for entry in self._stores.get(key, {}).values():
                if set(entry.domains) & set(domains):
                    entry.checked = float("-inf")

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._stores.clear()
                self._building.clear()
            else:
                self._stores.pop(key, None)
                for pair in [p for p in self._building if p[0] == key]:
                    del self._building[pair]

    def _trusted(
        self, key: str, name: str, domains: tuple[Domain, ...] | None = None
    ) -> _Entry | None:
        """The entry of ``name`` when it needs no recheck now (no lock: dict reads are atomic)."""
        entry = self._stores.get(key, {}).get(name)
        if entry is None or (domains is not None and entry.domains != domains):
            return None
        if time.monotonic() - entry.checked > recheck_seconds():
            return None
        return entry

    def peek(self, key: str, name: str) -> Any:
        """The value cached under ``name`` if it needs no recheck now, else ``None``."""
        entry = self._trusted(key, name)
        return None if entry is None else entry.value

    def get(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        domains: tuple[Domain, ...],
        build: Callable[[duckdb.DuckDBPyConnection], T],
        refresh: bool,
    ) -> T:
        key = store_key(con)
        if not refresh:
            entry = self._trusted(key, name, domains)
            if entry is not None:
                return entry.value
        with self._lock:
            lock = self._building.setdefault((key, name), threading.Lock())
        with lock:  # one build per value at a time; other names go on
            entry = None if refresh else self._trusted(key, name, domains)
            if entry is not None:  # built or rechecked by the thread we waited for
                return entry.value
            entry = self._stores.get(key, {}).get(name)
            now = time.monotonic()
            writes = self._writes.get(key, 0)
            version = data_version(con, domains)
            if (
                entry is not None
                and not refresh
                and entry.domains == domains
                and entry.version == version
            ):
                if self._writes.get(key, 0) == writes:  # else a write came in meanwhile
                    entry.checked = now
                return entry.value
            value = build(con)
            with self._lock:
                values = self._stores.pop(key, {})
                self._stores[key] = values  # most recently used store last
                while len(self._stores) > _MAX_STORES:
                    gone = next(iter(self._stores))
                    del self._stores[gone]
                    for pair in [p for p in self._building if p[0] == gone]:
                        del self._building[pair]
                values.pop(name, None)
                # trusted from the end of the build (a build may take seconds); a write of
                # this process that committed meanwhile leaves it due at once
                fresh = self._writes.get(key, 0) == writes
                checked = time.monotonic() if fresh else float("-inf")
                values[name] = _Entry(value, domains, version, checked)
                while len(values) > _MAX_PER_STORE:
                    values.pop(next(iter(values)))
            return value


_CACHE: Final = _StoreCache()


def cached(
    con: duckdb.DuckDBPyConnection,
    name: str,
    domains: Sequence[str],
    build: Callable[[duckdb.DuckDBPyConnection], T],
    *,
    refresh: bool = False,
) -> T:
    """The value ``name`` of the store behind ``con``, built by ``build(con)`` when missing or
    when the data version of ``domains`` moved (checked at most every :func:`recheck_seconds`).

    Parameters
    ----------
    con
        A connection or cursor of the store (used to read the version and to build).
    name
        The value's name, unique per store (e.g. ``"address_registry.resolve_index"``).
    domains
        The domains the value is derived from.
    build
        Makes the value from the store.
    refresh
        Build anew whatever the version says.
    """
    return _CACHE.get(con, name, _check_domains(domains), build, refresh)


def peek(con_or_key: duckdb.DuckDBPyConnection | str, name: str) -> Any:
    """The cached value ``name`` when it is trusted without a recheck now, else ``None``.

    Costs no query when given the store key (see :func:`store_key`), so an ``async`` route may
    call it on the event loop and fall back to :func:`cached` in a worker thread.
    """
    key = con_or_key if isinstance(con_or_key, str) else store_key(con_or_key)
    return _CACHE.peek(key, name)


def clear_cache(con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Forget every cached value (of the store behind ``con``, or of every store)."""
    _CACHE.clear(None if con is None else store_key(con))
