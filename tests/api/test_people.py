"""Person-level data over a real server: officer scope, masking, the audit log, ID lookup."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import httpx
import pytest

from address_registry.ids import mod11_2
from api.routes._people import secret
from layers.privacy import hmac_hex
from tests.api.conftest import Server

PROBLEM = "application/problem+json"


def _cur(server: Server) -> duckdb.DuckDBPyConnection:
    return server.service.cursor()


def _audit_lines(server: Server) -> list[dict[str, Any]]:
    path = server.settings.audit_log
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _busy_room(server: Server) -> tuple[str, str, int]:
    """A room with at least two linked people: (room_id, building_id, people in the room)."""
    row = (
        _cur(server)
        .execute(
            "SELECT room_id, any_value(building_id), count(*) FROM links "
            "WHERE layer = 'people' AND room_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 2 "
            "ORDER BY 1 LIMIT 1"
        )
        .fetchone()
    )
    assert row is not None
    return str(row[0]), str(row[1]), int(row[2])


def _small_building(server: Server) -> tuple[str, int]:
    """A building with a few linked people: (building_id, people)."""
    row = (
        _cur(server)
        .execute(
            "SELECT building_id, count(*) FROM links WHERE layer = 'people' GROUP BY 1 "
            "HAVING count(*) BETWEEN 3 AND 60 ORDER BY 1 LIMIT 1"
        )
        .fetchone()
    )
    assert row is not None
    return str(row[0]), int(row[1])


def _assert_masked(people: list[dict[str, Any]]) -> None:
    for p in people:
        assert "id_hmac" not in p and "phone_hmac" not in p
        assert len(p["id_masked"]) == 18 and p["id_masked"][6:14] == "*" * 8
        assert p["name_masked"] is None or "*" in p["name_masked"]
        assert p["phone_masked"] is None or "****" in p["phone_masked"]
        assert p["sex"] in ("M", "F", None)


def _raw_id_number(server: Server, source_id: str) -> str:
    """Recover a sample person's raw ID number from its masked form, birth year and HMAC
    (the sample generator's numbers are region + birth date + 3 digits + check)."""
    id_masked, birth_year, id_hmac = _cur(server).execute(
        "SELECT id_masked, birth_year, id_hmac FROM people WHERE source_id = ?", [source_id]
    ).fetchone() or ("", 0, "")
    key = secret(server.settings)
    day = dt.date(int(birth_year), 1, 1)
    while day.year == birth_year:
        body = f"{id_masked[:6]}{day:%Y%m%d}{id_masked[14:17]}"
        candidate = body + mod11_2(body)
        if candidate[-1] == id_masked[-1] and hmac_hex(key, candidate) == id_hmac:
            return candidate
        day += dt.timedelta(days=1)
    raise AssertionError(f"no ID number of {source_id} matches its HMAC")


@pytest.mark.parametrize("scope", [None, "analyst", "planner"])
def test_people_need_officer_and_refusals_are_not_audited(
    api_server: Server, scope: str | None
) -> None:
    room, building, _ = _busy_room(api_server)
    before = len(_audit_lines(api_server))
    with api_server.client(scope) as http:
        answers = [
            http.get(f"/v1/buildings/{building}/people"),
            http.get(f"/v1/rooms/{room}/people"),
            http.post("/v1/people/lookup", json={"id_number": "11010519491231002X"}),
        ]
    for r in answers:
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["required_scope"] == "officer"
        assert "officer" in r.json()["detail"]
    assert len(_audit_lines(api_server)) == before


def test_building_people_masked_and_audited_once(api_server: Server) -> None:
    building, n = _small_building(api_server)
    before = len(_audit_lines(api_server))
    with api_server.client("officer") as http:
        r = http.get(f"/v1/buildings/{building}/people")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["building_id"] == building and page["total"] == n == len(page["people"])
    assert "hmac" not in r.text
    _assert_masked(page["people"])
    assert {p["building_id"] for p in page["people"]} == {building}
    expected = {
        str(s)
        for (s,) in _cur(api_server)
        .execute(
            "SELECT source_id FROM links WHERE layer = 'people' AND building_id = ?", [building]
        )
        .fetchall()
    }
    assert {p["source_id"] for p in page["people"]} == expected
    lines = _audit_lines(api_server)
    assert len(lines) == before + 1
    entry = lines[-1]
    officer = next(k for k in api_server.service.keys.list() if k["name"] == "test-officer")
    assert (entry["key_id"], entry["key_name"]) == (officer["key_id"], "test-officer")
    assert entry["client"] == "127.0.0.1"
    assert entry["action"] == f"GET /v1/buildings/{building}/people"
    assert entry["subjects"] == [p["source_id"] for p in page["people"]]
    assert entry["records"] == n
    assert api_server.service.audit.verify() == len(lines)


def test_room_people_paging_and_audit(api_server: Server) -> None:
    room, building, n = _busy_room(api_server)
    before = len(_audit_lines(api_server))
    with api_server.client("officer") as http:
        full = http.get(f"/v1/rooms/{room}/people").json()
        first = http.get(f"/v1/rooms/{room}/people", params={"limit": 1}).json()
        current = http.get(f"/v1/rooms/{room}/people", params={"current": True}).json()
    assert full["room_id"] == room and full["total"] == n == len(full["people"])
    assert {p["room_id"] for p in full["people"]} == {room}
    assert {p["building_id"] for p in full["people"]} == {building}
    _assert_masked(full["people"])
    assert first["total"] == n and [p["source_id"] for p in first["people"]] == [
        full["people"][0]["source_id"]
    ]
    assert all(p["moved_out"] is None for p in current["people"])
    lines = _audit_lines(api_server)[before:]
    assert [e["records"] for e in lines] == [n, 1, len(current["people"])]
    assert lines[1]["subjects"] == [full["people"][0]["source_id"]]


def test_id_lookup_round_trip(api_server: Server) -> None:
    room, building, _ = _busy_room(api_server)
    source_id = str(
        (
            _cur(api_server)
            .execute(
                "SELECT min(source_id) FROM links WHERE layer = 'people' AND room_id = ?", [room]
            )
            .fetchone()
            or [""]
        )[0]
    )
    raw = _raw_id_number(api_server, source_id)
    before = len(_audit_lines(api_server))
    with api_server.client("officer") as http:
        r = http.post("/v1/people/lookup", json={"id_number": raw.lower()})  # x == X
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id_masked"] == raw[:6] + "*" * 8 + raw[-4:]
    assert body["matches"] >= 1 and source_id in [p["source_id"] for p in body["people"]]
    mine = next(p for p in body["people"] if p["source_id"] == source_id)
    assert (mine["room_id"], mine["building_id"]) == (room, building)
    assert mine["grid_code"] and mine["link_method"] in ("room_id", "building_id", "address")
    assert "hmac" not in r.text
    lines = _audit_lines(api_server)
    assert len(lines) == before + 1
    assert lines[-1]["action"] == "POST /v1/people/lookup"
    assert lines[-1]["subjects"] == [p["source_id"] for p in body["people"]]
    assert raw not in api_server.settings.audit_log.read_text(encoding="utf-8")


def test_id_lookup_checks_the_number(api_server: Server) -> None:
    good = "11010519491231002X"
    wrong_check = good[:-1] + "3"
    before = len(_audit_lines(api_server))
    with api_server.client("officer") as http:
        unknown = http.post("/v1/people/lookup", json={"id_number": good})
        bad = [
            http.post("/v1/people/lookup", json={"id_number": v})
            for v in (wrong_check, good[:17], "1101051949123100XX", "11010518991231002X")
        ]
        extra = http.post("/v1/people/lookup", json={"id_number": good, "name": "x"})
        empty = http.post("/v1/people/lookup", json={})
    assert unknown.status_code == 200 and unknown.json()["matches"] == 0
    for r in [*bad, extra, empty]:
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert "bad_id_check" in bad[0].json()["detail"]
    assert wrong_check not in bad[0].text  # quoted masked only
    assert len(_audit_lines(api_server)) == before + 1  # only the valid lookup was a read


def test_people_errors(api_server: Server) -> None:
    before = len(_audit_lines(api_server))
    with api_server.client("officer") as http:
        for path in ("/v1/buildings/123/people", "/v1/rooms/3101/people"):
            r = http.get(path)
            assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-input"
        for path in (
            "/v1/buildings/9999999999999999999999999/people",
            "/v1/rooms/9999999999999999999999999000010101/people",
        ):
            r = http.get(path)
            assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
        r = http.get("/v1/rooms/9999999999999999999999999000010101/people", params={"limit": 0})
        assert r.status_code == 422
    assert len(_audit_lines(api_server)) == before  # nothing was read


def test_legal_persons_public_houses_analyst(api_server: Server) -> None:
    cur = _cur(api_server)
    building, n = cur.execute(
        "SELECT building_id, count(*) FROM links WHERE layer = 'legal_persons' "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone() or ("", 0)
    with api_server.client() as public:
        legal = public.get(f"/v1/buildings/{building}/legal-persons")
        refused = public.get(f"/v1/buildings/{building}/houses")
    assert legal.status_code == 200
    assert legal.json()["total"] == n == len(legal.json()["legal_persons"])
    assert all(len(x["uscc"]) == 18 for x in legal.json()["legal_persons"])
    assert refused.status_code == 403 and refused.json()["required_scope"] == "analyst"
    home, rooms = cur.execute(
        "SELECT building_id, count(*) FROM links WHERE layer = 'houses' GROUP BY 1 "
        "ORDER BY 2, 1 LIMIT 1"
    ).fetchone() or ("", 0)
    with api_server.client("analyst") as analyst:
        houses = analyst.get(f"/v1/buildings/{home}/houses").json()
    assert houses["total"] == rooms == sum(houses["by_use"].values())
    assert {h["room_id"][:25] for h in houses["houses"]} == {home}
    assert set(houses["by_use"]) <= {"owner_occupied", "rented", "vacant", "commercial"}


def test_openapi_documents_people_scopes(api_server: Server) -> None:
    with httpx.Client(base_url=api_server.url) as http:
        doc = http.get("/openapi.json").json()
    lookup = doc["paths"]["/v1/people/lookup"]["post"]
    assert lookup["tags"] == ["people"] and "403" in lookup["responses"]
    person = doc["components"]["schemas"]["Person"]["properties"]
    assert "id_masked" in person and not any("hmac" in k for k in person)
