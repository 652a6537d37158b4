"""The default spatial engine: SQL in the store's DuckDB connection, with a lattice join.

Point layers become temporary tables ``fusion_points_<name>`` (``point_id``, ``x``, ``y``).
A polygon layer is named by its *content* (a hash of its ids and geometries: the ``key``) and
held as ``rank``, ``polygon_id``, ``geom`` and its bounds; ``rank`` orders the polygons by
``polygon_id``, and the smallest covering rank wins ties. Two joins give the same answer:

- **the lattice join** (:mod:`fusion._lattice`): most points are answered by a hash join on
  their cell, only the points in boundary cells are tested. The lattice is stored in the store
  once per polygon set: ``fusion_polys_<key>``, ``fusion_cells_<key>`` (``cell_id`` → ``rank``,
  NULL for boundary cells) and ``fusion_cands_<key>`` (boundary ``cell_id``, candidate
  ``rank``), listed in ``fusion_lattice``; loading the same polygons again, in any session,
  reuses it. Building it costs about what it saves on 20-30 points per polygon;
- **DuckDB's spatial join** on ``ST_Covers`` (an R-tree built per join) with the polygons in a
  temporary table ``fusion_tpolys_<key>``: nothing to build, the faster one for fewer points.

With ``lattice=None`` (the default) a join takes the lattice when one is stored for the set, or
when it brings at least :data:`LATTICE_POINTS_PER_POLYGON` points per polygon (the lattice is
then built and stored), and the spatial join otherwise; ``lattice=True`` always takes the
lattice (built when the polygons are loaded), ``lattice=False`` never. A nearest-polygon join
answers the covered points by the same point-in-polygon join and the others by DuckDB's spatial
join on ``ST_DWithin``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

import store
from common.errors import InvalidInput, NotFound
from fusion._lattice import CELLS_PER_POLYGON, PolygonLattice, build_lattice, polygon_set_key
from fusion.engine import (
    Measures,
    Points,
    Polygons,
    SpatialEngine,
    validate_measures,
    validate_points,
    validate_polygons,
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Points per polygon from which a join builds the lattice (``lattice=None``): on the generated
#: city a build costs about what the lattice join saves over the spatial join on 20-30 points
#: per polygon.
LATTICE_POINTS_PER_POLYGON = 32
#: Lattices kept in the store: storing one more drops the oldest (their tables included).
KEEP_LATTICES = 8

_REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS fusion_lattice (
    set_key VARCHAR PRIMARY KEY,
    n_polygons INTEGER NOT NULL,
    x0 DOUBLE NOT NULL, y0 DOUBLE NOT NULL, size DOUBLE NOT NULL,
    nx INTEGER NOT NULL, ny INTEGER NOT NULL,
    n_inner BIGINT NOT NULL, n_boundary BIGINT NOT NULL,
    build_seconds DOUBLE NOT NULL,
    built_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
"""


