"""The crafted register the resolver tests run on, and small helpers to read answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

import store
from address_registry.build import build_registry
from tests.registry._registry_city import DERIVE, city


def crafted_store(path: Path) -> duckdb.DuckDBPyConnection:
    """Build the crafted city of ``tests/registry/_registry_city.py`` into ``path``."""
    con = store.connect(path)
    build_registry(con, sources=city(), derive={k: tuple(v) for k, v in DERIVE.items()})
    return con


def building_by_alias(con: duckdb.DuckDBPyConnection, alias: str) -> str:
    """The building ID registered under ``alias``."""
    row = con.execute(
        "SELECT building_id FROM building_aliases WHERE alias = ?", [alias]
    ).fetchone()
    assert row is not None, alias
    return str(row[0])


def top(answer: dict[str, Any]) -> dict[str, Any]:
    """The best candidate of a resolver answer (there must be one)."""
    assert answer["candidates"], answer
    best: dict[str, Any] = answer["candidates"][0]
    return best
