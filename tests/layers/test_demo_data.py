"""The sample generator: deterministic files that ingest cleanly against a tiny register."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from address_registry.ids import building_id, room_id
from common.errors import NotFound
from layers.demo_data import sample_layers
from layers.ingest import ingest

from ._helpers import SECRET

COMMUNITY = "310101002001"


def _tiny_register(con: duckdb.DuckDBPyConnection) -> None:
    for serial, (x, y) in enumerate([(121.4900, 31.2400), (121.4950, 31.2380)], start=1):
        bid = building_id(COMMUNITY, 2024, serial)
        con.execute(
            "INSERT INTO buildings (building_id, birth_community_code, birth_year, community_code, "
            "status, use, address, lon, lat, geom, source) VALUES (?, ?, 2024, ?, 'active', "
            "'residential', ?, ?, ?, ST_Buffer(ST_Point(?, ?), 0.0001), 'generated')",
            [bid, COMMUNITY, COMMUNITY, f"汉口路{serial}号", x, y, x, y],
        )
        for floor in range(1, 6):
            for room in (1, 2):
                rid = room_id(bid, unit=1, floor=floor, room=floor * 100 + room)
                con.execute(
                    "INSERT INTO rooms (room_id, building_id, unit, floor, room, use) "
                    "VALUES (?, ?, '01', ?, ?, 'household')",
                    [rid, bid, f"{floor:03d}", f"{floor * 100 + room:04d}"],
                )


def test_sample_is_deterministic_and_ingests(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _tiny_register(con)
    a = sample_layers(con, tmp_path / "a", seed=7, bad_rate=0.0)
    b = sample_layers(con, tmp_path / "b", seed=7, bad_rate=0.0)
    assert b.rows == a.rows
    for name in a.rows:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv"
        ).read_bytes()
    assert a.rows["houses"] == 20 and a.rows["people"] > 20
    for kind in ("houses", "people", "legal_persons", "events", "sensors", "readings"):
        report = ingest(con, kind, tmp_path / "a" / f"{kind}.csv", secret=SECRET)
        assert report.quarantined == 0, (kind, report.reasons)
        assert report.loaded == a.rows[kind]


def test_bad_rate_fills_the_quarantine(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _tiny_register(con)
    rows = sample_layers(con, tmp_path, seed=7, bad_rate=0.5).rows
    report = ingest(con, "people", tmp_path / "people.csv", secret=SECRET)
    assert report.rows_in == rows["people"] and report.quarantined > 0
    assert set(report.reasons) == {"bad_id_check"}


def test_needs_a_register(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        sample_layers(con, tmp_path)


def test_unknown_rooms_are_quarantined(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from ._helpers import PEOPLE_HEADER, people_rows

    _tiny_register(con)
    known = con.execute("SELECT min(room_id) FROM rooms").fetchone()
    assert known is not None
    stranger = room_id(building_id(COMMUNITY, 2024, 99), unit=1, floor=1, room=101)
    rows = people_rows(2)
    rows[0][7], rows[1][7] = known[0], stranger
    path = tmp_path / "p.csv"
    path.write_text(
        "\n".join(",".join(r) for r in [list(PEOPLE_HEADER), *rows]) + "\n", encoding="utf-8"
    )
    report = ingest(con, "people", path, secret=SECRET)
    assert (report.loaded, report.reasons) == (1, {"unknown_room": 1})
