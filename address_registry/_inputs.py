"""The inputs of a registry build, normalised to the columns the build steps use.

The loaders of :mod:`address_registry.sources` read the files; this module renames their columns
into one internal shape so that the steps do not care where the data came from (the sample
city, a city's own files or the scale-up generator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from common.errors import InvalidInput

WGS84 = "EPSG:4326"

#: Tilezen road kinds kept as roads (rail and ferry lines are not addressable roads).
ROAD_KINDS = ("major_road", "minor_road", "path")
_TILEZEN_CLASS = {"major_road": "major", "minor_road": "minor", "path": "path"}
_OSM_MAJOR = {"motorway", "trunk", "primary", "secondary"}


@dataclass
class Sources:
    """Everything a build reads, in WGS84.

    Attributes
    ----------
    buildings
        ``source_id, kind (building/building_part/address/entrance), root_id, name, name_en,
        old_name, height, levels, kind_detail, addr_street, addr_housenumber, geometry``.
    roads
        ``source, source_id, name, name_en, road_class (major/minor/lane/path), geometry``.
    pois, landuse
        ``source_id, kind, name, geometry``.
    districts
        ``code, name, geometry``: district polygons (official).
    divisions
        ``code, name, level, parent_code`` for the province (strings of digits).
    extent
        The area covered by the building data (where boundaries are derived), or ``None``.
    boundaries, boundary_level
        Imported official boundaries (``code, geometry``) of one level replacing derivation.
    label
        Where the data came from (``sample:<dir>``; ``generated:...`` for the scale-up city).
    load_reports
        Per source file: (layer, rows read, rows the loader quarantined).
    """

    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    divisions: pd.DataFrame
    extent: BaseGeometry | None = None
    boundaries: gpd.GeoDataFrame | None = None
    boundary_level: str = "community"
    label: str = "osm"
    load_reports: list[tuple[str, int, pd.DataFrame]] = field(default_factory=list)


def _col(frame: pd.DataFrame, *names: str) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _str_id(series: pd.Series) -> pd.Series:
    """Source IDs as strings (``40778072``, never ``40778072.0``)."""
    out = series.astype("object")
    mask = out.notna()
    out[mask] = [
        str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in out[mask]
    ]
    return out.where(mask, None)


def _text(series: pd.Series) -> pd.Series:
    out = series.astype("object").where(series.notna(), None)
    return out.map(lambda v: v.strip() or None if isinstance(v, str) else v)


def normalise_buildings(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename a tilezen-style building layer into the internal columns."""
    return gpd.GeoDataFrame(
        {
            "source_id": _str_id(_col(raw, "source_id", "id", "osm_id")),
            "kind": _text(_col(raw, "kind")).fillna("building"),
            "root_id": _str_id(_col(raw, "root_id")),
            "name": _text(_col(raw, "name", "name:zh", "name_zh")),
            "name_en": _text(_col(raw, "name_en", "name:en")),
            "old_name": _text(_col(raw, "old_name")),
            "height": pd.to_numeric(_col(raw, "height"), errors="coerce"),
            "levels": pd.to_numeric(
                _col(raw, "levels", "building_levels", "building:levels"), errors="coerce"
            ),
            "kind_detail": _text(_col(raw, "kind_detail", "building")),
            "addr_street": _text(_col(raw, "addr_street", "addr:street")),
            "addr_housenumber": _text(_col(raw, "addr_housenumber", "addr:housenumber")),
            "label_placement": _col(raw, "label_placement"),
        },
        geometry=raw.geometry.values,
        crs=raw.crs or WGS84,
    ).to_crs(WGS84)


def _normalise_lines(raw: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if "road_class" in raw.columns:
        klass = _text(raw["road_class"])
        if "is_major" in raw.columns:
            klass = klass.where(~raw["is_major"].fillna(False).astype(bool), "major")
    elif "highway" in raw.columns:
        hw = _text(raw["highway"]).fillna("").str.replace("_link", "", regex=False)
        klass = hw.map(
            lambda h: (
                "major"
                if h in _OSM_MAJOR
                else (
                    "path"
                    if h in {"footway", "path", "pedestrian", "steps", "cycleway"}
                    else "minor"
                )
            )
        )
    else:
        kind = _text(_col(raw, "kind"))
        raw = raw[kind.isin(ROAD_KINDS)]
        klass = _text(raw["kind"]).map(_TILEZEN_CLASS)
    name = _text(_col(raw, "name", "name:zh", "name_zh"))
    klass = klass.where(~name.fillna("").str.contains("弄$", regex=True), "lane")
    return gpd.GeoDataFrame(
        {
            "source": source,
            "source_id": _str_id(_col(raw, "source_id", "osm_id", "id")),
            "name": name,
            "name_en": _text(_col(raw, "name_en", "name:en")),
            "road_class": klass.fillna("minor").values,
        },
        geometry=raw.geometry.values,
        crs=raw.crs or WGS84,
    ).to_crs(WGS84)


def _normalise_features(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "source_id": _str_id(_col(raw, "source_id", "id", "osm_id")),
            "kind": _text(_col(raw, "kind")),
            "kind_detail": _text(_col(raw, "kind_detail")),
            "name": _text(_col(raw, "name", "name:zh")),
        },
        geometry=raw.geometry.values,
        crs=raw.crs or WGS84,
    ).to_crs(WGS84)


