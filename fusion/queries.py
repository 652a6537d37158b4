"""Reads of the fusion tables for the other packages: links, the unlinked queue, block data.

``fusion`` owns the tables in :data:`TABLES`; ``api`` and the command line read them through
the functions here and never name them in their own SQL.
"""

from __future__ import annotations

from typing import Final

#: The tables ``fusion`` writes; only this package names them in SQL.
TABLES: Final = frozenset(
    {"links", "unlinked", "link_locks", "block_data", "block_locks", "fusion_lattice"}
)
