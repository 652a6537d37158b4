"""Pseudonymisation of people: keyed hashes and masked forms; the HMAC secret.

Raw resident ID numbers, names and phone numbers never reach the store. An ID number is kept as
``HMAC-SHA256(secret, ID)`` (hex; for matching records across files) plus a masked form (first 6
and last 4 characters); a name as ``张*明``; a phone as ``138****5678`` plus its HMAC. The secret
comes from ``YIZHI_HMAC_SECRET`` and is never written to the database or the repository. In demo
mode only, a random secret is created once in ``var/hmac.key`` (mode 0600).

The same HMAC is computed in SQL (:func:`sql_hmac`) so that millions of rows are hashed inside
DuckDB; the scalar :func:`hmac_hex` gives identical answers.

>>> hmac_hex(b"k", "11010519491231002X") == hmac_hex(b"k", "11010519491231002x")
True
>>> mask_id_number("11010519491231002X")
'110105********002X'
>>> mask_name("张小明"), mask_name("李四"), mask_phone("13812345678")
('张*明', '李*', '138****5678')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from common.errors import InvalidInput
from common.settings import ROOT, get_settings

#: Where demo mode keeps its generated secret (outside the database, never committed).
DEMO_KEY_PATH = ROOT / "var" / "hmac.key"

_BLOCK = 64  # SHA-256 block size in bytes


def load_secret(*, demo: bool = False, key_path: Path | None = None) -> bytes:
    """Return the HMAC secret.

    Parameters
    ----------
    demo
        When no ``YIZHI_HMAC_SECRET`` is set, create (once) and use a random secret in
        ``key_path`` (default ``var/hmac.key``), readable by the owner only.
    key_path
        The demo key file.

    Raises
    ------
    InvalidInput
        When no secret is configured and demo mode is off.
    """
    configured = get_settings().hmac_secret.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    if not demo:
        raise InvalidInput(
            "no HMAC secret: set YIZHI_HMAC_SECRET (a long random string kept outside the "
            "database and the repository) before ingesting layers (people are pseudonymised with "
            "it), or use demo mode (--demo: a random key in var/hmac.key)"
        )
    path = key_path or DEMO_KEY_PATH
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # pragma: no cover - a concurrent creator won
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32))
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise InvalidInput(f"the demo HMAC key file {path} is empty; delete it to make a new one")
    return key.encode("ascii")


def _block_key(secret: bytes) -> bytes:
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    return key.ljust(_BLOCK, b"\0")


def hmac_hex(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` (stripped, upper-cased, UTF-8) as 64 hex characters."""
    return hmac.new(secret, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def sql_hmac(secret: bytes, expr: str) -> str:
    """A DuckDB expression computing :func:`hmac_hex` of the VARCHAR expression ``expr``.

    The key pads appear as literals in the query text only (never in a table); ``expr`` is
    normalised (trimmed, upper-cased) as in :func:`hmac_hex`. NULL stays NULL.
    """
    key = _block_key(secret)
    ipad = bytes(b ^ 0x36 for b in key).hex()
    opad = bytes(b ^ 0x5C for b in key).hex()
    return (
        f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(upper(trim({expr}))))))"
    )


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters of an ID number, star the rest."""
    value = value.strip().upper()
    if len(value) >= 15:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if len(value) >= 8:  # too short to be an ID number: show only its end
        return "*" * (len(value) - 4) + value[-4:]
    return "*" * len(value)


def mask_name(value: str) -> str:
    """Keep the first and (for 3+ characters) last character of a name: 张*明, 李*, 欧**华."""
    value = value.strip()
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****5678."""
    digits = normalize_phone(value)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 8:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def normalize_phone(value: str) -> str:
    """Digits only, without a leading ``+86``/``86`` country code on mobile numbers."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


# ---- the same in SQL (expressions over a VARCHAR expression) ----------------------------------


def sql_mask_id(expr: str) -> str:
    """SQL form of :func:`mask_id_number` over an already trimmed, upper-cased expression."""
    v = expr
    return (
        f"CASE WHEN length({v}) >= 15 THEN left({v}, 6) || repeat('*', length({v}) - 10) "
        f"|| right({v}, 4) WHEN length({v}) >= 8 THEN repeat('*', length({v}) - 4) "
        f"|| right({v}, 4) ELSE repeat('*', length({v})) END"
    )


def sql_mask_name(expr: str) -> str:
    """SQL form of :func:`mask_name`."""
    v = f"trim({expr})"
    return (
        f"CASE WHEN length({v}) <= 1 THEN repeat('*', length({v})) "
        f"WHEN length({v}) = 2 THEN left({v}, 1) || '*' "
        f"ELSE left({v}, 1) || repeat('*', length({v}) - 2) || right({v}, 1) END"
    )


def sql_normalize_phone(expr: str) -> str:
    """SQL form of :func:`normalize_phone`."""
    d = f"regexp_replace({expr}, '[^0-9]', '', 'g')"
    slow = f"CASE WHEN length({d}) = 13 AND starts_with({d}, '86') THEN substr({d}, 3) ELSE {d} END"
    # fast path: 11 plain digits (most mobiles) need no regular expression
    return (
        f"CASE WHEN length({expr}) = 11 AND TRY_CAST({expr} AS UBIGINT) IS NOT NULL "
        f"AND NOT contains({expr}, '+') THEN {expr} ELSE {slow} END"
    )


def sql_mask_phone(normalized: str) -> str:
    """SQL form of :func:`mask_phone` over an already normalised phone expression."""
    v = normalized
    return (
        f"CASE WHEN length({v}) >= 11 THEN left({v}, 3) || repeat('*', length({v}) - 7) "
        f"|| right({v}, 4) WHEN length({v}) >= 8 THEN repeat('*', length({v}) - 4) "
        f"|| right({v}, 4) ELSE repeat('*', length({v})) END"
    )


def sql_scrub(expr: str) -> str:
    """Star anything in free text that looks like an ID number or a mobile phone number.

    Used on the free-text fields of quarantined rows, where a misplaced column could otherwise
    carry a raw ID number into the store.
    """
    step = f"regexp_replace({expr}, '[0-9]{{17}}[0-9Xx]|[0-9]{{15}}', '<id>', 'g')"
    return f"regexp_replace({step}, '1[3-9][0-9]{{9}}', '<phone>', 'g')"
