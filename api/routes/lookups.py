"""Address and register lookups under /v1 (parse, resolve, reverse, buildings, rooms, search).

The resolver and the search box answer from in-memory indexes built once per store
(:func:`address_registry.resolve.index_for`, :func:`api._search.search_index`) and kept in the
store's one cache; the router's lifespan builds them before the server accepts requests
(:meth:`Service.warm`), so the first request does not wait ≈ 3 s. An ``async`` route answers on
the event loop while its index is trusted (:meth:`Service.fresh`, no query), and in a worker
thread when the index is due for a recheck of the store's data version.

Bounds (a 4xx problem, never a 500): ``q`` 1–200 characters, ``limit`` 1–100 (1–10 in a batch,
1–100 for the search box), a batch 1–10,000 addresses, lon/lat in range, radius 0–1,000 m.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import anyio
import duckdb
import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Response
from fastapi.openapi.models import Example
from starlette.concurrency import run_in_threadpool

from address_registry.lookup import get_building, get_room
from address_registry.parse import parse as parse_address
from address_registry.resolve import RESOLVE_INDEX, resolve_many
from address_registry.resolve import resolve as resolve_address
from address_registry.reverse import DEFAULT_TOLERANCE_M
from address_registry.reverse import reverse as reverse_point
from api._search import SEARCH_INDEX, search_index
from api.deps import ServiceDep
from api.problems import problem_responses
from api.routes._lookups_models import (
    CUSTOM_HOUSE,
    CUSTOM_HOUSE_LAT,
    CUSTOM_HOUSE_LON,
    MAX_CANDIDATES,
    MAX_QUERY,
    ROOM_EXAMPLE,
    BatchItem,
    BatchRequest,
    BatchResponse,
    BuildingFeature,
    Components,
    ParseAnswer,
    ResolveAnswer,
    ResolveRequest,
    ReverseAnswer,
    Room,
    SearchAnswer,
    SearchKind,
)
from api.service import Service
from common.coords import system_name
from common.errors import InvalidInput

log = logging.getLogger("yizhi.api")

T = TypeVar("T")

#: Most hits of the search box.
MAX_SEARCH = 100
#: Largest reverse-geocoding radius, metres.
MAX_RADIUS_M = 1_000.0


@asynccontextmanager
async def _warm(app: FastAPI) -> AsyncIterator[None]:
    """Build the lookup indexes before the first request (in a thread: the loop stays free)."""
    svc = getattr(app.state, "service", None)
    if svc is not None:
        try:
            await anyio.to_thread.run_sync(svc.warm)
        except Exception:  # the server still starts; the first lookup reports the problem
            log.exception("could not build the lookup indexes at start-up")
    yield


router = APIRouter(prefix="/v1", lifespan=_warm)


def _unicode(text: str, name: str = "q") -> str:
    """``text`` if it is valid Unicode (JSON may carry lone surrogates such as ``\\ud800``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{name} is not valid Unicode (lone surrogate at position {exc.start}): {text!r}"
        ) from None
    return text


def _batch_text(text: str | None) -> str | bytes | None:
    """A batch address as the resolver takes it: text that is not valid Unicode is binary."""
    if text is None or _valid_text(text) == text:
        return text
    return b"\x00"  # resolve_many answers it with reason "binary"


