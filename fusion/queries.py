"""Reads of the fusion tables for the other packages: links, the unlinked queue, block data.

``fusion`` owns the tables in :data:`TABLES`; ``api`` and the command line read them through
the functions here and never name them in their own SQL. Three shapes: point lookups and
summaries (plain values), frames (pandas), and relations (``*_sql``: one ``SELECT`` with
documented columns, to embed as ``FROM ({links_sql('people')}) l``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import duckdb
import pandas as pd

from common.errors import InvalidInput
from grid_partition.queries import active_version_sql
from layers import queries as records

#: The tables ``fusion`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {"links", "unlinked", "link_locks", "block_data", "block_locks", "fusion_lattice"}
)

#: The layers that are linked, in link order.
LAYERS: Final = ("people", "legal_persons", "houses", "events", "sensors")
#: The levels of block data, bottom up.
LEVELS: Final = ("micro_grid", "grid", "community", "street", "district")

#: The columns of :func:`links_sql` (and of the frames of links).
LINK_COLUMNS: Final = (
    "layer",
    "source_id",
    "room_id",
    "building_id",
    "method",
    "confidence",
    "micro_grid_code",
    "grid_code",
    "unit_grid_code",
    "community_code",
    "street_code",
    "district_code",
    "grid_version",
    "detail",
    "linked_at",
)


def _layer(layer: str | None) -> None:
    if layer is not None and layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; expected one of {list(LAYERS)}")


def _level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; expected one of {list(LEVELS)}")


# -- links -----------------------------------------------------------------------------------------


def links_sql(layer: str | None = None) -> str:
    """Relation: the links (:data:`LINK_COLUMNS`), of one layer or all.

    One row per linked record: the room (``room_id``, NULL when linked to a building only) and
    building it was linked to (``building_id``, NULL for a point in public space), ``method``
    and ``confidence``, the micro-grid / grid / unit grid / community / street / district codes
    of ``grid_version``, a ``detail``. Used by :mod:`api` (the people, houses and legal persons
    of a building).
    """
    _layer(layer)
    where = f" WHERE layer = '{layer}'" if layer else ""
    return f"SELECT {', '.join(LINK_COLUMNS)} FROM links{where}"


def links_of(con: duckdb.DuckDBPyConnection, layer: str, source_ids: Sequence[str]) -> pd.DataFrame:
    """The links of some records of a layer (:data:`LINK_COLUMNS`), by ``source_id``; records
    not linked are left out. Used by :mod:`api` and the command line."""
    _layer(layer)
    return con.execute(
        f"SELECT * FROM ({links_sql(layer)}) WHERE list_contains(?, source_id) ORDER BY source_id",
        [list(source_ids)],
    ).df()


def links_of_building(
    con: duckdb.DuckDBPyConnection, building_id: str, layer: str | None = None
) -> pd.DataFrame:
    """The links to a building (:data:`LINK_COLUMNS`), of one layer or all, by layer, room and
    record. Used by :mod:`api` (who and what is in a building)."""
    _layer(layer)
    return con.execute(
        f"SELECT * FROM ({links_sql(layer)}) WHERE building_id = ? "
        "ORDER BY layer, room_id NULLS LAST, source_id",
        [building_id],
    ).df()


def link_summary(con: duckdb.DuckDBPyConnection, layer: str) -> dict[str, Any]:
    """Totals of one layer: ``total`` records, ``linked``, ``unlinked``, ``by_method`` and
    ``reasons`` (of the unlinked). Used by :func:`fusion.link.link` and the command line."""
    _layer(layer)
    by_method = dict(
        con.execute(
            "SELECT method, count(*) FROM links WHERE layer = ? GROUP BY ALL ORDER BY 1", [layer]
        ).fetchall()
    )
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM unlinked WHERE layer = ? GROUP BY ALL ORDER BY 1",
            [layer],
        ).fetchall()
    )
    return {
        "total": records.record_count(con, layer),
        "linked": int(sum(by_method.values())),
        "unlinked": int(sum(reasons.values())),
        "by_method": {k: int(v) for k, v in by_method.items()},
        "reasons": {k: int(v) for k, v in reasons.items()},
    }


def link_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """``{layer: {"linked": n, "unlinked": m}}`` for every layer (zeros when none). Used by
    :mod:`yizhi.pipeline` (the demo's closing summary)."""
    out = {layer: {"linked": 0, "unlinked": 0} for layer in LAYERS}
    for table, key in (("links", "linked"), ("unlinked", "unlinked")):
        for layer, n in con.execute(f"SELECT layer, count(*) FROM {table} GROUP BY ALL").fetchall():
            if layer in out:
                out[layer][key] = int(n)
    return out


def unlinked_frame(
    con: duckdb.DuckDBPyConnection,
    layer: str | None = None,
    *,
    reason: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The queue of records that could not be linked: ``layer, source_id, reason, detail,
    grid_version, queued_at``, by layer and record. Used by :mod:`api` and the command line."""
    _layer(layer)
    sql = (
        "SELECT layer, source_id, reason, detail, grid_version, queued_at FROM unlinked WHERE true"
    )
    params: list[Any] = []
    if layer is not None:
        sql += " AND layer = ?"
        params.append(layer)
    if reason is not None:
        sql += " AND reason = ?"
        params.append(reason)
    sql += " ORDER BY layer, source_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return con.execute(sql, params).df()


# -- block data ------------------------------------------------------------------------------------


def block_data_sql(version: int | None = None, level: str | None = None) -> str:
    """Relation: ``level, code, grid_version, metric, value, computed_at`` of the block data of
    a grid version (``None``: the active one; the SQL follows it), of one level or all. Used by
    :mod:`api.tiles` (block metrics of the grid layers)."""
    _level(level)
    where = [f"grid_version = {active_version_sql() if version is None else int(version)}"]
    if level is not None:
        where.append(f"level = '{level}'")
    return (
        "SELECT level, code, grid_version, metric, value, computed_at FROM block_data "
        f"WHERE {' AND '.join(where)}"
    )


def block_rows(
    con: duckdb.DuckDBPyConnection,
    version: int,
    *,
    level: str | None = None,
    code: str | None = None,
    metric_prefix: str | None = None,
) -> list[tuple[str, str, str, float]]:
    """``(level, code, metric, value)`` of a grid version's block data, by level, code and
    metric; optionally one level, one block and metrics starting with a prefix. Used by
    :mod:`fusion.blocks` (:func:`~fusion.blocks.block_values`, suppression) and :mod:`api`."""
    _level(level)
    sql = "SELECT level, code, metric, value FROM block_data WHERE grid_version = ?"
    params: list[Any] = [int(version)]
    if level is not None:
        sql += " AND level = ?"
        params.append(level)
    if code is not None:
        sql += " AND code = ?"
        params.append(code)
    if metric_prefix:
        sql += " AND starts_with(metric, ?)"
        params.append(metric_prefix)
    rows = con.execute(sql + " ORDER BY level, code, metric", params).fetchall()
    return [(str(lv), str(c), str(m), float(v)) for lv, c, m, v in rows]


def block_data_count(con: duckdb.DuckDBPyConnection, version: int) -> int:
    """Rows of block data of a grid version (0: never computed for it). Used by
    :func:`fusion.blocks.compute_blocks` and :mod:`api` (whether to show counts at all)."""
    row = con.execute(
        "SELECT count(*) FROM block_data WHERE grid_version = ?", [int(version)]
    ).fetchone()
    return int(row[0]) if row else 0
