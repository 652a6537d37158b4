"""The default spatial engine: SQL in the store's DuckDB connection, with a lattice join.

Point layers become temporary tables ``fusion_points_<name>`` (``point_id``, ``x``, ``y``).
A polygon layer is stored once per *content* (a hash of its ids and geometries) as
``fusion_polys_<key>`` (``rank``, ``polygon_id``, ``geom`` and its bounds), with its lattice
(:mod:`fusion._lattice`) in ``fusion_cells_<key>`` (``cell_id`` → ``rank`` or NULL for boundary
cells) and ``fusion_cands_<key>`` (boundary ``cell_id``, candidate ``rank``); the registry
table ``fusion_lattice`` lists the built sets. Loading the same polygons again reuses them.
``rank`` orders polygons by ``polygon_id``: the smallest covering rank wins ties.
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
    """

    name: ClassVar[str] = "duckdb"

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        *,
        cells_per_polygon: int = CELLS_PER_POLYGON,
    ) -> None:
        if con is None:
            import store

            con = store.connect(":memory:")
        self.con = con
        self.cells_per_polygon = int(cells_per_polygon)
        self._layers: dict[str, tuple[str, str]] = {}
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
        """Store the polygons and their lattice (built only if this polygon set is new)."""
        _check_name(name)
        self._layers[name] = ("polygons", self._ensure_polygons(polygons))
        return name

    def lattice_info(self, polygons: Polygons) -> dict[str, Any]:
        """The ``fusion_lattice`` row of a polygon layer (size, cells, build time)."""
        key = self._polygon_key(polygons)
        row = self.con.execute("SELECT * FROM fusion_lattice WHERE set_key = ?", [key]).fetchdf()
        return dict(row.iloc[0])

    # -- joins ---------------------------------------------------------------------------------
    def pip_sql(self, points: Points, polygons: Polygons) -> str:
        """SQL giving ``point_id``, ``polygon_id`` of the lattice point-in-polygon join."""
        pts = self._point_table(points)
        key = self._polygon_key(polygons)
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

    def exact_pip_sql(self, points: Points, polygons: Polygons) -> str:
        """SQL of the reference join: DuckDB's spatial join on ``ST_Covers``, smallest id wins."""
        pts = self._point_table(points)
        key = self._polygon_key(polygons)
        return f"""
        SELECT p.point_id, arg_min(g.polygon_id, g.rank) AS polygon_id
        FROM {pts} p JOIN fusion_polys_{key} g ON ST_Covers(g.geom, ST_Point(p.x, p.y))
        GROUP BY p.point_id
        """

    def points_in_polygons(self, points: Points, polygons: Polygons) -> pd.DataFrame:
        """Lattice join; see :meth:`fusion.engine.SpatialEngine.points_in_polygons`."""
        sql = self.pip_sql(points, polygons)
        return self.con.execute(f"SELECT * FROM ({sql}) ORDER BY point_id").fetchdf()

    def nearest_within(
        self, points: Points, polygons: Polygons, tolerance_m: float
    ) -> pd.DataFrame:
        """Covering polygon, else nearest within ``tolerance_m`` (ties: smallest id)."""
        tol = float(tolerance_m)
        if not np.isfinite(tol) or tol < 0:
            raise InvalidInput(f"tolerance_m must be finite and >= 0, got {tolerance_m!r}")
        pts = self._point_table(points)
        key = self._polygon_key(polygons)
        pip = self.pip_sql(points, polygons)
        return self.con.execute(
            f"""
            WITH pip AS ({pip}),
            rest AS (SELECT p.* FROM {pts} p ANTI JOIN pip USING (point_id)),
            near AS (
                SELECT r.point_id, g.rank, g.polygon_id,
                       ST_Distance(g.geom, ST_Point(r.x, r.y)) AS d
                FROM rest r JOIN fusion_polys_{key} g
                  ON r.x BETWEEN g.xmin - {_f(tol)} AND g.xmax + {_f(tol)}
                 AND r.y BETWEEN g.ymin - {_f(tol)} AND g.ymax + {_f(tol)}
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
            f"SELECT polygon_id, ST_AsWKB(geom) AS wkb FROM fusion_polys_{ref} "
            "WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ? "
            "AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?)) ORDER BY rank",
            [xmin, xmax, ymin, ymax, xmin, ymin, xmax, ymax],
        ).fetchdf()
        geoms = shapely.from_wkb([bytes(b) for b in out["wkb"]])
        return pd.DataFrame({"polygon_id": out["polygon_id"], "geometry": geoms})

    # -- internals -----------------------------------------------------------------------------
    def _layer(self, name: str) -> tuple[str, str]:
        if name not in self._layers:
            raise NotFound(f"no layer {name!r} loaded; loaded: {sorted(self._layers)}", layer=name)
        return self._layers[name]

    def _any_table(self, name: str) -> str:
        kind, ref = self._layer(name)
        return ref if kind == "points" else f"fusion_polys_{ref}"

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

    def _ensure_polygons(self, polygons: pd.DataFrame) -> str:
        frame = validate_polygons(polygons)
        geoms = frame["geometry"].to_numpy()
        key = polygon_set_key(list(frame["polygon_id"]), geoms)
        key = f"{key}_{self.cells_per_polygon}"
        self.con.execute(_REGISTRY_DDL)
        if self.con.execute("SELECT 1 FROM fusion_lattice WHERE set_key = ?", [key]).fetchone():
            return key
        start = time.perf_counter()
        lattice = build_lattice(geoms, cells_per_polygon=self.cells_per_polygon)
        self._write_set(key, frame, lattice)
        self.last_build_seconds = time.perf_counter() - start
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
        return key

    def _write_set(self, key: str, frame: pd.DataFrame, lattice: PolygonLattice) -> None:
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
        for view, table in (
            ("_fusion_polys", polys),
            ("_fusion_cells", cells),
            ("_fusion_cands", cands),
        ):
            con.register(view, table)
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE fusion_polys_{key} AS SELECT rank, polygon_id, "
                "ST_GeomFromWKB(wkb) AS geom, xmin, ymin, xmax, ymax FROM _fusion_polys"
            )
            con.execute(
                f"CREATE OR REPLACE TABLE fusion_cells_{key} AS SELECT * FROM _fusion_cells"
            )
            con.execute(
                f"CREATE OR REPLACE TABLE fusion_cands_{key} AS SELECT * FROM _fusion_cands "
                "ORDER BY cell_id, rank"
            )
        finally:
            for view in ("_fusion_polys", "_fusion_cells", "_fusion_cands"):
                con.unregister(view)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(
            f"layer name {name!r} must be letters, digits and underscores", layer=name
        )


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'
