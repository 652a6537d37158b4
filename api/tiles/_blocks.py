"""Public block metrics of the grid layers: hide the cells of the one suppression set.

Tiles and OGC features are public. Hiding each count from 1 to 4 alone would not be enough: the
grid layer shows a grid's total and the micro-grid layer its micro-grids, so a hidden micro-grid
would be the grid minus its published siblings. :func:`fusion.blocks.suppression_set` (primary
and complementary suppression over the whole micro-grid → district tree of each metric, cached
once per store and version) says which cells to hide; this module nulls them in a layer's
columns (the block metrics; ``households`` is a count the register publishes per building, so it
is public). ``people`` (registered + floating) is hidden when either part is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np

from api.tiles.layers import BLOCK_METRICS, PEOPLE_PARTS
from fusion.blocks import suppression_set
from grid_partition.queries import NoActiveGridVersion, active_version

#: Properties hidden by cell: the block metrics (``households`` is a register count, public).
_SUPPRESSED: dict[str, str] = dict(BLOCK_METRICS)


def hidden(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[str, str, str]]:
    """``(level, code, metric)`` cells public output hides, for the active grid version
    (none when no version is active)."""
    try:
        version = active_version(con)
    except NoActiveGridVersion:
        return frozenset()
    return suppression_set(con, version=version)


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
