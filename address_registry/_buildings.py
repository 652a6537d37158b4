"""Buildings: validation, parts, community, use, height and floors, estates.

Every rule here is vectorised over the whole layer (GeoPandas / shapely 2 / numpy).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from address_registry._quarantine import Quarantine

#: Storey height used to turn heights into floors and estimated floors into heights.
STOREY_M = 3.2

#: OSM ``building`` / tilezen ``kind_detail`` → use.
KIND_USE = {
    **dict.fromkeys(
        [
            "apartments",
            "residential",
            "house",
            "dormitory",
            "terrace",
            "detached",
            "semidetached_house",
        ],
        "residential",
    ),
    **dict.fromkeys(
        [
            "commercial",
            "retail",
            "hotel",
            "mall",
            "shop",
            "restaurant",
            "fast_food",
            "cafe",
            "bank",
            "bar",
            "pub",
            "ice_cream",
            "jewelry",
            "supermarket",
            "hostel",
            "cinema",
            "computer",
        ],
        "commercial",
    ),
    **dict.fromkeys(["office", "company", "tower"], "office"),
    **dict.fromkeys(
        [
            "public",
            "government",
            "school",
            "hospital",
            "museum",
            "place_of_worship",
            "arts_centre",
            "post_office",
            "embassy",
            "transportation",
            "attraction",
            "civic",
            "university",
            "train_station",
        ],
        "public",
    ),
    **dict.fromkeys(["industrial", "warehouse", "factory", "communications_tower"], "industrial"),
    **dict.fromkeys(["shed", "gate", "construction", "garage", "roof", "main"], "other"),
}
#: POI kind → use of the building containing it.
POI_USE = {
    **dict.fromkeys(
        [
            "restaurant",
            "hotel",
            "bank",
            "cafe",
            "fast_food",
            "convenience",
            "supermarket",
            "jewelry",
            "ice_cream",
            "bar",
            "shop",
            "clothes",
            "atm",
            "pub",
            "bakery",
            "mall",
            "department_store",
        ],
        "commercial",
    ),
    **dict.fromkeys(["office", "company", "coworking"], "office"),
    **dict.fromkeys(
        [
            "school",
            "hospital",
            "police",
            "museum",
            "place_of_worship",
            "post_office",
            "library",
            "townhall",
            "clinic",
            "kindergarten",
            "theatre",
            "station",
            "ferry_terminal",
        ],
        "public",
    ),
}
#: Land use kind → use of a building inside it.
LANDUSE_USE = {
    "residential": "residential",
    "commercial": "commercial",
    "retail": "commercial",
    "school": "public",
    "hospital": "public",
    "library": "public",
    "place_of_worship": "public",
    "university": "public",
    "industrial": "industrial",
}
#: Default use when nothing says: a house-sized to slab-sized building is residential.
DEFAULT_RESIDENTIAL_M2 = (30.0, 3000.0)


def validate_buildings(
    raw: gpd.GeoDataFrame, quarantine: Quarantine, source: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split the building layer into footprints, parts and points; quarantine what cannot be used.

    Footprints and parts: empty geometry → ``empty_geometry``; invalid geometry repaired with
    ``make_valid`` when the repair is one polygon (safe), else ``invalid_geometry``; a repeated
    source ID → ``duplicate_source_id`` (the first in source-ID order is kept). A part whose root
    is missing becomes a building of its own (``promoted_part``). Returns (buildings, parts, points).
    """
    geoms = np.asarray(raw.geometry.values)
    type_id = np.where(pd.isna(geoms), -1, shapely.get_type_id(geoms))
    polygonal = np.isin(type_id, [3, 6])
    is_part = (raw["kind"] == "building_part").to_numpy()
    is_building = (raw["kind"] == "building").to_numpy()
    points = raw[(type_id == 0) | (~is_part & ~is_building & (type_id != -1))].copy()
    # footprints: kind building (or a part), whatever the geometry says (an empty one is quarantined)
    foot = raw[
        (is_building | is_part)
        & (polygonal | (type_id == -1) | (shapely.is_empty(geoms) & (type_id != 0)))
    ].copy()
    points = points[~points.index.isin(foot.index)]
    for layer, mask in (
        ("buildings", foot["kind"] == "building"),
        ("building_parts", foot["kind"] == "building_part"),
    ):
        quarantine.layer(layer).rows_in += int(mask.sum())
    quarantine.layer("points").rows_in += len(points)
    layer_of = np.where(foot["kind"] == "building", "buildings", "building_parts")

    g = np.asarray(foot.geometry.values)
    empty = pd.isna(g) | shapely.is_empty(g)
    _q(quarantine, foot, empty, layer_of, source, "empty_geometry", "footprint has no geometry")
    keep = ~empty
    valid = np.zeros(len(foot), bool)
    valid[keep] = shapely.is_valid(g[keep])
    bad = keep & ~valid
    repaired = g.copy()
    if bad.any():
        fixed = shapely.make_valid(g[bad])
        polys = np.array([_polygonal(x) for x in fixed], dtype=object)
        safe = np.array([p is not None and p.geom_type == "Polygon" for p in polys])
        repaired[np.flatnonzero(bad)[safe]] = polys[safe]
        unsafe = np.zeros(len(foot), bool)
        unsafe[np.flatnonzero(bad)[~safe]] = True
        reasons = shapely.is_valid_reason(g[unsafe])
        _q(
            quarantine,
            foot,
            unsafe,
            layer_of,
            source,
            "invalid_geometry",
            [f"{r}; make_valid splits it, not repaired" for r in reasons],
        )
        keep &= ~unsafe
    foot = foot.set_geometry(gpd.GeoSeries(repaired, index=foot.index, crs=foot.crs))
    foot["repaired"] = bad
    foot = foot[keep]
    layer_of = layer_of[keep]
    order = np.lexsort((foot["source_id"].astype(str).to_numpy(),))
    foot = foot.iloc[order]
    layer_of = layer_of[order]
    dup = foot.duplicated(["kind", "source_id"], keep="first").to_numpy()
    _q(
        quarantine,
        foot,
        dup,
        layer_of,
        source,
        "duplicate_source_id",
        "an earlier footprint has this source id",
    )
    foot = foot[~dup]
    buildings = foot[foot["kind"] == "building"].copy()
    parts = foot[foot["kind"] == "building_part"].copy()
    orphan = ~parts["root_id"].isin(buildings["source_id"])
    promoted = parts[orphan].assign(kind="building", promoted_part=True)
    parts = parts[~orphan]
    quarantine.layer("building_parts").registered += len(parts) + len(promoted)
    buildings = pd.concat([buildings.assign(promoted_part=False), promoted], ignore_index=True)
    buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=raw.crs)
    buildings = buildings.sort_values("source_id", kind="stable").reset_index(drop=True)
    quarantine.layer("buildings").rows_in += len(promoted)
    return (
        buildings,
        gpd.GeoDataFrame(parts, geometry="geometry", crs=raw.crs),
        gpd.GeoDataFrame(points, geometry="geometry", crs=raw.crs),
    )


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0
    ]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _q(
    quarantine: Quarantine,
    frame: gpd.GeoDataFrame,
    mask: np.ndarray,
    layer_of: np.ndarray,
    source: str,
    reason: str,
    detail: str | list[str],
) -> None:
    mask = np.asarray(mask, bool)
    details = np.asarray(
        detail if not isinstance(detail, str) else [detail] * int(mask.sum()), dtype=object
    )
    if not mask.any():
        return
    sub_layers = layer_of[mask]
    rows = frame[mask]
    for layer in np.unique(sub_layers):
        pick = sub_layers == layer
        quarantine.add(
            str(layer),
            source,
            rows[pick],
            reason,
            list(details[pick]) if len(details) == int(mask.sum()) else list(details),
        )


