"""``yizhi layers``: ingest with --json, the refusal without a secret, categories, transitions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.errors import InvalidInput
from common.settings import get_settings
from yizhi.cli.layers import app

from ._helpers import PEOPLE_HEADER, people_rows


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("YIZHI_HMAC_SECRET", "cli-test-secret")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _people_file(tmp_path: Path) -> Path:
    rows = people_rows(3)
    rows.append(["P99", "110105194912310021", "王五", "男", "", "", "某路", "", ""])
    path = tmp_path / "people.csv"
    path.write_text(
        "\n".join(",".join(r) for r in [list(PEOPLE_HEADER), *rows]) + "\n", encoding="utf-8"
    )
    return path


def test_ingest_json(tmp_path: Path, secret_env: None) -> None:
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", "people", str(_people_file(tmp_path)), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["rows_in"], doc["loaded"], doc["quarantined"]) == (4, 3, 1)
    assert doc["reasons"] == {"bad_id_check": 1, "sex_mismatch": 1}
    result = CliRunner().invoke(app, ["categories", "--db", str(db), "--json"])
    cats = json.loads(result.stdout)
    assert {
        "kind": "part",
        "code": "0101",
        "major": "公用设施",
        "minor": "上水井盖",
        "sla_hours": 4,
    } in cats


def test_ingest_refuses_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIZHI_HMAC_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["ingest", "people", str(_people_file(tmp_path)), "--db", str(tmp_path / "x.duckdb")],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput)
    assert "YIZHI_HMAC_SECRET" in str(result.exception)
    assert not (tmp_path / "x.duckdb").exists()  # refused before touching the store


def test_transition_command(tmp_path: Path, secret_env: None) -> None:
    db = tmp_path / "ev.duckdb"
    path = tmp_path / "e.csv"
    path.write_text(
        "source_id,category,source,address,reported_at\nE1,0102,video,某路,2026-11-01 08:00\n",
        encoding="utf-8",
    )
    assert (
        CliRunner()
        .invoke(app, ["ingest", "events", str(path), "--db", str(db), "--json"])
        .exit_code
        == 0
    )
    ok = CliRunner().invoke(
        app,
        ["transition", "E1", "registered", "--at", "2026-11-01T09:00", "--db", str(db), "--json"],
    )
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {
        "event": "E1",
        "from": "reported",
        "to": "registered",
    }
    bad = CliRunner().invoke(
        app, ["transition", "E1", "closed", "--at", "2026-11-01T07:00", "--db", str(db)]
    )
    assert bad.exit_code != 0
