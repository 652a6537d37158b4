"""Vector tiles, TileJSON and the MapLibre style.

- ``GET /tiles/{layer}/{z}/{x}/{y}.mvt`` (or ``.pbf``): one Mapbox Vector Tile of a layer or of a
  comma list of layers; gzip when the client accepts it; a strong ``ETag`` and ``304`` on
  ``If-None-Match``; ``204`` for an empty tile (also outside the layer's zooms);
- ``GET /tiles/{layer}.json``: TileJSON 3.0.0; ``GET /tiles``: the layers and their zooms;
- ``GET /styles/default.json``: a MapLibre style using only this service's URLs.

The tile route is ``async``: a cached tile is answered on the event loop without a thread hop;
a miss (encoding) or a due check of the data version runs in the thread pool. See
``docs/api-tiles.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.problems import problem_responses
from api.routes import _styles
from api.routes._tilefast import TileFastPath
from api.routes._tilehttp import (
    META_MAX_AGE,
    TILE_MEDIA,
    answer_cached,
    base_url,
    check_layers,
    finish,
)
from api.service import Service
from api.tiles._mercator import check_tile
from api.tiles.tilejson import style, tilejson
from common.errors import InvalidInput

router = APIRouter(tags=["tiles"])

__all__ = ["TileFastPath", "router"]

_LAYER_DOC = (
    "A layer name (`buildings`) or several joined by commas (`grids,buildings`): one tile "
    "holding each of them. `GET /tiles` lists the layers."
)
_TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The tile (gzip-encoded when the request accepts gzip).",
        "content": {TILE_MEDIA: {"schema": {"type": "string", "format": "binary"}}},
    },
    204: {"description": "The tile holds no feature (also outside the layer's zoom range)."},
    304: {"description": "Not modified: `If-None-Match` names the current `ETag`."},
    **problem_responses(404, 422),
}

LayerPath = Annotated[
    str,
    Path(
        description=_LAYER_DOC,
        max_length=200,
        openapi_examples={"one": {"value": "buildings"}, "several": {"value": "grids,buildings"}},
    ),
]
ZoomPath = Annotated[int, Path(ge=0, le=22, description="Zoom, 0–22.", examples=[16])]
ColPath = Annotated[int, Path(ge=0, description="Column, 0 ≤ x < 2^z.", examples=[54880])]
RowPath = Annotated[int, Path(ge=0, description="Row (XYZ, from the north), 0 ≤ y < 2^z.")]
VersionQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="The data version (from TileJSON `tiles`); when it is the current one the "
        "answer is cached as immutable.",
    ),
]


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses=_TILE_RESPONSES,
)
@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", include_in_schema=False, response_class=Response)
async def tile(
    request: Request,
    layer: LayerPath,
    z: ZoomPath,
    x: ColPath,
    y: RowPath,
    v: VersionQuery = None,
) -> Response:
    """Mapbox Vector Tile 2.1 of a layer at `z/x/y` (Web Mercator, XYZ scheme, extent 4096).

    `Content-Encoding: gzip` when `Accept-Encoding` allows it. A strong `ETag` (the data
    version, the layers, the tile and the encoding): send it back in `If-None-Match` for a
    `304`. `Cache-Control` is `public, max-age=300`, or `immutable` for a year when `?v=` is the
    current data version. An empty tile, and any tile outside the layer's zooms, is `204`.
    """
    svc: Service = request.app.state.service
    tiles = svc.tiles_if_fresh()
    if tiles is None:
        tiles = await run_in_threadpool(svc.tiles)
    check_tile(z, x, y)
    check_layers(tiles, layer)
    answer = answer_cached(
        tiles,
        layer,
        z,
        x,
        y,
        accept_encoding=request.headers.get("accept-encoding"),
        if_none_match=request.headers.get("if-none-match"),
        v=v,
    )
    if answer.body is None:
        gz = answer.headers.get("Content-Encoding") == "gzip"
        answer.body = await run_in_threadpool(tiles.tile, layer, z, x, y, gzip=gz)
        answer = finish(answer)
    return Response(content=answer.body, status_code=answer.status, headers=answer.headers)


@router.get(
    "/tiles/{layer}.json",
    summary="TileJSON 3.0.0 of a layer",
    responses=problem_responses(404, 422),
)
def tile_json(request: Request, svc: ServiceDep, layer: LayerPath, response: Response) -> Any:
    """TileJSON 3.0.0: tile URL (with `?v=<data version>`), zooms, bounds, centre and the
    fields of each vector layer. Several layers (a comma list) give one document whose tile URL
    serves them together. URLs start at `YIZHI_PUBLIC_URL`, or at the request's own host."""
    tiles = svc.tiles()
    names = check_layers(tiles, layer)
    root = base_url(request, svc.settings.public_url)
    docs = [tilejson(tiles.source(n), root, version=tiles.version) for n in names]
    doc = docs[0]
    if len(docs) > 1:
        bounds = [d["bounds"] for d in docs]
        doc = {
            **doc,
            "name": layer,
            "description": "; ".join(d["description"] for d in docs),
            "tiles": [f"{root}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v={tiles.version}"],
            "minzoom": min(d["minzoom"] for d in docs),
            "maxzoom": max(d["maxzoom"] for d in docs),
            "bounds": [
                min(b[0] for b in bounds),
                min(b[1] for b in bounds),
                max(b[2] for b in bounds),
                max(b[3] for b in bounds),
            ],
            "vector_layers": [d["vector_layers"][0] for d in docs],
        }
        doc["center"] = [
            round((doc["bounds"][0] + doc["bounds"][2]) / 2, 6),
            round((doc["bounds"][1] + doc["bounds"][3]) / 2, 6),
            doc["minzoom"] + 1 if doc["minzoom"] < doc["maxzoom"] else doc["minzoom"],
        ]
    response.headers["Cache-Control"] = f"public, max-age={META_MAX_AGE}"
    return doc


