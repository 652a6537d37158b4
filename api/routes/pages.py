"""The map pages: the viewer at ``/`` and ``/embed/{layer}``, with static assets served locally.

Nothing on these pages comes from outside the deployment: MapLibre GL JS is served from the
``maplibre`` Python package (``/static/vendor/maplibre-gl.js`` and ``.css``), Leaflet from
``xstatic-leaflet`` (``/static/vendor/leaflet/…``, for folium maps served beside the API), the
pages' own scripts and styles from ``api/static``, and the base map is the service's own vector
tiles (``/styles/default.json``). A ``Content-Security-Policy`` header on every page makes the
browser refuse anything else. See ``docs/api-pages.md``.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.deps import ServiceDep
from api.problems import problem_responses
from api.tiles.tilejson import tilejson
from common.errors import InvalidInput, MissingDependency, NotFound

router = APIRouter(tags=["tiles"])

#: The pages' own assets (viewer.js, viewer.css, embed.js, …).
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

#: What the pages may load: only this origin; MapLibre runs its workers from ``blob:`` URLs and
#: draws controls from ``data:`` images; inline ``style`` attributes are set by MapLibre itself.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)


@cache
def vendor_files() -> dict[str, Path]:
    """The third-party files served under ``/static/vendor``, from their installed packages.

    MapLibre GL JS comes from the ``maplibre`` package (its ``srcjs`` folder), Leaflet from
    ``xstatic-leaflet``, Swagger UI and ReDoc (for ``/docs`` and ``/redoc``) from
    ``fastapi-offline``; none is copied into the repository.
    """
    import xstatic.pkg.leaflet as xleaflet

    # located without importing ``maplibre`` (its import is slow and logs about optional parts)
    spec = importlib.util.find_spec("maplibre")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the maplibre package is not installed: pip install maplibre")
    srcjs = Path(next(iter(spec.submodule_search_locations))) / "srcjs"
    leaflet = Path(xleaflet.BASE_DIR)
    files = {
        "maplibre-gl.js": srcjs / "maplibre-gl.js",
        "maplibre-gl.css": srcjs / "maplibre-gl.css",
        "leaflet/leaflet.js": leaflet / "leaflet.js",
        "leaflet/leaflet.css": leaflet / "leaflet.css",
    }
    files.update(
        {f"leaflet/images/{p.name}": p for p in sorted((leaflet / "images").glob("*.png"))}
    )
    # Swagger UI 5 and ReDoc for /docs and /redoc, from the fastapi-offline package's files
    docs = importlib.util.find_spec("fastapi_offline")
    if docs is None or not docs.submodule_search_locations:
        raise MissingDependency("the fastapi-offline package is not installed")
    assets = Path(next(iter(docs.submodule_search_locations))) / "static"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        files[f"docs/{name}"] = assets / name
    return files


class _StaticFiles(StaticFiles):
    """Static files with a ``Cache-Control`` header (and ``ETag``, ``Last-Modified``, 304s)."""

    def __init__(self, *, cache_control: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cache_control = cache_control

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Any:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", self.cache_control)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


class _VendorFiles(_StaticFiles):
    """A fixed set of files from installed packages; any other path is a 404."""

    def __init__(self, files: dict[str, Path]) -> None:
        # versioned by the installed packages: cached for a day
        super().__init__(cache_control="public, max-age=86400", directory=None, check_dir=False)
        self.files = files

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        file = self.files.get(path.replace(os.sep, "/"))
        if file is None:
            return "", None
        try:
            return str(file), file.stat()
        except OSError:
            return "", None

    async def check_config(self) -> None:
        """Nothing to check: there is no directory."""


def mount_static(app: FastAPI) -> None:
    """Mount the static assets (scripts, styles) the pages use; nothing comes from a CDN.

    ``/static/vendor/…`` serves MapLibre and Leaflet from their packages, ``/static/…`` the files
    of ``api/static``. A missing file is a ``404`` problem.
    """
    app.mount("/static/vendor", _VendorFiles(vendor_files()), name="vendor")
    # the pages' own files change with the code: revalidated (ETag) on every use
    app.mount(
        "/static", _StaticFiles(cache_control="no-cache", directory=STATIC_DIR), name="static"
    )


def _page(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _html(name: str, *, ancestors: str) -> HTMLResponse:
    return HTMLResponse(
        _page(name),
        headers={
            "Content-Security-Policy": _CSP.format(ancestors=ancestors),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-cache",
        },
    )


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` → four floats; :class:`InvalidInput` when malformed.

    >>> parse_bbox("121.48,31.22,121.50,31.24")
    (121.48, 31.22, 121.5, 31.24)
    """
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(abs(v) < float("inf") for v in values):
        raise InvalidInput(
            f"bbox {text!r} is not four numbers minlon,minlat,maxlon,maxlat", bbox=text
        )
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidInput(
            f"bbox {text!r} must have minlon < maxlon within [-180, 180] and minlat < maxlat "
            "within [-90, 90]",
            bbox=text,
        )
    return minx, miny, maxx, maxy


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The map viewer",
    responses={200: {"content": {"text/html": {}}, "description": "The viewer page"}},
)
async def viewer() -> HTMLResponse:
    """An offline map viewer: our own tiles as the base map, a layer switcher, building and grid
    cards on click, address search, grids coloured by a metric and an incident heatmap.

    Every script, stylesheet and tile comes from this service (see ``/static/vendor``)."""
    return _html("viewer.html", ancestors="'self'")


@router.get(
    "/embed/{layer}",
    response_class=HTMLResponse,
    summary="One layer as a full-frame map, for an iframe",
    responses={
        200: {"content": {"text/html": {}}, "description": "The embeddable page"},
        **problem_responses(404, 422),
    },
)
def embed(
    svc: ServiceDep,
    request: Request,
    layer: Annotated[str, PathParam(description="A tile layer", examples=["grids"])],
    metric: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A numeric property of the layer to colour features by",
            examples=["households"],
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat to frame (default: the layer's bounds)",
            examples=["121.47,31.22,121.51,31.25"],
        ),
    ] = None,
) -> HTMLResponse:
    """A minimal map of one layer that fills its frame: ``<iframe src="/embed/grids?metric=
    households">``. Features are coloured by ``metric`` when given; a click shows a feature's
    properties. An unknown layer is a 404 problem, an unknown metric or a bad bbox a 422."""
    tiles = svc.tiles()
    sources = tiles.sources
    if layer not in sources:
        raise NotFound(
            f"no tile layer {layer!r}; known layers: {', '.join(sorted(sources))}", layer=layer
        )
    if bbox is not None:
        parse_bbox(bbox)
    if metric is not None:
        fields = tilejson(sources[layer], str(request.base_url))["vector_layers"][0]["fields"]
        numeric = sorted(k for k, v in fields.items() if v == "Number")
        if metric not in numeric:
            raise InvalidInput(
                f"metric {metric!r} is not a numeric property of layer {layer!r}; "
                f"numeric properties: {', '.join(numeric) or '(none)'}",
                metric=metric,
                layer=layer,
            )
    return _html("embed.html", ancestors="*")
