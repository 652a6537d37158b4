"""API keys, scopes and rate limits, without a web framework.

A caller presents a key in ``X-API-Key`` (or ``Authorization: Bearer <key>``); a caller without
one is the anonymous *public* principal. Keys live in a JSON file (``YIZHI_API_KEYS``, default
``var/api-keys.json``) that holds only the SHA-256 of each key, its scopes and its rate, and is
re-read when it changes, so ``yizhi keys create`` / ``revoke`` take effect on a running server.

Scopes (see ``docs/api.md``):

========  ===============================================================================
public    lookups, tiles, features; block data with counts below 5 suppressed
analyst   block data unsuppressed, events and sensors in full
planner   grid edits (and everything analyst has)
officer   person-level data (every read written to the audit log)
admin     everything
========  ===============================================================================

>>> keys = KeyStore.in_memory()
>>> secret = keys.create("gis-team", ["analyst"]).secret
>>> sorted(keys.authenticate(secret).scopes)
['analyst', 'public']
>>> keys.authenticate(None).name
'anonymous'
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import Forbidden, InvalidInput, NotFound, YizhiError

#: Every scope, from least to most trusted.
SCOPES = ("public", "analyst", "planner", "officer", "admin")

#: What each scope includes besides itself.
_IMPLIES: dict[str, frozenset[str]] = {
    "public": frozenset(),
    "analyst": frozenset({"public"}),
    "planner": frozenset({"public", "analyst"}),
    "officer": frozenset({"public", "analyst"}),
    "admin": frozenset(SCOPES),
}

KEY_PREFIX = "yz_"


class Unauthorized(YizhiError, PermissionError):
    """The API key presented is unknown or revoked."""

    status = 401
    type = "unauthorized"
    title = "Unauthorized"


class RateLimited(YizhiError):
    """The caller sent more requests than its rate allows."""

    status = 429
    type = "rate-limited"
    title = "Too many requests"


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes granted by ``scopes``, implied ones included; rejects unknown names.

    >>> sorted(expand(["planner"]))
    ['analyst', 'planner', 'public']
    """
    out: set[str] = {"public"}
    for scope in scopes:
        if scope not in _IMPLIES:
            raise InvalidInput(f"unknown scope {scope!r}; scopes are {list(SCOPES)}")
        out |= {scope} | _IMPLIES[scope]
    return frozenset(out)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id and name (``anonymous`` without a key) and its scopes."""

    key_id: str
    name: str
    scopes: frozenset[str]
    rate: float | None = None
    burst: int | None = None

    def has(self, scope: str) -> bool:
        """Whether the caller holds ``scope``."""
        return scope in self.scopes

    def require(self, scope: str) -> None:
        """Raise :class:`~common.errors.Forbidden` unless the caller holds ``scope``."""
        if scope not in self.scopes:
            raise Forbidden(
                f"this needs the {scope!r} scope; the key {self.name!r} has {sorted(self.scopes)}",
                required_scope=scope,
            )


ANONYMOUS = Principal("anonymous", "anonymous", frozenset({"public"}))


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``secret`` is shown once and never stored."""

    key_id: str
    name: str
    scopes: list[str]
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class KeyStore:
    """The API keys of a deployment, in a JSON file re-read when it changes.

    Parameters
    ----------
    path
        The keys file; ``None`` keeps the keys in memory only (tests, doctests).
    """

    path: Path | None
    _records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_hash: dict[str, dict[str, Any]] = field(default_factory=dict)
    _stamp: tuple[float, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def in_memory(cls) -> KeyStore:
        """A key store that is never written to disk."""
        return cls(None)

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._records, self._by_hash, self._stamp = {}, {}, None
            return
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._stamp:
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            records = {r["key_id"]: r for r in doc["keys"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"the API keys file {self.path} is not valid: {exc}") from exc
        self._records = records
        self._by_hash = {r["sha256"]: r for r in records.values()}
        self._stamp = stamp

    def _save(self) -> None:
        if self.path is None:
            self._by_hash = {r["sha256"]: r for r in self._records.values()}
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        doc = {"keys": sorted(self._records.values(), key=lambda r: r["created_at"])}
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        self._stamp = None
        self._reload()

    def create(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        rate: float | None = None,
        burst: int | None = None,
    ) -> NewKey:
        """Create a key; the returned secret is the only copy."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise InvalidInput(
                f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}",
                scopes=unknown,
            )
        scope_list = sorted(set(scopes) or {"public"}, key=SCOPES.index)
        expand(scope_list)
        if not name.strip():
            raise InvalidInput("a key needs a name (who or what uses it)")
        if rate is not None and rate <= 0:
            raise InvalidInput(f"rate must be positive, got {rate}")
        if burst is not None and burst < 1:
            raise InvalidInput(f"burst must be at least 1, got {burst}")
        secret = KEY_PREFIX + secrets.token_urlsafe(24)
        key_id = "k_" + secrets.token_hex(4)
        with self._lock:
            self._reload()
            self._records[key_id] = {
                "key_id": key_id,
                "name": name,
                "scopes": scope_list,
                "sha256": _digest(secret),
                "rate": rate,
                "burst": burst,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "revoked_at": None,
            }
            self._save()
        return NewKey(key_id, name, scope_list, secret)

    def revoke(self, key_id: str) -> None:
        """Revoke a key (it is kept, marked revoked, so the audit log still names it)."""
        with self._lock:
            self._reload()
            if key_id not in self._records:
                raise NotFound(f"no API key {key_id!r}")
            self._records[key_id]["revoked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self._save()

    def list(self) -> list[dict[str, Any]]:
        """Every key, without its hash."""
        with self._lock:
            self._reload()
            return [
                {k: v for k, v in r.items() if k != "sha256"}
                for r in sorted(self._records.values(), key=lambda r: r["created_at"])
            ]

    def authenticate(self, secret: str | None) -> Principal:
        """The principal of a presented key (anonymous for ``None``).

        Raises :class:`Unauthorized` for an unknown or revoked key: a wrong key never falls
        back to public access silently.
        """
        if not secret:
            return ANONYMOUS
        with self._lock:
            self._reload()
            record = self._by_hash.get(_digest(secret))
        if record is None or record.get("revoked_at"):
            raise Unauthorized("unknown or revoked API key")
        return Principal(
            record["key_id"],
            record["name"],
            expand(record["scopes"]),
            record.get("rate"),
            record.get("burst"),
        )


def presented_key(api_key: str | None, authorization: str | None) -> str | None:
    """The key a request presents: ``X-API-Key``, else an ``Authorization: Bearer`` token.

    >>> presented_key(None, "Bearer yz_abc"), presented_key("yz_k", "Bearer yz_abc")
    ('yz_abc', 'yz_k')
    >>> presented_key("", "Basic dXNlcg==") is None
    True
    """
    if api_key:
        return api_key
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


class RateLimiter:
    """A token bucket per caller: ``rate`` requests a second on average, ``burst`` at once.

    >>> limiter = RateLimiter(rate=1.0, burst=2)
    >>> limiter.take("k", now=0.0), limiter.take("k", now=0.0)
    (0.0, 0.0)
    >>> limiter.take("k", now=0.0)  # empty: seconds until the next token
    1.0
    >>> limiter.take("k", now=1.0)
    0.0
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise InvalidInput(f"rate {rate} and burst {burst} must be positive")
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(
        self,
        who: str,
        *,
        rate: float | None = None,
        burst: int | None = None,
        now: float | None = None,
    ) -> float:
        """Spend one token of ``who``; returns 0 when allowed, else seconds to wait."""
        rate = rate or self.rate
        cap = float(burst or self.burst)
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(who, (cap, now))
            tokens = min(cap, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / rate

    def check(self, principal: Principal, client: str) -> None:
        """Raise :class:`RateLimited` when the caller (key, else client address) is over."""
        who = principal.key_id if principal is not ANONYMOUS else f"ip:{client}"
        wait = self.take(who, rate=principal.rate, burst=principal.burst)
        if wait > 0:
            raise RateLimited(
                f"rate limit of {principal.rate or self.rate:g} requests a second exceeded; "
                f"retry in {wait:.2f} s",
                retry_after=max(1, round(wait + 0.5)),
            )
