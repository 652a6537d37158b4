"""Roads: segments merged by name into road records with an 11-digit code.

A road record is every named segment of one name (both OSM sources together), its geometry the
merged lines, its district the one holding most of its length, its class the highest class of
its segments (major > minor > lane > path) and ``is_major`` when that class is ``major``. The code
is the district code (6) and a serial (5) given in name order within the district, so the same
sources always give the same codes. Unnamed segments still cut blocks but make no road record:
they are quarantined as ``unnamed_road``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from address_registry._quarantine import Quarantine

_RANK = {"major": 0, "minor": 1, "lane": 2, "path": 3}
_CLASS = {v: k for k, v in _RANK.items()}


def _most_common(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """The most common non-null ``value`` per ``key`` (ties: the smallest), vectorised."""
    counts = frame.dropna(subset=[value]).groupby([key, value]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", value], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)[value]


def _merge_lines(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """One merged (multi)linestring per group, vectorised (``shapely.multilinestrings``)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    lines = shapely.multilinestrings(parts, indices=group[owner])
    out = np.empty(n, dtype=object)
    out[:] = shapely.line_merge(lines)
    return out


def build_roads(
    roads: gpd.GeoDataFrame, districts_m: gpd.GeoDataFrame, crs: str, quarantine: Quarantine
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Merge ``roads`` (WGS84 segments) into road records.

    Returns
    -------
    tuple
        The road records (WGS84, ``road_code, name, district_code, road_class, is_major,
        length_m, source, geometry``; plus ``geom_m`` in the metric CRS), the road aliases
        (``road_code, alias, kind``) and the segments of each road (``road_code, source_id``,
        aggregated into ``roads.source_ids`` by DuckDB).
    """
    count = quarantine.layer("roads")
    count.rows_in += len(roads)
    geoms = np.asarray(roads.geometry.values)
    empty = pd.isna(geoms) | shapely.is_empty(geoms)
    quarantine.add("roads", "osm", roads[empty], "empty_geometry", "road has no geometry")
    segs = roads[~empty]
    lineal = shapely.get_type_id(np.asarray(segs.geometry.values)) != 0
    lineal &= np.isin(shapely.get_type_id(np.asarray(segs.geometry.values)), [1, 2, 5])
    quarantine.add("roads", "osm", segs[~lineal], "not_a_line", "road geometry is not a line")
    segs = segs[lineal]
    dup = segs.duplicated(["source", "source_id"], keep="first") & segs["source_id"].notna()
    quarantine.add("roads", "osm", segs[dup], "duplicate_source_id", "another segment has this id")
    segs = segs[~dup]
    other = ~segs["road_class"].isin(list(_RANK)).to_numpy()
    quarantine.add(
        "roads",
        "osm",
        segs[other],
        "not_a_road",
        [
            f"road class {c!r} (rail, ferry ...) is not addressable"
            for c in segs.loc[other, "road_class"]
        ],
    )
    segs = segs[~other]
    unnamed = segs["name"].isna()
    quarantine.add(
        "roads", "osm", segs[unnamed], "unnamed_road", "segment has no name: cuts blocks only"
    )
    segs = segs[~unnamed].copy()
    seg_m = segs.to_crs(crs)
    mids = shapely.line_interpolate_point(np.asarray(seg_m.geometry.values), 0.5, normalized=True)
    lengths = shapely.length(np.asarray(seg_m.geometry.values))
    pts = gpd.GeoDataFrame({"i": np.arange(len(segs))}, geometry=mids, crs=crs)
    hit = gpd.sjoin(pts, districts_m[["code", "geometry"]], predicate="within", how="left")
    hit = hit[~hit.index.duplicated(keep="first")]
    segs["district_code"] = hit["code"].to_numpy()
    segs["length_m"] = lengths
    segs["geom_m"] = np.asarray(seg_m.geometry.values)
    outside = segs["district_code"].isna()
    share = segs[~outside].groupby(["name", "district_code"])["length_m"].sum().reset_index()
    share = share.sort_values(["name", "length_m", "district_code"], ascending=[True, False, True])
    home = share.drop_duplicates("name").set_index("name")["district_code"]
    no_home = ~segs["name"].isin(home.index)
    quarantine.add(
        "roads",
        "osm",
        segs[no_home].drop(columns=["geom_m"]),
        "outside_districts",
        "road lies outside every district polygon",
    )
    segs = segs[~no_home]
    count.registered += len(segs)
    segs["rank"] = segs["road_class"].map(_RANK).fillna(1).astype(int)
    segs = segs.sort_values(["name", "source", "source_id"]).reset_index(drop=True)
    # the geometry of a road comes from the source that has most of it (the extracts overlap)
    per_source = segs.groupby(["name", "source"], sort=True)["length_m"].sum().reset_index()
    per_source = per_source.sort_values(
        ["name", "length_m", "source"], ascending=[True, False, True]
    )
    best = per_source.drop_duplicates("name").set_index("name")
    chosen = segs[segs["source"].to_numpy() == segs["name"].map(best["source"]).to_numpy()]
    names = np.asarray(sorted(segs["name"].unique()), dtype=object)
    idx = np.searchsorted(names, chosen["name"].to_numpy())
    grouped = segs.groupby("name", sort=True)
    records = pd.DataFrame(
        {
            "name": names,
            "rank": grouped["rank"].min().loc[names].to_numpy(),
            "length_m": best["length_m"].loc[names].to_numpy(),
            "geom": _merge_lines(np.asarray(chosen.geometry.values), idx, len(names)),
            "geom_m": _merge_lines(np.asarray(chosen["geom_m"].values), idx, len(names)),
            "name_en": _most_common(segs, "name", "name_en").reindex(names).to_numpy(dtype=object),
        }
    )
    records["district_code"] = records["name"].map(home)
    records = records.sort_values(["district_code", "name"]).reset_index(drop=True)
    serial = records.groupby("district_code").cumcount() + 1
    records["road_code"] = records["district_code"] + serial.astype(str).str.zfill(5)
    records["road_class"] = records["rank"].map(_CLASS)
    records["is_major"] = records["road_class"] == "major"
    records["source"] = "osm"
    out = gpd.GeoDataFrame(
        records[
            [
                "road_code",
                "name",
                "district_code",
                "road_class",
                "is_major",
                "length_m",
                "source",
                "geom_m",
                "name_en",
            ]
        ],
        geometry=records["geom"].to_numpy(),
        crs="EPSG:4326",
    )
    aliases = out.loc[out["name_en"].notna(), ["road_code", "name_en"]].rename(
        columns={"name_en": "alias"}
    )
    aliases["kind"] = "name_en"
    code_of = pd.Series(out["road_code"].to_numpy(), index=out["name"].to_numpy())
    members = pd.DataFrame(
        {
            "road_code": segs["name"].map(code_of).to_numpy(),
            "source_id": (segs["source"] + ":" + segs["source_id"].astype(str)).to_numpy(),
        }
    )
    return out, aliases.reset_index(drop=True), members
