"""The in-memory index behind ``GET /v1/grids/at``: no SQL on the request path (private).

:class:`PointCache` holds, per :class:`~api.service.Service`, the STRtree point index of the
active grid version (``grid_partition.versions``) and the names of the admin areas. A request
only asks the index; the store is asked again for the active version at most every
:data:`~api.service.VERSION_RECHECK_SECONDS` (or at once after an edit made by this server,
:meth:`PointCache.invalidate`), and the index of a new version is built off the event loop.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from api.service import VERSION_RECHECK_SECONDS, Service
from common.errors import NotFound

#: Coordinate systems accepted by ``crs=`` (wgs84 and cgcs2000 need no conversion).
NO_CONVERSION = frozenset({"wgs84", "cgcs2000"})


@dataclass
class Snapshot:
    """One version's point index and the admin names it answers with."""

    version: int
    index: Any  # grid_partition.versions._PointIndex
    names: dict[str, str] = field(default_factory=dict)


class PointCache:
    """The point indexes of one service: the active version's, and a few past ones asked for."""

    #: Past versions kept (a version never changes once written).
    KEEP = 4

    def __init__(self) -> None:
        self._snap: Snapshot | None = None
        self._past: dict[int, Snapshot] = {}
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        """The snapshot when it is fresh enough to answer without asking the store."""
        if self._snap is not None and time.monotonic() - self._checked <= VERSION_RECHECK_SECONDS:
            return self._snap
        return None

    def invalidate(self) -> None:
        """Ask the store for the active version at the next request (after an edit)."""
        self._checked = 0.0

    def refresh(self, svc: Service) -> Snapshot:
        """Re-read the active version; rebuild the index when it changed (blocking: run it in
        a worker thread).

        Raises
        ------
        NotFound
            When no version is active.
        """
        with self._lock:
            fresh = self.current()
            if fresh is not None:
                return fresh
            row = (
                svc.cursor()
                .execute("SELECT max(version_id) FROM grid_versions WHERE status = 'active'")
                .fetchone()
            )
            if row is None or row[0] is None:
                raise NotFound("no active grid version: run `yizhi grid partition` first")
            if self._snap is None or self._snap.version != int(row[0]):
                self._snap = _load(svc, int(row[0]), self._names(svc))
            self._checked = time.monotonic()
            return self._snap

    def version(self, svc: Service, version: int) -> Snapshot:
        """The snapshot of a given version (blocking).

        Raises
        ------
        NotFound
            When the version does not exist.
        """
        with self._lock:
            if self._snap is not None and self._snap.version == version:
                return self._snap
            snap = self._past.get(version)
            if snap is None:
                snap = _load(svc, version, self._names(svc))
                if len(self._past) >= self.KEEP:
                    self._past.pop(next(iter(self._past)))
                self._past[version] = snap
            return snap

    def _names(self, svc: Service) -> dict[str, str]:
        if self._snap is not None:
            return self._snap.names
        return {
            str(code): str(name)
            for code, name in svc.cursor()
            .execute(
                "SELECT code, name FROM admin_areas WHERE level IN ('district', 'street', 'community')"
            )
            .fetchall()
        }


def _load(svc: Service, version: int, names: dict[str, str]) -> Snapshot:
    from grid_partition.versions import point_index  # the STRtree index of grid_at

    v, index = point_index(svc.cursor(), version)
    return Snapshot(v, index, names)


_CACHES: weakref.WeakKeyDictionary[Service, PointCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_of(svc: Service) -> PointCache:
    """The :class:`PointCache` of a service (made on first use)."""
    cache = _CACHES.get(svc)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.get(svc)
            if cache is None:
                cache = _CACHES[svc] = PointCache()
    return cache


def answer(snap: Snapshot, lon: float, lat: float, crs: str) -> dict[str, Any]:
    """The codes (and names) at a point of ``crs``, from the index alone.

    Raises
    ------
    NotFound
        When no grid of the version covers the point.
    """
    x, y = float(lon), float(lat)
    if crs not in NO_CONVERSION:
        from common.coords import transform

        x, y = transform(x, y, crs, "wgs84")
    found = snap.index.at(x, y)
    grid = found.get("grid")
    if grid is None:
        raise NotFound(
            f"no grid of version {snap.version} covers the point ({lon}, {lat}) in {crs}: "
            "it lies outside the city's grids",
            lon=lon,
            lat=lat,
            crs=crs,
        )
    community = grid[1]
    street, district = community[:9], community[:6]
    names = snap.names
    return {
        "version": snap.version,
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
