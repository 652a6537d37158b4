"""Tile sources on a tiny store: geometry within a pixel, clipping, ids, empty tiles, bounds."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from mapbox_vector_tile import decode

from api.tiles import LAYERS, TileSource, feature_id
from api.tiles._clip import tile_ragged
from api.tiles._mercator import tile_bounds
from api.tiles.layers import LayerSpec
from api.tiles.mvt import encode_layer
from api.tiles.source import to_mercator
from common.errors import InvalidInput
from tests.tiles._helpers import BOUNDS, X, Y, Z, add_buildings, px_box

DOWN = {"y_coord_down": True}


def _to_px(geom: shapely.Geometry, z: int = Z, x: int = X, y: int = Y) -> shapely.Geometry:
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    merc = to_mercator(np.array([geom], dtype=object))[0]
    return shapely.transform(
        merc,
        lambda c: np.column_stack(
            [(c[:, 0] - xmin) / (xmax - xmin) * 4096, (ymax - c[:, 1]) / (ymax - ymin) * 4096]
        ),
    )


@pytest.fixture
def buildings(
    con: duckdb.DuckDBPyConnection,
) -> tuple[TileSource, list[str], list[shapely.Geometry]]:
    geoms = [
        px_box(100, 100, 400, 300),  # inside
        px_box(4000, 1000, 4300, 1200),  # crosses the east edge
        px_box(2000, 2000, 2000.2, 2000.2),  # sub-pixel: dropped, as PostGIS does
        shapely.difference(px_box(1000, 1000, 1800, 1800), px_box(1200, 1200, 1400, 1400)),  # hole
    ]
    ids = add_buildings(con, geoms)
    return TileSource.from_store(con, LAYERS["buildings"]), ids, geoms


def test_geometry_within_one_pixel(
    buildings: tuple[TileSource, list[str], list[shapely.Geometry]],
) -> None:
    src, ids, geoms = buildings
    layer = decode(src.tile(Z, X, Y), default_options=DOWN)["buildings"]
    by_id = {f["id"]: f for f in layer["features"]}
    assert set(by_id) == {feature_id(ids[0]), feature_id(ids[1]), feature_id(ids[3])}
    for i in (0, 3):
        got = shapely.geometry.shape(by_id[feature_id(ids[i])]["geometry"])
        want = _to_px(geoms[i])
        assert shapely.hausdorff_distance(got, want) <= 1.0
        assert len(got.interiors if hasattr(got, "interiors") else []) == len(want.interiors)
    props = by_id[feature_id(ids[0])]["properties"]
    assert props["building_id"] == ids[0]
    assert props["use"] == "residential"
    assert props["floors"] == 2
    assert "name" in props  # feature 1 has a name; feature 2 (None) leaves the tag out
    assert "name" not in by_id[feature_id(ids[1])]["properties"]


def test_feature_crossing_the_edge_is_clipped_to_the_buffer(
    buildings: tuple[TileSource, list[str], list[shapely.Geometry]],
) -> None:
    src, ids, geoms = buildings
    fid = feature_id(ids[1])
    west = {
        f["id"]: f for f in decode(src.tile(Z, X, Y), default_options=DOWN)["buildings"]["features"]
    }
    got = shapely.geometry.shape(west[fid]["geometry"])
    xmin, _, xmax, _ = got.bounds
    assert xmin == pytest.approx(4000, abs=1) and xmax == 4096 + 64
    want = shapely.clip_by_rect(_to_px(geoms[1]), -64, -64, 4160, 4160)
    assert shapely.hausdorff_distance(got, want) <= 1.0
    # the neighbour to the east holds the rest, in its own pixels
    east = decode(src.tile(Z, X + 1, Y), default_options=DOWN)["buildings"]["features"]
    (feature,) = [f for f in east if f["id"] == fid]
    ex0, _, ex1, _ = shapely.geometry.shape(feature["geometry"]).bounds
    assert ex0 == -64 and ex1 == pytest.approx(4300 - 4096, abs=1)


def test_zoom_level_path_equals_direct_path() -> None:
    rng = np.random.default_rng(5)
    xmin, ymin, xmax, ymax = BOUNDS
    n = 400
    cx = rng.uniform(xmin - 300, xmax + 300, n)
    cy = rng.uniform(ymin - 300, ymax + 300, n)
    w = rng.uniform(0.05, 80, n)
    boxes = shapely.box(cx, cy, cx + w, cy + w * rng.uniform(0.3, 2, n))
    spec = LayerSpec("b", "polygon", 14, 18, "", "key", ())
    src = TileSource(spec, boxes, np.arange(n))
    for z, x, y in [(Z, X, Y), (Z + 1, 2 * X, 2 * Y + 1), (Z - 1, X // 2, Y // 2), (Z, X + 1, Y)]:
        fast = decode(src.tile(z, x, y), default_options=DOWN)["b"]["features"]
        r, rows = tile_ragged(
            src.ragged, boxes, src.bbox, src.candidates(z, x, y), tile_bounds(z, x, y)
        )
        direct = decode(encode_layer("b", r, src.ids[rows]), default_options=DOWN)["b"]["features"]
        a = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in fast}
        b = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in direct}
        assert a.keys() == b.keys()
        assert all(a[k].symmetric_difference(b[k]).area == 0 for k in a)


def test_empty_tiles_and_zoom_range(
    buildings: tuple[TileSource, list[str], list[shapely.Geometry]],
) -> None:
    src, _, _ = buildings
    assert src.tile(Z, X + 5, Y + 5) == b""
    assert src.tile(13, X >> 3, Y >> 3) == b""  # below the layer's minzoom (14)
    assert src.tile(19, X << 3, Y << 3) == b""  # above its maxzoom (18)
    assert src.tile(14, X >> 2, Y >> 2) != b""


@pytest.mark.parametrize(
    ("z", "x", "y"), [(23, 0, 0), (-1, 0, 0), (3, 8, 0), (3, 0, -1), (0, 1, 0)]
)
def test_bounds_errors(
    buildings: tuple[TileSource, list[str], list[shapely.Geometry]], z: int, x: int, y: int
) -> None:
    src, _, _ = buildings
    with pytest.raises(InvalidInput, match=f"tile {z}/{x}/{y}"):
        src.tile(z, x, y)


def test_lines_and_points_layers(con: duckdb.DuckDBPyConnection) -> None:
    from tests.tiles._helpers import px_to_lonlat

    a, b, c = px_to_lonlat(-500, 500), px_to_lonlat(2000, 500), px_to_lonlat(2000, 5000)
    line = shapely.LineString([a, b, c])
    con.execute(
        "INSERT INTO roads (road_code, name, district_code, road_class, is_major, geom, source) "
        "VALUES ('31010100001', '中山东一路', '310101', 'major', true, ST_GeomFromText(?), 'osm')",
        [line.wkt],
    )
    p = px_to_lonlat(300, 700)
    con.execute(
        "INSERT INTO doorplates (doorplate_id, road_code, number, geom, source) VALUES "
        "('3101010000100001', '31010100001', '1号', ST_Point(?, ?), 'osm')",
        [p[0], p[1]],
    )
    roads = TileSource.from_store(con, LAYERS["roads"])
    (f,) = decode(roads.tile(Z, X, Y), default_options=DOWN)["roads"]["features"]
    assert f["properties"] == {
        "road_code": "31010100001",
        "name": "中山东一路",
        "road_class": "major",
        "is_major": True,
    }
    assert f["geometry"]["coordinates"] == [[-64, 500], [2000, 500], [2000, 4160]]
    assert f["id"] == feature_id("31010100001")
    doors = TileSource.from_store(con, LAYERS["doorplates"])
    (d,) = decode(doors.tile(Z, X, Y), default_options=DOWN)["doorplates"]["features"]
    assert d["geometry"] == {"type": "Point", "coordinates": [300, 700]}
    assert doors.tile(15, X // 2, Y // 2) == b""  # doorplates start at z16


def test_feature_id_rules() -> None:
    assert feature_id("310101013001") == 310101013001
    assert feature_id("31010101300100101") < 2**53  # 17 digits: hashed into 53 bits
    assert feature_id("3101010130012024000000012") == feature_id("3101010130012024000000012")
    assert feature_id(7) == 7


def test_on_request_clipping_equals_pieces_clipped_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    import api.tiles._clip as clip

    rng = np.random.default_rng(9)
    xmin, ymin, xmax, ymax = BOUNDS
    cx = rng.uniform(xmin - 100, xmax + 100, 300)
    cy = rng.uniform(ymin - 100, ymax + 100, 300)
    rings = [
        shapely.Polygon(
            [(x, y), (x + 60, y + 5), (x + 30, y + 20), (x + 55, y + 50), (x - 5, y + 40)]
        )
        for x, y in zip(cx, cy, strict=True)
    ]
    spec = LayerSpec("b", "polygon", 14, 18, "", "key", ())
    ahead = TileSource(spec, np.array(rings, dtype=object), np.arange(300))
    ahead.prepare([Z])
    monkeypatch.setattr(clip, "MAX_PIECES", 0)
    on_request = TileSource(spec, np.array(rings, dtype=object), np.arange(300))
    assert on_request.zoom_level(Z).cross_key is None
    assert ahead.zoom_level(Z).cross_key is not None
    for x, y in [(X, Y), (X + 1, Y), (X, Y - 1)]:
        a = {
            f["id"]: shapely.geometry.shape(f["geometry"])
            for f in decode(ahead.tile(Z, x, y))["b"]["features"]
        }
        b = {
            f["id"]: shapely.geometry.shape(f["geometry"])
            for f in decode(on_request.tile(Z, x, y))["b"]["features"]
        }
        assert a.keys() == b.keys() and len(a) > 10
        assert all(a[k].symmetric_difference(b[k]).area == 0 for k in a)


def test_simplified_low_zoom_layer(con: duckdb.DuckDBPyConnection) -> None:
    circle = shapely.Point(121.49, 31.235).buffer(0.05, quad_segs=256)  # 1,025 vertices
    con.execute(
        "INSERT INTO admin_areas (code, level, name, geom) VALUES ('310101', 'district', '黄浦区', ST_GeomFromText(?))",
        [circle.wkt],
    )
    src = TileSource.from_store(con, LAYERS["districts"])
    from api.tiles._mercator import lonlat_tile

    x, y = lonlat_tile(121.49, 31.235, 9)
    (f,) = decode(src.tile(9, x, y))["districts"]["features"]
    assert f["id"] == 310101 and f["properties"]["name"] == "黄浦区"
    n_low = len(f["geometry"]["coordinates"][0])
    x, y = lonlat_tile(121.49, 31.235, 12)
    assert src.tile(12, x, y) != b"" and src.tile(13, x * 2, y * 2) == b""  # above: overzoom
    assert 8 <= n_low < 300  # half-pixel Douglas-Peucker at z9 keeps the shape with few vertices


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-600, 4600), st.floats(-600, 4600), st.floats(0.2, 900), st.floats(0.2, 900)
        ),
        min_size=1,
        max_size=30,
    )
)
def test_invariants_of_random_boxes(boxes: list[tuple[float, float, float, float]]) -> None:
    """Every box that overlaps the buffered tile by a pixel is there; nothing leaves the buffer."""
    xmin, _, xmax, ymax = BOUNDS
    m = (xmax - xmin) / 4096
    geoms = [
        shapely.box(xmin + x * m, ymax - (y + h) * m, xmin + (x + w) * m, ymax - y * m)
        for x, y, w, h in boxes
    ]
    src = TileSource(
        LayerSpec("b", "polygon", 14, 18, "", "key", ()),
        np.array(geoms, dtype=object),
        np.arange(len(geoms)),
    )
    data = src.tile(Z, X, Y)
    got = {f["id"]: f for f in decode(data, default_options=DOWN)["b"]["features"]} if data else {}
    for i, (x, y, w, h) in enumerate(boxes):
        ox = min(x + w, 4160) - max(x, -64)
        oy = min(y + h, 4160) - max(y, -64)
        if ox >= 1.5 and oy >= 1.5:
            assert i in got
        if ox < 0 or oy < 0:
            assert i not in got
    for f in got.values():
        c = np.array(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
        assert c.min() >= -64 and c.max() <= 4160
        assert shapely.geometry.shape(f["geometry"]).area > 0
