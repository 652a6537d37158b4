"""Fixtures of the resolver tests: the crafted city of ``tests/resolve/_crafted.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from store import clear_cache
from tests.resolve._crafted import crafted_store


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The crafted city in a store of its own, one per test module (modules may change it)."""
    path: Path = tmp_path_factory.mktemp("crafted") / "crafted.duckdb"
    con = crafted_store(path)
    yield con
    con.close()
    clear_cache()
