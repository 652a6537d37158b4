"""FastAPI dependencies shared by the routers: the service, the caller, scope checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.auth import Principal
from api.service import Service

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
    secret = api_key
    if not secret:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            secret = auth[7:].strip()
    principal = service(request).authenticate(secret, client_address(request))
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only callers holding ``scope``."""

    async def check(who: Annotated[Principal, Depends(caller)]) -> Principal:
        who.require(scope)
        return who

    check.__name__ = f"require_{scope}"
    return check


ServiceDep = Annotated[Service, Depends(_service_dependency)]
CallerDep = Annotated[Principal, Depends(caller)]
