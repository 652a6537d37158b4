"""Shared fixtures: temporary stores and the optional ../shared evaluation data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from common.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a fresh store file."""
    return tmp_path / "test.duckdb"


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh, fully migrated store."""
    import store

    connection = store.connect(db_path)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository; tests that need it skip cleanly without it."""
    path = get_settings().shared_dir
    if not (path / "data").is_dir():
        pytest.skip(f"optional evaluation data not found at {path}")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The project's own sample data (always present in a clone)."""
    return REPO / "data"


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample city built once per test session through every pipeline stage (read it only)."""
    import store
    from yizhi.pipeline import run_pipeline

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    connection = store.connect(path)
    try:
        run_pipeline(connection)
    finally:
        connection.close()
    return path
