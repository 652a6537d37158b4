"""OGC API – Features over HTTP: collections, paging, bbox, output CRS, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from api.routes._collections import COLLECTIONS
from common.coords import wgs84_to_gcj02
from fusion.blocks import block_values
from tests.api.conftest import Server
from tests.api.test_tiles_http import expected_public

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _walk(http: Any, url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow ``next`` links from ``url``; return every feature id and every page."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    while url:
        r = http.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == GEOJSON
        page = r.json()
        pages.append(page)
        assert page["numberReturned"] == len(page["features"])
        ids += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), "")
    return ids, pages


def test_collections_are_the_map_layers_only(api_server: Server) -> None:
    with api_server.client() as http:
        doc = http.get("/collections").json()
        conformance = http.get("/conformance").json()
    ids = [c["id"] for c in doc["collections"]]
    assert ids == list(COLLECTIONS)
    assert {"districts", "grids", "micro_grids", "buildings", "events", "sensors"} <= set(ids)
    assert not set(ids) & {"people", "legal_persons", "houses", "rooms"}
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "conformance", "service-desc"} <= rels
    assert all(link["href"].startswith(api_server.url) for link in doc["links"])
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in (conformance["conformsTo"])
    )
    buildings = next(c for c in doc["collections"] if c["id"] == "buildings")
    w, s, e, n = buildings["extent"]["spatial"]["bbox"][0]
    assert 121 < w < e < 122 and 31 < s < n < 32
    assert buildings["crs"][0] == CRS84


def test_one_collection_and_unknown_ones(api_server: Server) -> None:
    with api_server.client() as http:
        doc = http.get("/collections/grids").json()
        missing = http.get("/collections/people")
        missing_items = http.get("/collections/people/items")
    assert doc["id"] == "grids" and doc["itemType"] == "feature"
    assert {link["rel"] for link in doc["links"]} >= {"self", "items"}
    assert missing.status_code == 404 and missing_items.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"


def test_paging_walks_every_feature_exactly_once(api_server: Server) -> None:
    cur = api_server.service.cursor()
    expected = sorted(
        r[0]
        for r in cur.execute(
            "SELECT building_id FROM buildings WHERE status <> 'retired' AND geom IS NOT NULL"
        ).fetchall()
    )
    with api_server.client() as http:
        ids, pages = _walk(http, "/collections/buildings/items?limit=150")
        last = http.get(f"/collections/buildings/items?limit=150&offset={150 * (len(pages) - 1)}")
    assert ids == expected
    assert all(p["numberMatched"] == len(expected) for p in pages)
    assert len(pages) == -(-len(expected) // 150)
    assert not any(link["rel"] == "prev" for link in pages[0]["links"])
    prev = next(link["href"] for link in last.json()["links"] if link["rel"] == "prev")
    assert f"offset={150 * (len(pages) - 2)}" in prev


def test_bbox_selects_what_shapely_selects(api_server: Server) -> None:
    cur = api_server.service.cursor()
    rows = cur.execute(
        "SELECT building_id, ST_AsWKB(geom) FROM buildings "
        "WHERE status <> 'retired' AND geom IS NOT NULL"
    ).fetchall()
    keys = np.array([r[0] for r in rows])
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    w, s, e, n = shapely.total_bounds(geoms)
    box = (w + 0.3 * (e - w), s + 0.3 * (n - s), w + 0.6 * (e - w), s + 0.55 * (n - s))
    expected = sorted(keys[shapely.intersects(geoms, shapely.box(*box))].tolist())
    with api_server.client() as http:
        ids, pages = _walk(
            http, "/collections/buildings/items?limit=40&bbox=" + ",".join(f"{v:.7f}" for v in box)
        )
    assert 0 < len(expected) < len(rows)
    assert ids == expected
    assert "bbox=" in pages[0]["links"][0]["href"]


def test_output_crs_of_a_known_point(api_server: Server) -> None:
    cur = api_server.service.cursor()
    row = cur.execute(
        "SELECT source_id, coalesce(ST_X(geom), lon), coalesce(ST_Y(geom), lat) FROM sensors "
        "ORDER BY source_id LIMIT 1"
    ).fetchone()
    assert row is not None
    sid, lon, lat = row
    gx, gy = wgs84_to_gcj02(lon, lat)
    with api_server.client() as http:
        plain = http.get(f"/collections/sensors/items/{sid}")
        gcj = http.get(f"/collections/sensors/items/{sid}", params={"crs": "gcj02"})
        cgcs = http.get(
            f"/collections/sensors/items/{sid}",
            params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"},
        )
        bad = http.get(f"/collections/sensors/items/{sid}", params={"crs": "EPSG:3857"})
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    assert plain.json()["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-9)
    assert gcj.headers["content-crs"] == "<gcj02>"
    assert gcj.json()["geometry"]["coordinates"] == pytest.approx([float(gx), float(gy)], abs=1e-9)
    shift_m = np.hypot(
        (float(gx) - lon) * 111_320 * np.cos(np.radians(lat)), (float(gy) - lat) * 110_574
    )
    assert 100 < shift_m < 1000  # GCJ-02 moves Shanghai by about half a kilometre
    assert cgcs.json()["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-9)
    assert bad.status_code == 422


def test_bbox_in_gcj02_is_converted_before_filtering(api_server: Server) -> None:
    cur = api_server.service.cursor()
    row = cur.execute(
        "SELECT source_id, lon, lat FROM sensors WHERE lon IS NOT NULL ORDER BY source_id LIMIT 1"
    ).fetchone()
    assert row is not None
    sid, lon, lat = row
    gx, gy = (float(v) for v in wgs84_to_gcj02(lon, lat))
    d = 1e-5
    box = f"{gx - d},{gy - d},{gx + d},{gy + d}"
    with api_server.client() as http:
        hit = http.get("/collections/sensors/items", params={"bbox": box, "bbox-crs": "gcj02"})
        miss = http.get("/collections/sensors/items", params={"bbox": box})
    assert sid in [f["id"] for f in hit.json()["features"]]
    assert sid not in [f["id"] for f in miss.json()["features"]]


def test_one_feature_matches_the_store(api_server: Server) -> None:
    cur = api_server.service.cursor()
    building_id, wkb = cur.execute(
        "SELECT building_id, ST_AsWKB(geom) FROM buildings WHERE status <> 'retired' "
        "ORDER BY building_id LIMIT 1"
    ).fetchone() or (None, None)
    with api_server.client() as http:
        r = http.get(f"/collections/buildings/items/{building_id}")
        missing = http.get("/collections/buildings/items/31010100000000000000000000")
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == building_id
    assert feature["properties"]["building_id"] == building_id
    got = shapely.geometry.shape(feature["geometry"])
    assert shapely.equals_exact(got, shapely.from_wkb(bytes(wkb)), tolerance=1e-12)
    assert missing.status_code == 404


def test_grid_features_hide_what_block_data_hides(api_server: Server) -> None:
    public = block_values(api_server.service.cursor(), "micro_grid", suppress=True)
    with api_server.client() as http:
        page = http.get("/collections/micro_grids/items", params={"limit": 1000}).json()
    assert page["numberReturned"] == page["numberMatched"] > 0
    for feature in page["features"]:
        want = expected_public(public.get(feature["id"], {}))
        assert {k: feature["properties"][k] for k in want} == want


@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=5,2,3,4",
        "bbox=121,31,121,32",
        "bbox=-200,0,0,1",
        "bbox=0,-95,1,1",
        "bbox=nan,0,1,1",
        "bbox=0,0,1,1,2,2",
        "limit=0",
        "limit=10001",
        "offset=-1",
        "crs=EPSG:3857",
        "bbox-crs=EPSG:3857&bbox=0,0,1,1",
        "colour=red",
        "f=html",
    ],
)
def test_bad_item_queries_are_422_problems(api_server: Server, query: str) -> None:
    with api_server.client() as http:
        r = http.get(f"/collections/buildings/items?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/invalid-input"


def test_limit_of_ten_thousand_is_accepted(api_server: Server) -> None:
    with api_server.client() as http:
        r = http.get("/collections/events/items", params={"limit": 10_000, "offset": 0})
    page = r.json()
    assert page["numberReturned"] == min(10_000, page["numberMatched"])
