"""Coordinate systems of Chinese map data: WGS84, CGCS2000, GCJ-02 and BD-09.

yizhi stores every coordinate in WGS84 (EPSG:4326). Data arrive in four geographic systems:

``wgs84``
    GPS, OpenStreetMap, EPSG:4326.
``cgcs2000``
    The national geodetic system (EPSG:4490). Treated as identical to WGS84: the two agree
    within centimetres at a common epoch (under a metre with plate motion since 2000.0), far
    below the accuracy of any map data handled here.
``gcj02``
    The obfuscated system of Amap (高德) and Tencent maps ("Mars coordinates"): WGS84 plus a
    smooth offset of a few hundred metres.
``bd09``
    Baidu maps: GCJ-02 plus a further small rotation and shift.

PROJ knows neither GCJ-02 nor BD-09, so this module converts them itself, vectorised over numpy
arrays and shapely/GeoPandas geometries. Points outside the China bounding box (lon 72.004 to
137.8347, lat 0.8293 to 55.8271) pass through unchanged in every direction. Inverses
(GCJ-02 → WGS84, BD-09 → GCJ-02) iterate the forward formulas to a fixed point and are exact to
about 1e-10 degree (0.01 mm). :func:`metric_crs` picks the CGCS2000 3-degree Gauss-Kruger zone for
metric work. See ``docs/coordinates.md``.

>>> lon, lat = transform(121.4737, 31.2304, "wgs84", "gcj02")
>>> round(lon, 6), round(lat, 6)
(121.478223, 31.228458)
>>> lon, lat = transform(lon, lat, "GCJ02", "EPSG:4326")
>>> round(lon, 9), round(lat, 9)
(121.4737, 31.2304)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast, overload

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from common import _gcj
from common.errors import InvalidInput

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CHINA_BOUNDS",
    "GK3_CM_EPSG",
    "SUPPORTED_SYSTEMS",
    "CoordSystem",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "epsg_of",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "is_lonlat",
    "local_metric_crs",
    "metric_crs",
    "metric_crs_for_bounds",
    "out_of_china",
    "system_name",
    "to_wgs84",
    "transform",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
Array = NDArray[np.float64]

#: The canonical names accepted by every function of this module (case-insensitive; see
#: :func:`system_name` for the aliases).
SUPPORTED_SYSTEMS: Final[tuple[CoordSystem, ...]] = ("wgs84", "cgcs2000", "gcj02", "bd09")
#: (min lon, min lat, max lon, max lat) of the "inside China" rule; points outside pass through.
CHINA_BOUNDS: Final[tuple[float, float, float, float]] = _gcj.CHINA_BOX
#: Default convergence tolerance of the iterative inverses, in degrees: iteration stops once no
#: point moves by more than this (1 mm). Each step shrinks the error at least 100-fold, so the
#: error left is ~1e-10 degree.
DEFAULT_TOL: Final = 1e-8
#: Default cap on the iterations of the inverses (3 are needed inside China at the default tol).
DEFAULT_MAX_ITER: Final = 20

_ALIASES: Final[dict[str, CoordSystem]] = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs 84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "ogc:crs84": "wgs84",
    "crs84": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs-2000": "cgcs2000",
    "cgcs 2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
}
_EPSG: Final[dict[CoordSystem, int | None]] = {
    "wgs84": 4326,
    "cgcs2000": 4490,
    "gcj02": None,
    "bd09": None,
}
# Offset level of each system: 0 = geodetic (WGS84/CGCS2000), 1 = GCJ-02, 2 = BD-09.
_LEVEL: Final[dict[CoordSystem, int]] = {"wgs84": 0, "cgcs2000": 0, "gcj02": 1, "bd09": 2}
_SUPPORTED_TEXT = ", ".join(["'wgs84' (EPSG:4326)", "'cgcs2000' (EPSG:4490)", "'gcj02'", "'bd09'"])


# --------------------------------------------------------------------------- names


def system_name(crs: str | int | pyproj.CRS) -> CoordSystem:
    """Return the canonical name of a coordinate system given by name, EPSG code or CRS.

    Parameters
    ----------
    crs
        A name, case-insensitive, ``_`` read as ``-``: ``"wgs84"``/``"EPSG:4326"``,
        ``"cgcs2000"``/``"EPSG:4490"``, ``"gcj02"`` (also ``"gcj-02"``), ``"bd09"`` (also
        ``"bd-09"``, ``"bd09ll"``); an EPSG code (4326, 4490); or a :class:`pyproj.CRS` equal
        to EPSG:4326, OGC:CRS84 or EPSG:4490.

    Returns
    -------
    str
        One of :data:`SUPPORTED_SYSTEMS`.

    Raises
    ------
    InvalidInput
        For any other system, quoting it and listing the supported ones.

    Examples
    --------
    >>> system_name("EPSG:4326"), system_name("GCJ-02"), system_name(4490)
    ('wgs84', 'gcj02', 'cgcs2000')
    >>> system_name("epsg:3857")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    common.errors.InvalidInput: unknown coordinate system 'epsg:3857'; supported: 'wgs84' (EPSG:4326), ...
    """
    if isinstance(crs, pyproj.CRS):
        auth = crs.to_authority(min_confidence=90)
        key = f"{auth[0]}:{auth[1]}".lower() if auth else crs.name
        shown = crs.to_string()
    elif isinstance(crs, bool) or not isinstance(crs, str | int):
        raise InvalidInput(
            f"unknown coordinate system {crs!r}; supported: {_SUPPORTED_TEXT}", value=repr(crs)
        )
    else:
        key = str(crs).strip().lower().replace("_", "-")
        shown = str(crs)
    try:
        return _ALIASES[key]
    except KeyError:
        raise InvalidInput(
            f"unknown coordinate system {shown!r}; supported: {_SUPPORTED_TEXT}",
            value=shown,
            supported=list(SUPPORTED_SYSTEMS),
        ) from None


def is_lonlat(crs: str | int | pyproj.CRS) -> bool:
    """Whether ``crs`` names plain longitude/latitude: WGS84 or CGCS2000 (they differ by
    centimetres), as a file may declare it; False for GCJ-02, BD-09 (which no file format can
    declare) and every other system.

    Examples
    --------
    >>> is_lonlat("EPSG:4490"), is_lonlat("OGC:CRS84"), is_lonlat("gcj02"), is_lonlat("EPSG:3857")
    (True, True, False, False)
    """
    try:
        return _LEVEL[system_name(crs)] == 0
    except InvalidInput:
        return False


def epsg_of(crs: str | int | pyproj.CRS) -> int | None:
    """Return the EPSG code of a supported system, or None for GCJ-02 and BD-09.

    Examples
    --------
    >>> epsg_of("wgs84"), epsg_of("CGCS2000"), epsg_of("bd09")
    (4326, 4490, None)
    """
    return _EPSG[system_name(crs)]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies outside the China bounding box (and so is not shifted).

    The rule is the one used by every public GCJ-02 implementation: outside when
    ``lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271``. NaN counts as
    outside. The box is coarse on purpose: it includes e.g. Seoul and Hanoi, which are then
    shifted like Chinese points, exactly as Amap, Tencent and Baidu do.

    Examples
    --------
    >>> out_of_china([121.47, 2.35, np.nan], [31.23, 48.86, 31.0]).tolist()
    [False, True, True]
    """
    x, y = np.broadcast_arrays(_as_float(lon), _as_float(lat))
    return ~_gcj.in_china_box(x, y)


