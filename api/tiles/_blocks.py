"""Public block metrics of the grid layers: hide what :func:`fusion.blocks.hidden_cells` hides.

Tiles and OGC features are public. Hiding each count from 1 to 4 alone would not be enough: the
grid layer shows a grid's total and the micro-grid layer its micro-grids, so a hidden micro-grid
would be the grid minus its published siblings. :func:`fusion.blocks.hidden_cells` applies
primary and complementary suppression over the whole micro-grid → district tree of each
metric; this module nulls those cells in a layer's columns (the block metrics; ``households``
is a count the register publishes per building, so it is public). ``people`` (registered + floating) is hidden when either part is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np

from api.tiles.layers import BLOCK_METRICS, PEOPLE_PARTS

#: Properties hidden by cell: the block metrics (``households`` is a register count, public).
_SUPPRESSED: dict[str, str] = dict(BLOCK_METRICS)

_cache: dict[tuple[Any, ...], frozenset[tuple[str, str, str]]] = {}
_lock = threading.Lock()


def hidden(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[str, str, str]]:
    """``(level, code, metric)`` cells public output hides, for the active grid version.

    Cached by the state of ``block_data`` (rows, last computation, active version), so that a
    page of features does not recompute the suppression of the whole tree.
    """
    row = con.execute(
        "SELECT count(*), max(computed_at), sum(value), "
        "(SELECT max(version_id) FROM grid_versions WHERE status = 'active') FROM block_data"
    ).fetchone()
    if row is None or not row[0] or row[3] is None:
        return frozenset()
    key = (con.execute("PRAGMA database_list").fetchall()[0][2], *row)
    with _lock:
        found = _cache.get(key)
    if found is None:
        from fusion.blocks import hidden_cells

        metrics = set(_SUPPRESSED.values())
        found = frozenset(c for c in hidden_cells(con, version=int(row[3])) if c[2] in metrics)
        with _lock:
            if len(_cache) > 8:
                _cache.clear()
            _cache[key] = found
    return found


def public_blocks(
    con: duckdb.DuckDBPyConnection,
    level: str,
    codes: Sequence[Any],
    columns: Mapping[str, Any],
) -> dict[str, Any]:
    """``columns`` (one value per code) with every hidden block count replaced by ``None``."""
    cells = hidden(con)
    out = dict(columns)
    if not cells:
        return out
    hide: dict[str, np.ndarray] = {}
    for prop, metric in _SUPPRESSED.items():
        if prop in columns:
            hide[prop] = np.fromiter(
                ((level, str(c), metric) in cells for c in codes), dtype=bool, count=len(codes)
            )
    if "people" in columns and all(p in hide for p in PEOPLE_PARTS):
        hide["people"] = hide[PEOPLE_PARTS[0]] | hide[PEOPLE_PARTS[1]]
    for prop, mask in hide.items():
        if mask.any():
            values = np.asarray(columns[prop], dtype=object).copy()
            values[mask] = None
            out[prop] = values
    return out
