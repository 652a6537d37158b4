"""Reads of the fusion tables for the other packages: links, the unlinked queue, block data.

``fusion`` owns the tables in :data:`TABLES`; ``api`` and the command line read them through
the functions here and never name them in their own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb

from common.errors import InvalidInput
from grid_partition.queries import active_version_sql

#: The tables ``fusion`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {"links", "unlinked", "link_locks", "block_data", "block_locks", "fusion_lattice"}
)


# --- read by the pipeline's summary -----------------------------------------------------------


def link_counts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Linked and unlinked records per layer (layers with neither are absent).

    Used by the demo's closing summary (:mod:`yizhi.pipeline`).
    """
    rows = con.execute(
        "SELECT layer, count(*) FILTER (WHERE linked), count(*) FILTER (WHERE NOT linked) FROM "
        "(SELECT layer, true AS linked FROM links UNION ALL "
        "SELECT layer, false FROM unlinked) GROUP BY layer"
    ).fetchall()
    return {str(layer): (int(a), int(b)) for layer, a, b in rows}


# -- reads of the api (person-level data, grid pages, tile layers) -----------------------------
#
# Relation functions (``*_sql``) return one SELECT with the columns their docstring lists; a
# consumer embeds it (``FROM ({links_sql('people')}) l``).

#: The layers records are linked from.
LINKED_LAYERS: Final = ("people", "legal_persons", "houses", "events", "sensors")


def links_sql(layer: str | None = None) -> str:
    """The links of every record (of one ``layer``) to its room, building and grids.

    Columns: ``layer``, ``source_id``, ``room_id``, ``building_id``, ``method`` (how it was
    linked), ``confidence``, ``micro_grid_code``, ``grid_code``, ``community_code``,
    ``grid_version``. Used by the api's person-level reads and building pages.
    """
    where = "TRUE"
    if layer is not None:
        if layer not in LINKED_LAYERS:
            raise InvalidInput(f"unknown layer {layer!r}; expected one of {list(LINKED_LAYERS)}")
        where = f"layer = '{layer}'"
    return (
        "SELECT layer, source_id, room_id, building_id, method, confidence, micro_grid_code, "
        f"grid_code, community_code, grid_version FROM links WHERE {where}"
    )


def block_data_sql(version: int | None = None) -> str:
    """Block data of a grid version (the active one by default: the SQL follows it).

    Columns: ``level`` (``micro_grid`` … ``district``), ``code``, ``metric``, ``value``,
    ``grid_version``. Used by the api's grid tile layers.
    """
    v = active_version_sql() if version is None else str(int(version))
    return (
        f"SELECT level, code, metric, value, grid_version FROM block_data WHERE grid_version = {v}"
    )
