"""Grids, micro-grids and communities as GeoJSON Features with their block data (private).

Framework-free: every function takes a DuckDB cursor and returns plain dicts, so the router in
:mod:`api.routes.grids` stays thin. The version is the active one unless asked; block data are
those stored for the version by ``yizhi fuse`` (``fusion.blocks``), small counts suppressed for
callers without the ``analyst`` scope.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from address_registry import queries as aq
from common.errors import NotFound
from fusion.blocks import SUPPRESS_BELOW, block_values, suppress_value, suppression_set
from grid_partition import Caps
from grid_partition import queries as gq
from grid_partition.versions import resolve_version, version_caps


class Shown:
    """What one caller may see of a version's counts: everything (``analyst``), or the public
    view with the cells of the version's one suppression set nulled
    (:func:`fusion.blocks.suppression_set`: counts from 1 to 4 and, by complementary
    suppression, the values that would give them back through the sums between levels)."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, version: int, suppress: bool) -> None:
        self.suppress = suppress
        self.cells = suppression_set(cur, version=version) if suppress else frozenset()

    def value(self, level: str, code: str, metric: str, value: float | None) -> float | None:
        """A block metric as shown."""
        if value is None or not self.suppress:
            return value
        if (level, code, metric) in self.cells or suppress_value(value) is None:
            return None
        return value

    def households(self, level: str, code: str, value: Any) -> int | None:
        """A household count of a block: a register estimate, public at every level (the
        register publishes each building's), so never hidden (see ``fusion.blocks``)."""
        return None if value is None else int(value)

    def unit(self, value: Any) -> int | None:
        """A household count of a building (or unit): public, as in the register."""
        return None if value is None else int(value)


def parents(cur: duckdb.DuckDBPyConnection, community: str, **extra: str) -> dict[str, Any]:
    """The parent areas of a block: ``{level: {"code", "name"}}`` up to the district."""
    codes = {**extra, "community": community, "street": community[:9], "district": community[:6]}
    names = aq.area_names(cur, codes.values())
    return {level: {"code": code, "name": names.get(code)} for level, code in codes.items()}