# --------------------------------------------------------------------------- point conversions


@overload
def transform(
    x: float,
    y: float,
    src: str | int | pyproj.CRS,
    dst: str | int | pyproj.CRS,
    *,
    tol: float = ...,
    max_iter: int = ...,
) -> tuple[float, float]: ...
@overload
def transform(
    x: ArrayLike,
    y: ArrayLike,
    src: str | int | pyproj.CRS,
    dst: str | int | pyproj.CRS,
    *,
    tol: float = ...,
    max_iter: int = ...,
) -> tuple[Array, Array]: ...
def transform(
    x: ArrayLike,
    y: ArrayLike,
    src: str | int | pyproj.CRS,
    dst: str | int | pyproj.CRS,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[float, float] | tuple[Array, Array]:
    """Convert longitudes and latitudes between WGS84, CGCS2000, GCJ-02 and BD-09.

    Whole arrays are converted at once (no Python loop per point). Points outside the China
    bounding box (see :func:`out_of_china`, judged on the *input* coordinates) are returned
    unchanged; NaN stays NaN. WGS84 and CGCS2000 are treated as the same system.

    Parameters
    ----------
    x, y
        Longitudes and latitudes in degrees (scalars or arrays that broadcast together).
    src, dst
        Source and target systems, names as for :func:`system_name`.
    tol
        Convergence tolerance of the iterative inverses, degrees: they stop once no point moves
        by more than this in a step (default 1e-8, 1 mm; the error left is ~100 times smaller).
    max_iter
        Cap on the iterations of each inverse step (default 20; 3 are used in China).
        0 gives the common one-step approximation (error up to ~5 m for GCJ-02). A point that
        has not converged when the cap is reached keeps its last estimate.

    Returns
    -------
    x, y
        Floats when both inputs are scalars, else float64 arrays of the broadcast shape.

    Raises
    ------
    InvalidInput
        For an unknown system name or a non-numeric coordinate.

    Examples
    --------
    Tiananmen area, the reference point of the wandergis/coordtransform README:

    >>> transform(116.404, 39.915, "wgs84", "gcj02")
    (116.41024449916938, 39.91640428150164)
    >>> lon, lat = transform([116.404, 2.35], [39.915, 48.86], "bd09", "WGS84")
    >>> np.round(lon, 6).tolist(), np.round(lat, 6).tolist()
    ([116.391386, 2.35], [39.907255, 48.86])
    """
    a, b = system_name(src), system_name(dst)
    if not (tol >= 0 and max_iter >= 0):
        raise InvalidInput(
            f"need tol >= 0 and max_iter >= 0, got tol={tol!r}, max_iter={max_iter!r}"
        )
    try:
        xa, ya = np.broadcast_arrays(_as_float(x), _as_float(y))
    except ValueError as exc:
        raise InvalidInput(f"x and y do not broadcast together: {exc}") from None
    scalar = xa.ndim == 0
    # flat views of the inputs (copied only when broadcasting made them non-contiguous); the
    # kernels never write to their inputs
    flat_x = np.ascontiguousarray(xa).reshape(-1)
    flat_y = np.ascontiguousarray(ya).reshape(-1)
    steps = _steps(_LEVEL[a], _LEVEL[b], tol=tol, max_iter=max_iter)
    inside = _gcj.in_china_box(flat_x, flat_y) if steps else np.zeros(flat_x.shape, dtype=bool)
    if inside.all() and flat_x.size:
        new_x, new_y = _run(steps, flat_x, flat_y)
    else:
        new_x, new_y = flat_x.copy(), flat_y.copy()
        idx = np.flatnonzero(inside)
        if idx.size:
            new_x[idx], new_y[idx] = _run(steps, flat_x[idx], flat_y[idx])
    out_x, out_y = new_x.reshape(xa.shape), new_y.reshape(ya.shape)
    if scalar:
        return float(out_x), float(out_y)
    return out_x, out_y


_Step = Callable[[Array, Array], tuple[Array, Array]]


def _steps(src: int, dst: int, *, tol: float, max_iter: int) -> list[_Step]:
    """The kernel calls that take offset level ``src`` to offset level ``dst``."""
    steps: list[_Step] = []
    if src < dst:
        if src == 0:
            steps.append(_gcj.wgs_to_gcj)
        if dst == 2:
            steps.append(_gcj.gcj_to_bd)
    elif src > dst:
        if src == 2:
            steps.append(lambda x, y: _bd_to_gcj(x, y, tol=tol, max_iter=max_iter))
        if dst == 0:
            steps.append(lambda x, y: _gcj_to_wgs(x, y, tol=tol, max_iter=max_iter))
    return steps


def _run(steps: list[_Step], x: Array, y: Array) -> tuple[Array, Array]:
    with np.errstate(invalid="ignore"):  # points in the box are finite; guard all the same
        for step in steps:
            x, y = step(x, y)
    return x, y


def _gcj_to_wgs(x: Array, y: Array, *, tol: float, max_iter: int) -> tuple[Array, Array]:
    start = _gcj.gcj_to_wgs_one_step(x, y)
    lon, lat, _ = _gcj.invert(_gcj.wgs_to_gcj, x, y, start, tol=tol, max_iter=max_iter)
    return lon, lat


def _bd_to_gcj(x: Array, y: Array, *, tol: float, max_iter: int) -> tuple[Array, Array]:
    start = _gcj.bd_to_gcj_approx(x, y)
    lon, lat, _ = _gcj.invert(_gcj.gcj_to_bd, x, y, start, tol=tol, max_iter=max_iter)
    return lon, lat


def _as_float(values: ArrayLike) -> Array:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"coordinates must be numbers, got {values!r}") from exc


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """WGS84 (or CGCS2000) → GCJ-02; arrays in, arrays out (see :func:`transform`).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(128.543, 37.065)
    >>> float(lon), float(lat)
    (128.54820547949757, 37.065651049489816)
    """
    return transform(np.asarray(lon), np.asarray(lat), "wgs84", "gcj02")


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Array, Array]:
    """GCJ-02 → WGS84 by fixed-point iteration of the forward formula.

    The common one-step inverse is wrong by up to ~2 m; iterating until the step is below
    ``tol`` degrees makes ``wgs84_to_gcj02(gcj02_to_wgs84(p)) == p`` to ~1e-10 degree.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(128.54820547949757, 37.065651049489816)
    >>> round(float(lon), 9), round(float(lat), 9)
    (128.543, 37.065)
    """
    return transform(np.asarray(lon), np.asarray(lat), "gcj02", "wgs84", tol=tol, max_iter=max_iter)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """GCJ-02 → BD-09.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(128.543, 37.065)
    >>> float(lon), float(lat)
    (128.54944656269413, 37.07113427883019)
    """
    return transform(np.asarray(lon), np.asarray(lat), "gcj02", "bd09")


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Array, Array]:
    """BD-09 → GCJ-02, iterated to the exact inverse of :func:`gcj02_to_bd09`.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(128.54944656269413, 37.07113427883019)
    >>> round(float(lon), 9), round(float(lat), 9)
    (128.543, 37.065)
    """
    return transform(np.asarray(lon), np.asarray(lat), "bd09", "gcj02", tol=tol, max_iter=max_iter)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Array, Array]:
    """WGS84 → BD-09 (through GCJ-02).

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(128.543, 37.065)
    >>> round(float(lon), 9), round(float(lat), 9)
    (128.554681929, 37.071683449)
    """
    return transform(np.asarray(lon), np.asarray(lat), "wgs84", "bd09")


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[Array, Array]:
    """BD-09 → WGS84 (through GCJ-02, both steps iterated).

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(128.55468192918485, 37.07168344938498)
    >>> round(float(lon), 9), round(float(lat), 9)
    (128.543, 37.065)
    """
    return transform(np.asarray(lon), np.asarray(lat), "bd09", "wgs84", tol=tol, max_iter=max_iter)


