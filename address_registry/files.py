"""Batch resolution of a table of addresses: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or Parquet
in, the same rows out with ``building_id, room_id, confidence, level, reason``.

Every row comes out, in order: a row that does not resolve has empty IDs and its reason
(empty, too_long, binary, not_text, not_an_address, no_match, ambiguous, admin_only, road_only,
doorplate_nearest). Used by ``yizhi resolve FILE --column address``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from address_registry.resolve import MAX_BATCH, resolve_many
from common.errors import InvalidInput

#: Columns added to every row.
RESULT_COLUMNS = ("building_id", "room_id", "confidence", "level", "reason")
_ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: Path) -> Any:
    """A pandas DataFrame of ``path`` (every column as text); CSV encodings are tried in turn."""
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise InvalidInput(f"{path}: expected a .csv or .parquet file, got {path.suffix!r}")
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    errors = []
    for encoding in _ENCODINGS:
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep)
        except UnicodeDecodeError as exc:
            errors.append(f"{encoding}: {exc.reason}")
    raise InvalidInput(f"{path}: not UTF-8 nor GBK text ({'; '.join(errors)})")


def write_table(frame: Any, path: Path) -> None:
    """Write ``frame`` as Parquet (``.parquet``) or CSV in UTF-8 with a BOM (Excel opens it)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8-sig")


def resolve_frame(
    con: duckdb.DuckDBPyConnection,
    frame: Any,
    column: str,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Any, dict[str, int]]:
    """``frame`` with the result columns added, and the count of rows per reason.

    Raises
    ------
    InvalidInput
        When ``column`` is not a column of ``frame`` or a result column already is.
    """
    if column not in frame.columns:
        raise InvalidInput(
            f"no column {column!r} in the table; columns are {list(map(str, frame.columns))}"
        )
    clash = [c for c in RESULT_COLUMNS if c in frame.columns]
    if clash:
        raise InvalidInput(f"the table already has result columns {clash}: rename them first")
    values = frame[column].tolist()
    rows: dict[str, list[Any]] = {c: [] for c in RESULT_COLUMNS}
    for start in range(0, len(values), MAX_BATCH):
        for answer in resolve_many(con, values[start : start + MAX_BATCH], on_progress=on_progress):
            top = answer["candidates"][0] if answer["candidates"] else {}
            rows["building_id"].append(top.get("building_id"))
            rows["room_id"].append(top.get("room_id"))
            rows["confidence"].append(top.get("confidence"))
            rows["level"].append(top.get("level"))
            rows["reason"].append(answer["reason"])
    out = frame.copy()
    for c in RESULT_COLUMNS:
        out[c] = rows[c]
    counts = Counter(r or "resolved" for r in rows["reason"])
    return out, dict(sorted(counts.items()))
