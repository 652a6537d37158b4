"""The in-memory index behind ``GET /v1/grids/at``: no SQL on the request path (private).

:func:`grid_index` gives the STRtree point index of a grid version
(:func:`grid_partition.versions.point_index`) with the names of the admin areas it answers with,
cached by the store's data version of the grids and the register (:func:`store.cached`). A
request only asks the index: an ``async`` route first peeks (:func:`trusted_grid_index`, no
query), and builds or rechecks it in a worker thread only when that answers ``None`` — at most
once per recheck period, or at once after a write of this process (a planner's edit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

import store
from address_registry.queries import area_names
from common.coords import transform
from common.errors import NotFound
from grid_partition.versions import PointIndex, point_index

#: Coordinate systems of ``crs=`` that need no conversion to WGS84.
NO_CONVERSION = frozenset({"wgs84", "cgcs2000"})
#: The name of the active version's index in the store's cache.
GRID_INDEX = "api.grid_index"


@dataclass(frozen=True)
class GridIndex:
    """One version's point index and the admin names it answers with."""

    version: int
    index: PointIndex
    names: Mapping[str, str]


def _names(con: duckdb.DuckDBPyConnection) -> Mapping[str, str]:
    return store.cached(con, "api.area_names", ("address_registry",), area_names)


def _active(con: duckdb.DuckDBPyConnection) -> GridIndex:
    version, index = point_index(con)
    return GridIndex(version, index, _names(con))


def grid_index(con: duckdb.DuckDBPyConnection, version: int | None = None) -> GridIndex:
    """The index of a version (the active one by default), built when missing or stale
    (blocking: an ``async`` caller runs it in a worker thread).

    Raises
    ------
    NotFound
        When no version is active (:class:`~grid_partition.queries.NoActiveGridVersion`), or
        the version asked for does not exist.
    """
    if version is None:
        return store.cached(con, GRID_INDEX, ("grid_partition", "address_registry"), _active)
    active = trusted_grid_index(store.store_key(con))
    if active is not None and active.version == version:
        return active
    v, index = point_index(con, version)
    return GridIndex(v, index, _names(con))


def trusted_grid_index(key: str) -> GridIndex | None:
    """The active version's index when it is trusted without a recheck, else ``None``.

    Costs no query (``key`` is :func:`store.store_key` of the store): an ``async`` route calls
    it on the event loop.
    """
    found: GridIndex | None = store.peek(key, GRID_INDEX)
    return found


def answer(idx: GridIndex, lon: float, lat: float, crs: str) -> dict[str, Any]:
    """The codes (and names) at a point of ``crs``, from the index alone.

    Raises
    ------
    NotFound
        When no grid of the version covers the point.
    """
    x, y = float(lon), float(lat)
    if crs not in NO_CONVERSION:
        x, y = transform(x, y, crs, "wgs84")
    found = idx.index.at(x, y)
    grid = found.get("grid")
    if grid is None:
        raise NotFound(
            f"no grid of version {idx.version} covers the point ({lon}, {lat}) in {crs}: "
            "it lies outside the city's grids",
            lon=lon,
            lat=lat,
            crs=crs,
        )
    community = grid[1]
    street, district = community[:9], community[:6]
    names = idx.names
    return {
        "version": idx.version,
        "lon": x,
        "lat": y,
        "grid_code": grid[0],
        "micro_grid_code": found.get("micro_grid", (None, None))[0],
        "unit_grid_code": found.get("unit_grid", (None, None))[0],
        "community_code": community,
        "street_code": street,
        "district_code": district,
        "community_name": names.get(community),
        "street_name": names.get(street),
        "district_name": names.get(district),
    }
