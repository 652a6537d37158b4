"""Lookups under /v1 on the sample city: parse, resolve, batch, reverse, buildings, rooms, search.

Known answers are records of the sample city (the Bund and Lujiazui): the Custom House (上海海关)
at 中山东一路13号 is building 3101010130012024000000071; room 101 of unit 1 of building 13 of
上港小区 is 3101150050362024000000095010010101.
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import store
from address_registry import lifecycle
from address_registry.ids import building_id as make_building_id
from address_registry.resolve import RESOLVE_INDEX
from api import _search
from api._search import SEARCH_INDEX, Entry, SearchIndex, fold, spellings
from api.app import create_app
from common.coords import transform
from tests.api.conftest import Server

CUSTOM_HOUSE = "3101010130012024000000071"
BUND_18 = "3101010130142024000000235"
SHANGGANG_13 = "3101150050362024000000095"
SHANGGANG_13_ROOM = "3101150050362024000000095010010101"
PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int, type_: str = "invalid-input") -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    doc: dict[str, Any] = r.json()
    assert doc["type"] == f"/problems/{type_}" and doc["status"] == status
    return doc


@pytest.fixture(scope="module")
def http(api_server: Server) -> Any:
    with api_server.client() as client:
        yield client


# -- parse and resolve -----------------------------------------------------------------------


def test_parse_gives_components_and_spans_on_the_text_as_written(http: httpx.Client) -> None:
    text = "上海市黄浦区中山东一路十三号2单元301室"
    body = http.get("/v1/parse", params={"q": text}).json()
    c = body["components"]
    assert (c["city"], c["district"], c["road"], c["roadno"], c["unit"], c["room"]) == (
        "上海市",
        "黄浦区",
        "中山东一路",
        "13号",
        "2单元",
        "301室",
    )
    assert c["province"] is None  # only what is written
    assert body["normalized"] == "上海市黄浦区中山东一路13号2单元301室"
    for span in body["spans"]:
        assert text[span["start"] : span["end"]] == span["text"]
    assert [s["text"] for s in body["spans"] if s["label"] == "roadno"] == ["十三号"]


def test_resolve_sample_address_to_its_building(http: httpx.Client) -> None:
    r = http.get("/v1/resolve", params={"q": "上海市黄浦区中山东一路13号"})
    assert r.status_code == 200
    body = r.json()
    best = body["candidates"][0]
    assert best["building_id"] == CUSTOM_HOUSE
    assert best["level"] == "building" and best["confidence"] >= 0.9
    assert best["address"] == "上海市黄浦区外滩街道中山东一路13号"
    assert best["matched"]["road"] == "中山东一路" and not body["ambiguous"]
    # the same answer by POST, and by the building's name
    posted = http.post("/v1/resolve", json={"q": "上海市黄浦区中山东一路13号", "limit": 5})
    assert posted.json() == body
    named = http.get("/v1/resolve", params={"q": "外滩18号", "limit": 1}).json()
    assert [c["building_id"] for c in named["candidates"]] == [BUND_18]


def test_resolve_room_and_limit(http: httpx.Client) -> None:
    body = http.get("/v1/resolve", params={"q": "浦东新区上港小区13号楼1单元101室"}).json()
    best = body["candidates"][0]
    assert (best["building_id"], best["room_id"], best["level"]) == (
        SHANGGANG_13,
        SHANGGANG_13_ROOM,
        "room",
    )
    estate = http.get("/v1/resolve", params={"q": "上港小区", "limit": 2}).json()
    assert len(estate["candidates"]) == 2


# -- batch -----------------------------------------------------------------------------------


def test_batch_keeps_order_ids_and_reasons(http: httpx.Client) -> None:
    addresses: list[Any] = [
        "外滩18号",
        {"id": "row-2", "q": "浦东新区上港小区13号楼1单元101室"},
        "",
        "hello",
        "汉" * 201,
        None,
        {"id": "row-7", "q": "上海市黄浦区中山东一路13号"},
    ]
    r = http.post("/v1/resolve/batch", json={"addresses": addresses})
    assert r.status_code == 200
    body = r.json()
    results = body["results"]
    assert [a["index"] for a in results] == list(range(7))
    assert [a["id"] for a in results] == [None, "row-2", None, None, None, None, "row-7"]
    assert [a["reason"] for a in results] == [
        None,
        None,
        "empty",
        "not_an_address",
        "too_long",
        "empty",
        None,
    ]
    assert [a["candidates"][0]["building_id"] for a in results if a["candidates"]] == [
        BUND_18,
        SHANGGANG_13,
        CUSTOM_HOUSE,
    ]
    assert body["count"] == 7 and body["resolved"] == 3
    assert body["reasons"] == {"empty": 2, "not_an_address": 1, "too_long": 1}
    # a batch answer is the single answer with limit 1, plus its place
    single = http.get("/v1/resolve", params={"q": "上海市黄浦区中山东一路13号", "limit": 1})
    last = {k: v for k, v in results[-1].items() if k not in ("index", "id", "reason")}
    assert last == single.json()


def test_batch_of_10000_is_accepted_and_10001_is_a_problem(http: httpx.Client) -> None:
    ok = http.post("/v1/resolve/batch", json={"addresses": ["汉口路"] * 10_000})
    assert ok.status_code == 200 and ok.json()["count"] == 10_000
    doc = _problem(http.post("/v1/resolve/batch", json={"addresses": ["汉口路"] * 10_001}), 422)
    assert "10000" in doc["detail"]


def test_batch_address_that_is_not_unicode_is_binary_not_500(http: httpx.Client) -> None:
    raw = '{"addresses": [{"id": "x", "q": "\\ud800汉口路"}, "汉口路"]}'
    r = http.post("/v1/resolve/batch", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert [a["reason"] for a in r.json()["results"]] == ["binary", "road_only"]
    single = http.post(
        "/v1/resolve",
        content='{"q": "\\ud800汉口路"}',
        headers={"content-type": "application/json"},
    )
    assert "q" in _problem(single, 422)["detail"]


# -- bounds ----------------------------------------------------------------------------------

_BOUNDS = [
    ("GET", "/v1/resolve", {"q": "汉" * 201}, None),
    ("GET", "/v1/resolve", {"q": ""}, None),
    ("GET", "/v1/resolve", {"q": "汉口路", "limit": 0}, None),
    ("GET", "/v1/resolve", {"q": "汉口路", "limit": 101}, None),
    ("GET", "/v1/resolve", {"q": "hello"}, None),
    ("GET", "/v1/parse", {"q": "汉" * 201}, None),
    ("GET", "/v1/parse", {"q": "12345"}, None),
    ("GET", "/v1/search", {"q": "外滩", "limit": 101}, None),
    ("GET", "/v1/search", {"q": "汉" * 201}, None),
    ("GET", "/v1/search", {"q": "外滩", "kind": "planet"}, None),
    ("GET", "/v1/reverse", {"lon": 121.48, "lat": 91}, None),
    ("GET", "/v1/reverse", {"lon": "nan", "lat": 31.2}, None),
    ("GET", "/v1/reverse", {"lon": 121.48, "lat": 31.2, "radius": 1001}, None),
    ("GET", "/v1/reverse", {"lon": 121.48, "lat": 31.2, "crs": "EPSG:3857"}, None),
    ("POST", "/v1/resolve", None, {"q": "汉口路", "limit": 1000}),
    ("POST", "/v1/resolve", None, {"q": "汉口路", "extra": 1}),
    ("POST", "/v1/resolve/batch", None, {"addresses": ["汉口路"], "limit": 11}),
    ("POST", "/v1/resolve/batch", None, {"addresses": [12]}),
    ("GET", "/v1/buildings/310101013001202400000007", None, None),
    ("GET", "/v1/buildings/3101010130012024000000072", None, None),
    ("GET", "/v1/buildings/" + "1" * 41, None, None),
    ("GET", "/v1/rooms/" + CUSTOM_HOUSE + "01", None, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), _BOUNDS)
def test_bounds_are_422_problems(
    http: httpx.Client,
    method: str,
    path: str,
    params: dict[str, Any] | None,
    body: dict[str, Any] | None,
) -> None:
    r = http.request(method, path, params=params, json=body)
    _problem(r, 422)


# -- reverse ---------------------------------------------------------------------------------


def _sample_buildings(api_server: Server, n: int) -> list[tuple[str, float, float]]:
    rows = (
        api_server.service.cursor()
        .execute(
            "SELECT building_id, lon, lat FROM buildings WHERE status = 'active' "
            "ORDER BY hash(building_id) LIMIT ?",
            [n],
        )
        .fetchall()
    )
    return [(str(b), float(x), float(y)) for b, x, y in rows]


def test_reverse_a_building_point_gives_that_building(
    http: httpx.Client, api_server: Server
) -> None:
    for bid, lon, lat in _sample_buildings(api_server, 5):
        body = http.get("/v1/reverse", params={"lon": lon, "lat": lat}).json()
        assert (body["building_id"], body["inside"], body["distance_m"]) == (bid, True, 0.0)
    r = http.get(
        "/v1/reverse", params={"lon": 121.48549977315668, "lat": 31.238631650000002}
    ).json()
    assert (r["building_id"], r["name"], r["community_name"]) == (
        CUSTOM_HOUSE,
        "上海海关",
        "汉口路居委会",
    )


def test_reverse_in_gcj02_and_bd09(http: httpx.Client) -> None:
    lon, lat = 121.48549977315668, 31.238631650000002
    for crs, name in (("GCJ-02", "gcj02"), ("bd09", "bd09")):
        x, y = transform(lon, lat, "wgs84", name)
        body = http.get("/v1/reverse", params={"lon": x, "lat": y, "crs": crs}).json()
        assert body["building_id"] == CUSTOM_HOUSE and body["query"]["crs"] == name
        assert body["lon"] == pytest.approx(lon, abs=1e-7)


def test_reverse_far_from_every_building_is_404(http: httpx.Client) -> None:
    _problem(http.get("/v1/reverse", params={"lon": 0, "lat": 0}), 404, "not-found")


# -- register --------------------------------------------------------------------------------


def test_building_is_a_geojson_feature(http: httpx.Client) -> None:
    r = http.get(f"/v1/buildings/{CUSTOM_HOUSE}")
    assert r.status_code == 200 and "link" not in r.headers
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == CUSTOM_HOUSE
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    props = feature["properties"]
    assert (props["status"], props["name"], props["current_successors"]) == (
        "active",
        "上海海关",
        [],
    )
    assert props["history"][0]["op"] == "create"


def test_unknown_building_and_room_are_404(http: httpx.Client) -> None:
    unknown = make_building_id("310101013001", 2024, 99_999_999)
    _problem(http.get(f"/v1/buildings/{unknown}"), 404, "not-found")
    _problem(http.get(f"/v1/rooms/{unknown}010010101"), 404, "not-found")


def test_room_has_its_address_and_no_person_data(http: httpx.Client) -> None:
    room = http.get(f"/v1/rooms/{SHANGGANG_13_ROOM}").json()
    assert room["building_id"] == SHANGGANG_13
    assert (room["unit"], room["floor"], room["room"]) == ("01", "001", "0101")
    assert room["address"] == "上海市浦东新区陆家嘴街道即墨路20号上港小区13号楼1单元101室"
    assert not {"name_masked", "id_masked", "phone_masked", "occupants"} & set(room)


def test_retired_building_answers_200_with_its_successor(writable_server: Server) -> None:
    svc = writable_server.service
    with svc.write_lock:
        new = lifecycle.renumber(svc.writer(), CUSTOM_HOUSE, "2025-06-01", "ID issued in error")
    with writable_server.client() as client:
        old = client.get(f"/v1/buildings/{CUSTOM_HOUSE}")
        assert old.status_code == 200
        props = old.json()["properties"]
        assert (props["status"], props["retired_by"]) == ("retired", "renumber")
        assert props["current_successors"] == [new]
        assert old.headers["link"] == f'</v1/buildings/{new}>; rel="successor-version"'
        assert client.get(f"/v1/buildings/{new}").json()["properties"]["status"] == "active"
        # the renumbering went through store.transaction: the resolver sees it at once
        answer = client.get("/v1/resolve", params={"q": "上海市黄浦区中山东一路13号"}).json()
        assert answer["candidates"][0]["building_id"] == new


# -- search ----------------------------------------------------------------------------------


def test_search_finds_names_roads_areas_and_codes(http: httpx.Client) -> None:
    def first(q: str, **params: Any) -> dict[str, Any]:
        hits: list[dict[str, Any]] = http.get("/v1/search", params={"q": q, **params}).json()[
            "hits"
        ]
        assert hits, q
        return hits[0]

    bund = first("外滩18")
    assert (bund["kind"], bund["id"]) == ("building", BUND_18)
    x0, y0, x1, y1 = bund["bbox"]
    assert x0 <= bund["lon"] <= x1 and y0 <= bund["lat"] <= y1
    assert first("中山东一路")["kind"] == "road"  # the exact name before its doorplates
    assert (first("陆家嘴")["kind"], first("陆家嘴")["id"]) == ("street", "310115005")
    assert first("上港小区十三号楼")["id"] == SHANGGANG_13  # numerals folded like addresses
    assert first("310101013001")["id"] == "310101013001"
    grids = http.get("/v1/search", params={"q": "310101013001", "kind": "grid"}).json()["hits"]
    assert grids and all(h["kind"] == "grid" and h["id"].startswith("310101013001") for h in grids)
    assert http.get("/v1/search", params={"q": "火星基地"}).json()["hits"] == []


def test_search_index_ranks_exact_then_prefix_then_substring() -> None:
    def entry(kind: str, ident: str, *keys: str) -> Entry:
        return Entry(kind, ident, keys[0], 121.0, 31.0, (121.0, 31.0, 121.0, 31.0), keys)

    idx = SearchIndex.from_entries(
        [
            entry("building", "b1", "上海市黄浦区汉口路12号"),
            entry("doorplate", "d1", "汉口路12号"),
            entry("road", "r1", "汉口路"),
            entry("community", "c1", "汉口路居委会"),
        ],
    )
    assert [e.id for e in idx.search("汉口路")] == ["r1", "d1", "c1", "b1"]
    assert [e.id for e in idx.search("汉口路", limit=2)] == ["r1", "d1"]
    assert [e.id for e in idx.search("汉", kinds={"community"})] == ["c1"]
    assert [e.id for e in idx.search("１２号")] == ["b1", "d1"]  # full-width folded; kind order
    assert idx.search("南京路") == []


_NAMES = st.text(alphabet="汉口路中山东一外滩号12AB", min_size=1, max_size=8)


@given(
    keys=st.lists(_NAMES, min_size=1, max_size=30),
    query=_NAMES,
    limit=st.integers(1, 5),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_search_hits_contain_the_query_and_miss_nothing_when_few(
    keys: list[str], query: str, limit: int
) -> None:
    entries = [
        Entry(kind, f"e{i}", key, None, None, None, (fold(key),))
        for i, (key, kind) in enumerate(zip(keys, itertools.cycle(_search.KINDS), strict=False))
    ]
    idx = SearchIndex.from_entries(entries)
    hits = idx.search(query, limit)
    spelled = [x for x in spellings(query) if x]  # as typed, and normalised (一号 → 1号)

    def matches(e: Entry) -> bool:
        return any(x in e.keys[0] for x in spelled)

    assert len(hits) <= limit and len({h.id for h in hits}) == len(hits)
    assert all(matches(h) for h in hits)
    matching = {e.id for e in entries if matches(e)}
    if len(matching) <= limit:  # every match is found when they all fit
        assert {h.id for h in hits} == matching
    if any(e.keys[0] in spelled for e in entries):
        assert hits[0].keys[0] in spelled  # an exact key first


def test_lifespan_builds_the_lookup_indexes_before_any_request(api_server: Server) -> None:
    svc = api_server.service
    store.clear_cache(svc.con)
    assert not svc.fresh(RESOLVE_INDEX) and not svc.fresh(SEARCH_INDEX)
    app = create_app(service=svc)

    def never(con: Any) -> Any:
        raise AssertionError("built on a request: the lifespan did not build it")

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):  # what uvicorn runs before serving
            cur = svc.cursor()
            assert store.cached(cur, RESOLVE_INDEX, ("address_registry",), never)
            assert store.cached(cur, SEARCH_INDEX, ("address_registry", "grid_partition"), never)

    anyio.run(start_and_stop)


def test_openapi_documents_every_lookup_with_examples(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method, tag in [
        ("/v1/parse", "get", "addresses"),
        ("/v1/resolve", "get", "addresses"),
        ("/v1/resolve", "post", "addresses"),
        ("/v1/resolve/batch", "post", "addresses"),
        ("/v1/reverse", "get", "addresses"),
        ("/v1/search", "get", "addresses"),
        ("/v1/buildings/{building_id}", "get", "register"),
        ("/v1/rooms/{room_id}", "get", "register"),
    ]:
        op = paths[path][method]
        assert op["tags"] == [tag] and op["summary"]
        assert PROBLEM in op["responses"]["422"]["content"]
    q = next(p for p in paths["/v1/resolve"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["maxLength"] == 200 and "doorplate" in q["examples"]
