"""Link every layer record to the register (room / building) and to the grids.

Set-based in DuckDB: each layer's pending records go through its ordered methods (room ID,
address, coordinates, public-space area), each method a join over the whole pending set; the
resolver sees each distinct address string once. Linked records land in ``links`` with their
method, confidence and micro-grid / grid / unit grid / community / street / district codes of the
active grid version; the rest land in ``unlinked`` with a reason. See docs/fusion-linking.md.

A record is pending when it has no row in ``links`` or ``unlinked`` carrying its current
``row_hash`` and the active grid version, so a re-run links only new or changed records and
records whose grids changed; ``incremental=False`` relinks everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from common.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from fusion.engine import SpatialEngine

LAYERS: tuple[str, ...] = ("people", "legal_persons", "houses", "events", "sensors")
METHODS: tuple[str, ...] = ("room_id", "building_id", "address", "coordinates", "coordinates_area")
DEFAULT_TOLERANCE_M = 50.0

#: Confidence of each method that has no score of its own.
CONFIDENCE = {
    "room_id": 1.0,
    "building_id": 0.8,
    "coordinates_inside": 0.95,
    "coordinates_near": 0.85,  # at 0 m; falls linearly to 0.6 at the tolerance
    "coordinates_area": 0.6,
}

#: The ordered methods tried per layer (first success wins).
_PLAN: dict[str, tuple[str, ...]] = {
    "people": ("room", "address"),
    "houses": ("room",),
    "legal_persons": ("address", "coordinates"),
    "events": ("coordinates", "area", "address"),
    "sensors": ("coordinates", "area", "address"),
}

#: Per layer: SQL expressions for room_id, address, lon, lat.
_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "people": ("room_id", "address", "NULL::DOUBLE", "NULL::DOUBLE"),
    "houses": ("room_id", "NULL::VARCHAR", "NULL::DOUBLE", "NULL::DOUBLE"),
    "legal_persons": ("NULL::VARCHAR", "coalesce(op_address, reg_address)", "lon", "lat"),
    "events": ("NULL::VARCHAR", "address", "lon", "lat"),
    "sensors": ("NULL::VARCHAR", "address", "lon", "lat"),
}

Progress = Callable[[str, int, int], None]


def active_version(con: duckdb.DuckDBPyConnection) -> int:
    """The active grid version.

    Raises
    ------
    Conflict
        When no grid version is active (run ``yizhi grid partition`` first).
    """
    row = con.execute(
        "SELECT max(version_id) FROM grid_versions WHERE status = 'active'"
    ).fetchone()
    if row is None or row[0] is None:
        raise Conflict("no active grid version: partition the grids before linking")
    return int(row[0])


def _check_layers(layers: Iterable[str] | None) -> list[str]:
    if layers is None:
        return list(LAYERS)
    chosen = list(dict.fromkeys(layers))
    bad = [x for x in chosen if x not in LAYERS]
    if bad:
        raise InvalidInput(f"unknown layer(s) {bad!r}; expected some of {list(LAYERS)!r}")
    return chosen


def link(
    con: duckdb.DuckDBPyConnection,
    layers: Iterable[str] | None = None,
    incremental: bool = True,
    progress: Progress | None = None,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    engine: SpatialEngine | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Link layer records to rooms / buildings and grids.

    Parameters
    ----------
    con
        A store with a register, an active grid version and ingested layers.
    layers
        Layers to link (default: all five).
    incremental
        Link only records without a current link / queue entry (new, changed, or linked under
        another grid version); ``False`` relinks every record of the chosen layers.
    progress
        Called as ``progress(layer, done, total)`` while a layer is linked.
    tolerance_m
        A point outside every building takes the nearest building within this distance.
    engine
        A spatial engine (:func:`fusion.get_engine`, e.g. ``"dask"`` on a cluster) for the
        point-in-polygon joins of points onto micro-grids and unit grids. ``None`` (default):
        SQL in this store. Both give the same links, except for a point exactly on a polygon
        boundary: SQL takes the polygons containing it (``ST_Contains``), the engine those
        covering it (boundary included); both then take the smallest code.
    workers
        Processes resolving the distinct addresses (:func:`address_registry.resolve.
        best_candidates`); ``None``: :func:`common.workers.default_workers`. Same links
        whatever the count.

    Returns
    -------
    dict
        ``{"grid_version", "layers": {layer: {"total", "linked", "unlinked", "processed",
        "by_method": {...}, "reasons": {...}}}}``; totals are of the whole store after the run.
    """
    from common.workers import check_workers

    chosen = _check_layers(layers)
    n_workers = check_workers(workers)
    version = active_version(con)
    report: dict[str, Any] = {"grid_version": version, "layers": {}}
    for layer in chosen:
        processed = _link_layer(
            con, layer, version, incremental, progress, tolerance_m, engine, n_workers
        )
        report["layers"][layer] = summary(con, layer) | {"processed": processed}
    return report