def _f(value: float) -> str:
    """A double literal that round-trips exactly."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


class DuckDBEngine(SpatialEngine):
    """Spatial engine running in a DuckDB connection (the store's, by default a fresh one).

    Parameters
    ----------
    con
        A connection from :func:`store.connect` (spatial loaded); ``None`` opens ``:memory:``.
    cells_per_polygon
        Lattice density: about this many cells per mean polygon.
    lattice
        ``None`` (default): the lattice join when a lattice of the polygon set is stored or a
        join brings enough points to pay for building one, else DuckDB's spatial join;
        ``True``: always the lattice (built when the polygons are loaded); ``False``: never.
        The answers are the same.
    """

    name: ClassVar[str] = "duckdb"

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        *,
        cells_per_polygon: int = CELLS_PER_POLYGON,
        lattice: bool | None = None,
    ) -> None:
        self.con = con if con is not None else store.connect(":memory:")
        self.cells_per_polygon = int(cells_per_polygon)
        self.lattice = lattice
        self._layers: dict[str, tuple[str, str]] = {}
        #: polygon set key -> (the table holding it, number of polygons)
        self._sets: dict[str, tuple[str, int]] = {}
        self._tmp = 0
        self.last_build_seconds: float | None = None

    # -- loading -------------------------------------------------------------------------------
    def load_points(self, name: str, points: pd.DataFrame) -> str:
        """Load points into the temporary table ``fusion_points_<name>``."""
        _check_name(name)
        frame = validate_points(points)
        table = f"fusion_points_{name}"
        self.con.register("_fusion_in", pa.Table.from_pandas(frame, preserve_index=False))
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT point_id, x, y FROM _fusion_in"
            )
        finally:
            self.con.unregister("_fusion_in")
        self._layers[name] = ("points", table)
        return name

    def load_point_table(self, name: str, sql: str) -> str:
        """Load points from a query on the connection (columns ``point_id``, ``x``, ``y``)."""
        _check_name(name)
        table = f"fusion_points_{name}"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT point_id, CAST(x AS DOUBLE) AS x, CAST(y AS DOUBLE) AS y FROM ({sql})"
        )
        self._layers[name] = ("points", table)
        return name

    def load_polygons(self, name: str, polygons: pd.DataFrame) -> str:
        """Hold the polygons; with ``lattice=True`` store their lattice too (built only when
        this polygon set has none yet)."""
        _check_name(name)
        self._layers[name] = ("polygons", self._ensure_polygons(polygons))
        return name

    def lattice_info(self, polygons: Polygons) -> dict[str, Any]:
        """The ``fusion_lattice`` row of a polygon layer (size, cells, build time); the lattice
        is built if it is not stored yet."""
        key = self._polygon_key(polygons)
        self._ensure_lattice(key)
        row = self.con.execute("SELECT * FROM fusion_lattice WHERE set_key = ?", [key]).fetchdf()
        return dict(row.iloc[0])

    # -- joins ---------------------------------------------------------------------------------
    def pip_sql(self, points: Points, polygons: Polygons) -> str:
        """SQL giving ``point_id``, ``polygon_id`` of the lattice point-in-polygon join (the
        lattice is built if it is not stored yet)."""
        return self._lattice_sql(self._point_table(points), self._polygon_key(polygons))

    def exact_pip_sql(self, points: Points, polygons: Polygons) -> str:
        """SQL of DuckDB's spatial join on ``ST_Covers``, smallest id wins: the join taken
        for few points, and the reference the lattice join is tested against."""
        return self._covers_sql(self._point_table(points), self._polygon_key(polygons))

    def points_in_polygons(self, points: Points, polygons: Polygons) -> pd.DataFrame:
        """Lattice or spatial join (the same answer; see the module docstring and
        :meth:`fusion.engine.SpatialEngine.points_in_polygons`)."""
        sql = self._pip_sql(self._point_table(points), self._polygon_key(polygons))
        return self.con.execute(f"SELECT * FROM ({sql}) ORDER BY point_id").fetchdf()

    def nearest_within(
        self, points: Points, polygons: Polygons, tolerance_m: float
    ) -> pd.DataFrame:
        """Covering polygon, else nearest within ``tolerance_m`` (ties: smallest id).

        Covered points come from the point-in-polygon join; the others from DuckDB's spatial
        join on ``ST_DWithin`` with the exact ``ST_Distance``.
        """
        tol = float(tolerance_m)
        if not np.isfinite(tol) or tol < 0:
            raise InvalidInput(f"tolerance_m must be finite and >= 0, got {tolerance_m!r}")
        pts = self._point_table(points)
        key = self._polygon_key(polygons)
        table = self._sets[key][0]
        return self.con.execute(
            f"""
            WITH pip AS ({self._pip_sql(pts, key)}),
            rest AS (SELECT p.* FROM {pts} p ANTI JOIN pip USING (point_id)),
            near AS (
                SELECT r.point_id, g.rank, g.polygon_id,
                       ST_Distance(g.geom, ST_Point(r.x, r.y)) AS d
                FROM rest r JOIN {table} g ON ST_DWithin(g.geom, ST_Point(r.x, r.y), {_f(tol)})
            )
            SELECT point_id, polygon_id, 0.0::DOUBLE AS distance_m FROM pip
            UNION ALL
            SELECT point_id, arg_min(polygon_id, (d, rank)), min(d)
            FROM near WHERE d <= {_f(tol)} GROUP BY point_id
            ORDER BY point_id
            """
        ).fetchdf()

    def aggregate(
        self, df: pd.DataFrame | str, by: Sequence[str], measures: Measures
    ) -> pd.DataFrame:
        """``GROUP BY`` in DuckDB; see :meth:`fusion.engine.SpatialEngine.aggregate`."""
        validate_measures(measures)
        by = list(by)
        if isinstance(df, str):
            source = self._any_table(df)
        else:
            self._tmp += 1
            source = f"_fusion_agg_{self._tmp}"
            self.con.register(source, df)
        try:
            cols = [_q(c) for c in by]
            exprs = []
            for out, (col, func) in measures.items():
                arg = "*" if col == "*" else _q(col)
                sql_func = "avg" if func == "mean" else func
                exprs.append(f"{sql_func}({arg}) AS {_q(out)}")
            group = f" GROUP BY {', '.join(cols)} ORDER BY {', '.join(cols)}" if cols else ""
            sql = f"SELECT {', '.join([*cols, *exprs])} FROM {source}{group}"
            return self.con.execute(sql).fetchdf()
        finally:
            if not isinstance(df, str):
                self.con.unregister(source)

    def bbox_query(
        self, layer: str, xmin: float, ymin: float, xmax: float, ymax: float
    ) -> pd.DataFrame:
        """Points or polygons of ``layer`` meeting the closed box."""
        kind, ref = self._layer(layer)
        if kind == "points":
            return self.con.execute(
                f"SELECT point_id, x, y FROM {ref} WHERE x BETWEEN ? AND ? AND y BETWEEN ? AND ? "
                "ORDER BY point_id",
                [xmin, xmax, ymin, ymax],
            ).fetchdf()
        out = self.con.execute(
            f"SELECT polygon_id, ST_AsWKB(geom) AS wkb FROM {self._sets[ref][0]} "
            "WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ? "
            "AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?)) ORDER BY rank",
            [xmin, xmax, ymin, ymax, xmin, ymin, xmax, ymax],
        ).fetchdf()
        geoms = shapely.from_wkb([bytes(b) for b in out["wkb"]])
        return pd.DataFrame({"polygon_id": out["polygon_id"], "geometry": geoms})

    # -- the two joins ---------------------------------------------------------------------------
    def _pip_sql(self, pts: str, key: str) -> str:
        """The point-in-polygon SQL of a point table: the lattice or the spatial join."""
        use = self.lattice
        if use is None:
            use = self._stored(key)
            if not use:
                row = self.con.execute(f"SELECT count(*) FROM {pts}").fetchone()
                use = row is not None and row[0] >= LATTICE_POINTS_PER_POLYGON * self._sets[key][1]
        return self._lattice_sql(pts, key) if use else self._covers_sql(pts, key)

    def _covers_sql(self, pts: str, key: str) -> str:
        return f"""
        SELECT p.point_id, arg_min(g.polygon_id, g.rank) AS polygon_id
        FROM {pts} p JOIN {self._sets[key][0]} g ON ST_Covers(g.geom, ST_Point(p.x, p.y))
        GROUP BY p.point_id
        """

    def _lattice_sql(self, pts: str, key: str) -> str:
        self._ensure_lattice(key)
        x0, y0, size, nx, ny = self.con.execute(
            "SELECT x0, y0, size, nx, ny FROM fusion_lattice WHERE set_key = ?", [key]
        ).fetchone() or (0.0, 0.0, 1.0, 0, 0)
        return f"""
        WITH pc AS (
            SELECT point_id, x, y,
                   CAST(floor((x - {_f(x0)}) / {_f(size)}) AS BIGINT) AS ci,
                   CAST(floor((y - {_f(y0)}) / {_f(size)}) AS BIGINT) AS cj
            FROM {pts}
        ), hit AS (
            SELECT pc.point_id, pc.x, pc.y, c.cell_id, c.rank
            FROM pc JOIN fusion_cells_{key} c ON c.cell_id = pc.cj * {nx} + pc.ci
            WHERE pc.ci >= 0 AND pc.ci < {nx} AND pc.cj >= 0 AND pc.cj < {ny}
        ), res AS (
            SELECT point_id, rank FROM hit WHERE rank IS NOT NULL
            UNION ALL
            SELECT h.point_id, min(k.rank) AS rank
            FROM hit h
            JOIN fusion_cands_{key} k ON k.cell_id = h.cell_id
            JOIN fusion_polys_{key} g ON g.rank = k.rank
            WHERE h.rank IS NULL AND ST_Covers(g.geom, ST_Point(h.x, h.y))
            GROUP BY h.point_id
        )
        SELECT res.point_id, g.polygon_id
        FROM res JOIN fusion_polys_{key} g ON g.rank = res.rank
        """

    # -- internals -----------------------------------------------------------------------------
    def _layer(self, name: str) -> tuple[str, str]:
        if name not in self._layers:
            raise NotFound(f"no layer {name!r} loaded; loaded: {sorted(self._layers)}", layer=name)
        return self._layers[name]

    def _any_table(self, name: str) -> str:
        kind, ref = self._layer(name)
        return ref if kind == "points" else self._sets[ref][0]

    def _point_table(self, points: Points) -> str:
        if isinstance(points, str):
            kind, ref = self._layer(points)
            if kind != "points":
                raise InvalidInput(f"layer {points!r} holds polygons, not points", layer=points)
            return ref
        self.load_points("_anon", points)
        return "fusion_points__anon"

    def _polygon_key(self, polygons: Polygons) -> str:
        if isinstance(polygons, str):
            kind, ref = self._layer(polygons)
            if kind != "polygons":
                raise InvalidInput(f"layer {polygons!r} holds points, not polygons", layer=polygons)
            return ref
        return self._ensure_polygons(polygons)

    def _stored(self, key: str) -> bool:
        """Whether the lattice of polygon set ``key`` is in the store."""
        registry = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'fusion_lattice'"
        ).fetchone()
        if not registry or not registry[0]:
            return False
        found = self.con.execute("SELECT 1 FROM fusion_lattice WHERE set_key = ?", [key])
        return found.fetchone() is not None

    def _ensure_polygons(self, polygons: pd.DataFrame) -> str:
        """Hold a polygon set and return its key: in its stored lattice's table, else (with
        ``lattice=True``) in the lattice built now, else in a temporary table."""
        frame = validate_polygons(polygons)
        geoms = frame["geometry"].to_numpy()
        key = f"{polygon_set_key(list(frame['polygon_id']), geoms)}_{self.cells_per_polygon}"
        if key in self._sets:
            return key
        if self._stored(key):
            self._sets[key] = (f"fusion_polys_{key}", len(frame))
        elif self.lattice:
            self._build_lattice(key, frame)
        else:
            table = f"fusion_tpolys_{key}"
            if not self._temporary_exists(table):  # (an earlier engine on this connection)
                self._write_polygons(table, frame, temporary=True)
            self._sets[key] = (table, len(frame))
        return key

    def _temporary_exists(self, table: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]
        ).fetchone()
        return bool(row and row[0])

    def _ensure_lattice(self, key: str) -> None:
        """Build and store the lattice of a held polygon set unless it is stored already (a
        temporary table it was held in stays: another engine on the connection may use it)."""
        table, _ = self._sets[key]
        if self._stored(key):
            self._sets[key] = (f"fusion_polys_{key}", self._sets[key][1])
            return
        rows = self.con.execute(
            f"SELECT polygon_id, ST_AsWKB(geom) FROM {table} ORDER BY rank"
        ).fetchall()
        geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
        self._build_lattice(
            key, pd.DataFrame({"polygon_id": [r[0] for r in rows], "geometry": geoms})
        )

    def _build_lattice(self, key: str, frame: pd.DataFrame) -> None:
        """Build the lattice of polygons in rank order and store it with them."""
        start = time.perf_counter()
        lattice = build_lattice(
            frame["geometry"].to_numpy(), cells_per_polygon=self.cells_per_polygon
        )
        self._write_polygons(f"fusion_polys_{key}", frame, temporary=False)
        self._write_lattice(key, lattice)
        self.last_build_seconds = time.perf_counter() - start
        self.con.execute(_REGISTRY_DDL)
        self.con.execute(
            "INSERT INTO fusion_lattice (set_key, n_polygons, x0, y0, size, nx, ny, n_inner, "
            "n_boundary, build_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key,
                len(frame),
                lattice.x0,
                lattice.y0,
                lattice.size,
                lattice.nx,
                lattice.ny,
                len(lattice.inner_cells),
                len(lattice.boundary_cells),
                self.last_build_seconds,
            ],
        )
        self._sets[key] = (f"fusion_polys_{key}", len(frame))
        self._prune(keep=key)

    def _prune(self, keep: str) -> None:
        """Drop the lattices beyond the newest :data:`KEEP_LATTICES` (never ``keep``)."""
        old = self.con.execute(
            "SELECT set_key FROM fusion_lattice WHERE set_key <> ? "
            "ORDER BY built_at DESC, set_key OFFSET ?",
            [keep, KEEP_LATTICES - 1],
        ).fetchall()
        for (key,) in old:
            if key in self._sets:  # held by this engine: kept
                continue
            for kind in ("polys", "cells", "cands"):
                self.con.execute(f"DROP TABLE IF EXISTS fusion_{kind}_{key}")
            self.con.execute("DELETE FROM fusion_lattice WHERE set_key = ?", [key])

    def _write_polygons(self, table: str, frame: pd.DataFrame, *, temporary: bool) -> None:
        """``rank, polygon_id, geom, xmin, ymin, xmax, ymax`` of polygons in rank order."""
        geoms = frame["geometry"].to_numpy()
        bounds = shapely.bounds(geoms)
        polys = pa.table(
            {
                "rank": pa.array(np.arange(len(frame), dtype=np.int32)),
                "polygon_id": pa.array(frame["polygon_id"].tolist()),
                "wkb": pa.array(shapely.to_wkb(geoms).tolist(), type=pa.binary()),
                "xmin": bounds[:, 0],
                "ymin": bounds[:, 1],
                "xmax": bounds[:, 2],
                "ymax": bounds[:, 3],
            }
        )
        self.con.register("_fusion_polys", polys)
        try:
            self.con.execute(
                f"CREATE OR REPLACE {'TEMP ' if temporary else ''}TABLE {table} AS "
                "SELECT rank, polygon_id, ST_GeomFromWKB(wkb) AS geom, xmin, ymin, xmax, ymax "
                "FROM _fusion_polys"
            )
        finally:
            self.con.unregister("_fusion_polys")

    def _write_lattice(self, key: str, lattice: PolygonLattice) -> None:
        cells = pa.table(
            {
                "cell_id": np.concatenate([lattice.inner_cells, lattice.boundary_cells]),
                "rank": pa.array(
                    np.concatenate(
                        [lattice.inner_rank, np.zeros(len(lattice.boundary_cells), np.int32)]
                    ),
                    mask=np.concatenate(
                        [
                            np.zeros(len(lattice.inner_cells), bool),
                            np.ones(len(lattice.boundary_cells), bool),
                        ]
                    ),
                ),
            }
        )
        cands = pa.table({"cell_id": lattice.cand_cells, "rank": lattice.cand_rank})
        con = self.con
        for view, table in (("_fusion_cells", cells), ("_fusion_cands", cands)):
            con.register(view, table)
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE fusion_cells_{key} AS SELECT * FROM _fusion_cells"
            )
            con.execute(
                f"CREATE OR REPLACE TABLE fusion_cands_{key} AS SELECT * FROM _fusion_cands "
                "ORDER BY cell_id, rank"
            )
        finally:
            for view in ("_fusion_cells", "_fusion_cands"):
                con.unregister(view)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(
            f"layer name {name!r} must be letters, digits and underscores", layer=name
        )


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'
