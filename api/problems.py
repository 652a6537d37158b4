"""Errors as ``application/problem+json`` (RFC 9457), one stable ``type`` per kind of error.

Every error a client can see has a type under ``/problems/``: ``invalid-input`` (422),
``not-found`` (404), ``conflict`` (409), ``unauthorized`` (401), ``forbidden`` (403),
``rate-limited`` (429), ``method-not-allowed`` (405), ``internal-error`` (500), … A request
that breaks a bound (tile zoom, bbox, query length, batch size) is a 4xx problem, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import YizhiError

log = logging.getLogger("yizhi.api")

PROBLEM = "application/problem+json"

#: Types of the HTTP errors raised by the framework itself.
_HTTP_TYPES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem media type."""

    media_type = PROBLEM


def problem(
    status: int, type_: str, title: str, detail: str, instance: str, **extra: Any
) -> ProblemResponse:
    """Build a problem response."""
    doc = {
        "type": f"/problems/{type_}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    doc.update(extra)
    return ProblemResponse(jsonable_encoder(doc), status_code=status)


def _yizhi(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, YizhiError)
    resp = ProblemResponse(exc.to_problem(request.url.path), status_code=exc.status)
    retry = exc.context.get("retry_after")
    if retry is not None:
        resp.headers["Retry-After"] = str(retry)
    if exc.status == 401:
        resp.headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return resp


def _validation(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"][1:] or first["loc"])
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        f"{where}: {first['msg']}" if where else str(first["msg"]),
        request.url.path,
        errors=errors,
    )


def _http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    type_, title = _HTTP_TYPES.get(exc.status_code, ("http-error", "HTTP error"))
    resp = problem(exc.status_code, type_, title, str(exc.detail), request.url.path)
    for key, value in (exc.headers or {}).items():
        resp.headers[key] = value
    return resp


def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "the server failed to answer; the error is logged",
        request.url.path,
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(YizhiError, _yizhi)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


#: The ``responses`` entry documenting problem answers in the OpenAPI document.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, all problem documents."""
    schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "example": "/problems/invalid-input"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    }
    return {
        s: {"description": "A problem", "content": {PROBLEM: {"schema": schema}}} for s in statuses
    }
