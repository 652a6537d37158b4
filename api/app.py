"""The yizhi HTTP service: :func:`create_app` assembles the routers on one :class:`Service`.

Routers (``api/routes``): lookups under ``/v1`` (parse, resolve, reverse, buildings, rooms,
search), grids and communities under ``/v1`` (grid at a point, block data, planner edits),
person-level data under ``/v1`` (officer scope, audited), vector tiles and styles under
``/tiles`` and ``/styles``, OGC API – Features under ``/collections``, and the map pages at
``/`` and ``/embed``. Every route answers errors as ``application/problem+json``
(:mod:`api.problems`); every request is authenticated and rate-limited (:mod:`api.deps`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

import store
from api import problems
from api.deps import ServiceDep, caller
from api.routes import features, grids, lookups, pages, people, tiles
from api.routes._lookupfast import LookupFastPath
from api.service import Service
from common import __version__

DESCRIPTION = """
一址 yizhi: one register of a city's addresses and buildings, its management grids, and the
people, legal persons, houses, events and sensors fused onto them.

* **Lookups** (`/v1`): parse and resolve addresses to building and room IDs, reverse-geocode a
  point, read a building or room with its history, find the grid at a point.
* **Tiles** (`/tiles`, `/styles`): Mapbox Vector Tiles of every layer, TileJSON 3.0.0, a
  MapLibre style.
* **Features** (`/collections`): OGC API – Features (GeoJSON, paged).
* **Maps** (`/`, `/embed/{layer}`): an offline map viewer and embeddable layers.

Send an API key in `X-API-Key` for more than public access. Errors are
`application/problem+json` with a stable `type`.
"""

#: Where the API documentation pages load Swagger UI and ReDoc from (this service).
_DOCS = "/static/vendor/docs"

TAGS = [
    {"name": "addresses", "description": "Parse, resolve and reverse-geocode addresses."},
    {"name": "register", "description": "Buildings and rooms of the register."},
    {"name": "grids", "description": "Grids, micro-grids, communities and their block data."},
    {"name": "people", "description": "Person-level data: officer scope, every read audited."},
    {"name": "tiles", "description": "Vector tiles, TileJSON and map styles."},
    {"name": "features", "description": "OGC API – Features."},
    {"name": "service", "description": "Health and metadata of the service."},
]


def create_app(
    db: Path | str | None = None,
    *,
    writable: bool = False,
    service: Service | None = None,
) -> FastAPI:
    """Build the FastAPI application on a store.

    Parameters
    ----------
    db
        The store file (default ``YIZHI_DB``); ignored when ``service`` is given.
    writable
        Open the store read-write so that planners can edit grids.
    service
        An existing :class:`~api.service.Service` (tests, benchmarks).
    """
    svc = service or Service(db, writable=writable)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if service is None:
            svc.close()

    app = FastAPI(
        title="yizhi",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(caller)],
        responses=problems.problem_responses(401, 429),
        docs_url=None,  # served below with local assets instead of a CDN
        redoc_url=None,
    )
    app.state.service = svc
    problems.install(app)
    app.add_middleware(tiles.TileFastPath)  # cached tiles skip routing (api/routes/_tilefast.py)
    app.add_middleware(LookupFastPath)  # plain grids/at and resolve too (api/routes/_lookupfast.py)
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    @app.get("/health", tags=["service"], summary="Health of the service and its store")
    def health(svc: ServiceDep) -> dict[str, Any]:
        """Whether the store answers, its schema version and whether edits are accepted."""
        return {
            "status": "ok",
            "version": __version__,
            "store": svc.db.name,
            "schema_version": max(store.applied_versions(svc.cursor()), default=None),
            "writable": svc.writable,
        }

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="yizhi API",
            swagger_js_url=f"{_DOCS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_DOCS}/swagger-ui.css",
            swagger_favicon_url=f"{_DOCS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="yizhi API",
            redoc_js_url=f"{_DOCS}/redoc.standalone.js",
            redoc_favicon_url=f"{_DOCS}/favicon.png",
            with_google_fonts=False,
        )

    for module in (lookups, grids, people, tiles, features, pages):
        app.include_router(module.router)
    pages.mount_static(app)
    return app
