"""A large CSV is cut into slices at record boundaries; the ingest of the slices equals one scan."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import store
from layers import _slices
from layers._slices import blank_lines, copy_range, csv_slices
from layers.ingest import IngestReport, ingest

from ._helpers import PEOPLE_HEADER, SECRET, people_rows

# fields with the characters that matter to a cut: delimiters, doubled quotes, newlines
_FIELD = st.text(alphabet=st.sampled_from(list('ab,"\n\r 张')), max_size=6)


def _csv_bytes(records: list[list[str]]) -> tuple[bytes, list[int]]:
    """The CSV text of ``records`` (minimal quoting) and the byte offset after each record."""
    out, ends = b"", []
    for rec in records:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(rec)
        out += buf.getvalue().encode("utf-8")
        ends.append(len(out))
    return out, ends


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(st.lists(_FIELD, min_size=1, max_size=4), min_size=1, max_size=30),
    target=st.integers(min_value=1, max_value=80),
)
def test_cuts_fall_only_at_record_ends(
    tmp_path_factory: pytest.TempPathFactory, records: list[list[str]], target: int
) -> None:
    data, ends = _csv_bytes(records)
    path = tmp_path_factory.mktemp("cut") / "f.csv"
    path.write_bytes(data)
    slices = csv_slices(path, target)
    assert slices[0][0] == 0 and slices[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(slices))
    assert {end for _, end in slices} <= set(ends)  # never inside a quoted field
    assert all(end - start >= target for start, end in slices[:-1])


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=40).map(lambda b: bytes(b"\n\ra"[x % 3] for x in b)))
def test_blank_lines_counts_empty_lines_across_blocks(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("blank") / "b.csv"
    path.write_bytes(data)
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 10]

    def brute(lo: int, hi: int) -> int:  # empty lines starting in [lo, hi) whose newline < hi
        found = 0
        for i in starts:
            if lo <= i < hi and (data[i : i + 1] == b"\n" or data[i : i + 2] == b"\r\n"):
                found += (i if data[i] == 10 else i + 1) < hi
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_slices, "_BLOCK", 3)  # many reads: empty lines across block ends
        for lo, hi in itertools.combinations([*starts, len(data)], 2):
            assert blank_lines(path, lo, hi) == brute(lo, hi)


def test_cut_keeps_a_quoted_newline_whole_and_copies_exact_bytes(tmp_path: Path) -> None:
    data = b'h,x\n1,"a\nb"\n2,c\n'
    path = tmp_path / "q.csv"
    path.write_bytes(data)
    # the first newline after byte 5 lies inside the quoted field: the cut moves past it
    assert csv_slices(path, 5) == [(0, 12), (12, 16)]
    assert csv_slices(path, 100) == [(0, 16)]
    copy_range(path, 4, 12, tmp_path / "part.csv")
    assert (tmp_path / "part.csv").read_bytes() == b'1,"a\nb"\n'
    with pytest.raises(ValueError, match="at least 1 byte"):
        csv_slices(path, 0)


def _people_lines() -> list[str]:
    """People lines with bad rows spread over the file (header = line 1)."""
    rows = people_rows(60)
    lines = [",".join(PEOPLE_HEADER)] + [",".join(r) for r in rows]
    bad_check = rows[3][1][:-1] + ("0" if rows[3][1][-1] != "0" else "1")
    lines[4] = ",".join([rows[3][0], bad_check, *rows[3][2:]])  # line 5: bad check character
    lines[12] = "Q12,x,y"  # line 13: too few columns
    lines[30] = lines[30] + ",extra"  # line 31: too many columns
    lines[41] = ",".join(rows[0])  # line 42: duplicate of line 2 (other slice)
    lines[50] = ",".join([*rows[49][:6], "外滩路1号", "", "1380000"])  # line 51: bad phone
    lines[59] = "Q59,x"  # line 60: too few columns, near the end
    return lines


def _ingest(
    path: Path, db: Path, slice_bytes: int | None
) -> tuple[IngestReport, list[Any], list[Any]]:
    con = store.connect(db)
    try:
        report = ingest(con, "people", path, secret=SECRET, slice_bytes=slice_bytes)
        quarantine = con.execute(
            "SELECT source_line, source_id, reasons, raw FROM layer_quarantine ORDER BY 1"
        ).fetchall()
        people = con.execute("SELECT source_id, row_hash FROM people ORDER BY 1").fetchall()
    finally:
        con.close()
    return report, quarantine, people


def _same_as_one_scan(path: Path, tmp_path: Path, slice_bytes: int) -> list[Any]:
    """Ingest ``path`` whole and in slices; assert equal results; return the quarantine."""
    whole = _ingest(path, tmp_path / "whole.duckdb", None)
    parts = _ingest(path, tmp_path / "parts.duckdb", slice_bytes)
    assert len(csv_slices(path, slice_bytes)) > 5  # the test does cut the file
    keys = ("rows_in", "loaded", "inserted", "quarantined", "reasons")
    assert {k: getattr(parts[0], k) for k in keys} == {k: getattr(whole[0], k) for k in keys}
    assert parts[1] == whole[1] and parts[2] == whole[2]
    assert parts[0].rows_in == parts[0].loaded + parts[0].quarantined
    return parts[1]


@pytest.mark.parametrize("slice_bytes", [1, 700])
def test_sliced_ingest_keeps_lines_reasons_and_duplicates(tmp_path: Path, slice_bytes: int) -> None:
    path = tmp_path / "people.csv"
    path.write_text("\n".join(_people_lines()) + "\n", encoding="utf-8")
    quarantine = _same_as_one_scan(path, tmp_path, slice_bytes)
    got = {line: sorted(reasons) for line, _, reasons, _ in quarantine}
    assert got == {
        5: ["bad_id_check"],
        13: ["malformed_row"],
        31: ["malformed_row"],
        42: ["duplicate_source_id"],
        51: ["bad_phone"],
        60: ["malformed_row"],
    }
    assert [sid for line, sid, _, _ in quarantine if line == 42] == ["P00000"]


def test_sliced_ingest_is_idempotent(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("\n".join(_people_lines()) + "\n", encoding="utf-8")
    first = ingest(con, "people", path, secret=SECRET, slice_bytes=200)
    again = ingest(con, "people", path, secret=SECRET, slice_bytes=200)
    assert (first.inserted, first.quarantined) == (54, 6)
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 54, 6)


def test_quoted_newline_across_a_cut(tmp_path: Path) -> None:
    rows = people_rows(30)
    lines = [",".join(PEOPLE_HEADER)] + [",".join(r) for r in rows]
    # line 11 holds a quoted address with a newline in it (a record of two physical lines),
    # placed where a cut would fall; line 21 (a record further) has a bad phone
    lines[10] = ",".join([*rows[9][:6], '"外滩路\n1号"', "", rows[9][8]])
    lines[20] = ",".join([*rows[19][:8], "1380000"])
    text = "\n".join(lines) + "\n"
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    at = text.encode().index("外滩路\n".encode()) + 2
    assert any(start < at < end for start, end in csv_slices(path, 100))  # one slice holds it
    quarantine = _same_as_one_scan(path, tmp_path, 100)
    # DuckDB counts records: the two-line record is line 11, the next record line 12
    assert [(line, sorted(r)) for line, _, r, _ in quarantine] == [(21, ["bad_phone"])]
    con = store.connect(tmp_path / "parts.duckdb")
    address = con.execute("SELECT address FROM people WHERE source_id = 'P00009'").fetchone()
    con.close()
    assert address == ("外滩路\n1号",)


def test_bom_only_at_the_start(tmp_path: Path) -> None:
    lines = _people_lines()
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    quarantine = _same_as_one_scan(path, tmp_path, 150)
    assert [line for line, *_ in quarantine] == [5, 13, 31, 42, 51, 60]


def test_gbk_file_is_cut_after_transcoding(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(("\n".join(_people_lines()) + "\n").encode("gbk"))
    quarantine = _same_as_one_scan(path, tmp_path, 150)
    assert [line for line, *_ in quarantine] == [5, 13, 31, 42, 51, 60]


def test_a_cut_duckdb_disagrees_with_falls_back_to_one_scan(tmp_path: Path) -> None:
    # a literal quote inside an unquoted field (which DuckDB accepts) upsets the quote count:
    # the cut after line 4 lies inside the quoted field that line 4 opens; the slice then ends
    # in an unterminated quote and the ingest scans the whole file instead
    rows = people_rows(12)
    lines = [",".join(PEOPLE_HEADER)] + [",".join(r) for r in rows]
    lines[3] = ",".join([*rows[2][:6], 'a"b', "", '"1380000'])  # line 4
    lines[4] = 'x"' + lines[4]  # closes the quoted field: the record of lines 4-5 has 9 + 8
    text = "\n".join(lines) + "\n"
    path = tmp_path / "stray.csv"
    path.write_text(text, encoding="utf-8")
    start = len("\n".join(lines[:3]).encode()) + 2
    assert csv_slices(path, start)[0][1] == len("\n".join(lines[:4]).encode()) + 1
    whole = _ingest(path, tmp_path / "whole.duckdb", None)
    parts = _ingest(path, tmp_path / "parts.duckdb", start)
    assert parts[1] == whole[1] and parts[2] == whole[2]
    assert whole[0].rows_in == 11 and whole[0].quarantined >= 1


def test_crlf_and_blank_lines_match_one_scan(tmp_path: Path) -> None:
    lines = _people_lines()
    lines.insert(20, "")  # a blank line 21: DuckDB skips it but counts it in reject lines
    path = tmp_path / "crlf.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    quarantine = _same_as_one_scan(path, tmp_path, 150)
    # malformed lines after the blank line keep their physical line (32, 61); rows read after
    # it are numbered one short (42, 51 are lines 43, 52): as in one scan (documented)
    assert [line for line, *_ in quarantine] == [5, 13, 32, 42, 51, 61]
