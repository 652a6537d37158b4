"""The household caps of a grid version, and how the partitioner splits buildings to meet them.

One :class:`Caps` serves the partitioner (:class:`~grid_partition.partition.GridPartitioner`),
the stored versions (``grid_versions.params``), the planner edits and the API.

>>> caps = Caps(open_cap=100)
>>> caps.as_dict()
{'open_cap': 100, 'closed_cap': 300, 'grid_cap': 600}
>>> caps.micro_cap([False, True]).tolist()
[100, 300]
>>> Caps.checked(150, 300, 0)
Traceback (most recent call last):
  ...
common.errors.InvalidInput: caps must be positive integers: grid_cap=0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from common.errors import InvalidInput

#: How the partitioner meets the caps: ``"needed"`` splits a building of several units where no
#: split of whole buildings fits, ``"large"`` only a building over its cap.
SplitBuildings = Literal["needed", "large"]


@dataclass(frozen=True)
class Caps:
    """Household caps of a version, and how the partitioner splits buildings to meet them.

    Parameters
    ----------
    open_cap, closed_cap
        Largest households of a micro-grid in an open / closed estate (a building outside any
        estate counts as open).
    grid_cap
        Largest households of a grid.
    split_buildings, fill
        The partitioner's options (see :class:`~grid_partition.partition.GridPartitioner`).
    """

    open_cap: int = 150
    closed_cap: int = 300
    grid_cap: int = 600
    split_buildings: SplitBuildings = "needed"
    fill: float = 0.92

    def as_dict(self) -> dict[str, int]:
        """The caps as stored in ``grid_versions.params``."""
        return {"open_cap": self.open_cap, "closed_cap": self.closed_cap, "grid_cap": self.grid_cap}

    def options(self) -> dict[str, Any]:
        """The partitioner options, also stored in ``grid_versions.params``."""
        return {"split_buildings": self.split_buildings, "fill": self.fill}

    def micro_cap(self, closed: Any) -> npt.NDArray[np.int64]:
        """The micro-grid cap of each building: ``closed_cap`` in a closed estate, else
        ``open_cap``."""
        return np.where(np.asarray(closed, dtype=bool), self.closed_cap, self.open_cap).astype(
            np.int64
        )

    @classmethod
    def checked(
        cls,
        open_cap: float,
        closed_cap: float,
        grid_cap: float,
        split_buildings: str = "needed",
        fill: float = 0.92,
    ) -> Caps:
        """Caps from a caller's values, refused when no community could use them (before any
        work starts): integer caps, ``fill`` a float.

        Raises
        ------
        InvalidInput
            See :func:`check_caps` and :func:`check_options`.
        """
        check_caps(open_cap=open_cap, closed_cap=closed_cap, grid_cap=grid_cap)
        check_options(split_buildings, fill)
        return cls(
            int(open_cap),
            int(closed_cap),
            int(grid_cap),
            "needed" if split_buildings == "needed" else "large",
            float(fill),
        )


def check_caps(**caps: float) -> None:
    """Raise :class:`~common.errors.InvalidInput` when a cap is not a positive integer (every
    bad one named)."""
    bad = {k: v for k, v in caps.items() if v is None or not float(v) > 0 or int(v) != v}
    if bad:
        raise InvalidInput(
            "caps must be positive integers: "
            + ", ".join(f"{k}={v!r}" for k, v in sorted(bad.items()))
        )


def check_options(split_buildings: str, fill: float) -> None:
    """Refuse partitioner options that no community could use.

    Raises
    ------
    InvalidInput
        For a ``split_buildings`` other than ``"needed"`` / ``"large"``, or ``fill`` outside
        (0, 1].
    """
    if split_buildings not in ("needed", "large"):
        raise InvalidInput(f"split_buildings must be 'needed' or 'large', not {split_buildings!r}")
    if not (isinstance(fill, int | float) and 0 < fill <= 1):
        raise InvalidInput(f"fill must be in (0, 1], not {fill!r}")
