"""Grids, micro-grids and communities under /v1 (grid at a point, block data, planner edits).

- ``GET /v1/grids/at``: the codes at a point, answered from an in-memory index (no SQL on the
  request path, no thread hop, no response validation): the hot path of the service.
- ``GET /v1/grids/{code}``, ``/v1/micro-grids/{code}``, ``/v1/communities/{code}``: GeoJSON
  Features with their block data; counts below 5 suppressed for callers without ``analyst``.
- ``GET /v1/grids``, ``/v1/grid-versions``, ``/v1/grid-versions/{v1}/diff/{v2}``.
- ``POST /v1/grid-edits``: planner edits (``planner`` scope, a writable server).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api._grid_at import answer, grid_index, trusted_grid_index
from api.auth import Principal
from api.deps import CallerDep, ServiceDep, require
from api.problems import problem_responses
from api.routes import _grids
from api.routes._grid_models import (
    EDIT_EXAMPLES,
    BlockFeature,
    CommunityCode,
    Crs,
    EditResult,
    GridAt,
    GridCode,
    GridEdit,
    GridList,
    MicroGridCode,
    VersionDiff,
    VersionList,
)
from api.service import Service

router = APIRouter(tags=["grids"])

GEOJSON = "application/geo+json"

VersionQuery = Annotated[
    int | None,
    Query(ge=1, description="A grid version (default: the active one)", examples=[1]),
]


def _json(doc: Any, media_type: str = "application/json", status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=media_type)


def _feature_responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": BlockFeature, "content": {GEOJSON: {}}},
        **problem_responses(404, 422),
    }


@router.get(
    "/v1/grids/at",
    summary="The grid, micro-grid, unit grid, community, street and district at a point",
    response_model=None,
    responses={200: {"model": GridAt}, **problem_responses(404, 422)},
)
async def grid_at(
    request: Request,
    lon: Annotated[
        float, Query(ge=-180, le=180, description="Longitude in `crs`", examples=[121.4868])
    ],
    lat: Annotated[
        float, Query(ge=-90, le=90, description="Latitude in `crs`", examples=[31.2384])
    ],
    crs: Annotated[
        Crs,
        Query(description="Coordinate system of lon/lat (GCJ-02: Amap/Tencent; BD-09: Baidu)"),
    ] = "wgs84",
    version: VersionQuery = None,
) -> Response:
    """Answered from an in-memory STRtree of the version's polygons; `404` outside every grid.

    On a shared edge the lowest code wins. `lon`/`lat` of the answer are the WGS84 point.
    """
    svc: Service = request.app.state.service  # no thread hop for the dependency
    index = trusted_grid_index(svc.store_key)  # no query: the event loop stays free
    if index is None or (version is not None and version != index.version):
        index = await run_in_threadpool(lambda: grid_index(svc.cursor(), version))
    return _json(answer(index, lon, lat, crs))


@router.get(
    "/v1/grids",
    summary="Grids of a version, of one community or all",
    response_model=GridList,
    responses=problem_responses(404, 422),
)
def list_grids(
    svc: ServiceDep,
    who: CallerDep,
    community: Annotated[
        CommunityCode | None,
        Query(
            description="Only the grids of this community (12 digits)", examples=["310101002001"]
        ),
    ] = None,
    version: VersionQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Each grid with its households, buildings and micro-grid count (no geometry: see
    `/v1/grids/{code}` or the `grids` collection of `/collections`). Household counts from 1
    to 4 are `null` without the `analyst` scope."""
    return _grids.list_grids(
        svc.cursor(),
        community,
        version,
        limit=limit,
        offset=offset,
        suppress=not who.has("analyst"),
    )


