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
    #: Block level of the features (``grid``, ``micro_grid``) when they carry block metrics,
    #: which are then made public by :func:`api.tiles._blocks.public_blocks`.
    block_level: str | None = None


def _admin(level: str) -> str:
    return (
        "SELECT code AS key, ST_AsWKB(geom) AS wkb, code, name, boundary_source "
        f"FROM admin_areas WHERE level = '{level}' AND geom IS NOT NULL AND status = 'active'"
    )


#: Block metrics carried by the grid layers: ``{property: block_data metric}``. Tiles and
#: features are public, so :mod:`api.tiles._blocks` hides what
#: :func:`fusion.blocks.hidden_cells` hides (counts from 1 to 4, and the values that would give
#: them back through the sums between levels), after the layer's SQL.
BLOCK_METRICS: dict[str, str] = {
    "residents_registered": "residents.registered",
    "residents_floating": "residents.floating",
    "elderly_alone": "care.elderly_alone",
    "enterprises": "enterprises",
    "rented_houses": "houses.rented",
    "events": "events",
    "events_overdue": "events.overdue",
    "sensors": "sensors",
}
#: ``people`` is registered + floating residents, hidden when either part is hidden.
PEOPLE_PARTS = ("residents_registered", "residents_floating")
#: Block properties of the grid layers: the counts and the camera coverage share (0-1, an area
#: ratio, not a count: never suppressed).
BLOCK_PROPERTIES: tuple[str, ...] = ("people", *BLOCK_METRICS, "camera_coverage")


def _with_blocks(level: str, table: str, code: str, columns: str) -> str:
    """SQL of a grid layer with its block metrics (raw; null when never computed)."""
    metrics = {
        **BLOCK_METRICS,
        "_public_m2": "coverage.public_m2",
        "_covered_m2": "coverage.covered_m2",
    }
    pivot = ", ".join(
        f"coalesce(sum(value) FILTER (WHERE metric = '{metric}'), 0) AS {name}"
        for name, metric in metrics.items()
    )
    counts = ", ".join(
        f"CASE WHEN k.computed THEN CAST(coalesce({name}, 0) AS BIGINT) END AS {name}"
        for name in BLOCK_METRICS
    )
    people = " + ".join(f"coalesce({name}, 0)" for name in PEOPLE_PARTS)
    return (
        f"WITH b AS (SELECT code, {pivot} FROM block_data WHERE level = '{level}' "
        f"AND grid_version = {_ACTIVE_GRID} GROUP BY code), "
        f"k AS (SELECT count(*) > 0 AS computed FROM block_data WHERE grid_version = {_ACTIVE_GRID}) "
        f"SELECT t.{code} AS key, ST_AsWKB(t.geom) AS wkb, {columns}, "
        f"CASE WHEN k.computed THEN CAST({people} AS BIGINT) END AS people, {counts}, "
        "CASE WHEN k.computed AND _public_m2 > 0 "
        "THEN round(least(1.0, coalesce(_covered_m2, 0) / _public_m2), 3) END AS camera_coverage "
        f"FROM {table} t LEFT JOIN b ON b.code = t.{code} CROSS JOIN k "
        f"WHERE t.geom IS NOT NULL AND t.version_id = {_ACTIVE_GRID}"
    )


#: Edge of the square cells of the ``event_density`` layer, degrees (≈ 240 × 280 m at 31° N).
DENSITY_CELL_DEG = 0.0025

_POINT = "FROM {table} WHERE geom IS NOT NULL OR (lon IS NOT NULL AND lat IS NOT NULL)"

_EVENT_DENSITY = f"""
SELECT printf('%d_%d', cx, cy) AS key,
       ST_AsWKB(ST_MakeEnvelope(cx * {DENSITY_CELL_DEG}, cy * {DENSITY_CELL_DEG},
                                (cx + 1) * {DENSITY_CELL_DEG}, (cy + 1) * {DENSITY_CELL_DEG})) AS wkb,
       printf('%d_%d', cx, cy) AS cell,
       count(*) AS events,
       count(*) FILTER (WHERE state <> 'closed') AS open
FROM (SELECT CAST(floor(coalesce(ST_X(geom), lon) / {DENSITY_CELL_DEG}) AS BIGINT) AS cx,
             CAST(floor(coalesce(ST_Y(geom), lat) / {DENSITY_CELL_DEG}) AS BIGINT) AS cy,
             state
      {_POINT.format(table="events")})
GROUP BY cx, cy
"""

