"""HTTP details of the tile routes: content negotiation, validators and cache headers.

Kept apart from the routes so that the hot path stays short and each rule is tested alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from common.errors import InvalidInput, NotFound

#: Media type of a Mapbox Vector Tile.
TILE_MEDIA = "application/vnd.mapbox-vector-tile"
#: Cache lifetime of a tile URL that does not carry the current data version, seconds.
TILE_MAX_AGE = 300
#: Cache lifetime of TileJSON, the tile list and the style, seconds.
META_MAX_AGE = 60
#: ``Cache-Control`` of a tile URL with the current data version (``?v=``): never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
#: ``Cache-Control`` of a tile URL with a *stale* data version: revalidate every time.
STALE = "no-cache"


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (``gzip``, ``x-gzip`` or ``*``, q > 0).

    >>> accepts_gzip("gzip, deflate, br"), accepts_gzip("br;q=1, gzip;q=0"), accepts_gzip(None)
    (True, False, False)
    """
    if not header:
        return False
    for item in header.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def tile_etag(version: str, layer: str, z: int, x: int, y: int, gzip: bool) -> str:
    """A strong ``ETag`` of one tile: the data version plus a digest of the tile and encoding.

    Tiles are a pure function of the data version (the engine is deterministic and gzip is
    written without a timestamp), so the validator needs no hash of the bytes.

    >>> tile_etag("ab12", "buildings", 16, 1, 2, gzip=False)
    '"ab12-2748c931b03b"'
    """
    digest = hashlib.blake2b(
        f"{layer}/{z}/{x}/{y}/{'gzip' if gzip else 'identity'}".encode(), digest_size=6
    ).hexdigest()
    return f'"{version}-{digest}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks) or ``*``.

    >>> etag_matches('W/"a-1", "b-2"', '"a-1"'), etag_matches('"x"', '"a-1"'), etag_matches("*", '"a"')
    (True, False, True)
    """
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def cache_control(requested: str | None, version: str) -> str:
    """``Cache-Control`` of a tile: immutable when ``?v=`` is the current data version.

    >>> cache_control("v1", "v1"), cache_control(None, "v1"), cache_control("v0", "v1")
    ('public, max-age=31536000, immutable', 'public, max-age=300', 'no-cache')
    """
    if requested is None:
        return f"public, max-age={TILE_MAX_AGE}"
    return IMMUTABLE if requested == version else STALE


def check_layers(tiles: Any, layer: str) -> list[str]:
    """The layer names of ``layer`` (a comma list); unknown → 404, repeated or empty → 422."""
    names = layer.split(",")
    unknown = [n for n in names if n not in tiles.sources]
    if unknown:
        raise NotFound(
            f"unknown tile layer {', '.join(repr(n) for n in unknown)}; "
            f"known: {', '.join(sorted(tiles.sources))}",
            layer=layer,
        )
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"tile layers {twice} are named twice in {layer!r}", layer=layer)
    return names


def base_url(request: Request, public_url: str) -> str:
    """Root URL of the service for links: ``YIZHI_PUBLIC_URL`` or the request's own base URL."""
    return (public_url or str(request.base_url)).rstrip("/")


@dataclass
class TileAnswer:
    """What the tile route answers: status, headers and body (``None``: not in the cache)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = b""


def answer_cached(
    tiles: Any,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    accept_encoding: str | None,
    if_none_match: str | None,
    v: str | None,
) -> TileAnswer:
    """The answer to a tile request from validators and the cache alone (never encodes).

    ``body`` is ``None`` when the tile is not cached: the caller encodes it with
    ``tiles.tile(..., gzip=answer.headers.get("Content-Encoding") == "gzip")`` and finishes the
    answer with :func:`finish`. The layers and ``z/x/y`` must have been checked.
    """
    gz = accepts_gzip(accept_encoding)
    version = tiles.version
    etag = tile_etag(version, layer, z, x, y, gz)
    headers = {"ETag": etag, "Cache-Control": cache_control(v, version), "Vary": "Accept-Encoding"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    if etag_matches(if_none_match, etag):
        headers.pop("Content-Encoding", None)
        return TileAnswer(304, headers)
    return finish(TileAnswer(200, headers, tiles.cached(layer, z, x, y, gzip=gz)))


def finish(answer: TileAnswer) -> TileAnswer:
    """Set the status and media type once the body is known: ``204`` (no body) when empty."""
    if answer.body is None or answer.status != 200:
        return answer
    if not answer.body:
        answer.headers.pop("Content-Encoding", None)
        return TileAnswer(204, answer.headers)
    answer.headers["Content-Type"] = TILE_MEDIA
    return answer
