"""The registry build of the sample city: IDs, containment, tiling, rooms, quarantine, rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import shapely

import store
from address_registry import _admin
from address_registry._crs import metric_crs_for, to_metric
from address_registry._inputs import load_sample
from address_registry.build import build_registry
from address_registry.ids import is_valid_building_id


@pytest.fixture(scope="module")
def sample_db(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[tuple[Path, dict]]:  # type: ignore[type-arg]
    path = tmp_path_factory.mktemp("registry") / "sample.duckdb"
    report = build_registry(path, data_dir=data_dir)
    yield path, report


@pytest.fixture
def sample(sample_db: tuple[Path, dict]) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[type-arg]
    con = store.connect(sample_db[0])
    yield con
    con.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_report_adds_up_and_is_stored(
    sample: duckdb.DuckDBPyConnection, sample_db: tuple[Path, dict]
) -> None:  # type: ignore[type-arg]
    report = sample_db[1]
    for layer, counts in report["layers"].items():
        assert counts["in"] == counts["registered"] + counts["quarantined"], layer
    assert report["layers"]["buildings"]["registered"] == scalar(
        sample, "SELECT count(*) FROM buildings"
    )
    quarantined = sum(c["quarantined"] for c in report["layers"].values())
    assert quarantined == scalar(sample, "SELECT count(*) FROM registry_quarantine")
    stored = json.loads(str(scalar(sample, "SELECT report FROM registry_builds")))
    assert stored["layers"] == report["layers"]
    # the sample: 1,321 building polygons, the ones north of Suzhou Creek (虹口区) lie in no community
    assert report["layers"]["buildings"]["in"] == 1321
    assert 900 < report["layers"]["buildings"]["registered"] < 1321
    assert set(report["quarantine_reasons"]["buildings"]) == {"outside_communities"}


def test_every_building_has_a_valid_unique_id(sample: duckdb.DuckDBPyConnection) -> None:
    ids = [r[0] for r in sample.execute("SELECT building_id FROM buildings").fetchall()]
    assert len(ids) == len(set(ids)) > 0
    assert all(is_valid_building_id(i) for i in ids)
    bad = scalar(
        sample,
        "SELECT count(*) FROM buildings WHERE building_id[1:12] <> birth_community_code "
        "OR birth_year <> 2024 OR community_code <> birth_community_code",
    )
    assert bad == 0
    # serials are dense per community and the allocator's counter agrees
    gaps = sample.execute(
        """
        SELECT b.c, b.n, b.top, s.last_serial FROM (
            SELECT birth_community_code c, count(*) n, max(building_id[17:24]::INT) top
            FROM buildings GROUP BY 1) b
        JOIN id_serials s ON s.birth_community_code = b.c
        WHERE b.n <> b.top OR b.top <> s.last_serial
        """
    ).fetchall()
    assert gaps == []


def test_every_building_lies_in_exactly_its_community(sample: duckdb.DuckDBPyConnection) -> None:
    rows = sample.execute(
        """
        SELECT b.building_id, b.community_code, count(c.code) AS n, min(c.code) AS hit
        FROM buildings b
        LEFT JOIN admin_areas c
          ON c.level = 'community' AND c.geom IS NOT NULL AND ST_Contains(c.geom, ST_Point(b.lon, b.lat))
        GROUP BY ALL
        """
    ).fetchall()
    assert rows
    assert all(n == 1 and hit == code for _, code, n, hit in rows)
    inside = scalar(
        sample, "SELECT count(*) FROM buildings WHERE NOT ST_Intersects(geom, ST_Point(lon, lat))"
    )
    assert inside == 0


def test_communities_tile_streets_and_streets_tile_the_district_part(
    sample: duckdb.DuckDBPyConnection, data_dir: Path
) -> None:
    sums = sample.execute(
        """
        SELECT s.code, s.area_m2, sum(c.area_m2), count(c.code)
        FROM admin_areas s JOIN admin_areas c ON c.parent_code = s.code AND c.geom IS NOT NULL
        WHERE s.level = 'street' AND s.boundary_source = 'derived' GROUP BY ALL ORDER BY 1
        """
    ).fetchall()
    assert [r[0] for r in sums] == ["310101002", "310101013", "310115005"]
    for code, street_area, community_sum, n in sums:
        assert n >= 1
        assert abs(street_area - community_sum) <= 1e-6 * street_area, code
    overlap = scalar(
        sample,
        """
        SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)) / least(ST_Area(a.geom), ST_Area(b.geom))), 0)
        FROM admin_areas a JOIN admin_areas b
          ON a.level = b.level AND a.level IN ('community', 'street') AND a.code < b.code
         AND a.geom IS NOT NULL AND b.geom IS NOT NULL AND ST_Intersects(a.geom, b.geom)
        WHERE a.boundary_source = 'derived' AND b.boundary_source = 'derived'
        """,
    )
    assert float(overlap) < 1e-9  # type: ignore[arg-type]
    # streets tile the part of each district inside the sample extent
    sources = load_sample(data_dir)
    crs = metric_crs_for(sources.buildings)
    extent = to_metric([sources.extent], crs)[0]
    for district, streets in _admin.SAMPLE_STREETS.items():
        geom = sources.districts.loc[sources.districts["code"] == district].geometry
        part = _admin.district_part(extent, shapely.union_all(to_metric(geom, crs)))
        total = scalar(
            sample,
            "SELECT sum(area_m2) FROM admin_areas WHERE code IN ("
            + ",".join(f"'{s}'" for s in streets)
            + ")",
        )
        assert abs(float(total) - part.area) <= 1e-6 * part.area, district  # type: ignore[arg-type]


def test_admin_rows_and_aliases(sample: duckdb.DuckDBPyConnection) -> None:
    levels = dict(sample.execute("SELECT level, count(*) FROM admin_areas GROUP BY 1").fetchall())
    assert levels["district"] == 16 and levels["street"] > 200 and levels["community"] > 6000
    # communities of the sample streets outside the extent still have a row, without geometry
    assert (
        scalar(
            sample,
            "SELECT count(*) FROM admin_areas WHERE parent_code = '310101002' AND geom IS NULL",
        )
        > 0
    )
    official = sample.execute(
        "SELECT count(*) FROM admin_areas WHERE level = 'district' AND boundary_source = 'official' AND geom IS NOT NULL"
    ).fetchone()
    assert official == (16,)
    derived = sample.execute(
        "SELECT count(*) FROM admin_areas WHERE boundary_source = 'derived' AND (boundary_method IS NULL OR geom IS NULL)"
    ).fetchone()
    assert derived == (0,)
    aliases = dict(
        (a, (c, str(v)))
        for c, a, v in sample.execute(
            "SELECT code, alias, valid_to FROM admin_aliases WHERE kind = 'old_name'"
        ).fetchall()
    )
    assert aliases["卢湾区"] == ("310101", "2011-06-08")
    assert aliases["南汇区"] == ("310115", "2009-05-06")
    assert aliases["闸北区"] == ("310106", "2015-11-04")
    assert (
        scalar(sample, "SELECT name FROM admin_areas WHERE code = '310101013014'")
        == "中山东一路居委会"
    )


def test_rooms_belong_to_their_buildings_and_households_add_up(
    sample: duckdb.DuckDBPyConnection,
) -> None:
    assert (
        scalar(sample, "SELECT count(*) FROM rooms WHERE NOT starts_with(room_id, building_id)")
        == 0
    )
    assert (
        scalar(
            sample,
            "SELECT count(*) FROM rooms WHERE room_id[26:27] <> unit OR room_id[28:30] <> floor",
        )
        == 0
    )
    mismatch = scalar(
        sample,
        """
        SELECT count(*) FROM buildings b LEFT JOIN (
            SELECT building_id, count(*) FILTER (WHERE use = 'household') hh FROM rooms GROUP BY 1
        ) r USING (building_id) WHERE b.households <> coalesce(r.hh, 0)
        """,
    )
    assert mismatch == 0
    assert scalar(sample, "SELECT count(*) FROM rooms WHERE NOT estimated OR rule IS NULL") == 0
    assert scalar(sample, "SELECT sum(households) FROM buildings") > 10_000
    assert scalar(sample, "SELECT count(*) FROM buildings WHERE NOT households_estimated") == 0
    floors = scalar(
        sample,
        "SELECT count(*) FROM rooms r JOIN buildings b USING (building_id) WHERE r.floor::INT > b.floors",
    )
    assert floors == 0


def test_flags_and_sources(sample: duckdb.DuckDBPyConnection) -> None:
    assert (
        scalar(
            sample, "SELECT count(*) FROM buildings WHERE height_estimated AND NOT floors_estimated"
        )
        == 0
    )
    assert scalar(sample, "SELECT count(*) FROM buildings WHERE use_source IS NULL") == 0
    sources = {r[0] for r in sample.execute("SELECT DISTINCT use_source FROM buildings").fetchall()}
    assert {"osm_tag", "poi", "landuse", "default"} <= sources
    assert scalar(sample, "SELECT count(*) FROM doorplates WHERE source = 'derived'") > 500
    assert scalar(sample, "SELECT count(*) FROM buildings WHERE address NOT LIKE '上海市%'") == 0
    # derived doorplates never collide with real ones
    dups = scalar(
        sample,
        "SELECT count(*) FROM (SELECT road_code, number FROM doorplates GROUP BY ALL HAVING count(*) > 1)",
    )
    assert dups == 0
    odd_even = scalar(
        sample,
        "SELECT count(*) FROM doorplates WHERE source = 'derived' AND (house_no % 2 = 1) <> (side = 'odd')",
    )
    assert odd_even == 0


def test_real_doorplates_are_parsed(sample: duckdb.DuckDBPyConnection) -> None:
    lane = sample.execute(
        """
        SELECT d.number, d.lane_no, d.house_no FROM doorplates d JOIN roads r USING (road_code)
        WHERE r.name = '四川中路' AND d.lane_no = 126
        """
    ).fetchall()
    assert ("126弄5-21号", 126, 5) in lane
    zs = sample.execute(
        "SELECT d.number FROM doorplates d JOIN roads r USING (road_code) WHERE r.name = '中山东一路' AND d.source = 'osm'"
    ).fetchall()
    assert ("18号",) in zs
    address = scalar(
        sample,
        "SELECT b.address FROM buildings b JOIN doorplates d ON d.doorplate_id = b.doorplate_id "
        "JOIN roads r USING (road_code) WHERE r.name = '中山东一路' AND d.number = '18号'",
    )
    assert str(address).startswith("上海市黄浦区外滩街道中山东一路18号")
    assert (
        scalar(
            sample, "SELECT count(*) FROM doorplates WHERE NOT starts_with(doorplate_id, road_code)"
        )
        == 0
    )


def test_roads_have_codes_of_their_district(sample: duckdb.DuckDBPyConnection) -> None:
    bad = scalar(
        sample,
        "SELECT count(*) FROM roads WHERE road_code[1:6] <> district_code OR length(road_code) <> 11",
    )
    assert bad == 0
    major = dict(
        sample.execute(
            "SELECT name, is_major FROM roads WHERE name IN ('中山东一路', '汉口路')"
        ).fetchall()
    )
    assert major == {"中山东一路": True, "汉口路": False}


def test_history_has_one_create_per_building(sample: duckdb.DuckDBPyConnection) -> None:
    ops = sample.execute("SELECT op_id, op, valid_at FROM registry_operations").fetchall()
    assert [o[1] for o in ops] == ["create"]
    missing = scalar(
        sample,
        "SELECT count(*) FROM buildings b LEFT JOIN building_history h USING (building_id) "
        "WHERE h.building_id IS NULL OR h.op_id <> " + str(ops[0][0]),
    )
    assert missing == 0


def test_rebuild_through_the_cli_is_idempotent(
    sample_db: tuple[Path, dict], data_dir: Path
) -> None:  # type: ignore[type-arg]
    from typer.testing import CliRunner

    from yizhi.cli.registry import app

    con = store.connect(sample_db[0], read_only=True)
    try:
        before = con.execute("SELECT source_id, building_id FROM buildings ORDER BY 1").fetchall()
        plates = con.execute(
            "SELECT doorplate_id, number, building_id FROM doorplates ORDER BY 1"
        ).fetchall()
        rooms = scalar(con, "SELECT count(*) FROM rooms")
    finally:
        con.close()
    result = CliRunner().invoke(
        app, ["build", "--db", str(sample_db[0]), "--data-dir", str(data_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["layers"]["buildings"] == sample_db[1]["layers"]["buildings"]
    assert set(report["layers"]["buildings"]) == {"in", "registered", "quarantined"}
    assert report["buildings"]["new_ids"] == 0 and report["build_id"]
    con = store.connect(sample_db[0], read_only=True)
    try:
        assert (
            con.execute("SELECT source_id, building_id FROM buildings ORDER BY 1").fetchall()
            == before
        )
        assert (
            con.execute(
                "SELECT doorplate_id, number, building_id FROM doorplates ORDER BY 1"
            ).fetchall()
            == plates
        )
        assert scalar(con, "SELECT count(*) FROM rooms") == rooms
        assert scalar(con, "SELECT count(*) FROM building_history") == len(before)
        assert scalar(con, "SELECT count(*) FROM registry_builds") == 2
        assert scalar(con, "SELECT count(*) FROM buildings WHERE status <> 'active'") == 0
    finally:
        con.close()