def _valid_text(text: str) -> str:
    """``text`` with lone surrogates replaced by ``?`` (so that it can be sent as JSON)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _ex(summary: str, value: Any) -> Example:
    return Example(summary=summary, value=value)


_ADDRESS_EXAMPLES = {
    "doorplate": _ex("Road and number (the Custom House)", "上海市黄浦区中山东一路13号"),
    "name": _ex("A building's name", "陆家嘴花旗集团大厦"),
    "estate": _ex("Estate, building, unit and room", "浦东新区上港小区13号楼1单元101室"),
    "old_district": _ex(
        "A former district (卢湾区, now 黄浦区), numerals in Chinese", "卢湾区中山东一路十三号"
    ),
}

Q = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_QUERY,
        description=f"Free-text address, at most {MAX_QUERY} characters",
        openapi_examples=_ADDRESS_EXAMPLES,
    ),
]


# -- parse -------------------------------------------------------------------------------------


@router.get(
    "/parse",
    tags=["addresses"],
    summary="Parse an address into its components",
    response_model=ParseAnswer,
    responses=problem_responses(422, 501),
)
async def parse(q: Q) -> ParseAnswer:
    """Label the components of a free-text address (province … room) with the CRF parser.

    Only what is written is returned: no level is filled in, renamed districts stay as written.
    Spans index the text as sent; components are in canonical spelling (三号楼 → 3栋).
    """
    parsed = parse_address(_unicode(q)).to_dict()
    spans = parsed.pop("spans")
    return ParseAnswer(
        text=parsed["text"],
        normalized=parsed["normalized"],
        components=Components.model_validate(
            {k: v for k, v in parsed.items() if k in Components.model_fields}
        ),
        admin_chains=parsed["admin_chains"],
        spans=list(spans),
    )


# -- resolve -------------------------------------------------------------------------------------


def _json(content: Any) -> Response:
    """A JSON response serialised by orjson (the answers are plain dicts already)."""
    return Response(orjson.dumps(content), media_type="application/json")


async def _from_index(
    svc: Service, index: str, work: Callable[[duckdb.DuckDBPyConnection], T]
) -> T:
    """``work(cursor)`` on the event loop when the in-memory ``index`` is trusted (it asks the
    store nothing then), else in a worker thread (it may recheck or rebuild the index)."""
    if svc.fresh(index):
        return work(svc.cursor())
    return await run_in_threadpool(lambda: work(svc.cursor()))


@router.get(
    "/resolve",
    tags=["addresses"],
    summary="Resolve an address to buildings and rooms",
    response_model=ResolveAnswer,
    responses=problem_responses(422),
)
async def resolve(
    svc: ServiceDep,
    q: Q,
    limit: Annotated[
        int, Query(ge=1, le=MAX_CANDIDATES, description="Most candidates", examples=[5])
    ] = 5,
) -> Response:
    """Resolve free text to the building (and room) it names, with a calibrated confidence.

    Levels: ``room``, ``building``, ``doorplate`` (only the nearest number on the road),
    ``road``, or ``community``/``street``/``district`` (no building). A retired building answers
    with its live successors (``matched.successor_of``). ``ambiguous`` is true when the best two
    buildings are too close to choose; naming the community settles it.
    """
    text = _unicode(q)
    return _json(await _from_index(svc, RESOLVE_INDEX, lambda c: resolve_address(c, text, limit)))


@router.post(
    "/resolve",
    tags=["addresses"],
    summary="Resolve an address sent as JSON",
    response_model=ResolveAnswer,
    responses=problem_responses(400, 422),
)
async def resolve_post(svc: ServiceDep, body: ResolveRequest) -> Response:
    """As ``GET /v1/resolve``, with ``{"q", "limit"}`` in the body (no URL encoding needed)."""
    text, limit = _unicode(body.q), body.limit
    return _json(await _from_index(svc, RESOLVE_INDEX, lambda c: resolve_address(c, text, limit)))


@router.post(
    "/resolve/batch",
    tags=["addresses"],
    summary="Resolve up to 10,000 addresses",
    response_model=BatchResponse,
    responses=problem_responses(400, 422),
)
def resolve_batch(svc: ServiceDep, body: BatchRequest) -> Response:
    """Resolve a batch; one answer per address, in input order, none dropped.

    An address is a string or ``{"id", "q"}`` (the ``id`` is echoed). A bad address does not
    fail the batch: its answer has no candidates and a ``reason`` (``empty``, ``too_long``,
    ``binary``, ``not_an_address``); other reasons say why a good one is not one building or
    room (``no_match``, ``ambiguous``, ``admin_only``, ``road_only``, ``doorplate_nearest``).
    More than 10,000 addresses is a 422 problem: split the batch.
    """
    items = [item if isinstance(item, BatchItem) else BatchItem(q=item) for item in body.addresses]
    texts = [_batch_text(item.q) for item in items]
    answers = resolve_many(svc.cursor(), texts, body.limit)
    results = []
    for index, (item, text, answer) in enumerate(zip(items, texts, answers, strict=True)):
        answer["index"] = index
        answer["id"] = None if item.id is None else _valid_text(item.id)
        if not isinstance(text, str):  # null, or not valid Unicode: echo what can be shown
            answer["query"] = "" if item.q is None else _valid_text(item.q)
        results.append(answer)
    reasons = Counter(a["reason"] for a in results if a["reason"] is not None)
    return _json(
        {
            "count": len(results),
            "resolved": len(results) - sum(reasons.values()),
            "reasons": dict(sorted(reasons.items())),
            "results": results,
        }
    )


# -- reverse -------------------------------------------------------------------------------------


@router.get(
    "/reverse",
    tags=["addresses"],
    summary="The building at a point",
    response_model=ReverseAnswer,
    responses=problem_responses(404, 422),
)
def reverse(
    svc: ServiceDep,
    lon: Annotated[
        float, Query(ge=-180, le=180, description="Longitude", examples=[CUSTOM_HOUSE_LON])
    ],
    lat: Annotated[
        float, Query(ge=-90, le=90, description="Latitude", examples=[CUSTOM_HOUSE_LAT])
    ],
    crs: Annotated[
        str,
        Query(
            max_length=20,
            description="Coordinate system of lon/lat: wgs84 (EPSG:4326), cgcs2000 (EPSG:4490), "
            "gcj02 (Amap, Tencent) or bd09 (Baidu); case-insensitive, GCJ-02 / BD-09 accepted",
            examples=["wgs84"],
        ),
    ] = "wgs84",
    radius: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_RADIUS_M,
            description="Outside every building, take the nearest within this many metres",
        ),
    ] = DEFAULT_TOLERANCE_M,
) -> dict[str, Any]:
    """The active building containing the point, else the nearest within ``radius`` metres
    (404 when there is none). The answer's lon/lat are the point in WGS84."""
    system = system_name(crs)
    answer = reverse_point(svc.cursor(), lon, lat, crs=system, tolerance_m=radius)
    answer["query"]["crs"] = system
    return answer


