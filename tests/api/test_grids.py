"""Grids, micro-grids, communities, block data and planner edits over a real server."""

from __future__ import annotations

import duckdb
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapbox_vector_tile import decode

from api.routes._grid_models import BlockFeature, GridAt, GridList, VersionDiff, VersionList
from api.tiles._mercator import lonlat_tile
from common.coords import transform
from fusion.blocks import block_values
from tests.api.conftest import Server

PROBLEM = "application/problem+json"


def _cur(server: Server) -> duckdb.DuckDBPyConnection:
    return server.service.cursor()


def _active(server: Server) -> int:
    row = (
        _cur(server)
        .execute("SELECT max(version_id) FROM grid_versions WHERE status = 'active'")
        .fetchone()
    )
    assert row is not None
    return int(row[0])


def _whole_buildings(server: Server, n: int) -> list[tuple[str, float, float, str, str, str]]:
    """Buildings assigned whole to one micro-grid: (id, lon, lat, micro, grid, community)."""
    return [
        (str(r[0]), float(r[1]), float(r[2]), str(r[3]), str(r[4]), str(r[5]))
        for r in _cur(server)
        .execute(
            """
            SELECT b.building_id, b.lon, b.lat, a.micro_grid_code, a.grid_code, a.community_code
            FROM grid_assignments a JOIN buildings b USING (building_id)
            WHERE a.version_id = ? AND a.unit = '00' AND b.lon IS NOT NULL
            ORDER BY hash(b.building_id) LIMIT ?
            """,
            [_active(server), n],
        )
        .fetchall()
    ]


def _problem(r: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = r.json()
    assert body["type"] == f"/problems/{type_}"
    return body


# -- grid at a point -------------------------------------------------------------------------


def test_grid_at_building_points_answer_their_assignment(api_server: Server) -> None:
    buildings = _whole_buildings(api_server, 60)
    assert len(buildings) == 60
    with api_server.client() as http:
        for bid, lon, lat, micro, grid, community in buildings:
            r = http.get("/v1/grids/at", params={"lon": lon, "lat": lat})
            assert r.status_code == 200, (bid, r.text)
            got = GridAt.model_validate(r.json())
            assert (got.grid_code, got.micro_grid_code) == (grid, micro), bid
            assert got.community_code == community
            assert (got.street_code, got.district_code) == (community[:9], community[:6])
            assert got.version == _active(api_server)
            assert got.unit_grid_code is not None and got.unit_grid_code[:12] == community
    names = dict(
        _cur(api_server)
        .execute(
            "SELECT code, name FROM admin_areas WHERE code IN (?, ?)",
            [got.community_code, got.district_code],
        )
        .fetchall()
    )
    assert (got.community_name, got.district_name) == (
        names[got.community_code],
        names[got.district_code],
    )


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "cgcs2000"])
def test_grid_at_other_coordinate_systems(api_server: Server, crs: str) -> None:
    bid, lon, lat, micro, grid, _ = _whole_buildings(api_server, 1)[0]
    x, y = transform(lon, lat, "wgs84", crs)
    with api_server.client() as http:
        body = http.get("/v1/grids/at", params={"lon": x, "lat": y, "crs": crs}).json()
    assert (body["grid_code"], body["micro_grid_code"]) == (grid, micro), bid
    assert body["lon"] == pytest.approx(lon, abs=1e-7)
    assert body["lat"] == pytest.approx(lat, abs=1e-7)
    if crs != "cgcs2000":  # a GCJ-02 point read as WGS84 lies ~500 m away
        assert abs(x - lon) + abs(y - lat) > 1e-3


