"""Linking layer records to rooms, buildings and grids on a crafted store (known answers)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import store
from common.errors import Conflict, InvalidInput, NotFound
from fusion.link import link
from grid_partition.queries import NoActiveGridVersion
from tests.fusion import _fusion_store as fs


@pytest.fixture
def store_con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    yield con
    con.close()


def _links(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[object, ...]]:
    rows = con.execute(
        "SELECT source_id, method, room_id, building_id, micro_grid_code, grid_code, "
        "unit_grid_code, community_code, street_code, district_code, confidence, grid_version "
        "FROM links ORDER BY layer, source_id"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def _queue(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    rows = con.execute("SELECT source_id, reason, detail FROM unlinked").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_each_method_links_to_the_known_building_and_grids(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    link(store_con)
    got = _links(store_con)
    codes = (fs.COMMUNITY, fs.STREET, fs.DISTRICT)
    assert got["p1"][:7] == ("room_id", fs.room(fs.A), fs.A, fs.MG1, fs.GRID1, fs.UNIT, *codes[:1])
    assert got["p1"][7:9] == codes[1:]
    assert got["p1"][9] == 1.0 and got["p1"][10] == 1
    assert got["p2"][:4] == ("building_id", None, fs.A, fs.MG1)  # room 7 is not registered
    assert got["p3"][:4] == ("address", None, fs.A, fs.MG1)
    assert got["h2"][:6] == ("room_id", fs.room(fs.D), fs.D, fs.MG3, fs.GRID2, None)
    assert got["e1"][:4] == ("coordinates", None, fs.B, fs.MG2)
    assert got["e1"][9] == 0.95
    assert got["e2"][:4] == ("coordinates", None, fs.A, fs.MG1)  # nearest, 10 m away
    assert 0.6 < got["e2"][9] < 0.95
    assert got["e3"][:5] == ("coordinates_area", None, None, fs.MG2, fs.GRID1)
    assert got["s1"][:4] == ("coordinates", None, fs.D, fs.MG3)
    assert got["l1"][:3] == ("address", None, fs.A)
    assert got["l2"][:3] == ("coordinates", None, fs.B)  # address unresolved, point in B


def test_unlinked_records_carry_their_reason(store_con: duckdb.DuckDBPyConnection) -> None:
    report = link(store_con)
    queue = _queue(store_con)
    assert {k: v[0] for k, v in queue.items()} == {
        "p4": "address_unresolved",
        "p5": "no_room",
        "p6": "unknown_room",
        "p7": "outside_grids",
        "e4": "outside_grids",
        "s2": "no_location",
    }
    assert "火星路999号" in str(queue["p4"][1])
    assert fs.E in str(queue["p7"][1])
    people = report["layers"]["people"]
    assert people["total"] == people["linked"] + people["unlinked"] == 13
    assert people["by_method"] == {"room_id": 7, "building_id": 1, "address": 1}
    # a record is linked or queued, never both
    both = store_con.execute(
        "SELECT count(*) FROM links l JOIN unlinked u USING (layer, source_id)"
    ).fetchone()
    assert both == (0,)


def test_rerun_is_idempotent(store_con: duckdb.DuckDBPyConnection) -> None:
    link(store_con)
    first, queue = _links(store_con), _queue(store_con)
    again = link(store_con)
    assert all(r["processed"] == 0 for r in again["layers"].values())
    assert _links(store_con) == first and _queue(store_con) == queue
    full = link(store_con, incremental=False)
    assert full["layers"]["people"]["processed"] == 13
    assert _links(store_con) == first and _queue(store_con) == queue
    assert store_con.execute("SELECT count(*) FROM links").fetchone() == (len(first),)


def test_new_and_changed_records_link_incrementally(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    link(store_con)
    fs.add_person(store_con, "p8", room_id=fs.room(fs.D, 2))
    store_con.execute(
        "UPDATE people SET room_id = ?, row_hash = 'changed' WHERE source_id = 'p5'",
        [fs.room(fs.B, 2)],
    )
    store_con.execute("DELETE FROM people WHERE source_id = 'p4'")
    report = link(store_con, layers=["people"])
    assert report["layers"]["people"]["processed"] == 2
    got, queue = _links(store_con), _queue(store_con)
    assert got["p8"][:4] == ("room_id", fs.room(fs.D, 2), fs.D, fs.MG3)
    assert got["p5"][:4] == ("room_id", fs.room(fs.B, 2), fs.B, fs.MG2)
    assert "p5" not in queue and "p4" not in queue  # gone from the layer, gone from the queue
    assert report["layers"]["people"]["total"] == 13


def test_new_grid_version_relinks(store_con: duckdb.DuckDBPyConnection) -> None:
    link(store_con)
    store_con.execute("UPDATE grid_versions SET status = 'superseded'")
    store_con.execute("INSERT INTO grid_versions (status, kind) VALUES ('active', 'edit')")
    for table in ("micro_grids", "grid_assignments", "unit_grids"):
        store_con.execute(f"INSERT INTO {table} SELECT * REPLACE (2 AS version_id) FROM {table}")
    report = link(store_con, layers=["houses"])
    assert report["grid_version"] == 2 and report["layers"]["houses"]["processed"] == 2
    versions = store_con.execute(
        "SELECT DISTINCT grid_version FROM links WHERE layer = 'houses'"
    ).fetchall()
    assert versions == [(2,)]


def test_bad_layer_and_no_active_version(store_con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidInput, match="'pets'"):
        link(store_con, layers=["pets"])
    with pytest.raises(InvalidInput, match="tolerance"):
        link(store_con, tolerance_m=-1.0)
    store_con.execute("UPDATE grid_versions SET status = 'draft'")
    with pytest.raises(NoActiveGridVersion, match="no active grid version") as err:
        link(store_con)
    assert isinstance(err.value, NotFound) and err.value.status == 404


def test_progress_reports_every_layer(store_con: duckdb.DuckDBPyConnection) -> None:
    seen: dict[str, tuple[int, int]] = {}
    link(store_con, progress=lambda layer, done, total: seen.__setitem__(layer, (done, total)))
    assert seen == {
        "people": (13, 13),
        "legal_persons": (2, 2),
        "houses": (2, 2),
        "events": (4, 4),
        "sensors": (2, 2),
    }


def test_register_changes_relink_affected_records(store_con: duckdb.DuckDBPyConnection) -> None:
    link(store_con)
    # building B is demolished: its residents, house and event relink; nothing else does
    with store.transaction(store_con, changes=("address_registry",), what="demolish B"):
        store_con.execute(
            "UPDATE buildings SET status = 'retired', updated_at = current_timestamp "
            "WHERE building_id = ?",
            [fs.B],
        )
    report = link(store_con)
    processed = {k: v["processed"] for k, v in report["layers"].items()}
    # people: pb0..pb5 (linked to B) + the 4 queued ones (the register changed since)
    assert processed == {"people": 10, "legal_persons": 1, "houses": 1, "events": 2, "sensors": 1}
    got, queue = _links(store_con), _queue(store_con)
    assert queue["pb0"][0] == "unknown_room" and queue["h1"][0] == "unknown_room"
    assert got["e1"][:4] == ("coordinates_area", None, None, fs.MG2)  # now public space
    assert "l2" not in got and queue["l2"][0] == "no_building_near"  # B was its building
    assert link(store_con)["layers"]["people"]["processed"] == 0


def _once(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """(records, distinct records) of links + unlinked: equal when each is written once."""
    return con.execute(
        "SELECT count(*), count(DISTINCT (layer, source_id)) FROM "
        "(SELECT layer, source_id FROM links UNION ALL SELECT layer, source_id FROM unlinked)"
    ).fetchall()


def test_links_have_no_key_and_each_record_is_written_once(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    keys = store_con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name IN ('links', 'unlinked') "
        "AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    assert keys == (0,)  # migration 0006
    total = sum(link(store_con)["layers"][x]["total"] for x in ("people", "houses", "events"))
    link(store_con, incremental=False)
    fs.add_person(store_con, "p8", room_id=fs.room(fs.D, 2))
    store_con.execute("UPDATE people SET row_hash = 'changed' WHERE source_id IN ('p1', 'p4')")
    link(store_con, layers=["people"])
    link(store_con, layers=["people", "houses"], incremental=False)
    ((n, distinct),) = _once(store_con)
    assert n == distinct == total + 1 + 2 + 2  # + p8, the two legal persons, the two sensors


def test_a_concurrent_run_on_one_layer_conflicts_and_writes_nothing(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    link(store_con, layers=["houses"])
    before = _links(store_con), _queue(store_con)
    other = store_con.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute("UPDATE link_locks SET locked_at = now() WHERE layer = 'people'")
    with pytest.raises(Conflict, match="people"):
        link(store_con.cursor(), layers=["people"])
    assert (_links(store_con), _queue(store_con)) == before  # houses only, people untouched
    # another layer is not held up by the people lock
    assert link(store_con.cursor(), layers=["events"])["layers"]["events"]["linked"] == 3
    other.execute("ROLLBACK")
    link(store_con, layers=["people"])
    assert _once(store_con)[0][0] == 2 + 4 + 13


def test_migration_0006_keeps_links_and_queue(
    store_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    import store

    link(store_con)  # rows as a run writes them, copied into a store still at migration 5
    links = store_con.execute("SELECT * FROM links ORDER BY layer, source_id").fetchall()
    queue = store_con.execute("SELECT * FROM unlinked ORDER BY layer, source_id").fetchall()
    con = store.connect(tmp_path / "old.duckdb", migrate=False)
    try:
        store.migrate(con, target=5)
        fs.build_register(con)
        fs.build_layers(con)
        con.executemany(f"INSERT INTO links VALUES ({', '.join(['?'] * 16)})", links)
        con.executemany(f"INSERT INTO unlinked VALUES ({', '.join(['?'] * 7)})", queue)
        assert 6 in store.migrate(con)
        assert con.execute("SELECT * FROM links ORDER BY layer, source_id").fetchall() == links
        assert con.execute("SELECT * FROM unlinked ORDER BY layer, source_id").fetchall() == queue
        with pytest.raises(duckdb.ConstraintException):  # the checks are kept
            con.execute("UPDATE links SET confidence = 2 WHERE source_id = 'p1'")
        # the copied links are current (queue entries older than this register are retried)
        assert link(con, layers=["houses"])["layers"]["houses"]["processed"] == 0
        link(con, incremental=False)
        assert _once(con)[0][0] == len(links) + len(queue)
    finally:
        con.close()


def test_a_full_run_drops_records_gone_from_the_layer(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    link(store_con)
    store_con.execute("DELETE FROM people WHERE source_id IN ('p1', 'p4')")  # linked, queued
    store_con.execute("DELETE FROM sensors")
    report = link(store_con, layers=["people", "sensors"], incremental=False)
    assert report["layers"]["sensors"] | {"by_method": {}} == {
        "total": 0, "linked": 0, "unlinked": 0, "processed": 0, "by_method": {}, "reasons": {}
    }  # fmt: skip
    got, queue = _links(store_con), _queue(store_con)
    assert "p1" not in got and "p4" not in queue and not {"s1", "s2"} & (got.keys() | queue.keys())
    assert report["layers"]["people"]["total"] == 11 == report["layers"]["people"]["processed"]


def test_a_point_on_a_shared_vertex_goes_to_the_smallest_code(
    store_con: duckdb.DuckDBPyConnection,
) -> None:
    """One meaning of point-in-polygon: the polygons *covering* the point, the smallest code.

    (W, W) is the corner micro-grids 01 and 02 share, on the top edge of the unit grid; a
    vertex is the same point once projected, so it is on the boundary of both in metres too.
    No building is within 50 m: the record is linked to public space.
    """
    fs.add_event(store_con, "ev", (fs.W, fs.W))
    link(store_con, layers=["events"])
    method, _, building, micro, grid, unit = _links(store_con)["ev"][:6]
    assert (method, building, micro, grid, unit) == (
        "coordinates_area",
        None,
        fs.MG1,
        fs.GRID1,
        fs.UNIT,
    )


def test_the_default_engine_lives_as_long_as_its_connection(db_path: Path) -> None:
    """A second run on one connection reuses its engine (and the polygons it holds); a closed
    and dropped connection leaves nothing behind."""
    from fusion import _joins

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    link(con, layers=["houses"])  # (no address to resolve: the resolver keeps connections)
    engine = _joins._DEFAULT[con]
    held = dict(_joins._HELD[engine])
    assert set(held) == {"unit_grid"}
    link(con, layers=["houses"], incremental=False)
    assert _joins._DEFAULT[con] is engine and _joins._HELD[engine] == held
    alive = weakref.ref(con)
    con.close()
    del con, engine
    gc.collect()
    assert alive() is None
