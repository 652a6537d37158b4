"""No raw ID number, name or phone anywhere in the store: every text column and the file bytes."""

from __future__ import annotations

from pathlib import Path

import duckdb

import store
from layers.ingest import ingest

from ._helpers import PEOPLE_HEADER, SECRET, make_id, people_rows

NAMES = ["欧阳震华", "司马相如", "诸葛孔明"]


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND (data_type LIKE 'VARCHAR%' OR data_type = 'JSON')"
    ).fetchall()


def _hits(con: duckdb.DuckDBPyConnection, values: list[str]) -> list[tuple[str, str, str]]:
    found = []
    for table, column in _text_columns(con):
        for value in values:
            row = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains(CAST("{column}" AS VARCHAR), ?)',
                [value],
            ).fetchone()
            if row and row[0]:
                found.append((table, column, value))
    return found


def test_the_scan_finds_a_planted_value(tmp_path: Path) -> None:
    """Positive control: the scans below do see a raw value when one is stored."""
    path = tmp_path / "control.duckdb"
    con = store.connect(path)
    value = make_id("440305", "19900101", 19)
    con.execute("INSERT INTO layer_quarantine (layer, batch_id, source_file, reasons, raw) "
                "VALUES ('people', 'b', 'f', [], json_object('id', ?))", [value])  # fmt: skip
    assert _hits(con, [value]) == [("layer_quarantine", "raw", value)]
    con.execute("CHECKPOINT")
    con.close()
    assert value.encode() in path.read_bytes()


def test_no_raw_pii_anywhere(db_path: Path, tmp_path: Path) -> None:
    rows = people_rows(3)
    for row, name in zip(rows, NAMES, strict=True):
        row[2] = name
    bad = [
        ["B1", make_id("440305", "19900101", 11)[:-1] + "0", NAMES[0], "女", "1990-01-01", "", "路", "", "13900001111"],
        ["B2", make_id("440305", "19900101", 13), NAMES[1], "?", "01/01/1990", "x", "", "", "1390000"],
        ["B3", make_id("440305", "19900101", 15), NAMES[2], "男", "1990-01-01", "", "电话13912345678", "bad-room", "13912345678"],
    ]  # fmt: skip
    if bad[0][1].endswith(make_id("440305", "19900101", 11)[-1]):
        bad[0][1] = bad[0][1][:-1] + "1"
    good_file = tmp_path / "people.csv"
    good_file.write_text(
        "\n".join(",".join(r) for r in [list(PEOPLE_HEADER), *rows]) + "\n", encoding="utf-8"
    )
    lines = [",".join(PEOPLE_HEADER)] + [",".join(r) for r in bad]
    lines.append(
        f"B4,{make_id('440305', '19900101', 17)},{NAMES[0]},extra,columns,1,2,3,4,13955556666"
    )
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw_values = [r[1] for r in rows + bad] + [make_id("440305", "19900101", 17)]
    raw_values += [r[8] for r in rows + bad if len(r[8]) == 11] + ["13955556666"] + NAMES

    con = store.connect(db_path)
    report = ingest(con, "people", good_file, secret=SECRET)
    assert (report.loaded, report.quarantined) == (3, 0)
    report = ingest(con, "people", bad_file, secret=SECRET)
    assert (report.loaded, report.quarantined) == (0, 4)
    # every VARCHAR / JSON column of every table
    assert _hits(con, raw_values) == []
    # list columns too (reasons, care_tags)
    lists = con.execute(
        "SELECT count(*) FROM layer_quarantine WHERE contains(CAST(reasons AS VARCHAR), '1990')"
    ).fetchone()
    assert lists == (0,)
    con.execute("CHECKPOINT")
    con.close()
    data = db_path.read_bytes()
    wal = Path(str(db_path) + ".wal")
    if wal.exists():
        data += wal.read_bytes()
    for value in raw_values:
        assert value.encode("utf-8") not in data, f"{value!r} in the database file"
    assert SECRET not in data
