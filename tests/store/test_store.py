"""The store: offline spatial extension, migrations (fresh, upgrade, failure, too new)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import store
from common.errors import SchemaError
from store import Migration, available_migrations


def _write(directory: Path, files: dict[str, str]) -> list[Migration]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return available_migrations(directory)


TOY = {
    "0001_people.sql": "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR);",
    "0002_places.sql": (
        "CREATE TABLE places (id INTEGER PRIMARY KEY, geom GEOMETRY);\n"
        "ALTER TABLE people ADD COLUMN place_id INTEGER;"
    ),
    "0003_seed.sql": "INSERT INTO places VALUES (1, ST_Point(121.49, 31.24));",
}


def _schema(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name <> 'schema_migrations' ORDER BY ALL"
    ).fetchall()


def test_spatial_loads_from_wheel_without_network(db_path: Path) -> None:
    con = store.connect(db_path)
    loaded = con.execute(
        "SELECT loaded, install_path FROM duckdb_extensions() WHERE extension_name = 'spatial'"
    ).fetchone()
    assert loaded is not None and loaded[0] is True
    assert con.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone() == ("POINT (1 2)",)
    # autoinstall is off: an extension that is not shipped cannot be fetched behind our back
    assert con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone() == (
        False,
    )
    con.close()


def test_spatial_path_is_inside_the_wheel() -> None:
    path = store.spatial_extension_path()
    assert path.is_file()
    assert "duckdb_extension_spatial" in str(path)
    assert f"v{duckdb.__version__}" in str(path)


def test_fresh_create_applies_all_and_is_idempotent(tmp_path: Path, db_path: Path) -> None:
    migrations = _write(tmp_path / "m", TOY)
    con = store.connect(db_path, migrate=False)
    assert store.migrate(con, migrations=migrations) == [1, 2, 3]
    assert store.migrate(con, migrations=migrations) == []
    assert sorted(store.applied_versions(con)) == [1, 2, 3]
    assert con.execute("SELECT count(*) FROM places").fetchone() == (1,)
    con.close()


@pytest.mark.parametrize("start", [0, 1, 2])
def test_upgrade_from_every_older_version(tmp_path: Path, start: int) -> None:
    migrations = _write(tmp_path / "m", TOY)
    fresh = store.connect(tmp_path / "fresh.duckdb", migrate=False)
    store.migrate(fresh, migrations=migrations)
    old = store.connect(tmp_path / "old.duckdb", migrate=False)
    store.migrate(old, migrations=migrations, target=start)
    assert max(store.applied_versions(old), default=0) == start
    old.close()
    old = store.connect(tmp_path / "old.duckdb", migrate=False)
    applied = store.migrate(old, migrations=migrations)
    assert applied == list(range(start + 1, 4))
    assert _schema(old) == _schema(fresh)


def test_real_migrations_upgrade_from_every_version(tmp_path: Path) -> None:
    migrations = available_migrations()
    fresh = store.connect(tmp_path / "fresh.duckdb")
    for start in range(len(migrations)):
        path = tmp_path / f"v{start}.duckdb"
        con = store.connect(path, migrate=False)
        store.migrate(con, target=start)
        store.migrate(con)
        assert _schema(con) == _schema(fresh), f"upgrade from version {start} differs"
        con.close()


def test_failed_migration_leaves_previous_version(tmp_path: Path, db_path: Path) -> None:
    broken = dict(TOY)
    broken["0003_seed.sql"] = (
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    )
    migrations = _write(tmp_path / "m", broken)
    con = store.connect(db_path, migrate=False)
    with pytest.raises(SchemaError, match=r"0003_seed.sql failed .* stays at version 2"):
        store.migrate(con, migrations=migrations)
    assert sorted(store.applied_versions(con)) == [1, 2]
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "half_done" not in tables
    con.close()


def test_migration_that_ends_its_own_transaction_is_named(tmp_path: Path, db_path: Path) -> None:
    # a COMMIT inside the file ends the runner's transaction, so the runner's own COMMIT fails:
    # the error raised names the file, not the ROLLBACK that then finds no transaction
    broken = dict(TOY)
    broken["0003_seed.sql"] = "CREATE TABLE half_done (x INTEGER);\nCOMMIT;"
    migrations = _write(tmp_path / "m", broken)
    con = store.connect(db_path, migrate=False)
    with pytest.raises(SchemaError, match=r"migration 0003_seed.sql failed"):
        store.migrate(con, migrations=migrations)
    con.close()


def test_refuses_database_newer_than_code(tmp_path: Path, db_path: Path) -> None:
    migrations = _write(tmp_path / "new", TOY)
    con = store.connect(db_path, migrate=False)
    store.migrate(con, migrations=migrations)
    con.close()
    older_code = _write(tmp_path / "old", {k: v for k, v in TOY.items() if k < "0003"})
    con = store.connect(db_path, migrate=False)
    with pytest.raises(SchemaError, match="schema version 3 but this code knows only up to 2"):
        store.migrate(con, migrations=older_code)
    con.close()


def test_refuses_edited_migration(tmp_path: Path, db_path: Path) -> None:
    directory = tmp_path / "m"
    migrations = _write(directory, TOY)
    con = store.connect(db_path, migrate=False)
    store.migrate(con, migrations=migrations)
    (directory / "0001_people.sql").write_text("CREATE TABLE people (id BIGINT);")
    with pytest.raises(SchemaError, match="changed after it was applied"):
        store.migrate(con, migrations=available_migrations(directory))
    con.close()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["0001_a.sql", "0003_c.sql"], "without gaps"),
        (["1_a.sql"], "not named NNNN_name.sql"),
        (["0001_a.sql", "0001_b.sql"], "share version 1"),
    ],
)
def test_bad_migration_directories(tmp_path: Path, names: list[str], message: str) -> None:
    directory = tmp_path / "bad"
    directory.mkdir()
    for name in names:
        (directory / name).write_text("SELECT 1;")
    with pytest.raises(SchemaError, match=message):
        available_migrations(directory)


def test_missing_migration_directory_is_an_error(tmp_path: Path) -> None:
    # an installation without its migrations must not look like an up-to-date store
    with pytest.raises(SchemaError, match="no migrations directory"):
        available_migrations(tmp_path / "nowhere")


def test_read_only_reader_sees_data_and_cannot_write(db_path: Path) -> None:
    con = store.connect(db_path)
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    reader = store.connect(db_path, read_only=True)
    assert reader.execute("SELECT x FROM t").fetchone() == (1,)
    with pytest.raises(duckdb.Error):
        reader.execute("CREATE TABLE u (y INTEGER)")
    reader.close()


def test_memory_store() -> None:
    con = store.connect(":memory:")
    assert con.execute(
        "SELECT ST_Area(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))'))"
    ).fetchone() == (1.0,)
    con.close()


def test_missing_wheel_gives_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "duckdb_extension_spatial"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import sys

    monkeypatch.delitem(sys.modules, "duckdb_extension_spatial", raising=False)
    importlib.invalidate_caches()
    from common.errors import MissingDependency

    with pytest.raises(MissingDependency, match="pin both to the same version"):
        store.spatial_extension_path()
    shutil.rmtree(fake)


def test_spatial_loads_with_network_cut(tmp_path: Path) -> None:
    """Open a store in a process that has no network at all (a fresh network namespace)."""
    import subprocess
    import sys

    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], check=False).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare and root)")
    code = (
        "import store, sys; con = store.connect(sys.argv[1]); "
        "print(con.execute('SELECT ST_AsText(ST_Buffer(ST_Point(0, 0), 1))').fetchone()[0][:7])"
    )
    out = subprocess.run(
        [unshare, "-n", sys.executable, "-c", code, str(tmp_path / "offline.duckdb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "POLYGON"


def test_read_only_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    from common.errors import NotFound

    with pytest.raises(NotFound, match="no yizhi store at"):
        store.connect(tmp_path / "absent.duckdb", read_only=True)
