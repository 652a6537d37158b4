from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from common.errors import Conflict, SchemaError
from common.settings import get_settings
from store._transaction import transaction

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One ``migrations/NNNN_name.sql`` file."""

    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations(directory: Path | None = None) -> list[Migration]:
    """List the migrations of the code, in version order.

    Raises
    ------
    SchemaError
        When the directory does not exist, a file is misnamed or two files share a version.
    """
    directory = directory or get_settings().migrations_dir
    if not directory.is_dir():
        raise SchemaError(f"no migrations directory {str(directory)!r} (YIZHI_MIGRATIONS_DIR)")
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise SchemaError(f"migration file {path.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise SchemaError(
                f"migrations {found[version].path.name!r} and {path.name!r} share version {version}"
            )
        found[version] = Migration(version, match.group(2), path)
    versions = sorted(found)
    if versions and versions != list(range(1, len(versions) + 1)):
        raise SchemaError(f"migration versions must run 1..n without gaps, found {versions}")
    return [found[v] for v in versions]


_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    checksum   VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)
"""


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    return bool(row and row[0])


def applied_versions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Return ``{version: checksum}`` of the migrations recorded in the database."""
    if not _has_ledger(con):
        return {}
    return dict(con.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The row count of every table of the store, by name (``yizhi db status``)."""
    names = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "ORDER BY table_name"
    ).fetchall()
    counts = {}
    for (name,) in names:
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[str(name)] = int(row[0]) if row else 0
    return counts


def check_version(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> int:
    """Check that the database is not newer than the code and return its version."""
    migrations = available_migrations() if migrations is None else migrations
    known = {m.version: m for m in migrations}
    applied = applied_versions(con)
    newest_code = max(known, default=0)
    newest_db = max(applied, default=0)
    if newest_db > newest_code:
        raise SchemaError(
            f"the database is at schema version {newest_db} but this code knows only up to "
            f"{newest_code}: upgrade yizhi or open another database"
        )
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise SchemaError(
                f"migration {known[version].path.name} changed after it was applied "
                f"(database checksum {checksum[:12]}, file {known[version].checksum[:12]}); "
                "add a new migration instead of editing an applied one"
            )
    return newest_db


def migrate(
    con: duckdb.DuckDBPyConnection,
    *,
    target: int | None = None,
    migrations: list[Migration] | None = None,
) -> list[int]:
    """Apply pending migrations in order, each in its own transaction.

    Parameters
    ----------
    con
        A writable connection.
    target
        Stop after this version (default: the newest).
    migrations
        The migrations to use (default: ``migrations/`` of the settings).

    Returns
    -------
    list[int]
        The versions applied now (empty when the database was up to date).

    Raises
    ------
    SchemaError
        When the database is newer than the code, an applied file was edited, or a migration
        fails; a failed migration is rolled back and leaves the database at the version before.
    """
    migrations = available_migrations() if migrations is None else migrations
    con.execute(_LEDGER)
    current = check_version(con, migrations)
    done: list[int] = []
    for m in migrations:
        if m.version <= current or (target is not None and m.version > target):
            continue
        try:
            with transaction(con):
                con.execute(m.sql)
                con.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                    [m.version, m.name, m.checksum],
                )
        except (duckdb.Error, Conflict) as exc:
            raise SchemaError(
                f"migration {m.path.name} failed and was rolled back; the database stays at "
                f"version {current}: {exc}"
            ) from exc
        current = m.version
        done.append(m.version)
    return done
