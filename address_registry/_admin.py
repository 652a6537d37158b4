"""Admin areas: the division table, official district polygons, derived street/community boundaries.

Derivation (sample city, no official street or community boundaries):

1. The *part* of each district inside the sample extent (extent ∩ district polygon).
2. *Blocks*: the part cut by every named or unnamed road that is not a footpath
   (``shapely.polygonize`` of the roads clipped to the part plus the part's outline). The blocks
   tile the part exactly.
3. *Seeds*: a community named after a road (汉口路居委会) is seeded on that road; one named like a
   residential estate (三航居委会 ~ 三航小区) on that estate polygon (longest common name prefix of
   at least two characters, ties dropped).
4. The street of a block: the only street of the district part, else the side of the dividing
   road (:data:`STREET_DIVIDERS`: 南京东路街道 west of 河南中路, 外滩街道 east of it). Within its
   street a block goes to the community whose seed is nearest its representative point when
   that is within :data:`SEED_REACH_M` (seeds may lie just outside the sample).
5. Blocks left over in a street are ordered along a Hilbert curve and cut into runs of about
   :data:`TARGET_COMMUNITY_M2` each, given to the street's unseeded communities in code order
   (when there are none, to the nearest seeded community).
6. A community is the union of its blocks; a street the union of its communities. So communities
   tile their street and streets tile the district part, by construction.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from address_registry._quarantine import Quarantine
from common.errors import InvalidInput

#: Streets whose boundaries the sample derives, per district.
SAMPLE_STREETS: dict[str, tuple[str, ...]] = {
    "310101": ("310101002", "310101013"),
    "310115": ("310115005",),
}
#: Roads dividing two streets of one district: (road, street west of it, street east of it).
STREET_DIVIDERS: tuple[tuple[str, str, str], ...] = (("河南中路", "310101002", "310101013"),)
#: A block farther than this from every seed is left for the unseeded communities.
SEED_REACH_M = 250.0
#: Size of a community made for an unseeded 居委会 (central Shanghai: 0.2-0.3 km² each).
TARGET_COMMUNITY_M2 = 250_000.0

#: Old names of districts as dated aliases: (alias, current code, former code, last day official).
#: Dates are the State Council approvals as announced (from memory; see docs/registry.md).
DISTRICT_ALIASES: tuple[tuple[str, str, str, str], ...] = (
    ("卢湾区", "310101", "310103", "2011-06-08"),
    ("南汇区", "310115", "310119", "2009-05-06"),
    ("闸北区", "310106", "310108", "2015-11-04"),
    ("南市区", "310101", "310102", "2000-06-13"),
)

_SUFFIXES = (
    "社区居委会",
    "居民委员会",
    "居委会",
    "村委会",
    "街道办事处",
    "街道",
    "镇",
    "乡",
    "新区",
    "区",
    "县",
)


def short_name(name: str, level: str) -> str:
    """The name without its level suffix (汉口路居委会 → 汉口路; 浦东新区 → 浦东)."""
    if level in ("province", "city"):
        return name
    for suffix in _SUFFIXES:
        if (
            name.endswith(suffix)
            and len(name) > len(suffix) + (0 if level == "community" else 1) - 1
        ):
            stripped = name[: -len(suffix)]
            if len(stripped) >= 2 or level == "community":
                return stripped
    return name


def division_rows(divisions: pd.DataFrame) -> pd.DataFrame:
    """``admin_areas`` rows of the division table, no geometry yet."""
    frame = divisions.copy()
    frame["code"] = frame["code"].astype(str)
    frame["parent_code"] = frame["parent_code"].where(frame["parent_code"].notna(), None)
    frame["short_name"] = [
        short_name(n, lv) for n, lv in zip(frame["name"], frame["level"], strict=True)
    ]
    frame["boundary_source"] = None
    frame["boundary_method"] = None
    frame["geometry"] = None
    return frame.drop_duplicates("code").sort_values("code").reset_index(drop=True)


def district_part(extent: BaseGeometry, district: BaseGeometry) -> BaseGeometry:
    """The part of a district (metric) inside the sample extent (metric): polygons only."""
    part = shapely.intersection(extent, district)
    polys = [g for g in shapely.get_parts(part) if g.geom_type == "Polygon" and g.area > 1.0]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def blocks(part: BaseGeometry, roads: gpd.GeoSeries) -> gpd.GeoSeries:
    """Cut ``part`` (metric) by ``roads`` into blocks that tile it exactly."""
    # clip to a slightly larger area so that every road crosses the outline: a road ending
    # exactly on it would be left dangling by floating-point noise and cut nothing
    clipped = shapely.intersection(np.asarray(roads.values), part.buffer(1.0))
    lines = [g for g in clipped if not g.is_empty]
    noded = shapely.union_all([*lines, part.boundary])
    faces = shapely.get_parts(shapely.polygonize(list(shapely.get_parts(noded))))
    inside = (
        shapely.contains(part, shapely.point_on_surface(faces))
        if len(faces)
        else np.array([], bool)
    )
    faces = faces[inside]
    return gpd.GeoSeries(faces, crs=roads.crs)


def _prefix_len(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def seeds(
    communities: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    estates: gpd.GeoDataFrame,
    part: BaseGeometry,
) -> pd.DataFrame:
    """Seed geometries of the communities (``code, seed_kind, seed_name, geometry``).

    Seeds are clipped to ``part`` grown by :data:`SEED_REACH_M`: a road just outside the sample
    still pulls the blocks next to it.
    """
    out = []
    part = part.buffer(SEED_REACH_M)
    named_roads = roads[roads["name"].isin(set(communities["short_name"]))]
    by_name = named_roads.groupby("name").geometry.apply(
        lambda s: shapely.union_all(np.asarray(s.values))
    )
    for code, short in zip(communities["code"], communities["short_name"], strict=True):
        if short in by_name.index:
            geom = shapely.intersection(by_name[short], part)
            if not geom.is_empty:
                out.append((code, "road", short, geom))
    est = estates[estates["name"].notna()]
    shorts = list(zip(communities["code"], communities["short_name"], strict=True))
    for name, geom in zip(est["name"], est.geometry, strict=True):
        scores = [(_prefix_len(name, s), c) for c, s in shorts]
        if not scores:
            continue
        best = max(s for s, _ in scores)
        winners = [c for s, c in scores if s == best]
        if best >= 2 and len(winners) == 1:
            clipped = shapely.intersection(geom, part)
            if not clipped.is_empty:
                out.append((winners[0], "estate", name, clipped))
    frame = pd.DataFrame(out, columns=["code", "seed_kind", "seed_name", "geometry"])
    if frame.empty:
        return frame
    return (
        frame.groupby("code", sort=True)
        .agg(
            seed_kind=("seed_kind", "first"),
            seed_name=("seed_name", lambda s: "、".join(sorted(set(s)))),
            geometry=("geometry", lambda s: shapely.union_all(list(s))),
        )
        .reset_index()
    )


def west_of(points: np.ndarray, line: Any) -> np.ndarray:
    """Whether each point lies west of ``line`` (a roughly north-south road), metric CRS."""
    nearest = shapely.line_interpolate_point(line, shapely.line_locate_point(line, points))
    return shapely.get_x(points) < shapely.get_x(nearest)


def _street_of_blocks(
    reps: np.ndarray, streets: list[str], roads: gpd.GeoDataFrame
) -> tuple[np.ndarray, str]:
    if len(streets) == 1:
        return np.full(len(reps), streets[0], dtype=object), "single_street_in_district_part"
    for divider, west, east in STREET_DIVIDERS:
        if {west, east} == set(streets):
            line = shapely.line_merge(
                shapely.union_all(np.asarray(roads.loc[roads["name"] == divider].geometry.values))
            )
            if line.is_empty:
                break
            side = west_of(reps, line)
            return np.where(side, west, east).astype(object), f"divider_road={divider}"
    raise InvalidInput(f"no dividing road configured between streets {streets!r}")


def derive_part(
    part: BaseGeometry,
    streets: list[str],
    communities: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    estates: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Assign the blocks of one district part to the communities of ``streets``.

    Returns ``code, boundary_method, geometry`` for every community that receives blocks.
    """
    cut = roads[roads["road_class"].isin(["major", "minor", "lane"])]
    faces = blocks(part, cut.geometry)
    reps = shapely.point_on_surface(np.asarray(faces.values))
    areas = shapely.area(np.asarray(faces.values))
    hilbert = (
        gpd.GeoSeries(reps, crs=faces.crs).hilbert_distance(total_bounds=part.bounds).to_numpy()
    )
    street_of, street_rule = _street_of_blocks(reps, streets, roads)
    assign = np.full(len(faces), None, dtype=object)
    method = np.full(len(faces), None, dtype=object)
    for street in streets:
        idx = np.flatnonzero(street_of == street)
        if len(idx) == 0:
            continue
        comms = communities[communities["parent_code"] == street].sort_values("code")
        if comms.empty:
            raise InvalidInput(f"street {street!r} has no community rows in the division table")
        seed = seeds(comms, roads, estates, part)
        left = idx
        if len(seed):
            dist = shapely.distance(reps[idx][:, None], np.asarray(seed.geometry.values)[None, :])
            nearest = dist.argmin(axis=1)
            close = dist[np.arange(len(idx)), nearest] <= SEED_REACH_M
            assign[idx[close]] = seed["code"].to_numpy()[nearest[close]]
            labels = np.asarray(
                [
                    f"{street_rule};road_blocks;seed_{k}={nm};reach={SEED_REACH_M:g}m"
                    for k, nm in zip(seed["seed_kind"], seed["seed_name"], strict=True)
                ],
                dtype=object,
            )
            method[idx[close]] = labels[nearest[close]]
            left = idx[~close]
        if len(left) == 0:
            continue
        unseeded = [c for c in comms["code"] if c not in set(seed["code"] if len(seed) else [])]
        if not unseeded:
            dist = shapely.distance(reps[left][:, None], np.asarray(seed.geometry.values)[None, :])
            assign[left] = seed["code"].to_numpy()[dist.argmin(axis=1)]
            method[left] = f"{street_rule};road_blocks;nearest_seed_beyond_reach"
            continue
        order = left[np.argsort(hilbert[left], kind="stable")]
        total = areas[order].sum()
        k = int(min(len(unseeded), max(1, round(total / TARGET_COMMUNITY_M2))))
        run = np.minimum((np.cumsum(areas[order]) - areas[order] / 2) / total * k, k - 1).astype(
            int
        )
        assign[order] = np.asarray(unseeded[:k], dtype=object)[run]
        method[order] = (
            f"{street_rule};road_blocks;hilbert_runs_of_unseeded_blocks;target={TARGET_COMMUNITY_M2:g}m2"
        )
    frame = gpd.GeoDataFrame(
        {"code": assign, "boundary_method": method}, geometry=faces.values, crs=faces.crs
    )
    merged = frame.dissolve(
        by="code", aggfunc={"boundary_method": "first"}, sort=True
    ).reset_index()
    return pd.DataFrame(merged)


