"""Grid partitioning: household-capped micro-grids and grids, boundaries, unit grids."""

from grid_partition._snapshot import Caps
from grid_partition.partition import GridPartitioner

__all__ = ["Caps", "GridPartitioner"]
