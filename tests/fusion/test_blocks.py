"""Block data on the crafted store: known values, sums agree between levels, suppression."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import Conflict, InvalidInput
from fusion.blocks import block_values, check_sums, compute_blocks, suppress_value
from fusion.link import link
from tests.fusion import _fusion_store as fs


@pytest.fixture
def linked(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    link(con)
    compute_blocks(con, now=fs.NOW)
    yield con
    con.close()


def test_micro_grid_values(linked: duckdb.DuckDBPyConnection) -> None:
    micro = block_values(linked, "micro_grid")
    assert micro[fs.MG1]["households"] == 20  # A and A2, 10 each
    assert micro[fs.MG1]["residents.registered"] == 2  # p1, p2 (p3 is floating)
    assert micro[fs.MG1]["residents.floating"] == 1
    assert micro[fs.MG1]["care.elderly_alone"] == 1
    assert micro[fs.MG2]["residents.floating"] == 6
    assert micro[fs.MG2]["houses.rented"] == 1 and "houses.rented_unregistered" not in micro[fs.MG2]
    assert micro[fs.MG3]["houses.rented_unregistered"] == 1
    assert micro[fs.MG2]["events"] == 2  # e1 (building B) and e3 (public space)
    assert micro[fs.MG2]["events.overdue"] == 1  # e1: deadline 05-31 08:00, still open
    assert "events.overdue" not in micro[fs.MG1]  # e2 is closed
    assert micro[fs.MG1]["events.state.closed"] == 1
    assert micro[fs.MG2]["events.category.event-0102"] == 2
    assert micro[fs.MG3]["sensors.type.camera"] == 1
    assert micro[fs.MG2]["enterprises.industry.餐饮业"] == 1
    # public space (block minus footprints); no camera has a range, so nothing is covered
    assert micro[fs.MG1]["coverage.public_m2"] > 0.9 * (200 * 200 - 2 * 40 * 40)
    assert not any(m.startswith("coverage.covered") for v in micro.values() for m in v)


def test_levels_sum_up(linked: duckdb.DuckDBPyConnection) -> None:
    assert check_sums(linked) == []
    grid = block_values(linked, "grid")
    assert grid[fs.GRID1]["households"] == 30 and grid[fs.GRID2]["households"] == 10
    for level, code in (
        ("community", fs.COMMUNITY),
        ("street", fs.STREET),
        ("district", fs.DISTRICT),
    ):
        values = block_values(linked, level, code)[code]
        assert values["households"] == 40
        assert values["residents.registered"] + values["residents.floating"] == 9
        assert values["events"] == 3 and values["sensors"] == 1 and values["enterprises"] == 2


def test_check_sums_finds_a_broken_value(linked: duckdb.DuckDBPyConnection) -> None:
    linked.execute(
        "UPDATE block_data SET value = value + 1 WHERE level = 'community' AND metric = 'events'"
    )
    problems = check_sums(linked)
    assert len(problems) == 2  # community vs its grids, street vs the community
    assert any(fs.COMMUNITY in p and "events" in p for p in problems)


def test_suppression(linked: duckdb.DuckDBPyConnection) -> None:
    public = block_values(linked, "micro_grid", fs.MG1, suppress=True)[fs.MG1]
    assert public["households"] == 20
    assert public["residents.registered"] is None and public["residents.floating"] is None
    # MG2's 6 floating residents are hidden too: MG1's 1 = GRID1's 7 - MG2's 6 otherwise
    mg2 = block_values(linked, "micro_grid", fs.MG2, suppress=True)[fs.MG2]
    assert mg2["residents.floating"] is None
    primary = block_values(linked, "micro_grid", fs.MG2, suppress=True, complementary=False)
    assert primary[fs.MG2]["residents.floating"] == 6
    assert suppress_value(0) == 0 and suppress_value(4) is None and suppress_value(5) == 5
    events = block_values(linked, "grid", fs.GRID1, metric_prefix="events.state.")
    assert set(events[fs.GRID1]) == {"events.state.reported", "events.state.closed"}
    with pytest.raises(InvalidInput, match="'block'"):
        block_values(linked, "block")


def test_published_tables_leak_no_hidden_value(linked: duckdb.DuckDBPyConnection) -> None:
    from fusion._suppress import single_equation_leaks
    from fusion.blocks import LEVELS, PARENT

    public = {lv: block_values(linked, lv, suppress=True) for lv in LEVELS}
    raw = {lv: block_values(linked, lv) for lv in LEVELS}
    tree = {
        "micro_grid": {fs.MG1: fs.GRID1, fs.MG2: fs.GRID1, fs.MG3: fs.GRID2},
        "grid": {fs.GRID1: fs.COMMUNITY, fs.GRID2: fs.COMMUNITY},
        "community": {fs.COMMUNITY: fs.STREET},
        "street": {fs.STREET: fs.DISTRICT},
    }
    metrics = {m for lv in raw.values() for block in lv.values() for m in block}
    n_hidden = 0
    for metric in metrics:
        values = {(lv, c): v.get(metric, 0.0) for lv in LEVELS for c, v in raw[lv].items()}
        hidden = {
            (lv, c) for lv in LEVELS for c, v in public[lv].items() if v.get(metric, 0) is None
        }
        n_hidden += len(hidden)
        children: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for child_level, parents in tree.items():
            for c, p in parents.items():
                children.setdefault((PARENT[child_level], p), []).append((child_level, c))
        assert single_equation_leaks(values, children, hidden) == [], metric
        for node in hidden:  # published values are never altered
            assert values[node] != 0
    assert n_hidden > 0


def test_recompute_replaces(linked: duckdb.DuckDBPyConnection) -> None:
    before = linked.execute("SELECT count(*) FROM block_data").fetchone()
    assert compute_blocks(linked, now=fs.NOW) == (before[0] if before else -1)


@settings(max_examples=8, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([fs.A, fs.A2, fs.B, fs.D]), st.booleans(), st.booleans()),
        max_size=25,
    )
)
def test_sums_agree_for_any_population(people: list[tuple[str, bool, bool]]) -> None:
    import store

    con = store.connect(":memory:")
    try:
        fs.build_register(con)
        for i, (building, floating, care) in enumerate(people):
            fs.add_person(
                con,
                f"q{i}",
                room_id=fs.room(building, 1 + i % 2),
                hukou="floating" if floating else "registered",
                care=["disability"] if care else None,
            )
        link(con)
        compute_blocks(con, now=fs.NOW)
        assert check_sums(con) == []
        district = block_values(con, "district").get(fs.DISTRICT, {})
        residents = district.get("residents.registered", 0) + district.get("residents.floating", 0)
        assert residents == len(people)
        assert district.get("care.disability", 0) == sum(c for _, _, c in people)
    finally:
        con.close()


def _duplicates(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "SELECT level, code, grid_version, metric, count(*) FROM block_data "
        "GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()


def test_rows_stay_unique_over_repeated_runs(linked: duckdb.DuckDBPyConnection) -> None:
    # block_data has no key (migration 0007): compute_blocks alone keeps each row once
    first = linked.execute(
        "SELECT level, code, metric, value FROM block_data ORDER BY ALL"
    ).fetchall()
    for _ in range(3):
        compute_blocks(linked, now=fs.NOW)
        assert _duplicates(linked) == []
    again = linked.execute(
        "SELECT level, code, metric, value FROM block_data ORDER BY ALL"
    ).fetchall()
    assert again == first
    lock = linked.execute("SELECT grid_version FROM block_locks").fetchall()
    assert lock == linked.execute("SELECT DISTINCT grid_version FROM block_data").fetchall()


def test_concurrent_computation_conflicts(linked: duckdb.DuckDBPyConnection) -> None:
    before = linked.execute("SELECT count(*) FROM block_data").fetchone()
    other = linked.cursor()  # a second connection to the same store, mid-computation
    other.execute("BEGIN TRANSACTION")
    other.execute("UPDATE block_locks SET locked_at = current_timestamp")
    with pytest.raises(Conflict, match="Conflict on update"):
        compute_blocks(linked, now=fs.NOW, camera_coverage=False)
    other.execute("ROLLBACK")
    assert linked.execute("SELECT count(*) FROM block_data").fetchone() == before
    assert _duplicates(linked) == []
    assert compute_blocks(linked, now=fs.NOW) == (before[0] if before else -1)


def test_migration_0007_keeps_block_data(linked: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import store

    rows = linked.execute("SELECT * FROM block_data ORDER BY ALL").fetchall()
    con = store.connect(tmp_path / "old.duckdb", migrate=False)
    try:
        store.migrate(con, target=6)
        con.executemany(f"INSERT INTO block_data VALUES ({', '.join(['?'] * 6)})", rows)
        assert 7 in store.migrate(con)
        assert con.execute("SELECT * FROM block_data ORDER BY ALL").fetchall() == rows
        keys = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'block_data' "
            "AND constraint_type = 'PRIMARY KEY'"
        ).fetchone()
        assert keys == (0,)
        with pytest.raises(duckdb.ConstraintException):  # the checks are kept
            con.execute("UPDATE block_data SET level = 'block'")
        assert con.execute("SELECT name, grid_version FROM block_locks").fetchall() == [
            ("block_data", None)
        ]
    finally:
        con.close()
