"""Reads of the fusion tables for the other packages: links, the unlinked queue, block data.

``fusion`` owns the tables in :data:`TABLES`; ``api`` and the command line read them through
the functions here and never name them in their own SQL.
"""

from __future__ import annotations

from typing import Final

import duckdb

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
