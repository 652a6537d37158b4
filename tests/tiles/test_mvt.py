"""The MVT encoder: geometries, winding, ids and properties survive a decode by mapbox_vector_tile."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st
from mapbox_vector_tile import decode

from api.tiles._clean import clean
from api.tiles._ragged import geometries_to_ragged
from api.tiles.mvt import encode, encode_value, encode_varints, geometry_commands, varint, zigzag
from tests.tiles._helpers import area2, commands_to_rings

DOWN = {"y_coord_down": True}


def _one(geom: shapely.Geometry, props: dict[str, object] | None = None, fid: int = 1) -> dict:  # type: ignore[type-arg]
    data = encode("t", [geom], [fid], [props or {}])
    layer = decode(data, default_options=DOWN)["t"]
    assert layer["extent"] == 4096
    (feature,) = layer["features"]
    return feature  # type: ignore[no-any-return]


def test_square_round_trips() -> None:
    f = _one(shapely.box(10, 20, 110, 220))
    assert f["geometry"]["type"] == "Polygon"
    assert shapely.geometry.shape(f["geometry"]).equals(shapely.box(10, 20, 110, 220))


def test_polygon_with_hole_keeps_hole_and_winding() -> None:
    outer = [(0, 0), (400, 0), (400, 400), (0, 400)]
    hole = [(100, 100), (300, 100), (300, 300), (100, 300)]  # same orientation as outer on purpose
    poly = shapely.Polygon(outer, [hole])
    f = _one(poly)
    assert f["geometry"]["type"] == "Polygon"
    assert len(f["geometry"]["coordinates"]) == 2
    assert shapely.geometry.shape(f["geometry"]).equals(poly)
    r, _ = clean(geometries_to_ragged([poly]), np.arange(1))
    ints, _ = geometry_commands(r)
    ext, inner = commands_to_rings([int(v) for v in ints])
    assert area2(ext) > 0  # exterior: positive area in tile coordinates (clockwise on screen)
    assert area2(inner) < 0


def test_multipolygon() -> None:
    mp = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 20, 40, 40)])
    f = _one(mp)
    assert f["geometry"]["type"] == "MultiPolygon"
    assert shapely.geometry.shape(f["geometry"]).equals(mp)


def test_line_drops_collinear_vertex() -> None:
    f = _one(shapely.LineString([(0, 0), (10, 0), (20, 0), (20, 30)]))
    assert f["geometry"] == {"type": "LineString", "coordinates": [[0, 0], [20, 0], [20, 30]]}


def test_points_and_multipoints() -> None:
    assert _one(shapely.Point(5, 6))["geometry"] == {"type": "Point", "coordinates": [5, 6]}
    mp = _one(shapely.MultiPoint([(1, 2), (3, 4)]))["geometry"]
    assert mp == {"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}


def test_ids_and_property_types() -> None:
    props = {"s": "外滩", "i": 42, "neg": -7, "f": 2.5, "b": True, "none": None}
    f = _one(shapely.Point(1, 1), props, fid=2**53 - 1)
    assert f["id"] == 2**53 - 1
    assert f["properties"] == {"s": "外滩", "i": 42, "neg": -7, "f": 2.5, "b": True}


def test_shared_values_are_stored_once() -> None:
    geoms = [shapely.Point(i, i) for i in range(50)]
    data = encode("t", geoms, range(50), [{"use": "residential"}] * 50)
    assert data.count(b"residential") == 1
    layer = decode(data)["t"]
    assert [f["id"] for f in layer["features"]] == list(range(50))


def test_degenerate_features_are_dropped() -> None:
    sliver = shapely.Polygon([(0, 0), (10, 0), (20, 0), (0, 0)])  # zero area
    data = encode("t", [sliver, shapely.box(0, 0, 5, 5)], [1, 2])
    assert [f["id"] for f in decode(data)["t"]["features"]] == [2]
    assert encode("t", [sliver], [1]) == b""
    assert encode("t", [], []) == b""


def test_hole_of_a_dropped_exterior_is_dropped() -> None:
    flat = shapely.Polygon([(0, 0), (10, 0), (20, 0)], [[(1, 0), (2, 0), (3, 0)]])
    assert encode("t", [flat], [1]) == b""


def test_value_encoding() -> None:
    assert encode_value("a") == b"\x0a\x01a"
    assert encode_value(3) == b"\x28\x03"
    assert encode_value(-1) == b"\x30\x01"
    assert encode_value(False) == b"\x38\x00"


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_vectorised_varints_match_scalar(values: list[int]) -> None:
    arr = np.array(values, dtype=np.uint64)
    assert encode_varints(arr) == b"".join(varint(v) for v in values)


@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50))
def test_zigzag(values: list[int]) -> None:
    out = zigzag(np.array(values, dtype=np.int64)).tolist()
    assert out == [(v << 1) ^ (v >> 63) for v in values]
    assert all(((z >> 1) ^ -(z & 1)) == v for z, v in zip(out, values, strict=True))