# -- register ------------------------------------------------------------------------------------

BuildingId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=40,
        description="25 characters: birth community (12), year (4), serial (8), check (1)",
        examples=[CUSTOM_HOUSE],
    ),
]


@router.get(
    "/buildings/{building_id}",
    tags=["register"],
    summary="A building with its status, history and successors",
    response_model=BuildingFeature,
    responses={
        **problem_responses(404, 422),
        200: {
            "description": "The building; a retired one names its live successors in a "
            '`Link: </v1/buildings/ID>; rel="successor-version"` header',
            "headers": {
                "Link": {
                    "description": "Successor versions of a retired building",
                    "schema": {"type": "string"},
                }
            },
        },
    },
)
def building(svc: ServiceDep, building_id: BuildingId, response: Response) -> dict[str, Any]:
    """A building of the register as a GeoJSON Feature.

    A retired ID is never "not found": it answers 200 with ``status: retired``, ``retired_by``
    (split, merge, demolish, renumber), ``successors`` (direct) and ``current_successors`` (the
    live buildings it became), each also in a ``Link`` header with
    ``rel="successor-version"``. A malformed ID (length, characters, check character) is 422;
    a well-formed ID never issued is 404.
    """
    feature = get_building(svc.cursor(), building_id)
    successors = feature["properties"].get("current_successors") or []
    if successors:
        response.headers["Link"] = ", ".join(
            f'</v1/buildings/{s}>; rel="successor-version"' for s in successors
        )
    return feature


@router.get(
    "/rooms/{room_id}",
    tags=["register"],
    summary="A room with its address and building",
    response_model=Room,
    responses=problem_responses(404, 422),
)
def room(
    svc: ServiceDep,
    room_id: Annotated[
        str,
        Path(
            min_length=1,
            max_length=50,
            description="34 characters: building ID (25), unit (2), floor (3), room (4)",
            examples=[ROOM_EXAMPLE],
        ),
    ],
) -> dict[str, Any]:
    """A room (户室) of the register: building, unit, floor, room, use, full address, and its
    live successors when retired. Person data is not here (see the people endpoints)."""
    return get_room(svc.cursor(), room_id)


# -- search --------------------------------------------------------------------------------------


@router.get(
    "/search",
    tags=["addresses"],
    summary="Search box: buildings, doorplates, estates, roads, areas and grids",
    response_model=SearchAnswer,
    responses=problem_responses(422),
)
async def search(
    svc: ServiceDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY,
            description="What was typed: part of a name, address, road, or a code",
            openapi_examples={
                "name": _ex("Part of a building name", "外滩18"),
                "road": _ex("A road", "中山东一路"),
                "street": _ex("A street (街道)", "陆家嘴"),
                "code": _ex("A community or grid code", "310101013001"),
            },
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH, description="Most hits")] = 10,
    kind: Annotated[
        list[SearchKind] | None, Query(description="Only hits of these kinds (repeatable)")
    ] = None,
) -> dict[str, Any]:
    """Prefix and substring search for the map viewer's search box, best first: an exact
    name, then names starting with the text, then names containing it. Each hit has a point
    and a bounding box to zoom to. Spelling is forgiving: full-width, case and Chinese numerals
    before a marker (三号楼 = 3栋) are folded."""
    idx = await _from_index(svc, SEARCH_INDEX, search_index)
    hits = idx.search(_unicode(q), limit, set(kind) if kind else None)
    return {"query": q, "hits": [h.hit() for h in hits]}
