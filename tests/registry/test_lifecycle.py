"""Lifecycle operations end to end: lineage, bitemporal history, lookups, invariants."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

import store
from address_registry import lifecycle as lc
from address_registry._history_queries import buildings_as_of_relation
from address_registry._room_moves import plan_split
from address_registry.ids import (
    building_id,
    is_valid_building_id,
    parse_building_id,
    validate_building_id,
)
from address_registry.lookup import get_building, get_room
from common.errors import Conflict, InvalidInput, NotFound
from tests.registry import _lifecycle_data as fx

Registry = tuple[duckdb.DuckDBPyConnection, dict[str, str]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store file holding the fixture register, made once per module."""
    path = tmp_path_factory.mktemp("lifecycle") / "template.duckdb"
    con = store.connect(path)
    fx.populate(con)
    con.close()
    return path


@pytest.fixture
def reg(template: Path, tmp_path: Path) -> Iterator[Registry]:
    """A fresh copy of the fixture register in a real DuckDB file."""
    path = tmp_path / "registry.duckdb"
    shutil.copyfile(template, path)
    con = store.connect(path)
    yield con, fx.building_ids()
    con.close()


def _geom(con: duckdb.DuckDBPyConnection, building_id: str) -> shapely.Geometry:
    row = con.execute(
        "SELECT ST_AsWKB(geom) FROM buildings WHERE building_id = ?", [building_id]
    ).fetchone()
    assert row is not None
    return shapely.from_wkb(bytes(row[0]))


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return int(row[0])


# --------------------------------------------------------------------------- split


