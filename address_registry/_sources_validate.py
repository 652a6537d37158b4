"""Boundary checks shared by the loaders of :mod:`address_registry.sources` (private).

Two kinds of problem are told apart:

* a problem of the whole file (unknown or projected CRS with no ``crs=``, a missing column,
  coordinates that cannot be longitude/latitude) is collected with every other such problem and
  raised once as :class:`common.errors.InvalidInput`;
* a problem of one row (no geometry, empty or unrepairable geometry, wrong geometry type, missing
  or duplicate ID, malformed code) sends that row to the quarantine with a stable reason slug,
  the same slugs as the ``registry_quarantine`` table.

Every input row ends either in the clean frame or in the quarantine, exactly once.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from common import coords
from common.coords import SUPPORTED_SYSTEMS, CoordSystem, is_lonlat, system_name
from common.errors import InvalidInput

#: Geometry type families: what a loader may accept.
POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
LINEAR = frozenset({"LineString", "MultiLineString"})
PUNTAL = frozenset({"Point", "MultiPoint"})
ANY_GEOMETRY = POLYGONAL | LINEAR | PUNTAL

QUARANTINE_COLUMNS = ["layer", "source", "row", "source_id", "reason", "detail", "raw", "geometry"]


@dataclass(eq=False)
class LoadReport:
    """What a loader read, kept and quarantined.

    Attributes
    ----------
    layer
        The kind of thing loaded (``buildings``, ``roads`` ...).
    source
        The file (or directory) read.
    crs_declared
        The CRS the file declared (``None`` when it declared none).
    crs_assumed
        The CRS the coordinates were taken to be in (``crs=`` when given, else the declared one).
    rows_in
        Rows read from the source.
    quarantine
        One row per rejected input row: ``layer, source, row, source_id, reason, detail, raw,
        geometry`` (a GeoDataFrame in EPSG:4326; ``geometry`` is ``None`` for code tables).
    repaired
        ``source_id`` of every row whose geometry was repaired with :func:`shapely.make_valid`.

    Notes
    -----
    ``rows_in == rows_out + len(quarantine)`` always holds (``rows_out`` is the length of the
    frame the loader returned). The report is immutable in practice and is shared, not copied,
    when pandas propagates ``DataFrame.attrs``.
    """

    layer: str
    source: str
    crs_declared: str | None
    crs_assumed: str | None
    rows_in: int
    rows_out: int
    quarantine: pd.DataFrame
    repaired: list[str] = field(default_factory=list)

    def __deepcopy__(self, memo: dict[int, Any]) -> LoadReport:
        # pandas deep-copies ``attrs`` on every operation; the report never changes, so share it.
        return self

    def summary(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict (reasons counted by slug)."""
        reasons = self.quarantine["reason"].value_counts().to_dict() if len(self.quarantine) else {}
        return {
            "layer": self.layer,
            "source": self.source,
            "crs_declared": self.crs_declared,
            "crs_assumed": self.crs_assumed,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "quarantined": len(self.quarantine),
            "repaired": len(self.repaired),
            "reasons": {str(k): int(v) for k, v in reasons.items()},
        }


class Problems:
    """Collects file-level problems and raises them once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem."""
        self.items.append(message)

    def raise_if_any(self) -> None:
        """Raise :class:`InvalidInput` listing every problem recorded, if any."""
        if self.items:
            joined = "; ".join(self.items)
            raise InvalidInput(
                f"cannot load {self.source!r}: {joined}", source=self.source, problems=self.items
            )


class RowProblems:
    """Collects per-row problems; the first reason recorded for a row is its reason."""

    def __init__(self, n: int) -> None:
        self.reason: list[str | None] = [None] * n
        self.detail: list[list[str]] = [[] for _ in range(n)]

    def add(self, rows: Iterable[int], reason: str, detail: str | Sequence[str]) -> None:
        """Record ``reason`` for each of ``rows`` (``detail`` one string or one per row)."""
        for i, row in enumerate(rows):
            if self.reason[row] is None:
                self.reason[row] = reason
            self.detail[row].append(detail if isinstance(detail, str) else detail[i])

    def bad_mask(self) -> np.ndarray:
        """Return a boolean array: True for rows with at least one problem."""
        return np.array([r is not None for r in self.reason], dtype=bool)


