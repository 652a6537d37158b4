"""yizhi (一址): one register of addresses and buildings for a city.

The distribution's shared pieces live here: settings, typed errors, coordinate conversion and
the ``yizhi`` command line. The subsystems are the top-level packages ``address_registry``,
``grid_partition``, ``layers``, ``fusion`` and ``api``; all of them reach the DuckDB store
through :mod:`store`.
"""

__version__ = "0.1.0"
