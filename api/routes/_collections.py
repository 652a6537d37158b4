"""The feature collections of OGC API – Features: the tile layers, read from the store.

Each collection is a tile layer of :data:`api.tiles.layers.LAYERS` (same features, keys and
properties, so block counts are suppressed below 5 as in tiles). A ``bbox`` filters the rows of
the layer's relation (``&&`` on the bounding boxes, then ``ST_Intersects``) before the page's
features are read through the layer's SQL; the grid layers are filtered on the owner's grids
alone, before their block metrics are joined. No collection holds person-level data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import orjson
import shapely

from api.tiles._blocks import public_blocks
from api.tiles.layers import LAYERS, LayerSpec
from common.coords import SUPPORTED_SYSTEMS, system_name, transform_geometry
from common.errors import InvalidInput
from grid_partition import queries as gq

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_OGC_URIS = {"wgs84": CRS84, "cgcs2000": "http://www.opengis.net/def/crs/EPSG/0/4490"}
#: The URI written in ``Content-Crs`` for each system of :mod:`common.coords` (GCJ-02 and BD-09
#: have none: their short name).
SYSTEM_URI: dict[str, str] = {s: _OGC_URIS.get(s, s) for s in SUPPORTED_SYSTEMS}
#: What a collection advertises in ``crs``.
ADVERTISED_CRS = list(SYSTEM_URI.values())
#: Output coordinate systems: URI (or short name) → :mod:`common.coords` system. Coordinates are
#: always longitude, latitude (GeoJSON order), EPSG:4490 included.
CRS_URIS: dict[str, str] = {
    **{uri: s for s, uri in SYSTEM_URI.items()},
    "http://www.opengis.net/def/crs/EPSG/0/4326": "wgs84",
}


@dataclass(frozen=True)
class Collection:
    """One collection: a tile layer, and the rows a ``bbox`` filters (the layer's own relation
    unless ``rows`` names a leaner one with the same keys and geometry)."""

    id: str
    rows: str | None = None

    @property
    def layer(self) -> LayerSpec:
        """The tile layer with the same features."""
        return LAYERS[self.id]

    @property
    def source(self) -> str:
        """The relation a ``bbox`` filters and pages order."""
        return self.rows if self.rows is not None else self.layer.source

    @property
    def key(self) -> str:
        """The key column of the relation (the feature id)."""
        return self.layer.key

    @property
    def geom(self) -> str:
        """The geometry column of the relation."""
        return self.layer.geom

    @property
    def filter(self) -> str:
        """The rows of the collection (those with a geometry)."""
        return f"{self.geom} IS NOT NULL"


#: Every collection, by id, in the order of ``/collections``.
COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in [
        Collection("districts"),
        Collection("streets"),
        Collection("communities"),
        Collection("grids", gq.grids_sql()),
        Collection("micro_grids", gq.micro_grids_sql()),
        Collection("unit_grids"),
        Collection("roads"),
        Collection("buildings"),
        Collection("doorplates"),
        Collection("events"),
        Collection("sensors"),
    ]
}


def parse_crs(value: str | None) -> str:
    """The :mod:`common.coords` system of a ``crs`` / ``bbox-crs`` value (URI or short name)."""
    if value is None:
        return "wgs84"
    text = value.strip().strip("<>")
    if text in CRS_URIS:
        return CRS_URIS[text]
    try:
        return system_name(text)
    except InvalidInput:
        raise InvalidInput(
            f"unsupported crs {value!r}; supported: {', '.join(ADVERTISED_CRS)} "
            "(or the short names wgs84, cgcs2000, gcj02, bd09)",
            crs=value,
        ) from None


def parse_bbox(text: str, crs: str = "wgs84") -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` in ``crs`` → a WGS84 box; :class:`InvalidInput` if bad.

    >>> parse_bbox("121.48,31.22,121.5,31.24")
    (121.48, 31.22, 121.5, 31.24)
    """
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            f"bbox {text!r} must be four numbers minlon,minlat,maxlon,maxlat", bbox=text
        )
    w, s, e, n = values
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InvalidInput(
            f"bbox {text!r} needs minlon < maxlon within [-180, 180] and minlat < maxlat "
            "within [-90, 90]",
            bbox=text,
        )
    if crs == "wgs84" or crs == "cgcs2000":
        return w, s, e, n
    corners = shapely.points([(w, s), (w, n), (e, s), (e, n)])
    back = transform_geometry(corners, crs, "wgs84")
    xy = shapely.get_coordinates(back)
    return (
        float(xy[:, 0].min()),
        float(xy[:, 1].min()),
        float(xy[:, 0].max()),
        float(xy[:, 1].max()),
    )


