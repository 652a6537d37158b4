"""Validators: known answers, SQL agrees with Python, one changed digit always fails."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import InvalidInput
from layers import validate as v
from layers.schemas import _room_ok

from ._helpers import make_id

VALID_IDS = ["11010519491231002X", make_id("310101", "20000229", 7)]
VALID_USCC = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"]


@pytest.fixture(scope="module")
def db() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _sql_id_ok(db: duckdb.DuckDBPyConnection, value: str) -> bool:
    row = db.execute(
        f"SELECT {v.sql_id_well_formed('x')} AND {v.sql_id_check_ok('x')} FROM (SELECT ? AS x)",
        [value],
    ).fetchone()
    assert row is not None
    return bool(row[0])


def _sql_uscc_ok(db: duckdb.DuckDBPyConnection, value: str) -> bool:
    row = db.execute(
        f"SELECT {v.sql_uscc_well_formed('x')} AND {v.sql_uscc_check_ok('x')} FROM (SELECT ? AS x)",
        [value],
    ).fetchone()
    assert row is not None
    return bool(row[0])


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_id_numbers(value: str, db: duckdb.DuckDBPyConnection) -> None:
    assert v.is_valid_id_number(value)
    assert _sql_id_ok(db, value)
    v.validate_id_number(value)


@pytest.mark.parametrize(
    ("value", "reasons"),
    [
        ("110105194912310021", ["bad_id_check"]),
        ("11010519491231002", ["bad_id_number"]),  # 17 characters
        ("11010519491231002Y", ["bad_id_number"]),
        ("110105491231002", ["bad_id_number"]),  # first generation, 15 digits: refused
        (make_id("110105", "19490231", 2), ["bad_id_birth_date"]),  # 31 February
        (make_id("110105", "18991231", 2), ["bad_id_birth_date"]),
        ("440524188001010014", ["bad_id_birth_date"]),  # valid check, born 1880: refused
        ("110105194902310020", ["bad_id_check", "bad_id_birth_date"]),
    ],
)
def test_invalid_id_numbers(value: str, reasons: list[str], db: duckdb.DuckDBPyConnection) -> None:
    assert v.id_number_problems(value) == reasons
    if reasons == ["bad_id_check"]:
        assert not _sql_id_ok(db, value)
    with pytest.raises(InvalidInput, match=r"\*\*\*"):  # the message masks the number
        v.validate_id_number(value)


def test_future_birth_date_is_refused() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    value = make_id("110105", tomorrow.strftime("%Y%m%d"), 2)
    assert v.id_number_problems(value) == ["bad_id_birth_date"]


@pytest.mark.parametrize("value", VALID_USCC)
def test_valid_uscc(value: str, db: duckdb.DuckDBPyConnection) -> None:
    assert v.is_valid_uscc(value)
    assert _sql_uscc_ok(db, value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y44", "bad_uscc_check"),
        ("91350100M000100Y4", "bad_uscc"),
        ("91350100M0001O0Y43", "bad_uscc"),  # letter O is not in the alphabet
        ("9135010OI000100Y43", "bad_uscc"),
        ("91350100S000100Y43", "bad_uscc"),  # nor S
    ],
)
def test_invalid_uscc(value: str, reason: str) -> None:
    assert v.uscc_problems(value) == [reason]


def test_uscc_weights_are_powers_of_three() -> None:
    assert v.USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert v.uscc_check_char("91350100M000100Y4") == "3"
    with pytest.raises(InvalidInput):
        v.uscc_check_char("9135")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("13812345678", True),
        ("+86 138 1234 5678", True),
        ("021-63211234", True),
        ("0755-8888888", True),
        ("12812345678", False),
        ("1381234567", False),
        ("63211234", False),
        ("abc", False),
    ],
)
def test_phones(value: str, ok: bool) -> None:
    assert v.is_valid_phone(value) is ok


@settings(max_examples=50, deadline=None)
@given(
    region=st.integers(110000, 659999),
    days=st.integers(0, 40000),
    seq=st.integers(0, 999),
    pos=st.integers(0, 17),
    delta=st.integers(1, 9),
)
def test_one_changed_character_fails(
    region: int, days: int, seq: int, pos: int, delta: int
) -> None:
    birth = (dt.date(1910, 1, 1) + dt.timedelta(days=days)).strftime("%Y%m%d")
    value = make_id(str(region), birth, seq)
    assert v.is_valid_id_number(value)
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    changed = alphabet[(alphabet.index(value[pos]) + delta) % len(alphabet)]
    mutated = value[:pos] + changed + value[pos + 1 :]
    assert mutated != value
    # MOD 11-2 catches every single-character change
    assert "bad_id_check" in v.id_number_problems(mutated)
    assert not v.is_valid_id_number(mutated)


@settings(max_examples=20, deadline=None)
@given(body=st.text(alphabet=v.USCC_ALPHABET, min_size=17, max_size=17), pos=st.integers(0, 17))
def test_uscc_sql_agrees_and_single_changes_fail(body: str, pos: int) -> None:
    db = duckdb.connect()
    value = body + v.uscc_check_char(body)
    assert v.is_valid_uscc(value) and _sql_uscc_ok(db, value)
    i = v.USCC_ALPHABET.index(value[pos])
    mutated = value[:pos] + v.USCC_ALPHABET[(i + 1) % 31] + value[pos + 1 :]
    assert not v.is_valid_uscc(mutated)
    assert not _sql_uscc_ok(db, mutated)


def test_room_id_check_in_sql(db: duckdb.DuckDBPyConnection) -> None:
    from address_registry.ids import building_id, room_id

    good = room_id(building_id("310101013001", 2024, 1), unit=2, floor=12, room=1203)
    bad = good[:24] + ("0" if good[24] != "0" else "1") + good[25:]
    rows = db.execute(
        f"SELECT x, {_room_ok('x')} FROM (VALUES (?), (?)) t(x) ORDER BY x", [good, bad]
    ).fetchall()
    assert dict(rows) == {good: True, bad: False}
