"""The tile layers of yizhi: what each one reads from the store, its zooms and its properties."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.tiles._ragged import Kind

_ACTIVE_GRID = "(SELECT max(version_id) FROM grid_versions WHERE status = 'active')"


@dataclass(frozen=True)
class LayerSpec:
    """One vector-tile layer.

    ``sql`` returns one row per feature with the columns ``key`` (the stable identifier the feature
    id is derived from, see :func:`api.tiles.source.feature_id`), ``wkb`` (WGS84 geometry as WKB)
    and one column per name in ``properties``.
    """

    name: str
    kind: Kind
    minzoom: int
    maxzoom: int
    sql: str
    properties: tuple[str, ...]
    description: str = ""
    #: Douglas-Peucker tolerance in tile pixels applied below ``maxzoom`` (0: none, as PostGIS).
    simplify_px: float = 0.0
    tables: tuple[str, ...] = field(default=())


def _admin(level: str) -> str:
    return (
        "SELECT code AS key, ST_AsWKB(geom) AS wkb, code, name, boundary_source "
        f"FROM admin_areas WHERE level = '{level}' AND geom IS NOT NULL AND status = 'active'"
    )


#: Every layer, by name. Zoom ranges follow what each layer is for on a city map.
LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in [
        LayerSpec(
            "districts",
            "polygon",
            8,
            14,
            _admin("district"),
            ("code", "name", "boundary_source"),
            "Districts (区县)",
            0.5,
            ("admin_areas",),
        ),
        LayerSpec(
            "streets",
            "polygon",
            10,
            15,
            _admin("street"),
            ("code", "name", "boundary_source"),
            "Streets and towns (街道/乡镇)",
            0.5,
            ("admin_areas",),
        ),
        LayerSpec(
            "communities",
            "polygon",
            12,
            16,
            _admin("community"),
            ("code", "name", "boundary_source"),
            "Communities (社区/村)",
            0.5,
            ("admin_areas",),
        ),
        LayerSpec(
            "grids",
            "polygon",
            13,
            18,
            "SELECT grid_code AS key, ST_AsWKB(geom) AS wkb, grid_code, community_code, households, "
            f"buildings, micro_grids FROM grids WHERE geom IS NOT NULL AND version_id = {_ACTIVE_GRID}",
            ("grid_code", "community_code", "households", "buildings", "micro_grids"),
            "Management grids (网格) of the active grid version",
            0.25,
            ("grids", "grid_versions"),
        ),
        LayerSpec(
            "micro_grids",
            "polygon",
            15,
            18,
            "SELECT micro_grid_code AS key, ST_AsWKB(geom) AS wkb, micro_grid_code, grid_code, "
            "enclosure, cap, households, flagged FROM micro_grids "
            f"WHERE geom IS NOT NULL AND version_id = {_ACTIVE_GRID}",
            ("micro_grid_code", "grid_code", "enclosure", "cap", "households", "flagged"),
            "Micro-grids (微网格) of the active grid version",
            0.25,
            ("micro_grids", "grid_versions"),
        ),
        LayerSpec(
            "unit_grids",
            "polygon",
            14,
            18,
            "SELECT unit_grid_code AS key, ST_AsWKB(geom) AS wkb, unit_grid_code, community_code, "
            f"area_m2 FROM unit_grids WHERE geom IS NOT NULL AND version_id = {_ACTIVE_GRID}",
            ("unit_grid_code", "community_code", "area_m2"),
            "Unit grids (万米单元网格) of the active grid version",
            0.25,
            ("unit_grids", "grid_versions"),
        ),
        LayerSpec(
            "roads",
            "line",
            12,
            18,
            "SELECT road_code AS key, ST_AsWKB(geom) AS wkb, road_code, name, road_class, is_major "
            "FROM roads WHERE geom IS NOT NULL",
            ("road_code", "name", "road_class", "is_major"),
            "Roads (道路)",
            0.5,
            ("roads",),
        ),
        LayerSpec(
            "buildings",
            "polygon",
            14,
            18,
            "SELECT building_id AS key, ST_AsWKB(geom) AS wkb, building_id, name, use, floors, "
            "households, community_code FROM buildings WHERE status <> 'retired'",
            ("building_id", "name", "use", "floors", "households", "community_code"),
            "Buildings (建筑) of the register",
            0.0,
            ("buildings",),
        ),
        LayerSpec(
            "doorplates",
            "point",
            16,
            18,
            "SELECT doorplate_id AS key, ST_AsWKB(geom) AS wkb, doorplate_id, number, road_code, "
            "building_id FROM doorplates WHERE geom IS NOT NULL AND status = 'active'",
            ("doorplate_id", "number", "road_code", "building_id"),
            "Doorplates (门牌)",
            0.0,
            ("doorplates",),
        ),
        LayerSpec(
            "events",
            "point",
            14,
            18,
            "SELECT source_id AS key, ST_AsWKB(COALESCE(geom, ST_Point(lon, lat))) AS wkb, source_id, "
            "category_kind, category_code, state, source, CAST(reported_at AS VARCHAR) AS reported_at "
            "FROM events WHERE geom IS NOT NULL OR (lon IS NOT NULL AND lat IS NOT NULL)",
            ("source_id", "category_kind", "category_code", "state", "source", "reported_at"),
            "Events (事件) and component reports (部件)",
            0.0,
            ("events",),
        ),
        LayerSpec(
            "sensors",
            "point",
            14,
            18,
            "SELECT source_id AS key, ST_AsWKB(COALESCE(geom, ST_Point(lon, lat))) AS wkb, source_id, "
            "sensor_type, status FROM sensors "
            "WHERE geom IS NOT NULL OR (lon IS NOT NULL AND lat IS NOT NULL)",
            ("source_id", "sensor_type", "status"),
            "IoT sensors (物联感知设备)",
            0.0,
            ("sensors",),
        ),
    ]
}
