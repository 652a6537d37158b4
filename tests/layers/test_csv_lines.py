"""CSV line numbers from a parallel scan: rows land in file order, lines come from rowid."""

from __future__ import annotations

from pathlib import Path

import duckdb

from layers._read import Mapping, open_source
from layers.ingest import _fits_in_memory, _materialise, ingest
from layers.schemas import get_kind

from ._helpers import SECRET


def _quarantined(con: duckdb.DuckDBPyConnection, batch_id: object) -> dict[int, list[str]]:
    """Source line → reasons of the rows one ingest quarantined."""
    rows = con.execute(
        "SELECT source_line, reasons FROM layer_quarantine WHERE batch_id = ?", [batch_id]
    ).fetchall()
    return dict(rows)


def test_parallel_scan_numbers_every_line(tmp_path: Path) -> None:
    # large enough (~30 MB) for DuckDB to split the file between both threads, with malformed
    # lines sprinkled in: the numbering must still equal the physical line of every row
    n = 1_200_000
    bad = {1_000, 400_017, 1_199_990}
    path = tmp_path / "big.csv"
    body = "".join(f"L{i},x,{i}{',extra' if i in bad else ''}\n" for i in range(n))
    path.write_text("source_id,uscc,name\n" + body, encoding="utf-8")
    con = duckdb.connect(config={"threads": 2})
    src = open_source(con, get_kind("legal_persons", SECRET), path, Mapping(), tmp_path)
    assert src.line_from_rowid == 2
    _materialise(con, "_t", f"SELECT * FROM {src.from_sql}", src.line_from_rowid)
    from layers.ingest import _fix_lines

    con.execute("ALTER TABLE _t RENAME TO _layer_checked")
    rejects = _fix_lines(con, src)
    assert [line for line, _ in rejects] == sorted(i + 2 for i in bad)
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _line <> CAST(name AS BIGINT) + 2), "
        "bool_and(source_id = 'L' || name) FROM _layer_checked"
    ).fetchone()
    assert row == (n - len(bad), 0, True)


def test_csv_with_bad_rows_quarantines_the_right_lines(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "lp.csv"
    lines = ["source_id,uscc,name"]
    lines += [f"L{i},91350100M000100Y43,甲{i}" for i in range(2000)]
    lines[101] = "L100,91350100M000100Y44,甲100"  # bad check character: physical line 102
    lines[1501] = "L1500,91350100M000100Y43"  # missing column: line 1502
    lines[1801] = "L0,91350100M000100Y43,again"  # duplicate of line 2: line 1802
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(con, "legal_persons", path, secret=SECRET)
    got = _quarantined(con, report.batch_id)
    assert got == {102: ["bad_uscc_check"], 1502: ["malformed_row"], 1802: ["duplicate_source_id"]}
    assert (report.rows_in, report.loaded, report.quarantined) == (2000, 1997, 3)


def test_events_csv_keeps_malformed_lines(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    # events join their categories, so they take the numbered (serial) reader: malformed lines
    # must still reach the quarantine with their line
    header = "source_id,category_kind,category,source,lon,lat,reported_at"
    good = "event,0102,iot,121.50,31.24,2026-11-01 09:00"
    lines = [header, f"E1,{good}", "E2,event,0102", f"E3,{good}", f"E4,{good},extra"]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(con, "events", path, secret=SECRET)
    got = _quarantined(con, report.batch_id)
    assert got == {3: ["malformed_row"], 5: ["malformed_row"]}
    assert (report.rows_in, report.loaded, report.quarantined) == (4, 2, 2)


def test_large_files_keep_the_serial_scan(tmp_path: Path) -> None:
    path = tmp_path / "one-mb.csv"
    path.write_bytes(b"x" * 2**20)
    con = duckdb.connect()
    con.execute("SET memory_limit = '100MB'")
    assert _fits_in_memory(con, path)
    con.execute("SET memory_limit = '5MB'")
    assert not _fits_in_memory(con, path)  # 6 MB of checked rows expected: numbered scan
