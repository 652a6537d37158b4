"""The one road of fusion's spatial joins: a :class:`~fusion.engine.SpatialEngine`, the city's
metric CRS, and the polygon layers of a grid version loaded once per run.

Every point-in-polygon and nearest-polygon join of linking goes through :class:`CityJoins`:

- **one engine**, DuckDB in the store's connection by default (its lattice is kept in the store
  by the polygons' content, so a second run reuses it), Dask when one is passed;
- **one meaning**: a point belongs to the smallest code among the polygons that *cover* it
  (boundary included), and the nearest polygon within a tolerance is the one at the smallest
  distance, ties to the smallest code (:class:`~fusion.engine.SpatialEngine`);
- **metric coordinates**: points and polygons are projected once, in Python (the same numbers
  for every engine), to a transverse Mercator centred on the grid version's extent
  (:func:`common.coords.local_metric_crs`): its scale error over a city is below 1e-7, so a
  distance in metres is the one the reverse geocoder (:mod:`address_registry.reverse`)
  measures in its own centred projection, to the millimetre;
- **polygonal parts only**: a stored grid that is partly a line or a point (a partitioner
  artefact) is handed over as its polygonal part, and one with none is left out
  (:func:`fusion.engine.polygonal_parts`); what is stored is not touched.
"""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyproj
import shapely

import store
from address_registry import queries as registry
from common.coords import local_metric_crs
from fusion.engine import SpatialEngine, get_engine, polygonal_parts
from grid_partition import queries as grids

#: The default engine of each connection, kept while the connection lives: the polygon layers
#: it holds (temporary tables of that connection) serve every later run on it. The engine holds
#: a weak proxy of its connection, so that this entry does not keep the connection alive.
_DEFAULT: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, SpatialEngine] = (
    weakref.WeakKeyDictionary()
)
#: Per engine: polygon layer -> the prepared polygons (:meth:`CityJoins._metric_polygons`) it
#: holds under that name, so that a run whose polygons have not changed loads nothing.
_HELD: weakref.WeakKeyDictionary[SpatialEngine, dict[str, object]] = weakref.WeakKeyDictionary()

#: The polygon layers a run joins to: the grid version's micro-grids and unit grids (by code)
#: and the register's active buildings (by building ID).
POLYGON_LAYERS = ("micro_grid", "unit_grid", "building")


