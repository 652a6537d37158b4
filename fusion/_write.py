"""Fusion's writes: one :func:`store.transaction` that first takes a lock row.

``links``, ``unlinked`` and ``block_data`` have no key (migrations 0006, 0007: their indexes cost
more than the rows), so nothing in them stops two runs from writing the same records twice. A
writer therefore first updates its row of a lock table (``link_locks``: one row per layer;
``block_locks``: one row for the block data): two transactions updating one row are a
write-write conflict, and :func:`store.transaction` turns the loser's into
:class:`~common.errors.Conflict`, with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

import store

#: Lock table -> the column naming its rows.
LOCKS = {"link_locks": "layer", "block_locks": "name"}


@contextmanager
def locked(
    con: duckdb.DuckDBPyConnection, table: str, key: str, *, what: str, **columns: Any
) -> Iterator[None]:
    """A transaction over fusion's data that first takes the row ``key`` of lock ``table``.

    Parameters
    ----------
    table
        ``link_locks`` or ``block_locks``.
    key
        The row: a layer, or ``block_data``.
    what
        What is written, for the Conflict message (``"the links of 'people'"``).
    **columns
        Other columns of the lock row to set (``grid_version=3``).

    Raises
    ------
    Conflict
        Another run holds the row (or wrote it after this transaction began).
    """
    sets = ", ".join(["locked_at = current_timestamp", *(f"{c} = ?" for c in columns)])
    with store.transaction(con, changes=("fusion",), what=what):
        con.execute(f"UPDATE {table} SET {sets} WHERE {LOCKS[table]} = ?", [*columns.values(), key])
        yield
