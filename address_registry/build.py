"""Build the unified address and building register (一标) into the store.

:func:`build_registry` runs the stages of :data:`STAGES` over the sample city (or a city's own
files): admin areas, roads, buildings, estates, doorplates, rooms, history. Rows that cannot be
registered go to ``registry_quarantine`` with a reason; the report counts, per layer, rows in =
registered + quarantined. A rebuild of the same sources gives the same IDs (buildings keep their
ID by source ID; new ones are allocated in source-ID order).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import store
from address_registry import _admin, _buildings, _doorplates, _rooms
from address_registry._allocate import allocate_building_ids_bulk
from address_registry._crs import metric_crs_for, to_metric
from address_registry._inputs import WGS84, Sources, load_sample, read_boundaries
from address_registry._quarantine import Quarantine
from address_registry._write import insert, wkb
from common.errors import InvalidInput

#: Birth year written into the IDs of the initial build.
INITIAL_BIRTH_YEAR = 2024
#: The valid-time date of the initial build (the sample's data is ≤ 2022, roads 2025).
INITIAL_VALID_DATE = date(2024, 1, 1)

STAGES = ("load", "admin", "roads", "buildings", "doorplates", "write", "rooms", "history")

Progress = Callable[[str], None]


def build_registry(
    con: duckdb.DuckDBPyConnection | str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    sources: Sources | None = None,
    boundaries: str | os.PathLike[str] | None = None,
    code_column: str = "code",
    level: str = "community",
    birth_year: int = INITIAL_BIRTH_YEAR,
    valid_date: date = INITIAL_VALID_DATE,
    derive: dict[str, tuple[str, ...]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build (or rebuild) the register.

    Parameters
    ----------
    con
        A store connection, or the path of a store file.
    data_dir
        The sample city directory (``osm/``, ``boundaries/``, ``divisions/``); defaults to the
        settings' ``data_dir``. Ignored when ``sources`` is given.
    sources
        Ready inputs (tests, the scale-up generator).
    boundaries, code_column, level
        A file of official boundaries of ``level`` (code in ``code_column``) to use instead of
        derived ones.
    birth_year, valid_date
        Birth year of new building IDs; valid time of the ``create`` operation.
    derive
        Streets to derive per district (default :data:`address_registry._admin.SAMPLE_STREETS`
        when no boundaries are imported).
    progress
        Called with each stage name as it starts.

    Returns
    -------
    dict
        The build report (also stored in ``registry_builds.report``).
    """
    if not isinstance(con, duckdb.DuckDBPyConnection):
        connection = store.connect(con)
        try:
            return build_registry(
                connection,
                data_dir=data_dir,
                sources=sources,
                boundaries=boundaries,
                code_column=code_column,
                level=level,
                birth_year=birth_year,
                valid_date=valid_date,
                derive=derive,
                progress=progress,
            )
        finally:
            connection.close()
    if level not in ("district", "street", "community"):
        raise InvalidInput(f"boundary level must be district, street or community, got {level!r}")
    step = progress or (lambda _stage: None)
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def stage(name: str | None) -> None:
        now = time.perf_counter()
        if timings:
            timings[list(timings)[-1]] = round(now - clock[0], 3)
        clock[0] = now
        if name is not None:
            timings[name] = 0.0
            step(name)

    stage("load")
    if sources is None:
        from common.settings import get_settings

        sources = load_sample(Path(data_dir) if data_dir is not None else get_settings().data_dir)
    if boundaries is not None:
        sources.boundaries, file_report = read_boundaries(Path(boundaries), code_column, level)
        sources.load_reports.append(file_report)
        sources.boundary_level = level
    q = Quarantine()
    _fold_load_reports(sources, q)
    crs = metric_crs_for(sources.buildings)

    stage("admin")
    admin, aliases = _build_admin(sources, crs, q, derive)

    stage("roads")
    from address_registry._roads import build_roads

    districts_m = sources.districts.to_crs(crs)
    roads, road_aliases, road_members = build_roads(sources.roads, districts_m, crs, q)

    stage("buildings")
    existing = con.execute(
        "SELECT source_id, building_id FROM buildings WHERE source = ? AND source_id IS NOT NULL",
        [_building_source(sources)],
    ).df()
    bld, parts, points = _buildings.validate_buildings(
        sources.buildings, q, _building_source(sources)
    )
    bld = _buildings.merge_parts(bld, parts)
    bld, estates = _place_buildings(bld, admin, sources, crs, q)
    bld = _allocate(con, bld, existing, birth_year)
    points_attached = _attach_points(points, bld, q, _building_source(sources))

    stage("doorplates")
    plates = _doorplates_for(bld, points_attached, roads, road_aliases, crs, q)
    bld = _addresses(bld, plates, admin, roads, estates)
    bld_aliases = _building_aliases(bld, sources, plates)

    stage("write")
    build_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid5(uuid.NAMESPACE_URL, sources.label).hex[:8]}"
    with store.transaction(con, changes=("address_registry",), what="registry build"):
        new_ids = _write_all(
            con,
            road_members,
            admin,
            aliases,
            roads,
            road_aliases,
            estates,
            bld,
            bld_aliases,
            plates,
            q,
            sources,
        )
        stage("rooms")
        plans = _rooms.room_plans(
            bld["building_id"].to_numpy(),
            bld["use"].to_numpy(),
            bld["floors"].to_numpy(),
            bld["footprint_m2"].to_numpy(),
        )
        n_rooms = _rooms.insert_rooms(con, plans)
        con.execute(
            """
            UPDATE buildings b SET households = r.hh, units = r.units, updated_at = current_timestamp
            FROM (
                SELECT building_id, count(*) FILTER (WHERE use = 'household') AS hh,
                       coalesce(max(unit::INTEGER) FILTER (WHERE unit <> '00'), 0) AS units
                FROM rooms WHERE status = 'active' GROUP BY building_id
            ) r
            WHERE b.building_id = r.building_id
            """
        )
        con.execute(
            "UPDATE buildings SET households = 0, units = 0 WHERE households IS NULL AND status = 'active'"
        )
        stage("history")
        op_id = _history(con, new_ids, valid_date, build_id, len(existing) > 0)
        stage(None)
        report = _report(
            q,
            build_id,
            sources,
            started,
            len(bld),
            len(new_ids),
            n_rooms,
            plates,
            op_id,
            timings,
            admin,
            roads,
            estates,
        )
        con.execute(
            "INSERT INTO registry_builds VALUES (?, ?, ?, ?, ?)",
            [
                build_id,
                started,
                datetime.now(UTC),
                sources.label,
                json.dumps(report, ensure_ascii=False),
            ],
        )
    return report


