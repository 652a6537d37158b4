"""Division code tables (NBS 统计用区划代码) from the china-division CSV files (private).

Codes are read as strings and checked: digits only, the length of their level, a parent that
is their own prefix. A malformed row goes to the quarantine (``bad_code``,
``duplicate_source_id``, ``missing_name``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from address_registry._sources_validate import (
    Problems,
    RowProblems,
    attach,
    check_duplicates,
    split,
)
from common.errors import InvalidInput, NotFound

#: Length of a division code at each level (the 12-digit code is these, zero-padded).
LEVEL_LENGTH = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
LEVELS = tuple(LEVEL_LENGTH)
_DIGITS = re.compile(r"^[0-9]+$")

#: (file, level, parent column) of each level in a china-division directory.
_TABLES = [
    ("provinces.csv", "province", None),
    ("cities.csv", "city", "provinceCode"),
    ("areas.csv", "district", "cityCode"),
    ("streets.csv", "street", "areaCode"),
]


def read_codes(path: Path, problems: Problems, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV with every column as text (codes keep their leading digits)."""
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    frame = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        compression="gzip" if path.suffix == ".gz" else None,
    )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        problems.add(f"{path.name}: missing column(s) {missing} (present: {list(frame.columns)})")
    return frame


def code12(code: str | None) -> str | None:
    """Pad a division code to the 12-digit form.

    >>> code12("310101013")
    '310101013000'
    """
    return None if code is None else code.ljust(12, "0")


def check_code(code: object, level: str) -> str | None:
    """Return why ``code`` is not a code of ``level`` (``None`` when it is)."""
    length = LEVEL_LENGTH[level]
    if not isinstance(code, str) or not code:
        return f"no {level} code"
    if not _DIGITS.match(code):
        return f"{level} code {code!r} is not a string of digits"
    if len(code) != length:
        return f"{level} code {code!r} has {len(code)} digits, expected {length}"
    return None


def finish(
    frame: pd.DataFrame, *, layer: str, source: str, rows_in: int | None = None
) -> pd.DataFrame:
    """Check codes, parents, names and duplicates; split off the quarantine; attach the report."""
    frame = frame.reset_index(drop=True)
    rows = RowProblems(len(frame))
    code = frame["code"].astype(object)
    parent = frame["parent_code"].astype(object)
    level = frame["level"].astype(object)
    text = code.fillna("")
    length = level.map(LEVEL_LENGTH)
    digits = text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    good_length = text.str.len().eq(length)
    for pos in np.flatnonzero(~(digits & good_length).to_numpy()):
        rows.add(
            [int(pos)], "bad_code", check_code(code.iat[int(pos)], str(level.iat[int(pos)])) or ""
        )
    ptext = parent.fillna("")
    has_parent = level.ne("province")
    pdigits = ptext.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    prefix = pd.Series(
        [c.startswith(p) for c, p in zip(text, ptext, strict=True)], index=frame.index
    )
    for pos in np.flatnonzero((has_parent & ~pdigits).to_numpy()):
        rows.add(
            [int(pos)],
            "bad_code",
            f"parent code {parent.iat[int(pos)]!r} of {code.iat[int(pos)]!r} is not digits",
        )
    for pos in np.flatnonzero((has_parent & pdigits & ~prefix).to_numpy()):
        rows.add(
            [int(pos)],
            "bad_code",
            f"code {code.iat[int(pos)]!r} does not start with its parent {parent.iat[int(pos)]!r}",
        )
    no_name = frame["name"].isna().to_numpy()
    rows.add(np.flatnonzero(no_name), "missing_name", "no name")
    check_duplicates(frame[["code"]], frame, rows)
    ids = frame["code"].astype(object)
    clean, quarantine = split(frame, rows, layer=layer, source=source, source_ids=ids, raw=frame)
    clean["code12"] = [code12(c) for c in clean["code"]]
    attach(
        clean,
        layer=layer,
        source=source,
        crs_declared=None,
        crs_assumed=None,
        rows_in=len(frame) if rows_in is None else rows_in,
        quarantine=quarantine,
        repaired=[],
    )
    return clean


def divisions(directory: Path, province: str) -> pd.DataFrame:
    """Every level of one province: ``code, name, level, parent_code, code12``."""
    if not isinstance(province, str) or not re.fullmatch(r"[0-9]{2}", province):
        raise InvalidInput(f"province must be a 2-digit code string, got {province!r}")
    problems = Problems(str(directory))
    parts: list[pd.DataFrame] = []
    for filename, level, parent_column in _TABLES:
        required = ["code", "name"] + ([parent_column] if parent_column else [])
        if level != "province":
            required.append("provinceCode")
        table = read_codes(directory / filename, problems, required)
        problems.raise_if_any()
        if level == "province":
            table = table[table["code"] == province]
            if table.empty:
                raise NotFound(f"province {province!r} is not in {str(directory / filename)!r}")
            parent = pd.Series([None] * len(table), index=table.index, dtype=object)
        else:
            table = table[table["provinceCode"] == province]
            assert parent_column is not None
            parent = table[parent_column]
        parts.append(_rows(table, level, parent))
    villages = _village_file(directory, province)
    if villages is not None:
        table = read_codes(villages, problems, ["code", "name", "streetCode"])
        problems.raise_if_any()
        table = table[table["code"].str.startswith(province, na=False)]
        parts.append(_rows(table, "community", table["streetCode"]))
    frame = pd.concat(parts, ignore_index=True)
    return finish(frame, layer="divisions", source=str(directory))


def streets(path: Path) -> pd.DataFrame:
    """The national 乡镇/街道 table: ``code, name, level, parent_code, province_code, ...``."""
    problems = Problems(str(path))
    table = read_codes(path, problems, ["code", "name", "areaCode", "provinceCode", "cityCode"])
    problems.raise_if_any()
    frame = _rows(table, "street", table["areaCode"])
    frame["province_code"] = table["provinceCode"].to_numpy()
    frame["city_code"] = table["cityCode"].to_numpy()
    frame["district_code"] = table["areaCode"].to_numpy()
    return finish(frame, layer="streets", source=str(path))


def _rows(table: pd.DataFrame, level: str, parent: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": table["code"].astype(object).to_numpy(),
            "name": table["name"].astype(object).to_numpy(),
            "level": level,
            "parent_code": parent.astype(object).to_numpy(),
        }
    )


def _village_file(directory: Path, province: str) -> Path | None:
    """The 村/居委会 file for ``province``: a per-province subset, else the national file."""
    subset = sorted(directory.glob(f"villages_*_{province}0000.csv"))
    if subset:
        return subset[0]
    for name in ("villages.csv", "villages.csv.gz"):
        if (directory / name).exists():
            return directory / name
    return None
