"""A real yizhi server (uvicorn on loopback) on the sample city, with keys of every scope."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.auth import SCOPES, KeyStore
from api.service import Service
from common.settings import Settings, get_settings


@dataclass
class Server:
    """A running server: its URL, its service and one key secret per scope."""

    url: str
    service: Service
    keys: dict[str, str]
    settings: Settings

    def client(self, scope: str | None = None, **kwargs: object) -> httpx.Client:
        """An HTTP client, sending the key of ``scope`` (public when ``None``)."""
        headers = {"X-API-Key": self.keys[scope]} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0, **kwargs)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, workdir: Path, *, writable: bool = False) -> Iterator[Server]:
    """Start uvicorn in a thread on ``db``; yield the :class:`Server`; stop it afterwards."""
    settings = Settings(
        db=db,
        api_keys=workdir / "api-keys.json",
        audit_log=workdir / "audit.jsonl",
        rate_limit=10_000.0,
        rate_burst=100_000,
    )
    keys = KeyStore(settings.api_keys)
    secrets = {scope: keys.create(f"test-{scope}", [scope]).secret for scope in SCOPES}
    service = Service(db, writable=writable, settings=settings)
    port = _free_port()
    config = uvicorn.Config(
        create_app(service=service), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", service, secrets, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.close()


@pytest.fixture(scope="session")
def api_server(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-only server on a copy of the sample city (shared by the API tests)."""
    work = tmp_path_factory.mktemp("api")
    db = work / "sample.duckdb"
    shutil.copyfile(sample_store, db)
    yield from start_server(db, work)


@pytest.fixture
def writable_server(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    """A read-write server on a fresh copy of the sample city (for edits).

    Its cached values are trusted for an hour (``YIZHI_RECHECK_SECONDS``): what a test reads
    after a write, it reads because the write told the store's cache (:func:`store.transaction`),
    not because a recheck came round.
    """
    monkeypatch.setenv("YIZHI_RECHECK_SECONDS", "3600")
    get_settings.cache_clear()
    db = tmp_path / "sample.duckdb"
    shutil.copyfile(sample_store, db)
    try:
        yield from start_server(db, tmp_path, writable=True)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