def test_split_history_on_both_axes(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    west, east = fx.halves(fx.FOOTPRINTS["A"][1])
    new = lc.split(con, a, [west, east], "2025-03-01", recorded_at="2025-03-05", actor="t")

    # new IDs: born in C1 in 2025, serials after the fixture's 4, valid check characters
    assert [parse_building_id(n).serial for n in new] == [5, 6]
    assert {parse_building_id(n).community_code for n in new} == {fx.C1}
    assert {parse_building_id(n).birth_year for n in new} == {2025}

    before = lc.as_of(con, a, "2025-02-01")
    after = lc.as_of(con, a, "2025-04-01")
    assert before is not None and before["status"] == "active" and before["successors"] == []
    assert after is not None and after["status"] == "retired" and after["successors"] == new
    for n in new:
        assert lc.as_of(con, n, "2025-02-01") is None
        version = lc.as_of(con, n, "2025-04-01")
        assert version is not None and version["status"] == "active"
        assert version["predecessors"] == [a]
    # the register learnt of the split on 2025-03-05: before that it said A was still active
    told = lc.as_of(con, a, "2025-04-01", recorded_at="2025-03-02")
    assert told is not None and told["status"] == "active" and told["successors"] == []
    assert lc.as_of(con, new[0], "2025-04-01", recorded_at="2025-03-02") is None

    # whole register at both dates
    assert set(lc.buildings_as_of(con, "2025-02-01").building_id) == set(ids.values())
    later = set(lc.buildings_as_of(con, "2025-04-01").building_id)
    assert later == (set(ids.values()) - {a}) | set(new)


def test_split_moves_rooms_doorplate_and_households(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    new = lc.split(con, a, fx.halves(fx.FOOTPRINTS["A"][1]), "2025-03-01")
    rows = con.execute(
        "SELECT building_id, list(DISTINCT unit ORDER BY unit), count(*) FROM rooms "
        "WHERE status = 'active' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # unit 01 lies in the west half, unit 02 in the east half (long axis west → east)
    assert rows == [(new[0], ["01"], 6), (new[1], ["02"], 6)]
    assert (
        _count(con, "SELECT count(*) FROM rooms WHERE building_id = ? AND status = 'active'", [a])
        == 0
    )
    got = con.execute(
        "SELECT building_id, households, units, address, doorplate_id, status FROM buildings "
        "WHERE list_contains(?, building_id) ORDER BY 1",
        [new],
    ).fetchall()
    # the doorplate (lon 121.4829) is on the east half, which keeps the address
    assert got == [
        (new[0], 6, 1, None, None, "active"),
        (new[1], 6, 1, "汉口路1号", fx.DOORPLATE, "active"),
    ]
    assert con.execute(
        "SELECT building_id FROM doorplates WHERE doorplate_id = ?", [fx.DOORPLATE]
    ).fetchone() == (new[1],)
    assert con.execute(
        "SELECT status, retired_by FROM buildings WHERE building_id = ?", [a]
    ).fetchone() == ("retired", "split")
    op = con.execute(
        "SELECT op, json_array_length(json_keys(detail->'rooms')) FROM registry_operations "
        "WHERE op_id = (SELECT max(op_id) FROM registry_operations)"
    ).fetchone()
    assert op == ("split", 12)
    lineage = con.execute(
        "SELECT predecessor_id, successor_id FROM building_lineage ORDER BY 2"
    ).fetchall()
    assert lineage == [(a, new[0]), (a, new[1])]
    room = get_room(con, f"{a}020010101")
    assert room["status"] == "retired" and room["successors"] == [f"{new[1]}020010101"]
    assert get_room(con, f"{new[1]}020010101")["address"] == "汉口路1号2单元101室"


def test_split_refuses_invalid_requests(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    geom = fx.FOOTPRINTS["A"][1]
    west, east = fx.halves(geom)
    with pytest.raises(InvalidInput, match="uncovered"):
        lc.split(con, a, [west, box(*east.bounds[:2], east.bounds[2] - 0.0003, east.bounds[3])])
    with pytest.raises(InvalidInput, match="overlap"):
        lc.split(con, a, [west.buffer(0.0001).intersection(geom), east])
    with pytest.raises(InvalidInput, match="at least 2 parts"):
        lc.split(con, a, [geom])
    with pytest.raises(Conflict, match="precedes its current version"):
        lc.split(con, a, [west, east], "2019-01-01")
    lc.split(con, a, [west, east], "2025-03-01")
    with pytest.raises(Conflict, match=f"cannot split building {a}: it is retired"):
        lc.split(con, a, [west, east], "2025-04-01")
    with pytest.raises(Conflict, match="not later than the last recorded change"):
        lc.update(con, ids["B"], "2025-01-01", {"name": "x"}, recorded_at="2023-01-01")


def test_failed_operation_changes_nothing_and_ids_are_never_reissued(reg: Registry) -> None:
    con, ids = reg
    tables = ["buildings", "building_history", "building_lineage", "registry_operations", "rooms"]
    counts = {t: _count(con, f"SELECT count(*) FROM {t}") for t in tables}
    # a counter reset by hand would hand out A's serial again: refused, and rolled back whole
    con.execute("UPDATE id_serials SET last_serial = 0 WHERE birth_community_code = ?", [fx.C1])
    with pytest.raises(Conflict, match="never issued twice"):
        lc.split(con, ids["D"], fx.halves(fx.FOOTPRINTS["D"][1]), "2025-03-01")
    assert {t: _count(con, f"SELECT count(*) FROM {t}") for t in tables} == counts
    assert con.execute(
        "SELECT status FROM buildings WHERE building_id = ?", [ids["D"]]
    ).fetchone() == ("active",)


# --------------------------------------------------------------------------- corrections


def test_correction_changes_only_later_knowledge(reg: Registry) -> None:
    con, ids = reg
    e = ids["E"]
    rows_before = _count(con, "SELECT count(*) FROM building_history WHERE building_id = ?", [e])
    lc.correct(con, e, "2021-01-01", "2022-01-01", {"name": "旧E楼"}, recorded_at="2026-01-01")

    def name(valid: str, recorded: str | None = None) -> object:
        version = lc.as_of(con, e, valid, recorded)
        assert version is not None
        return version["name"]

    assert name("2021-06-01", "2025-12-31") == "E楼"  # what the register said before
    assert name("2021-06-01", "2026-01-02") == "旧E楼"  # what it says since the correction
    assert name("2021-06-01") == "旧E楼"
    assert name("2020-06-01") == "E楼" and name("2023-01-01") == "E楼"
    # three new rows; the old one only got its recorded_to
    assert _count(con, "SELECT count(*) FROM building_history WHERE building_id = ?", [e]) == (
        rows_before + 3
    )
    old = con.execute(
        "SELECT name, valid_to, timezone('UTC', recorded_to) FROM building_history "
        "WHERE building_id = ? AND recorded_from = ?",
        [e, fx.RECORDED],
    ).fetchall()
    assert old == [("E楼", None, dt.datetime(2026, 1, 1))]
    # a correction of the past leaves the current row alone
    assert con.execute("SELECT name FROM buildings WHERE building_id = ?", [e]).fetchone() == (
        "E楼",
    )
    with pytest.raises(Conflict, match="nothing to correct"):
        lc.correct(con, e, "2010-01-01", "2011-01-01", {"name": "x"})
    with pytest.raises(InvalidInput, match="allowed attributes"):
        lc.correct(con, e, "2021-01-01", None, {"status": "retired"})


# --------------------------------------------------------------------------- merge, demolish


def test_merge(reg: Registry) -> None:
    con, ids = reg
    b, c = ids["B"], ids["C"]
    new = lc.merge(con, [c, b], "2025-05-01", recorded_at="2025-05-02")
    validate_building_id(new)
    assert parse_building_id(new).community_code == fx.C1
    got = con.execute(
        "SELECT status, households, units, use, address FROM buildings WHERE building_id = ?",
        [new],
    ).fetchone()
    assert got == ("active", 24, 4, "residential", "汉口路2号")
    assert shapely.equals_exact(
        shapely.normalize(_geom(con, new)),
        shapely.normalize(shapely.union_all([_geom(con, b), _geom(con, c)])),
        1e-9,
    )
    assert get_building(con, new)["properties"]["predecessors"] == [b, c]
    for old in (b, c):
        props = get_building(con, old)["properties"]
        assert (props["status"], props["retired_by"], props["successors"]) == (
            "retired",
            "merge",
            [new],
        )
        version = lc.as_of(con, old, "2025-04-30")
        assert version is not None and version["status"] == "active"


def test_merge_refuses_invalid_requests(reg: Registry) -> None:
    con, ids = reg
    with pytest.raises(Conflict, match=r"different communities.*community_code") as err:
        lc.merge(con, [ids["B"], ids["E"]], "2025-05-01")
    assert ids["B"] in str(err.value) and ids["E"] in str(err.value)
    with pytest.raises(Conflict, match="do not touch"):
        lc.merge(con, [ids["B"], ids["E"]], "2025-05-01", community_code=fx.C1)
    with pytest.raises(InvalidInput, match="two or more distinct"):
        lc.merge(con, [ids["B"], ids["B"]], "2025-05-01")
    with pytest.raises(InvalidInput, match="leaves"):
        lc.merge(con, [ids["B"], ids["C"]], "2025-05-01", geometry=fx.FOOTPRINTS["B"][1])
    lc.demolish(con, ids["B"], "2025-05-01")
    with pytest.raises(Conflict, match="it is retired"):
        lc.merge(con, [ids["B"], ids["C"]], "2025-06-01")


def test_demolish(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    lc.demolish(con, a, "2025-06-01", note="fire")
    props = get_building(con, a)["properties"]
    assert (props["status"], props["retired_by"], props["successors"]) == (
        "retired",
        "demolish",
        [],
    )
    assert props["current_successors"] == []
    assert _count(con, "SELECT count(*) FROM rooms WHERE status = 'active'") == 0
    assert con.execute(
        "SELECT status FROM doorplates WHERE doorplate_id = ?", [fx.DOORPLATE]
    ).fetchone() == ("retired",)
    assert get_room(con, f"{a}010010101")["successors"] == []
    with pytest.raises(Conflict, match="it is retired"):
        lc.demolish(con, a, "2025-07-01")


# --------------------------------------------------------------------------- renumber, reparent


def test_renumber(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    with pytest.raises(InvalidInput, match="needs a reason"):
        lc.renumber(con, a, "2025-07-01", " ")
    new = lc.renumber(con, a, "2025-07-01", "ID issued in error")
    assert parse_building_id(new).birth_year == 2025
    assert (
        _count(con, "SELECT count(*) FROM rooms WHERE building_id = ? AND status = 'active'", [new])
        == 12
    )
    room = get_room(con, f"{a}010020201")
    assert room["successors"] == [f"{new}010020201"]
    assert get_building(con, new)["properties"]["address"] == "汉口路1号"
    assert con.execute(
        "SELECT building_id FROM doorplates WHERE doorplate_id = ?", [fx.DOORPLATE]
    ).fetchone() == (new,)
    hist = lc.history(con, a)
    assert [op["op"] for op in hist["operations"]] == ["create", "renumber"]
    assert hist["operations"][1]["detail"]["reason"] == "ID issued in error"
    assert lc.history(con, new)["predecessors"] == [a]


def test_reparent_keeps_ids(reg: Registry) -> None:
    con, ids = reg
    b, d = ids["B"], ids["D"]
    moved = lc.reparent(con, fx.C1, fx.C2, building_ids=[b], valid_at="2025-08-01")
    assert moved == [b]
    assert con.execute(
        "SELECT birth_community_code, community_code, status FROM buildings WHERE building_id = ?",
        [b],
    ).fetchone() == (fx.C1, fx.C2, "active")
    v1, v2 = lc.as_of(con, b, "2025-07-01"), lc.as_of(con, b, "2025-09-01")
    assert v1 is not None and v1["community_code"] == fx.C1
    assert v2 is not None and v2["community_code"] == fx.C2
    # by geometry: the area around D changes hands
    moved = lc.reparent(
        con, fx.C1, fx.C2, geometry=box(121.486, 31.237, 121.489, 31.239), valid_at="2025-08-01"
    )
    assert moved == [d]
    assert _count(con, "SELECT count(*) FROM building_lineage") == 0
    with pytest.raises(Conflict, match=f"building {b} lies in community {fx.C2}"):
        lc.reparent(con, fx.C1, fx.C2, building_ids=[b], valid_at="2025-09-01")
    with pytest.raises(InvalidInput, match="not in the register"):
        lc.reparent(con, fx.C1, "310101002099", building_ids=[ids["C"]], valid_at="2025-09-01")
    with pytest.raises(InvalidInput, match="no live building"):
        lc.reparent(con, fx.C1, fx.C2, geometry=box(121.0, 31.0, 121.1, 31.1))


# --------------------------------------------------------------------------- create, activate


def test_create_and_activate(reg: Registry) -> None:
    con, _ = reg
    footprint = box(121.4910, 31.2360, 121.4915, 31.2364)
    new = lc.create(
        con,
        footprint,
        "2025-09-01",
        status="proposed",
        attributes={"name": "新楼", "use": "office"},
    )
    parts = parse_building_id(new)
    assert (parts.community_code, parts.birth_year, parts.serial) == (fx.C2, 2025, 2)
    assert get_building(con, new)["properties"]["status"] == "proposed"
    lc.activate(con, new, "2025-10-01")
    assert lc.as_of(con, new, "2025-09-15")["status"] == "proposed"  # type: ignore[index]
    assert lc.as_of(con, new, "2025-10-15")["status"] == "active"  # type: ignore[index]
    with pytest.raises(Conflict, match="only a proposed building"):
        lc.activate(con, new, "2025-11-01")
    with pytest.raises(InvalidInput, match="no community boundary"):
        lc.create(con, box(120.0, 30.0, 120.001, 30.001), "2025-09-01")
    with pytest.raises(InvalidInput, match="use must be one of"):
        lc.create(con, footprint, attributes={"use": "castle"})
    with pytest.raises(InvalidInput, match="Polygon"):
        lc.create(con, shapely.Point(121.49, 31.24), community_code=fx.C2)


# --------------------------------------------------------------------------- lookups


def test_successors_are_transitive_and_lineage_goes_both_ways(reg: Registry) -> None:
    con, ids = reg
    a = ids["A"]
    a1, a2 = lc.split(con, a, fx.halves(fx.FOOTPRINTS["A"][1]), "2025-03-01")
    a1x, a1y = lc.split(con, a1, fx.halves(_geom(con, a1)), "2025-04-01")
    assert get_building(con, a)["properties"]["current_successors"] == sorted([a1x, a1y, a2])
    lc.demolish(con, a2, "2025-05-01")
    props = get_building(con, a)["properties"]
    assert props["successors"] == [a1, a2]
    assert props["current_successors"] == sorted([a1x, a1y])
    assert lc.history(con, a1x)["predecessors"] == [a1]
    assert lc.history(con, a1)["predecessors"] == [a]
    assert lc.history(con, a1)["successors"] == [a1x, a1y]
    # rooms follow both splits
    assert get_room(con, f"{a}010010101")["successors"] == [f"{a1x}010010101"] or get_room(
        con, f"{a}010010101"
    )["successors"] == [f"{a1y}010010101"]


def test_lookup_errors(reg: Registry) -> None:
    con, ids = reg
    unknown = building_id(fx.C1, 2020, 99)  # well-formed, never issued
    with pytest.raises(NotFound, match=unknown):
        get_building(con, unknown)
    with pytest.raises(NotFound):
        lc.as_of(con, unknown)
    with pytest.raises(InvalidInput, match="fails its check"):
        get_building(con, ids["A"][:-1] + ("0" if ids["A"][-1] != "0" else "1"))
    with pytest.raises(InvalidInput):
        get_room(con, "12345")
    with pytest.raises(NotFound):
        get_room(con, f"{ids['A']}099990101")
    feature = get_building(con, ids["A"])
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"


# --------------------------------------------------------------------------- invariants

_TABLES = [
    "building_lineage",
    "building_history",
    "registry_operations",
    "rooms",
    "doorplates",
    "buildings",
    "building_aliases",
    "roads",
    "estates",
    "admin_areas",
    "id_serials",
]


@pytest.fixture(scope="module")
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory store for all Hypothesis examples (emptied before each)."""
    con = store.connect(":memory:")
    yield con
    con.close()


ops = st.lists(
    st.tuples(
        st.sampled_from(
            ["split", "merge", "demolish", "renumber", "reparent", "create", "update", "correct"]
        ),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(sequence=ops)
def test_random_operations_keep_invariants(
    scratch: duckdb.DuckDBPyConnection, sequence: list[tuple[str, int]]
) -> None:
    con = scratch
    for table in _TABLES:
        con.execute(f"DELETE FROM {table}")
    ids = fx.populate(con)
    issued = list(ids.values())
    day = dt.datetime(2025, 1, 1)
    said: list[tuple[dt.datetime, dt.datetime, list[tuple[object, ...]]]] = []
    for step, (kind, pick) in enumerate(sequence):
        day += dt.timedelta(days=10)
        rec = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=step)
        # what the register says just before this operation, about a past and a present date
        for when in (dt.datetime(2024, 6, 1), day):
            said.append((when, rec - dt.timedelta(minutes=1), _register(con, when, rec)))
        live = [
            r[0]
            for r in con.execute(
                "SELECT building_id FROM buildings WHERE status = 'active' ORDER BY 1"
            ).fetchall()
        ]
        if not live:
            break
        target = live[pick % len(live)]
        at = {"recorded_at": rec}
        if kind == "split":
            issued += lc.split(con, target, fx.halves(_geom(con, target)), day, **at)
        elif kind == "merge":
            partner = _touching_partner(con, target)
            if partner:
                issued.append(lc.merge(con, [target, partner], day, **at))
        elif kind == "demolish":
            lc.demolish(con, target, day, **at)
        elif kind == "renumber":
            issued.append(lc.renumber(con, target, day, "test", **at))
        elif kind == "reparent":
            code = con.execute(
                "SELECT community_code FROM buildings WHERE building_id = ?", [target]
            ).fetchone()[0]  # type: ignore[index]
            other = fx.C2 if code == fx.C1 else fx.C1
            lc.reparent(con, code, other, building_ids=[target], valid_at=day, **at)
        elif kind == "create":
            x = 121.4801 + (pick % 40) * 0.0002 + step * 0.00001
            status = "proposed" if pick % 2 else "active"
            new = lc.create(con, box(x, 31.2360, x + 0.00005, 31.2363), day, status=status, **at)
            issued.append(new)
            if pick % 4 == 1:
                lc.activate(con, new, day + dt.timedelta(days=1), recorded_at=rec + _SECOND)
        elif kind == "update":
            lc.update(con, target, day, {"households": pick}, **at)
        else:
            first = con.execute(
                "SELECT min(valid_from) FROM building_history WHERE building_id = ?", [target]
            ).fetchone()[0]  # type: ignore[index]
            lc.correct(con, target, first, first + dt.timedelta(days=5), {"name": f"n{step}"}, **at)
    _check_invariants(con, issued)
    # the past of the record axis never changes: the register still says what it said then
    for when, then, snapshot in said:
        assert _register(con, when, then) == snapshot


_SECOND = dt.timedelta(seconds=1)


def _register(
    con: duckdb.DuckDBPyConnection, valid_at: dt.datetime, recorded_at: dt.datetime
) -> list[tuple[object, ...]]:
    sql, params = buildings_as_of_relation(con, valid_at, recorded_at, include_retired=True)
    return con.execute(
        f"SELECT building_id, status, community_code, name, households FROM ({sql}) ORDER BY 1",
        params,
    ).fetchall()


def _touching_partner(con: duckdb.DuckDBPyConnection, building_id: str) -> str | None:
    row = con.execute(
        """
        SELECT o.building_id FROM buildings b JOIN buildings o
          ON o.building_id <> b.building_id AND o.community_code = b.community_code
         AND o.status = 'active' AND ST_Intersects(o.geom, b.geom)
        WHERE b.building_id = ? ORDER BY 1 LIMIT 1
        """,
        [building_id],
    ).fetchone()
    return row[0] if row else None


def _check_invariants(con: duckdb.DuckDBPyConnection, issued: list[str]) -> None:
    # no ID issued twice; every ID in the register is well-formed with its check character
    assert len(issued) == len(set(issued))
    all_ids = [r[0] for r in con.execute("SELECT building_id FROM buildings").fetchall()]
    assert sorted(all_ids) == sorted(issued)
    assert all(is_valid_building_id(b) for b in all_ids)
    # serial counters are ahead of every serial issued in their community
    behind = _count(
        con,
        """
        SELECT count(*) FROM buildings b LEFT JOIN id_serials s
          ON s.birth_community_code = b.birth_community_code
        WHERE s.last_serial IS NULL OR CAST(substr(b.building_id, 17, 8) AS BIGINT) > s.last_serial
        """,
    )
    assert behind == 0
    # every retired building has successors unless demolished; demolished ones have none
    bad = con.execute(
        """
        SELECT b.building_id, b.retired_by, count(l.successor_id) FROM buildings b
        LEFT JOIN building_lineage l ON l.predecessor_id = b.building_id
        WHERE b.status = 'retired'
        GROUP BY ALL
        HAVING (b.retired_by = 'demolish') <> (count(l.successor_id) = 0)
        """
    ).fetchall()
    assert bad == []
    # no two versions of a building overlap in valid time while both are recorded
    overlaps = _count(
        con,
        """
        SELECT count(*) FROM building_history a JOIN building_history b
          ON a.building_id = b.building_id AND a.rowid < b.rowid
        WHERE a.recorded_from < coalesce(b.recorded_to, 'infinity'::TIMESTAMPTZ)
          AND b.recorded_from < coalesce(a.recorded_to, 'infinity'::TIMESTAMPTZ)
          AND a.valid_from < coalesce(b.valid_to, 'infinity'::TIMESTAMP)
          AND b.valid_from < coalesce(a.valid_to, 'infinity'::TIMESTAMP)
        """,
    )
    assert overlaps == 0
    # today's version of each building agrees with its row
    current = con.execute(
        "SELECT building_id, status, community_code, name, households FROM buildings ORDER BY 1"
    ).fetchall()
    later = dt.datetime(2030, 1, 1)
    assert _register(con, later, later.replace(tzinfo=dt.UTC)) == current


def test_room_placement_rule_for_units_and_shops() -> None:
    original = box(121.4820, 31.2400, 121.4840, 31.2403)  # long west-east
    parts = fx.halves(original)
    rooms = [
        (f"r{i}", key)
        for i, key in enumerate(
            [
                ("00", "001", "0101"),  # ground-floor shops by position: 1, 2 west; 3, 4 east
                ("00", "001", "0102"),
                ("00", "001", "0103"),
                ("00", "001", "0104"),
                ("01", "002", "0201"),  # unit 1 west, unit 2 east, whatever the room number
                ("01", "002", "0204"),
                ("02", "002", "0201"),
            ]
        )
    ]
    assert plan_split(rooms, original, parts) == [0, 0, 1, 1, 0, 0, 1]
    # a north-south building is split south / north: the axis runs south to north
    tall = box(121.4820, 31.2400, 121.4821, 31.2420)
    south, north = (
        box(121.4820, 31.2400, 121.4821, 31.2410),
        box(121.4820, 31.2410, 121.4821, 31.2420),
    )
    assert plan_split(rooms[4:], tall, [north, south]) == [1, 1, 0]
