"""Loaders of the register's sources: noun-from-source, checked at the boundary.

Every vector loader returns a :class:`geopandas.GeoDataFrame` in EPSG:4326 holding only clean
rows; the code-table loaders return a :class:`pandas.DataFrame` with codes as strings. What was
rejected, and why, is in the :class:`LoadReport` attached as ``frame.attrs["load"]`` (read it
with :func:`load_report` or :func:`quarantine_of`):

>>> from address_registry.sources import buildings_from_geojson, load_report
>>> gdf = buildings_from_geojson()            # doctest: +SKIP
>>> report = load_report(gdf)                 # doctest: +SKIP
>>> report.rows_in == report.rows_out + len(report.quarantine)   # doctest: +SKIP
True

Rules applied by every loader (the same slugs as the ``registry_quarantine`` table):

* file-level problems are collected and raised once as :class:`common.errors.InvalidInput`:
  a CRS that is not WGS84-compatible (EPSG:4326, OGC:CRS84, EPSG:4490) unless ``crs=`` says
  what it is, coordinates that cannot be longitude/latitude, missing columns;
* ``crs="gcj02"`` / ``"bd09"`` (or another name :func:`common.coords.system_name` knows) is
  converted with :func:`common.coords.to_wgs84`; any PROJ CRS (``crs="EPSG:4547"``) is
  transformed with pyproj;
* per row: ``missing_geometry``, ``empty_geometry``, ``unexpected_geometry_type``,
  ``invalid_geometry`` (only when :func:`shapely.make_valid` cannot keep the geometry family;
  repaired rows stay and are listed in ``report.repaired``), ``missing_source_id``,
  ``duplicate_source_id`` (every row sharing an ID with different content), ``duplicate_row``
  (exact repeats after the first), ``bad_code``, ``missing_name``.

Tilezen gives one OSM object several features (a building polygon, its label point and its
address point share the OSM id), so the OSM loaders treat ``(source_id, kind, geometry
family)`` as the identity of a feature, as the sample data was assembled.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from address_registry import _sources_osm as osm
from address_registry._sources_divisions import LEVEL_LENGTH, divisions, streets
from address_registry._sources_load import load_vector, text_column, with_raw
from address_registry._sources_validate import (
    ANY_GEOMETRY,
    LINEAR,
    POLYGONAL,
    PUNTAL,
    LoadReport,
    RowProblems,
    id_string,
)
from common.errors import InvalidInput

__all__ = [
    "LoadReport",
    "admin_boundaries_from_file",
    "buildings_from_geojson",
    "districts_from_geojson",
    "divisions_from_csv",
    "landuse_from_geojson",
    "load_report",
    "places_from_geojson",
    "pois_from_geojson",
    "quarantine_of",
    "road_network_from_geojson",
    "roads_from_geojson",
    "sample_path",
    "streets_from_csv",
    "water_from_geojson",
]

#: The cities whose district polygons ship in ``data/boundaries``.
DISTRICT_FILES = {"shanghai": "shanghai_310000", "beijing": "beijing_110000"}


def sample_path(*parts: str) -> Path:
    """Return a path inside the shipped sample data (``YIZHI_DATA_DIR``, default ``data/``)."""
    from common.settings import get_settings

    return Path(get_settings().data_dir).joinpath(*parts)


def load_report(frame: pd.DataFrame) -> LoadReport:
    """Return the :class:`LoadReport` a loader attached to ``frame``.

    Raises
    ------
    InvalidInput
        When ``frame`` did not come from a loader of this module.
    """
    report = frame.attrs.get("load")
    if not isinstance(report, LoadReport):
        raise InvalidInput("this frame carries no load report (it was not made by a loader)")
    return report


def quarantine_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the quarantined rows of the load that produced ``frame``."""
    return load_report(frame).quarantine


def _path(path: str | Path | None, *default: str) -> Path:
    return Path(path) if path is not None else sample_path(*default)


# --------------------------------------------------------------------------- OSM layers


def buildings_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM buildings (Tilezen ``buildings`` layer).

    Parameters
    ----------
    path
        A GeoJSON (or any pyogrio-readable file) with Tilezen building properties; default the
        shipped ``data/osm/buildings.geojson``.
    crs
        What the coordinates are, when the file does not say (see the module notes).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id`` (OSM id as text; negative = relation), ``kind`` (building, building_part,
        address, entrance), ``name``, ``name_en``, ``old_name``, ``height`` (m), ``levels``,
        ``addr_street``, ``addr_housenumber``, ``kind_detail``, ``is_label`` (a Tilezen label
        point of a polygon), the remaining properties, ``geometry`` (Polygon/MultiPolygon or
        Point).
    """
    return load_vector(
        _path(path, "osm", "buildings.geojson"),
        layer_name="buildings",
        allowed=POLYGONAL | PUNTAL,
        id_column="id",
        normalise=osm.buildings,
        crs=crs,
        key_extra=("kind", "_family"),
    )


def roads_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM roads of the Tilezen ``roads`` layer.

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id``, ``kind`` (major_road, minor_road, path, rail, ferry ...), ``kind_detail``
        (the OSM highway/railway value), ``name``, ``name_en``, ``road_class`` (major / minor /
        lane / path / rail / other), ``is_major``, the remaining properties, line geometry.
    """
    return load_vector(
        _path(path, "osm", "roads.geojson"),
        layer_name="roads",
        allowed=LINEAR,
        id_column="id",
        normalise=osm.tilezen_roads,
        crs=crs,
        key_extra=("kind",),
    )