class CityJoins:
    """The spatial joins of one fusion run on one grid version.

    Parameters
    ----------
    con
        The store.
    version
        The grid version whose micro-grids and unit grids are joined (and whose extent centres
        the metric CRS).
    engine
        The spatial engine; ``None``: the DuckDB engine on ``con``.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        version: int,
        engine: SpatialEngine | None = None,
    ) -> None:
        self.con = con
        self.version = int(version)
        if engine is None:
            engine = _DEFAULT.get(con)
            if engine is None:
                engine = _DEFAULT[con] = get_engine("duckdb", con=weakref.proxy(con))
        self.engine = engine
        self._to_metric: pyproj.Transformer | None = None
        self._loaded: dict[str, bool] = {}

    # -- coordinates -----------------------------------------------------------------------------
    @cached_property
    def crs(self) -> pyproj.CRS:
        """The run's metric CRS: a transverse Mercator centred on the grid version's extent
        (else on the active buildings', else on 0, 0 when there is nothing to join)."""
        bounds = grids.version_bounds(self.con, self.version)
        if bounds is None:
            shapes = registry.active_building_shapes(self.con)
            if len(shapes):
                bounds = tuple(shapely.total_bounds(_geoms(shapes["wkb"])))
        if bounds is None:
            return local_metric_crs(0.0, 0.0)
        minx, miny, maxx, maxy = bounds
        return local_metric_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)

    def metric(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 degrees to the run's metric coordinates (vectorised)."""
        if self._to_metric is None:
            self._to_metric = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = self._to_metric.transform(
            np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
        )
        return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")

    # -- joins -----------------------------------------------------------------------------------
    def covering(self, layer: str, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
        """The smallest code of ``layer`` covering each point.

        Returns
        -------
        pandas.DataFrame
            ``i`` (the position of the point in ``lon, lat``), ``code``; points covered by no
            polygon (or not longitude/latitude) are left out.
        """
        points = self._points(lon, lat)
        if points.empty or not self._polygons(layer):
            return pd.DataFrame({"i": pd.Series([], dtype="int64"), "code": []})
        found = self.engine.points_in_polygons(points, layer)
        return pd.DataFrame(
            {"i": found["point_id"].to_numpy(dtype="int64"), "code": found["polygon_id"]}
        )

    def nearest(
        self, layer: str, lon: np.ndarray, lat: np.ndarray, tolerance_m: float
    ) -> pd.DataFrame:
        """The polygon of ``layer`` covering each point, else the nearest within the tolerance.

        Returns
        -------
        pandas.DataFrame
            ``i``, ``code``, ``distance_m`` (0 for a covered point); points with nothing
            within ``tolerance_m`` are left out.
        """
        points = self._points(lon, lat)
        if points.empty or not self._polygons(layer):
            return pd.DataFrame(
                {
                    "i": pd.Series([], dtype="int64"),
                    "code": [],
                    "distance_m": pd.Series([], dtype="float64"),
                }
            )
        found = self.engine.nearest_within(points, layer, tolerance_m)
        return pd.DataFrame(
            {
                "i": found["point_id"].to_numpy(dtype="int64"),
                "code": found["polygon_id"],
                "distance_m": found["distance_m"].to_numpy(dtype="float64"),
            }
        )

    # -- internals -------------------------------------------------------------------------------
    def _points(self, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
        """``point_id`` (the position), ``x``, ``y`` of the points that are longitude/latitude."""
        lon = np.asarray(lon, dtype="float64")
        lat = np.asarray(lat, dtype="float64")
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        idx = np.flatnonzero(ok)
        x, y = self.metric(lon[idx], lat[idx])
        ok = np.isfinite(x) & np.isfinite(y)
        return pd.DataFrame({"point_id": idx[ok], "x": x[ok], "y": y[ok]})

    def _polygons(self, layer: str) -> bool:
        """Load ``layer`` into the engine unless it holds it already; False when the layer has
        no polygon."""
        if layer not in self._loaded:
            domains = ["grid_partition"] + (["address_registry"] if layer == "building" else [])
            prepared = store.cached(
                self.con,
                f"fusion.metric_polygons.{layer}.v{self.version}",
                domains,
                lambda con: self._metric_polygons(layer),
            )
            codes, wkb = prepared
            held = _HELD.setdefault(self.engine, {})
            if len(codes) and held.get(layer) is not prepared:
                self.engine.load_polygons(
                    layer, pd.DataFrame({"polygon_id": codes, "geometry": shapely.from_wkb(wkb)})
                )
                held[layer] = prepared
            self._loaded[layer] = bool(len(codes))
        return self._loaded[layer]

    def _metric_polygons(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes and metric WKB of the polygonal parts of a layer (cached per data version:
        the projection and the repairs cost more than the join)."""
        frame = self._shapes(layer)
        codes = frame["code"].to_numpy()
        geoms = polygonal_parts(_geoms(frame["wkb"]))
        keep = _present(geoms)
        codes, metric = codes[keep], shapely.transform(geoms[keep], self._project_xy)
        # a valid sliver can cross itself once projected (by nanometres): repaired as a
        # polygon (the "structure" method keeps areas, never returns lines)
        bad = np.flatnonzero(~shapely.is_valid(metric))
        if len(bad):
            repaired = shapely.make_valid(metric[bad], method="structure", keep_collapsed=False)
            metric[bad] = polygonal_parts(repaired)
            keep = _present(metric)
            codes, metric = codes[keep], metric[keep]
        return codes, shapely.to_wkb(metric)

    def _project_xy(self, xy: np.ndarray) -> np.ndarray:
        x, y = self.metric(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def _shapes(self, layer: str) -> pd.DataFrame:
        if layer not in POLYGON_LAYERS:
            raise ValueError(f"unknown polygon layer {layer!r}; expected one of {POLYGON_LAYERS}")
        if layer == "building":
            shapes = registry.active_building_shapes(self.con)
            return shapes.rename(columns={"building_id": "code"})
        return grids.grid_shapes(self.con, layer, self.version)


def _present(geoms: np.ndarray) -> np.ndarray:
    """Positions of the geometries that are not ``None``."""
    return np.flatnonzero(np.fromiter((g is not None for g in geoms), bool, len(geoms)))


def _geoms(wkb: Any) -> np.ndarray:
    return np.asarray(shapely.from_wkb([bytes(b) for b in wkb]), dtype=object)
