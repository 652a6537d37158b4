"""OGC API – Features (Part 1 core, GeoJSON; Part 2 output CRS): ``/collections`` and items.

- ``GET /conformance``: the conformance classes;
- ``GET /collections``: the collections (the tile layers; no person-level data) with links;
- ``GET /collections/{collectionId}``: one collection with its extent and output CRS list;
- ``GET /collections/{collectionId}/items?bbox=&limit=&offset=&crs=&bbox-crs=``: a page of a
  GeoJSON ``FeatureCollection`` with ``numberMatched``, ``numberReturned`` and ``self`` /
  ``next`` / ``prev`` links, ordered by feature id;
- ``GET /collections/{collectionId}/items/{featureId}``: one feature.

The landing page ``/`` belongs to the map viewer, so the API's links start at ``/collections``.
See ``docs/api-tiles.md``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import ServiceDep
from api.problems import problem_responses
from api.routes import _collections as col
from api.routes._tilehttp import base_url
from common.errors import InvalidInput, NotFound

router = APIRouter(tags=["features"])

GEOJSON = "application/geo+json"
#: Largest page.
MAX_LIMIT = 10_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
#: Query parameters the items route knows; any other is refused (OGC /req/core/query-param-unknown).
_ITEM_PARAMS = {"bbox", "bbox-crs", "limit", "offset", "crs", "f"}

CollectionPath = Annotated[
    str,
    Path(
        description="A collection id (`GET /collections` lists them).",
        examples=["buildings"],
        max_length=40,
    ),
]
_GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoJSON", "content": {GEOJSON: {"schema": {"type": "object"}}}},
    **problem_responses(404, 422),
}


def _collection(collection_id: str) -> col.Collection:
    try:
        return col.COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound(
            f"unknown collection {collection_id!r}; known: {', '.join(col.COLLECTIONS)}",
            collection=collection_id,
        ) from None


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _describe(root: str, c: col.Collection, bbox: list[float] | None) -> dict[str, Any]:
    spec = c.layer
    here = f"{root}/collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id,
        "title": spec.description or c.id,
        "description": spec.description,
        "itemType": "feature",
        "crs": col.ADVERTISED_CRS,
        "storageCrs": col.CRS84,
        "extent": {
            "spatial": {"bbox": [bbox] if bbox else [], "crs": col.CRS84},
        },
        "links": [
            _link(here, "self", "application/json", "This collection"),
            _link(f"{here}/items", "items", GEOJSON, "Its features"),
            _link(f"{root}/tiles/{c.id}.json", "alternate", "application/json", "TileJSON"),
        ],
    }
    return doc


@router.get("/conformance", summary="Conformance classes of OGC API – Features")
def conformance() -> dict[str, list[str]]:
    """The OGC API – Features conformance classes this service implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="The feature collections")
def collections(request: Request, svc: ServiceDep) -> dict[str, Any]:
    """Every collection (the map layers: divisions, grids, roads, buildings, doorplates, events,
    sensors) with its extent, output CRS list and links. No person-level collection exists."""
    root = base_url(request, svc.settings.public_url)
    cur = svc.cursor()
    return {
        "links": [
            _link(f"{root}/collections", "self", "application/json", "The collections"),
            _link(f"{root}/conformance", "conformance", "application/json", "Conformance"),
            _link(
                f"{root}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "The API definition",
            ),
            _link(f"{root}/docs", "service-doc", "text/html", "The API documentation"),
        ],
        "collections": [_describe(root, c, col.extent(cur, c)) for c in col.COLLECTIONS.values()],
    }