# --------------------------------------------------------------------------- geometries

GeomT = TypeVar("GeomT")


def transform_geometry(
    geom: GeomT, src: str | int | pyproj.CRS, dst: str | int | pyproj.CRS
) -> GeomT:
    """Convert shapely geometries, a GeoSeries or a GeoDataFrame between coordinate systems.

    Every vertex goes through :func:`transform` in one vectorised call (``shapely.transform``);
    geometry types, vertex counts, Z values, missing geometries and the index are kept.

    Parameters
    ----------
    geom
        A shapely geometry, a numpy array of them, a GeoSeries or a GeoDataFrame (every
        geometry column is converted).
    src, dst
        Source and target systems (names as for :func:`system_name`). A GeoPandas input may be
        tagged with no CRS or with EPSG:4326/OGC:CRS84/EPSG:4490 whatever ``src`` says, since
        GCJ-02 files usually claim to be WGS84; any other CRS (a projected one) is refused.

    Returns
    -------
    Same kind as ``geom``
        GeoPandas results are tagged EPSG:4326 for ``wgs84``, EPSG:4490 for ``cgcs2000`` and
        no CRS for ``gcj02``/``bd09`` (PROJ has no definition of them); their ``attrs``
        carry ``{"coordinate_system": dst}``.

    Raises
    ------
    InvalidInput
        For an unknown system or a GeoPandas input in a CRS that is not geographic WGS84 or
        CGCS2000.

    Examples
    --------
    >>> line = shapely.LineString([(121.4737, 31.2304), (121.4998, 31.2397)])
    >>> out = transform_geometry(line, "wgs84", "gcj02")
    >>> out.geom_type, int(shapely.get_num_coordinates(out))
    ('LineString', 2)
    >>> [round(v, 6) for v in out.coords[0]]
    [121.478223, 31.228458]
    """
    a, b = system_name(src), system_name(dst)
    gpd = _geopandas()
    result: Any
    if isinstance(geom, gpd.GeoDataFrame):
        result = _convert_frame(geom, a, b)
    elif isinstance(geom, gpd.GeoSeries):
        result = _convert_series(geom, a, b)
    elif isinstance(geom, shapely.Geometry):
        result = _convert_array(np.asarray([geom], dtype=object), a, b)[0]
    else:
        result = _convert_array(np.asarray(geom, dtype=object), a, b)
    return cast(GeomT, result)


