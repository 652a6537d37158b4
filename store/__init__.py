"""The DuckDB store: one connection helper and the migration runner.

Every package reads and writes the database through :func:`connect`; :func:`transaction`
wraps a unit of writes. It opens the file, loads
the spatial extension from the ``duckdb-extension-spatial`` wheel (never from the web: autoload
and autoinstall are switched off) and, unless told otherwise, applies pending migrations.
"""

from store._connect import connect, spatial_extension_path
from store._migrations import Migration, applied_versions, available_migrations, migrate
from store._transaction import transaction

__all__ = [
    "Migration",
    "applied_versions",
    "available_migrations",
    "connect",
    "migrate",
    "spatial_extension_path",
    "transaction",
]
