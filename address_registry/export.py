"""Export the register's layers to GeoPackage, GeoJSON and GeoParquet (EPSG:4326).

Layers (one SQL each, :data:`LAYERS`): ``buildings``, ``rooms`` (the building's representative
point as geometry), ``doorplates``, ``communities``, ``streets``, ``districts`` (the admin areas
of that level), ``roads`` and ``estates``. Retired buildings, rooms and doorplates are left out
unless ``include_retired``. GeoPackage and GeoJSON are written with pyogrio, GeoParquet with
``GeoDataFrame.to_parquet`` (GeoParquet 1.0 metadata).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import shapely

from address_registry._history_queries import buildings_as_of_relation
from address_registry.lookup import ROOM_ADDRESS_SQL
from common.errors import InvalidInput

if TYPE_CHECKING:
    import geopandas

FORMATS = {"gpkg": "GPKG", "geojson": "GeoJSON", "parquet": "parquet"}

_BUILDINGS = """
SELECT building_id, birth_community_code, birth_year, community_code, status, retired_by, use,
       use_source, name, floors, floors_estimated, height_m, height_estimated, footprint_m2,
       estate_id, building_no, doorplate_id, address, units, households, households_estimated,
       source, ST_AsWKB(geom) AS geometry
FROM buildings {where} ORDER BY building_id
"""

_ROOMS = f"""
SELECT r.room_id, r.building_id, r.unit, r.floor, r.room, r.use, r.area_m2, r.estimated,
       r.rule, r.status, b.community_code, {ROOM_ADDRESS_SQL} AS address,
       ST_AsWKB(coalesce(ST_Point(b.lon, b.lat), ST_PointOnSurface(b.geom))) AS geometry
FROM rooms r JOIN buildings b USING (building_id) {{where}} ORDER BY r.room_id
"""

_DOORPLATES = """
SELECT d.doorplate_id, d.road_code, rd.name AS road_name, d.number,
       coalesce(rd.name, '') || d.number AS address, d.lane_no, d.house_no, d.sub_no,
       d.building_id, d.community_code, d.side, d.source, d.status,
       ST_AsWKB(d.geom) AS geometry
FROM doorplates d LEFT JOIN roads rd USING (road_code) {where} ORDER BY d.doorplate_id
"""

_ADMIN = """
SELECT code, name, short_name, parent_code, boundary_source, boundary_method, area_m2, status,
       ST_AsWKB(geom) AS geometry
FROM admin_areas WHERE level = '{level}' ORDER BY code
"""

_ROADS = """
SELECT road_code, name, district_code, road_class, is_major, length_m, source,
       array_to_string(source_ids, ';') AS source_ids, ST_AsWKB(geom) AS geometry
FROM roads ORDER BY road_code
"""

_ESTATES = """
SELECT estate_id, name, community_code, enclosure, enclosure_evidence, source, derived,
       ST_AsWKB(geom) AS geometry
FROM estates ORDER BY estate_id
"""

#: layer -> (SQL template, WHERE clause that drops retired rows)
LAYERS: dict[str, tuple[str, str]] = {
    "buildings": (_BUILDINGS, "WHERE status <> 'retired'"),
    "rooms": (_ROOMS, "WHERE r.status <> 'retired'"),
    "doorplates": (_DOORPLATES, "WHERE d.status <> 'retired'"),
    "communities": (_ADMIN.replace("{level}", "community"), ""),
    "streets": (_ADMIN.replace("{level}", "street"), ""),
    "districts": (_ADMIN.replace("{level}", "district"), ""),
    "roads": (_ROADS, ""),
    "estates": (_ESTATES, ""),
}


def layer_frame(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    *,
    include_retired: bool = False,
    as_of: Any = None,
) -> geopandas.GeoDataFrame:
    """One layer as a GeoDataFrame in EPSG:4326 (see :data:`LAYERS`).

    ``as_of`` (buildings only) exports the register at that valid time as recorded today
    (:func:`address_registry.lifecycle.buildings_as_of`) with the columns the history keeps.
    """
    import geopandas

    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r}; choose one of {sorted(LAYERS)}")
    if as_of is not None:
        if layer != "buildings":
            raise InvalidInput(f"--as-of applies to the buildings layer only, not {layer!r}")
        sql, params = buildings_as_of_relation(con, as_of, include_retired=include_retired)
        sql = (
            "SELECT * EXCLUDE (geom, valid_from, valid_to), CAST(valid_from AS VARCHAR) AS "
            "valid_from, CAST(valid_to AS VARCHAR) AS valid_to, ST_AsWKB(geom) AS geometry "
            f"FROM ({sql}) ORDER BY building_id"
        )
        frame = con.execute(sql, params).df()
    else:
        template, retired_filter = LAYERS[layer]
        where = "" if include_retired else retired_filter
        frame = con.execute(template.replace("{where}", where)).df()
    wkb = frame.pop("geometry")
    geometry = shapely.from_wkb([None if pd.isna(g) else bytes(g) for g in wkb])
    return geopandas.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def export_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    format: str,
    path: str | os.PathLike[str],
    *,
    include_retired: bool = False,
    as_of: Any = None,
) -> dict[str, Any]:
    """Write one layer to ``path`` as ``gpkg``, ``geojson`` or ``parquet``.

    Parameters
    ----------
    con
        A store connection.
    layer
        One of :data:`LAYERS`.
    format
        ``gpkg`` (layer name = ``layer``), ``geojson`` (RFC 7946, WGS84) or ``parquet``
        (GeoParquet).
    path
        The output file; an existing file is replaced.
    include_retired
        Keep retired buildings, rooms and doorplates (with their ``status``).
    as_of
        Buildings only: the register at this valid time.

    Returns
    -------
    dict
        ``layer``, ``format``, ``path``, ``rows``, ``columns``.
    """
    fmt = format.lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {format!r}; choose one of {sorted(FORMATS)}")
    frame = layer_frame(con, layer, include_retired=include_retired, as_of=as_of)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    if fmt == "parquet":
        frame.to_parquet(target, index=False)
    else:
        import pyogrio

        geometry_type = _geometry_type(frame)
        pyogrio.write_dataframe(
            frame,
            target,
            layer=layer if fmt == "gpkg" else None,
            driver=FORMATS[fmt],
            geometry_type=geometry_type,
            promote_to_multi=geometry_type.startswith("Multi") if geometry_type else None,
        )
    return {
        "layer": layer,
        "format": fmt,
        "path": str(target),
        "rows": len(frame),
        "columns": [c for c in frame.columns if c != "geometry"],
    }


def _geometry_type(frame: geopandas.GeoDataFrame) -> str:
    """The OGR geometry type of a layer: mixed single/multi types are promoted to multi."""
    types = set(frame.geometry.dropna().geom_type)
    if not types:
        return "Unknown"
    if len(types) == 1:
        return str(types.pop())
    bases = {t.removeprefix("Multi") for t in types}
    if len(bases) == 1:
        return "Multi" + bases.pop()
    return "Unknown"