def to_wgs84(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, src: str | int | pyproj.CRS | None = None
) -> Any:
    """Return a GeoDataFrame or GeoSeries converted to WGS84 and tagged EPSG:4326.

    Parameters
    ----------
    frame
        The data.
    src
        The system the coordinates are really in. When omitted it is read from
        ``frame.attrs["coordinate_system"]`` (set by :func:`transform_geometry`) or from the
        CRS tag (EPSG:4326 or EPSG:4490); an untagged frame then raises. Give it explicitly
        for GCJ-02 and BD-09 data read from files, which usually claim to be WGS84.

    Examples
    --------
    >>> import geopandas as gpd
    >>> amap = gpd.GeoSeries([shapely.Point(121.478223, 31.228458)], crs="EPSG:4326")
    >>> wgs = to_wgs84(amap, "gcj02")
    >>> wgs.crs.to_epsg(), round(float(wgs.x.iloc[0]), 5), round(float(wgs.y.iloc[0]), 5)
    (4326, 121.4737, 31.2304)
    """
    if src is None:
        named = frame.attrs.get("coordinate_system")
        if named is not None:
            src = named
        elif frame.crs is not None:
            src = frame.crs
        else:
            raise InvalidInput(
                "the data carry no CRS and no coordinate_system attribute: "
                f"pass src= one of {_SUPPORTED_TEXT}"
            )
    return transform_geometry(frame, src, "wgs84")


