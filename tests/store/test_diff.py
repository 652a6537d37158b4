"""``yizhi db diff``: two stores compared table by table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import store
from common.errors import NotFound
from yizhi.cli import app


def _store(path: Path, rows: list[tuple[str, str, float, str]]) -> Path:
    con = store.connect(path)
    con.execute(
        "CREATE TABLE things (id VARCHAR, geom GEOMETRY, area DOUBLE, seen TIMESTAMPTZ, "
        "batch_id VARCHAR)"
    )
    for thing_id, wkt, area, batch in rows:
        con.execute(
            "INSERT INTO things VALUES (?, ST_GeomFromText(?), ?, current_timestamp, ?)",
            [thing_id, wkt, area, batch],
        )
    con.close()
    return path


SQUARE = "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"
#: The same square, its ring starting at another vertex.
SQUARE_ROTATED = "POLYGON ((1 1, 0 1, 0 0, 1 0, 1 1))"


def test_same_data_is_equal_whatever_the_run(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.duckdb", [("x", SQUARE, 1.0, "run-1")])
    b = _store(tmp_path / "b.duckdb", [("x", SQUARE_ROTATED, 1.0 + 1e-13, "run-2")])
    result = store.compare_stores(a, b)
    assert result["equal"], result
    assert result["tables"]["things"]["columns"] == ["id", "geom", "area"]
    # with the run's columns compared, the batch ids differ
    assert not store.compare_stores(a, b, keep_times=True)["equal"]


def test_a_changed_row_is_counted_both_ways(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.duckdb", [("x", SQUARE, 1.0, "r"), ("y", SQUARE, 2.0, "r")])
    b = _store(tmp_path / "b.duckdb", [("x", SQUARE, 1.0, "r"), ("y", SQUARE, 2.5, "r")])
    entry = store.compare_stores(a, b)["tables"]["things"]
    assert (entry["only_before"], entry["only_after"]) == (1, 1)


def test_missing_store_and_table(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.duckdb", [])
    with pytest.raises(NotFound, match="no store"):
        store.compare_stores(a, tmp_path / "nothing.duckdb")
    with pytest.raises(NotFound, match="no table"):
        store.compare_stores(a, a, tables=["nope"])


def test_cli_exit_codes(tmp_path: Path) -> None:
    a = _store(tmp_path / "a.duckdb", [("x", SQUARE, 1.0, "r")])
    b = _store(tmp_path / "b.duckdb", [("x", SQUARE, 3.0, "r")])
    runner = CliRunner()
    same = runner.invoke(app, ["db", "diff", str(a), str(a)])
    assert same.exit_code == 0 and same.stdout.strip().endswith("equal")
    differ = runner.invoke(app, ["db", "diff", str(a), str(b), "--json"])
    assert differ.exit_code == 1 and '"only_before": 1' in differ.stdout
    # a mistake: one line on stderr and exit 2 (through the real entry point)
    missing = subprocess.run(
        [sys.executable, "-m", "yizhi.cli", "db", "diff", str(a), str(tmp_path / "none.duckdb")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: no store at {tmp_path / 'none.duckdb'}"]