def derive_sample_boundaries(
    admin: pd.DataFrame,
    districts_m: gpd.GeoDataFrame,
    extent_m: BaseGeometry,
    roads_m: gpd.GeoDataFrame,
    estates_m: gpd.GeoDataFrame,
    derive: dict[str, tuple[str, ...]],
) -> pd.DataFrame:
    """Derived community and street geometries (metric CRS): ``code, boundary_method, geometry``."""
    comms = admin[admin["level"] == "community"]
    rows: list[pd.DataFrame] = []
    for dcode, streets in sorted(derive.items()):
        match = districts_m[districts_m["code"] == dcode]
        if match.empty:
            continue
        part = district_part(extent_m, shapely.union_all(np.asarray(match.geometry.values)))
        if part.is_empty:
            continue
        parts = derive_part(part, list(streets), comms, roads_m, estates_m)
        rows.append(parts)
        parent = dict(zip(comms["code"], comms["parent_code"], strict=True))
        by_street = gpd.GeoDataFrame(parts, geometry="geometry", crs=districts_m.crs)
        by_street["street"] = by_street["code"].map(parent)
        st = by_street.dissolve(by="street", sort=True).reset_index()
        rows.append(
            pd.DataFrame(
                {
                    "code": st["street"],
                    "boundary_method": "union_of_derived_communities",
                    "geometry": st.geometry.values,
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["code", "boundary_method", "geometry"])
    return pd.concat(rows, ignore_index=True)


def apply_official(
    admin: pd.DataFrame, official: gpd.GeoDataFrame, level: str, quarantine: Quarantine
) -> pd.DataFrame:
    """Official boundaries of ``level`` (WGS84 ``code, geometry``); unknown codes quarantined."""
    layer = quarantine.layer("admin_boundaries")
    layer.rows_in += len(official)
    known = admin.set_index("code")["level"]
    codes = official["code"].astype(str)
    bad_code = ~codes.isin(known.index)
    quarantine.add(
        "admin_boundaries",
        "boundaries",
        official[bad_code].rename(columns={"code": "source_id"}),
        "unknown_division_code",
        [f"code {c!r} is not in the division table" for c in codes[bad_code]],
    )
    ok = official[~bad_code]
    wrong_level = ok["code"].map(known) != level
    quarantine.add(
        "admin_boundaries",
        "boundaries",
        ok[wrong_level].rename(columns={"code": "source_id"}),
        "wrong_level",
        [f"code {c!r} is a {known[c]}, not a {level}" for c in ok.loc[wrong_level, "code"]],
    )
    ok = ok[~wrong_level]
    geoms = np.asarray(ok.geometry.values)
    empty = shapely.is_empty(geoms) | pd.isna(geoms)
    quarantine.add(
        "admin_boundaries",
        "boundaries",
        ok[empty].rename(columns={"code": "source_id"}),
        "empty_geometry",
        "boundary has no geometry",
    )
    ok = ok[~empty]
    fixed = shapely.make_valid(np.asarray(ok.geometry.values))
    dup = ok["code"].duplicated(keep=False)
    quarantine.add(
        "admin_boundaries",
        "boundaries",
        ok[dup].rename(columns={"code": "source_id"}),
        "duplicate_source_id",
        [f"code {c!r} appears more than once" for c in ok.loc[dup, "code"]],
    )
    keep = ~dup.to_numpy()
    layer.registered += int(keep.sum())
    return pd.DataFrame({"code": ok["code"].to_numpy()[keep], "geometry": fixed[keep]})