def _geopandas() -> Any:
    import geopandas

    return geopandas


def _check_frame_crs(crs: pyproj.CRS | None, src: CoordSystem) -> None:
    if crs is None:
        return
    try:
        tagged = system_name(crs)
    except InvalidInput:
        raise InvalidInput(
            f"the data are tagged {crs.to_string()!r}, not a geographic WGS84/CGCS2000 CRS; "
            f"cannot read them as {src!r} (reproject to EPSG:4326 first)",
            crs=crs.to_string(),
            src=src,
        ) from None
    if tagged not in ("wgs84", "cgcs2000"):  # pragma: no cover - CRS objects are never GCJ/BD
        raise InvalidInput(f"unexpected CRS {crs.to_string()!r}")


def _convert_frame(frame: gpd.GeoDataFrame, a: CoordSystem, b: CoordSystem) -> gpd.GeoDataFrame:
    import pandas as pd

    gpd = _geopandas()
    _check_frame_crs(frame.crs, a)
    # Rebuilt rather than assigned in place: assigning an untagged column to a tagged frame
    # would keep the old tag, and GCJ-02/BD-09 results must carry none.
    data = pd.DataFrame(frame, copy=True)
    for col in frame.columns[frame.dtypes == "geometry"]:
        data[col] = _convert_series(frame[col], a, b)
    active = frame.active_geometry_name
    result = gpd.GeoDataFrame(data, geometry=active) if active else gpd.GeoDataFrame(data)
    result.attrs.update(frame.attrs)
    result.attrs["coordinate_system"] = b
    return result


