"""Ingest of every format and kind: accounting, quarantine, upsert, mapping, CRS, bad files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.errors import InvalidInput
from layers.ingest import ingest

from ._helpers import PEOPLE_HEADER, SECRET, make_id, people_rows

WriteCsv = Callable[..., Path]


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()


def _quarantine(con: duckdb.DuckDBPyConnection, batch: str) -> dict[int, list[str]]:
    rows = _q(con, "SELECT source_line, reasons FROM layer_quarantine WHERE batch_id = ?", [batch])
    return {int(line): sorted(reasons) for line, reasons in rows}


def test_people_csv_loads_masked_and_is_idempotent(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    path = write_csv("people.csv", PEOPLE_HEADER, people_rows(5))
    first = ingest(con, "people", path, secret=SECRET)
    assert (first.rows_in, first.loaded, first.inserted, first.quarantined) == (5, 5, 5, 0)
    row = _q(con, "SELECT id_masked, name_masked, phone_masked, birth_year, sex FROM people "
             "WHERE source_id = 'P00000'")  # fmt: skip
    assert row == [
        ("310101********" + people_rows(1)[0][1][-4:], "张*明", "138****0000", 1950, "F")
    ]
    again = ingest(con, "people", path, secret=SECRET)
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 5, 0)
    batches = _q(
        con, "SELECT rows_in, loaded, inserted, unchanged FROM layer_batches ORDER BY started_at"
    )
    assert batches == [(5, 5, 5, 0), (5, 5, 0, 5)]


def test_changed_and_incremental_rows_are_upserted(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    ingest(con, "people", write_csv("a.csv", PEOPLE_HEADER, people_rows(4)), secret=SECRET)
    rows = people_rows(4)
    rows[1][6] = "中山东一路1号"  # moved
    rows += people_rows(2, start=10)  # two new people
    report = ingest(con, "people", write_csv("b.csv", PEOPLE_HEADER, rows), secret=SECRET)
    assert (report.inserted, report.updated, report.unchanged) == (2, 1, 3)
    assert _q(con, "SELECT address FROM people WHERE source_id = 'P00001'") == [("中山东一路1号",)]
    assert _q(con, "SELECT count(*) FROM people") == [(6,)]


def test_quarantine_keeps_every_reason_and_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    good = people_rows(3)
    lines = [",".join(PEOPLE_HEADER)]
    lines += [",".join(r) for r in good]  # lines 2-4
    bad_check = good[0][1][:-1] + ("0" if good[0][1][-1] != "0" else "1")
    lines.append(f"Q1,{bad_check},李四,男,not-a-date,registered,外滩路,,13812345678")  # 5
    lines.append(",".join(good[0]))  # 6: duplicate of P00000
    lines.append("Q3,x,y")  # 7: too few columns
    lines.append(f"Q4,{make_id()},王五,女,,martian,,,12345")  # 8
    lines.append(",".join(["Q5", *good[1][1:]]) + ",extra")  # 9: too many columns
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(con, "people", path, secret=SECRET)
    assert report.rows_in == 8 == report.loaded + report.quarantined
    assert (report.loaded, report.quarantined) == (3, 5)
    got = _quarantine(con, report.batch_id)
    assert got == {
        5: ["bad_birth_date", "bad_id_check", "sex_mismatch"],
        6: ["duplicate_source_id"],
        7: ["malformed_row"],
        8: ["bad_hukou_type", "bad_phone", "missing_location", "sex_mismatch"],
        9: ["malformed_row"],
    }
    assert report.reasons["malformed_row"] == 2
    raw = json.loads(_q(con, "SELECT raw FROM layer_quarantine WHERE source_line = 5")[0][0])
    assert raw["name_masked"] == "李*" and raw["phone_masked"] == "138****5678"
    assert "id_number" not in raw and "name" not in raw and "birth_date" not in raw


def test_gbk_and_bom_files(con: duckdb.DuckDBPyConnection, write_csv: WriteCsv) -> None:
    gbk = write_csv("gbk.csv", PEOPLE_HEADER, people_rows(2), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.read_text(encoding="utf-8")
    report = ingest(con, "people", gbk, secret=SECRET)
    assert (report.loaded, report.quarantined) == (2, 0)
    assert _q(
        con, "SELECT DISTINCT name_masked, address FROM people WHERE source_id = 'P00000'"
    ) == [("张*明", "外滩路1号")]
    bom = write_csv("bom.csv", PEOPLE_HEADER, people_rows(2, start=5), encoding="utf-8-sig")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    report = ingest(con, "people", bom, secret=SECRET)
    assert (report.loaded, report.quarantined) == (2, 0)


def test_undecodable_file_is_refused_with_its_line(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"source_id,id_number,name\nP1,\xff\xfe\xff\xfe,x\n")
    with pytest.raises(InvalidInput, match=r"binary.csv: line 2"):
        ingest(con, "people", path, secret=SECRET)


def test_missing_required_column_names_file_and_column(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    path = write_csv("nocol.csv", ["source_id", "name"], [["P1", "张三"]])
    with pytest.raises(
        InvalidInput, match=r"nocol.csv: line 1: missing required column\(s\) \['id_number'\]"
    ):
        ingest(con, "people", path, secret=SECRET)


@pytest.mark.parametrize("fmt", ["dict", "json", "toml", "yaml"])
def test_mapping(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv, tmp_path: Path, fmt: str
) -> None:
    header = ["编号", "身份证号", "姓名", "住址"]
    rows = [[r[0], r[1], r[2], r[6]] for r in people_rows(3)]
    path = write_csv("mapped.csv", header, rows)
    columns = {"source_id": "编号", "id_number": "身份证号", "name": "姓名", "address": "住址"}
    mapping: Any = columns
    if fmt == "json":
        mapping = tmp_path / "m.json"
        mapping.write_text(json.dumps({"columns": columns}, ensure_ascii=False), encoding="utf-8")
    elif fmt == "toml":
        mapping = tmp_path / "m.toml"
        mapping.write_text(
            "[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in columns.items()), encoding="utf-8"
        )
    elif fmt == "yaml":
        mapping = tmp_path / "m.yaml"
        mapping.write_text("".join(f"{k}: {v}\n" for k, v in columns.items()), encoding="utf-8")
    report = ingest(con, "people", path, mapping=mapping, secret=SECRET)
    assert (report.loaded, report.quarantined) == (3, 0)


def test_people_parquet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = people_rows(4)
    rows[2][1] = "110105194912310021"  # bad check
    table = pa.table({name: [r[i] for r in rows] for i, name in enumerate(PEOPLE_HEADER)})
    path = tmp_path / "people.parquet"
    pq.write_table(table, path)
    report = ingest(con, "people", path, secret=SECRET)
    assert (report.rows_in, report.loaded, report.quarantined) == (4, 3, 1)
    # the third row (Parquet rows count from 1) fails its check and disagrees with birth_date
    assert _quarantine(con, report.batch_id) == {3: ["bad_id_check", "birth_date_mismatch"]}


def _legal_frame(points: list[tuple[float, float]]) -> Any:
    import geopandas as gpd
    from shapely.geometry import Point

    codes = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T", "91350100M000100Y44"]
    return gpd.GeoDataFrame(
        {
            "source_id": [f"L{i}" for i in range(len(points))],
            "uscc": codes[: len(points)],
            "name": [f"公司{i}" for i in range(len(points))],
            "industry": ["零售"] * len(points),
        },
        geometry=[Point(x, y) for x, y in points],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_legal_persons_from_geo_files(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, suffix: str
) -> None:
    frame = _legal_frame([(121.49, 31.24), (121.50, 31.23), (116.40, 39.90), (121.48, 31.22)])
    path = tmp_path / f"legal{suffix}"
    frame.to_file(path)
    report = ingest(con, "legal_persons", path, secret=SECRET)
    assert (report.rows_in, report.loaded, report.quarantined) == (4, 2, 2)
    assert _quarantine(con, report.batch_id) == {3: ["outside_city"], 4: ["bad_uscc_check"]}
    rows = _q(
        con, "SELECT source_id, lon, lat, ST_AsText(geom) FROM legal_persons ORDER BY source_id"
    )
    assert rows[0] == ("L0", 121.49, 31.24, "POINT (121.49 31.24)")


def test_projected_geo_file_is_refused(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "utm.gpkg"
    _legal_frame([(121.49, 31.24)]).to_crs("EPSG:32651").to_file(path)
    with pytest.raises(InvalidInput, match="EPSG:32651"):
        ingest(con, "legal_persons", path, secret=SECRET)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    k = math.pi / 180
    dx = (lon2 - lon1) * k * 6371008.8 * math.cos(lat1 * k)
    dy = (lat2 - lat1) * k * 6371008.8
    return math.hypot(dx, dy)


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "GCJ_02", "bd09ll"])
def test_offset_crs_lands_within_a_metre(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv, crs: str
) -> None:
    coords = pytest.importorskip("common.coords")
    truth = (121.4903, 31.2397)
    x, y = coords.transform(truth[0], truth[1], "wgs84", crs)
    assert _metres(truth[0], truth[1], x, y) > 100  # the offset is real
    path = write_csv(
        "gcj.csv",
        ["source_id", "uscc", "name", "lon", "lat"],
        [["L1", "91350100M000100Y43", "外滩公司", repr(float(x)), repr(float(y))]],
    )
    report = ingest(con, "legal_persons", path, crs=crs, secret=SECRET)
    assert report.loaded == 1
    ((lon, lat),) = _q(con, "SELECT lon, lat FROM legal_persons")
    assert _metres(truth[0], truth[1], lon, lat) < 1.0


def test_mixed_crs_is_refused_with_line_and_column(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    path = write_csv(
        "mixed.csv",
        ["source_id", "uscc", "name", "lon", "lat", "crs"],
        [
            ["L1", "91350100M000100Y43", "甲", "121.49", "31.24", "wgs84"],
            ["L2", "91110000600037341L", "乙", "121.50", "31.24", "GCJ-02"],
        ],
    )
    with pytest.raises(InvalidInput, match=r"mixed.csv: line 3, column 'crs': 'GCJ-02'"):
        ingest(con, "legal_persons", path, secret=SECRET)


def test_a_crs_column_may_name_the_declared_crs_by_any_of_its_names(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    # one table of names (common.coords.system_name) for --crs and the crs column
    path = write_csv(
        "named.csv",
        ["source_id", "uscc", "name", "lon", "lat", "crs"],
        [
            ["L1", "91350100M000100Y43", "甲", "121.49", "31.24", "wgs84"],
            ["L2", "91110000600037341L", "乙", "121.50", "31.24", "EPSG:4326"],
            ["L3", "91350100M000100Y43", "丙", "121.50", "31.25", " WGS_84 "],
        ],
    )
    report = ingest(con, "legal_persons", path, crs="epsg:4326", secret=SECRET)
    assert (report.loaded, report.quarantined) == (3, 0)


EVENT_HEADER = ["source_id", "category_kind", "category", "source", "description", "lon", "lat",
                "state", "reported_at", "registered_at", "dispatched_at", "department"]  # fmt: skip


def test_events_sla_history_and_bad_rows(
    con: duckdb.DuckDBPyConnection, write_csv: WriteCsv
) -> None:
    rows = [
        ["E1", "部件", "0101", "grid_worker", "井盖缺失", "121.49", "31.24", "dispatched",
         "2026-11-01 08:00:00", "2026-11-01 08:10:00", "2026-11-01 08:30:00", "水务"],
        ["E2", "event", "0505", "12345", "乱停车", "121.50", "31.24", "", "2026-11-01 09:00", "", "", ""],
        ["E3", "event", "9999", "video", "?", "121.50", "31.24", "", "2026-11-01 09:00", "", "", ""],
        ["E4", "event", "0102", "iot", "垃圾", "121.50", "31.24", "handled", "2026-11-01 09:00",
         "2026-11-01 08:00", "", ""],
        ["E5", "event", "0102", "pigeon", "垃圾", "", "", "", "yesterday", "", "", ""],
    ]  # fmt: skip
    report = ingest(con, "events", write_csv("events.csv", EVENT_HEADER, rows), secret=SECRET)
    assert (report.rows_in, report.loaded, report.quarantined) == (5, 2, 3)
    assert _quarantine(con, report.batch_id) == {
        4: ["bad_category"],
        5: ["inconsistent_state_times"],
        6: ["bad_source", "bad_timestamp", "inconsistent_state_times", "missing_location"],
    }
    got = _q(
        con,
        "SELECT source_id, category_kind, state, CAST(sla_deadline AS VARCHAR) FROM events ORDER BY 1",
    )
    assert got == [
        ("E1", "part", "dispatched", "2026-11-01 12:00:00"),  # manhole cover: 4 h
        ("E2", "event", "reported", "2026-11-01 21:00:00"),  # illegal parking: 12 h
    ]
    history = _q(
        con,
        "SELECT from_state, to_state FROM event_transitions WHERE event_id = 'E1' ORDER BY occurred_at",
    )
    assert history == [(None, "reported"), ("reported", "registered"), ("registered", "dispatched")]


def test_sensors_and_readings(con: duckdb.DuckDBPyConnection, write_csv: WriteCsv) -> None:
    header = ["source_id", "sensor_type", "lon", "lat", "status", "installed", "camera_range_m",
              "camera_fov_deg", "camera_heading_deg"]  # fmt: skip
    rows = [
        ["S1", "camera", "121.49", "31.24", "online", "2025-03-01", "80", "90", "45"],
        ["S2", "smoke", "121.49", "31.24", "", "", "", "", ""],
        ["S3", "camera", "121.49", "31.24", "", "", "80", "400", "45"],
        ["S4", "radar", "121.49", "north", "", "", "", "", ""],
    ]
    report = ingest(con, "sensors", write_csv("sensors.csv", header, rows), secret=SECRET)
    assert _quarantine(con, report.batch_id) == {
        4: ["bad_camera"],
        5: ["bad_coordinates", "bad_sensor_type"],
    }
    readings = write_csv(
        "readings.csv",
        ["sensor_id", "ts", "value", "alert"],
        [["S2", "2026-11-01 08:00:00", "0.1", "0"], ["S2", "2026-11-01 08:01:00", "9.5", "1"]],
    )
    report = ingest(con, "readings", readings, secret=SECRET)
    assert report.loaded == 2
    assert _q(con, "SELECT source_id, alert FROM sensor_readings ORDER BY ts") == [
        ("S2@2026-11-01T08:00:00", False),
        ("S2@2026-11-01T08:01:00", True),
    ]


def test_houses_check_room_ids(con: duckdb.DuckDBPyConnection, write_csv: WriteCsv) -> None:
    from address_registry.ids import building_id, room_id

    good = room_id(building_id("310101013001", 2024, 1), unit=1, floor=3, room=301)
    bad = good[:-1] + ("2" if good[-1] != "2" else "3")
    bad_check = good[:24] + ("0" if good[24] != "0" else "1") + good[25:]
    rows = [
        ["H1", good, "rented", "3", "yes"],
        ["H2", bad_check, "自住", "", ""],
        ["H3", bad, "hotel", "-1", "maybe"],
    ]
    report = ingest(
        con,
        "houses",
        write_csv(
            "houses.csv", ["source_id", "room_id", "use", "occupants", "rental_registered"], rows
        ),
        secret=SECRET,
    )
    assert _quarantine(con, report.batch_id) == {
        3: ["bad_room_id"],
        4: ["bad_flag", "bad_occupants", "bad_use"],
    }
    assert _q(con, "SELECT use, occupants, rental_registered FROM houses") == [("rented", 3, True)]


def test_unknown_kind_and_crs(con: duckdb.DuckDBPyConnection, write_csv: WriteCsv) -> None:
    path = write_csv("x.csv", ["a"], [["1"]])
    with pytest.raises(InvalidInput, match="unknown layer kind 'cars'"):
        ingest(con, "cars", path, secret=SECRET)
    with pytest.raises(InvalidInput, match="unknown CRS 'mars'"):
        ingest(con, "events", path, crs="mars", secret=SECRET)
