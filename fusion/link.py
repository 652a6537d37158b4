"""Link every layer record to the register (room / building) and to the grids.

Set-based in DuckDB: each layer's pending records go through its ordered methods (room ID,
address, coordinates, public-space area), each method a join over the whole pending set; the
resolver sees each distinct address string once, and every point-in-polygon and nearest-building
join goes through the spatial engine, once per distinct point (:mod:`fusion._joins`: covers,
the smallest code, in the city's metric CRS). Linked records land in ``links`` with their
method, confidence and micro-grid / grid / unit grid / community / street / district codes of the
active grid version; the rest land in ``unlinked`` with a reason. See docs/fusion-linking.md.

A record is pending when it has no row in ``links`` or ``unlinked`` carrying its current
``row_hash`` and the active grid version, so a re-run links only new or changed records and
records whose grids changed; ``incremental=False`` relinks everything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import duckdb
import pandas as pd

from address_registry import queries as registry
from address_registry.resolve import BEST_COLUMNS, best_candidates
from common.errors import InvalidInput
from common.workers import check_workers
from fusion._joins import CityJoins
from fusion._write import locked
from fusion.engine import SpatialEngine
from fusion.queries import LAYERS, link_summary
from grid_partition import queries as grids
from layers import queries as records

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

Progress = Callable[[str, int, int], None]


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
        The spatial engine of every point-in-polygon and nearest-building join
        (:func:`fusion.get_engine`, e.g. ``"dask"`` on a cluster); ``None`` (default): the
        DuckDB engine of ``con`` (one per connection, reused by later runs). Every engine gives the same links: a point goes to the
        smallest code among the polygons covering it (boundary included), in the city's metric
        coordinates (:mod:`fusion._joins`).
    workers
        Processes resolving the distinct addresses (:func:`address_registry.resolve.
        best_candidates`); ``None``: :func:`common.workers.default_workers`. Same links
        whatever the count.

    Returns
    -------
    dict
        ``{"grid_version", "layers": {layer: {"total", "linked", "unlinked", "processed",
        "by_method": {...}, "reasons": {...}}}}``; totals are of the whole store after the run.

    Raises
    ------
    NoActiveGridVersion
        (a :class:`~common.errors.NotFound`) when no grid version is active.
    """
    chosen = _check_layers(layers)
    if not (tolerance_m >= 0 and math.isfinite(tolerance_m)):
        raise InvalidInput(
            f"tolerance must be a non-negative number of metres, got {tolerance_m!r}"
        )
    n_workers = check_workers(workers)
    version = grids.active_version(con)
    joins = CityJoins(con, version, engine)  # polygon layers loaded once for every layer
    report: dict[str, Any] = {"grid_version": version, "layers": {}}
    for layer in chosen:
        processed = _link_layer(con, layer, joins, incremental, progress, tolerance_m, n_workers)
        report["layers"][layer] = link_summary(con, layer) | {"processed": processed}
    return report


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _link_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    joins: CityJoins,
    incremental: bool,
    progress: Progress | None,
    tolerance_m: float,
    workers: int = 1,
) -> int:
    version = joins.version
    source = records.link_records_sql(layer)
    pending_filter = ""
    if incremental:
        # Records gone from the layer leave the links and the queue (a full run replaces all).
        for table in ("links", "unlinked"):
            con.execute(
                f"DELETE FROM {table} t WHERE t.layer = ? "
                f"AND NOT EXISTS (SELECT 1 FROM ({source}) x WHERE x.source_id = t.source_id)",
                [layer],
            )
        # current: same row_hash and grid version; a link's building still active; a queue
        # entry younger than the register's last building change (else it is retried)
        buildings = registry.buildings_sql()
        pending_filter = f"""
        WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.layer = '{layer}'
                          AND l.source_id = x.source_id AND l.row_hash = x.row_hash
                          AND l.grid_version = {version}
                          AND (l.building_id IS NULL OR EXISTS (
                               SELECT 1 FROM ({buildings}) b WHERE b.building_id = l.building_id
                               AND b.status = 'active')))
          AND NOT EXISTS (SELECT 1 FROM unlinked u WHERE u.layer = '{layer}'
                          AND u.source_id = x.source_id AND u.row_hash = x.row_hash
                          AND u.grid_version = {version}
                          AND u.queued_at >= (SELECT coalesce(max(updated_at),
                                                              TIMESTAMPTZ '1970-01-01 00:00:00+00')
                                              FROM ({buildings})))"""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_todo AS
        SELECT x.source_id, x.row_hash, x.room_id, nullif(trim(x.address), '') AS address,
               x.lon, x.lat
        FROM ({source}) x {pending_filter}
    """)
    total = _scalar(con, "SELECT count(*) FROM _fx_todo")
    if progress is not None:
        progress(layer, 0, total)
    if total == 0:
        if not incremental:  # an empty layer: a full run leaves it no links
            with locked(con, "link_locks", layer, what=f"the links of {layer!r}"):
                _delete(con, layer, everything=True)
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
            _by_coordinates(con, rest, joins, tolerance_m)
        else:
            _by_area(con, rest, joins)
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
    _to_grids(con, joins)
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
    buildings = registry.buildings_sql()
    # equi-joins only (a condition on the first join's result inside the second's ON clause
    # made DuckDB compare the pairs one by one: minutes at Shenzhen scale)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_rm AS
        SELECT t.source_id, t.row_hash, t.room_id, r.room_id AS found_room, r.building_id,
               NULL::VARCHAR AS fallback
        FROM {rest} t
        LEFT JOIN (SELECT r.room_id, r.building_id FROM ({registry.rooms_sql()}) r
                   JOIN ({buildings}) b ON b.building_id = r.building_id AND b.status = 'active') r
          ON r.room_id = t.room_id
    """)
    con.execute(f"""
        UPDATE _fx_rm SET fallback = b.building_id
        FROM (SELECT building_id FROM ({buildings}) WHERE status = 'active') b
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


def _points(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The distinct ``lon, lat`` of a query (a point is joined once, whatever shares it)."""
    return con.execute(
        f"SELECT DISTINCT lon, lat FROM ({sql}) WHERE lon IS NOT NULL AND lat IS NOT NULL "
        "ORDER BY lon, lat"
    ).df()


def _by_coordinates(
    con: duckdb.DuckDBPyConnection, rest: str, joins: CityJoins, tolerance_m: float
) -> None:
    """The active building covering the point, else the nearest within ``tolerance_m``.

    One engine join (:meth:`CityJoins.nearest`) per distinct point, in metres: the building
    covering the point (ties: the smallest ID) is linked ``inside``; else the nearest, ties to
    the smallest ID, ``nearest <d> m`` with a confidence falling from 0.85 at 0 m to 0.6 at the
    tolerance. The same building as :func:`address_registry.reverse.reverse_many` gives.
    """
    points = _points(con, f"SELECT lon, lat FROM {rest}")
    if points.empty:
        return
    lon, lat = points["lon"].to_numpy(), points["lat"].to_numpy()
    found = joins.nearest("building", lon, lat, tolerance_m)
    hits = points.iloc[found["i"].to_numpy()].reset_index(drop=True)
    hits["building_id"] = pd.array(found["code"].to_numpy(), dtype="string")
    hits["distance_m"] = found["distance_m"].to_numpy()
    _temp_from_frame(con, "_fx_rev", hits)
    near0, inside = CONFIDENCE["coordinates_near"], CONFIDENCE["coordinates_inside"]
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT t.source_id, t.row_hash, NULL, v.building_id, 'coordinates',
               CASE WHEN v.distance_m = 0 THEN {inside}
                    ELSE round({near0} - 0.25 * least(v.distance_m / {max(tolerance_m, 1e-9)}, 1),
                               3)
               END,
               t.lon, t.lat,
               CASE WHEN v.distance_m = 0 THEN 'inside'
                    ELSE 'nearest ' || round(v.distance_m, 1) || ' m' END
        FROM {rest} t JOIN _fx_rev v ON v.lon = t.lon AND v.lat = t.lat
    """)
    _fail(
        con,
        f"""SELECT t.source_id, 'no_building_near' AS reason,
                   'no building within {tolerance_m:g} m' AS detail
            FROM {rest} t
            WHERE isfinite(t.lon) AND isfinite(t.lat) AND abs(t.lon) <= 180 AND abs(t.lat) <= 90
              AND NOT EXISTS (SELECT 1 FROM _fx_new h WHERE h.source_id = t.source_id)""",
    )


def _covering(
    con: duckdb.DuckDBPyConnection, joins: CityJoins, layer: str, points_sql: str, name: str
) -> None:
    """Temp table ``name`` (``lon, lat, code``): the smallest ``layer`` code covering each
    distinct point of ``points_sql`` (columns ``lon, lat``); points covered by none are left
    out."""
    points = _points(con, points_sql)
    found = joins.covering(layer, points["lon"].to_numpy(), points["lat"].to_numpy())
    hits = points.iloc[found["i"].to_numpy()].reset_index(drop=True)
    hits["code"] = pd.array(found["code"].to_numpy(), dtype="string")
    _temp_from_frame(con, name, hits)


def _by_area(con: duckdb.DuckDBPyConnection, rest: str, joins: CityJoins) -> None:
    """Points in public space: linked to the micro-grid covering them, no building."""
    _covering(con, joins, "micro_grid", f"SELECT lon, lat FROM {rest}", "_fx_area")
    con.execute(f"""
        INSERT INTO _fx_new
        SELECT t.source_id, t.row_hash, NULL, NULL, 'coordinates_area',
               {CONFIDENCE["coordinates_area"]}, t.lon, t.lat, 'public space'
        FROM {rest} t JOIN _fx_area a ON a.lon = t.lon AND a.lat = t.lat
    """)
    _fail(
        con,
        f"""SELECT t.source_id, 'outside_grids' AS reason,
                   'point (' || t.lon || ', ' || t.lat
                   || ') is in no micro-grid of version {joins.version}' AS detail
            FROM {rest} t
            WHERE t.lon IS NOT NULL AND t.lat IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM _fx_new h WHERE h.source_id = t.source_id)""",
    )


def _to_grids(con: duckdb.DuckDBPyConnection, joins: CityJoins) -> None:
    """Micro-grid, grid, unit grid and admin codes of every hit; misses go to the failures.

    The work is done once per *place* — a distinct (building, written unit, point): the rooms of
    one building and the records of one room share theirs — and the records join their place.
    A building's micro-grid is its assignment (a building split by unit: the room's unit, else
    the largest part); a point without one (public space, a building not assigned) and every
    unit grid come from the polygons covering the point (:meth:`CityJoins.covering`, once per
    distinct point).
    """
    version = joins.version
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _fx_pt AS
        SELECT h.*, coalesce(h.lon, b.lon) AS plon, coalesce(h.lat, b.lat) AS plat,
               substr(h.room_id, 26, 2) AS unit
        FROM _fx_hit h LEFT JOIN ({registry.buildings_sql()}) b ON b.building_id = h.building_id;

        CREATE OR REPLACE TEMP TABLE _fx_place AS
        SELECT row_number() OVER () AS place_id, *
        FROM (SELECT DISTINCT building_id, unit, plon, plat FROM _fx_pt);

        -- by building, chosen once per building and written unit
        CREATE OR REPLACE TEMP TABLE _fx_bu AS
        SELECT k.building_id, k.unit, a.micro_grid_code,
               count(*) OVER (PARTITION BY k.building_id, k.unit) AS parts,
               (a.unit = k.unit) AS unit_match
        FROM (SELECT DISTINCT building_id, unit FROM _fx_place WHERE building_id IS NOT NULL) k
        JOIN ({grids.assignments_sql(version)}) a ON a.building_id = k.building_id
        QUALIFY row_number() OVER (
            PARTITION BY k.building_id, k.unit
            ORDER BY (a.unit = k.unit) DESC NULLS LAST, a.households DESC,
                     a.micro_grid_code) = 1;
        CREATE OR REPLACE TEMP TABLE _fx_mg AS
        SELECT p.place_id, b.micro_grid_code, b.parts, b.unit_match
        FROM _fx_place p JOIN _fx_bu b
          ON b.building_id = p.building_id AND b.unit IS NOT DISTINCT FROM p.unit;
    """)
    # the point joins, once per distinct point: micro-grids of the places without an
    # assignment, unit grids of every place
    unassigned = (
        "SELECT plon AS lon, plat AS lat FROM _fx_place "
        "WHERE place_id NOT IN (SELECT place_id FROM _fx_mg)"
    )
    _covering(con, joins, "micro_grid", unassigned, "_fx_pip_mg")
    every = "SELECT plon AS lon, plat AS lat FROM _fx_place"
    _covering(con, joins, "unit_grid", every, "_fx_pip_ug")
    con.execute(f"""
        INSERT INTO _fx_mg
        SELECT p.place_id, x.code, 1, NULL FROM _fx_place p
        JOIN _fx_pip_mg x ON x.lon = p.plon AND x.lat = p.plat
        WHERE p.place_id NOT IN (SELECT place_id FROM _fx_mg);

        CREATE OR REPLACE TEMP TABLE _fx_placed AS
        SELECT p.building_id, p.unit, p.plon, p.plat, g.micro_grid_code, m.grid_code,
               u.code AS unit_grid_code, m.community_code, g.parts,
               g.parts > 1 AND NOT coalesce(g.unit_match, false) AS split
        FROM _fx_place p
        JOIN _fx_mg g USING (place_id)
        JOIN ({grids.micro_grids_sql(version)}) m ON m.micro_grid_code = g.micro_grid_code
        LEFT JOIN _fx_pip_ug u ON u.lon = p.plon AND u.lat = p.plat;

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


#: The temporary tables of a layer's run, dropped once it is written.
_TEMP = (
    "_fx_todo",
    "_fx_hit",
    "_fx_fail",
    "_fx_f",
    "_fx_new",
    "_fx_resolved",
    "_fx_rev",
    "_fx_area",
    "_fx_pt",
    "_fx_place",
    "_fx_bu",
    "_fx_mg",
    "_fx_pip_mg",
    "_fx_pip_ug",
    "_fx_placed",
    "_fx_linked",
)


def _write(
    con: duckdb.DuckDBPyConnection, layer: str, version: int, *, everything: bool = False
) -> None:
    """Replace the links and queue entries of every pending record, in one transaction
    (``everything``: of the whole layer, records gone from it included).

    ``links`` and ``unlinked`` have no PRIMARY KEY (migration 0006: its index was maintained on
    one thread while 16M people links were written): each pending record is deleted from both
    and inserted once, in one of them. The transaction first takes the layer's row of
    ``link_locks`` (:func:`fusion._write.locked`), so a second run writing the same layer at the
    same time fails instead of writing its records twice.

    Raises
    ------
    Conflict
        Another run is writing this layer's links (or wrote them after this one began).
    """
    with locked(con, "link_locks", layer, what=f"the links of {layer!r}"):
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
                   CASE WHEN f.reason IS NULL THEN 'no room ID, address or point'
                        ELSE f.detail END,
                   t.row_hash, {version}, current_timestamp
            FROM _fx_todo t LEFT JOIN _fx_fail f USING (source_id)
            WHERE t.source_id NOT IN (SELECT source_id FROM _fx_linked)"""
        )
    for name in _TEMP:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _delete(con: duckdb.DuckDBPyConnection, layer: str, everything: bool) -> None:
    pending = "" if everything else "AND source_id IN (SELECT source_id FROM _fx_todo)"
    for table in ("links", "unlinked"):
        con.execute(f"DELETE FROM {table} WHERE layer = ? {pending}", [layer])


def _temp_from_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    view = f"{name}_df"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)