# --------------------------------------------------------------------------- reading


def vsi_path(path: Path) -> str:
    """Return the path GDAL should open (``/vsigzip/`` for ``.gz`` files)."""
    text = str(path)
    return f"/vsigzip/{text}" if text.endswith(".gz") and not text.startswith("/vsi") else text


def read_vector(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, keeping every property column as read."""
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    import pyogrio

    with warnings.catch_warnings():
        # GDAL's GeoJSON driver warns when an ``id`` property repeats (Tilezen gives a building
        # polygon, its label point and its address point the same OSM id). Duplicates are
        # checked, and quarantined, by the loaders themselves.
        warnings.filterwarnings(
            "ignore", message="Several features with id", category=RuntimeWarning
        )
        frame = pyogrio.read_dataframe(vsi_path(path), layer=layer)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(f"{str(path)!r} has no geometry column", source=str(path))
    return frame


def declared_crs(frame: gpd.GeoDataFrame) -> str | None:
    """Return the declared CRS as ``AUTH:CODE`` (or WKT-ish name), ``None`` when undeclared."""
    if frame.crs is None:
        return None
    crs = CRS.from_user_input(frame.crs)
    authority = crs.to_authority(min_confidence=70)
    if authority:
        return f"{authority[0]}:{authority[1]}"
    return str(crs.name)


def _is_wgs84_compatible(crs_text: str | None) -> bool:
    """Geographic CRSs taken as WGS84 without conversion (CGCS2000 differs by centimetres)."""
    return crs_text is not None and is_lonlat(crs_text)


def _named_system(crs: str) -> CoordSystem | None:
    """The system of :mod:`common.coords` that ``crs`` names, if any."""
    try:
        return system_name(crs)
    except InvalidInput:
        return None


def to_wgs84(
    frame: gpd.GeoDataFrame, *, crs: str | None, problems: Problems
) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    """Bring ``frame`` to EPSG:4326, or record why it cannot be.

    Parameters
    ----------
    frame
        The frame as read (its ``crs`` is what the file declared).
    crs
        What the caller says the coordinates are: ``None`` (trust the file), ``"wgs84"``,
        ``"gcj02"``, ``"bd09"`` or anything :class:`pyproj.CRS` understands (``"EPSG:4547"``).
    problems
        Where file-level problems are recorded.

    Returns
    -------
    tuple
        The converted frame, the declared CRS and the CRS assumed.
    """
    declared = declared_crs(frame)
    if crs is None:
        if declared is None:
            problems.add(
                "the file declares no CRS; say what its coordinates are with crs= "
                "('wgs84', 'gcj02', 'bd09' or an EPSG code such as 'EPSG:4547')"
            )
            return frame, declared, None
        if not _is_wgs84_compatible(declared):
            problems.add(
                f"declared CRS {declared!r} is not WGS84-compatible; pass crs={declared!r} "
                "to convert it to EPSG:4326"
            )
            return frame, declared, declared
        return _geographic(frame, declared, problems), declared, declared

    named = _named_system(crs)
    if named in ("wgs84", "gcj02", "bd09"):  # CGCS2000 goes to PROJ: EPSG:4490
        assumed = "EPSG:4326" if named == "wgs84" else str(named)
        if declared is not None and not _is_wgs84_compatible(declared):
            problems.add(
                f"crs={crs!r} contradicts the declared CRS {declared!r} "
                "(GCJ-02, BD-09 and WGS84 are longitude/latitude)"
            )
            return frame, declared, assumed
        out = _geographic(frame.set_crs("EPSG:4326", allow_override=True), assumed, problems)
        if assumed in ("gcj02", "bd09") and not problems.items:
            out = coords.to_wgs84(out, assumed)
        return out, declared, assumed

    try:
        given = CRS.from_user_input(crs)
    except CRSError:
        problems.add(
            f"crs={crs!r} is not a CRS that PROJ knows nor one of "
            + ", ".join(repr(name) for name in SUPPORTED_SYSTEMS)
        )
        return frame, declared, crs
    given_text = declared_crs(gpd.GeoDataFrame(geometry=[], crs=given)) or crs
    # A GeoJSON file always "declares" EPSG:4326, so overriding that is allowed; a projected
    # declaration that disagrees with crs= is refused.
    if declared is not None and declared != given_text and not _is_wgs84_compatible(declared):
        problems.add(f"crs={crs!r} contradicts the declared CRS {declared!r}")
        return frame, declared, given_text
    out = frame.set_crs(given, allow_override=True)
    if given.is_geographic:
        out = _geographic(out, given_text, problems)
        if problems.items:
            return out, declared, given_text
    return out.to_crs("EPSG:4326"), declared, given_text


def _geographic(frame: gpd.GeoDataFrame, name: str, problems: Problems) -> gpd.GeoDataFrame:
    """Check that coordinates can be longitude/latitude; label the frame EPSG:4326."""
    geoms = frame.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if present.any():
        minx, miny, maxx, maxy = shapely.total_bounds(geoms[present])
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            problems.add(
                f"coordinates cannot be longitude/latitude in {name} (bounds "
                f"{minx:.1f}, {miny:.1f}, {maxx:.1f}, {maxy:.1f}); the file is projected: "
                "pass crs= with its real CRS"
            )
    return frame.set_crs("EPSG:4326", allow_override=True)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], problems: Problems) -> None:
    """Record a problem for every required column that is absent."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        problems.add(f"missing column(s) {missing} (columns present: {list(frame.columns)})")


# --------------------------------------------------------------------------- row checks


def id_string(value: Any) -> str | None:
    """One ID as a string: integers without ``.0``, missing values as ``None``.

    >>> id_string(40778072.0), id_string(" 31 "), id_string(float("nan"))
    ('40778072', '31', None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def id_strings(values: pd.Series) -> pd.Series:
    """Turn an ID column into strings (see :func:`id_string`)."""
    return pd.Series([id_string(v) for v in values], index=values.index, dtype=object)


def check_geometry(
    frame: gpd.GeoDataFrame, allowed: frozenset[str], rows: RowProblems
) -> tuple[np.ndarray, list[int]]:
    """Check geometry presence, emptiness, validity and type; repair what keeps its family.

    Returns
    -------
    tuple
        The (possibly repaired) geometry array and the positions of repaired rows.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object).copy()
    missing = shapely.is_missing(geoms)
    rows.add(np.flatnonzero(missing), "missing_geometry", "the feature has no geometry")
    present = ~missing
    empty = present & shapely.is_empty(geoms)
    rows.add(np.flatnonzero(empty), "empty_geometry", "the geometry is empty")
    types = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    wrong = present & ~empty & ~np.isin(types, sorted(allowed))
    rows.add(
        np.flatnonzero(wrong),
        "unexpected_geometry_type",
        [f"geometry type {t!r} not among {sorted(allowed)}" for t in types[wrong]],
    )
    repaired: list[int] = []
    check = present & ~empty & ~wrong
    invalid = np.flatnonzero(check & ~shapely.is_valid(geoms))
    for i in invalid:
        reason = shapely.is_valid_reason(geoms[i])
        fixed = _repair(geoms[i])
        if fixed is None:
            rows.add(
                [int(i)], "invalid_geometry", f"{reason}; make_valid changed the geometry type"
            )
        else:
            geoms[i] = fixed
            repaired.append(int(i))
    return geoms, repaired


