"""Bulk writes of frames into the store (Arrow scans, geometry as WKB)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely


def wkb(geoms: Any) -> list[bytes | None]:
    """WKB of each geometry (``None`` for missing ones)."""
    arr = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(arr)
    present = np.array([g is not None and not (isinstance(g, float)) for g in arr], dtype=bool)
    if present.any():
        encoded = shapely.to_wkb(arr[present])
        for i, value in zip(np.flatnonzero(present), encoded, strict=True):
            out[i] = value
    return out


def insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    geometry: Sequence[str] = (),
) -> int:
    """Insert ``frame`` into ``table`` by column name; ``geometry`` columns hold WKB bytes."""
    if frame.empty:
        return 0
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    con.register("_bulk", arrow)
    try:
        cols = list(frame.columns)
        select = ", ".join(f"ST_GeomFromWKB({_q(c)})" if c in geometry else _q(c) for c in cols)
        con.execute(
            f"INSERT INTO {table} ({', '.join(_q(c) for c in cols)}) SELECT {select} FROM _bulk"
        )
    finally:
        con.unregister("_bulk")
    return len(frame)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
