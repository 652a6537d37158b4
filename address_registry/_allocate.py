"""Building ID allocation through the ``id_serials`` table.

A serial is never reused within its birth community: the table keeps the last serial handed out
per community (across all birth years), and every allocation moves it forward. Callers that run
inside their own transaction get the allocation inside it; otherwise each call is atomic on its
own (one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

from address_registry.ids import building_id
from common.errors import InvalidInput

#: The largest serial a building ID can hold (8 digits).
MAX_SERIAL = 10**8 - 1


def _check_request(community_code: str, birth_year: int, n: int) -> None:
    if not (
        isinstance(community_code, str) and len(community_code) == 12 and community_code.isdigit()
    ):
        raise InvalidInput(f"a community code has 12 digits, got {community_code!r}")
    if not 1000 <= int(birth_year) <= 9999:
        raise InvalidInput(f"birth year must have 4 digits, got {birth_year!r}")
    if n < 0:
        raise InvalidInput(f"cannot allocate a negative number of IDs, got n={n!r}")


def reserve_serials(con: duckdb.DuckDBPyConnection, community_code: str, n: int) -> int:
    """Move the serial counter of ``community_code`` forward by ``n``; return the first serial.

    The serials ``first .. first + n - 1`` belong to the caller and will never be handed out again.
    """
    row = con.execute(
        """
        INSERT INTO id_serials (birth_community_code, last_serial) VALUES (?, ?)
        ON CONFLICT (birth_community_code)
        DO UPDATE SET last_serial = id_serials.last_serial + excluded.last_serial
        RETURNING last_serial
        """,
        [community_code, n],
    ).fetchone()
    assert row is not None
    last = int(row[0])
    if last > MAX_SERIAL:
        raise InvalidInput(
            f"community {community_code!r} has run out of building serials "
            f"(asked for {n}, counter would reach {last} > {MAX_SERIAL})"
        )
    return last - n + 1


def allocate_building_ids(
    con: duckdb.DuckDBPyConnection, community_code: str, birth_year: int, n: int
) -> list[str]:
    """Allocate ``n`` new building IDs born in ``community_code`` in ``birth_year``.

    Parameters
    ----------
    con
        A store connection (the ``id_serials`` table of migration 0001).
    community_code
        The 12-digit birth community code.
    birth_year
        The 4-digit birth year written into the IDs.
    n
        How many IDs; ``0`` returns an empty list and changes nothing.

    Returns
    -------
    list[str]
        ``n`` fresh 25-character IDs with consecutive serials, in increasing order.

    Raises
    ------
    InvalidInput
        For a malformed code or year, a negative ``n`` or an exhausted serial range.
    """
    _check_request(community_code, birth_year, n)
    if n == 0:
        return []
    first = reserve_serials(con, community_code, n)
    return [building_id(community_code, int(birth_year), s) for s in range(first, first + n)]


def allocate_building_ids_bulk(
    con: duckdb.DuckDBPyConnection, counts: Mapping[str, int], birth_year: int
) -> dict[str, np.ndarray]:
    """Allocate IDs for many communities at once; vectorised over the IDs.

    Parameters
    ----------
    con
        A store connection.
    counts
        How many new IDs each birth community needs.
    birth_year
        The birth year of all of them.

    Returns
    -------
    dict[str, numpy.ndarray]
        Per community, an array of ``counts[code]`` IDs (object dtype) in increasing serial order.
    """
    wanted = {str(k): int(v) for k, v in counts.items()}
    for code, n in wanted.items():
        _check_request(code, birth_year, n)
    out: dict[str, np.ndarray] = {c: np.empty(0, dtype=object) for c, n in wanted.items() if n == 0}
    ask = pd.DataFrame({"code": sorted(c for c, n in wanted.items() if n > 0)})
    if ask.empty:
        return out
    ask["n"] = ask["code"].map(wanted).astype("int64")
    con.register("_serial_requests", ask)
    try:
        rows = con.execute(
            """
            INSERT INTO id_serials (birth_community_code, last_serial)
            SELECT code, n FROM _serial_requests
            ON CONFLICT (birth_community_code)
            DO UPDATE SET last_serial = id_serials.last_serial + excluded.last_serial
            RETURNING birth_community_code, last_serial
            """
        ).fetchall()
    finally:
        con.unregister("_serial_requests")
    for code, last in rows:
        n = wanted[code]
        if last > MAX_SERIAL:
            raise InvalidInput(
                f"community {code!r} has run out of building serials "
                f"(asked for {n}, counter would reach {last} > {MAX_SERIAL})"
            )
        out[code] = compose_ids(code, birth_year, np.arange(last - n + 1, last + 1, dtype=np.int64))
    return out


_WEIGHTS = np.array([pow(2, 24 - i, 11) for i in range(24)], dtype=np.int64)


def compose_ids(community_code: str, birth_year: int, serials: np.ndarray) -> np.ndarray:
    """Vectorised :func:`~address_registry.ids.building_id` for one community and year."""
    prefix = f"{community_code}{int(birth_year):04d}"
    head = np.array([int(c) for c in prefix], dtype=np.int64)
    head_sum = int(head @ _WEIGHTS[:16])
    digits = (serials[:, None] // 10 ** np.arange(7, -1, -1, dtype=np.int64)) % 10
    total = (head_sum + digits @ _WEIGHTS[16:]) % 11
    check = (12 - total) % 11
    check_chr = np.where(check == 10, "X", check.astype(str))
    body = np.char.add(prefix, np.char.zfill(serials.astype(str), 8))
    ids = np.char.add(body, check_chr).astype(object)
    return ids
