"""Typed errors that carry their HTTP status.

Every error raised on purpose by yizhi derives from :class:`YizhiError`. Each has a stable
``type`` (a short slug used in ``application/problem+json`` as ``/problems/<type>``), an HTTP
``status``, a ``message`` that is safe to show a client, and an optional ``detail`` for logs.
Library errors also subclass the matching built-in (``ValueError``, ``LookupError``) so that
callers outside the API can catch them without importing yizhi.
"""

from __future__ import annotations

from typing import Any, ClassVar


class YizhiError(Exception):
    """Base of all yizhi errors."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str, *, detail: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.context = context

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 problem document for this error."""
        doc: dict[str, Any] = {
            "type": f"/problems/{self.type}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if instance:
            doc["instance"] = instance
        doc.update({k: v for k, v in self.context.items() if _jsonable(v)})
        return doc


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict | type(None))


class InvalidInput(YizhiError, ValueError):
    """The caller sent something that cannot be used (bad code, bad geometry, bad file)."""

    status = 422
    type = "invalid-input"
    title = "Invalid input"


class NotFound(YizhiError, LookupError):
    """The thing asked for does not exist."""

    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(YizhiError, ValueError):
    """The request conflicts with the current state (a rule of the register would break)."""

    status = 409
    type = "conflict"
    title = "Conflict"


class Forbidden(YizhiError, PermissionError):
    """The caller lacks the scope for this."""

    status = 403
    type = "forbidden"
    title = "Forbidden"


class SchemaError(YizhiError, RuntimeError):
    """The database schema does not match the code (too new, tampered, or failed migration)."""

    status = 500
    type = "schema-error"
    title = "Database schema error"


class MissingDependency(YizhiError, ImportError):
    """An optional part was asked for but its extra is not installed."""

    status = 501
    type = "missing-dependency"
    title = "Optional dependency missing"