def _repair(geom: Any) -> Any | None:
    """Return a valid geometry of the same family, or ``None`` when there is none."""
    fixed = shapely.make_valid(geom)
    family = _family(geom.geom_type)
    if _family(fixed.geom_type) == family and not fixed.is_empty:
        return fixed
    if fixed.geom_type == "GeometryCollection":
        parts = [p for p in shapely.get_parts(fixed) if _family(p.geom_type) == family]
        if parts:
            merged = shapely.union_all(parts) if family == "polygon" else shapely.unary_union(parts)
            if _family(merged.geom_type) == family and not merged.is_empty and merged.is_valid:
                return merged
    return None


def _family(geom_type: str) -> str:
    if geom_type in POLYGONAL:
        return "polygon"
    if geom_type in LINEAR:
        return "line"
    if geom_type in PUNTAL:
        return "point"
    return "other"


def check_duplicates(
    keys: pd.DataFrame, content: pd.DataFrame | gpd.GeoDataFrame, rows: RowProblems
) -> None:
    """Quarantine rows whose key repeats.

    An exact repeat (same key and same ``content``: geometry and properties) keeps its first
    row and quarantines the others as ``duplicate_row``; rows that share a key but differ are all
    quarantined as ``duplicate_source_id``, since there is no telling which one is right.
    Rows whose key has a missing part are left to the missing-ID check.
    """
    complete = keys.notna().all(axis=1).to_numpy()
    key_text = pd.Series(
        ["|".join(map(str, t)) for t in keys.itertuples(index=False, name=None)], dtype=object
    )
    dup = key_text.duplicated(keep=False).to_numpy() & complete
    if not dup.any():
        return
    positions = np.flatnonzero(dup)
    groups: dict[str, list[int]] = {}
    for pos in positions:
        groups.setdefault(str(key_text.iat[int(pos)]), []).append(int(pos))
    for key, members in groups.items():
        shown = key.split("|")[0]
        prints = set(fingerprints(content.iloc[members]))
        if len(prints) == 1:
            rows.add(members[1:], "duplicate_row", f"exact repeat of row {members[0]} ({shown!r})")
        else:
            rows.add(
                members,
                "duplicate_source_id",
                f"source_id {shown!r} appears on rows {members} with different content",
            )


