"""Identifiers of the register: building IDs, room IDs and their check characters.

Layouts (see ``docs/codes.md`` and DESIGN.md):

- **building ID**, 25 characters: birth community code (12) + birth year (4) + serial (8) + check
  (1). The check is ISO 7064 MOD 11-2 over the first 24 digits, ``'X'`` standing for 10, exactly as
  in the resident ID number (GB 11643). It catches every single-digit error and every transposition
  of two adjacent digits.
- **room ID**, 34 characters: building ID (25) + unit (2, ``00`` = none) + floor (3; basements
  ``901``-``909``) + room (4).

>>> bid = building_id("310101013001", 2024, 1)
>>> bid
'3101010130012024000000012'
>>> validate_building_id(bid)
>>> room_id(bid, unit=2, floor=12, room=1203)
'3101010130012024000000012020121203'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import InvalidInput

BUILDING_ID_LENGTH = 25
ROOM_ID_LENGTH = 34
_BUILDING_RE = re.compile(r"^[0-9]{24}[0-9X]$")
_ROOM_RE = re.compile(r"^[0-9]{24}[0-9X][0-9]{9}$")


def mod11_2(digits: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character of a string of digits.

    The digit ``j`` places left of the check character has weight ``2**j mod 11``; the check ``c``
    makes the weighted sum congruent to 1 modulo 11. ``'X'`` stands for 10.

    >>> mod11_2("11010519491231002")  # the GB 11643 example
    'X'
    """
    if not digits.isdigit() or not digits.isascii():
        raise InvalidInput(f"check characters are computed over digits only, got {digits!r}")
    total = 0
    for char in digits:  # Horner's rule: ((d1*2 + d2)*2 + ...)*2
        total = ((total + int(char)) * 2) % 11
    check = (12 - total) % 11
    return "X" if check == 10 else str(check)


def building_id(community_code: str, birth_year: int, serial: int) -> str:
    """Compose a building ID from its birth community, birth year and serial."""
    if not (len(community_code) == 12 and community_code.isdigit()):
        raise InvalidInput(f"a community code has 12 digits, got {community_code!r}")
    if not 1000 <= birth_year <= 9999:
        raise InvalidInput(f"birth year must have 4 digits, got {birth_year!r}")
    if not 0 < serial < 10**8:
        raise InvalidInput(f"serial must be in 1..99999999, got {serial!r}")
    body = f"{community_code}{birth_year:04d}{serial:08d}"
    return body + mod11_2(body)


def is_valid_building_id(value: str) -> bool:
    """Whether ``value`` is a well-formed building ID with a correct check character."""
    return bool(_BUILDING_RE.match(value)) and mod11_2(value[:24]) == value[24]


def validate_building_id(value: str) -> None:
    """Raise :class:`InvalidInput` naming what is wrong with a building ID."""
    if not isinstance(value, str) or len(value) != BUILDING_ID_LENGTH:
        raise InvalidInput(f"a building ID has 25 characters, got {value!r}")
    if not _BUILDING_RE.match(value):
        raise InvalidInput(f"a building ID is 24 digits and a check character, got {value!r}")
    expected = mod11_2(value[:24])
    if value[24] != expected:
        raise InvalidInput(
            f"building ID {value!r} fails its check: last character {value[24]!r}, "
            f"expected {expected!r}"
        )


@dataclass(frozen=True)
class BuildingIdParts:
    """The fields of a building ID."""

    community_code: str
    birth_year: int
    serial: int
    check: str


def parse_building_id(value: str) -> BuildingIdParts:
    """Split a valid building ID into its fields."""
    validate_building_id(value)
    return BuildingIdParts(value[:12], int(value[12:16]), int(value[16:24]), value[24])


def room_id(building: str, *, unit: int = 0, floor: int, room: int) -> str:
    """Compose a room ID; ``floor`` ``-1``..``-9`` (basements) become ``901``..``909``."""
    validate_building_id(building)
    if not 0 <= unit <= 99:
        raise InvalidInput(f"unit must be in 0..99, got {unit!r}")
    if -9 <= floor <= -1:
        floor = 900 - floor
    if not (1 <= floor <= 899 or 901 <= floor <= 909):
        raise InvalidInput(f"floor must be 1..899 or a basement -1..-9, got {floor!r}")
    if not 0 < room <= 9999:
        raise InvalidInput(f"room must be in 1..9999, got {room!r}")
    return f"{building}{unit:02d}{floor:03d}{room:04d}"


@dataclass(frozen=True)
class RoomIdParts:
    """The fields of a room ID (floor as stored: basements are 901-909)."""

    building_id: str
    unit: str
    floor: str
    room: str

    @property
    def floor_number(self) -> int:
        """The floor as a signed number (``901`` → ``-1``)."""
        value = int(self.floor)
        return 900 - value if value > 900 else value


def parse_room_id(value: str) -> RoomIdParts:
    """Split a room ID into building, unit, floor and room, validating the building's check."""
    if not isinstance(value, str) or not _ROOM_RE.match(value):
        raise InvalidInput(
            f"a room ID is a building ID and 9 digits (34 characters), got {value!r}"
        )
    validate_building_id(value[:25])
    return RoomIdParts(value[:25], value[25:27], value[27:30], value[30:34])
