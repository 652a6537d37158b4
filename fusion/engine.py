"""The spatial engine contract of ``fusion`` and the registry that picks an engine by name.

An engine loads point layers (``point_id``, ``x``, ``y`` in one projected, metric CRS) and
polygon layers (``polygon_id``, ``geometry``), and answers the joins that fusion needs:
point-in-polygon (each point in at most one polygon: the smallest ``polygon_id`` that *covers*
the point, so points on shared edges and vertices get one deterministic answer), nearest polygon
within a tolerance, grouped aggregates and bounding-box queries.

Engines are chosen by short name with :func:`get_engine`; the module of an engine is imported
only when it is chosen, so ``import fusion`` works without the optional ``dask`` extra.

>>> sorted(ENGINES)
['dask', 'duckdb']
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import shapely

from common.errors import InvalidInput, MissingDependency, YizhiError

#: short name -> (module, class); modules are imported only when an engine is chosen.
ENGINES: dict[str, tuple[str, str]] = {
    "duckdb": ("fusion._duckdb", "DuckDBEngine"),
    "dask": ("fusion._dask", "DaskEngine"),
}

#: the packages each engine needs beyond the core install, and the extra that provides them.
_EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "dask": (("dask", "distributed", "dask_geopandas"), "dask"),
}

#: aggregate functions every engine understands.
AGGREGATES = ("count", "sum", "mean", "min", "max")

Points = pd.DataFrame | str
Polygons = pd.DataFrame | str
Measures = Mapping[str, tuple[str, str]]


class EngineUnsupported(YizhiError, NotImplementedError):
    """The chosen engine cannot perform this operation."""

    status = 501
    type = "engine-unsupported"
    title = "Operation not supported by this engine"


class SpatialEngine(ABC):
    """Abstract base of the spatial engines.

    Layers are loaded under a name and then referred to by that name, or passed directly as
    frames: points as a :class:`pandas.DataFrame` with ``point_id``, ``x``, ``y``; polygons as a
    (Geo)DataFrame with ``polygon_id`` and a shapely ``geometry`` column. Coordinates must be in one
    projected CRS in metres (distances and tolerances are in that unit).
    """

    name: ClassVar[str] = "abstract"

    # -- loading -------------------------------------------------------------------------------
    @abstractmethod
    def load_points(self, name: str, points: pd.DataFrame) -> str:
        """Load a point layer under ``name`` and return the name.

        Parameters
        ----------
        name
            Layer name (letters, digits, underscores).
        points
            Frame with ``point_id`` (unique), ``x``, ``y`` (finite).
        """

    @abstractmethod
    def load_polygons(self, name: str, polygons: pd.DataFrame) -> str:
        """Load a polygon layer under ``name`` and return the name.

        Parameters
        ----------
        name
            Layer name (letters, digits, underscores).
        polygons
            Frame with ``polygon_id`` (unique) and ``geometry`` (valid, non-empty (multi)polygons).
        """

    # -- joins ---------------------------------------------------------------------------------
    @abstractmethod
    def points_in_polygons(self, points: Points, polygons: Polygons) -> pd.DataFrame:
        """Match each point to the polygon that covers it.

        Returns
        -------
        pandas.DataFrame
            ``point_id``, ``polygon_id``, one row per matched point, sorted by ``point_id``.
            A point covered by several polygons (on a shared edge or vertex, or where polygons
            overlap) goes to the smallest ``polygon_id``; points covered by none are left out.
        """

    def nearest_within(
        self, points: Points, polygons: Polygons, tolerance_m: float
    ) -> pd.DataFrame:
        """Match each point to its covering polygon or else the nearest one within a tolerance.

        Returns
        -------
        pandas.DataFrame
            ``point_id``, ``polygon_id``, ``distance_m`` (0 for covered points), sorted by
            ``point_id``; ties go to the smallest ``polygon_id``; points farther than
            ``tolerance_m`` from every polygon are left out.
        """
        raise EngineUnsupported(f"engine {self.name!r} cannot run nearest_within", engine=self.name)

    def aggregate(
        self, df: pd.DataFrame | str, by: Sequence[str], measures: Measures
    ) -> pd.DataFrame:
        """Group ``df`` by ``by`` and compute ``measures``.

        Parameters
        ----------
        df
            A frame, or the name of a loaded layer.
        by
            Grouping columns.
        measures
            ``{output: (column, function)}`` with function one of :data:`AGGREGATES`
            (``count`` counts non-null values; use ``("*", "count")`` for rows).

        Returns
        -------
        pandas.DataFrame
            One row per group, sorted by ``by``, columns ``by`` then the measures in order.
        """
        raise EngineUnsupported(f"engine {self.name!r} cannot run aggregate", engine=self.name)

    def bbox_query(
        self, layer: str, xmin: float, ymin: float, xmax: float, ymax: float
    ) -> pd.DataFrame:
        """Rows of a loaded layer that intersect a closed bounding box.

        Returns
        -------
        pandas.DataFrame
            Points (``point_id``, ``x``, ``y``) or polygons (``polygon_id``, ``geometry``),
            sorted by id.
        """
        raise EngineUnsupported(f"engine {self.name!r} cannot run bbox_query", engine=self.name)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the engine holds (no-op by default)."""