def _fold_load_reports(sources: Sources, q: Quarantine) -> None:
    """Account for the rows the loaders rejected, as layers ``source:<layer>``."""
    for layer, rows_in, rejected in sources.load_reports:
        name = f"source:{layer}"
        count = q.layer(name)
        count.rows_in += rows_in
        count.registered += rows_in - len(rejected)
        if len(rejected):
            frame = rejected.drop(columns=["layer", "source"], errors="ignore")
            for reason, group in frame.groupby("reason", sort=True):
                q.add(
                    name,
                    "loader",
                    group.drop(columns=["reason"]),
                    str(reason),
                    list(group["detail"].astype(str)),
                )


def _building_source(sources: Sources) -> str:
    return "generated" if sources.label.startswith("generated") else "osm"


def _build_admin(
    sources: Sources, crs: str, q: Quarantine, derive: dict[str, tuple[str, ...]] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    admin = _admin.division_rows(sources.divisions)
    layer = q.layer("admin_areas")
    layer.rows_in += len(sources.divisions)
    layer.registered += len(admin)
    dup = len(sources.divisions) - len(admin)
    if dup:
        dups = sources.divisions[sources.divisions["code"].duplicated()]
        q.add(
            "admin_areas",
            "divisions",
            dups.rename(columns={"code": "source_id"}),
            "duplicate_source_id",
            "division code listed twice",
        )
        layer.registered -= 0
    geom = pd.Series([None] * len(admin), index=admin["code"].to_numpy(), dtype=object)
    src = pd.Series([None] * len(admin), index=admin["code"].to_numpy(), dtype=object)
    method = pd.Series([None] * len(admin), index=admin["code"].to_numpy(), dtype=object)
    known = set(admin["code"])
    dist = sources.districts
    unknown = ~dist["code"].isin(known)
    q.layer("districts").rows_in += len(dist)
    q.add(
        "districts",
        "boundaries",
        dist[unknown].rename(columns={"code": "source_id"}),
        "unknown_division_code",
        [f"district code {c!r} is not in the division table" for c in dist.loc[unknown, "code"]],
    )
    ok = dist[~unknown].drop_duplicates("code")
    q.layer("districts").registered += len(ok)
    q.layer("districts").rows_in -= len(dist[~unknown]) - len(ok)
    geom[ok["code"].to_numpy()] = list(shapely.make_valid(np.asarray(ok.geometry.values)))
    src[ok["code"].to_numpy()] = "official"
    method[ok["code"].to_numpy()] = "amap_district_polygon"
    if sources.boundaries is not None:
        official = _admin.apply_official(admin, sources.boundaries, sources.boundary_level, q)
        geom[official["code"].to_numpy()] = list(official["geometry"])
        src[official["code"].to_numpy()] = "official"
        method[official["code"].to_numpy()] = "imported"
        if sources.boundary_level == "community":
            parent = admin.set_index("code")["parent_code"]
            frame = gpd.GeoDataFrame(
                {"street": official["code"].map(parent).to_numpy()},
                geometry=list(official["geometry"]),
                crs=WGS84,
            )
            streets = frame.dissolve(by="street", sort=True)
            for code, g in zip(streets.index, streets.geometry, strict=True):
                if src.get(code) is None:
                    geom[code], src[code], method[code] = (
                        g,
                        "derived",
                        "union_of_official_communities",
                    )
    elif sources.extent is not None:
        extent_m = to_metric([sources.extent], crs)[0]
        roads_m = sources.roads.to_crs(crs)
        lu = sources.landuse
        estates_m = lu[
            (lu["kind"] == "residential")
            & np.isin(shapely.get_type_id(np.asarray(lu.geometry.values)), [3, 6])
        ].to_crs(crs)
        derived = _admin.derive_sample_boundaries(
            admin,
            sources.districts.set_geometry(to_metric(sources.districts.geometry, crs), crs=crs),
            extent_m,
            roads_m,
            estates_m,
            derive if derive is not None else _admin.SAMPLE_STREETS,
        )
        if len(derived):
            back = gpd.GeoSeries(list(derived["geometry"]), crs=crs).to_crs(WGS84)
            geom[derived["code"].to_numpy()] = list(back.values)
            src[derived["code"].to_numpy()] = "derived"
            method[derived["code"].to_numpy()] = derived["boundary_method"].to_numpy()
    admin["geometry"] = geom.loc[admin["code"]].to_numpy()
    admin["boundary_source"] = src.loc[admin["code"]].to_numpy()
    admin["boundary_method"] = method.loc[admin["code"]].to_numpy()
    has = admin["geometry"].notna().to_numpy()
    area = np.full(len(admin), np.nan)
    if has.any():
        area[has] = (
            gpd.GeoSeries(list(admin.loc[has, "geometry"]), crs=WGS84).to_crs(crs).area.to_numpy()
        )
    admin["area_m2"] = area
    aliases = _aliases(admin)
    return admin, aliases


def _aliases(admin: pd.DataFrame) -> pd.DataFrame:
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    known = set(admin["code"])
    for alias, code, former, until in _admin.DISTRICT_ALIASES:
        if code in known:
            rows.append((code, alias, "old_name", None, until))
            rows.append((code, former, "former_code", None, until))
    short = admin[
        (admin["short_name"] != admin["name"])
        & admin["level"].isin(["district", "street", "community"])
    ]
    rows += [
        (c, s, "short_name", None, None)
        for c, s in zip(short["code"], short["short_name"], strict=True)
    ]
    frame = pd.DataFrame(rows, columns=["code", "alias", "kind", "valid_from", "valid_to"])
    return frame.drop_duplicates(["code", "alias"]).reset_index(drop=True)


def _place_buildings(
    bld: gpd.GeoDataFrame, admin: pd.DataFrame, sources: Sources, crs: str, q: Quarantine
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    geoms_m = gpd.GeoSeries(np.asarray(bld.geometry.values), crs=WGS84).to_crs(crs)
    bld["footprint_m2"] = geoms_m.area.to_numpy()
    reps = shapely.point_on_surface(np.asarray(bld.geometry.values))
    bld["lon"], bld["lat"] = shapely.get_x(reps), shapely.get_y(reps)
    comm = admin[(admin["level"] == "community") & admin["geometry"].notna()]
    comm_g = gpd.GeoDataFrame(comm[["code"]], geometry=list(comm["geometry"]), crs=WGS84)
    bld["community_code"] = _buildings.assign_communities(reps, comm_g)
    outside = bld["community_code"].isna().to_numpy()
    q.add(
        "buildings",
        _building_source(sources),
        bld[outside].drop(columns=["community_code"]),
        "outside_communities",
        "representative point lies in no community",
    )
    bld = bld[~outside].reset_index(drop=True)
    q.layer("buildings").registered += len(bld)
    use, use_src = _buildings.classify_use(
        bld, bld["footprint_m2"].to_numpy(), sources.pois, sources.landuse
    )
    bld["use"], bld["use_source"] = use, use_src
    hf = _buildings.heights_and_floors(
        bld["height"].to_numpy(dtype=float),
        bld["levels"].to_numpy(dtype=float),
        use,
        bld["footprint_m2"].to_numpy(),
    )
    for key, value in hf.items():
        bld[key] = value
    estates = _estates(sources, comm_g, crs, q)
    bld["estate_id"] = None
    bld["building_no"] = None
    if len(estates):
        pts = gpd.GeoDataFrame(
            {"i": np.arange(len(bld))}, geometry=shapely.points(bld["lon"], bld["lat"]), crs=WGS84
        )
        hit = (
            gpd.sjoin(pts, estates[["estate_id", "geometry"]], predicate="within")
            .sort_values(["i", "estate_id"])
            .drop_duplicates("i")
        )
        bld.loc[hit["i"].to_numpy(), "estate_id"] = hit["estate_id"].to_numpy()
        inside = bld[bld["estate_id"].notna()]
        order = inside.assign(_y=-inside["lat"].round(4), _x=inside["lon"]).sort_values(
            ["estate_id", "_y", "_x", "source_id"]
        )
        bld.loc[order.index, "building_no"] = (
            (order.groupby("estate_id").cumcount() + 1).astype(str).to_numpy()
        )
    return bld, estates


def _estates(
    sources: Sources, comm_g: gpd.GeoDataFrame, crs: str, q: Quarantine
) -> gpd.GeoDataFrame:
    lu = sources.landuse
    kinds = lu["kind"].to_numpy()
    polys = np.isin(shapely.get_type_id(np.asarray(lu.geometry.values)), [3, 6])
    est = lu[(kinds == "residential") & polys].sort_values("source_id", kind="stable")
    layer = q.layer("estates")
    layer.rows_in += len(est)
    dup = est.duplicated("source_id").to_numpy()
    q.add(
        "estates",
        "osm_landuse",
        est[dup],
        "duplicate_source_id",
        "an earlier land use polygon has this id",
    )
    est = est[~dup].reset_index(drop=True)
    est = est.assign(geometry=shapely.make_valid(np.asarray(est.geometry.values)))
    reps = shapely.point_on_surface(np.asarray(est.geometry.values))
    est["community_code"] = _buildings.assign_communities(reps, comm_g)
    outside = est["community_code"].isna().to_numpy()
    q.add(
        "estates", "osm_landuse", est[outside], "outside_communities", "estate lies in no community"
    )
    est = est[~outside].reset_index(drop=True)
    layer.registered += len(est)
    serial = (est.groupby("community_code").cumcount() + 1).astype(str).str.zfill(4)
    est["estate_id"] = est["community_code"] + serial
    barriers = lu[lu["kind"].isin(["wall", "fence"])].to_crs(crs)
    gates = pd.concat(
        [
            sources.pois[sources.pois["kind"] == "gate"],
            sources.buildings[sources.buildings["kind"] == "entrance"][["kind", "geometry"]],
        ],
        ignore_index=True,
    )
    gates_g = gpd.GeoDataFrame(gates[["kind"]], geometry=list(gates.geometry), crs=WGS84).to_crs(
        crs
    )
    status, evidence = _buildings.enclosure(est.to_crs(crs), barriers, gates_g)
    est["enclosure"], est["enclosure_evidence"] = status, evidence
    return gpd.GeoDataFrame(est, geometry="geometry", crs=WGS84)


def _allocate(
    con: duckdb.DuckDBPyConnection, bld: gpd.GeoDataFrame, existing: pd.DataFrame, birth_year: int
) -> gpd.GeoDataFrame:
    known = dict(zip(existing["source_id"], existing["building_id"], strict=True))
    bld = bld.sort_values("source_id", kind="stable").reset_index(drop=True)
    ids = bld["source_id"].map(known).to_numpy(dtype=object)
    new = pd.isna(ids)
    fresh = bld[new]
    counts = fresh.groupby("community_code").size().to_dict()
    allocated = allocate_building_ids_bulk(
        con, {str(k): int(v) for k, v in counts.items()}, birth_year
    )
    rank = fresh.groupby("community_code").cumcount().to_numpy()
    order = np.lexsort((rank, fresh["community_code"].to_numpy().astype(str)))
    pool = (
        np.concatenate([allocated[c] for c in sorted(allocated)])
        if allocated
        else np.empty(0, object)
    )
    picked = np.empty(len(fresh), dtype=object)
    picked[order] = pool  # communities in code order, serials in source-ID order within each
    ids[new] = picked
    bld["building_id"] = ids
    bld["is_new"] = new
    bld["birth_community_code"] = bld["building_id"].str[:12]
    bld["birth_year"] = bld["building_id"].str[12:16].astype(int)
    return bld


def _attach_points(
    points: gpd.GeoDataFrame, bld: gpd.GeoDataFrame, q: Quarantine, source: str
) -> pd.DataFrame:
    layer = q.layer("points")
    geo = gpd.GeoDataFrame(
        {"building_id": bld["building_id"].to_numpy(), "b_source_id": bld["source_id"].to_numpy()},
        geometry=np.asarray(bld.geometry.values),
        crs=WGS84,
    )
    hit = gpd.sjoin(points, geo, predicate="within", how="left")
    # a label point of a building belongs to it even on its edge
    same = points["source_id"].map(dict(zip(geo["b_source_id"], geo["building_id"], strict=True)))
    hit = hit[~hit.index.duplicated(keep="first")]
    hit["building_id"] = hit["building_id"].where(hit["building_id"].notna(), same.loc[hit.index])
    lost = hit["building_id"].isna().to_numpy()
    q.add(
        "points",
        source,
        points[lost],
        "no_containing_building",
        "point lies in no registered building",
    )
    layer.registered += int((~lost).sum())
    return hit[~lost]


def _doorplates_for(
    bld: gpd.GeoDataFrame,
    points: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    road_aliases: pd.DataFrame,
    crs: str,
    q: Quarantine,
) -> pd.DataFrame:
    pairs = pd.concat(
        [
            pd.DataFrame(
                {
                    "building_id": bld["building_id"],
                    "source_id": bld["source_id"],
                    "street": bld["addr_street"],
                    "housenumber": bld["addr_housenumber"],
                    "lon": bld["lon"],
                    "lat": bld["lat"],
                }
            ),
            pd.DataFrame(
                {
                    "building_id": points["building_id"],
                    "source_id": points["source_id"],
                    "street": points["addr_street"],
                    "housenumber": points["addr_housenumber"],
                    "lon": shapely.get_x(np.asarray(points.geometry.values)),
                    "lat": shapely.get_y(np.asarray(points.geometry.values)),
                }
            ),
        ],
        ignore_index=True,
    )
    pairs = pairs[pairs["street"].notna() & pairs["housenumber"].notna()].reset_index(drop=True)
    layer = q.layer("doorplates")
    layer.rows_in += len(pairs)
    parsed = [
        _doorplates.parse_number(s, h)
        for s, h in zip(pairs["street"], pairs["housenumber"], strict=True)
    ]
    bad = np.array([p is None for p in parsed], dtype=bool)
    q.add(
        "doorplates",
        "osm",
        pairs[bad],
        "unparsed_housenumber",
        [
            f"cannot read {s!r} {h!r} as a doorplate"
            for s, h in zip(pairs.loc[bad, "street"], pairs.loc[bad, "housenumber"], strict=True)
        ],
    )
    good = pairs[~bad].reset_index(drop=True)
    fields = pd.DataFrame([p for p in parsed if p is not None])
    real = (
        pd.concat([good, fields], axis=1)
        if len(good)
        else good.assign(road_name=None, lane_no=None, house_no=None, sub_no=None, number=None)
    )
    by_name = dict(zip(roads["name"], roads["road_code"], strict=True))
    by_alias = {
        _norm_en(a): c
        for a, c in zip(road_aliases["alias"], road_aliases["road_code"], strict=True)
    }
    real["road_code"] = [by_name.get(n) or by_alias.get(_norm_en(n)) for n in real["road_name"]]
    unknown = real["road_code"].isna().to_numpy()
    q.add(
        "doorplates",
        "osm",
        real[unknown],
        "unknown_road",
        [f"no road named {n!r}" for n in real.loc[unknown, "road_name"]],
    )
    real = real[~unknown]
    layer.registered += len(real)
    for col in ("lane_no", "house_no", "sub_no"):
        real[col] = real[col].astype("Int64")
    real = real.sort_values(
        ["road_code", "lane_no", "house_no", "sub_no", "building_id"], na_position="first"
    )
    real = real.drop_duplicates(["road_code", "lane_no", "house_no", "sub_no", "number"]).assign(
        source="osm", side=None
    )
    on_road = real["lane_no"].fillna(real["house_no"])  # a lane's side is its lane number's
    side = np.where(on_road.fillna(0).to_numpy() % 2 == 1, "odd", "even").astype(object)
    side[on_road.isna().to_numpy()] = None
    real["side"] = side
    without = bld[~bld["building_id"].isin(real["building_id"])]
    geo_m = gpd.GeoDataFrame(
        {"building_id": without["building_id"].to_numpy()},
        geometry=np.asarray(without.geometry.values),
        crs=WGS84,
    ).to_crs(crs)
    derived = _doorplates.derive_doorplates(geo_m, roads, real)
    derived = derived.merge(bld[["building_id", "lon", "lat"]], on="building_id")
    sub_text = derived["sub_no"].astype("Int64").astype("string")
    derived["number"] = (
        derived["house_no"].astype("int64").astype(str) + "号" + ("之" + sub_text).fillna("")
    ).astype(object)
    derived = derived.assign(
        source="derived", lane_no=pd.array([pd.NA] * len(derived), dtype="Int64")
    )
    derived = derived.sort_values(
        ["road_code", "house_no", "sub_no", "building_id"], na_position="first"
    )
    plates = pd.concat([real, derived], ignore_index=True)
    plates["serial"] = plates.groupby("road_code").cumcount() + 1
    plates["doorplate_id"] = plates["road_code"] + plates["serial"].astype(str).str.zfill(5)
    return plates.reset_index(drop=True)


def _norm_en(name: object) -> str:
    text = str(name).lower().replace(".", "").replace(" rd", " road").replace(" st", " street")
    return " ".join(text.split())


def _addresses(
    bld: gpd.GeoDataFrame,
    plates: pd.DataFrame,
    admin: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    estates: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    first = plates.sort_values(
        ["building_id", "source", "doorplate_id"], ascending=[True, False, True]
    ).drop_duplicates("building_id")
    bld = bld.merge(
        first[["building_id", "doorplate_id", "road_code", "number"]], on="building_id", how="left"
    )
    names = admin.set_index("code")["name"]
    parent = admin.set_index("code")["parent_code"]
    street = bld["community_code"].map(parent)
    district = street.map(parent)
    city = district.map(parent)
    province = city.map(parent)
    city_name = city.map(names).where(~city.map(names).isin(["市辖区", "县"]), "")
    prefix = (
        province.map(names).fillna("")
        + city_name.fillna("")
        + district.map(names).fillna("")
        + street.map(names).fillna("")
    )
    road_name = bld["road_code"].map(dict(zip(roads["road_code"], roads["name"], strict=True)))
    est_name = (
        bld["estate_id"].map(dict(zip(estates["estate_id"], estates["name"], strict=True)))
        if len(estates)
        else pd.Series(None, index=bld.index)
    )
    estate_part = np.where(
        est_name.notna() & bld["building_no"].notna(),
        est_name.fillna("") + bld["building_no"].fillna("") + "号楼",
        "",
    )
    tail = np.where(
        road_name.notna(),
        road_name.fillna("") + bld["number"].fillna(""),
        bld["community_code"].map(names).fillna(""),
    )
    named_tail = np.where(
        road_name.isna() & bld["name"].notna() & (estate_part == ""), bld["name"].fillna(""), ""
    )
    bld["address"] = prefix + tail + estate_part + named_tail
    bld["estate_name"] = est_name
    bld["road_name"] = road_name
    return bld


def _building_aliases(
    bld: gpd.GeoDataFrame, sources: Sources, plates: pd.DataFrame
) -> pd.DataFrame:
    parts = []
    for col, kind in (("name", "name"), ("name_en", "name_en"), ("old_name", "old_name")):
        sub = bld[bld[col].notna()]
        parts.append(
            pd.DataFrame({"building_id": sub["building_id"], "alias": sub[col], "kind": kind})
        )
    est = bld[bld["estate_name"].notna() & bld["building_no"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "building_id": est["building_id"],
                "alias": est["estate_name"] + est["building_no"] + "号楼",
                "kind": "estate_building",
            }
        )
    )
    roads_name = plates["road_code"].map(
        dict(zip(bld["road_code"].dropna(), bld["road_name"].dropna(), strict=False))
    )
    pl = plates.assign(road_name=roads_name)
    pl = pl[pl["road_name"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "building_id": pl["building_id"],
                "alias": pl["road_name"] + pl["number"],
                "kind": "doorplate",
            }
        )
    )
    pois = sources.pois[sources.pois["name"].notna()]
    if len(pois):
        geo = gpd.GeoDataFrame(
            {"building_id": bld["building_id"].to_numpy()},
            geometry=np.asarray(bld.geometry.values),
            crs=WGS84,
        )
        hit = gpd.sjoin(pois[["name", "geometry"]], geo, predicate="within")
        parts.append(
            pd.DataFrame({"building_id": hit["building_id"], "alias": hit["name"], "kind": "poi"})
        )
    out = pd.concat(parts, ignore_index=True)
    out = out[out["building_id"].notna() & out["alias"].notna()]
    return (
        out.drop_duplicates(["building_id", "alias", "kind"])
        .sort_values(["building_id", "kind", "alias"])
        .reset_index(drop=True)
    )


def _write_all(
    con: duckdb.DuckDBPyConnection,
    road_members: pd.DataFrame,
    admin: pd.DataFrame,
    aliases: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    road_aliases: pd.DataFrame,
    estates: gpd.GeoDataFrame,
    bld: gpd.GeoDataFrame,
    bld_aliases: pd.DataFrame,
    plates: pd.DataFrame,
    q: Quarantine,
    sources: Sources,
) -> list[str]:
    source = _building_source(sources)
    con.execute("DELETE FROM admin_aliases")
    con.execute("DELETE FROM admin_areas")
    con.execute(
        "DELETE FROM road_aliases WHERE road_code IN (SELECT road_code FROM roads WHERE source = 'osm')"
    )
    con.execute("DELETE FROM roads WHERE source = 'osm'")
    con.execute("DELETE FROM estates WHERE source = 'osm_landuse'")
    con.execute("DELETE FROM doorplates WHERE source IN ('osm', 'derived')")
    con.execute("DELETE FROM registry_quarantine")
    ids = pd.DataFrame({"building_id": bld["building_id"].to_numpy()})
    con.register("_ids", ids)
    try:
        for table in ("rooms", "building_aliases", "buildings"):
            con.execute(f"DELETE FROM {table} WHERE building_id IN (SELECT building_id FROM _ids)")
        con.execute(
            "UPDATE buildings SET status = 'retired', retired_by = 'demolish', updated_at = current_timestamp "
            "WHERE source = ? AND status = 'active' AND building_id NOT IN (SELECT building_id FROM _ids)",
            [source],
        )
    finally:
        con.unregister("_ids")
    insert(
        con,
        "admin_areas",
        pd.DataFrame(
            {
                "code": admin["code"],
                "level": admin["level"],
                "name": admin["name"],
                "short_name": admin["short_name"],
                "parent_code": admin["parent_code"],
                "geom": wkb(admin["geometry"].to_numpy()),
                "boundary_source": admin["boundary_source"],
                "boundary_method": admin["boundary_method"],
                "area_m2": admin["area_m2"],
            }
        ),
        geometry=["geom"],
    )
    insert(
        con,
        "admin_aliases",
        aliases.assign(
            valid_from=pd.to_datetime(aliases["valid_from"]).dt.date,
            valid_to=pd.to_datetime(aliases["valid_to"]).dt.date,
        ),
    )
    insert(
        con,
        "roads",
        pd.DataFrame(
            {
                "road_code": roads["road_code"],
                "name": roads["name"],
                "district_code": roads["district_code"],
                "road_class": roads["road_class"],
                "is_major": roads["is_major"],
                "length_m": roads["length_m"],
                "geom": wkb(np.asarray(roads.geometry.values)),
                "source": roads["source"],
            }
        ),
        geometry=["geom"],
    )
    insert(con, "road_aliases", road_aliases)
    con.register("_road_members", road_members)
    try:
        con.execute(
            """
            UPDATE roads r SET source_ids = m.ids
            FROM (SELECT road_code, list(DISTINCT source_id ORDER BY source_id) AS ids
                  FROM _road_members GROUP BY road_code) m
            WHERE r.road_code = m.road_code
            """
        )
    finally:
        con.unregister("_road_members")
    insert(
        con,
        "estates",
        pd.DataFrame(
            {
                "estate_id": estates["estate_id"],
                "name": estates["name"],
                "community_code": estates["community_code"],
                "enclosure": estates["enclosure"],
                "enclosure_evidence": estates["enclosure_evidence"],
                "geom": wkb(np.asarray(estates.geometry.values)),
                "source": "osm_landuse",
                "derived": False,
            }
        ),
        geometry=["geom"],
    )
    insert(
        con,
        "buildings",
        pd.DataFrame(
            {
                "building_id": bld["building_id"],
                "birth_community_code": bld["birth_community_code"],
                "birth_year": bld["birth_year"].astype("int16"),
                "community_code": bld["community_code"],
                "status": "active",
                "name": bld["name"],
                "use": bld["use"],
                "use_source": bld["use_source"],
                "floors": bld["floors"].astype("int16"),
                "floors_estimated": bld["floors_estimated"],
                "height_m": bld["height_m"],
                "height_estimated": bld["height_estimated"],
                "footprint_m2": bld["footprint_m2"],
                "estate_id": bld["estate_id"],
                "building_no": bld["building_no"],
                "doorplate_id": bld["doorplate_id"],
                "address": bld["address"],
                "households_estimated": True,
                "lon": bld["lon"],
                "lat": bld["lat"],
                "geom": wkb(np.asarray(bld.geometry.values)),
                "source": source,
                "source_id": bld["source_id"],
            }
        ),
        geometry=["geom"],
    )
    insert(con, "building_aliases", bld_aliases)
    comm = dict(zip(bld["building_id"], bld["community_code"], strict=True))
    insert(
        con,
        "doorplates",
        pd.DataFrame(
            {
                "doorplate_id": plates["doorplate_id"],
                "road_code": plates["road_code"],
                "number": plates["number"],
                "lane_no": plates["lane_no"].astype("Int64"),
                "house_no": plates["house_no"].astype("Int64"),
                "sub_no": plates["sub_no"].astype("Int64"),
                "building_id": plates["building_id"],
                "community_code": plates["building_id"].map(comm),
                "side": plates["side"],
                "geom": wkb(
                    shapely.points(
                        plates["lon"].to_numpy(dtype=float), plates["lat"].to_numpy(dtype=float)
                    )
                ),
                "source": plates["source"],
            }
        ),
        geometry=["geom"],
    )
    qf = q.frame()
    insert(
        con,
        "registry_quarantine",
        pd.DataFrame(
            {
                "layer": qf["layer"],
                "source": qf["source"],
                "source_id": qf["source_id"].astype(object),
                "reason": qf["reason"],
                "detail": qf["detail"].astype(object),
                "geom": qf["geom_wkb"],
                "raw": qf["raw"],
            }
        ),
        geometry=["geom"],
    )
    return list(bld.loc[bld["is_new"], "building_id"])


def _history(
    con: duckdb.DuckDBPyConnection,
    new_ids: list[str],
    valid_date: date,
    build_id: str,
    rebuild: bool,
) -> int | None:
    if not new_ids:
        return None
    row = con.execute(
        "INSERT INTO registry_operations (op, valid_at, actor, note, detail) VALUES ('create', ?, 'registry build', ?, ?) RETURNING op_id",
        [
            datetime.combine(valid_date, datetime.min.time()),
            f"{'rebuild' if rebuild else 'initial build'} {build_id}",
            json.dumps({"build_id": build_id, "buildings": len(new_ids)}),
        ],
    ).fetchone()
    assert row is not None
    op_id = int(row[0])
    con.register("_new_ids", pd.DataFrame({"building_id": new_ids}))
    try:
        con.execute(
            """
            INSERT INTO building_history (building_id, valid_from, valid_to, recorded_from, recorded_to, op_id,
                status, community_code, name, use, households, doorplate_id, address, geom)
            SELECT b.building_id, ?, NULL, current_timestamp, NULL, ?, b.status, b.community_code, b.name, b.use,
                   b.households, b.doorplate_id, b.address, b.geom
            FROM buildings b JOIN _new_ids n USING (building_id)
            """,
            [datetime.combine(valid_date, datetime.min.time()), op_id],
        )
    finally:
        con.unregister("_new_ids")
    return op_id


def _report(
    q: Quarantine,
    build_id: str,
    sources: Sources,
    started: datetime,
    n_buildings: int,
    n_new: int,
    n_rooms: int,
    plates: pd.DataFrame,
    op_id: int | None,
    timings: dict[str, float],
    admin: pd.DataFrame,
    roads: gpd.GeoDataFrame,
    estates: gpd.GeoDataFrame,
) -> dict[str, Any]:
    layers = {name: c.as_dict() for name, c in sorted(q.counts.items())}
    for name, c in layers.items():
        if c["in"] != c["registered"] + c["quarantined"]:
            raise AssertionError(f"layer {name!r} does not add up: {c}")
    return {
        "build_id": build_id,
        "source": sources.label,
        "started_at": started.isoformat(),
        "layers": layers,
        "quarantine_reasons": q.reasons(),
        "buildings": {"registered": n_buildings, "new_ids": n_new, "kept_ids": n_buildings - n_new},
        "admin_areas": {
            "rows": len(admin),
            "with_geometry": int(admin["geometry"].notna().sum()),
            "derived": int((admin["boundary_source"] == "derived").sum()),
        },
        "roads": len(roads),
        "estates": len(estates),
        "doorplates": {
            "real": int((plates["source"] == "osm").sum()),
            "derived": int((plates["source"] == "derived").sum()),
        },
        "rooms": n_rooms,
        "create_op_id": op_id,
        "stage_seconds": timings,
    }
