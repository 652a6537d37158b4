"""A fast path for the two hot lookups, ``GET /v1/grids/at`` and ``GET /v1/resolve``.

Both answers come from in-memory indexes (a grid in ≈ 50 µs, most addresses in ≈ 100 µs),
while FastAPI's route matching, dependency solving and query validation add ≈ 300 µs a
request. This ASGI middleware, in front of the routes, answers the plain cases itself:

- grids/at: well-formed ``lon``/``lat`` (and optional ``crs``) inside a grid of the active
  version, with a trusted index;
- resolve: a ``q`` of 1–200 characters of valid UTF-8 (and optional ``limit`` of 1–100), with a
  trusted index;

for an authenticated caller within its rate limit. "Trusted" is the store's cache saying that
the index needs no recheck now (:func:`store.peek`): the fast path never asks the store. Anything
else (a due recheck, a ``version``, a bad or missing parameter, a point outside every grid, an
invalid address, a bad key, a rate limit) goes on to the FastAPI route, which answers the same way or with a problem document; the
principal is left in the request state for :func:`api.deps.caller`, so a caller is charged
one token whichever path answers.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from address_registry.resolve import RESOLVE_INDEX, resolve
from api._grid_at import answer, trusted_grid_index
from api.deps import authenticate_scope
from api.routes._lookups_models import MAX_CANDIDATES
from api.service import Service
from common.coords import SUPPORTED_SYSTEMS
from common.errors import YizhiError

_GRID_AT = "/v1/grids/at"
_RESOLVE = "/v1/resolve"
_MAX_QUERY = 200
_CRS = frozenset(SUPPORTED_SYSTEMS)
_NUMBER = frozenset("0123456789.-+eE")
_HEADERS = [(b"content-type", b"application/json")]


class LookupFastPath:
    """ASGI middleware answering plain ``grids/at`` and ``resolve`` requests directly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path in (_GRID_AT, _RESOLVE):
                svc = getattr(getattr(scope.get("app"), "state", None), "service", None)
                body = None
                if svc is not None:
                    body = self._grid_at(svc, scope) if path == _GRID_AT else _resolve(svc, scope)
                if body is not None:
                    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def _grid_at(svc: Service, scope: Scope) -> bytes | None:
        index = trusted_grid_index(svc.store_key)
        query = _query(scope)
        if index is None or query is None:
            return None
        try:
            raw_lon, raw_lat = query.pop("lon"), query.pop("lat")
        except KeyError:
            return None
        if not (_NUMBER.issuperset(raw_lon) and _NUMBER.issuperset(raw_lat)):
            return None  # "1_0", " 1", "nan": the route's validation decides
        try:
            lon, lat = float(raw_lon), float(raw_lat)
        except ValueError:
            return None
        crs = query.pop("crs", "wgs84")
        if query or crs not in _CRS or not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not authenticate_scope(svc, scope):
            return None
        try:
            return orjson.dumps(answer(index, lon, lat, crs))
        except YizhiError:  # outside every grid: the route answers the 404 problem
            return None


def _resolve(svc: Service, scope: Scope) -> bytes | None:
    query = _query(scope)
    if query is None or "q" not in query:
        return None
    q = query.pop("q")
    limit = query.pop("limit", "5")
    if query or not limit.isdigit() or not 1 <= int(limit) <= MAX_CANDIDATES:
        return None
    if not 1 <= len(q) <= _MAX_QUERY or not svc.fresh(RESOLVE_INDEX):
        return None
    if not authenticate_scope(svc, scope):
        return None
    try:
        return orjson.dumps(resolve(svc.cursor(), q, int(limit)))
    except YizhiError:  # not an address: the route answers the problem
        return None


def _query(scope: Scope) -> dict[str, str] | None:
    """The query parameters, or ``None`` when one repeats or the string is not strict UTF-8."""
    try:
        pairs = parse_qsl(
            scope["query_string"].decode("ascii"), strict_parsing=True, errors="strict"
        )
    except (ValueError, UnicodeError):
        return None
    query = dict(pairs)
    return query if len(query) == len(pairs) else None
