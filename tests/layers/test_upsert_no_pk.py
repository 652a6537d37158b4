"""Layer tables without a PRIMARY KEY (migration 0005): the ingest alone keeps source_id unique."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store
from common.errors import Conflict
from layers.ingest import ingest
from layers.schemas import KINDS

from ._helpers import PEOPLE_HEADER, SECRET, people_rows

WriteCsv = Callable[..., Path]
LAYER_TABLES = ("people", "legal_persons", "houses", "events", "sensors", "sensor_readings")


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()


def _dupes(con: duckdb.DuckDBPyConnection) -> list[Any]:
    return _q(con, "SELECT source_id FROM people GROUP BY source_id HAVING count(*) > 1")


def test_layer_tables_have_no_primary_key(con: duckdb.DuckDBPyConnection) -> None:
    rows = _q(
        con,
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type IN "
        "('PRIMARY KEY', 'UNIQUE') AND table_name IN "
        f"({', '.join(repr(t) for t in LAYER_TABLES)})",
    )
    assert rows == []
    locks = {layer for (layer,) in _q(con, "SELECT layer FROM layer_locks")}
    assert locks == set(KINDS)  # every kind has the lock row its ingest takes
    assert {k.table for k in KINDS.values()} == set(LAYER_TABLES)


def test_duplicate_source_id_across_two_ingests_is_one_row(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    ingest(con, "people", write_csv("a.csv", PEOPLE_HEADER, people_rows(4)), secret=SECRET)
    rows = people_rows(4, start=2)  # P00002, P00003 again; P00004, P00005 new
    rows[0][6] = "中山东一路2号"  # P00002 changed
    rows.append(list(rows[1]))  # P00003 twice in the second file
    report = ingest(con, "people", write_csv("b.csv", PEOPLE_HEADER, rows), secret=SECRET)
    assert (report.inserted, report.updated, report.unchanged) == (2, 1, 1)
    assert report.reasons == {"duplicate_source_id": 1}
    assert report.rows_in == 5 == report.loaded + report.quarantined
    assert _dupes(con) == []
    assert _q(con, "SELECT count(*), count(DISTINCT source_id) FROM people") == [(6, 6)]
    changed = _q(con, "SELECT address, batch_id FROM people WHERE source_id = 'P00002'")
    assert changed == [("中山东一路2号", report.batch_id)]
    kept = _q(con, "SELECT batch_id <> ? FROM people WHERE source_id = 'P00003'", [report.batch_id])
    assert kept == [(True,)]  # unchanged rows keep the batch that wrote them


def test_reingest_changes_nothing(con: duckdb.DuckDBPyConnection, write_csv: WriteCsv) -> None:
    path = write_csv("a.csv", PEOPLE_HEADER, people_rows(6))
    ingest(con, "people", path, secret=SECRET)
    before = _q(con, "SELECT * FROM people ORDER BY source_id")
    again = ingest(con, "people", path, secret=SECRET)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert _q(con, "SELECT * FROM people ORDER BY source_id") == before


def test_concurrent_ingest_of_one_layer_conflicts(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    path = write_csv("a.csv", PEOPLE_HEADER, people_rows(3))
    other = con.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute("UPDATE layer_locks SET batch_id = 'other' WHERE layer = 'people'")
    with pytest.raises(Conflict, match="people"):
        ingest(con.cursor(), "people", path, secret=SECRET)
    other.execute("ROLLBACK")
    assert _q(con, "SELECT count(*) FROM people") == [(0,)]
    assert ingest(con, "people", path, secret=SECRET).inserted == 3
    # another layer is not held up by the people lock
    other.execute("BEGIN TRANSACTION")
    other.execute("UPDATE layer_locks SET batch_id = 'other' WHERE layer = 'houses'")
    assert ingest(con.cursor(), "people", path, secret=SECRET).unchanged == 3
    other.execute("ROLLBACK")


def test_migration_keeps_existing_rows(tmp_path: Path, write_csv: WriteCsv) -> None:
    con = store.connect(tmp_path / "old.duckdb", migrate=False)
    try:
        store.migrate(con, target=4)
        assert _q(
            con,
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'people' "
            "AND constraint_type = 'PRIMARY KEY'",
        ) == [(1,)]
        fresh = store.connect(":memory:")  # rows as an ingest wrote them, copied to the old store
        ingest(fresh, "people", write_csv("a.csv", PEOPLE_HEADER, people_rows(5)), secret=SECRET)
        loaded = _q(fresh, "SELECT * FROM people")
        fresh.close()
        con.executemany(f"INSERT INTO people VALUES ({', '.join(['?'] * 17)})", loaded)
        con.execute(
            "INSERT INTO houses (source_id, room_id, use, occupants, row_hash, ingested_at, "
            "batch_id) VALUES ('H1', 'R1', 'rented', 2, 'h', now(), 'b')"
        )
        people = _q(con, "SELECT * FROM people ORDER BY source_id")
        houses = _q(con, "SELECT * FROM houses")
        columns = _q(
            con,
            "SELECT table_name, column_name, data_type, column_default, is_nullable "
            "FROM information_schema.columns WHERE table_name IN "
            f"({', '.join(repr(t) for t in LAYER_TABLES)}) ORDER BY table_name, ordinal_position",
        )
        assert 5 in store.migrate(con)
        assert _q(con, "SELECT * FROM people ORDER BY source_id") == people
        assert _q(con, "SELECT * FROM houses") == houses
        after = _q(
            con,
            "SELECT table_name, column_name, data_type, column_default, is_nullable "
            "FROM information_schema.columns WHERE table_name IN "
            f"({', '.join(repr(t) for t in LAYER_TABLES)}) ORDER BY table_name, ordinal_position",
        )
        assert after == columns  # source_id stays NOT NULL (the PK implied it)
        with pytest.raises(duckdb.ConstraintException):  # the checks are kept
            con.execute(
                "INSERT INTO houses (source_id, room_id, use, row_hash, ingested_at, batch_id) "
                "VALUES ('H2', 'R2', 'castle', 'h', now(), 'b')"
            )
        rows = people_rows(6)
        rows[0][6] = "中山东一路1号"
        report = ingest(con, "people", write_csv("b.csv", PEOPLE_HEADER, rows), secret=SECRET)
        assert (report.inserted, report.updated, report.unchanged) == (1, 1, 4)
        assert _q(con, "SELECT count(*), count(DISTINCT source_id) FROM people") == [(6, 6)]
    finally:
        con.close()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    files=st.lists(
        st.lists(st.tuples(st.integers(0, 7), st.integers(0, 2)), min_size=1, max_size=8),
        min_size=1,
        max_size=3,
    )
)
def test_any_sequence_of_ingests_matches_last_write_wins(
    write_csv: WriteCsv, files: list[list[tuple[int, int]]]
) -> None:
    """Each file: (person, address version) pairs; a repeated person in a file is quarantined."""
    con = store.connect(":memory:")
    try:
        model: dict[str, str] = {}
        for n, entries in enumerate(files):
            rows, seen = [], set()
            for person, version in entries:
                row = people_rows(1, start=person)[0]
                row[6] = f"外滩路{person}号{version}室"
                rows.append(row)
                if person not in seen:
                    seen.add(person)
                    model[row[0]] = row[6]
            report = ingest(
                con, "people", write_csv(f"f{n}.csv", PEOPLE_HEADER, rows), secret=SECRET
            )
            assert report.rows_in == len(rows) == report.loaded + report.quarantined
            assert report.quarantined == len(rows) - len(seen)
        assert dict(_q(con, "SELECT source_id, address FROM people")) == model
        assert _dupes(con) == []
    finally:
        con.close()
