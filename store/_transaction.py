from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from yizhi.errors import Conflict


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` … ``COMMIT``, rolled back when the block (or the commit) raises.

    The error that ended the transaction is the one raised: DuckDB has already rolled back a
    transaction whose ``COMMIT`` failed (e.g. a write conflict), so the ``ROLLBACK`` that follows
    finds none and its own error is dropped. Transactions do not nest.

    Raises
    ------
    Conflict
        When the connection is already inside a transaction.

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
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.TransactionException as exc:
            if "no transaction is active" not in str(exc):
                raise
        raise
