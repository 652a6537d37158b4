"""An in-memory LRU cache of encoded tiles, bounded in bytes, keyed by data version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class CacheStats:
    """Counters of a :class:`TileCache`."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidated: int = 0


class TileCache:
    """Least-recently-used cache of tile bytes.

    Keys are tuples whose fifth item is the data version, e.g. ``(layer, z, x, y, version, ...)``;
    :meth:`invalidate` drops every entry of another version. Empty tiles (``b""``) are cached too:
    most requests of a sparse layer are for empty tiles.

    >>> cache = TileCache(max_bytes=10)
    >>> cache.put(("buildings", 14, 1, 2, "v1"), b"abcdef")
    >>> cache.get(("buildings", 14, 1, 2, "v1"))
    b'abcdef'
    >>> cache.put(("buildings", 14, 1, 3, "v1"), b"ghijkl")  # over 10 bytes: evicts the oldest
    >>> cache.get(("buildings", 14, 1, 2, "v1")) is None
    True
    """

    #: Bytes charged per entry on top of its data (key and bookkeeping).
    OVERHEAD = 0

    def __init__(self, max_bytes: int = 256 * 2**20, max_items: int = 1_000_000) -> None:
        self.max_bytes = max_bytes
        self.max_items = max_items
        self._data: OrderedDict[tuple[Hashable, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Bytes of tile data held."""
        return self._bytes

    def get(self, key: tuple[Hashable, ...]) -> bytes | None:
        """The cached tile, or ``None``."""
        with self._lock:
            data = self._data.get(key)
            if data is None:
                self.stats.misses += 1
                return None
            self._data.move_to_end(key)
            self.stats.hits += 1
            return data

    def put(self, key: tuple[Hashable, ...], data: bytes) -> None:
        """Store a tile, evicting the least recently used ones beyond the bounds."""
        size = len(data) + self.OVERHEAD
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old) + self.OVERHEAD
            self._data[key] = data
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._data) > self.max_items:
                _, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped) + self.OVERHEAD
                self.stats.evictions += 1

    def invalidate(self, keep_version: str | None = None) -> int:
        """Drop every entry (or every entry whose version is not ``keep_version``)."""
        with self._lock:
            if keep_version is None:
                stale = list(self._data)
            else:
                stale = [k for k in self._data if len(k) < 5 or k[4] != keep_version]
            for k in stale:
                self._bytes -= len(self._data.pop(k)) + self.OVERHEAD
            self.stats.invalidated += len(stale)
            return len(stale)
