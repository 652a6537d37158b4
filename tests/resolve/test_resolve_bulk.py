"""Bulk resolution: building parts looked up once per index, worker processes, plain normaliser."""

from __future__ import annotations

import duckdb
import pytest

import address_registry.resolve as r
from address_registry.resolve import index_for
from common.errors import InvalidInput
from synthetic.addresses import variants
from tests.resolve._crafted import building_by_alias as _id


def _rooms(con: duckdb.DuckDBPyConnection, building_id: str) -> list[str]:
    rows = con.execute(
        "SELECT room_id FROM rooms WHERE building_id = ? ORDER BY room_id", [building_id]
    ).fetchall()
    return [row[0] for row in rows]


def test_each_room_of_a_building_gets_its_own_answer(crafted: duckdb.DuckDBPyConnection) -> None:
    building = _id(crafted, "天安小区1号楼")
    rooms = _rooms(crafted, building)[:6]
    assert len(rooms) >= 2
    texts = [f"外滩街道天安小区1号楼{int(rid[25:27])}单元{int(rid[30:34])}室" for rid in rooms]
    idx = index_for(crafted)
    idx.memo.clear()
    answers = r.resolve_many(crafted, texts)
    # one lookup of the building part for all the rooms ...
    assert list(idx.memo) == ["外滩街道天安小区1栋"]
    # ... and each text its own room, as when resolved alone with nothing remembered
    assert [a["candidates"][0]["room_id"] for a in answers] == rooms
    for text, answer in zip(texts, answers, strict=True):
        idx.memo.clear()
        alone = r.resolve(crafted, text, limit=1)
        assert alone["candidates"] == answer["candidates"]


def test_remembered_admin_answers_are_not_shared(crafted: duckdb.DuckDBPyConnection) -> None:
    first = r.resolve(crafted, "黄浦区外滩街道")
    first["candidates"][0]["matched"]["street"]["name"] = "changed by a caller"
    again = r.resolve(crafted, "黄浦区外滩街道")
    assert again["candidates"][0]["matched"]["street"]["name"] != "changed by a caller"


def test_best_candidates_are_the_same_with_worker_processes(
    crafted: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = sorted({v.text for v in variants(crafted, 400, 7)})
    texts += ["hello", "杭州市西湖区文三路259号", "黄浦区外滩街道", "   "]
    serial = r.best_candidates(crafted, texts, workers=1)
    assert [row[0] for row in serial] == texts
    expected = []
    for answer in r.resolve_many(crafted, texts):
        best = answer["candidates"][0] if answer["candidates"] else {}
        expected.append(
            (
                answer["reason"],
                best.get("building_id"),
                best.get("room_id"),
                float(best.get("confidence") or 0.0),
                best.get("level"),
            )
        )
    assert [row[1:] for row in serial] == expected
    monkeypatch.setattr(r, "PARALLEL_MIN_TEXTS", 0)
    monkeypatch.setattr(r, "_CHUNK", 37)  # many chunks over two forked workers
    done: list[int] = []
    assert r.best_candidates(crafted, texts, workers=2, on_progress=done.append) == serial
    assert sum(done) == len(texts) and len(done) == -(-len(texts) // 37)
    with pytest.raises(InvalidInput, match="at least 1"):
        r.best_candidates(crafted, texts, workers=0)
