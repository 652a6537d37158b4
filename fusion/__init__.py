"""Fusion: every record onto the register's geometry (spatial joins, block data).

The spatial work runs in a :class:`~fusion.engine.SpatialEngine` chosen by name:
``get_engine("duckdb", con=con)`` (default) or ``get_engine("dask", client=client)`` (the
``dask`` extra). See ``docs/fusion.md``.
"""

from fusion.engine import ENGINES, EngineUnsupported, SpatialEngine, get_engine

__all__ = ["ENGINES", "EngineUnsupported", "SpatialEngine", "get_engine"]
