"""yizhi (一址): one register of addresses and buildings for a city.

The roof of the house: the ``yizhi`` command line (:mod:`yizhi.cli`) and the sample-city
pipeline behind ``yizhi demo`` (:mod:`yizhi.pipeline`). Nothing below imports it. The
subsystems are the top-level packages ``address_registry``, ``grid_partition``, ``layers``,
``fusion`` and ``api``; they stand on :mod:`common` (errors, settings, coordinates, workers) and
reach the DuckDB store through :mod:`store`. See docs/architecture.md.
"""

from common import __version__

__all__ = ["__version__"]
