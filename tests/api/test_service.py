"""The service frame: health, problems, keys, scopes, rate limits and the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.audit import AuditLog
from api.auth import KeyStore, RateLimiter, Unauthorized, expand
from common.errors import InvalidInput, SchemaError
from tests.api.conftest import Server


def test_health_reports_read_only_store(api_server: Server) -> None:
    with api_server.client() as http:
        r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["writable"] is False
    assert body["schema_version"] >= 4


def test_unknown_route_is_a_problem(api_server: Server) -> None:
    with api_server.client() as http:
        r = http.get("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/not-found"


def test_wrong_key_is_401_not_public(api_server: Server) -> None:
    with api_server.client() as http:
        r = http.get("/health", headers={"X-API-Key": "yz_not-a-key"})
        bearer = http.get(
            "/health", headers={"Authorization": f"Bearer {api_server.keys['admin']}"}
        )
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthorized"
    assert "WWW-Authenticate" in r.headers
    assert bearer.status_code == 200


def test_openapi_document_lists_problem_media_type(api_server: Server) -> None:
    with api_server.client() as http:
        doc = http.get("/openapi.json").json()
    assert doc["info"]["title"] == "yizhi"
    assert "application/problem+json" in json.dumps(doc)
    assert "X-API-Key" in json.dumps(doc["components"]["securitySchemes"])


def test_scopes_expand_and_reject_unknown() -> None:
    assert expand(["officer"]) == {"officer", "analyst", "public"}
    assert expand(["admin"]) >= {"officer", "planner", "analyst", "public"}
    with pytest.raises(InvalidInput, match="unknown scope 'root'"):
        expand(["root"])


def test_key_file_round_trip_and_revoke(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    new = keys.create("desk", ["officer"], rate=5)
    raw = (tmp_path / "keys.json").read_text()
    assert new.secret not in raw  # only the hash is kept
    other = KeyStore(tmp_path / "keys.json")  # a second process sees the key
    who = other.authenticate(new.secret)
    assert who.name == "desk" and who.has("officer") and who.rate == 5
    keys.revoke(new.key_id)
    with pytest.raises(Unauthorized):
        other.authenticate(new.secret)
    assert [k["revoked_at"] is not None for k in other.list()] == [True]


def test_rate_limiter_refills() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", now=0.0) == pytest.approx(0.5)
    assert limiter.take("b", now=0.0) == 0.0  # callers do not share buckets
    assert limiter.take("a", now=0.6) == 0.0


def test_rate_limit_answers_429_with_retry_after(api_server: Server) -> None:
    keys = KeyStore(api_server.settings.api_keys)
    slow = keys.create("slow-client", ["public"], rate=0.5, burst=2).secret
    with api_server.client() as http:
        codes = [http.get("/health", headers={"X-API-Key": slow}).status_code for _ in range(4)]
        last = http.get("/health", headers={"X-API-Key": slow})
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
    assert last.json()["type"] == "/problems/rate-limited"
    assert int(last.headers["Retry-After"]) >= 1


def test_audit_chain_detects_an_edit(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(3):
        log.record(key_id="k", key_name="desk", client="::1", action=f"read {i}", subjects=[str(i)])
    big = log.record(
        key_id="k", key_name="desk", client="::1", action="bulk", subjects=["x" * 40] * 900
    )
    assert big["records"] == 900
    log.record(key_id="k", key_name="desk", client="::1", action="after bulk", subjects=["y"])
    assert log.verify() == 5
    lines = log.path.read_text().splitlines()
    lines[1] = lines[1].replace("read 1", "read 9")
    log.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SchemaError, match="line 2"):
        log.verify()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_pages_load_nothing_from_outside(api_server: Server, page: str) -> None:
    import re

    with api_server.client() as http:
        html = http.get(page).text
        urls = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""", html)
        assert any(u.endswith(".js") for u in urls)
        for url in urls:
            assert not re.match(r"^(https?:)?//", url), f"{page} loads {url} from outside"
            assert http.get(url).status_code == 200, url


@pytest.mark.parametrize("warm_tiles", [True, False])
def test_warm_loads_tiles_only_when_asked(
    sample_store: Path, tmp_path: Path, warm_tiles: bool
) -> None:
    import shutil

    import store
    from api.service import TILES, Service
    from api.tiles import TileSet
    from common.settings import Settings

    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_store, db)
    service = Service(db, settings=Settings(db=db, warm_tiles=warm_tiles))
    loads: list[str] = []

    def load(con: object) -> str:
        loads.append("now")
        return "loaded on the first request"

    try:
        service.warm()
        found = store.cached(service.cursor(), TILES, store.DOMAINS, load)
        if warm_tiles:
            assert not loads and isinstance(found, TileSet)
        else:
            assert loads == ["now"]
    finally:
        service.close()
