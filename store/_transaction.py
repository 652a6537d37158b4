from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb

from common.errors import Conflict
from store._cache import _CACHE, mark_changed, store_key


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, *, changes: Sequence[str] = (), what: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` … ``COMMIT``, rolled back when the block (or the commit) raises.

    ``changes`` names the data domains the block writes (``"address_registry"``,
    ``"grid_partition"``, ``"layers"``, ``"fusion"``): their change is recorded in the same
    transaction (:func:`store.mark_changed`, with the note ``what``), so every cache derived from
    them is rebuilt (:func:`store.cached`).

    The error that ended the transaction is the one raised: DuckDB has already rolled back a
    transaction whose ``COMMIT`` failed (e.g. a write conflict), so the ``ROLLBACK`` that follows
    finds none and its own error is dropped. Transactions do not nest.

    A write that races another (both update one row: the lock row a writer takes first, see
    docs/architecture.md) loses with :class:`~common.errors.Conflict` and writes nothing.

    Raises
    ------
    Conflict
        When the connection is already inside a transaction, or another transaction wrote the
        same rows after this one began (DuckDB's write-write conflict).

    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    >>> with transaction(con):
    ...     _ = con.execute("INSERT INTO t VALUES (1)")
    >>> with transaction(con):
    ...     _ = con.execute("INSERT INTO t VALUES (2)")
    ...     _ = con.execute("INSERT INTO t VALUES (1)")
    Traceback (most recent call last):
    ...
    _duckdb.ConstraintException: Constraint Error: Duplicate key "x: 1" violates primary key ...
    >>> con.execute("SELECT count(*) FROM t").fetchone()
    (1,)
    """
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException as exc:
        raise Conflict(
            f"a write runs in its own transaction; the connection is already inside one: {exc}"
        ) from exc
    try:
        yield con
        if changes:
            mark_changed(con, *changes, what=what)
        con.execute("COMMIT")
    except BaseException as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.TransactionException as again:
            if "no transaction is active" not in str(again):
                raise
        if isinstance(exc, duckdb.TransactionException):
            doing = f" ({what})" if what else ""
            raise Conflict(
                f"another write changed the same data{doing} after this one began; retry: {exc}"
            ) from exc
        raise
    if changes:  # committed: values cached in this process recheck at their next use
        _CACHE.dirty(store_key(con), changes)