def summary(con: duckdb.DuckDBPyConnection, layer: str) -> dict[str, Any]:
    """Totals of one layer: records, linked, unlinked, by method and by reason."""
    total = _scalar(con, f"SELECT count(*) FROM {layer}")
    by_method = dict(
        con.execute(
            "SELECT method, count(*) FROM links WHERE layer = ? GROUP BY ALL ORDER BY 1", [layer]
        ).fetchall()
    )
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM unlinked WHERE layer = ? GROUP BY ALL ORDER BY 1",
            [layer],
        ).fetchall()
    )
    return {
        "total": total,
        "linked": int(sum(by_method.values())),
        "unlinked": int(sum(reasons.values())),
        "by_method": {k: int(v) for k, v in by_method.items()},
        "reasons": {k: int(v) for k, v in reasons.items()},
    }


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _link_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    version: int,
    incremental: bool,
    progress: Progress | None,
    tolerance_m: float,
    engine: SpatialEngine | None = None,
    workers: int = 1,
) -> int:
    room, address, lon, lat = _COLUMNS[layer]
    pending_filter = ""
    if incremental:
        # Records gone from the layer leave the links and the queue (a full run replaces all).
        for table in ("links", "unlinked"):
            con.execute(
                f"DELETE FROM {table} t WHERE t.layer = ? "
                f"AND NOT EXISTS (SELECT 1 FROM {layer} x WHERE x.source_id = t.source_id)",
                [layer],
            )
        # current: same row_hash and grid version; a link's building still active; a queue
        # entry younger than the register's last building change (else it is retried)
        pending_filter = f"""
        WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.layer = '{layer}'
                          AND l.source_id = x.source_id AND l.row_hash = x.row_hash
                          AND l.grid_version = {version}
                          AND (l.building_id IS NULL OR EXISTS (
                               SELECT 1 FROM buildings b WHERE b.building_id = l.building_id
                               AND b.status = 'active')))
          AND NOT EXISTS (SELECT 1 FROM unlinked u WHERE u.layer = '{layer}'
                          AND u.source_id = x.source_id AND u.row_hash = x.row_hash
                          AND u.grid_version = {version}
                          AND u.queued_at >= (SELECT coalesce(max(updated_at),
                                                              TIMESTAMPTZ '1970-01-01 00:00:00+00')
                                              FROM buildings))"""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_todo AS
        SELECT x.source_id, x.row_hash, {room} AS room_id,
               nullif(trim({address}), '') AS address, {lon} AS lon, {lat} AS lat
        FROM {layer} x {pending_filter}
    """)
    total = _scalar(con, "SELECT count(*) FROM _fx_todo")
    if progress is not None:
        progress(layer, 0, total)
    if total == 0:
        if not incremental:  # an empty layer: a full run leaves it no links
            _locked(con, layer, lambda: _delete(con, layer, everything=True))
        return 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fx_hit AS {_NEW_HITS}")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _fx_fail (source_id VARCHAR, reason VARCHAR, detail VARCHAR)
    """)
    steps = _PLAN[layer]
    rest = "_fx_todo"  # the records no method has linked yet
    for i, step in enumerate(steps):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _fx_new AS {_NEW_HITS}")
        if step == "room":
            _by_room(con, rest)
        elif step == "address":
            _by_address(con, rest, workers)
        elif step == "coordinates":
            _by_coordinates(con, rest, tolerance_m)
        else:
            _by_area(con, rest, version)
        con.execute("INSERT INTO _fx_hit SELECT * FROM _fx_new")
        if i < len(steps) - 1:
            # the next method sees only what is left (one anti-join per method, not per query)
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _fx_rest{i} AS
                SELECT t.* FROM {rest} t
                WHERE NOT EXISTS (SELECT 1 FROM _fx_new h WHERE h.source_id = t.source_id)
            """)
            if rest != "_fx_todo":
                con.execute(f"DROP TABLE {rest}")
            rest = f"_fx_rest{i}"
        if progress is not None:
            left = _scalar(con, f"SELECT count(*) FROM {rest}") if i < len(steps) - 1 else 0
            progress(layer, total - left, total)
    if rest != "_fx_todo":
        con.execute(f"DROP TABLE {rest}")
    _to_grids(con, version, engine)
    _write(con, layer, version, everything=not incremental)
    if progress is not None:
        progress(layer, total, total)
    return total


#: The hits of a method: one row per linked record (empty table of the right columns).
_NEW_HITS = """
    SELECT NULL::VARCHAR AS source_id, NULL::VARCHAR AS row_hash, NULL::VARCHAR AS room_id,
           NULL::VARCHAR AS building_id, NULL::VARCHAR AS method, NULL::DOUBLE AS confidence,
           NULL::DOUBLE AS lon, NULL::DOUBLE AS lat, NULL::VARCHAR AS detail
    WHERE false"""


def _fail(con: duckdb.DuckDBPyConnection, select: str) -> None:
    """Record (source_id, reason, detail) failures, replacing earlier ones of the same records."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fx_f AS {select}")
    con.execute("DELETE FROM _fx_fail WHERE source_id IN (SELECT source_id FROM _fx_f)")
    con.execute("INSERT INTO _fx_fail SELECT source_id, reason, detail FROM _fx_f")


