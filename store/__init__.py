"""The DuckDB store: the connection, the migration runner, transactions and the one cache.

Every package reads and writes the database through :func:`connect`, which opens the file,
loads the spatial extension from the ``duckdb-extension-spatial`` wheel (never from the web:
autoload and autoinstall are switched off) and, unless told otherwise, applies pending
migrations. :func:`transaction` wraps a unit of writes and records the data domains it changed;
:func:`cached` is the one cache of values derived from the store, keyed by the data version of
the domains they read.
"""

from store._cache import (
    DOMAINS,
    Domain,
    cached,
    clear_cache,
    data_version,
    mark_changed,
    peek,
    store_key,
    version_token,
)
from store._connect import connect, spatial_extension_path
from store._diff import compare as compare_stores
from store._migrations import (
    Migration,
    applied_versions,
    available_migrations,
    migrate,
    table_counts,
)
from store._transaction import transaction

#: The tables the store itself keeps (see docs/architecture.md for every owner's).
TABLES = frozenset({"schema_migrations", "data_changes"})

__all__ = [
    "DOMAINS",
    "TABLES",
    "Domain",
    "Migration",
    "applied_versions",
    "available_migrations",
    "cached",
    "clear_cache",
    "compare_stores",
    "connect",
    "data_version",
    "mark_changed",
    "migrate",
    "peek",
    "spatial_extension_path",
    "store_key",
    "table_counts",
    "transaction",
    "version_token",
]
