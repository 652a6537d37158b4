"""Raw slices of a department's file never outlive their ingest (issue 22: no stray copies)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

import layers._read
from layers import _scratch
from layers.ingest import ingest

from ._helpers import PEOPLE_HEADER, SECRET, people_rows


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temp directory, pointed at a folder of this test."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_a_killed_ingests_folder_is_swept_and_a_live_ones_kept(temp_root: Path) -> None:
    dead = temp_root / f"{_scratch.PREFIX}{_dead_pid()}-abc"
    dead.mkdir()
    (dead / "slice-0001.csv").write_text("110101199001011234,张三\n", encoding="utf-8")
    live = temp_root / f"{_scratch.PREFIX}{os.getpid()}-def"
    live.mkdir()
    other = temp_root / "somebody-else"
    other.mkdir()
    assert _scratch.sweep() == [dead]
    assert not dead.exists() and live.exists() and other.exists()


def test_the_folder_is_private_and_removed_when_the_ingest_fails(
    con: duckdb.DuckDBPyConnection,
    write_csv: Callable[..., Path],
    temp_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Path, int]] = []
    real_open = layers._read.open_source

    def spy(con_: duckdb.DuckDBPyConnection, kind: object, path: Path, mapping: object,
            tmpdir: Path) -> object:  # fmt: skip
        seen.append((tmpdir, stat.S_IMODE(tmpdir.stat().st_mode)))
        raise RuntimeError("killed in the middle")

    monkeypatch.setattr("layers.ingest.open_source", spy)
    path = write_csv("people.csv", PEOPLE_HEADER, people_rows(3))
    with pytest.raises(RuntimeError, match="killed"):
        ingest(con, "people", path, secret=SECRET)
    ((folder, mode),) = seen
    assert mode == 0o700 and folder.parent == temp_root and not folder.exists()
    monkeypatch.setattr("layers.ingest.open_source", real_open)
    assert ingest(con, "people", path, secret=SECRET).loaded == 3
    assert list(temp_root.iterdir()) == []  # nothing left behind by a good ingest either
