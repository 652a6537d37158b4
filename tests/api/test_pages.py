"""The map pages: the viewer, the embed page, their static assets, and offline folium maps.

The browser tests drive Debian's ``/usr/bin/chromium`` headless through Playwright with every
request that is not for the test server aborted and recorded: the pages must work with nothing
from outside. They skip when Chromium (or Playwright) is absent. Set ``YIZHI_VIEWER_PNG`` to a
path to also save a screenshot of the viewer there (``docs/img/viewer.png`` is made this way).
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
import pytest

from api.routes.pages import parse_bbox, vendor_files
from common.errors import InvalidInput
from fusion.maps import offline, save_offline
from tests.api.conftest import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: A script or stylesheet loaded from another host.
_REMOTE_ASSET = re.compile(
    r"<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE
)


# -- HTTP: pages, assets, problems --------------------------------------------------------------


def test_viewer_page_links_only_local_assets(api_server: Server) -> None:
    with api_server.client() as http:
        r = http.get("/")
        assets = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
        fetched = {a: http.get(a) for a in assets if a.startswith("static/")}
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not _REMOTE_ASSET.search(r.text)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert set(fetched) == {
        "static/vendor/maplibre-gl.css",
        "static/vendor/maplibre-gl.js",
        "static/viewer.css",
        "static/viewer.js",
    }
    assert all(resp.status_code == 200 for resp in fetched.values()), {
        a: resp.status_code for a, resp in fetched.items()
    }
    js = fetched["static/vendor/maplibre-gl.js"]
    assert js.headers["content-type"].startswith("text/javascript")
    assert js.content == vendor_files()["maplibre-gl.js"].read_bytes()  # served from the package
    assert "max-age" in js.headers["cache-control"] and js.headers["etag"]


def test_vendor_serves_leaflet_and_nothing_else(api_server: Server) -> None:
    with api_server.client() as http:
        leaflet = http.get("/static/vendor/leaflet/leaflet.js")
        icon = http.get("/static/vendor/leaflet/images/marker-icon.png")
        other = http.get("/static/vendor/ipywidget.js")  # beside maplibre-gl.js, not listed
        escape = http.get("/static/vendor/..%2F..%2Fapp.py")
        missing = http.get("/static/no-such-file.js")
    assert leaflet.status_code == 200 and b"Leaflet" in leaflet.content[:2000]
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    for resp in (other, escape, missing):
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_embed_page_checks_layer_metric_and_bbox(api_server: Server) -> None:
    with api_server.client() as http:
        ok = http.get(
            "/embed/grids", params={"metric": "households", "bbox": "121.48,31.22,121.52,31.25"}
        )
        unknown = http.get("/embed/no_such_layer")
        text_metric = http.get("/embed/grids", params={"metric": "grid_code"})
        bad_bbox = http.get("/embed/buildings", params={"bbox": "121.52,31.22,121.48,31.25"})
    assert ok.status_code == 200 and "embed.js" in ok.text
    assert "frame-ancestors *" in ok.headers["content-security-policy"]
    assert not _REMOTE_ASSET.search(ok.text)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/not-found"
    assert "'no_such_layer'" in unknown.json()["detail"] and "buildings" in unknown.json()["detail"]
    assert text_metric.status_code == 422 and "'grid_code'" in text_metric.json()["detail"]
    assert bad_bbox.status_code == 422 and "minlon < maxlon" in bad_bbox.json()["detail"]


@pytest.mark.parametrize(
    "text", ["1,2,3", "a,b,c,d", "0,0,0,0", "-181,0,1,1", "0,-91,1,1", "nan,0,1,1", "0,0,inf,1"]
)
def test_parse_bbox_rejects(text: str) -> None:
    with pytest.raises(InvalidInput, match="bbox"):
        parse_bbox(text)


# -- folium offline -----------------------------------------------------------------------------


def _choropleth_map() -> folium.Map:
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "value": i},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [121.48 + 0.01 * i, 31.23],
                        [121.49 + 0.01 * i, 31.23],
                        [121.49 + 0.01 * i, 31.24],
                        [121.48 + 0.01 * i, 31.24],
                        [121.48 + 0.01 * i, 31.23],
                    ]
                ],
            },
        }
        for i, code in enumerate(["a", "b", "c"])
    ]
    geojson = {"type": "FeatureCollection", "features": features}
    m = folium.Map(location=[31.235, 121.495], zoom_start=14, tiles=None)
    folium.Choropleth(
        geo_data=geojson,
        data=pd.DataFrame({"code": ["a", "b", "c"], "value": [0, 1, 2]}),
        columns=["code", "value"],
        key_on="feature.properties.code",
        fill_color="YlOrRd",
        legend_name="value",
    ).add_to(m)
    folium.GeoJson(
        geojson,
        tooltip=folium.GeoJsonTooltip(["code", "value"]),
        popup=folium.GeoJsonPopup(["code"]),
    ).add_to(m)
    folium.Marker([31.235, 121.495], popup="centre").add_to(m)
    return m


def test_saved_folium_map_has_no_cdn(tmp_path: Path) -> None:
    before = folium.Map(tiles=None).get_root().render()
    assert _REMOTE_ASSET.search(before)  # folium links CDNs by default: the test can fail
    out = save_offline(_choropleth_map(), tmp_path / "map.html")
    html = out.read_text(encoding="utf-8")
    assert not _REMOTE_ASSET.search(html), _REMOTE_ASSET.findall(html)
    assert "d3.min.js" not in html and "jquery" not in html.lower().split("window.$")[0]
    assert "L.map(" in html and "leaflet-container" in html  # Leaflet inlined, script and css
    assert "<svg" in html  # the legend, drawn without d3
    # the class-level defaults are untouched: other maps still get folium's behaviour
    assert _REMOTE_ASSET.search(folium.Map(tiles=None).get_root().render())


def test_offline_refuses_what_needs_the_network() -> None:
    from folium.plugins import MarkerCluster

    m = folium.Map(tiles="OpenStreetMap")
    MarkerCluster().add_to(m)
    with pytest.raises(InvalidInput) as err:
        offline(m)
    assert "tile.openstreetmap.org" in str(err.value) and "markercluster" in str(err.value)
    assert len(err.value.context["problems"]) >= 2
    kept = offline(folium.Map(tiles="OpenStreetMap"), allow_remote_tiles=True)
    assert "tile.openstreetmap.org" in kept.get_root().render()


# -- the browser --------------------------------------------------------------------------------


@dataclass
class Watch:
    """What a page did: console errors, failed requests, requests to other hosts (aborted)."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (self.errors or self.failed or self.outside)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (skips without it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, origin: str | None, watch: Watch) -> Any:
    """A page that may only talk to ``origin`` (everything else aborted and recorded)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            watch.errors.append(msg.text)

    def on_failed(request: Any) -> None:
        failure = request.failure or ""
        # a tile the map no longer needs (it moved on) is cancelled by MapLibre: not a failure
        if "ERR_ABORTED" not in failure or not request.url.startswith(origin or "\0"):
            watch.failed.append(f"{request.url}: {failure}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            watch.failed.append(f"{response.url}: HTTP {response.status}")

    def route(route: Any) -> None:
        url = route.request.url
        if origin and url.startswith(origin + "/"):
            route.continue_()
        else:
            watch.outside.append(url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.route("**/*", route)
    return page


def _idle(page: Any) -> None:
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=40_000)
    page.wait_for_function(
        "() => !window.yizhi.map.isMoving() && window.yizhi.map.loaded() "
        "&& window.yizhi.map.areTilesLoaded()",
        timeout=40_000,
    )


def _drawn_share(png: bytes) -> float:
    """Share of the pixels of a screenshot that differ from the style's background colour."""
    image = pytest.importorskip("PIL.Image")
    rgb = np.asarray(image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    background = np.array([0xF8, 0xF9, 0xFA], dtype=np.int16)
    return float((np.abs(rgb - background).max(axis=2) > 12).mean())


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
    dy = (lat2 - lat1) * 110_574
    return math.hypot(dx, dy)


def test_viewer_in_chromium_offline(api_server: Server, browser: Any) -> None:
    cur = api_server.service.cursor()
    building_id, address, lon, lat = cur.execute(
        "SELECT building_id, address, lon, lat FROM buildings WHERE status = 'active' "
        "AND address IS NOT NULL ORDER BY lon, building_id LIMIT 1"
    ).fetchone()
    with api_server.client() as http:  # load the tiles before the clock of the page starts
        assert http.get("/tiles/buildings.json").status_code == 200

    watch = Watch()
    page = _page(browser, api_server.url, watch)
    page.goto(api_server.url + "/")
    _idle(page)
    assert watch.clean(), watch

    # buildings and grids are drawn: features rendered, and pixels on the canvas
    counts = page.evaluate(
        "() => ['buildings-fill', 'grids-fill'].map("
        "id => window.yizhi.map.queryRenderedFeatures({layers: [id]}).length)"
    )
    assert counts[0] > 100 and counts[1] > 10, counts
    share = _drawn_share(page.locator("#map canvas").screenshot())
    assert share > 0.2, f"only {share:.1%} of the map canvas is drawn"
    layers = page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.dataset.source)")
    assert {"buildings", "grids", "events", "districts"} <= set(layers)

    # the search box moves the map to the building and opens its card
    start = page.evaluate("() => window.yizhi.map.getCenter().toArray()")
    assert _metres(start[0], start[1], lon, lat) > 500
    page.fill("#search-input", address)
    page.wait_for_selector("#search-results li", timeout=10_000)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    _idle(page)
    centre = page.evaluate("() => window.yizhi.map.getCenter().toArray()")
    assert _metres(centre[0], centre[1], lon, lat) < 100, (centre, lon, lat)
    page.wait_for_selector(f"#card:not([hidden]) >> text={building_id}", timeout=10_000)
    assert address in page.inner_text("#card")

    # a grid card with block data on click, grids coloured by a metric, the heatmap on
    page.select_option("#metric-select", "households")
    page.wait_for_selector("#metric-legend .legend-row", timeout=10_000)
    page.check("#heat-toggle")
    page.evaluate("c => window.yizhi.map.jumpTo({center: c, zoom: 15})", start)
    _idle(page)
    # a point between the card and the panel on a grid but on no building
    x, y, grid = page.evaluate(
        "() => { const m = window.yizhi.map;"
        " for (let y = 150; y < 700; y += 15) for (let x = 380; x < 940; x += 15) {"
        "   const at = l => m.queryRenderedFeatures([x, y], {layers: [l]});"
        "   const g = at('grids-fill');"
        "   if (g.length && !at('buildings-fill').length && !at('micro_grids-fill').length)"
        "     return [x, y, g[0].properties.grid_code]; }"
        " return [0, 0, null]; }"
    )
    assert grid is not None and re.fullmatch(r"\d{15}", grid)
    page.mouse.click(x, y)
    page.wait_for_selector(f"#card:not([hidden]) >> text={grid}", timeout=10_000)
    page.wait_for_selector("#card >> text=Block data", timeout=10_000)
    options = page.eval_on_selector_all("#metric-select option", "els => els.map(e => e.value)")
    assert {"households", "buildings"} <= set(options)  # the style's and the tiles' own
    if path := os.environ.get("YIZHI_VIEWER_PNG"):
        _idle(page)
        page.wait_for_timeout(500)
        page.screenshot(path=path)
    assert watch.clean(), watch
    page.close()


def test_embed_in_chromium_offline(api_server: Server, browser: Any) -> None:
    watch = Watch()
    page = _page(browser, api_server.url, watch)
    page.goto(api_server.url + "/embed/grids?metric=households")
    _idle(page)
    assert page.evaluate(
        "() => window.yizhi.map.getStyle().layers.every("
        "l => l.type === 'background' || l.source === 'grids')"
    )
    drawn = page.evaluate("() => window.yizhi.map.queryRenderedFeatures().length")
    assert drawn > 10
    page.wait_for_selector("#legend .legend-row", timeout=10_000)
    assert watch.clean(), watch
    page.close()


def test_offline_folium_map_works_in_chromium(browser: Any, tmp_path: Path) -> None:
    html = offline(_choropleth_map()).get_root().render()
    watch = Watch()
    page = _page(browser, None, watch)  # no server: any request at all is recorded
    page.set_content(html)
    page.wait_for_selector(".leaflet-interactive", timeout=10_000)
    assert page.locator("path.leaflet-interactive").count() == 6  # 3 choropleth + 3 GeoJson
    assert page.locator(".yizhi-legend svg").count() == 1
    page.hover("path.leaflet-interactive >> nth=5")
    page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    assert watch.clean(), watch
    page.close()