def road_network_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load an Overpass ``highway=*`` export (one LineString per OSM way).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id`` (``osm_id``), ``highway``, ``name``, ``name_zh``, ``name_en``, ``ref``,
        ``oneway``, ``lanes``, ``road_class`` (major: motorway/trunk/primary/secondary and
        links; minor: tertiary/residential/unclassified; lane: service/living_street and minor
        roads named …弄/…巷; path; rail; other), ``is_major``, the remaining properties.
    """
    return load_vector(
        _path(path, "osm", "shanghai_center_roads.geojson"),
        layer_name="road_network",
        allowed=LINEAR,
        id_column="osm_id",
        normalise=osm.overpass_roads,
        crs=crs,
    )


def _tilezen_layer(
    layer_name: str, filename: str, allowed: frozenset[str], synthesise: bool = False
) -> Callable[..., gpd.GeoDataFrame]:
    def loader(path: str | Path | None = None, *, crs: str | None = None) -> gpd.GeoDataFrame:
        return load_vector(
            _path(path, "osm", filename),
            layer_name=layer_name,
            allowed=allowed,
            id_column="id",
            normalise=osm.tilezen_features,
            crs=crs,
            key_extra=("kind", "_family"),
            synthesise_ids=synthesise,
        )

    return loader


_pois = _tilezen_layer("pois", "pois.geojson", PUNTAL)
_landuse = _tilezen_layer("landuse", "landuse.geojson", ANY_GEOMETRY)
_water = _tilezen_layer("water", "water.geojson", ANY_GEOMETRY, synthesise=True)
_places = _tilezen_layer("places", "places.geojson", PUNTAL)


def pois_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM points of interest (Tilezen ``pois``): ``source_id, kind, kind_detail, name, name_en`` + rest."""
    return _pois(path, crs=crs)


def landuse_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM land use (Tilezen ``landuse``; polygons, lines such as walls, label points)."""
    return _landuse(path, crs=crs)


def water_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM water (Tilezen ``water``).

    Tilezen water polygons cut from the coastline/water-polygon set carry no OSM id; they get
    the synthetic ``source_id`` ``"water:<row>"`` (their row in the file) instead of being
    quarantined.
    """
    return _water(path, crs=crs)


