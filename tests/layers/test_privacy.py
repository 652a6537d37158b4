"""Pseudonymisation: masks, the HMAC in SQL equals Python's, the secret's rules."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import duckdb
import pytest

from common.errors import InvalidInput
from common.settings import get_settings
from layers import privacy


@pytest.mark.parametrize(
    ("value", "masked"),
    [("11010519491231002X", "110105********002X"), ("12345678", "****5678"), ("123", "***")],
)
def test_mask_id(value: str, masked: str) -> None:
    assert privacy.mask_id_number(value) == masked
    row = duckdb.sql(f"SELECT {privacy.sql_mask_id(repr(value))}").fetchone()
    assert row == (masked,)


@pytest.mark.parametrize(
    ("value", "masked"), [("张小明", "张*明"), ("李四", "李*"), ("欧阳小华", "欧**华"), ("王", "*")]
)
def test_mask_name(value: str, masked: str) -> None:
    assert privacy.mask_name(value) == masked
    assert duckdb.sql(f"SELECT {privacy.sql_mask_name(repr(value))}").fetchone() == (masked,)


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("+86 138-1234-5678", "138****5678"), ("1381234", "*******")],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert privacy.mask_phone(value) == masked
    sql = privacy.sql_mask_phone(privacy.sql_normalize_phone(repr(value)))
    assert duckdb.sql(f"SELECT {sql}").fetchone() == (masked,)


@pytest.mark.parametrize("secret", [b"k", b"x" * 64, b"long" * 40])
def test_sql_hmac_equals_python(secret: bytes) -> None:
    value = "11010519491231002x"
    expected = hmac.new(secret, value.upper().encode(), hashlib.sha256).hexdigest()
    assert privacy.hmac_hex(secret, value) == expected
    row = duckdb.sql(f"SELECT {privacy.sql_hmac(secret, repr(value))}").fetchone()
    assert row == (expected,)


def test_scrub_removes_ids_and_phones() -> None:
    text = "住户11010519491231002X电话13812345678"
    row = duckdb.sql(f"SELECT {privacy.sql_scrub(repr(text))}").fetchone()
    assert row == ("住户<id>电话<phone>",)


def test_no_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIZHI_HMAC_SECRET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidInput, match="YIZHI_HMAC_SECRET"):
            privacy.load_secret()
    finally:
        get_settings.cache_clear()


def test_demo_secret_is_created_once_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("YIZHI_HMAC_SECRET", raising=False)
    get_settings.cache_clear()
    key = tmp_path / "var" / "hmac.key"
    try:
        first = privacy.load_secret(demo=True, key_path=key)
        second = privacy.load_secret(demo=True, key_path=key)
    finally:
        get_settings.cache_clear()
    assert first == second and len(first) == 64
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_configured_secret_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIZHI_HMAC_SECRET", "from-the-environment")
    get_settings.cache_clear()
    try:
        assert privacy.load_secret() == b"from-the-environment"
    finally:
        get_settings.cache_clear()
