"""The grids/at fast path answers exactly what the FastAPI route answers, and defers the rest."""

from __future__ import annotations

import pytest

from api.auth import KeyStore
from tests.api.conftest import Server

POINT = {"lon": "121.48518", "lat": "31.23678"}  # 元芳弄, 四川中路126弄 (the sample city)


def test_fast_path_equals_the_route(api_server: Server) -> None:
    with api_server.client() as http:
        fast = http.get("/v1/grids/at", params=POINT)
        version = fast.json()["version"]
        # a `version` parameter always goes through the FastAPI route
        routed = http.get("/v1/grids/at", params={**POINT, "version": version})
        gcj = http.get("/v1/grids/at", params={**POINT, "crs": "gcj02"})
    assert fast.status_code == routed.status_code == 200
    assert fast.json() == routed.json()
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.json()["grid_code"].startswith("310101013")
    assert gcj.status_code == 200  # the same numbers read as GCJ-02: a point ~500 m away


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"lon": "nan", "lat": "31.2"}, 422),
        ({"lon": "inf", "lat": "31.2"}, 422),
        ({"lon": "121.4"}, 422),
        ({"lon": "181", "lat": "31.2"}, 422),
        ({**POINT, "crs": "epsg:3857"}, 422),
        ({"lon": "100.0", "lat": "10.0"}, 404),  # outside every grid
    ],
)
def test_anything_unusual_is_left_to_the_route(
    api_server: Server, params: dict[str, str], status: int
) -> None:
    with api_server.client() as http:
        r = http.get("/v1/grids/at", params=params)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


def test_fast_path_authenticates_and_rate_limits(api_server: Server) -> None:
    slow = KeyStore(api_server.settings.api_keys).create("fast-slow", ["public"], rate=0.5, burst=2)
    with api_server.client() as http:
        bad = http.get("/v1/grids/at", params=POINT, headers={"X-API-Key": "yz_wrong"})
        codes = [
            http.get("/v1/grids/at", params=POINT, headers={"X-API-Key": slow.secret}).status_code
            for _ in range(3)
        ]
    assert bad.status_code == 401
    assert codes == [200, 200, 429]  # one token per request, whichever path answered


def test_resolve_fast_path_equals_the_route(api_server: Server) -> None:
    q = "上海市黄浦区四川中路126弄9号"
    with api_server.client() as http:
        fast = http.get("/v1/resolve", params={"q": q, "limit": 3})
        routed = http.post("/v1/resolve", json={"q": q, "limit": 3})  # POST: always the route
        bad = http.get("/v1/resolve", params={"q": "hello"})  # not an address: the route's 422
        empty = http.get("/v1/resolve", params={"q": ""})
        twice = http.get("/v1/resolve?q=a&q=%E5%9B%9B%E5%B7%9D%E4%B8%AD%E8%B7%AF")
    assert fast.status_code == routed.status_code == 200
    assert fast.json() == routed.json()
    assert fast.json()["candidates"][0]["building_id"] == "3101010130142024000000534"
    assert bad.status_code == empty.status_code == 422
    assert (
        twice.status_code == 200 and twice.json()["query"] == "四川中路"
    )  # the last, as Starlette