def _by_room(con: duckdb.DuckDBPyConnection, rest: str) -> None:
    """A room of the register (active building), else the building its first 25 characters
    name (an update of the records that found no room)."""
    # equi-joins only (a condition on the first join's result inside the second's ON clause
    # made DuckDB compare the pairs one by one: minutes at Shenzhen scale)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_rm AS
        SELECT t.source_id, t.row_hash, t.room_id, r.room_id AS found_room, r.building_id,
               NULL::VARCHAR AS fallback
        FROM {rest} t
        LEFT JOIN (SELECT r.room_id, r.building_id FROM rooms r
                   JOIN buildings b ON b.building_id = r.building_id AND b.status = 'active') r
          ON r.room_id = t.room_id
    """)
    con.execute("""
        UPDATE _fx_rm SET fallback = b.building_id
        FROM (SELECT building_id FROM buildings WHERE status = 'active') b
        WHERE _fx_rm.found_room IS NULL AND length(_fx_rm.room_id) = 34
          AND b.building_id = left(_fx_rm.room_id, 25)
    """)
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT source_id, row_hash, found_room, building_id, 'room_id', {CONFIDENCE["room_id"]},
               NULL, NULL, NULL
        FROM _fx_rm WHERE found_room IS NOT NULL
        UNION ALL
        SELECT source_id, row_hash, NULL, fallback, 'building_id', {CONFIDENCE["building_id"]},
               NULL, NULL, 'room ' || room_id || ' not in the register'
        FROM _fx_rm WHERE found_room IS NULL AND fallback IS NOT NULL
    """)
    _fail(
        con,
        """SELECT source_id,
                  CASE WHEN room_id IS NULL THEN 'no_room' ELSE 'unknown_room' END AS reason,
                  CASE WHEN room_id IS NULL THEN NULL
                       ELSE 'room ' || room_id || ' not in the register' END AS detail
           FROM _fx_rm WHERE found_room IS NULL AND fallback IS NULL""",
    )
    con.execute("DROP TABLE _fx_rm")


