"""Loaders of address_registry.sources on the shipped data and on bad input; the data manifest."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from address_registry import sources
from address_registry.sources import load_report
from common.errors import InvalidInput, NotFound
from yizhi.manifest import compare_with_shared, verify_manifest

FIXTURES = Path(__file__).resolve().parent / "data"
LON, LAT = 121.49, 31.24


def _check_clean(frame: gpd.GeoDataFrame) -> None:
    """Common post-conditions of every vector loader."""
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()
    assert frame.geometry.notna().all()
    report = load_report(frame)
    assert report.rows_in == len(frame) + len(report.quarantine)
    assert all(isinstance(v, str) for v in frame["source_id"])


# --------------------------------------------------------------------------- shipped data


def test_buildings_counts_match_source_md() -> None:
    frame = sources.buildings_from_geojson()
    _check_clean(frame)
    assert len(frame) == 1855
    assert frame["kind"].value_counts().to_dict() == {
        "building": 1543,
        "address": 162,
        "building_part": 130,
        "entrance": 20,
    }
    assert frame["addr_housenumber"].notna().sum() == 368
    named = frame[frame["kind"].isin(["building", "building_part"])]["name"].notna().sum()
    assert named == 442
    assert frame["height"].dtype == np.float64
    icc = frame[(frame["name"] == "上海国际会议中心") & (frame.geom_type == "Polygon")]
    assert icc.geometry.geom_type.tolist() == ["Polygon"]
    assert icc[["addr_street", "addr_housenumber"]].iloc[0].tolist() == ["滨江大道", "2727"]
    assert icc["source_id"].iloc[0] == "40778072"
    for column in ("name_en", "old_name", "levels", "kind_detail", "root_id"):
        assert column in frame.columns


def test_tilezen_layers_counts() -> None:
    expected = {
        sources.roads_from_geojson: 1094,
        sources.pois_from_geojson: 493,
        sources.landuse_from_geojson: 234,
        sources.water_from_geojson: 46,
        sources.places_from_geojson: 6,
    }
    for loader, count in expected.items():
        frame = loader()
        _check_clean(frame)
        assert len(frame) == count, loader.__name__
        assert load_report(frame).quarantine.empty
    water = sources.water_from_geojson()
    assert water["source_id"].str.startswith("water:").sum() == 9  # Tilezen water without ids


def test_roads_classes() -> None:
    roads = sources.roads_from_geojson()
    assert set(roads["road_class"]) <= {"major", "minor", "lane", "path", "rail", "other"}
    assert (roads["is_major"] == roads["road_class"].eq("major")).all()
    assert set(roads.loc[roads["kind"] == "rail", "road_class"]) == {"rail"}
    assert set(roads.loc[roads["kind"] == "ferry", "road_class"]) == {"other"}
    assert roads.geometry.geom_type.isin(["LineString", "MultiLineString"]).all()


def test_road_network_counts_and_classes() -> None:
    net = sources.road_network_from_geojson()
    _check_clean(net)
    assert len(net) == 4701
    assert net["highway"].value_counts()["residential"] == 1557
    majors = net["highway"].isin(["primary", "secondary", "primary_link", "secondary_link"])
    assert net.loc[majors, "is_major"].all()
    assert int(net["is_major"].sum()) == 1008 + 1173 + 65 + 30
    assert not net.loc[net["highway"] == "tertiary", "is_major"].any()
    lanes = net[net["road_class"] == "lane"]
    assert len(lanes) > 0 and lanes["name"].str.contains("弄|巷").all()
    assert net["name"].notna().sum() == 4228


def test_districts_shanghai_and_beijing() -> None:
    sh = sources.districts_from_geojson()
    _check_clean(sh)
    assert len(sh) == 18
    assert sh["code"].map(lambda c: isinstance(c, str) and len(c) == 6).all()
    districts = sh[sh["level"] == "district"]
    assert len(districts) == 16
    assert districts.set_index("code").loc["310101", "name"] == "黄浦区"
    assert districts.set_index("code").loc["310115", "name"] == "浦东新区"
    bj = sources.districts_from_geojson(city="beijing")
    assert "110101" in set(bj["code"]) and len(bj) == 18


def test_districts_gcj02_original_converted_matches_wgs84_copy() -> None:
    wgs = sources.districts_from_geojson().set_index("code")
    gcj = sources.districts_from_geojson(crs="gcj02").set_index("code")
    assert load_report(gcj.reset_index()).crs_assumed == "gcj02"
    metres = gcj.geometry.to_crs(32651).hausdorff_distance(wgs.geometry.to_crs(32651), align=True)
    # The shared WGS84 copy was converted with a one-step inverse (~1-2 m error).
    assert float(metres.max()) < 5.0
    raw = gpd.read_file(
        sources.sample_path("boundaries", "shanghai_310000_districts_gcj02.geojson")
    )
    raw.index = pd.Index(raw["adcode"].astype(str), name="code")
    offset = raw.geometry.to_crs(32651).hausdorff_distance(wgs.geometry.to_crs(32651), align=True)
    assert float(offset.min()) > 100  # the raw Amap polygons are hundreds of metres off


def test_divisions_shanghai() -> None:
    div = sources.divisions_from_csv()
    assert load_report(div).quarantine.empty
    assert div["level"].value_counts().to_dict() == {
        "community": 6509,
        "street": 234,
        "district": 16,
        "province": 1,
        "city": 1,
    }
    by_code = div.set_index("code")
    assert by_code.loc["310101013", "name"] == "外滩街道"
    assert by_code.loc["310101002", "name"] == "南京东路街道"
    assert by_code.loc["310115005", "name"] == "陆家嘴街道"
    assert by_code.loc["310101013", "parent_code"] == "310101"
    assert by_code.loc["310101013", "code12"] == "310101013000"
    assert by_code.loc["31", "level"] == "province"
    assert all(isinstance(c, str) and c.isdigit() for c in div["code"])
    communities = div[div["level"] == "community"]
    assert communities["code"].str.startswith("310101").sum() == 170
    assert (communities["code"].str.len() == 12).all()


def test_streets_national() -> None:
    streets = sources.streets_from_csv()
    assert len(streets) == 41352
    assert streets["code"].str.fullmatch(r"[0-9]{9}").all()
    first = streets.iloc[0]
    assert (first["code"], first["name"], first["parent_code"]) == (
        "110101001",
        "东华门街道",
        "110101",
    )
    assert first["province_code"] == "11"


def test_divisions_rejects_bad_province() -> None:
    with pytest.raises(InvalidInput, match="'3'"):
        sources.divisions_from_csv(province="3")
    with pytest.raises(NotFound, match="'99'"):
        sources.divisions_from_csv(province="99")


# --------------------------------------------------------------------------- bad input


def test_bad_buildings_fixture_quarantine() -> None:
    frame = sources.buildings_from_geojson(FIXTURES / "buildings_bad.geojson")
    _check_clean(frame)
    report = load_report(frame)
    assert report.rows_in == 13
    assert frame["source_id"].tolist() == ["1", "1", "2", "5", "8"]
    reasons = dict(zip(report.quarantine["row"], report.quarantine["reason"], strict=True))
    assert reasons == {
        3: "empty_geometry",
        4: "duplicate_source_id",
        5: "duplicate_source_id",
        7: "duplicate_row",
        8: "unexpected_geometry_type",
        9: "missing_source_id",
        10: "invalid_geometry",
        12: "missing_geometry",
    }
    # the bow-tie was repaired into two triangles of the polygon family
    assert report.repaired == ["2"]
    bow = frame.geometry.iloc[2]
    assert bow.geom_type == "MultiPolygon" and len(bow.geoms) == 2 and bow.is_valid
    raw = json.loads(report.quarantine.set_index("row").loc[4, "raw"])
    assert raw["name"] == "甲"
    assert "rows [4, 5]" in report.quarantine.set_index("row").loc[4, "detail"]


def _utm_boxes(tmp_path: Path, driver: str, name: str) -> tuple[Path, gpd.GeoDataFrame]:
    wgs = gpd.GeoDataFrame(
        {
            "code": [310101013, 310101002000, 31010100, 310101099],
            "nm": ["外滩街道", "南京东路街道", "坏码", "重复"],
        },
        geometry=[box(LON + i * 0.01, LAT, LON + i * 0.01 + 0.005, LAT + 0.005) for i in range(4)],
        crs="EPSG:4326",
    )
    utm = wgs.to_crs("EPSG:32651")
    path = tmp_path / name
    utm.to_file(path, driver=driver, engine="pyogrio")
    return path, wgs


def test_projected_crs_without_crs_is_refused(tmp_path: Path) -> None:
    path, _ = _utm_boxes(tmp_path, "GPKG", "streets.gpkg")
    with pytest.raises(InvalidInput) as info:
        sources.admin_boundaries_from_file(
            path, code_column="code", name_column="nm", level="street"
        )
    assert "EPSG:32651" in str(info.value)
    assert "crs=" in str(info.value)


def test_projected_coordinates_declared_wgs84_are_refused(tmp_path: Path) -> None:
    path, _ = _utm_boxes(tmp_path, "GPKG", "streets.gpkg")
    lying = gpd.read_file(path).set_crs("EPSG:4326", allow_override=True)
    liar = tmp_path / "liar.geojson"
    lying.to_file(liar, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(InvalidInput, match="cannot be longitude/latitude"):
        sources.admin_boundaries_from_file(liar, code_column="code", level="street")


@pytest.mark.parametrize(
    ("driver", "name"), [("GPKG", "streets.gpkg"), ("ESRI Shapefile", "streets.shp")]
)
def test_admin_boundaries_gpkg_and_shapefile(tmp_path: Path, driver: str, name: str) -> None:
    path, wgs = _utm_boxes(tmp_path, driver, name)
    frame = sources.admin_boundaries_from_file(
        path, code_column="code", name_column="nm", level="street", crs="EPSG:32651"
    )
    _check_clean(frame)
    report = load_report(frame)
    assert frame["code"].tolist() == ["310101013", "310101002", "310101099"]
    assert frame["name"].tolist() == ["外滩街道", "南京东路街道", "重复"]
    assert (frame["level"] == "street").all()
    assert report.quarantine["reason"].tolist() == ["bad_code"]
    assert "'31010100'" in report.quarantine["detail"].iloc[0]
    # coordinates come back to WGS84 within a millimetre
    back = frame.geometry.iloc[0].bounds
    assert np.allclose(back, wgs.geometry.iloc[0].bounds, atol=1e-8)
    assert report.crs_declared == "EPSG:32651"


def test_admin_boundaries_duplicate_codes_and_level(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"code": ["310101013", "310101013", "3101010131"], "name": ["a", "b", "c"]},
        geometry=[box(LON, LAT, LON + 0.001, LAT + 0.001)] * 3,
        crs="EPSG:4326",
    )
    path = tmp_path / "dup.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    out = sources.admin_boundaries_from_file(path, code_column="code", level="street")
    q = load_report(out).quarantine
    assert len(out) == 0
    assert q["reason"].tolist() == ["duplicate_source_id", "duplicate_source_id", "bad_code"]
    with pytest.raises(InvalidInput, match="'village'"):
        sources.admin_boundaries_from_file(path, code_column="code", level="village")
    with pytest.raises(InvalidInput, match="nope"):
        sources.admin_boundaries_from_file(path, code_column="nope", level="street")


def test_no_declared_crs_needs_crs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["310101"]}, geometry=[box(LON, LAT, LON + 0.01, LAT + 0.01)])
    path = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(path, engine="pyogrio")
    with pytest.raises(InvalidInput, match="declares no CRS"):
        sources.admin_boundaries_from_file(path, code_column="code", level="district")
    out = sources.admin_boundaries_from_file(
        path, code_column="code", level="district", crs="wgs84"
    )
    assert out["code"].tolist() == ["310101"] and out.crs.to_epsg() == 4326
    with pytest.raises(InvalidInput, match="'nonsense'"):
        sources.admin_boundaries_from_file(
            path, code_column="code", level="district", crs="nonsense"
        )


def test_divisions_bad_codes_quarantined(tmp_path: Path) -> None:
    d = tmp_path / "div"
    d.mkdir()
    (d / "provinces.csv").write_text('code,name\n31,"上海市"\n', encoding="utf-8")
    (d / "cities.csv").write_text('code,name,provinceCode\n3101,"市辖区",31\n', encoding="utf-8")
    (d / "areas.csv").write_text(
        'code,name,cityCode,provinceCode\n310101,"黄浦区",3101,31\n31011,"短码",3101,31\n',
        encoding="utf-8",
    )
    (d / "streets.csv").write_text(
        "code,name,areaCode,provinceCode,cityCode\n"
        '310101013,"外滩街道",310101,31,3101\n'
        '310101013,"外滩街道重复",310101,31,3101\n'
        '310102001,"错父",310101,31,3101\n'
        '31010100A,"字母",310101,31,3101\n',
        encoding="utf-8",
    )
    div = sources.divisions_from_csv(d, province="31")
    q = load_report(div).quarantine
    assert div["code"].tolist() == ["31", "3101", "310101"]
    assert sorted(q["reason"]) == ["bad_code"] * 3 + ["duplicate_source_id"] * 2
    assert "'31011'" in " ".join(q["detail"])
    assert "community" not in set(div["level"])


# --------------------------------------------------------------------------- invariant


_KINDS = st.sampled_from(["ok", "bowtie", "empty", "none", "line", "dup"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_KINDS, st.integers(0, 5)), min_size=1, max_size=12))
def test_every_row_kept_or_quarantined(rows: list[tuple[str, int]]) -> None:
    geoms: list[object] = []
    ids: list[int] = []
    for i, (kind, ident) in enumerate(rows):
        x = LON + i * 0.001
        ids.append(ident if kind == "dup" else 100 + i)
        geoms.append(
            {
                "ok": box(x, LAT, x + 0.0005, LAT + 0.0005),
                "dup": box(x, LAT, x + 0.0005, LAT + 0.0005),
                "bowtie": Polygon(
                    [(x, LAT), (x + 1e-4, LAT + 1e-4), (x + 1e-4, LAT), (x, LAT + 1e-4)]
                ),
                "empty": Polygon(),
                "none": None,
                "line": shapely.LineString([(x, LAT), (x + 1e-4, LAT)]),
            }[kind]
        )
    frame = gpd.GeoDataFrame({"id": ids, "kind": "building"}, geometry=geoms, crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.geojson"
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")
        out = sources.buildings_from_geojson(path)
    report = load_report(out)
    assert report.rows_in == len(rows) == len(out) + len(report.quarantine)
    assert out.geometry.is_valid.all()
    assert not out.duplicated(["source_id", "kind"]).any()
    kept_bad = {r for r, (kind, _) in enumerate(rows) if kind in ("empty", "none", "line")}
    assert kept_bad <= set(report.quarantine["row"])


# --------------------------------------------------------------------------- manifest


def test_manifest_clean(data_dir: Path) -> None:
    assert verify_manifest(data_dir) == []
    files = json.loads((data_dir / "MANIFEST.json").read_text(encoding="utf-8"))["files"]
    assert sum(f["bytes"] for f in files) < 15_000_000
    assert all(f["licence"] for f in files)


def test_manifest_detects_changes(data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    target = copy / "divisions" / "provinces.csv"
    target.write_bytes(target.read_bytes().replace("上海".encode(), "下海".encode()))
    (copy / "osm" / "places.geojson").unlink()
    (copy / "extra.txt").write_text("x", encoding="utf-8")
    problems = {(p.path, p.problem) for p in verify_manifest(copy)}
    assert problems == {
        ("divisions/provinces.csv", "checksum"),
        ("osm/places.geojson", "missing"),
        ("extra.txt", "unlisted"),
    }

    from yizhi.cli.data import app

    runner = CliRunner()
    result = runner.invoke(app, ["verify", "--data-dir", str(copy), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and len(doc["problems"]) == 3
    ok = runner.invoke(app, ["verify", "--data-dir", str(data_dir), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0
    assert {e["path"] for e in json.loads(listed.stdout)} >= {"osm/buildings.geojson"}


@pytest.mark.shared
def test_checksums_equal_shared_originals(data_dir: Path, shared_dir: Path) -> None:
    assert compare_with_shared(data_dir, shared_dir / "data") == []


@pytest.mark.shared
def test_divisions_from_shared_beijing(shared_dir: Path) -> None:
    div = sources.divisions_from_csv(shared_dir / "data" / "china-division", province="11")
    counts = div["level"].value_counts()
    assert counts["street"] == 349 and counts["community"] == 7535
    assert pd.api.types.is_object_dtype(div["code"]) or pd.api.types.is_string_dtype(div["code"])


def test_wide_file_loads_without_fragmentation_warning(tmp_path: Path) -> None:
    columns = {f"p{i}": [i] for i in range(120)}
    frame = gpd.GeoDataFrame(
        {"id": [1], "kind": ["building"], **columns},
        geometry=[box(LON, LAT, LON + 1e-4, LAT + 1e-4)],
        crs="EPSG:4326",
    )
    path = tmp_path / "wide.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    out = sources.buildings_from_geojson(path)
    assert out["p119"].tolist() == [119] and out["source_id"].tolist() == ["1"]
