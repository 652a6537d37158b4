"""Public entry points of the register build.

>>> from address_registry.registry import build_registry, allocate_building_ids  # doctest: +SKIP
>>> report = build_registry("var/yizhi.duckdb")                                 # doctest: +SKIP
>>> report["layers"]["buildings"]                                                # doctest: +SKIP
{'in': 1321, 'registered': 1076, 'quarantined': 245}

* :func:`build_registry` builds (or rebuilds, keeping IDs) the register of the sample city or of
  a city's own sources; see ``docs/registry.md``.
* :func:`allocate_building_ids` hands out new building IDs through ``id_serials`` (used by the
  lifecycle operations).
* :func:`generate_city` / :func:`generate_sources` make the Shenzhen-size benchmark city.
"""

from __future__ import annotations

from address_registry._allocate import allocate_building_ids, allocate_building_ids_bulk
from address_registry._inputs import Sources, load_sample
from address_registry.build import INITIAL_BIRTH_YEAR, INITIAL_VALID_DATE, STAGES, build_registry
from address_registry.scaleup import generate_city, generate_sources

__all__ = [
    "INITIAL_BIRTH_YEAR",
    "INITIAL_VALID_DATE",
    "STAGES",
    "Sources",
    "allocate_building_ids",
    "allocate_building_ids_bulk",
    "build_registry",
    "generate_city",
    "generate_sources",
    "load_sample",
]
