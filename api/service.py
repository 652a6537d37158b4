"""What a running server holds: the store, per-thread cursors, the tiles, keys, audit and limits.

:class:`Service` is framework-free so that the routers stay thin and the same object can be
driven from a notebook or a benchmark. The store is opened **read-only** unless the server was
started ``writable`` (grid edits by planners): several read-only servers can share one file.

Everything the service derives from the store (the resolver's and the search box's indexes, the
grid-at-a-point index, the tile layers) lives in the store's one cache (:func:`store.cached`),
keyed by the data version of what it reads: a write of this server (through
:func:`store.transaction`) is seen by the next request, another process's within
``YIZHI_RECHECK_SECONDS``.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from pathlib import Path

import duckdb

import store
from address_registry.parse import parse
from address_registry.resolve import index_for
from api._grid_at import grid_index
from api._search import search_index
from api.audit import AuditLog
from api.auth import KeyStore, Principal, RateLimiter
from api.tiles import TileCache, TileSet
from common.errors import Conflict, YizhiError
from common.settings import Settings, get_settings

log = logging.getLogger("yizhi.api")

#: The name of the tile layers in the store's cache.
TILES = "api.tiles"


class Service:
    """The state of one API process.

    Parameters
    ----------
    db
        The store file (default: ``YIZHI_DB``).
    writable
        Open the store read-write (enables planner edits); read-only by default.
    settings
        Settings (default: from the environment).
    """

    def __init__(
        self,
        db: Path | str | None = None,
        *,
        writable: bool = False,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.db = Path(db) if db is not None else self.settings.db
        self.writable = writable
        self.con = store.connect(self.db, read_only=not writable)
        #: The store's key in the one cache (:func:`store.peek` needs no query with it).
        self.store_key = store.store_key(self.con)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.keys = KeyStore(self.settings.api_keys)
        self.audit = AuditLog(self.settings.audit_log)
        self.limiter = RateLimiter(self.settings.rate_limit, self.settings.rate_burst)
        self.started = time.time()

    # -- the store -------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the store (DuckDB connections are not shared by threads)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
        return cur

    def writer(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor for a write; :class:`~common.errors.Conflict` when read-only.

        Hold :attr:`write_lock` around the write so that writes are serialised.
        """
        if not self.writable:
            raise Conflict(
                "this server opened the store read-only; start it with `yizhi serve --writable` "
                "to accept edits",
            )
        return self.cursor()

    @property
    def write_lock(self) -> threading.Lock:
        """The lock that serialises writes to the store."""
        return self._write_lock

    # -- tiles -----------------------------------------------------------------------------

    def tiles(self) -> TileSet:
        """The :class:`api.tiles.TileSet` of the store, loaded on first use and loaded anew
        (with a fresh tile cache) when the data behind it changes (blocking: an ``async`` route
        calls it in a worker thread)."""
        return store.cached(self.cursor(), TILES, store.DOMAINS, self._load_tiles)

    def _load_tiles(self, con: duckdb.DuckDBPyConnection) -> TileSet:
        cache = TileCache(max_bytes=self.settings.tile_cache_mb * 1024 * 1024)
        tiles = TileSet.from_store(con, cache=cache)
        log.info("tile layers loaded at data version %s", tiles.version)
        return tiles

    def tiles_if_fresh(self) -> TileSet | None:
        """The loaded :class:`api.tiles.TileSet` when no version check is due, else ``None``.

        Never touches the store, so an ``async`` route may call it on the event loop and fall
        back to :meth:`tiles` in a worker thread when it answers ``None``.
        """
        tiles: TileSet | None = store.peek(self.store_key, TILES)
        return tiles

    # -- lookup indexes --------------------------------------------------------------------

    def fresh(self, name: str) -> bool:
        """Whether the value ``name`` of the store's cache (an index) answers now without a
        query (:func:`store.peek`): an ``async`` route then uses it on the event loop."""
        return store.peek(self.store_key, name) is not None

    def warm(self) -> None:
        """Build the in-memory lookup indexes (resolver, search box, grid at a point), load the
        address parser and (setting ``warm_tiles``, default on) the tile layers now (≈ 5 s on
        the sample city), so that the first request does not wait for them; then freeze them
        out of the garbage collector's walks.
        """
        started = time.monotonic()
        cur = self.cursor()
        index_for(cur)
        search_index(cur)
        parse("上海市黄浦区中山东一路13号")
        try:
            grid_index(cur)
        except YizhiError as exc:  # a store without grids yet still serves lookups
            log.warning("no grid index: %s", exc.message)
        if self.settings.warm_tiles:
            try:
                self.tiles()  # the tile layers, so that the viewer's first map draws at once
            except YizhiError as exc:
                log.warning("tiles not loaded: %s", exc.message)
        # The indexes are millions of long-lived objects: keep the cyclic garbage collector
        # from walking them on every full collection (tens of ms pauses under load).
        gc.collect()
        gc.freeze()
        log.info("lookup indexes ready in %.1f s", time.monotonic() - started)

    # -- callers ---------------------------------------------------------------------------

    def authenticate(self, secret: str | None, client: str) -> Principal:
        """The caller of a request, rate-limited."""
        principal = self.keys.authenticate(secret)
        self.limiter.check(principal, client)
        return principal

    def audit_read(
        self, principal: Principal, client: str, action: str, subjects: list[str]
    ) -> None:
        """Write one person-level read to the audit log."""
        self.audit.record(
            key_id=principal.key_id,
            key_name=principal.name,
            client=client,
            action=action,
            subjects=subjects,
        )

    def close(self) -> None:
        """Close the store."""
        self.con.close()
