"""Grid partitioning: household-capped micro-grids and grids, boundaries, unit grids.

The reads other packages need are in :mod:`grid_partition.queries`.
"""

from grid_partition.caps import Caps
from grid_partition.partition import GridPartitioner

__all__ = ["Caps", "GridPartitioner"]