def places_from_geojson(
    path: str | Path | None = None, *, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Load OSM place labels (Tilezen ``places``: neighbourhood, locality points)."""
    return _places(path, crs=crs)


# --------------------------------------------------------------------------- boundaries


def _code_normaliser(
    code_column: str, name_column: str | None, level: str
) -> tuple[Callable[[gpd.GeoDataFrame, pd.Series], pd.DataFrame], Callable[..., None]]:
    length = LEVEL_LENGTH[level]

    def normalise_code(value: object) -> tuple[str | None, str | None]:
        text = id_string(value)
        if text is None:
            return None, f"no {level} code in column {code_column!r}"
        if not text.isdigit() or not text.isascii():
            return text, f"{level} code {text!r} is not a string of digits"
        if len(text) == 12 and length < 12 and set(text[length:]) == {"0"}:
            return text[:length], None
        if len(text) != length:
            return text, f"{level} code {text!r} has {len(text)} digits, expected {length} (or 12)"
        return text, None

    def normalise(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
        codes = [normalise_code(v)[0] for v in frame[code_column]]
        columns = {
            "code": pd.Series(codes, index=frame.index, dtype=object),
            "name": text_column(frame, name_column) if name_column else text_column(frame, "name"),
            "level": pd.Series(level, index=frame.index, dtype=object),
        }
        consumed = [code_column] + ([name_column] if name_column else [])
        return with_raw(columns, frame, consumed)

    def check(frame: gpd.GeoDataFrame, ids: pd.Series, rows: RowProblems) -> None:
        for pos, value in enumerate(frame[code_column]):
            why = normalise_code(value)[1]
            if why:
                rows.add([pos], "bad_code", why)

    return normalise, check


def admin_boundaries_from_file(
    path: str | Path,
    *,
    code_column: str,
    name_column: str | None = None,
    level: str,
    crs: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Load a city's own administrative boundaries (GeoPackage, Shapefile, GeoJSON ...).

    Parameters
    ----------
    path
        Any file pyogrio reads (``.gz`` through ``/vsigzip/``).
    code_column
        The column with the division code. Numbers are turned into digit strings; a 12-digit
        code padded with zeros is shortened to the level's length (``310101013000`` →
        ``310101013`` for a street).
    name_column
        The column with the name (default ``name`` when present).
    level
        ``province``, ``city``, ``district``, ``street`` or ``community`` (2, 4, 6, 9, 12 digits).
    crs
        What the coordinates are when the file does not declare a WGS84-compatible CRS.
    layer
        The layer of a multi-layer file (GeoPackage).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id`` (= ``code``), ``code``, ``name``, ``level``, the remaining properties and
        (Multi)Polygon geometry in EPSG:4326. Bad codes go to the quarantine as ``bad_code``.
    """
    if level not in LEVEL_LENGTH:
        raise InvalidInput(f"level must be one of {list(LEVEL_LENGTH)}, got {level!r}")
    normalise, check = _code_normaliser(code_column, name_column, level)
    required = [name_column] if name_column else []
    return _load_areas(
        Path(path), "admin_boundaries", code_column, normalise, check, crs, layer, required
    )


def _load_areas(
    path: Path,
    layer_name: str,
    code_column: str,
    normalise: Callable[[gpd.GeoDataFrame, pd.Series], pd.DataFrame],
    check: Callable[..., None],
    crs: str | None,
    layer: str | None,
    required: list[str],
) -> gpd.GeoDataFrame:
    frame = load_vector(
        path,
        layer_name=layer_name,
        allowed=POLYGONAL,
        id_column=code_column,
        normalise=normalise,
        crs=crs,
        layer=layer,
        required=required,
        row_check=check,
        key_extra=("code",),
    )
    frame["source_id"] = frame["code"].to_numpy()
    return frame


def districts_from_geojson(
    path: str | Path | None = None, crs: str = "wgs84", *, city: str = "shanghai"
) -> gpd.GeoDataFrame:
    """Load Amap (高德) district polygons: ``code`` (6-digit text), ``name``, ``level``, geometry.

    Parameters
    ----------
    path
        A GeoJSON with ``adcode`` and ``name`` properties; default the shipped polygons of
        ``city``.
    crs
        The coordinates of the file: ``"wgs84"`` (the shipped ``*_wgs84`` copy) or ``"gcj02"``
        (the Amap original, converted with :mod:`common.coords`); ``"bd09"`` or an EPSG code
        for a file of your own.
    city
        ``"shanghai"`` or ``"beijing"`` when ``path`` is not given.

    Returns
    -------
    geopandas.GeoDataFrame
        All rows of the file: the province outline (``level`` province, 310000), the 市辖区
        (city, 310100) and the 16 districts (district); filter on ``level`` for districts only.
    """
    if path is None:
        if city not in DISTRICT_FILES:
            raise InvalidInput(f"city must be one of {sorted(DISTRICT_FILES)}, got {city!r}")
        key = crs.strip().lower().replace("-", "")
        if key not in ("wgs84", "gcj02"):
            raise InvalidInput(
                f"the shipped district files are 'wgs84' or 'gcj02', got crs={crs!r}"
            )
        path = sample_path("boundaries", f"{DISTRICT_FILES[city]}_districts_{key}.geojson")

    def normalise(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
        columns = {
            "code": ids.astype(object),
            "name": text_column(frame, "name"),
            "level": text_column(frame, "level"),
        }
        return with_raw(columns, frame, ["adcode"])

    def check(frame: gpd.GeoDataFrame, ids: pd.Series, rows: RowProblems) -> None:
        bad = [
            i
            for i, code in enumerate(ids)
            if code is not None and not (code.isascii() and code.isdigit() and len(code) == 6)
        ]
        rows.add(bad, "bad_code", [f"adcode {ids.iat[i]!r} is not 6 digits" for i in bad])

    return _load_areas(Path(path), "districts", "adcode", normalise, check, crs, None, ["name"])


# --------------------------------------------------------------------------- code tables


def divisions_from_csv(directory: str | Path | None = None, province: str = "31") -> pd.DataFrame:
    """Load every division level of one province from a china-division directory.

    Parameters
    ----------
    directory
        Holds ``provinces.csv``, ``cities.csv``, ``areas.csv``, ``streets.csv`` and, for the
        community level, ``villages_*_<province>0000.csv`` or the national ``villages.csv(.gz)``;
        default the shipped ``data/divisions``.
    province
        The 2-digit province code, as text (``"31"`` Shanghai).

    Returns
    -------
    pandas.DataFrame
        ``code`` (2/4/6/9/12 digits as text), ``name``, ``level`` (province / city / district /
        street / community), ``parent_code`` and ``code12`` (the code padded to 12 digits).
        The community level is absent when no village file covers the province.
    """
    return divisions(
        Path(directory) if directory is not None else sample_path("divisions"), province
    )


def streets_from_csv(path: str | Path | None = None) -> pd.DataFrame:
    """Load the national 乡镇/街道 table (``streets.csv``).

    Returns
    -------
    pandas.DataFrame
        ``code`` (9 digits), ``name``, ``level`` (street), ``parent_code`` (the district),
        ``province_code``, ``city_code``, ``district_code``, ``code12``.
    """
    return streets(_path(path, "divisions", "streets.csv"))
