"""The tile layers of yizhi: what each one reads from the store, its zooms and its properties.

Each layer reads one relation given by the package that owns the data
(:mod:`address_registry.queries`, :mod:`grid_partition.queries`, :mod:`layers.queries`,
:mod:`fusion.queries`): the owner says which rows and columns there are (active buildings, the
grids of the active version, a record's location), the layer picks its key, geometry and
properties from them (:attr:`LayerSpec.sql`). The grid layers add their block metrics, the
density and camera layers compute their cells and sectors in SQL over the owner's relation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from address_registry import queries as aq
from api.tiles._ragged import Kind
from fusion import queries as fq
from grid_partition import queries as gq
from layers import queries as lq


@dataclass(frozen=True)
class LayerSpec:
    """One vector-tile layer.

    ``source`` is one SELECT (an owner's relation, or SQL over one) with a row per feature;
    :attr:`sql` reads from it the columns ``key`` (the stable identifier the feature id is
    derived from, see :func:`api.tiles.source.feature_id`), ``wkb`` (WGS84 geometry as WKB) and
    one column per name in ``properties``. Rows without a geometry are left out.
    """

    name: str
    kind: Kind
    minzoom: int
    maxzoom: int
    source: str
    key: str
    properties: tuple[str, ...]
    description: str = ""
    #: Douglas-Peucker tolerance in tile pixels applied below ``maxzoom`` (0: none, as PostGIS).
    simplify_px: float = 0.0
    #: The geometry column (or expression) of ``source``, WGS84.
    geom: str = "geom"
    #: SQL of a property that is not the column of its name in ``source``.
    columns: Mapping[str, str] = field(default_factory=dict)
    #: Block level of the features (``grid``, ``micro_grid``) when they carry block metrics,
    #: which are then made public by :func:`api.tiles._blocks.public_blocks`.
    block_level: str | None = None

    @property
    def sql(self) -> str:
        """One row per feature: ``key``, ``wkb`` and the properties."""
        props = ", ".join(f"{self.columns.get(p, p)} AS {p}" for p in self.properties)
        return (
            f"SELECT {self.key} AS key, ST_AsWKB({self.geom}) AS wkb, {props} "
            f"FROM ({self.source}) WHERE {self.geom} IS NOT NULL"
        )


#: Block metrics carried by the grid layers: ``{property: block data metric}``. Tiles and
#: features are public, so :mod:`api.tiles._blocks` hides the cells of the one suppression set
#: (:func:`fusion.blocks.suppression_set`: counts from 1 to 4, and the values that would give
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


def _with_blocks(level: str, grids: str, code: str) -> str:
    """The rows of a relation of grids of ``level`` (``grids``, keyed by ``code``) with their
    block metrics of the active version (raw; null when never computed)."""
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
    data = fq.block_data_sql()
    return (
        f"WITH b AS (SELECT code, {pivot} FROM ({data}) WHERE level = '{level}' GROUP BY code), "
        f"k AS (SELECT count(*) > 0 AS computed FROM ({data})) "
        f"SELECT t.*, CASE WHEN k.computed THEN CAST({people} AS BIGINT) END AS people, {counts}, "
        "CASE WHEN k.computed AND _public_m2 > 0 "
        "THEN round(least(1.0, coalesce(_covered_m2, 0) / _public_m2), 3) END AS camera_coverage "
        f"FROM ({grids}) t LEFT JOIN b ON b.code = t.{code} CROSS JOIN k"
    )


#: Edge of the square cells of the ``event_density`` layer, degrees (≈ 240 × 280 m at 31° N).
DENSITY_CELL_DEG = 0.0025

_EVENT_DENSITY = f"""
SELECT printf('%d_%d', cx, cy) AS cell,
       ST_MakeEnvelope(cx * {DENSITY_CELL_DEG}, cy * {DENSITY_CELL_DEG},
                       (cx + 1) * {DENSITY_CELL_DEG}, (cy + 1) * {DENSITY_CELL_DEG}) AS geom,
       count(*) AS events,
       count(*) FILTER (WHERE state <> 'closed') AS open
FROM (SELECT CAST(floor(ST_X(point) / {DENSITY_CELL_DEG}) AS BIGINT) AS cx,
             CAST(floor(ST_Y(point) / {DENSITY_CELL_DEG}) AS BIGINT) AS cy,
             state
      FROM ({lq.records_sql("events")}) WHERE point IS NOT NULL)
GROUP BY cx, cy
"""

#: Camera sectors (apex, arc in 3° steps, apex) from position, range, heading and field of view,
#: with a local metres-per-degree scale (as :func:`fusion.coverage.sector`); 360° is a circle.
_CAMERA_COVERAGE = f"""
SELECT source_id, ST_MakePolygon(ST_MakeLine(
    CASE WHEN fov >= 360 THEN [] ELSE [ST_Point(x, y)] END
    || [ST_Point(x + r * sin(radians(h - fov / 2 + fov * i / n)) / (111320 * cos(radians(y))),
                 y + r * cos(radians(h - fov / 2 + fov * i / n)) / 110574)
        FOR i IN range(0, n + 1)]
    || [CASE WHEN fov >= 360
             THEN ST_Point(x + r * sin(radians(h - 180)) / (111320 * cos(radians(y))),
                           y + r * cos(radians(h - 180)) / 110574)
             ELSE ST_Point(x, y) END])) AS geom,
       r AS range_m, fov AS fov_deg, h AS heading_deg, status
FROM (SELECT source_id, ST_X(point) AS x, ST_Y(point) AS y,
             camera_range_m AS r, least(camera_fov_deg, 360) AS fov,
             coalesce(camera_heading_deg, 0) AS h, status,
             CAST(greatest(2, ceil(least(camera_fov_deg, 360) / 3)) AS INTEGER) AS n
      FROM ({lq.records_sql("sensors")})
      WHERE sensor_type = 'camera' AND camera_range_m > 0 AND camera_fov_deg > 0
        AND point IS NOT NULL)
"""


_ADMIN_PROPERTIES = ("code", "name", "boundary_source")

#: Every layer, by name. Zoom ranges follow what each layer is for on a city map.
LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in [
        LayerSpec(
            "districts",
            "polygon",
            8,
            12,  # whole districts are large: clients overzoom z12 tiles (z14 took 3 s to build)
            aq.admin_areas_sql("district"),
            "code",
            _ADMIN_PROPERTIES,
            "Districts (区县)",
            0.5,
        ),
        LayerSpec(
            "streets",
            "polygon",
            10,
            15,
            aq.admin_areas_sql("street"),
            "code",
            _ADMIN_PROPERTIES,
            "Streets and towns (街道/乡镇)",
            0.5,
        ),
        LayerSpec(
            "communities",
            "polygon",
            12,
            16,
            aq.admin_areas_sql("community"),
            "code",
            _ADMIN_PROPERTIES,
            "Communities (社区/村)",
            0.5,
        ),
        LayerSpec(
            "grids",
            "polygon",
            13,
            18,
            _with_blocks("grid", gq.grids_sql(), "grid_code"),
            "grid_code",
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
            block_level="grid",
        ),
        LayerSpec(
            "micro_grids",
            "polygon",
            15,
            18,
            _with_blocks("micro_grid", gq.micro_grids_sql(), "micro_grid_code"),
            "micro_grid_code",
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
            block_level="micro_grid",
        ),
        LayerSpec(
            "unit_grids",
            "polygon",
            14,
            18,
            gq.unit_grids_sql(),
            "unit_grid_code",
            ("unit_grid_code", "community_code", "area_m2"),
            "Unit grids (万米单元网格) of the active grid version",
            0.25,
        ),
        LayerSpec(
            "roads",
            "line",
            12,
            18,
            aq.roads_sql(),
            "road_code",
            ("road_code", "name", "road_class", "is_major"),
            "Roads (道路)",
            0.5,
        ),
        LayerSpec(
            "buildings",
            "polygon",
            14,
            18,
            aq.buildings_sql(["proposed", "active"]),
            "building_id",
            ("building_id", "name", "use", "floors", "households", "community_code"),
            "Buildings (建筑) of the register",
        ),
        LayerSpec(
            "doorplates",
            "point",
            16,
            18,
            aq.doorplates_sql(),
            "doorplate_id",
            ("doorplate_id", "number", "road_code", "building_id"),
            "Doorplates (门牌)",
        ),
        LayerSpec(
            "events",
            "point",
            14,
            18,
            lq.records_sql("events"),
            "source_id",
            ("source_id", "category_kind", "category_code", "state", "source", "reported_at"),
            "Events (事件) and component reports (部件)",
            geom="point",
            columns={"reported_at": "CAST(reported_at AS VARCHAR)"},
        ),
        LayerSpec(
            "sensors",
            "point",
            14,
            18,
            lq.records_sql("sensors"),
            "source_id",
            ("source_id", "sensor_type", "status"),
            "IoT sensors (物联感知设备)",
            geom="point",
        ),
        LayerSpec(
            "event_density",
            "polygon",
            11,
            16,
            _EVENT_DENSITY,
            "cell",
            ("cell", "events", "open"),
            f"Events per square cell of {DENSITY_CELL_DEG}° (all, and not closed)",
        ),
        LayerSpec(
            "camera_coverage",
            "polygon",
            14,
            18,
            _CAMERA_COVERAGE,
            "source_id",
            ("source_id", "range_m", "fov_deg", "heading_deg", "status"),
            "What each camera sees: a sector of its range and field of view",
        ),
    ]
}