#: Camera sectors (apex, arc in 3° steps, apex) from position, range, heading and field of view,
#: with a local metres-per-degree scale (as :func:`fusion.coverage.sector`); 360° is a circle.
_CAMERA_COVERAGE = """
SELECT source_id AS key, ST_AsWKB(ST_MakePolygon(ST_MakeLine(
    CASE WHEN fov >= 360 THEN [] ELSE [ST_Point(x, y)] END
    || [ST_Point(x + r * sin(radians(h - fov / 2 + fov * i / n)) / (111320 * cos(radians(y))),
                 y + r * cos(radians(h - fov / 2 + fov * i / n)) / 110574)
        FOR i IN range(0, n + 1)]
    || [CASE WHEN fov >= 360
             THEN ST_Point(x + r * sin(radians(h - 180)) / (111320 * cos(radians(y))),
                           y + r * cos(radians(h - 180)) / 110574)
             ELSE ST_Point(x, y) END]))) AS wkb,
       source_id, r AS range_m, fov AS fov_deg, h AS heading_deg, status
FROM (SELECT source_id, coalesce(ST_X(geom), lon) AS x, coalesce(ST_Y(geom), lat) AS y,
             camera_range_m AS r, least(camera_fov_deg, 360) AS fov,
             coalesce(camera_heading_deg, 0) AS h, status,
             CAST(greatest(2, ceil(least(camera_fov_deg, 360) / 3)) AS INTEGER) AS n
      FROM sensors WHERE sensor_type = 'camera' AND camera_range_m > 0 AND camera_fov_deg > 0
        AND (geom IS NOT NULL OR (lon IS NOT NULL AND lat IS NOT NULL)))
"""


#: Every layer, by name. Zoom ranges follow what each layer is for on a city map.
LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in [
        LayerSpec(
            "districts",
            "polygon",
            8,
            12,  # whole districts are large: clients overzoom z12 tiles (z14 took 3 s to build)
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
            _with_blocks(
                "grid",
                "grids",
                "grid_code",
                "grid_code, community_code, households, buildings, micro_grids",
            ),
            (
                "grid_code",
                "community_code",
                "households",
                "buildings",
                "micro_grids",
                *BLOCK_PROPERTIES,
            ),
            "Management grids (网格) of the active grid version, with their block data",
            0.25,
            ("grids", "grid_versions", "block_data"),
            block_level="grid",
        ),
        LayerSpec(
            "micro_grids",
            "polygon",
            15,
            18,
            _with_blocks(
                "micro_grid",
                "micro_grids",
                "micro_grid_code",
                "micro_grid_code, grid_code, enclosure, cap, households, flagged",
            ),
            (
                "micro_grid_code",
                "grid_code",
                "enclosure",
                "cap",
                "households",
                "flagged",
                *BLOCK_PROPERTIES,
            ),
            "Micro-grids (微网格) of the active grid version, with their block data",
            0.25,
            ("micro_grids", "grid_versions", "block_data"),
            block_level="micro_grid",
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
        LayerSpec(
            "event_density",
            "polygon",
            11,
            16,
            _EVENT_DENSITY,
            ("cell", "events", "open"),
            f"Events per square cell of {DENSITY_CELL_DEG}° (all, and not closed)",
            0.0,
            ("events",),
        ),
        LayerSpec(
            "camera_coverage",
            "polygon",
            14,
            18,
            _CAMERA_COVERAGE,
            ("source_id", "range_m", "fov_deg", "heading_deg", "status"),
            "What each camera sees: a sector of its range and field of view",
            0.0,
            ("sensors",),
        ),
    ]
}