def _convert_series(series: gpd.GeoSeries, a: CoordSystem, b: CoordSystem) -> gpd.GeoSeries:
    gpd = _geopandas()
    _check_frame_crs(series.crs, a)
    values = _convert_array(np.asarray(series.values, dtype=object), a, b)
    epsg = _EPSG[b]
    out = gpd.GeoSeries(values, index=series.index, crs=epsg, name=series.name)
    out.attrs["coordinate_system"] = b
    return out


def _convert_array(
    array: NDArray[np.object_], a: CoordSystem, b: CoordSystem
) -> NDArray[np.object_]:
    if _LEVEL[a] == _LEVEL[b]:
        return array.copy()

    def move(coords: Array) -> Array:
        out = coords.copy()
        out[:, 0], out[:, 1] = transform(coords[:, 0], coords[:, 1], a, b)
        return out

    # 2D and 3D geometries go separately so that each keeps its dimensionality (Z untouched).
    has_z = shapely.has_z(array)
    if not has_z.any():
        return shapely.transform(array, move)
    result = array.copy()
    result[~has_z] = shapely.transform(array[~has_z], move)
    result[has_z] = shapely.transform(array[has_z], move, include_z=True)
    return result


# --------------------------------------------------------------------------- metric CRS

#: EPSG codes of the CGCS2000 3-degree Gauss-Kruger zones in central-meridian form
#: ("CGCS2000 / 3-degree Gauss-Kruger CM 75E" = 4534 ... "CM 135E" = 4554; false easting
#: 500 000 m, no zone prefix).
GK3_CM_EPSG: Final[dict[int, int]] = {75 + 3 * i: 4534 + i for i in range(21)}