def read_divisions(directory: Path, province: str = "31") -> pd.DataFrame:
    """The division table of ``province``: ``code, name, level, parent_code`` (strings)."""
    from address_registry.sources import divisions_from_csv

    if (directory / "provinces.csv").is_file():
        frame = divisions_from_csv(directory, province=province)
        return pd.DataFrame(frame)[["code", "name", "level", "parent_code"]].astype("object")

    def csv(name: str) -> pd.DataFrame:
        return pd.read_csv(directory / name, dtype=str)

    prov = csv("provinces.csv")
    prov = prov[prov.code == province].assign(level="province", parent_code=None)
    cities = csv("cities.csv")
    cities = cities[cities.provinceCode == province].assign(
        level="city", parent_code=lambda d: d.provinceCode
    )
    areas = csv("areas.csv")
    areas = areas[areas.provinceCode == province].assign(
        level="district", parent_code=lambda d: d.cityCode
    )
    streets = csv("streets.csv")
    streets = streets[streets.provinceCode == province].assign(
        level="street", parent_code=lambda d: d.areaCode
    )
    village_file = next(iter(sorted(directory.glob(f"villages_*_{province}0000.csv"))), None)
    parts = [prov, cities, areas, streets]
    if village_file is not None:
        vil = pd.read_csv(village_file, dtype=str).assign(
            level="community", parent_code=lambda d: d.streetCode
        )
        parts.append(vil)
    cols = ["code", "name", "level", "parent_code"]
    return pd.concat([p[cols] for p in parts], ignore_index=True).astype("object")


def load_sample(data_dir: Path) -> Sources:
    """Read the sample city under ``data_dir`` through the loaders of :mod:`~address_registry.sources`.

    What a loader rejected is carried in :attr:`Sources.load_reports` (one entry per file), so
    the build report can account for it.
    """
    from address_registry import sources as src

    osm = data_dir / "osm"
    for needed in ("buildings.geojson", "roads.geojson"):
        if not (osm / needed).is_file():
            raise InvalidInput(f"the sample city is missing {osm / needed}")
    reports: list[tuple[str, int, pd.DataFrame]] = []

    def load(layer: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        report = src.load_report(frame)
        reports.append((layer, int(report.rows_in), report.quarantine))
        return frame

    buildings = normalise_buildings(
        load("buildings", src.buildings_from_geojson(osm / "buildings.geojson"))
    )
    tilezen = _normalise_lines(
        load("roads", src.roads_from_geojson(osm / "roads.geojson")), "osm_tilezen"
    )
    parts = [tilezen]
    network_file = osm / "shanghai_center_roads.geojson"
    if network_file.is_file():
        network = load("road_network", src.road_network_from_geojson(network_file))
        parts.append(_normalise_lines(network, "osm_overpass"))
    roads = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=WGS84)
    landuse = _normalise_features(
        load("landuse", src.landuse_from_geojson(osm / "landuse.geojson"))
    )
    pois = _normalise_features(load("pois", src.pois_from_geojson(osm / "pois.geojson")))
    districts_raw = load(
        "districts",
        src.districts_from_geojson(
            data_dir / "boundaries" / "shanghai_310000_districts_wgs84.geojson"
        ),
    )
    districts_raw = districts_raw[districts_raw["level"] == "district"]
    districts = gpd.GeoDataFrame(
        {
            "code": districts_raw["code"].astype(str).to_numpy(),
            "name": districts_raw["name"].to_numpy(),
        },
        geometry=districts_raw.geometry.values,
        crs=WGS84,
    ).reset_index(drop=True)
    bounds = pd.concat([buildings.geometry, tilezen.geometry]).total_bounds
    return Sources(
        buildings=buildings,
        roads=roads,
        pois=pois,
        landuse=landuse,
        districts=districts,
        divisions=read_divisions(data_dir / "divisions", "31"),
        extent=shapely.box(*bounds),
        label=f"sample:{data_dir}",
        load_reports=reports,
    )


def read_boundaries(
    path: Path, code_column: str, level: str
) -> tuple[gpd.GeoDataFrame, tuple[str, int, pd.DataFrame]]:
    """Official boundaries of ``level`` from a file: ``code, geometry`` (WGS84) and the load report."""
    from address_registry.sources import admin_boundaries_from_file, load_report

    raw = admin_boundaries_from_file(path, code_column=code_column, level=level)
    report = load_report(raw)
    frame = gpd.GeoDataFrame(
        {"code": raw["code"].astype(str).to_numpy()}, geometry=raw.geometry.values, crs=WGS84
    )
    return frame, ("admin_boundaries_file", int(report.rows_in), report.quarantine)