def test_grid_at_past_version_and_bad_inputs(api_server: Server) -> None:
    _, lon, lat, _, grid, _ = _whole_buildings(api_server, 1)[0]
    v = _active(api_server)
    with api_server.client() as http:
        ok = http.get("/v1/grids/at", params={"lon": lon, "lat": lat, "version": v})
        assert ok.json()["grid_code"] == grid
        for params in (
            {"lon": 200, "lat": lat},
            {"lon": lon, "lat": -91},
            {"lon": "east", "lat": lat},
            {"lon": "nan", "lat": lat},
            {"lon": lon},
            {"lon": lon, "lat": lat, "crs": "epsg:3857"},
            {"lon": lon, "lat": lat, "version": 0},
        ):
            _problem(http.get("/v1/grids/at", params=params), 422, "invalid-input")
        body = _problem(http.get("/v1/grids/at", params={"lon": 0, "lat": 0}), 404, "not-found")
        assert "outside" in str(body["detail"])
        _problem(
            http.get("/v1/grids/at", params={"lon": lon, "lat": lat, "version": 99_999}),
            404,
            "not-found",
        )


def test_grid_at_agrees_with_the_polygons(api_server: Server) -> None:
    """Random points over the city's extent: an answer's grid and micro-grid polygons contain
    the point (DuckDB's ST_Contains as the independent judge); a 404 is a point no grid holds."""
    cur = _cur(api_server)
    v = _active(api_server)
    box = cur.execute(
        "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) "
        "FROM grids WHERE version_id = ?",
        [v],
    ).fetchone()
    assert box is not None
    x0, y0, x1, y1 = (float(b) for b in box)

    def inside(table: str, key: str, code: str, lon: float, lat: float) -> bool:
        row = cur.execute(
            f"SELECT ST_Intersects(geom, ST_Point(?, ?)) FROM {table} "
            f"WHERE version_id = ? AND {key} = ?",
            [lon, lat, v, code],
        ).fetchone()
        return bool(row and row[0])

    with api_server.client() as http:

        @settings(max_examples=40, deadline=None, derandomize=True, database=None)
        @given(fx=st.floats(0, 1), fy=st.floats(0, 1))
        def check(fx: float, fy: float) -> None:
            lon, lat = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
            r = http.get("/v1/grids/at", params={"lon": repr(lon), "lat": repr(lat)})
            if r.status_code == 404:
                held = cur.execute(
                    "SELECT count(*) FROM grids WHERE version_id = ? "
                    "AND ST_Intersects(geom, ST_Point(?, ?))",
                    [v, lon, lat],
                ).fetchone()
                assert held == (0,), (lon, lat)
                return
            body = r.json()
            assert r.status_code == 200 and body["micro_grid_code"].startswith(body["grid_code"])
            assert inside("grids", "grid_code", body["grid_code"], lon, lat), (lon, lat)
            assert inside("micro_grids", "micro_grid_code", body["micro_grid_code"], lon, lat)

        check()


# -- features and block data -----------------------------------------------------------------


