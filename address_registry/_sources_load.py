"""The one pipeline every vector loader runs (private; see :mod:`address_registry.sources`).

read → CRS to EPSG:4326 (file problems raised once) → per-row checks (ID, geometry, duplicates)
→ normalised columns → clean frame + quarantine, with a :class:`LoadReport` in
``frame.attrs["load"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from address_registry._sources_validate import (
    Problems,
    RowProblems,
    attach,
    check_duplicates,
    check_geometry,
    id_strings,
    read_vector,
    require_columns,
    split,
    to_wgs84,
)

#: Turns the frame as read (plus its string ``source_id``) into the normalised columns.
Normaliser = Callable[[gpd.GeoDataFrame, pd.Series], pd.DataFrame]
#: Extra per-row checks: (frame as read, source ids, row problems) -> None.
RowCheck = Callable[[gpd.GeoDataFrame, pd.Series, RowProblems], None]


def geometry_family(frame: gpd.GeoDataFrame) -> pd.Series:
    """``polygon`` / ``line`` / ``point`` per row (``""`` without geometry)."""
    types = pd.Series(
        [g.geom_type if g is not None else "" for g in frame.geometry.values], index=frame.index
    )
    return types.str.replace("Multi", "", regex=False).map(
        {"Polygon": "polygon", "LineString": "line", "Point": "point"}
    )


def load_vector(
    path: Path,
    *,
    layer_name: str,
    allowed: frozenset[str],
    id_column: str | None,
    normalise: Normaliser,
    crs: str | None = None,
    layer: str | None = None,
    required: Sequence[str] = (),
    key_extra: Sequence[str] = (),
    synthesise_ids: bool = False,
    row_check: RowCheck | None = None,
) -> gpd.GeoDataFrame:
    """Read, check and normalise one vector file.

    Parameters
    ----------
    path
        The file (GeoJSON, GeoPackage, Shapefile, ``.gz`` via ``/vsigzip/``).
    layer_name
        The kind of thing loaded, recorded in the report and the quarantine.
    allowed
        The geometry types a row may have.
    id_column
        The column holding the source ID (``None``: IDs are synthesised).
    normalise
        Builds the normalised columns from the frame as read.
    crs
        What the coordinates are when the file does not say (or says wrongly).
    layer
        The layer of a multi-layer file.
    required
        Columns that must exist besides ``id_column``.
    key_extra
        Columns (of the normalised frame, or ``"_family"`` for the geometry family) that,
        with ``source_id``, identify a feature: a duplicate is a repeat of the whole key.
    synthesise_ids
        Give rows without an ID the ID ``"<layer_name>:<row>"`` instead of quarantining them.
    row_check
        Extra per-row checks (codes, for instance).

    Returns
    -------
    geopandas.GeoDataFrame
        The clean rows in EPSG:4326, with the report in ``attrs["load"]``.
    """
    source = str(path)
    raw = read_vector(Path(path), layer=layer)
    problems = Problems(source)
    frame, declared, assumed = to_wgs84(raw, crs=crs, problems=problems)
    require_columns(frame, [*([id_column] if id_column else []), *required], problems)
    problems.raise_if_any()

    n = len(frame)
    frame = frame.reset_index(drop=True)
    rows = RowProblems(n)
    if id_column is None:
        ids = pd.Series([f"{layer_name}:{i}" for i in range(n)], dtype=object)
    else:
        ids = id_strings(frame[id_column])
        missing = ids.isna().to_numpy()
        if synthesise_ids:
            ids = pd.Series(
                [
                    f"{layer_name}:{i}" if gone else v
                    for i, (v, gone) in enumerate(zip(ids, missing, strict=True))
                ],
                dtype=object,
            )
        else:
            rows.add(
                np.flatnonzero(missing),
                "missing_source_id",
                f"no value in the ID column {id_column!r}",
            )

    geoms, repaired_pos = check_geometry(frame, allowed, rows)
    if row_check is not None:
        row_check(frame, ids, rows)
    out = normalise(frame, ids)
    out.insert(0, "source_id", ids.to_numpy())
    keys = pd.DataFrame({"source_id": ids})
    for column in key_extra:
        keys[column] = geometry_family(frame) if column == "_family" else out[column]
    check_duplicates(keys, frame, rows)

    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
    clean, quarantine = split(
        result, rows, layer=layer_name, source=source, source_ids=ids, raw=frame
    )
    bad = rows.bad_mask()
    repaired = [str(ids.iat[int(i)]) for i in repaired_pos if not bad[i]]
    clean = gpd.GeoDataFrame(clean, geometry="geometry", crs="EPSG:4326")
    attach(
        clean,
        layer=layer_name,
        source=source,
        crs_declared=declared,
        crs_assumed=assumed,
        rows_in=n,
        quarantine=quarantine,
        repaired=repaired,
    )
    return clean


def text_column(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first existing column among ``names`` as strings (``None`` for missing values)."""
    for name in names:
        if name in frame.columns:
            values = frame[name]
            return pd.Series(
                [None if _missing(v) else str(v) for v in values], index=frame.index, dtype=object
            )
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def float_column(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first existing column among ``names`` as float64 (NaN where absent or not a number)."""
    for name in names:
        if name in frame.columns:
            return pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return pd.Series(np.nan, index=frame.index, dtype="float64")


def bool_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as plain bool (missing or unknown → False)."""
    if name not in frame.columns:
        return pd.Series(False, index=frame.index, dtype=bool)
    truthy = {"true", "yes", "1"}
    return pd.Series(
        [
            (not _missing(v)) and (v is True or str(v).strip().lower() in truthy)
            for v in frame[name]
        ],
        index=frame.index,
        dtype=bool,
    )


def with_raw(
    normalised: dict[str, pd.Series], frame: pd.DataFrame, consumed: Sequence[str]
) -> pd.DataFrame:
    """The normalised columns followed by every property column not consumed nor shadowed."""
    skip = {*consumed, *normalised, "geometry", "source_id"}
    columns: dict[str, object] = dict(normalised)
    for column in frame.columns:
        if column not in skip:
            columns[column] = frame[column].to_numpy()
    return pd.DataFrame(columns, index=frame.index)


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and np.isnan(value)
