"""FastAPI dependencies shared by the routers: the service, the caller, scope checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.types import Scope

from api.auth import Principal, presented_key
from api.service import Service
from common.errors import YizhiError

_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key from `yizhi keys create`; without one you are the public caller.",
)


def service(request: Request) -> Service:
    """The :class:`~api.service.Service` of the running app."""
    svc: Service = request.app.state.service
    return svc


async def _service_dependency(request: Request) -> Service:
    """:func:`service` as an async dependency: FastAPI runs a sync dependency in its thread
    pool, a thread hop on every request for a plain attribute read."""
    return service(request)


def client_address(request: Request) -> str:
    """The caller's address (for rate limits and the audit log)."""
    return request.client.host if request.client else "unknown"


async def caller(
    request: Request, api_key: Annotated[str | None, Security(_key_header)] = None
) -> Principal:
    """Authenticate and rate-limit the request; cached on the request state."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = presented_key(api_key, request.headers.get("authorization"))
    principal = service(request).authenticate(secret, client_address(request))
    request.state.principal = principal
    return principal


def authenticate_scope(svc: Service, scope: Scope) -> bool:
    """:func:`caller` for an ASGI fast path ahead of the routes: authenticate and rate-limit
    the request of ``scope`` and leave the principal in its state (so :func:`caller` reuses it
    and a request is charged one token). ``False`` when refused: the route then answers the
    401 or 429 problem.
    """
    api_key = authorization = None
    for key, value in scope["headers"]:
        if key == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
        elif key == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    client = scope.get("client")
    try:
        principal = svc.authenticate(
            presented_key(api_key, authorization), client[0] if client else "unknown"
        )
    except YizhiError:
        return False
    scope.setdefault("state", {})["principal"] = principal
    return True


def require(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only callers holding ``scope``."""

    async def check(who: Annotated[Principal, Depends(caller)]) -> Principal:
        who.require(scope)
        return who

    check.__name__ = f"require_{scope}"
    return check


ServiceDep = Annotated[Service, Depends(_service_dependency)]
CallerDep = Annotated[Principal, Depends(caller)]