def test_grid_feature_children_parents_and_block_data(api_server: Server) -> None:
    cur = _cur(api_server)
    v = _active(api_server)
    code, community, households = cur.execute(
        "SELECT grid_code, community_code, households FROM grids WHERE version_id = ? "
        "AND micro_grids >= 2 ORDER BY grid_code LIMIT 1",
        [v],
    ).fetchone() or ("", "", 0)
    with api_server.client("analyst") as http:
        r = http.get(f"/v1/grids/{code}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        feature = BlockFeature.model_validate(r.json())
        micro = [m["code"] for m in feature.properties["children"]["micro_grids"]]
        micro_features = [http.get(f"/v1/micro-grids/{m}").json() for m in micro]
    props = feature.properties
    assert feature.id == code and props["households"] == households and props["cap"] == 600
    assert feature.geometry is not None and feature.geometry["type"] in ("Polygon", "MultiPolygon")
    assert micro == [
        str(r[0])
        for r in cur.execute(
            "SELECT micro_grid_code FROM micro_grids WHERE version_id = ? AND grid_code = ? "
            "ORDER BY 1",
            [v, code],
        ).fetchall()
    ]
    assert props["parents"]["community"]["code"] == community
    assert props["parents"]["street"]["code"] == community[:9]
    assert props["parents"]["district"]["code"] == community[:6]
    assert all(m["properties"]["parents"]["grid"]["code"] == code for m in micro_features)
    assert sum(m["properties"]["households"] for m in micro_features) == households
    # block data: the grid's counts are the sums of its micro-grids' counts (analyst: raw)
    block = feature.block_data
    assert block.available and not block.suppressed and block.suppressed_metrics == []
    assert block.metrics["households"] == households
    stored = dict(
        cur.execute(
            "SELECT metric, value FROM block_data WHERE level = 'grid' AND code = ? "
            "AND grid_version = ?",
            [code, v],
        ).fetchall()
    )
    assert block.metrics == stored
    for metric, value in block.metrics.items():
        children = sum(m["block_data"]["metrics"].get(metric) or 0 for m in micro_features)
        assert children == pytest.approx(value), metric
    buildings = [
        b["building_id"] for m in micro_features for b in m["properties"]["children"]["buildings"]
    ]
    assert len(buildings) >= props["buildings"]


def test_small_counts_suppressed_for_public_not_for_analyst(api_server: Server) -> None:
    cur = _cur(api_server)
    v = _active(api_server)
    # a grid with a count from 1 to 4, and one whose count >= 5 is hidden all the same
    # (complementary suppression: else it would give a hidden child back)
    small = cur.execute(
        "SELECT code, metric, value FROM block_data WHERE level = 'grid' AND grid_version = ? "
        "AND value > 0 AND value < 5 ORDER BY code, metric LIMIT 1",
        [v],
    ).fetchone()
    assert small is not None
    public_view = block_values(cur, "grid", suppress=True, version=v)
    raw_view = block_values(cur, "grid", version=v)
    second = next(
        (c, m)
        for c, metrics in sorted(public_view.items())
        for m, x in sorted(metrics.items())
        if x is None and (raw_view[c][m] or 0) >= 5
    )
    for code, metric in ((small[0], small[1]), second):
        with api_server.client() as public, api_server.client("analyst") as analyst:
            shown = public.get(f"/v1/grids/{code}").json()["block_data"]
            full = analyst.get(f"/v1/grids/{code}").json()["block_data"]
        assert shown["suppressed"] is True and shown["suppress_below"] == 5
        assert shown["metrics"][metric] is None and metric in shown["suppressed_metrics"]
        assert full["suppressed"] is False and full["suppressed_metrics"] == []
        assert full["metrics"] == raw_view[code]
        assert shown["metrics"] == public_view[code]  # what fusion.blocks publishes
        assert shown["suppressed_metrics"] == sorted(
            m for m, x in public_view[code].items() if x is None
        )


def test_household_counts_are_public_register_figures(api_server: Server) -> None:
    # households are estimated from the register's rooms, which the register publishes per
    # building (GET /v1/buildings/{id}): hiding small grid sums would protect nothing
    v = _active(api_server)
    row = (
        _cur(api_server)
        .execute(
            "SELECT grid_code, community_code, households FROM grids WHERE version_id = ? "
            "AND households BETWEEN 1 AND 4 ORDER BY grid_code LIMIT 1",
            [v],
        )
        .fetchone()
    )
    assert row is not None
    code, community, households = row
    micro_households = dict(
        _cur(api_server)
        .execute(
            "SELECT micro_grid_code, households FROM micro_grids WHERE version_id = ? "
            "AND grid_code = ?",
            [v, code],
        )
        .fetchall()
    )
    with api_server.client() as public, api_server.client("analyst") as analyst:
        for http, expected in ((public, households), (analyst, households)):
            props = http.get(f"/v1/grids/{code}").json()["properties"]
            assert props["households"] == expected
            listed = http.get("/v1/grids", params={"community": community}).json()["grids"]
            assert next(g for g in listed if g["code"] == code)["households"] == expected
            parent = http.get(f"/v1/communities/{community}").json()["properties"]
            child = next(g for g in parent["children"]["grids"] if g["code"] == code)
            assert child["households"] == expected
            micro = props["children"]["micro_grids"][0]["code"]
            inside = http.get(f"/v1/micro-grids/{micro}").json()["properties"]
            raw = micro_households[micro]
            assert inside["households"] == raw
            units = [b["households"] for b in inside["children"]["buildings"]]
            assert units and None not in units and sum(units) == raw


def test_community_feature_and_grid_list(api_server: Server) -> None:
    cur = _cur(api_server)
    v = _active(api_server)
    community, n, households = cur.execute(
        "SELECT community_code, count(*), sum(households) FROM grids WHERE version_id = ? "
        "GROUP BY 1 ORDER BY 1 LIMIT 1",
        [v],
    ).fetchone() or ("", 0, 0)
    with api_server.client() as http:
        feature = BlockFeature.model_validate(http.get(f"/v1/communities/{community}").json())
        listing = GridList.model_validate(
            http.get("/v1/grids", params={"community": community}).json()
        )
        page = GridList.model_validate(
            http.get("/v1/grids", params={"limit": 2, "offset": 1}).json()
        )
        everything = GridList.model_validate(http.get("/v1/grids").json())
    props = feature.properties
    assert props["households"] == households and props["grid_count"] == n
    assert [g["code"] for g in props["children"]["grids"]] == [g.code for g in listing.grids]
    assert listing.total == n and all(g.community_code == community for g in listing.grids)
    assert props["parents"]["street"]["code"] == community[:9]
    assert props["parents"]["district"]["name"]
    assert feature.block_data.level == "community"
    assert feature.block_data.metrics["households"] == households
    assert [g.code for g in page.grids] == [g.code for g in everything.grids[1:3]]
    assert everything.total == len(everything.grids)


def test_feature_errors(api_server: Server) -> None:
    with api_server.client() as http:
        for path in ("/v1/grids/12345", "/v1/micro-grids/3101", "/v1/communities/abc"):
            _problem(http.get(path), 422, "invalid-input")
        for path in (
            "/v1/grids/999999999999999",
            "/v1/micro-grids/99999999999999999",
            "/v1/communities/999999999999",
            "/v1/grids?community=999999999999",
        ):
            _problem(http.get(path), 404, "not-found")
        grid = http.get("/v1/grids", params={"limit": 1}).json()["grids"][0]["code"]
        _problem(http.get(f"/v1/grids/{grid}", params={"version": 99_999}), 404, "not-found")
        _problem(http.get("/v1/grids", params={"limit": 10_001}), 422, "invalid-input")


def test_versions_and_diff(api_server: Server) -> None:
    v = _active(api_server)
    with api_server.client() as http:
        versions = VersionList.model_validate(http.get("/v1/grid-versions").json()).versions
        same = VersionDiff.model_validate(http.get(f"/v1/grid-versions/{v}/diff/{v}").json())
        _problem(http.get(f"/v1/grid-versions/{v}/diff/99999"), 404, "not-found")
        _problem(http.get("/v1/grid-versions/0/diff/1"), 422, "invalid-input")
    active = [x for x in versions if x.status == "active"]
    assert [x.version_id for x in active] == [v]
    assert (
        active[0].grids
        == _cur(api_server)
        .execute("SELECT count(*) FROM grids WHERE version_id = ?", [v])
        .fetchone()[0]
    )  # type: ignore[index]
    assert same.empty and same.moved == [] and same.churn["micro"] == 0.0


# -- planner edits ---------------------------------------------------------------------------


def test_edits_need_planner_scope_and_a_writable_server(api_server: Server) -> None:
    body = {"op": "split", "grid": "310101002001001"}
    with api_server.client() as public, api_server.client("analyst") as analyst:
        for http in (public, analyst):
            problem = _problem(http.post("/v1/grid-edits", json=body), 403, "forbidden")
            assert problem["required_scope"] == "planner"
    with api_server.client("planner") as planner:
        problem = _problem(planner.post("/v1/grid-edits", json=body), 409, "conflict")
        assert "read-only" in str(problem["detail"])
        bad = {"op": "move", "buildings": ["3101010020012024000000025"]}  # no target
        _problem(planner.post("/v1/grid-edits", json=bad), 422, "invalid-input")
        _problem(planner.post("/v1/grid-edits", json={"op": "paint"}), 422, "invalid-input")
        _problem(
            planner.post("/v1/grid-edits", json={"op": "merge", "grids": ["310101002001001"]}),
            422,
            "invalid-input",
        )


def test_split_then_refused_merge_on_a_writable_server(writable_server: Server) -> None:
    server = writable_server
    cur = _cur(server)
    base = _active(server)
    grid, community, households = cur.execute(
        "SELECT grid_code, community_code, households FROM grids WHERE version_id = ? "
        "AND micro_grids >= 2 ORDER BY households DESC, grid_code LIMIT 1",
        [base],
    ).fetchone() or ("", "", 0)
    with server.client("planner") as http:
        tiles_before = http.get("/tiles").json()  # the tile layers are loaded and trusted
        r = http.post("/v1/grid-edits", json={"op": "split", "grid": grid, "note": "test"})
        assert r.status_code == 201, r.text
        done = r.json()
        new = done["version"]
        assert (done["base_version"], done["op"], done["status"]) == (base, "split", "applied")
        assert done["actor"].startswith("test-planner")
        [created] = done["grids"]["created"]
        assert created.startswith(community) and done["moved_households"] > 0
        # the new version is active and every reader follows it at once
        versions = http.get("/v1/grid-versions").json()["versions"]
        assert [x["version_id"] for x in versions if x["status"] == "active"] == [new]
        lon, lat = cur.execute(
            "SELECT b.lon, b.lat FROM grid_assignments a JOIN buildings b USING (building_id) "
            "WHERE a.version_id = ? AND a.grid_code = ? AND a.unit = '00' ORDER BY 1 LIMIT 1",
            [new, created],
        ).fetchone() or (0.0, 0.0)
        at = http.get("/v1/grids/at", params={"lon": lon, "lat": lat}).json()
        assert (at["version"], at["grid_code"]) == (new, created)
        # so do the tiles and the features (no block data yet for the new version: null)
        x, y = lonlat_tile(lon, lat, 16)
        assert tiles_before["version"] != http.get("/tiles").json()["version"]
        tile = decode(http.get(f"/tiles/grids/16/{x}/{y}.mvt").content)["grids"]["features"]
        drawn = {f["properties"]["grid_code"]: f["properties"] for f in tile}
        assert created in drawn and drawn[created].get("people") is None
        assert http.get(f"/collections/grids/items/{created}").status_code == 200
        block = http.get(f"/v1/grids/{created}").json()["block_data"]
        assert (block["version"], block["available"]) == (new, False)
        before = http.get("/v1/grids/at", params={"lon": lon, "lat": lat, "version": base})
        assert before.json()["grid_code"] == grid
        diff = http.get(f"/v1/grid-versions/{base}/diff/{new}").json()
        assert diff["grids"]["created"] == [created]
        assert http.get(f"/v1/grids/{created}").json()["properties"]["version"] == new
        old = http.get(f"/v1/grids/{grid}", params={"version": base}).json()["properties"]
        now = http.get(f"/v1/grids/{grid}").json()["properties"]
        assert (old["version"], old["households"]) == (base, households)
        assert (
            now["households"] + http.get(f"/v1/grids/{created}").json()["properties"]["households"]
            == households
        )
        # a merge over the grid cap is refused with the rule named; nothing new is stored
        grids = cur.execute(
            "SELECT grid_code, households FROM grids WHERE version_id = ? AND community_code = ? "
            "ORDER BY households DESC, grid_code LIMIT 2",
            [new, community],
        ).fetchall()
        assert sum(int(h) for _, h in grids) > 600
        refused = http.post("/v1/grid-edits", json={"op": "merge", "grids": [g for g, _ in grids]})
        problem = _problem(refused, 409, "conflict")
        assert problem["rule"] == "grid_cap" and problem["problems"]
        assert "grid_cap" in str(problem["detail"])
        assert _active(server) == new
    outcomes = cur.execute("SELECT outcome, op FROM grid_edits ORDER BY edit_id").fetchall()
    assert outcomes == [("applied", "split"), ("refused", "merge")]
