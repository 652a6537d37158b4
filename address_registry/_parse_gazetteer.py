"""Division-name gazetteer used by the normaliser and the parser's features.

Names come from the national division codes shipped under ``data/divisions/`` (provinces,
cities, areas = districts/counties, streets = streets/towns); when that folder is missing the copy
in ``../shared/data/china-division`` is read. Each full name is also stored in a short form with
its administrative suffix stripped (浙江省 → 浙江, 杭州市 → 杭州, 余杭区 → 余杭, 闲林街道 → 闲林)
when at least two characters remain. The gazetteer only *hints* at admin names: the parser's
model decides, from context, whether 五常 in 五常大道 is a road or a county.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from common.errors import MissingDependency
from common.settings import get_settings

#: Level letters: province, city, district (county-level), town (street/town/township).
LEVELS = ("P", "C", "D", "T")

_PLACEHOLDERS = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县"}
)
_SUFFIX = {
    "P": re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$"),
    "C": re.compile(r"(?:.{1,8}族(?:.{1,3}族)*自治州|自治州|地区|盟|市)$"),
    "D": re.compile(r"(?:.{1,8}族(?:.{1,3}族)*自治县|自治县|自治旗|新区|区|县|市|旗)$"),
    "T": re.compile(r"(?:街道办事处|街道|镇|乡|苏木|地区办事处)$"),
}
#: Former names still common in real addresses (kept as written by the parser; the resolver
#: maps them through dated aliases). They only feed the gazetteer features.
_FORMER = {
    "D": (
        "下城区",
        "江干区",
        "江东区",
        "玉环县",
        "萧山市",
        "余杭市",
        "富阳市",
        "临安市",
        "闸北区",
        "卢湾区",
        "南汇区",
    ),
}


def divisions_dir() -> Path:
    """Return the folder holding ``provinces.csv``, ``cities.csv``, ``areas.csv``, ``streets.csv``.

    Raises
    ------
    MissingDependency
        When neither ``data/divisions`` nor ``../shared/data/china-division`` exists.
    """
    settings = get_settings()
    for path in (
        settings.data_dir / "divisions",
        settings.shared_dir / "data" / "china-division",
    ):
        if (path / "areas.csv").is_file():
            return path
    raise MissingDependency(
        f"division names not found in {settings.data_dir / 'divisions'!s}: "
        "copy the national division CSVs there"
    )


def short_form(name: str, level: str) -> str | None:
    """Return ``name`` without its administrative suffix, or ``None`` when too short.

    >>> short_form("浙江省", "P"), short_form("余杭区", "D"), short_form("闲林街道", "T")
    ('浙江', '余杭', '闲林')
    >>> short_form("城区", "D") is None
    True
    """
    short = _SUFFIX[level].sub("", name)
    if short == name or len(short) < 2:
        return None
    return short


def _read_names(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["name"].strip() for row in csv.DictReader(fh)]


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, frozenset[str]]:
    """Return ``{name: {tags}}``: tags are a level letter, upper case full, lower case short.

    >>> sorted(gazetteer()["杭州市"]), sorted(gazetteer()["杭州"])
    (['C'], ['c'])
    """
    folder = divisions_dir()
    files = {"P": "provinces.csv", "C": "cities.csv", "D": "areas.csv", "T": "streets.csv"}
    tags: dict[str, set[str]] = {}
    for level, filename in files.items():
        names = _read_names(folder / filename) + list(_FORMER.get(level, ()))
        for name in names:
            if not name or name in _PLACEHOLDERS:
                continue
            tags.setdefault(name, set()).add(level)
            short = short_form(name, level)
            if short is not None:
                tags.setdefault(short, set()).add(level.lower())
    return {name: frozenset(t) for name, t in tags.items()}


@lru_cache(maxsize=1)
def name_prefixes() -> frozenset[str]:
    """Every prefix of every gazetteer name (stops the dictionary scan early)."""
    return frozenset(name[:k] for name in gazetteer() for k in range(1, len(name) + 1))
