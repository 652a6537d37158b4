"""What a running server holds: the store, per-thread cursors, the tiles, keys, audit and limits.

:class:`Service` is framework-free so that the routers stay thin and the same object can be
driven from a notebook or a benchmark. The store is opened **read-only** unless the server was
started ``writable`` (grid edits by planners): several read-only servers can share one file.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

import store
from api.audit import AuditLog
from api.auth import KeyStore, Principal, RateLimiter
from common.errors import Conflict, YizhiError
from common.settings import Settings, get_settings

log = logging.getLogger("yizhi.api")

#: Seconds between two checks that the data behind the tiles has not changed.
VERSION_RECHECK_SECONDS = 5.0


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
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.keys = KeyStore(self.settings.api_keys)
        self.audit = AuditLog(self.settings.audit_log)
        self.limiter = RateLimiter(self.settings.rate_limit, self.settings.rate_burst)
        self._tiles: Any = None
        self._tiles_lock = threading.Lock()
        self._checked = 0.0
        self._index_cursors: dict[str, duckdb.DuckDBPyConnection] = {}
        self._index_lock = threading.Lock()
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

    def tiles(self) -> Any:
        """The :class:`api.tiles.TileSet` of the store, loaded on first use and reloaded (with
        its cache dropped) when the data changes."""
        from api.tiles import TileCache, TileSet

        with self._tiles_lock:
            if self._tiles is None:
                cache = TileCache(max_bytes=self.settings.tile_cache_mb * 1024 * 1024)
                self._tiles = TileSet.from_store(self.cursor(), cache=cache)
                self._checked = time.monotonic()
            elif time.monotonic() - self._checked > VERSION_RECHECK_SECONDS:
                self._checked = time.monotonic()
                if self._tiles.refresh(self.cursor()):
                    log.info("tile data changed: now at version %s", self._tiles.version)
        return self._tiles

    def tiles_if_fresh(self) -> Any:
        """The loaded :class:`api.tiles.TileSet` when no version check is due, else ``None``.

        Never touches the store, so an ``async`` route may call it on the event loop and fall
        back to :meth:`tiles` in a worker thread when it answers ``None``.
        """
        tiles = self._tiles
        if tiles is None or time.monotonic() - self._checked > VERSION_RECHECK_SECONDS:
            return None
        return tiles

    def data_changed(self) -> None:
        """Tell the service that it wrote to the store: reload the tiles at the next request."""
        with self._tiles_lock:
            self._checked = 0.0

    # -- lookup indexes --------------------------------------------------------------------

    def index_cursor(self, name: str) -> duckdb.DuckDBPyConnection:
        """The one cursor of the in-memory lookup index ``name`` (``resolve``, ``search``).

        An index uses its cursor only under its own lock (to build itself and to check now and
        then that the store has not changed), so one cursor serves every thread; one per index
        because their locks differ.
        """
        with self._index_lock:
            cur = self._index_cursors.get(name)
            if cur is None:
                cur = self._index_cursors[name] = self.con.cursor()
            return cur

    def warm(self) -> None:
        """Build the in-memory lookup indexes (resolver, search box, grid at a point), load the
        address parser and (setting ``warm_tiles``, default on) the tile layers now (≈ 5 s on
        the sample city), so that the first request does not wait for them; then freeze them
        out of the garbage collector's walks.
        """
        from address_registry._resolve_index import index_for
        from address_registry.parse import parse
        from api._search import search_index_for
        from api.routes._point_index import cache_of

        started = time.monotonic()
        index_for(self.index_cursor("resolve"))
        search_index_for(self.index_cursor("search"))
        parse("上海市黄浦区中山东一路13号")
        try:
            cache_of(self).refresh(self)  # the grid-at-a-point index
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