def fingerprints(frame: gpd.GeoDataFrame | pd.DataFrame) -> pd.Series:
    """A string per row that is equal for exact repeats (geometry WKB + properties)."""
    props = frame.drop(columns=[c for c in ["geometry"] if c in frame.columns])
    text = pd.Series(
        [repr(t) for t in props.itertuples(index=False, name=None)], index=frame.index, dtype=object
    )
    if isinstance(frame, gpd.GeoDataFrame):
        wkb = pd.Series(
            [g.wkb_hex if g is not None else "" for g in frame.geometry.values], index=frame.index
        )
        text = text + "\x1e" + wkb
    return text


def raw_json(frame: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """The properties of the given rows as JSON strings (for the quarantine ``raw`` column)."""
    props = frame.drop(columns=[c for c in ["geometry"] if c in frame.columns])
    out = []
    for pos in positions:
        record = {
            k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in props.iloc[int(pos)].items()
            if not _is_na(v)
        }
        out.append(json.dumps(record, ensure_ascii=False, default=str))
    return out


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def split(
    frame: pd.DataFrame,
    rows: RowProblems,
    *,
    layer: str,
    source: str,
    source_ids: pd.Series,
    raw: pd.DataFrame,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Split ``frame`` into the clean rows and the quarantine."""
    bad = rows.bad_mask()
    positions = np.flatnonzero(bad)
    geometry = (
        list(frame.geometry.values[bad])
        if isinstance(frame, gpd.GeoDataFrame)
        else [None] * len(positions)
    )
    quarantine = gpd.GeoDataFrame(
        {
            "layer": [layer] * len(positions),
            "source": [source] * len(positions),
            "row": positions.astype("int64"),
            "source_id": pd.Series([source_ids.iat[int(p)] for p in positions], dtype=object),
            "reason": [rows.reason[int(p)] for p in positions],
            "detail": ["; ".join(rows.detail[int(p)]) for p in positions],
            "raw": raw_json(raw, positions),
        },
        geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"),
    )
    clean = frame.iloc[np.flatnonzero(~bad)].reset_index(drop=True)
    return clean, quarantine[QUARANTINE_COLUMNS]


def attach(
    frame: pd.DataFrame,
    *,
    layer: str,
    source: str,
    crs_declared: str | None,
    crs_assumed: str | None,
    rows_in: int,
    quarantine: pd.DataFrame,
    repaired: list[str],
) -> LoadReport:
    """Attach a :class:`LoadReport` to ``frame.attrs['load']`` and return it."""
    report = LoadReport(
        layer=layer,
        source=source,
        crs_declared=crs_declared,
        crs_assumed=crs_assumed,
        rows_in=rows_in,
        rows_out=len(frame),
        quarantine=quarantine,
        repaired=repaired,
    )
    if report.rows_in != report.rows_out + len(quarantine):  # pragma: no cover - invariant
        raise AssertionError(f"{layer}: rows_in {rows_in} != {len(frame)} + {len(quarantine)}")
    frame.attrs["load"] = report
    return report
