"""Building and room IDs: check characters catch every single-digit error and transposition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from address_registry.ids import (
    building_id,
    is_valid_building_id,
    mod11_2,
    parse_building_id,
    parse_room_id,
    room_id,
    validate_building_id,
)
from common.errors import InvalidInput

communities = st.from_regex(r"\A[1-6][0-9]{11}\Z", fullmatch=True)
years = st.integers(1949, 2099)
serials = st.integers(1, 10**8 - 1)


def test_resident_id_examples() -> None:
    # GB 11643 worked example and two public sample numbers
    assert mod11_2("11010519491231002") == "X"
    assert mod11_2("44052418800101001") == "4"


@given(communities, years, serials)
def test_round_trip(community: str, year: int, serial: int) -> None:
    bid = building_id(community, year, serial)
    assert len(bid) == 25
    parts = parse_building_id(bid)
    assert (parts.community_code, parts.birth_year, parts.serial) == (community, year, serial)
    assert is_valid_building_id(bid)


@given(communities, years, serials, st.integers(0, 23), st.integers(1, 9))
def test_every_single_digit_error_is_caught(
    community: str, year: int, serial: int, pos: int, delta: int
) -> None:
    bid = building_id(community, year, serial)
    wrong = bid[:pos] + str((int(bid[pos]) + delta) % 10) + bid[pos + 1 :]
    assert not is_valid_building_id(wrong)
    with pytest.raises(InvalidInput, match="fails its check"):
        validate_building_id(wrong)


@given(communities, years, serials, st.integers(0, 22))
def test_every_adjacent_transposition_is_caught(
    community: str, year: int, serial: int, pos: int
) -> None:
    bid = building_id(community, year, serial)
    if bid[pos] == bid[pos + 1]:
        return  # swapping equal digits changes nothing
    swapped = bid[:pos] + bid[pos + 1] + bid[pos] + bid[pos + 2 :]
    assert not is_valid_building_id(swapped)


@given(communities, years, serials, st.integers(0, 99), st.integers(-9, 120), st.integers(1, 9999))
def test_room_ids_start_with_their_building(
    community: str, year: int, serial: int, unit: int, floor: int, room: int
) -> None:
    if floor == 0:
        return
    bid = building_id(community, year, serial)
    rid = room_id(bid, unit=unit, floor=floor, room=room)
    assert len(rid) == 34 and rid.startswith(bid)
    parts = parse_room_id(rid)
    assert parts.building_id == bid
    assert parts.floor_number == floor
    assert int(parts.unit) == unit and int(parts.room) == room


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3101", "25 characters"),
        ("31010101300120240000000AX", "24 digits and a check"),
    ],
)
def test_malformed_building_ids(value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_building_id(value)


def test_bad_parts_are_refused() -> None:
    with pytest.raises(InvalidInput, match="12 digits"):
        building_id("3101", 2024, 1)
    with pytest.raises(InvalidInput, match="serial"):
        building_id("310101013001", 2024, 0)
    bid = building_id("310101013001", 2024, 1)
    with pytest.raises(InvalidInput, match="floor"):
        room_id(bid, floor=0, room=1)
    with pytest.raises(InvalidInput, match="room ID"):
        parse_room_id(bid + "0100")
