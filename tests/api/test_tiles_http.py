"""Vector tiles over HTTP: bytes, geometry, gzip, validators, cache headers, bounds, TileJSON,
the style, and the reload of tiles after a write."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from address_registry import lifecycle
from api.tiles import feature_id
from api.tiles._mercator import lonlat_tile, lonlat_to_mercator, tile_bounds
from api.tiles.layers import BLOCK_METRICS, PEOPLE_PARTS
from fusion.blocks import block_values
from tests.api.conftest import Server

MVT = "application/vnd.mapbox-vector-tile"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _decode(data: bytes) -> dict[str, Any]:
    """Decode MVT bytes with tile pixel coordinates as stored (y down)."""
    out: dict[str, Any] = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return out


def _building_in_one_tile(server: Server, z: int = 16) -> tuple[str, Any, tuple[int, int]]:
    """A large building whose footprint lies inside one tile at zoom ``z``."""
    cur = server.service.cursor()
    rows = cur.execute(
        "SELECT building_id, ST_AsWKB(geom) FROM buildings WHERE status <> 'retired' "
        "ORDER BY ST_Area(geom) DESC, building_id LIMIT 200"
    ).fetchall()
    for building_id, wkb in rows:
        geom = shapely.from_wkb(bytes(wkb))
        w, s, e, n = geom.bounds
        corner_a, corner_b = lonlat_tile(w, n, z), lonlat_tile(e, s, z)
        if corner_a == corner_b:
            return str(building_id), geom, corner_a
    raise AssertionError("no building fits in one tile")


def _tile_pixels(geom: Any, z: int, x: int, y: int) -> Any:
    """A WGS84 polygon in the pixel coordinates of tile z/x/y (extent 4096, y down)."""
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)

    def to_px(coords: np.ndarray) -> np.ndarray:
        mx, my = lonlat_to_mercator(coords[:, 0], coords[:, 1])
        return np.column_stack(
            [(mx - xmin) / (xmax - xmin) * 4096, (ymax - my) / (ymax - ymin) * 4096]
        )

    return shapely.transform(geom, to_px)


def _path(layer: str, z: int, x: int, y: int, ext: str = "mvt") -> str:
    return f"/tiles/{layer}/{z}/{x}/{y}.{ext}"


def test_building_tile_matches_the_store_within_a_pixel(api_server: Server) -> None:
    building_id, geom, (x, y) = _building_in_one_tile(api_server)
    with api_server.client() as http:
        r = http.get(_path("buildings", 16, x, y), headers=GZIP)
    assert r.status_code == 200
    assert r.headers["content-type"] == MVT
    assert r.headers["content-encoding"] == "gzip"
    layer = _decode(r.content)["buildings"]  # httpx un-gzips once: decodable means gzip once
    assert layer["extent"] == 4096
    found = [f for f in layer["features"] if f["id"] == feature_id(building_id)]
    assert len(found) == 1
    feature = found[0]
    assert feature["properties"]["building_id"] == building_id
    got = shapely.geometry.shape(feature["geometry"])
    want = _tile_pixels(geom, 16, x, y)
    assert shapely.hausdorff_distance(got, want) <= 1.5
    assert abs(got.area - want.area) / want.area < 0.05


def test_gzip_is_applied_once_and_identity_is_plain(api_server: Server) -> None:
    _, _, (x, y) = _building_in_one_tile(api_server)
    path = _path("buildings", 16, x, y)
    with api_server.client() as http:
        with http.stream("GET", path, headers=GZIP) as r:
            raw = b"".join(r.iter_raw())
        plain = http.get(path, headers=IDENTITY)
        pbf = http.get(_path("buildings", 16, x, y, "pbf"), headers=IDENTITY)
    assert raw[:2] == b"\x1f\x8b"
    unzipped = gzip.decompress(raw)
    assert unzipped[:2] != b"\x1f\x8b"  # not gzip inside gzip
    assert "content-encoding" not in plain.headers
    assert plain.content == unzipped == pbf.content
    assert "Accept-Encoding" in plain.headers["vary"]
    assert _decode(unzipped)["buildings"]["features"]


def test_etag_gives_304_and_cache_control_follows_the_version(api_server: Server) -> None:
    _, _, (x, y) = _building_in_one_tile(api_server)
    path = _path("buildings", 16, x, y)
    with api_server.client() as http:
        version = http.get("/tiles").json()["version"]
        first = http.get(path, headers=GZIP)  # may be a cache miss: the FastAPI route
        second = http.get(path, headers=GZIP)  # a cache hit: the fast path
        again = http.get(path, headers={**GZIP, "If-None-Match": first.headers["etag"]})
        other = http.get(path, headers={**IDENTITY, "If-None-Match": first.headers["etag"]})
        pinned = http.get(path, params={"v": version}, headers=GZIP)
        stale = http.get(path, params={"v": "0000"}, headers=GZIP)
    etag = first.headers["etag"]
    assert etag.startswith(f'"{version}-') and etag.endswith('"')
    for key in ("etag", "cache-control", "content-encoding", "vary", "content-type"):
        assert first.headers[key] == second.headers[key]
    assert first.content == second.content
    assert first.headers["cache-control"] == "public, max-age=300"
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert other.status_code == 200 and other.headers["etag"] != etag  # another encoding
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert stale.headers["cache-control"] == "no-cache"


def test_empty_tiles_and_zooms_outside_the_layer_are_204(api_server: Server) -> None:
    _, _, (x, y) = _building_in_one_tile(api_server)
    with api_server.client() as http:
        far = http.get(_path("buildings", 16, 0, 0), headers=GZIP)
        far_again = http.get(_path("buildings", 16, 0, 0), headers=GZIP)
        low = http.get(_path("buildings", 12, x >> 4, y >> 4))
        high = http.get(_path("buildings", 19, x * 8, y * 8))
    for r in (far, far_again, low):
        assert r.status_code == 204
        assert r.content == b""
        assert "content-encoding" not in r.headers
        assert "etag" in r.headers
    assert high.status_code in (200, 204)  # z19 is above maxzoom 18: clients overzoom


@pytest.mark.parametrize(
    ("path", "status", "type_"),
    [
        ("/tiles/buildings/23/0/0.mvt", 422, "invalid-input"),
        ("/tiles/buildings/2/4/0.mvt", 422, "invalid-input"),
        ("/tiles/buildings/2/0/4.mvt", 422, "invalid-input"),
        ("/tiles/buildings/-1/0/0.mvt", 422, "invalid-input"),
        ("/tiles/buildings/a/0/0.mvt", 422, "invalid-input"),
        ("/tiles/people/14/0/0.mvt", 404, "not-found"),
        ("/tiles/buildings,buildings/14/0/0.mvt", 422, "invalid-input"),
        ("/tiles/nope.json", 404, "not-found"),
    ],
)
def test_bad_tile_addresses_are_problems(
    api_server: Server, path: str, status: int, type_: str
) -> None:
    with api_server.client() as http:
        r = http.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == f"/problems/{type_}"


def test_a_wrong_key_is_refused_even_for_a_cached_tile(api_server: Server) -> None:
    _, _, (x, y) = _building_in_one_tile(api_server)
    with api_server.client() as http:
        http.get(_path("buildings", 16, x, y))
        r = http.get(_path("buildings", 16, x, y), headers={"X-API-Key": "yz_wrong"})
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthorized"


def test_several_layers_in_one_tile(api_server: Server) -> None:
    _, _, (x, y) = _building_in_one_tile(api_server)
    with api_server.client() as http:
        both = _decode(http.get(_path("grids,buildings", 16, x, y)).content)
        alone = _decode(http.get(_path("buildings", 16, x, y)).content)
    assert set(both) == {"grids", "buildings"}
    assert both["buildings"]["features"] == alone["buildings"]["features"]


def expected_public(values: dict[str, float | None]) -> dict[str, int | None]:
    """The public block properties of one block from ``block_values(..., suppress=True)``."""
    out: dict[str, int | None] = {}
    for prop, metric in {**BLOCK_METRICS, "households": "households"}.items():
        value = values.get(metric, 0)
        out[prop] = None if value is None else int(value)
    parts = [out[p] for p in PEOPLE_PARTS]
    out["people"] = None if None in parts else sum(p or 0 for p in parts)
    return out


def test_grid_tiles_carry_public_block_metrics(api_server: Server) -> None:
    cur = api_server.service.cursor()
    row = cur.execute(
        "SELECT min(ST_X(ST_Centroid(geom))), min(ST_Y(ST_Centroid(geom))) FROM grids"
    ).fetchone()
    assert row is not None
    x, y = lonlat_tile(row[0], row[1], 15)
    public = {
        "grids": block_values(cur, "grid", suppress=True),
        "micro_grids": block_values(cur, "micro_grid", suppress=True),
    }
    code = {"grids": "grid_code", "micro_grids": "micro_grid_code"}
    seen = hidden = 0
    with api_server.client() as http:
        for dx in range(-3, 4):
            for dy in range(-3, 4):
                r = http.get(_path("grids,micro_grids", 15, x + dx, y + dy))
                if r.status_code != 200:
                    continue
                for name, layer in _decode(r.content).items():
                    for f in layer["features"]:
                        props = f["properties"]
                        want = expected_public(public[name].get(props[code[name]], {}))
                        got = {k: props.get(k) for k in want}
                        assert got == want, props[code[name]]
                        hidden += sum(v is None for v in got.values())
                        seen += 1
    assert seen > 20 and hidden > 0  # some counts are hidden, none leaks


def test_tilejson_and_layer_list(api_server: Server) -> None:
    with api_server.client() as http:
        listing = http.get("/tiles").json()
        doc = http.get("/tiles/grids.json").json()
        both = http.get("/tiles/grids,buildings.json").json()
    names = {layer["name"] for layer in listing["layers"]}
    assert {
        "buildings",
        "grids",
        "micro_grids",
        "events",
        "event_density",
        "camera_coverage",
    } <= names
    assert not names & {"people", "legal_persons", "houses"}
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [
        f"{api_server.url}/tiles/grids/{{z}}/{{x}}/{{y}}.mvt?v={listing['version']}"
    ]
    grids = next(layer for layer in listing["layers"] if layer["name"] == "grids")
    assert (doc["minzoom"], doc["maxzoom"]) == (grids["minzoom"], grids["maxzoom"])
    w, s, e, n = doc["bounds"]
    assert -180 <= w < e <= 180 and -90 <= s < n <= 90
    assert w <= doc["center"][0] <= e and s <= doc["center"][1] <= n
    fields = doc["vector_layers"][0]["fields"]
    assert fields["people"] == "Number" and fields["grid_code"] == "String"
    assert [v["id"] for v in both["vector_layers"]] == ["grids", "buildings"]
    assert "/tiles/grids,buildings/{z}/{x}/{y}.mvt" in both["tiles"][0]


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


def test_style_uses_only_our_urls_and_colours_grids_by_metric(api_server: Server) -> None:
    with api_server.client() as http:
        doc = http.get("/styles/default.json").json()
        coloured = http.get("/styles/default.json", params={"metric": "people"}).json()
        bad = http.get("/styles/default.json", params={"metric": "name_masked"})
        urls = [s for s in _strings(doc) if "://" in s]
        assert urls and all(u.startswith(api_server.url + "/") for u in urls)
        assert "glyphs" not in doc and "sprite" not in doc
        for source in doc["sources"].values():
            assert http.get(source["url"]).status_code == 200
    assert set(doc["sources"]) >= {"grids", "micro_grids", "event_density", "camera_coverage"}
    fill = next(layer for layer in coloured["layers"] if layer["id"] == "grids-fill")
    assert fill["paint"]["fill-color"][0] == "case"
    assert "people" in json.dumps(fill["paint"]["fill-color"])
    assert coloured["metadata"]["yizhi:metric"] == "people"
    assert bad.status_code == 422


def test_tiles_change_after_a_write(writable_server: Server) -> None:
    svc = writable_server.service
    building_id, _, (x, y) = _building_in_one_tile(writable_server)
    path = _path("buildings", 16, x, y)

    def name(r: httpx.Response) -> Any:
        layer = _decode(r.content)["buildings"]
        feature = next(f for f in layer["features"] if f["id"] == feature_id(building_id))
        return feature["properties"].get("name")

    with writable_server.client("planner") as http:
        before = http.get(path)
        with svc.write_lock:  # through store.transaction: the next request sees the change
            lifecycle.update(svc.writer(), building_id, None, {"name": "测试大楼"})
        after = http.get(path)
        revalidated = http.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert name(before) != "测试大楼"
    assert after.headers["etag"] != before.headers["etag"]
    assert name(after) == "测试大楼"
    assert revalidated.status_code == 200


def test_openapi_documents_the_tile_routes(api_server: Server) -> None:
    with api_server.client() as http:
        doc = http.get("/openapi.json").json()
    route = doc["paths"]["/tiles/{layer}/{z}/{x}/{y}.mvt"]["get"]
    assert route["tags"] == ["tiles"]
    assert {"200", "204", "304", "404", "422"} <= set(route["responses"])
    assert "/styles/default.json" in doc["paths"]


def test_links_start_at_the_public_url_when_set() -> None:
    from starlette.requests import Request

    from api.routes._tilehttp import base_url

    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "path": "/tiles/grids.json",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "query_string": b"",
    }
    request = Request(scope)
    assert base_url(request, "") == "http://127.0.0.1:8000"
    assert base_url(request, "https://maps.example.org/api/") == "https://maps.example.org/api"


def test_a_tile_request_takes_one_rate_limit_token(api_server: Server) -> None:
    from api.auth import KeyStore

    secret = KeyStore(api_server.settings.api_keys).create(
        "tiles-slow", ["public"], rate=0.01, burst=2
    )
    _, _, (x, y) = _building_in_one_tile(api_server)
    path = _path("grids,buildings,roads", 16, x, y)  # a combination no other test asks for
    with api_server.client() as http:
        codes = [http.get(path, headers={"X-API-Key": secret.secret}).status_code for _ in range(3)]
    # the first is a cache miss (fast path, then the route: one token), the second a hit
    assert codes == [200, 200, 429]
