"""The one cache of values derived from the store: keyed by the data version, one recheck rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import store
from common.errors import InvalidInput
from store import _cache


class Builds:
    """A build function that counts its calls and returns the count."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, con: duckdb.DuckDBPyConnection) -> int:
        self.calls += 1
        return self.calls


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    store.clear_cache()
    yield
    store.clear_cache()


@pytest.fixture
def recheck(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The recheck period, settable by the test (``recheck[0] = ...``)."""
    period = [60.0]
    monkeypatch.setattr(_cache, "recheck_seconds", lambda: period[0])
    return period


def _queries(con: duckdb.DuckDBPyConnection, calls: list[str]) -> duckdb.DuckDBPyConnection:
    """A stand-in for ``con`` that records the SQL it is given."""

    class Recording:
        def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
            calls.append(sql)
            return con.execute(sql, *args)

    return Recording()  # type: ignore[return-value]


def test_a_trusted_value_costs_no_query(db_path: Path, recheck: list[float]) -> None:
    con = store.connect(db_path)
    build = Builds()
    calls: list[str] = []
    spy = _queries(con, calls)
    assert store.cached(spy, "v", ("layers",), build) == 1
    asked = len(calls)  # the store key, the version
    assert asked == 2
    for _ in range(100):
        assert store.cached(spy, "v", ("layers",), build) == 1
    assert len(calls) == asked and build.calls == 1
    assert store.peek(store.store_key(con), "v") == 1


def test_a_write_of_this_process_is_seen_at_once(db_path: Path, recheck: list[float]) -> None:
    con = store.connect(db_path)
    build = Builds()
    assert store.cached(con, "v", ("layers", "fusion"), build) == 1
    with store.transaction(con, changes=("grid_partition",)):
        pass  # another domain: the value stays
    assert store.peek(con, "v") == 1
    assert store.cached(con, "v", ("layers", "fusion"), build) == 1
    with store.transaction(con, changes=("fusion",), what="test"):
        pass
    assert store.peek(con, "v") is None  # due for a recheck: an async caller goes to a thread
    assert store.cached(con, "v", ("layers", "fusion"), build) == 2
    store.mark_changed(con, "layers")  # autocommit
    assert store.cached(con, "v", ("layers", "fusion"), build) == 3


def test_every_cursor_and_connection_of_a_file_shares_one_value(
    db_path: Path, recheck: list[float]
) -> None:
    con = store.connect(db_path)
    other = store.connect(db_path)  # another connection to the same file
    build = Builds()
    assert store.cached(con, "v", ("layers",), build) == 1
    assert store.cached(con.cursor(), "v", ("layers",), build) == 1
    assert store.store_key(other) == store.store_key(con)
    assert store.cached(other, "v", ("layers",), build) == 1
    memory = store.connect(":memory:")
    assert store.cached(memory, "v", ("layers",), build) == 2  # another store


def test_a_change_of_another_process_is_seen_within_the_recheck(
    db_path: Path, recheck: list[float]
) -> None:
    con = store.connect(db_path)
    build = Builds()
    assert store.cached(con, "v", ("address_registry",), build) == 1
    # what another process's write leaves: a row in data_changes, nothing in this cache
    con.execute("INSERT INTO data_changes (domain, what) VALUES ('address_registry', 'elsewhere')")
    assert store.cached(con, "v", ("address_registry",), build) == 1  # trusted until rechecked
    recheck[0] = 0.0
    assert store.cached(con, "v", ("address_registry",), build) == 2
    assert store.cached(con, "v", ("address_registry",), build) == 2  # same version: kept


def test_a_write_during_a_build_leaves_the_value_due(db_path: Path, recheck: list[float]) -> None:
    con = store.connect(db_path)
    writer = con.cursor()

    def build(c: duckdb.DuckDBPyConnection) -> str:
        with store.transaction(writer, changes=("layers",)):
            pass
        return "built before the write was seen"

    store.cached(con, "v", ("layers",), build)
    assert store.peek(con, "v") is None  # not trusted: the next call reads the version again


def test_refresh_and_clear(db_path: Path, recheck: list[float]) -> None:
    con = store.connect(db_path)
    build = Builds()
    store.cached(con, "v", ("layers",), build)
    assert store.cached(con, "v", ("layers",), build, refresh=True) == 2
    store.clear_cache(con)
    assert store.peek(con, "v") is None
    assert store.cached(con, "v", ("layers",), build) == 3


def test_one_build_at_a_time(db_path: Path, recheck: list[float]) -> None:
    con = store.connect(db_path)
    started = threading.Barrier(4)
    builds: list[int] = []

    def slow(c: duckdb.DuckDBPyConnection) -> int:
        builds.append(1)
        time.sleep(0.2)
        return len(builds)

    results: list[int] = []

    def ask() -> None:
        cur = con.cursor()
        started.wait()
        results.append(store.cached(cur, "slow", ("fusion",), slow))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1, 1, 1, 1] and len(builds) == 1


def test_versions_and_tokens(db_path: Path) -> None:
    con = store.connect(db_path)
    before = store.data_version(con, ("layers",))
    token = store.version_token(con)
    assert before[0][:2] == ("layers", 1)  # the row of migration 0008
    store.mark_changed(con, "layers", what="test")
    assert store.data_version(con, ("layers",)) != before
    assert store.data_version(con, ("fusion",))[0][1] == 1
    assert store.version_token(con) != token and len(token) == 16
    with pytest.raises(InvalidInput, match="unknown data domain"):
        store.cached(con, "v", ("buildings",), Builds())
    with pytest.raises(InvalidInput):
        store.mark_changed(con)


def test_a_collected_connection_is_not_taken_for_a_new_one(tmp_path: Path) -> None:
    first = store.connect(tmp_path / "a.duckdb")
    key = store.store_key(first)
    first.close()
    del first
    second = store.connect(tmp_path / "b.duckdb")
    assert store.store_key(second) != key and store.store_key(second).endswith("b.duckdb")


def test_a_new_memory_store_does_not_see_the_values_of_a_collected_one() -> None:
    build = Builds()
    first = store.connect(":memory:")
    assert store.cached(first, "v", ("layers",), build) == 1
    key = store.store_key(first)
    first.close()
    del first
    # a new connection may get the id (and so the key) of the collected one
    second = store.connect(":memory:")
    if store.store_key(second) == key:
        assert store.peek(key, "v") is None
    assert store.cached(second, "v", ("layers",), build) == 2