def merge_parts(buildings: gpd.GeoDataFrame, parts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Union each building's parts into its footprint; height = the tallest of root and parts."""
    if parts.empty:
        buildings["n_parts"] = 0
        return buildings
    grouped = parts.groupby("root_id")
    part_geom = grouped.geometry.apply(lambda s: shapely.union_all(np.asarray(s.values)))
    part_height = grouped["height"].max()
    n_parts = grouped.size()
    idx = buildings["source_id"]
    has = idx.isin(part_geom.index).to_numpy()
    geoms = np.asarray(buildings.geometry.values).copy()
    geoms[has] = shapely.union(geoms[has], part_geom.loc[idx[has]].to_numpy())
    geoms[has] = [_polygonal(g) for g in geoms[has]]
    out = buildings.set_geometry(gpd.GeoSeries(geoms, index=buildings.index, crs=buildings.crs))
    out["height"] = np.fmax(
        out["height"].to_numpy(dtype=float), idx.map(part_height).to_numpy(dtype=float)
    )
    out["n_parts"] = idx.map(n_parts).fillna(0).astype(int).to_numpy()
    return out


def assign_communities(reps: np.ndarray, communities: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the community containing each point (``None`` when none; smallest code on ties)."""
    pts = gpd.GeoDataFrame({"i": np.arange(len(reps))}, geometry=reps, crs=communities.crs)
    hit = gpd.sjoin(pts, communities[["code", "geometry"]], predicate="within", how="inner")
    hit = hit.sort_values(["i", "code"]).drop_duplicates("i")
    out = np.full(len(reps), None, dtype=object)
    out[hit["i"].to_numpy()] = hit["code"].to_numpy()
    return out


def classify_use(
    buildings: gpd.GeoDataFrame,
    footprint: np.ndarray,
    pois: gpd.GeoDataFrame,
    landuse: gpd.GeoDataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Use and its source for each building: OSM tag, then POIs inside, then land use, then default."""
    n = len(buildings)
    use = buildings["kind_detail"].map(KIND_USE).to_numpy(dtype=object)
    src = np.full(n, None, dtype=object)
    src[pd.notna(use)] = "osm_tag"
    geo = gpd.GeoDataFrame(
        {"i": np.arange(n)}, geometry=np.asarray(buildings.geometry.values), crs=buildings.crs
    )
    poi = pois[pois["kind"].isin(POI_USE)]
    if len(poi):
        hit = gpd.sjoin(poi[["kind", "geometry"]], geo, predicate="within", how="inner")
        hit["use"] = hit["kind"].map(POI_USE)
        kinds = hit.groupby("i")["use"]
        per = kinds.first().where(kinds.nunique() == 1, "mixed")
        take = pd.isna(use[per.index.to_numpy()])
        idx = per.index.to_numpy()[take]
        use[idx] = per.to_numpy()[take]
        src[idx] = "poi"
    lu = landuse[
        landuse["kind"].isin(LANDUSE_USE)
        & np.isin(shapely.get_type_id(np.asarray(landuse.geometry.values)), [3, 6])
    ]
    reps = gpd.GeoDataFrame(
        {"i": np.arange(n)},
        geometry=shapely.point_on_surface(np.asarray(buildings.geometry.values)),
        crs=buildings.crs,
    )
    if len(lu):
        hit = gpd.sjoin(reps, lu[["kind", "geometry"]], predicate="within", how="inner")
        hit = hit.sort_values(["i", "kind"]).drop_duplicates("i")
        lu_use = hit["kind"].map(LANDUSE_USE).to_numpy()
        idx = hit["i"].to_numpy()
        # commerce found by POIs inside a residential land use: mixed
        mixed = (lu_use == "residential") & (src[idx] == "poi") & (use[idx] == "commercial")
        use[idx[mixed]] = "mixed"
        take = pd.isna(use[idx])
        use[idx[take]] = lu_use[take]
        src[idx[take]] = "landuse"
    rest = pd.isna(use)
    lo, hi = DEFAULT_RESIDENTIAL_M2
    use[rest] = np.where((footprint[rest] >= lo) & (footprint[rest] <= hi), "residential", "other")
    src[rest] = "default"
    return use.astype(object), src.astype(object)


def estimate_floors(use: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Floors of a building with no height: by use and footprint (documented in docs/registry.md)."""
    fp = footprint
    res = np.select([fp < 150, fp < 600], [2, 6], 12)
    com = np.select([fp < 500, fp < 3000], [3, 6], 10)
    office = np.select([fp < 500, fp < 2000], [5, 12], 20)
    return np.select(
        [
            use == "residential",
            use == "mixed",
            use == "commercial",
            use == "office",
            use == "public",
        ],
        [res, np.maximum(res, 3), com, office, np.where(fp < 1000, 3, 5)],
        np.where(fp < 100, 1, 2),
    ).astype(np.int64)


def heights_and_floors(
    height: np.ndarray, levels: np.ndarray, use: np.ndarray, footprint: np.ndarray
) -> dict[str, np.ndarray]:
    """Height and floors with their estimated flags.

    OSM levels are floors as given; else floors = round(height / STOREY_M) (estimated); with
    neither, floors from :func:`estimate_floors` and height = floors × STOREY_M (both estimated).
    """
    h = np.where(height > 0, height, np.nan)
    lv = np.where(levels > 0, np.round(levels), np.nan)
    from_height = np.maximum(1, np.round(h / STOREY_M))
    est = estimate_floors(use, footprint)
    floors = np.where(~np.isnan(lv), lv, np.where(~np.isnan(h), from_height, est)).astype(np.int64)
    floors = np.clip(floors, 1, 899)
    height_est = np.isnan(h)
    return {
        "floors": floors,
        "floors_estimated": np.isnan(lv),
        "height_m": np.where(height_est, np.where(~np.isnan(lv), lv, est) * STOREY_M, h),
        "height_estimated": height_est,
    }


def enclosure(
    estates_m: gpd.GeoDataFrame, barriers_m: gpd.GeoDataFrame, gates_m: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Closed or open for each estate, with the evidence.

    Walls or fences within 10 m of the estate outline → closed (``walls`` / ``fences``); gates
    within 20 m → closed (``gates``); else a named 小区/村/苑/园/坊 estate is closed by default
    (``default:named_estate``: Shanghai's 新村 and 小区 are gated), an unnamed one open (``default``).
    """
    n = len(estates_m)
    status = np.full(n, None, dtype=object)
    evidence = np.full(n, None, dtype=object)
    rings = gpd.GeoDataFrame(
        {"e": np.arange(n)},
        geometry=shapely.boundary(np.asarray(estates_m.geometry.values)),
        crs=estates_m.crs,
    )
    for frame, dist, label in ((barriers_m, 10.0, None), (gates_m, 20.0, "gates")):
        if frame.empty:
            continue
        hit = gpd.sjoin(
            rings.set_geometry(rings.buffer(dist)),
            frame[["kind", "geometry"]],
            predicate="intersects",
        )
        hit = hit.sort_values(["e", "kind"]).drop_duplicates("e")
        idx = hit["e"].to_numpy()
        free = pd.isna(status[idx])
        status[idx[free]] = "closed"
        evidence[idx[free]] = label or np.where(
            hit["kind"].to_numpy()[free] == "wall", "walls", "fences"
        )
    rest = pd.isna(status)
    named = (
        estates_m["name"]
        .fillna("")
        .str.contains("小区|村|苑|园|坊|公寓|花园", regex=True)
        .to_numpy()
    )
    status[rest] = np.where(named[rest], "closed", "open")
    evidence[rest] = np.where(named[rest], "default:named_estate", "default")
    return status, evidence