def _bbox_sql(
    c: Collection, bbox: tuple[float, float, float, float] | None
) -> tuple[str, list[Any]]:
    if bbox is None:
        return c.filter, []
    env = "ST_MakeEnvelope(?, ?, ?, ?)"
    sql = f"{c.filter} AND {c.geom} && {env} AND ST_Intersects({c.geom}, {env})"
    return sql, [*bbox, *bbox]


def count(
    con: duckdb.DuckDBPyConnection, c: Collection, bbox: tuple[float, float, float, float] | None
) -> int:
    """Features of ``c`` meeting ``bbox`` (all when ``None``)."""
    where, params = _bbox_sql(c, bbox)
    row = con.execute(f"SELECT count(*) FROM ({c.source}) WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def page(
    con: duckdb.DuckDBPyConnection,
    c: Collection,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> list[tuple[Any, ...]]:
    """Rows ``(key, wkb, *properties)`` of one page, ordered by key."""
    where, params = _bbox_sql(c, bbox)
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT {c.key} FROM ({c.source}) WHERE {where} ORDER BY {c.key} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    ]
    if not keys:
        return []
    return rows_by_key(con, c, keys)


def rows_by_key(
    con: duckdb.DuckDBPyConnection, c: Collection, keys: list[Any]
) -> list[tuple[Any, ...]]:
    """Rows ``(key, wkb, *properties)`` of the given keys, in that order (missing ones left out)."""
    cols = ", ".join(("key", "wkb", *c.layer.properties))
    rows = con.execute(
        f"SELECT {cols} FROM ({c.layer.sql}) WHERE key IN (SELECT unnest(?))", [keys]
    ).fetchall()
    spec = c.layer
    if spec.block_level is not None and rows:  # public block counts, as in tiles
        names = spec.properties
        columns = {n: [r[2 + i] for r in rows] for i, n in enumerate(names)}
        public = public_blocks(con, spec.block_level, [r[0] for r in rows], columns)
        rows = [(r[0], r[1], *(public[n][j] for n in names)) for j, r in enumerate(rows)]
    by_key = {r[0]: r for r in rows}
    return [by_key[k] for k in keys if k in by_key]


def extent(con: duckdb.DuckDBPyConnection, c: Collection) -> list[float] | None:
    """WGS84 ``[minlon, minlat, maxlon, maxlat]`` of the collection, ``None`` when empty."""
    g = c.geom
    row = con.execute(
        f"SELECT min(ST_XMin({g})), min(ST_YMin({g})), max(ST_XMax({g})), max(ST_YMax({g})) "
        f"FROM ({c.source}) WHERE {c.filter}"
    ).fetchone()
    if not row or row[0] is None:
        return None
    return [round(float(v), 7) for v in row]


def features_json(rows: list[tuple[Any, ...]], c: Collection, crs: str) -> list[bytes]:
    """GeoJSON ``Feature`` objects (bytes) of the rows, coordinates in ``crs``."""
    if not rows:
        return []
    geoms = shapely.from_wkb(np.asarray([r[1] for r in rows], dtype=object))
    if crs not in ("wgs84", "cgcs2000"):
        geoms = transform_geometry(geoms, "wgs84", crs)
    texts = shapely.to_geojson(geoms)
    names = c.layer.properties
    out = []
    for row, text in zip(rows, texts, strict=True):
        props = dict(zip(names, row[2:], strict=True))
        out.append(
            b'{"type":"Feature","id":'
            + orjson.dumps(row[0])
            + b',"geometry":'
            + (text.encode() if text is not None else b"null")
            + b',"properties":'
            + orjson.dumps(props, default=str)
            + b"}"
        )
    return out
