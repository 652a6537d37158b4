"""A Shenzhen-size city made from the sample, for benchmarks (deterministic, seeded).

:func:`generate_sources` tiles the sample's building footprints (and its roads, land use and
POIs) over a grid of tiles, jitters every building by a few metres, scales heights so that the
estimated rooms average :data:`ROOMS_PER_BUILDING` (Shenzhen: ≈ 11 million rooms in ≈ 600,000
buildings; the Bund sample alone averages ~100), renames roads per tile and re-codes everything
into a synthetic 深圳市 (4403): :data:`DISTRICTS` districts, :data:`STREETS` streets and
:data:`COMMUNITIES` communities laid out as a grid, given to the build as *official* community
boundaries. Everything is vectorised (shapely 2 / numpy); ``scale`` shrinks the city (tiles,
communities, streets and districts) proportionally.

:func:`generate_city` builds the register of that city into a store (bulk Arrow writes and SQL
room expansion, see :func:`address_registry.build.build_registry`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from address_registry import _buildings, _rooms
from address_registry._crs import metric_crs_for
from address_registry._inputs import WGS84, Sources, load_sample
from common.errors import InvalidInput

#: Full-scale targets (Shenzhen).
BUILDINGS = 600_000
ROOMS = 11_000_000
DISTRICTS = 10
STREETS = 75
COMMUNITIES = 650
ROOMS_PER_BUILDING = ROOMS / BUILDINGS
#: Where the generated city lies: its south-west corner (Shenzhen) and the metric CRS there.
ORIGIN_LONLAT = (113.75, 22.45)
ORIGIN_CRS = "EPSG:4547"  # CGCS2000 3-degree GK CM 114E
#: Standard deviation of the jitter of each building (metres).
JITTER_M = 3.0


def _grid(n: int, width: float, height: float) -> tuple[int, int]:
    """Columns and rows of a near-square grid of at least ``n`` cells over ``width × height``."""
    cols = max(1, round(math.sqrt(n * width / height)))
    rows = max(1, math.ceil(n / cols))
    return cols, rows


def _height_factor(heights: np.ndarray, use: np.ndarray, footprint: np.ndarray) -> float:
    """Scale of heights giving :data:`ROOMS_PER_BUILDING` estimated rooms on average."""
    factor = 1.0
    for _ in range(8):
        floors = np.clip(np.round(heights * factor / _buildings.STOREY_M), 1, 899).astype(np.int64)
        plans = _rooms.room_plans(
            np.arange(len(use)).astype(str).astype(object), use, floors, footprint
        )
        units = np.maximum(plans["units"].to_numpy(), 1)
        rooms = (units * plans["per_unit"] * (plans["floor_to"] - plans["floor_from"] + 1)).sum()
        mean = rooms / len(use)
        if abs(mean / ROOMS_PER_BUILDING - 1) < 0.01:
            break
        factor *= ROOMS_PER_BUILDING / mean
    return factor


def _tile(geoms: np.ndarray, offsets: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
    """Copies of ``geoms`` (metric) translated by each offset (tile-major), plus per-copy jitter."""
    n, t = len(geoms), len(offsets)
    copies = np.tile(geoms, t)
    shift = np.repeat(offsets, n, axis=0)
    if jitter is not None:
        shift = shift + jitter
    counts = shapely.get_num_coordinates(copies)
    per_coord = np.repeat(shift, counts, axis=0)
    return shapely.transform(copies, lambda xy: xy + per_coord)


def generate_sources(
    scale: float = 1.0,
    *,
    seed: int | None = None,
    data_dir: str | Path | None = None,
    sample: Sources | None = None,
) -> Sources:
    """The inputs of a generated city (see the module docstring).

    Parameters
    ----------
    scale
        Fraction of the full city (``1.0`` ≈ 600,000 buildings; ``0.1`` ≈ 60,000).
    seed
        Seed of the jitter; default the settings' seed.
    data_dir
        The sample city directory; default the settings' ``data_dir``.
    sample
        The sample already loaded (saves reading it again).
    """
    from common.settings import get_settings

    if not 0 < scale <= 4:
        raise InvalidInput(f"scale must be in (0, 4], got {scale!r}")
    settings = get_settings()
    rng = np.random.default_rng(settings.seed if seed is None else seed)
    if sample is None:
        sample = load_sample(Path(data_dir) if data_dir is not None else settings.data_dir)
    crs = metric_crs_for(sample.buildings)
    assert sample.extent is not None
    extent = gpd.GeoSeries([sample.extent], crs=WGS84).to_crs(crs).iloc[0]
    x0, y0, x1, y1 = extent.bounds
    width, height = x1 - x0, y1 - y0

    b = sample.buildings
    gtype = shapely.get_type_id(np.asarray(b.geometry.values))
    keep = (b["kind"] == "building").to_numpy() & np.isin(gtype, [3, 6])
    b = b[keep]
    base = shapely.make_valid(np.asarray(b.to_crs(crs).geometry.values))
    good = np.isin(shapely.get_type_id(base), [3, 6]) & ~shapely.is_empty(base)
    b, base = b[good], base[good]
    base = shapely.transform(base, lambda xy: xy - np.array([x0, y0]))
    footprint = shapely.area(base)
    use, _ = _buildings.classify_use(b, footprint, sample.pois, sample.landuse)
    heights = b["height"].to_numpy(dtype=float)
    est = _buildings.estimate_floors(use, footprint) * _buildings.STOREY_M
    heights = np.where(heights > 0, heights, est)
    heights = heights * _height_factor(heights, use, footprint)

    n_tiles = max(1, round(BUILDINGS * scale / len(b)))
    cols, rows = _grid(n_tiles, width, height)
    tiles = np.arange(n_tiles)
    offsets = np.column_stack([(tiles % cols) * width, (tiles // cols) * height])
    n = len(b) * n_tiles
    jitter = rng.normal(0.0, JITTER_M, size=(n, 2))
    geoms = _tile(base, offsets, jitter)
    tile_of = np.repeat(tiles, len(b))
    source_id = (
        pd.Series(np.tile(b["source_id"].to_numpy(dtype=object), n_tiles)).astype(str)
        + "@"
        + pd.Series(tile_of).astype(str).str.zfill(4)
    )
    buildings = gpd.GeoDataFrame(
        {
            "source_id": source_id.to_numpy(dtype=object),
            "kind": "building",
            "root_id": None,
            "name": None,
            "name_en": None,
            "old_name": None,
            "height": np.round(np.tile(heights, n_tiles), 1),
            "levels": np.nan,
            "kind_detail": np.tile(b["kind_detail"].to_numpy(dtype=object), n_tiles),
            "addr_street": None,
            "addr_housenumber": None,
        },
        geometry=_place(geoms),
        crs=WGS84,
    )
    roads = _tile_frame(sample.roads, extent, crs, (x0, y0), offsets, rename=True)
    landuse = _tile_frame(sample.landuse, extent, crs, (x0, y0), offsets)
    pois = _tile_frame(sample.pois, extent, crs, (x0, y0), offsets)
    pois["name"] = None
    divisions, districts, communities = _divisions(scale, cols * width, rows * height)
    return Sources(
        buildings=buildings,
        roads=roads,
        pois=pois,
        landuse=landuse,
        districts=districts,
        divisions=divisions,
        extent=None,
        boundaries=communities,
        boundary_level="community",
        label=f"generated:scale={scale:g};seed={settings.seed if seed is None else seed}",
    )


def _place(local: np.ndarray) -> np.ndarray:
    """Local metric coordinates (origin 0, 0) → WGS84 around :data:`ORIGIN_LONLAT`."""
    origin = gpd.GeoSeries([shapely.Point(*ORIGIN_LONLAT)], crs=WGS84).to_crs(ORIGIN_CRS).iloc[0]
    moved = shapely.transform(local, lambda xy: xy + np.array([origin.x, origin.y]))
    return np.asarray(gpd.GeoSeries(moved, crs=ORIGIN_CRS).to_crs(WGS84).values)


def _tile_frame(
    frame: gpd.GeoDataFrame,
    extent: shapely.Geometry,
    crs: str,
    origin: tuple[float, float],
    offsets: np.ndarray,
    *,
    rename: bool = False,
) -> gpd.GeoDataFrame:
    metric = frame.to_crs(crs)
    clipped = shapely.intersection(np.asarray(metric.geometry.values), extent)
    keep = ~shapely.is_empty(clipped)
    base = shapely.transform(clipped[keep], lambda xy: xy - np.array(origin))
    attrs = metric.drop(columns=[metric.geometry.name])[keep].reset_index(drop=True)
    tiles = np.repeat(np.arange(len(offsets)), len(attrs))
    out = pd.concat([attrs] * len(offsets), ignore_index=True)
    out["source_id"] = (
        out["source_id"].astype(str) + "@" + pd.Series(tiles).astype(str).str.zfill(4)
    )
    if rename:
        out["name"] = (out["name"] + "·" + pd.Series(tiles).astype(str).str.zfill(3)).where(
            out["name"].notna(), None
        )
    return gpd.GeoDataFrame(out, geometry=_place(_tile(base, offsets)), crs=WGS84)


def _divisions(
    scale: float, width: float, height: float
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The synthetic division table, district polygons and community boundaries (a grid)."""
    cc, cr = _grid(max(1, round(COMMUNITIES * scale)), width, height)
    sc, sr = _grid(max(1, round(STREETS * scale)), width, height)
    sc, sr = min(sc, cc), min(sr, cr)
    dc, dr = _grid(max(1, round(DISTRICTS * scale)), width, height)
    dc, dr = min(dc, sc), min(dr, sr)
    col = np.tile(np.arange(cc), cr)
    row = np.repeat(np.arange(cr), cc)
    s_col, s_row = col * sc // cc, row * sr // cr
    d_col, d_row = s_col * dc // sc, s_row * dr // sr
    district = d_row * dc + d_col
    street_key = s_row * sc + s_col
    cells = pd.DataFrame({"district": district, "street_key": street_key, "col": col, "row": row})
    cells["district_code"] = "4403" + (cells["district"] + 1).astype(str).str.zfill(2)
    streets = cells.drop_duplicates("street_key").sort_values(["district", "street_key"])
    streets["street_code"] = streets["district_code"] + (
        streets.groupby("district").cumcount() + 1
    ).astype(str).str.zfill(3)
    cells = cells.merge(streets[["street_key", "street_code"]], on="street_key")
    cells = cells.sort_values(["street_code", "row", "col"]).reset_index(drop=True)
    cells["code"] = cells["street_code"] + (cells.groupby("street_code").cumcount() + 1).astype(
        str
    ).str.zfill(3)
    w, h = width / cc, height / cr
    boxes = shapely.box(
        cells["col"] * w, cells["row"] * h, (cells["col"] + 1) * w, (cells["row"] + 1) * h
    )
    boxes = shapely.segmentize(boxes, 100.0)
    communities = gpd.GeoDataFrame(
        {"code": cells["code"].to_numpy()}, geometry=_place(boxes), crs=WGS84
    )
    dists = sorted(cells["district_code"].unique())
    rows: list[tuple[Any, ...]] = [
        ("44", "广东省", "province", None),
        ("4403", "深圳市", "city", "44"),
    ]
    rows += [(d, f"生成{i + 1}区", "district", "4403") for i, d in enumerate(dists)]
    rows += [
        (s, f"生成{s[-3:]}街道", "street", s[:6]) for s in sorted(cells["street_code"].unique())
    ]
    rows += [(c, f"生成{c[-3:]}社区居委会", "community", c[:9]) for c in cells["code"]]
    divisions = pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"], dtype=object)
    merged = communities.assign(district=cells["district_code"].to_numpy()).dissolve(
        by="district", sort=True
    )
    districts = gpd.GeoDataFrame(
        {"code": merged.index.to_numpy(), "name": [f"生成{i + 1}区" for i in range(len(merged))]},
        geometry=merged.geometry.to_numpy(),
        crs=WGS84,
    )
    return divisions, districts, communities


def generate_city(
    con: duckdb.DuckDBPyConnection | str | Path,
    scale: float = 1.0,
    *,
    seed: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Generate the city and build its register into ``con``; returns the build report."""
    from address_registry.build import build_registry

    sources = generate_sources(scale, seed=seed)
    return build_registry(con, sources=sources, progress=progress)
