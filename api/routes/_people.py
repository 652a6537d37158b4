"""Queries of the person-level routes (private): pseudonymised people, houses, legal persons.

People are read through the fusion links (:func:`fusion.queries.links_sql`): a person is at a
building or room when its link says so. Records come from :mod:`layers.queries`, buildings from
:mod:`address_registry.queries`. Only masked forms leave the store (``name_masked``,
``id_masked``, ``phone_masked``); the keyed hashes (``id_hmac``, ``phone_hmac``) never do.
An ID number is looked up by its HMAC, computed as ``layers.ingest`` computes it
(:func:`layers.privacy.hmac_hex` of the trimmed, upper-cased number, with the deployment secret).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from address_registry import queries as aq
from common.errors import NotFound, YizhiError
from common.settings import Settings
from fusion import queries as fq
from layers import privacy
from layers import queries as lq


class SecretUnavailable(YizhiError):
    """The server has no HMAC secret, so it cannot look up ID numbers."""

    status = 503
    type = "unavailable"
    title = "Service unavailable"


def secret(settings: Settings) -> bytes:
    """The deployment's HMAC secret: ``YIZHI_HMAC_SECRET``, else the demo key file when one
    exists (never a new one: a fresh key would match nobody).

    Raises
    ------
    SecretUnavailable
        When neither is there.
    """
    configured = settings.hmac_secret.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    if privacy.DEMO_KEY_PATH.exists():
        return privacy.load_secret(demo=True, key_path=privacy.DEMO_KEY_PATH)
    raise SecretUnavailable(
        "this server has no HMAC secret (YIZHI_HMAC_SECRET), so it cannot look up ID numbers; "
        "start it with the secret the layers were ingested with"
    )


#: The person columns served (never the HMACs), with the link and the building lived in.
_PEOPLE_SQL = f"""
SELECT p.source_id, p.name_masked, p.id_masked, p.phone_masked, p.sex, p.birth_year,
       p.hukou_type, coalesce(p.care_tags, []) AS care_tags,
       coalesce(l.room_id, nullif(p.room_id, '')) AS room_id, l.building_id,
       b.name AS building_name, b.address AS building_address, p.address AS registered_address,
       p.moved_in, p.moved_out, l.method AS link_method, l.confidence AS link_confidence,
       l.micro_grid_code, l.grid_code, l.community_code
FROM ({lq.people_sql()}) p
{{join}} JOIN ({fq.links_sql("people")}) l ON l.source_id = p.source_id
LEFT JOIN ({aq.buildings_sql()}) b ON b.building_id = l.building_id
WHERE {{where}}
"""


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    res = cur.execute(sql, params)
    cols = [d[0] for d in res.description]
    out = []
    for row in res.fetchall():
        rec = dict(zip(cols, row, strict=True))
        for k, v in rec.items():
            if isinstance(v, dt.date):
                rec[k] = v.isoformat()
        out.append(rec)
    return out


def _building_exists(cur: duckdb.DuckDBPyConnection, building_id: str) -> None:
    if not aq.building_exists(cur, building_id):
        raise NotFound(f"the register has no building {building_id}", building_id=building_id)


def people_at(
    cur: duckdb.DuckDBPyConnection,
    *,
    building_id: str | None = None,
    room_id: str | None = None,
    current: bool = False,
    limit: int = 1000,
    offset: int = 0,
) -> dict[str, Any]:
    """The people linked to a building or a room (one of them), by room then record id.

    ``current``: only people not moved out by today.

    Raises
    ------
    NotFound
        When the register has no such building or room.
    """
    if building_id is not None:
        _building_exists(cur, building_id)
        where, key, value = "l.building_id = ?", "building_id", building_id
    elif room_id is not None:
        if not aq.room_exists(cur, room_id):
            raise NotFound(f"the register has no room {room_id}", room_id=room_id)
        where, key, value = "l.room_id = ?", "room_id", room_id
    else:  # pragma: no cover - the routes always give one
        raise ValueError("give building_id or room_id")
    if current:
        where += " AND (p.moved_out IS NULL OR p.moved_out > current_date)"
    sql = _PEOPLE_SQL.format(join="", where=where)
    total = cur.execute(f"SELECT count(*) FROM ({sql})", [value]).fetchone()
    people = _rows(
        cur,
        sql + " ORDER BY room_id NULLS LAST, p.source_id LIMIT ? OFFSET ?",
        [value, limit, offset],
    )
    return {
        key: value,
        "current_only": current,
        "total": int(total[0]) if total else 0,
        "limit": limit,
        "offset": offset,
        "people": people,
    }


def lookup(cur: duckdb.DuckDBPyConnection, id_hmac: str) -> list[dict[str, Any]]:
    """The records of one ID number (by its HMAC), linked or not, with where they live."""
    sql = _PEOPLE_SQL.format(join="LEFT", where="p.id_hmac = ?")
    return _rows(cur, sql + " ORDER BY p.source_id", [id_hmac])


def legal_persons_at(cur: duckdb.DuckDBPyConnection, building_id: str) -> dict[str, Any]:
    """The legal persons (enterprises: public records) linked to a building.

    Raises
    ------
    NotFound
        When the register has no such building.
    """
    _building_exists(cur, building_id)
    rows = _rows(
        cur,
        f"""
        SELECT x.source_id, x.uscc, x.name, x.industry, x.status, x.established,
               x.reg_address, x.op_address, x.lon, x.lat, l.room_id,
               l.method AS link_method, l.confidence AS link_confidence, l.grid_code
        FROM ({fq.links_sql("legal_persons")}) l
        JOIN ({lq.records_sql("legal_persons")}) x ON x.source_id = l.source_id
        WHERE l.building_id = ? ORDER BY x.uscc, x.source_id
        """,
        [building_id],
    )
    return {"building_id": building_id, "total": len(rows), "legal_persons": rows}


def houses_at(cur: duckdb.DuckDBPyConnection, building_id: str) -> dict[str, Any]:
    """The houses (rooms' use, occupants, rental registration) of a building.

    Raises
    ------
    NotFound
        When the register has no such building.
    """
    _building_exists(cur, building_id)
    rows = _rows(
        cur,
        f"""
        SELECT h.source_id, coalesce(l.room_id, h.room_id) AS room_id, h.use, h.occupants,
               h.rental_registered, h.rental_reg_no, h.rental_reg_date,
               l.method AS link_method, l.grid_code
        FROM ({fq.links_sql("houses")}) l JOIN ({lq.records_sql("houses")}) h ON h.source_id = l.source_id
        WHERE l.building_id = ? ORDER BY room_id, h.source_id
        """,
        [building_id],
    )
    uses: dict[str, int] = {}
    for r in rows:
        uses[str(r["use"])] = uses.get(str(r["use"]), 0) + 1
    return {"building_id": building_id, "total": len(rows), "by_use": uses, "houses": rows}
