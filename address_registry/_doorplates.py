"""Doorplates (门牌): real ones parsed from OSM addresses, derived ones for the other buildings.

Display forms: ``26号``, ``126弄``, ``126弄9号``, ``12号之1``, ranges ``387-401号``.

Derived doorplates: a building without a real doorplate takes the nearest named road within
:data:`DOORPLATE_REACH_M` (any class but footpaths; not tunnels, bridges or elevated roads); a
building with no such road that near (deep inside a large estate or a park) takes the nearest
one within :data:`DOORPLATE_FALLBACK_M`, so that every building has an address down to the
doorplate. Its position ``s`` along the merged road line
gives the number: ``2 * floor(s / DOORPLATE_SPACING_M) + 1`` on the left of the line's direction
(odd, 左单右双) and ``+ 2`` on the right (even), so numbers increase along the road. Two
buildings on one number, or a number a real doorplate already holds, take 之 sub-numbers
(``12号之1``, ``12号之2`` ...) after the highest real sub-number, so derived plates never collide
with real ones.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Farthest a building may be from a road to take a derived doorplate on it.
DOORPLATE_REACH_M = 150.0
#: Farthest reach for a building that has no road within :data:`DOORPLATE_REACH_M`.
DOORPLATE_FALLBACK_M = 1000.0
#: Road length per number pair (one odd and one even number).
DOORPLATE_SPACING_M = 10.0

#: Roads no building takes a doorplate on (tunnels, elevated roads, bridges, ramps).
NOT_ADDRESSABLE = r"(?:隧道|高架|大桥|立交|匝道|越江)"

_FULLWIDTH = str.maketrans("０１２３４５６７８９－～", "0123456789-~")
_NUMBER = re.compile(
    r"^(?:(?P<lane>\d+)弄)?(?:(?P<house>\d+)(?:[-~](?P<upto>\d+))?号?)?(?:之(?P<sub>\d+))?$"
)
_LANE_STREET = re.compile(r"^(?P<road>.+?[路街道巷浜坊])(?P<lane>\d+)弄$")


def parse_number(street: str | None, housenumber: str | None) -> dict[str, object] | None:
    """Parse an OSM ``addr:street`` / ``addr:housenumber`` pair into doorplate fields.

    Returns ``None`` when the pair is not a doorplate this parser understands.

    >>> parse_number("四川中路126弄", "9")["number"]
    '126弄9号'
    >>> parse_number("中山东一路", "12之1")["number"]
    '12号之1'
    >>> parse_number("九江路", "126弄")["number"]
    '126弄'
    """
    if not street or not housenumber:
        return None
    road = street.strip()
    text = housenumber.strip().translate(_FULLWIDTH).replace("號", "号").replace(" ", "")
    text = re.sub(r"^No\.?", "", text, flags=re.IGNORECASE)
    lane: int | None = None
    lane_street = _LANE_STREET.match(road)
    if lane_street:
        road, lane = lane_street["road"], int(lane_street["lane"])
    match = _NUMBER.match(text)
    if not match or not text:
        return None
    if match["lane"]:
        if lane is not None:
            return None
        lane = int(match["lane"])
    house = int(match["house"]) if match["house"] else None
    sub = int(match["sub"]) if match["sub"] else None
    upto = int(match["upto"]) if match["upto"] else None
    if house is None and lane is None:
        return None
    if upto is not None and house is not None and upto <= house:  # 12-1: a sub-number
        sub, upto = upto, None
    return {
        "road_name": road,
        "lane_no": lane,
        "house_no": house,
        "sub_no": sub,
        "number": display(lane, house, sub, upto),
    }


def display(lane: int | None, house: int | None, sub: int | None, upto: int | None = None) -> str:
    """The display form of a doorplate number."""
    out = f"{lane}弄" if lane is not None else ""
    if house is not None:
        out += f"{house}-{upto}号" if upto is not None else f"{house}号"
    if sub is not None:
        out += f"之{sub}"
    return out


def _nearest_road(
    pts: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, reach: float = DOORPLATE_REACH_M
) -> gpd.GeoDataFrame:
    """The nearest road piece of each point within ``reach`` metres (ties: lowest code).

    One bulk ``dwithin`` query of the STRtree gives the candidate pairs and their distances are
    computed at once: exact, and several times faster than a nearest query per point.
    """
    tree = shapely.STRtree(np.asarray(pieces.geometry.values))
    pi, li = tree.query(np.asarray(pts.geometry.values), predicate="dwithin", distance=reach)
    dist = shapely.distance(
        np.asarray(pts.geometry.values)[pi], np.asarray(pieces.geometry.values)[li]
    )
    pairs = pd.DataFrame(
        {"p": pi, "dist": dist, "road_code": pieces["road_code"].to_numpy()[li]}
    ).sort_values(["p", "dist", "road_code"], kind="stable")
    best = pairs.drop_duplicates("p")
    out = pts.iloc[best["p"].to_numpy()].copy()
    out["road_code"] = best["road_code"].to_numpy()
    out["dist"] = best["dist"].to_numpy()
    return out


def derive_doorplates(
    buildings_m: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, real: pd.DataFrame
) -> pd.DataFrame:
    """Derived doorplates for ``buildings_m`` (metric; ``building_id``, ``geometry``).

    ``roads`` carries ``road_code`` and the metric line ``geom_m``; ``real`` the real doorplates
    (``road_code, lane_no, house_no, sub_no``). Returns ``building_id, road_code, house_no,
    sub_no, side, s`` (no lane: derived plates are on the road itself).
    """
    cols = ["building_id", "road_code", "house_no", "sub_no", "side", "s"]
    usable = roads[
        (roads["road_class"] != "path") & ~roads["name"].str.contains(NOT_ADDRESSABLE, regex=True)
    ]
    if buildings_m.empty or usable.empty:
        return pd.DataFrame(columns=cols)
    lines = gpd.GeoDataFrame(
        {"road_code": usable["road_code"].to_numpy()},
        geometry=np.asarray(usable["geom_m"].values),
        crs=buildings_m.crs,
    )
    # the nearest-road query runs on the single lines (compact boxes), not the merged roads
    parts, owner = shapely.get_parts(np.asarray(lines.geometry.values), return_index=True)
    pieces = gpd.GeoDataFrame(
        {"road_code": lines["road_code"].to_numpy()[owner]}, geometry=parts, crs=buildings_m.crs
    )
    pts = gpd.GeoDataFrame(
        {"building_id": buildings_m["building_id"].to_numpy()},
        geometry=shapely.point_on_surface(np.asarray(buildings_m.geometry.values)),
        crs=buildings_m.crs,
    )
    near = _nearest_road(pts, pieces)
    far = pts[~pts["building_id"].isin(near["building_id"])]
    if not far.empty:
        near = pd.concat([near, _nearest_road(far, pieces, DOORPLATE_FALLBACK_M)])
    if near.empty:
        return pd.DataFrame(columns=cols)
    geom_by_code = pd.Series(np.asarray(lines.geometry.values), index=lines["road_code"].to_numpy())
    road_lines = geom_by_code.loc[near["road_code"].to_numpy()].to_numpy()
    points = np.asarray(near.geometry.values)
    s = shapely.line_locate_point(road_lines, points)
    total = shapely.length(road_lines)
    a = shapely.line_interpolate_point(road_lines, np.clip(s - 1.0, 0, total))
    b = shapely.line_interpolate_point(road_lines, np.clip(s + 1.0, 0, total))
    cross = (shapely.get_x(b) - shapely.get_x(a)) * (shapely.get_y(points) - shapely.get_y(a)) - (
        shapely.get_y(b) - shapely.get_y(a)
    ) * (shapely.get_x(points) - shapely.get_x(a))
    left = cross >= 0
    house = 2 * np.floor(s / DOORPLATE_SPACING_M).astype(np.int64) + np.where(left, 1, 2)
    out = pd.DataFrame(
        {
            "building_id": near["building_id"].to_numpy(),
            "road_code": near["road_code"].to_numpy(),
            "house_no": house,
            "side": np.where(left, "odd", "even"),
            "s": s,
        }
    )
    real_plain = real[real["lane_no"].isna() & real["house_no"].notna()]
    taken = (
        real_plain.assign(sub=real_plain["sub_no"].fillna(0))
        .groupby(["road_code", "house_no"])["sub"]
        .max()
        .rename("real_sub")
        .reset_index()
    )
    taken["house_no"] = taken["house_no"].astype(np.int64)
    out = out.merge(taken, on=["road_code", "house_no"], how="left")
    out = out.sort_values(["road_code", "house_no", "s", "building_id"]).reset_index(drop=True)
    rank = out.groupby(["road_code", "house_no"]).cumcount()
    has_real = out["real_sub"].notna()
    sub = np.where(has_real, out["real_sub"].fillna(0) + 1 + rank, np.where(rank > 0, rank, 0))
    out["sub_no"] = pd.array(np.where(sub > 0, sub, 0), dtype="Int64")
    out.loc[out["sub_no"] == 0, "sub_no"] = pd.NA
    return out[cols]