@router.get(
    "/v1/grids/{code}",
    summary="A grid as a GeoJSON Feature with its block data",
    response_model=None,
    responses=_feature_responses(),
)
def get_grid(
    svc: ServiceDep,
    who: CallerDep,
    code: Annotated[
        GridCode, Path(description="Grid code (15 digits)", examples=["310101002001001"])
    ],
    version: VersionQuery = None,
) -> Response:
    """Households, cap, enclosure, estates, parents (community, street, district), its
    micro-grids, and `block_data` (counts below 5 suppressed without the `analyst` scope)."""
    doc = _grids.grid_feature(svc.cursor(), code, version, suppress=not who.has("analyst"))
    return _json(doc, GEOJSON)


@router.get(
    "/v1/micro-grids/{code}",
    summary="A micro-grid as a GeoJSON Feature with its block data",
    response_model=None,
    responses=_feature_responses(),
)
def get_micro_grid(
    svc: ServiceDep,
    who: CallerDep,
    code: Annotated[
        MicroGridCode,
        Path(description="Micro-grid code (17 digits)", examples=["31010100200100101"]),
    ],
    version: VersionQuery = None,
) -> Response:
    """Households, its cap (150 open / 300 closed estate), flag, enclosure, parents, its
    buildings (and units), and `block_data`."""
    doc = _grids.micro_grid_feature(svc.cursor(), code, version, suppress=not who.has("analyst"))
    return _json(doc, GEOJSON)


@router.get(
    "/v1/communities/{code}",
    summary="A community as a GeoJSON Feature with its grids and block data",
    response_model=None,
    responses=_feature_responses(),
)
def get_community(
    svc: ServiceDep,
    who: CallerDep,
    code: Annotated[
        CommunityCode,
        Path(description="Community code (12 digits)", examples=["310101002001"]),
    ],
    version: VersionQuery = None,
) -> Response:
    """Name, boundary source (official or derived), households, caps, estates, street and
    district, its grids, and `block_data`."""
    doc = _grids.community_feature(svc.cursor(), code, version, suppress=not who.has("analyst"))
    return _json(doc, GEOJSON)


@router.get(
    "/v1/grid-versions",
    summary="Every grid version",
    response_model=VersionList,
)
def list_versions(svc: ServiceDep) -> dict[str, Any]:
    """Id, parent, status (`active`, `superseded`), kind (`partition`, `repartition`, `edit`,
    `import`), note, actor, time, grids and households of each version."""
    from grid_partition.versions import list_versions as versions

    return {"versions": versions(svc.cursor())}


@router.get(
    "/v1/grid-versions/{v1}/diff/{v2}",
    summary="What changed between two grid versions",
    response_model=VersionDiff,
    responses=problem_responses(404, 422),
)
def diff_versions(
    svc: ServiceDep,
    v1: Annotated[int, Path(ge=1, description="The older version", examples=[1])],
    v2: Annotated[int, Path(ge=1, description="The newer version", examples=[2])],
) -> dict[str, Any]:
    """Buildings moved between micro-grids, buildings added and removed, grid and micro-grid
    codes created, retired and reshaped, and the household churn."""
    from grid_partition.versions import diff

    return diff(svc.cursor(), v1, v2)


@router.post(
    "/v1/grid-edits",
    summary="Apply a planner edit (move, split, merge, rebalance): a new grid version",
    status_code=201,
    response_model=EditResult,
    responses=problem_responses(403, 409, 422),
)
def post_edit(
    svc: ServiceDep,
    who: Annotated[Principal, Depends(require("planner"))],
    edit: Annotated[GridEdit, Body(openapi_examples=EDIT_EXAMPLES)],
) -> dict[str, Any]:
    """Needs the `planner` scope and a server started `--writable` (else `409`).

    The edit is checked against the rules of `grid_partition` (household caps, contiguity, a
    grid within one community, ...): a broken rule answers `409` with `rule`, `grid` and every
    `problems` entry, and only the refusal is stored. An applied edit makes a new active
    version; tiles and the point index reload.
    """
    cur = svc.writer()
    with svc.write_lock:
        # the edit writes through store.transaction: the next request sees the new version
        return _grids.apply_edit(cur, edit, actor=f"{who.name} ({who.key_id})")