@lru_cache(maxsize=64)
def _crs(epsg: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(epsg)


def metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the projected CRS for metric work at a WGS84 point.

    Inside China's longitudes (73.5°E to 136.5°E) this is the CGCS2000 3-degree Gauss-Kruger
    zone in central-meridian form, EPSG:4534 (CM 75E) to EPSG:4554 (CM 135E): false easting
    500 000 m, no zone prefix. The zone is the one whose central meridian ``3n`` is nearest,
    i.e. ``n = floor((lon + 1.5) / 3)``; a longitude exactly on a zone edge (``3n + 1.5``)
    goes to the eastern zone. Elsewhere the WGS84 UTM zone is returned (EPSG:326xx north,
    327xx south) so that synthetic or foreign data still get a metric CRS.

    Parameters
    ----------
    lon, lat
        The point, degrees (GCJ-02 or BD-09 input chooses the same zone except within a few
        hundred metres of a zone edge).

    Raises
    ------
    InvalidInput
        When lon is outside -180..180, lat outside -90..90, or either is not finite.

    Examples
    --------
    >>> metric_crs(121.4737, 31.2304).to_epsg()  # People's Square, Shanghai
    4549
    >>> metric_crs(121.5, 31.24).name  # on the 121.5°E zone edge: the eastern zone
    'CGCS2000 / 3-degree Gauss-Kruger CM 123E'
    >>> metric_crs(116.397, 39.909).name  # Tiananmen
    'CGCS2000 / 3-degree Gauss-Kruger CM 117E'
    >>> metric_crs(2.35, 48.86).name
    'WGS 84 / UTM zone 31N'
    """
    lon_f, lat_f = _checked_point(lon, lat)
    central = 3 * math.floor((lon_f + 1.5) / 3.0)
    epsg = GK3_CM_EPSG.get(central)
    if epsg is None:
        zone = min(int((lon_f + 180.0) // 6.0) + 1, 60)
        epsg = (32600 if lat_f >= 0 else 32700) + zone
    return _crs(epsg)


def metric_crs_for_bounds(minx: float, miny: float, maxx: float, maxy: float) -> pyproj.CRS:
    """Return the metric CRS for an area: :func:`metric_crs` at the centre of its bounds.

    Choose it once per city (from the city's outline or the union of its layers) and use it
    for every layer: layers of one city with different extents can fall on different sides of
    a zone edge. Shanghai is such a city: its municipal outline (120.85°E to 122.24°E) and the
    Bund/Lujiazui sample both centre just east of the 121.5°E edge and get CM 123E.

    Parameters
    ----------
    minx, miny, maxx, maxy
        WGS84 bounds in degrees, e.g. ``*gdf.total_bounds``.

    Raises
    ------
    InvalidInput
        When a bound is not finite or out of range, or min > max.

    Examples
    --------
    >>> metric_crs_for_bounds(121.48, 31.23, 121.52, 31.25).to_epsg()  # the sample city
    4550
    >>> metric_crs_for_bounds(120.85, 30.68, 122.24, 31.87).to_epsg()  # Shanghai
    4550
    """
    x0, y0 = _checked_point(minx, miny)
    x1, y1 = _checked_point(maxx, maxy)
    if x0 > x1 or y0 > y1:
        raise InvalidInput(
            f"bounds must be (minx, miny, maxx, maxy) with min <= max, got "
            f"({minx!r}, {miny!r}, {maxx!r}, {maxy!r})"
        )
    return metric_crs((x0 + x1) / 2.0, (y0 + y1) / 2.0)


def local_metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return a transverse Mercator centred on a WGS84 point: metres with no zone edge nearby.

    The GRS80 ellipsoid (CGCS2000's) with the central meridian and the latitude of origin at
    the point, no false easting: the scale error is ``d**2 / (2 R**2)`` at a distance ``d`` from
    the centre, under 1e-7 within 3 km (a district) and 2.5e-5 within 45 km (a Shenzhen),
    against up to 2.5e-4 at the edge of a 3-degree Gauss-Kruger zone (:func:`metric_crs`).
    Use it where distances and areas are stored or compared to the centimetre and must not
    depend on where a zone edge falls: fusion's spatial joins (centred on the city) and the
    camera coverage areas. The centre is rounded to 1e-6 degree (10 cm), so a centre computed
    from data names the same CRS run after run.

    Parameters
    ----------
    lon, lat
        The centre, degrees.

    Raises
    ------
    InvalidInput
        When lon is outside -180..180, lat outside -90..90, or either is not finite.

    Examples
    --------
    >>> crs = local_metric_crs(121.50, 31.24)
    >>> crs.is_projected, crs.axis_info[0].unit_name
    (True, 'metre')
    >>> t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    >>> [round(v, 6) for v in t.transform(121.50, 31.24)]
    [0.0, 0.0]
    """
    lon_f, lat_f = _checked_point(lon, lat)
    return _local_crs(f"{lon_f:.6f}", f"{lat_f:.6f}")


@lru_cache(maxsize=64)
def _local_crs(lon0: str, lat0: str) -> pyproj.CRS:
    return pyproj.CRS.from_proj4(
        f"+proj=tmerc +lon_0={lon0} +lat_0={lat0} +ellps=GRS80 +units=m +no_defs"
    )


def _checked_point(lon: float, lat: float) -> tuple[float, float]:
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"coordinates must be numbers, got ({lon!r}, {lat!r})") from exc
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)) or abs(lon_f) > 180 or abs(lat_f) > 90:
        raise InvalidInput(
            f"({lon!r}, {lat!r}) is not a longitude/latitude in degrees "
            "(expected -180..180, -90..90)"
        )
    return lon_f, lat_f