def _by_address(con: duckdb.DuckDBPyConnection, rest: str, workers: int) -> None:
    from address_registry.resolve import BEST_COLUMNS, best_candidates

    texts = sorted(
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT address FROM {rest} WHERE address IS NOT NULL"
        ).fetchall()
    )
    frame = pd.DataFrame(best_candidates(con, texts, workers=workers), columns=list(BEST_COLUMNS))
    frame = frame.astype({c: "object" for c in BEST_COLUMNS if c != "confidence"})
    frame["confidence"] = frame["confidence"].astype("float64")
    _temp_from_frame(con, "_fx_resolved", frame)
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT t.source_id, t.row_hash, r.room_id, r.building_id, 'address', r.confidence,
               NULL, NULL, r.level
        FROM {rest} t JOIN _fx_resolved r ON r.address = t.address
        WHERE r.reason IS NULL AND r.building_id IS NOT NULL
    """)
    _fail(
        con,
        f"""SELECT t.source_id,
                   CASE WHEN r.reason = 'ambiguous' THEN 'ambiguous'
                        ELSE 'address_unresolved' END AS reason,
                   coalesce(r.reason, 'no_building') || ': ' || t.address AS detail
            FROM {rest} t JOIN _fx_resolved r ON r.address = t.address
            WHERE r.reason IS NOT NULL OR r.building_id IS NULL""",
    )


def _by_coordinates(con: duckdb.DuckDBPyConnection, rest: str, tolerance_m: float) -> None:
    from address_registry.reverse import reverse_many

    points = con.execute(
        f"SELECT source_id, lon, lat FROM {rest} "
        "WHERE lon IS NOT NULL AND lat IS NOT NULL AND isfinite(lon) AND isfinite(lat) "
        "AND abs(lon) <= 180 AND abs(lat) <= 90 ORDER BY source_id"
    ).df()
    if points.empty:
        return
    found = reverse_many(
        con, points["lon"].to_numpy(), points["lat"].to_numpy(), tolerance_m=tolerance_m
    )
    frame = pd.DataFrame(
        {
            "source_id": points["source_id"].to_numpy(),
            "building_id": found["building_id"].to_numpy(),
            "inside": found["inside"].to_numpy(),
            "distance_m": found["distance_m"].astype("float64").to_numpy(),
            "lon": points["lon"].to_numpy(),
            "lat": points["lat"].to_numpy(),
        }
    )
    near0, inside = CONFIDENCE["coordinates_near"], CONFIDENCE["coordinates_inside"]
    _temp_from_frame(con, "_fx_rev", frame)
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT v.source_id, t.row_hash, NULL, v.building_id, 'coordinates',
               CASE WHEN v.inside THEN {inside}
                    ELSE round({near0} - 0.25 * least(v.distance_m / {max(tolerance_m, 1e-9)}, 1),
                               3)
               END,
               v.lon, v.lat,
               CASE WHEN v.inside THEN 'inside' ELSE 'nearest ' || round(v.distance_m, 1) || ' m'
               END
        FROM _fx_rev v JOIN {rest} t USING (source_id) WHERE v.building_id IS NOT NULL
    """)
    _fail(
        con,
        f"""SELECT source_id, 'no_building_near' AS reason,
                   'no building within {tolerance_m:g} m' AS detail
            FROM _fx_rev WHERE building_id IS NULL""",
    )


def _by_area(con: duckdb.DuckDBPyConnection, rest: str, version: int) -> None:
    """Points in public space: linked to the micro-grid containing them, no building."""
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT t.source_id, t.row_hash, NULL, NULL, 'coordinates_area',
               {CONFIDENCE["coordinates_area"]}, t.lon, t.lat, 'public space'
        FROM {rest} t
        WHERE t.lon IS NOT NULL AND t.lat IS NOT NULL
          AND EXISTS (SELECT 1 FROM micro_grids m WHERE m.version_id = {version}
                      AND ST_Contains(m.geom, ST_Point(t.lon, t.lat)))
    """)
    _fail(
        con,
        f"""SELECT t.source_id, 'outside_grids' AS reason,
                   'point (' || t.lon || ', ' || t.lat
                   || ') is in no micro-grid of version {version}' AS detail
            FROM {rest} t
            WHERE t.lon IS NOT NULL AND t.lat IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM _fx_new h WHERE h.source_id = t.source_id)""",
    )


def _engine_pip(
    con: duckdb.DuckDBPyConnection, engine: SpatialEngine, points_sql: str, polygons_sql: str
) -> pd.DataFrame:
    """``place_id, code``: the smallest polygon code covering each point, by the engine."""
    import shapely

    pts = con.execute(points_sql).df()
    if pts.empty:
        return pd.DataFrame({"place_id": pd.Series([], dtype="int64"), "code": []})
    polys = con.execute(polygons_sql).df()
    if polys.empty:
        return pd.DataFrame({"place_id": pd.Series([], dtype="int64"), "code": []})
    geoms = shapely.from_wkb([bytes(b) for b in polys["wkb"]])
    found = engine.points_in_polygons(
        pts.rename(columns={"place_id": "point_id"}),
        pd.DataFrame({"polygon_id": polys["code"].to_numpy(), "geometry": geoms}),
    )
    return pd.DataFrame(
        {"place_id": found["point_id"].to_numpy(), "code": found["polygon_id"].to_numpy()}
    )


def _pip_sql(table: str, code: str, version: int, where: str) -> str:
    """``place_id, code``: the smallest ``code`` of ``table`` containing each place's point."""
    return f"""
        SELECT p.place_id, x.code FROM _fx_place p JOIN (
            SELECT x.plon, x.plat, min(g.{code}) AS code
            FROM (SELECT DISTINCT plon, plat FROM _fx_place
                  WHERE plon IS NOT NULL AND plat IS NOT NULL AND {where}) x
            JOIN {table} g ON g.version_id = {version} AND ST_Contains(g.geom, ST_Point(x.plon, x.plat))
            GROUP BY x.plon, x.plat) x ON x.plon = p.plon AND x.plat = p.plat
        WHERE {where}"""