def get_engine(name: str = "duckdb", **options: Any) -> SpatialEngine:
    """Create the engine registered as ``name``, importing its module only now.

    Parameters
    ----------
    name
        A key of :data:`ENGINES` (``"duckdb"`` default, ``"dask"``).
    **options
        Passed to the engine: ``con=`` for DuckDB, ``client=`` / ``npartitions=`` for Dask.

    Raises
    ------
    InvalidInput
        Unknown engine name.
    MissingDependency
        The engine's optional extra is not installed.
    """
    if name not in ENGINES:
        raise InvalidInput(
            f"unknown spatial engine {name!r}; choose one of {sorted(ENGINES)}", engine=name
        )
    module_name, class_name = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        packages, extra = _EXTRAS.get(name, ((), ""))
        missing = exc.name or ""
        if extra and (missing in packages or missing.split(".")[0] in packages):
            raise MissingDependency(
                f"the {name!r} engine needs {missing!r}: pip install 'yizhi[{extra}]'",
                engine=name,
                package=missing,
            ) from exc
        raise
    cls: type[SpatialEngine] = getattr(module, class_name)
    return cls(**options)


# -- validation shared by the engines -----------------------------------------------------------


def validate_points(points: pd.DataFrame) -> pd.DataFrame:
    """Check a point frame and return ``point_id``, ``x``, ``y`` with float coordinates.

    Raises
    ------
    InvalidInput
        Missing columns, duplicate ids or non-finite coordinates (all problems in one message).
    """
    missing = [c for c in ("point_id", "x", "y") if c not in points.columns]
    if missing:
        raise InvalidInput(f"point layer lacks columns {missing}", columns=missing)
    out = pd.DataFrame(
        {
            "point_id": points["point_id"].to_numpy(),
            "x": points["x"].to_numpy(dtype="float64"),
            "y": points["y"].to_numpy(dtype="float64"),
        }
    )
    problems: list[str] = []
    dup = out["point_id"][out["point_id"].duplicated()]
    if len(dup):
        problems.append(f"duplicate point_id {dup.head(5).tolist()}")
    bad = ~(np.isfinite(out["x"].to_numpy()) & np.isfinite(out["y"].to_numpy()))
    if bad.any():
        problems.append(
            f"non-finite coordinates at point_id {out['point_id'][bad].head(5).tolist()}"
        )
    if problems:
        raise InvalidInput("invalid point layer: " + "; ".join(problems))
    return out


def polygonal_parts(geoms: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry, ``None`` where it has none: what an engine may load.

    Polygons and multipolygons pass as they are; a geometry collection becomes the union of
    its polygons (a polygon or multipolygon); lines, points, empty geometries and ``None`` give
    ``None``. Stored grids can carry such parts (a partitioner artefact), and a point-in-polygon
    join only ever matches the polygonal part: a point on a line covers no area.

    >>> from shapely import GeometryCollection, LineString, box
    >>> [None if g is None else g.geom_type for g in polygonal_parts(
    ...     [box(0, 0, 1, 1), LineString([(0, 0), (1, 1)]),
    ...      GeometryCollection([box(0, 0, 1, 1), LineString([(2, 2), (3, 3)])]), None])]
    ['Polygon', None, 'Polygon', None]
    """
    arr = np.asarray(geoms, dtype=object)
    out = np.full(len(arr), None, dtype=object)
    kind = shapely.get_type_id(arr)
    keep = np.isin(kind, [3, 6]) & ~shapely.is_empty(arr)
    out[keep] = arr[keep]
    for i in np.flatnonzero(kind == 7):  # collections: rare, one at a time
        parts = shapely.get_parts(arr[i])
        polys = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
        if len(polys):
            merged = shapely.union_all(polys)
            if not merged.is_empty and shapely.get_type_id(merged) in (3, 6):
                out[i] = merged
    return out


def validate_polygons(polygons: pd.DataFrame) -> pd.DataFrame:
    """Check a polygon frame; return ``polygon_id`` and ``geometry`` sorted by ``polygon_id``.

    The row order defines the polygon rank used for the tie-break (rank 0 = smallest id).

    Raises
    ------
    InvalidInput
        Missing columns, duplicate ids, or geometries that are not valid, non-empty polygons.
    """
    missing = [c for c in ("polygon_id", "geometry") if c not in polygons.columns]
    if missing:
        raise InvalidInput(f"polygon layer lacks columns {missing}", columns=missing)
    geoms = np.asarray(polygons["geometry"].to_numpy(), dtype=object)
    out = pd.DataFrame({"polygon_id": polygons["polygon_id"].to_numpy(), "geometry": geoms})
    problems: list[str] = []
    dup = out["polygon_id"][out["polygon_id"].duplicated()]
    if len(dup):
        problems.append(f"duplicate polygon_id {dup.head(5).tolist()}")
    kind = shapely.get_type_id(geoms)
    not_poly = ~np.isin(kind, [3, 6])
    if not_poly.any():
        problems.append(
            f"not a (multi)polygon: polygon_id {out['polygon_id'][not_poly].head(5).tolist()}"
        )
    bad = ~not_poly & (shapely.is_empty(geoms) | ~shapely.is_valid(geoms))
    if bad.any():
        problems.append(
            f"empty or invalid geometry: polygon_id {out['polygon_id'][bad].head(5).tolist()}"
        )
    if problems:
        raise InvalidInput("invalid polygon layer: " + "; ".join(problems))
    return out.sort_values("polygon_id", kind="stable").reset_index(drop=True)


def validate_measures(measures: Measures) -> None:
    """Check ``{output: (column, function)}``; raise :class:`InvalidInput` quoting bad entries."""
    bad = {k: v for k, v in measures.items() if len(v) != 2 or v[1] not in AGGREGATES}
    if bad or not measures:
        raise InvalidInput(
            f"measures must map output -> (column, one of {list(AGGREGATES)}); got {dict(bad)!r}"
        )