@router.get("/tiles", summary="The tile layers")
def tile_layers(request: Request, svc: ServiceDep, response: Response) -> dict[str, Any]:
    """Every tile layer: its kind, zooms, feature count, properties and TileJSON URL, and the
    data version that tile URLs carry in `?v=`."""
    tiles = svc.tiles()
    root = base_url(request, svc.settings.public_url)
    response.headers["Cache-Control"] = f"public, max-age={META_MAX_AGE}"
    return {
        "version": tiles.version,
        "layers": [
            {
                "name": name,
                "description": src.spec.description,
                "kind": src.spec.kind,
                "minzoom": src.spec.minzoom,
                "maxzoom": src.spec.maxzoom,
                "features": src.n_features,
                "properties": list(src.spec.properties),
                "tilejson": f"{root}/tiles/{name}.json",
            }
            for name, src in tiles.sources.items()
        ],
    }


@router.get(
    "/styles/default.json",
    summary="The default MapLibre style",
    responses=problem_responses(422),
)
def default_style(
    request: Request,
    svc: ServiceDep,
    response: Response,
    metric: Annotated[
        str | None,
        Query(
            description="Colour grids and micro-grids by this block metric (quantile classes; "
            f"grey where a public count is suppressed): one of {', '.join(_styles.METRICS)}.",
            examples=["people"],
            max_length=40,
        ),
    ] = None,
) -> Any:
    """MapLibre GL style (version 8) with every layer, drawn only from this service's TileJSON
    and tiles: no glyphs, no sprite, nothing from outside. Event density cells are coloured by
    their count; `metadata` lists the metrics `?metric=` accepts and the class breaks used."""
    if metric is not None and metric not in _styles.METRICS:
        raise InvalidInput(
            f"unknown metric {metric!r}; expected one of {', '.join(_styles.METRICS)}",
            metric=metric,
        )
    tiles = svc.tiles()
    root = base_url(request, svc.settings.public_url)
    cuts: dict[str, list[float]] = {}
    if metric:
        cur = svc.cursor()
        cuts = {name: _styles.breaks(cur, name, metric) for name in _styles.CHOROPLETH_LAYERS}
    doc = style(tiles, root)
    register = tiles.sources.get("buildings")
    bounds = register.lonlat_bounds() if register is not None else None
    if bounds is not None:  # centre on the register, not on the districts around it
        doc["center"] = [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
        ]
    response.headers["Cache-Control"] = f"public, max-age={META_MAX_AGE}"
    return _styles.decorate(doc, metric=metric, cuts=cuts, version=tiles.version)