def _to_grids(
    con: duckdb.DuckDBPyConnection, version: int, engine: SpatialEngine | None = None
) -> None:
    """Micro-grid, grid, unit grid and admin codes of every hit; misses go to the failures.

    The work is done once per *place* — a distinct (building, written unit, point): the rooms of
    one building and the records of one room share theirs — and the records join their place.
    A building's micro-grid is its assignment (a building split by unit: the room's unit, else
    the largest part); a point without one (public space, a building not assigned) and every
    unit grid come from the polygons containing the point (point in polygon once per point).
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_pt AS
        SELECT h.*, coalesce(h.lon, b.lon) AS plon, coalesce(h.lat, b.lat) AS plat,
               substr(h.room_id, 26, 2) AS unit
        FROM _fx_hit h LEFT JOIN buildings b ON b.building_id = h.building_id;

        CREATE OR REPLACE TEMP TABLE _fx_place AS
        SELECT row_number() OVER () AS place_id, *
        FROM (SELECT DISTINCT building_id, unit, plon, plat FROM _fx_pt);

        -- by building, chosen once per building and written unit
        CREATE OR REPLACE TEMP TABLE _fx_bu AS
        SELECT k.building_id, k.unit, a.micro_grid_code,
               count(*) OVER (PARTITION BY k.building_id, k.unit) AS parts,
               (a.unit = k.unit) AS unit_match
        FROM (SELECT DISTINCT building_id, unit FROM _fx_place WHERE building_id IS NOT NULL) k
        JOIN grid_assignments a ON a.version_id = {version} AND a.building_id = k.building_id
        QUALIFY row_number() OVER (
            PARTITION BY k.building_id, k.unit
            ORDER BY (a.unit = k.unit) DESC NULLS LAST, a.households DESC,
                     a.micro_grid_code) = 1;
        CREATE OR REPLACE TEMP TABLE _fx_mg AS
        SELECT p.place_id, b.micro_grid_code, b.parts, b.unit_match
        FROM _fx_place p JOIN _fx_bu b
          ON b.building_id = p.building_id AND b.unit IS NOT DISTINCT FROM p.unit;
    """)
    unassigned = "place_id NOT IN (SELECT place_id FROM _fx_mg)"
    if engine is None:
        con.execute(f"""
            INSERT INTO _fx_mg SELECT place_id, code, 1, NULL
            FROM ({_pip_sql("micro_grids", "micro_grid_code", version, unassigned)});
            CREATE OR REPLACE TEMP TABLE _fx_ug AS
            {_pip_sql("unit_grids", "unit_grid_code", version, "true")};
        """)
    else:
        # the heavy point-in-polygon joins go to the engine (e.g. Dask on a cluster)
        points = (
            "SELECT place_id, plon AS x, plat AS y FROM _fx_place "
            "WHERE plon IS NOT NULL AND plat IS NOT NULL"
        )
        mg = _engine_pip(
            con,
            engine,
            f"{points} AND {unassigned}",
            "SELECT micro_grid_code AS code, ST_AsWKB(geom) AS wkb FROM micro_grids "
            f"WHERE version_id = {version} AND geom IS NOT NULL",
        )
        _temp_from_frame(con, "_fx_engine_mg", mg)
        ug = _engine_pip(
            con,
            engine,
            points,
            "SELECT unit_grid_code AS code, ST_AsWKB(geom) AS wkb FROM unit_grids "
            f"WHERE version_id = {version} AND geom IS NOT NULL",
        )
        _temp_from_frame(con, "_fx_ug", ug)
        con.execute("INSERT INTO _fx_mg SELECT place_id, code, 1, NULL FROM _fx_engine_mg")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_placed AS
        SELECT p.building_id, p.unit, p.plon, p.plat, g.micro_grid_code, m.grid_code,
               u.code AS unit_grid_code, m.community_code, g.parts,
               g.parts > 1 AND NOT coalesce(g.unit_match, false) AS split
        FROM _fx_place p
        JOIN _fx_mg g USING (place_id)
        JOIN micro_grids m ON m.version_id = {version} AND m.micro_grid_code = g.micro_grid_code
        LEFT JOIN _fx_ug u USING (place_id);

        CREATE OR REPLACE TEMP TABLE _fx_linked AS
        SELECT p.source_id, p.row_hash, p.room_id, p.building_id, p.method,
               CASE WHEN x.split THEN round(p.confidence * 0.9, 3) ELSE p.confidence END
                   AS confidence,
               x.micro_grid_code, x.grid_code, x.unit_grid_code, x.community_code,
               left(x.community_code, 9) AS street_code, left(x.community_code, 6) AS district_code,
               CASE WHEN x.split
                    THEN concat_ws('; ', p.detail, 'building split over ' || x.parts
                                   || ' micro-grids: the largest part')
                    ELSE p.detail END AS detail
        FROM _fx_pt p
        JOIN _fx_placed x
          ON x.building_id IS NOT DISTINCT FROM p.building_id
         AND x.unit IS NOT DISTINCT FROM p.unit
         AND x.plon IS NOT DISTINCT FROM p.plon AND x.plat IS NOT DISTINCT FROM p.plat;
    """)
    _fail(
        con,
        f"""SELECT p.source_id, 'outside_grids' AS reason,
                   coalesce('building ' || p.building_id, 'point')
                   || ' is in no micro-grid of version {version}' AS detail
            FROM _fx_pt p WHERE p.source_id NOT IN (SELECT source_id FROM _fx_linked)""",
    )


def _write(
    con: duckdb.DuckDBPyConnection, layer: str, version: int, *, everything: bool = False
) -> None:
    """Replace the links and queue entries of every pending record, in one transaction
    (``everything``: of the whole layer, records gone from it included).

    ``links`` and ``unlinked`` have no PRIMARY KEY (migration 0006: its index was maintained on
    one thread while 16M people links were written): each pending record is deleted from both
    and inserted once, in one of them. The transaction first takes the layer's row of
    ``link_locks``, so a second run writing the same layer at the same time fails (DuckDB:
    conflict on update) instead of writing its records twice.

    Raises
    ------
    Conflict
        Another run is writing this layer's links (or wrote them after this one began).
    """
    _locked(con, layer, lambda: _write_layer(con, layer, version, everything))
    for name in (
        "_fx_todo",
        "_fx_hit",
        "_fx_fail",
        "_fx_f",
        "_fx_pt",
        "_fx_mg",
        "_fx_bu",
        "_fx_ug",
        "_fx_place",
        "_fx_placed",
        "_fx_engine_mg",
        "_fx_linked",
        "_fx_resolved",
        "_fx_rev",
        "_fx_new",
    ):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _locked(con: duckdb.DuckDBPyConnection, layer: str, write: Callable[[], None]) -> None:
    """Run ``write`` in one transaction that first takes the layer's row of ``link_locks``.

    Raises
    ------
    Conflict
        Another run is writing this layer's links (or wrote them after this one began).
    """
    import store

    with store.transaction(con, changes=("fusion",), what=f"the links of {layer!r}"):
        con.execute("UPDATE link_locks SET locked_at = current_timestamp WHERE layer = ?", [layer])
        write()


def _delete(con: duckdb.DuckDBPyConnection, layer: str, everything: bool) -> None:
    pending = "" if everything else "AND source_id IN (SELECT source_id FROM _fx_todo)"
    for table in ("links", "unlinked"):
        con.execute(f"DELETE FROM {table} WHERE layer = ? {pending}", [layer])


def _write_layer(
    con: duckdb.DuckDBPyConnection, layer: str, version: int, everything: bool
) -> None:
    _delete(con, layer, everything)
    con.execute(
        f"""INSERT INTO links
        SELECT '{layer}', l.source_id, l.room_id, l.building_id, l.method, l.confidence,
               l.micro_grid_code, l.grid_code, l.unit_grid_code, l.community_code,
               l.street_code, l.district_code, {version}, l.detail, l.row_hash,
               current_timestamp
        FROM _fx_linked l"""
    )
    con.execute(
        f"""INSERT INTO unlinked
        SELECT '{layer}', t.source_id, coalesce(f.reason, 'no_location'),
               CASE WHEN f.reason IS NULL THEN 'no room ID, address or point' ELSE f.detail
               END,
               t.row_hash, {version}, current_timestamp
        FROM _fx_todo t LEFT JOIN _fx_fail f USING (source_id)
        WHERE t.source_id NOT IN (SELECT source_id FROM _fx_linked)"""
    )


def _temp_from_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    view = f"{name}_df"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)