@router.get(
    "/collections/{collection_id}",
    summary="One feature collection",
    responses=problem_responses(404),
)
def collection(request: Request, svc: ServiceDep, collection_id: CollectionPath) -> dict[str, Any]:
    """A collection: title, spatial extent (CRS84), the output CRS it offers and its links."""
    c = _collection(collection_id)
    root = base_url(request, svc.settings.public_url)
    return _describe(root, c, col.extent(svc.cursor(), c))


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection (GeoJSON, paged)",
    response_class=Response,
    responses=_GEOJSON_RESPONSE,
)
def items(
    request: Request,
    svc: ServiceDep,
    collection_id: CollectionPath,
    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minlon,minlat,maxlon,maxlat (in `bbox-crs`, WGS84 by default): "
            "features whose geometry meets the box.",
            examples=["121.48,31.23,121.50,31.24"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1–{MAX_LIMIT:,}.")
    ] = 100,
    offset: Annotated[int, Query(ge=0, description="Features to skip (ordered by id).")] = 0,
    crs: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Output coordinates: "
            + ", ".join(col.ADVERTISED_CRS)
            + " (or wgs84, cgcs2000, gcj02, bd09). Always longitude, latitude.",
            examples=["gcj02"],
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None,
        Query(alias="bbox-crs", max_length=100, description="The CRS of `bbox` (as `crs`)."),
    ] = None,
    f: Annotated[str | None, Query(max_length=10, description="`json` or `geojson`.")] = None,
) -> Response:
    """A page of features as a GeoJSON `FeatureCollection`, ordered by feature id, with
    `numberMatched`, `numberReturned` and `next` / `prev` links. Grid block counts from 1 to 4
    are suppressed (null), as in tiles. Unknown query parameters are refused (422)."""
    unknown = sorted(set(request.query_params) - _ITEM_PARAMS)
    if unknown:
        raise InvalidInput(
            f"unknown query parameters {unknown}; expected some of {sorted(_ITEM_PARAMS)}"
        )
    if f is not None and f not in ("json", "geojson"):
        raise InvalidInput(f"f={f!r} is not offered; use json or geojson")
    c = _collection(collection_id)
    out_crs = col.parse_crs(crs)
    box = col.parse_bbox(bbox, col.parse_crs(bbox_crs)) if bbox is not None else None
    cur = svc.cursor()
    matched = col.count(cur, c, box)
    rows = col.page(cur, c, box, limit, offset) if offset < matched else []
    features = col.features_json(rows, c, out_crs)

    root = base_url(request, svc.settings.public_url)
    here = f"{root}/collections/{c.id}/items"
    params = {k: v for k, v in request.query_params.items() if k != "offset"}

    def url(at: int) -> str:
        return f"{here}?{urlencode({**params, 'offset': at, 'limit': limit})}"

    links = [
        _link(url(offset), "self", GEOJSON, "This page"),
        _link(f"{root}/collections/{c.id}", "collection", "application/json", "The collection"),
    ]
    if offset + len(rows) < matched:
        links.append(_link(url(offset + len(rows)), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(_link(url(max(0, offset - limit)), "prev", GEOJSON, "Previous page"))
    head = orjson.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": len(rows),
            "links": links,
        }
    )
    body = head[:-1] + b',"features":[' + b",".join(features) + b"]}"
    return Response(
        body,
        media_type=GEOJSON,
        headers={"Content-Crs": f"<{col.SYSTEM_URI[out_crs]}>"},
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
    responses=_GEOJSON_RESPONSE,
)
def item(
    request: Request,
    svc: ServiceDep,
    collection_id: CollectionPath,
    feature_id: Annotated[
        str, Path(max_length=200, description="The feature id (its key: building ID, code...).")
    ],
    crs: Annotated[
        str | None, Query(max_length=100, description="Output coordinates (as for items).")
    ] = None,
) -> Response:
    """One GeoJSON `Feature` by id (a building ID, a grid code, an event's source id...)."""
    c = _collection(collection_id)
    out_crs = col.parse_crs(crs)
    rows = col.rows_by_key(svc.cursor(), c, [feature_id])
    if not rows:
        raise NotFound(
            f"no feature {feature_id!r} in collection {c.id!r}",
            collection=c.id,
            feature=feature_id,
        )
    root = base_url(request, svc.settings.public_url)
    here = f"{root}/collections/{c.id}/items/{quote(feature_id, safe='')}"
    links = [
        _link(here, "self", GEOJSON, "This feature"),
        _link(f"{root}/collections/{c.id}", "collection", "application/json", "The collection"),
    ]
    feature = col.features_json(rows, c, out_crs)[0]
    body = feature[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    return Response(
        body,
        media_type=GEOJSON,
        headers={"Content-Crs": f"<{col.SYSTEM_URI[out_crs]}>"},
    )
