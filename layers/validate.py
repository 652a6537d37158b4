"""Validators of the layers: scalar functions with known answers and the same rules in SQL.

- **Resident ID number** (GB 11643-1999): 17 digits and a check character, ISO 7064 MOD 11-2
  (``address_registry.ids.mod11_2``), ``'X'`` for 10; digits 7-14 are the birth date (a real date,
  not before 1900, not in the future); digit 17 odd = male. 15-digit first-generation numbers are
  refused (``bad_id_number``).
- **Unified social credit code** (GB 32100-2015): 18 characters of ``0-9 A-H J-N P-R T-U W-Y``
  (no I, O, Z, S, V); character values 0..30; weights ``3**i mod 31``
  (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28); check = ``(31 - sum mod 31) mod 31``.
- **Phone**: a mobile ``1[3-9]`` + 9 digits (a ``+86`` prefix is dropped) or a landline with its
  area code ``0AA(A)-NNNNNNN(N)``.

The ``sql_*`` functions return DuckDB boolean expressions over a VARCHAR expression; they
evaluate whole columns at once and agree with the scalar functions (tests check both).

>>> is_valid_id_number("11010519491231002X")
True
>>> uscc_check_char("91350100M000100Y4")
'3'
>>> is_valid_uscc("91350100M000100Y43"), is_valid_phone("021-63211234")
(True, True)
"""

from __future__ import annotations

import datetime as dt
import re

from address_registry.ids import mod11_2
from common.errors import InvalidInput

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))

_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUW-Y]{18}$")
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE_RE = re.compile(r"^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}$")

#: SQL regular expressions (RE2) of the same rules.
SQL_MOBILE = "1[3-9][0-9]{9}"
SQL_LANDLINE = "0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}"


def id_birth_date(value: str) -> dt.date | None:
    """The birth date inside an 18-character ID number, or None when it is not a date."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_number_problems(value: str, *, today: dt.date | None = None) -> list[str]:
    """Every reason slug an ID number fails (empty when it is valid)."""
    v = value.strip().upper()
    if not _ID_RE.match(v):
        return ["bad_id_number"]
    problems = []
    if mod11_2(v[:17]) != v[17]:
        problems.append("bad_id_check")
    born = id_birth_date(v)
    if born is None or born.year < 1900 or born > (today or dt.date.today()):
        problems.append("bad_id_birth_date")
    return problems


def is_valid_id_number(value: str) -> bool:
    """Whether ``value`` is a well-formed resident ID number with a correct check character."""
    return not id_number_problems(value)


def validate_id_number(value: str) -> None:
    """Raise :class:`InvalidInput` naming what is wrong with a resident ID number."""
    problems = id_number_problems(value)
    if problems:
        raise InvalidInput(f"resident ID number {mask_for_message(value)} fails: {problems}")


def mask_for_message(value: str) -> str:
    """An ID number safe to quote in an error message (first 6 and last 4)."""
    from layers.privacy import mask_id_number

    return repr(mask_id_number(value))


def uscc_check_char(body: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    if len(body) != 17 or any(ch not in USCC_ALPHABET for ch in body):
        raise InvalidInput(f"a credit code body is 17 characters of {USCC_ALPHABET}, got {body!r}")
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problems(value: str) -> list[str]:
    """Every reason slug a unified social credit code fails (empty when valid)."""
    v = value.strip().upper()
    if not _USCC_RE.match(v):
        return ["bad_uscc"]
    return [] if uscc_check_char(v[:17]) == v[17] else ["bad_uscc_check"]


def is_valid_uscc(value: str) -> bool:
    """Whether ``value`` is a well-formed unified social credit code with a correct check."""
    return not uscc_problems(value)


def is_valid_phone(value: str) -> bool:
    """Whether ``value`` is a mobile (``1[3-9]`` + 9 digits) or an area-coded landline."""
    v = value.strip().replace(" ", "")
    if v.startswith("+86"):
        v = v[3:]
    return bool(_MOBILE_RE.match(v) or _LANDLINE_RE.match(v))


# ---- SQL ----------------------------------------------------------------------------------------


def sql_id_check_ok(v: str, n: str | None = None) -> str:
    """SQL: the check character of the (well-formed, upper-cased) ID number ``v`` is right.

    ``n`` is an expression of its first 17 digits as a BIGINT (computed here when omitted).
    """
    n = n or f"TRY_CAST(left({v}, 17) AS BIGINT)"
    terms = " + ".join(f"{w} * (({n} // {10 ** (16 - i)}) % 10)" for i, w in enumerate(ID_WEIGHTS))
    # the check c satisfies sum + c == 1 (mod 11): c = (12 - sum mod 11) mod 11
    return f"substr('10X98765432', (({terms}) % 11) + 1, 1) = right({v}, 1)"


def sql_id_well_formed(v: str) -> str:
    """SQL: ``v`` is 17 digits and a digit or X."""
    return f"regexp_full_match({v}, '[0-9]{{17}}[0-9X]')"


def sql_id_birth(v: str) -> str:
    """SQL: the birth date inside ``v`` (NULL when not a date)."""
    return f"try_strptime(substr({v}, 7, 8), '%Y%m%d')::DATE"


def sql_uscc_well_formed(v: str) -> str:
    """SQL: ``v`` is 18 characters of the credit code alphabet."""
    return f"regexp_full_match({v}, '[0-9A-HJ-NPQRTUW-Y]{{18}}')"


def sql_uscc_check_ok(v: str) -> str:
    """SQL: the check character of the (well-formed) credit code ``v`` is right."""
    terms = " + ".join(
        f"{w} * (strpos('{USCC_ALPHABET}', substr({v}, {i + 1}, 1)) - 1)"
        for i, w in enumerate(USCC_WEIGHTS)
    )
    return f"substr('{USCC_ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1) = right({v}, 1)"


def sql_phone_ok(normalized: str, raw: str) -> str:
    """SQL: a mobile (normalised digits) or a landline (raw text without spaces) is well formed."""
    return (
        f"(regexp_full_match({normalized}, '{SQL_MOBILE}') OR "
        f"regexp_full_match(replace({raw}, ' ', ''), '{SQL_LANDLINE}'))"
    )


def sql_date(v: str) -> str:
    """SQL: parse ``YYYY-MM-DD``, ``YYYYMMDD`` or ``YYYY/MM/DD`` (NULL when none fits)."""
    return (
        f"coalesce(TRY_CAST({v} AS DATE), try_strptime({v}, '%Y%m%d')::DATE, "
        f"try_strptime({v}, '%Y/%m/%d')::DATE)"
    )


def sql_timestamp(v: str) -> str:
    """SQL: parse an ISO timestamp (``YYYY-MM-DD HH:MM[:SS]``, ``T`` allowed) or NULL."""
    return f"coalesce(TRY_CAST({v} AS TIMESTAMP), try_strptime({v}, '%Y/%m/%d %H:%M:%S'))"