def _geometry(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


def _estates(
    cur: duckdb.DuckDBPyConnection, version: int, column: str, code: str
) -> list[dict[str, Any]]:
    """The estates of the buildings assigned to a block (``column`` = ``code`` in ``version``)."""
    rows = cur.execute(
        f"""
        SELECT DISTINCT e.estate_id, e.name, e.enclosure
        FROM ({gq.assignments_sql(version)}) a JOIN ({aq.buildings_sql()}) b USING (building_id)
        JOIN ({aq.estates_sql()}) e ON e.estate_id = b.estate_id
        WHERE a.{column} = ? ORDER BY 1
        """,
        [code],
    ).fetchall()
    return [{"estate_id": str(i), "name": n, "enclosure": str(e)} for i, n, e in rows]


def block_section(
    cur: duckdb.DuckDBPyConnection, level: str, code: str, version: int, shown: Shown
) -> dict[str, Any]:
    """The block data of one block: its metrics, and what was suppressed for this caller."""
    raw = block_values(cur, level, code, version=version).get(code, {})
    metrics: dict[str, float | None] = {}
    hidden_metrics: list[str] = []
    for metric, value in raw.items():
        metrics[metric] = shown.value(level, code, metric, value)
        if metrics[metric] is None:
            hidden_metrics.append(metric)
    return {
        "level": level,
        "code": code,
        "version": version,
        "available": bool(raw),
        "suppressed": shown.suppress,
        "suppress_below": SUPPRESS_BELOW if shown.suppress else None,
        "suppressed_metrics": hidden_metrics,
        "metrics": metrics,
    }


def _feature(
    code: str, geometry: dict[str, Any] | None, properties: dict[str, Any], block: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": code,
        "geometry": geometry,
        "properties": properties,
        "block_data": block,
    }


def grid_feature(
    cur: duckdb.DuckDBPyConnection, code: str, version: int | None, *, suppress: bool
) -> dict[str, Any]:
    """A grid as a GeoJSON Feature (with ``block_data``).

    Raises
    ------
    NotFound
        When the version or the grid in it does not exist.
    """
    v = resolve_version(cur, version)
    shown = Shown(cur, v, suppress)
    row = cur.execute(
        f"""
        SELECT community_code, households, buildings, micro_grids, area_m2, compactness,
               ST_AsGeoJSON(geom)
        FROM ({gq.grids_sql(v)}) WHERE grid_code = ?
        """,
        [code],
    ).fetchone()
    if row is None:
        raise NotFound(f"no grid {code} in grid version {v}", code=code, version=v)
    community, households, buildings, n_micro, area, compactness, geom = row
    micro = cur.execute(
        "SELECT micro_grid_code, enclosure, households, cap, flagged "
        f"FROM ({gq.micro_grids_sql(v)}) WHERE grid_code = ? ORDER BY 1",
        [code],
    ).fetchall()
    enclosures = sorted({str(m[1]) for m in micro if m[1] is not None})
    caps = version_caps(cur, v)
    props = {
        "kind": "grid",
        "code": code,
        "version": v,
        "households": shown.households("grid", code, households),
        "buildings": int(buildings),
        "micro_grid_count": int(n_micro),
        "cap": caps.grid_cap,
        "over_cap": int(households) > caps.grid_cap,
        "enclosure": enclosures[0] if len(enclosures) == 1 else ("mixed" if enclosures else None),
        "area_m2": area,
        "compactness": compactness,
        "estates": _estates(cur, v, "grid_code", code),
        "parents": parents(cur, str(community)),
        "children": {
            "micro_grids": [
                {
                    "code": str(m[0]),
                    "households": shown.households("micro_grid", str(m[0]), m[2]),
                    "cap": int(m[3]),
                    "flagged": bool(m[4]),
                }
                for m in micro
            ]
        },
        "grid_worker": None,
    }
    return _feature(code, _geometry(geom), props, block_section(cur, "grid", code, v, shown))


def micro_grid_feature(
    cur: duckdb.DuckDBPyConnection, code: str, version: int | None, *, suppress: bool
) -> dict[str, Any]:
    """A micro-grid as a GeoJSON Feature (with ``block_data``).

    Raises
    ------
    NotFound
        When the version or the micro-grid in it does not exist.
    """
    v = resolve_version(cur, version)
    shown = Shown(cur, v, suppress)
    row = cur.execute(
        f"""
        SELECT grid_code, community_code, enclosure, cap, households, buildings, flagged,
               flag_reason, area_m2, compactness, ST_AsGeoJSON(geom)
        FROM ({gq.micro_grids_sql(v)}) WHERE micro_grid_code = ?
        """,
        [code],
    ).fetchone()
    if row is None:
        raise NotFound(f"no micro-grid {code} in grid version {v}", code=code, version=v)
    grid, community, enclosure, cap, households, buildings, flagged, reason, area, comp, geom = row
    members = cur.execute(
        f"""
        SELECT a.building_id, a.unit, a.households, b.name, b.address
        FROM ({gq.assignments_sql(v)}) a LEFT JOIN ({aq.buildings_sql()}) b USING (building_id)
        WHERE a.micro_grid_code = ? ORDER BY 1, 2
        """,
        [code],
    ).fetchall()
    props = {
        "kind": "micro_grid",
        "code": code,
        "version": v,
        "households": shown.households("micro_grid", code, households),
        "buildings": int(buildings),
        "cap": int(cap),
        "over_cap": int(households) > int(cap),
        "flagged": bool(flagged),
        "flag_reason": reason,
        "enclosure": enclosure,
        "area_m2": area,
        "compactness": comp,
        "estates": _estates(cur, v, "micro_grid_code", code),
        "parents": parents(cur, str(community), grid=str(grid)),
        "children": {
            "buildings": [
                {
                    "building_id": str(b),
                    "unit": str(u),
                    "households": shown.unit(h),
                    "name": n,
                    "address": a,
                }
                for b, u, h, n, a in members
            ]
        },
        "grid_worker": None,
    }
    return _feature(code, _geometry(geom), props, block_section(cur, "micro_grid", code, v, shown))


def community_feature(
    cur: duckdb.DuckDBPyConnection, code: str, version: int | None, *, suppress: bool
) -> dict[str, Any]:
    """A community (居委会 / 村) as a GeoJSON Feature with its grids and ``block_data``.

    Raises
    ------
    NotFound
        When the version does not exist or the register has no such community.
    """
    v = resolve_version(cur, version)
    shown = Shown(cur, v, suppress)
    area = aq.community(cur, code)
    if area is None:
        raise NotFound(f"the register has no community {code}", code=code)
    grids = cur.execute(
        "SELECT grid_code, households, micro_grids "
        f"FROM ({gq.grids_sql(v)}) WHERE community_code = ? ORDER BY 1",
        [code],
    ).fetchall()
    counts = cur.execute(
        "SELECT count(*), coalesce(sum(households), 0) "
        f"FROM ({gq.micro_grids_sql(v)}) WHERE community_code = ?",
        [code],
    ).fetchone()
    n_micro, _ = counts if counts else (0, 0)
    props = {
        "kind": "community",
        "code": code,
        "version": v,
        "name": area["name"],
        "short_name": area["short_name"],
        "status": area["status"],
        "boundary_source": area["boundary_source"],
        "boundary_method": area["boundary_method"],
        "area_m2": area["area_m2"],
        "households": shown.households("community", code, sum(int(g[1]) for g in grids)),
        "grid_count": len(grids),
        "micro_grid_count": int(n_micro),
        "caps": version_caps(cur, v).as_dict(),
        "estates": _estates(cur, v, "community_code", code),
        "parents": {k: p for k, p in parents(cur, code).items() if k != "community"},
        "children": {
            "grids": [
                {
                    "code": str(g[0]),
                    "households": shown.households("grid", str(g[0]), g[1]),
                    "micro_grid_count": int(g[2]),
                }
                for g in grids
            ]
        },
        "grid_worker": None,
    }
    geometry = _geometry(area["geojson"])
    return _feature(code, geometry, props, block_section(cur, "community", code, v, shown))


def list_grids(
    cur: duckdb.DuckDBPyConnection,
    community: str | None,
    version: int | None,
    *,
    limit: int,
    offset: int,
    suppress: bool,
) -> dict[str, Any]:
    """Grids of a version (of one community, or all), without geometry, by code (household
    counts from 1 to 4 hidden when ``suppress``).

    Raises
    ------
    NotFound
        When the version does not exist or the register has no such community.
    """
    v = resolve_version(cur, version)
    shown = Shown(cur, v, suppress)
    where = "TRUE"
    params: list[Any] = []
    if community is not None:
        if not aq.is_community(cur, community):
            raise NotFound(f"the register has no community {community}", code=community)
        where = "community_code = ?"
        params.append(community)
    grids = gq.grids_sql(v)
    total = cur.execute(f"SELECT count(*) FROM ({grids}) WHERE {where}", params).fetchone()
    rows = cur.execute(
        f"""
        SELECT grid_code, community_code, households, buildings, micro_grids, area_m2, compactness
        FROM ({grids}) WHERE {where} ORDER BY grid_code LIMIT ? OFFSET ?
        """,
        [*params, limit, offset],
    ).fetchall()
    return {
        "version": v,
        "community": community,
        "total": int(total[0]) if total else 0,
        "limit": limit,
        "offset": offset,
        "grids": [
            {
                "code": str(r[0]),
                "community_code": str(r[1]),
                "households": shown.households("grid", str(r[0]), r[2]),
                "buildings": int(r[3]),
                "micro_grid_count": int(r[4]),
                "area_m2": r[5],
                "compactness": r[6],
            }
            for r in rows
        ],
    }


def apply_edit(cur: duckdb.DuckDBPyConnection, edit: Any, actor: str) -> dict[str, Any]:
    """Apply one planner edit (a model of :mod:`api.routes._grid_models`) and summarise it.

    Raises
    ------
    Conflict
        When the edit breaks a rule (``rule`` and ``grid`` in its context); nothing but the
        refusal is stored then.
    NotFound
        When the base version does not exist.
    """
    from grid_partition import edits
    from grid_partition.versions import diff

    base = resolve_version(cur, edit.version)
    common: dict[str, Any] = {"version": base, "actor": actor, "note": edit.note}
    if edit.op == "move":
        new = edits.move(
            cur, edit.buildings, to_micro_grid=edit.to_micro_grid, to_grid=edit.to_grid, **common
        )
    elif edit.op == "split":
        new = edits.split(cur, edit.grid, micro_grids=edit.micro_grids, **common)
    elif edit.op == "merge":
        new = edits.merge(cur, edit.grids, **common)
    else:
        caps = None if edit.caps is None else Caps(**edit.caps.model_dump())
        new = edits.rebalance(cur, edit.community, caps=caps, **common)
    changes = diff(cur, base, new)
    return {
        "op": edit.op,
        "status": "applied",
        "base_version": base,
        "version": new,
        "actor": actor,
        "grids": changes["grids"],
        "micro_grids": changes["micro_grids"],
        "moved_households": int(changes["churn"]["moved_households_micro"]),
        "churn": changes["churn"],
    }
