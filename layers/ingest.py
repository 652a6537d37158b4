"""Ingest a layer file into the store: read, validate, quarantine, upsert by source ID.

>>> import store
>>> con = store.connect(":memory:")
>>> report = ingest(con, "legal_persons", "missing.csv", secret=b"k")
Traceback (most recent call last):
...
common.errors.InvalidInput: no such input file: missing.csv

The heavy work runs in DuckDB over whole columns: the file is scanned once into a temporary
table of checked rows (raw ID numbers, names and phones are hashed and masked in that same scan
and never materialised), then loaded rows are upserted and failing rows quarantined with every
reason, all in one transaction that first takes the layer's row of ``layer_locks`` (the layer
tables have no PRIMARY KEY: see :func:`_lock_layer`). Temporary tables live in memory (or
DuckDB's temporary directory, deleted on close), never in the database file. A CSV larger than a slice is scanned slice by slice, each in
parallel (:mod:`layers._slices`, :func:`_materialise_slices`).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

import store
from address_registry import queries as registry
from common.coords import SUPPORTED_SYSTEMS, CoordSystem, system_name, transform
from common.errors import Conflict, InvalidInput
from layers import privacy
from layers._read import Mapping, Source, load_mapping, open_source
from layers._scratch import scratch
from layers._slices import blank_lines, copy_range, csv_slices
from layers.schemas import Kind, get_kind

#: The default city area (the sample: the Bund and Lujiazui, Shanghai), lon/lat WGS84.
DEFAULT_BBOX = (121.40, 31.15, 121.60, 31.30)

Step = Callable[[str], None]


@dataclass
class IngestReport:
    """What one ingest did. ``rows_in == loaded + quarantined`` and
    ``loaded == inserted + updated + unchanged`` always hold."""

    batch_id: str
    layer: str
    file: str
    sha256: str
    rows_in: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json``)."""
        return asdict(self)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _inside_sql(con: duckdb.DuckDBPyConnection, bounds: Any) -> str:
    """SQL condition over ``_lon``/``_lat``: the point lies in the city."""
    if bounds is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _layer_city AS {registry.city_area_sql()}")
        row = con.execute("SELECT count(*) FROM _layer_city").fetchone()
        if row and row[0]:
            return "ST_Intersects((SELECT geom FROM _layer_city), ST_Point(_lon, _lat))"
        bounds = DEFAULT_BBOX
    if isinstance(bounds, str):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _layer_city AS SELECT ST_GeomFromText(?) AS geom",
            [bounds],
        )
        return "ST_Intersects((SELECT geom FROM _layer_city), ST_Point(_lon, _lat))"
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not (minx < maxx and miny < maxy):
        raise InvalidInput(f"city bounds must be (minlon, minlat, maxlon, maxlat), got {bounds!r}")
    return f"(_lon BETWEEN {minx} AND {maxx} AND _lat BETWEEN {miny} AND {maxy})"


def _materialise(
    con: duckdb.DuckDBPyConnection, table: str, select: str, line_from_rowid: int | None
) -> None:
    """``CREATE TEMP TABLE table AS select``; number ``_line`` from rowid when asked.

    With ``line_from_rowid`` the scan runs with ``preserve_insertion_order`` on, so the rows of
    a parallel CSV scan land in file order and ``rowid + line_from_rowid`` is the line.
    """
    if line_from_rowid is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
        return
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    finally:
        con.execute("SET preserve_insertion_order = false")
    con.execute(f"UPDATE {table} SET _line = rowid + {int(line_from_rowid)}")


#: Checked rows take about this many bytes of memory per byte of CSV (6.2 at 3M people rows).
_CHECKED_PER_CSV_BYTE = 6.0
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _memory_limit(con: duckdb.DuckDBPyConnection) -> float | None:
    """DuckDB's ``memory_limit`` in bytes (None when it cannot be read)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    text = str(row[0] if row else "").strip().upper().replace(" ", "")
    number = text.rstrip("KMGTIB")
    try:
        return float(number) * _UNITS.get(text[len(number) :] or "B", 1)
    except ValueError:
        return None


def _fits_in_memory(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether the checked rows of a CSV are expected to fit in DuckDB's memory limit.

    The parallel, insertion-ordered scan of a whole file pays off only then: past the limit
    DuckDB's batch insert falls back to one thread (17.7M people rows, 2.2 GB CSV, 6.5 GiB
    limit: the whole ingest took 288-342 s that way, 219 s with the serial numbered scan).
    A larger file is cut into slices (:func:`_slice_bytes`).
    """
    limit = _memory_limit(con)
    return limit is not None and path.stat().st_size * _CHECKED_PER_CSV_BYTE <= 0.8 * limit


#: The smallest slice worth a scan of its own (a smaller memory limit still cuts this much).
_MIN_SLICE_BYTES = 8 * 2**20


def _slice_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes of CSV per slice: the checked rows of one slice take an eighth of the limit.

    DuckDB's ordered batch insert holds the batches that finish ahead of their turn in at most
    a quarter of the limit and runs on one thread when they outgrow it; a slice whose checked
    rows take half that can never get there (7 GB limit: 146 MB of CSV, ~1.1M people rows).
    """
    limit = _memory_limit(con) or 2**30
    return max(_MIN_SLICE_BYTES, int(limit / 8 / _CHECKED_PER_CSV_BYTE))


def _materialise_slices(
    con: duckdb.DuckDBPyConnection,
    spec: Kind,
    src: Source,
    inside: str,
    slices: list[tuple[int, int]],
    tmpdir: Path,
) -> bool:
    """Materialise ``_layer_checked`` from a CSV cut into ``slices``, each scanned in parallel.

    Each slice is inserted in file order after the previous one (``preserve_insertion_order``),
    so ``rowid`` numbers the good rows of the whole file; the rejected lines of each slice are
    moved to their place in the whole file (the numbering of one scan, which
    :func:`_fix_lines` expects: header = 1, then one per record or blank line). Returns False, leaving no table and no slice rejects
    behind, when a slice but the last ends inside a quoted field (a cut DuckDB disagrees with,
    see :mod:`layers._slices`): the caller then scans the whole file at once.
    """
    assert src.slice_sql is not None and src.data_path is not None
    folder = tmpdir / "slices"
    folder.mkdir(exist_ok=True)
    records = 0  # records (good rows and rejected lines) of the slices before, header excluded
    rows = 0
    ok = True
    con.execute("SET preserve_insertion_order = true")
    try:
        for k, (start, end) in enumerate(slices):
            file = src.data_path
            if len(slices) > 1:
                file = folder / f"slice-{k:05d}.csv"
                copy_range(src.data_path, start, end, file)
            select = _checked_sql(spec, src.slice_sql(file, k == 0), inside)
            if k == 0:
                con.execute(f"CREATE OR REPLACE TEMP TABLE _layer_checked AS {select}")
            else:
                con.execute(f"INSERT INTO _layer_checked {select}")
            if file != src.data_path:
                file.unlink()
            row = con.execute("SELECT count(*) FROM _layer_checked").fetchone()
            total = int(row[0]) if row else 0
            good, rows = total - rows, total
            lines, unquoted = _slice_rejects(con, file, 0 if k == 0 else records + 1)
            if unquoted and k < len(slices) - 1:
                ok = False
                break
            if k < len(slices) - 1:  # DuckDB counts the blank lines it skips, too
                records += good + lines + blank_lines(src.data_path, start, end)
    finally:
        con.execute("SET preserve_insertion_order = false")
    if not ok:
        con.execute("DROP TABLE IF EXISTS _layer_checked")
        if len(slices) > 1:
            con.execute(
                "DELETE FROM _layer_rejects WHERE scan_id IN (SELECT scan_id FROM _layer_scans "
                "WHERE starts_with(file_path, ?))",
                [str(folder)],
            )
        for leftover in folder.glob("slice-*.csv"):
            leftover.unlink()
        return False
    con.execute("UPDATE _layer_checked SET _line = rowid + 2")
    return True


def _slice_rejects(con: duckdb.DuckDBPyConnection, file: Path, offset: int) -> tuple[int, int]:
    """Shift the rejected lines of the scan of ``file`` by ``offset``; count them.

    Returns the number of distinct rejected lines and of ``UNQUOTED VALUE`` errors.
    """
    scans = "SELECT scan_id FROM _layer_scans WHERE file_path = ?"
    try:
        if offset:
            con.execute(
                f"UPDATE _layer_rejects SET line = line + {int(offset)} WHERE scan_id IN ({scans})",
                [str(file)],
            )
        row = con.execute(
            "SELECT count(DISTINCT line), count(*) FILTER (WHERE error_type = 'UNQUOTED VALUE') "
            f"FROM _layer_rejects WHERE scan_id IN ({scans})",
            [str(file)],
        ).fetchone()
    except duckdb.CatalogException:  # no rejects table: nothing was rejected
        return 0, 0
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _convert_crs(
    con: duckdb.DuckDBPyConnection,
    src_sql: str,
    crs: CoordSystem,
    line_from_rowid: int | None = None,
) -> str:
    """Materialise the input with lon/lat converted from GCJ-02/BD-09 to WGS84."""
    import numpy as np
    import pyarrow as pa

    _materialise(con, "_layer_src", f"SELECT * FROM {src_sql}", line_from_rowid)
    arrow = con.execute(
        "SELECT _line, TRY_CAST(lon AS DOUBLE) AS x, TRY_CAST(lat AS DOUBLE) AS y FROM _layer_src "
        "WHERE TRY_CAST(lon AS DOUBLE) IS NOT NULL AND TRY_CAST(lat AS DOUBLE) IS NOT NULL"
    ).to_arrow_table()
    x = arrow.column("x").to_numpy()
    y = arrow.column("y").to_numpy()
    if len(x):
        nx, ny = transform(x, y, crs, "wgs84")
        fixed = pa.table(
            {
                "_line": arrow.column("_line"),
                "x": np.asarray(nx, dtype="float64"),
                "y": np.asarray(ny, dtype="float64"),
            }
        )
        con.register("_layer_fixed", fixed)
        con.execute(
            "UPDATE _layer_src SET lon = CAST(f.x AS VARCHAR), lat = CAST(f.y AS VARCHAR) "
            "FROM _layer_fixed f WHERE _layer_src._line = f._line"
        )
        con.unregister("_layer_fixed")
    return "_layer_src"


def _crs_name(given: str) -> CoordSystem:
    """The canonical name of a CRS the caller declares (:func:`common.coords.system_name`).

    Raises
    ------
    InvalidInput
        Naming it and listing the names accepted.
    """
    try:
        return system_name(given)
    except InvalidInput:
        raise InvalidInput(f"unknown CRS {given!r}; use one of {list(SUPPORTED_SYSTEMS)}") from None


def _names_system(text: str, crs: CoordSystem) -> bool:
    try:
        return system_name(text) == crs
    except InvalidInput:
        return False


def _check_row_crs(con: duckdb.DuckDBPyConnection, src: Source, crs: CoordSystem) -> None:
    """A per-row ``crs`` column must name the declared CRS on every line (any of its names)."""
    if "crs" not in src.present:
        return
    named = con.execute(
        f"SELECT DISTINCT trim(crs) FROM {src.numbered_sql} WHERE trim(crs) <> ''"
    ).fetchall()
    other = [text for (text,) in named if not _names_system(text, crs)]
    if not other:
        return
    row = con.execute(
        f"SELECT _line, crs FROM {src.numbered_sql} WHERE list_contains(?, trim(crs)) "
        "ORDER BY _line LIMIT 1",
        [other],
    ).fetchone()
    if row:
        raise InvalidInput(
            f"{src.path}: line {row[0]}, column 'crs': {row[1]!r} differs from the declared CRS "
            f"{crs!r}; a file holds one CRS: split it or convert it first"
        )


def _checked_sql(kind: Kind, from_sql: str, inside: str) -> str:
    """The SELECT producing the checked rows of ``kind`` (no raw PII among its columns).

    Columns: ``_line``, ``source_id``, the non-PII input columns as read, the ``derived``
    columns, ``reasons`` (every failing slug), ``o_<column>`` (the values to store) and
    ``row_hash`` (md5 of the values to store).
    """

    def select(exprs: dict[str, str]) -> str:
        return "".join(f", {expr} AS {name}" for name, expr in exprs.items())

    level0 = f"SELECT r.*{select(kind.pre)} FROM {from_sql} r {kind.join}"
    level1 = f"SELECT *{select(kind.helpers)} FROM ({level0})"
    # derived values get their own level: referring to an alias of the same SELECT would make
    # DuckDB evaluate its expression (an HMAC ...) again at every use
    level2 = f"SELECT *{select(kind.derived)} FROM ({level1})"
    source_id = (
        f"coalesce(nullif(trim(source_id), ''), {kind.default_source_id})"
        if kind.default_source_id
        else "nullif(trim(source_id), '')"
    )
    conds = [("missing_source_id", f"({source_id}) IS NULL"), *kind.reasons]
    cases = ", ".join(
        f"CASE WHEN coalesce({cond.replace('__INSIDE__', inside)}, false) THEN '{slug}' END"
        for slug, cond in conds
    )
    carried = [c for c in kind.columns if c not in kind.pii and c != "source_id"]
    same = {name for name, expr in kind.outputs.items() if expr == name}
    derived = [name for name in kind.derived if name not in same]
    outputs = [f"{expr} AS o_{name}" for name, expr in kind.outputs.items()]
    cols = ", ".join(["_line", f"{source_id} AS source_id", *carried, "_geom_kind", *derived])
    level3 = (
        f"SELECT {cols}, list_filter([{cases}], x -> x IS NOT NULL) AS reasons, "
        f"{', '.join(outputs)} FROM ({level2})"
    )
    hashed = ", ".join(f"coalesce(CAST(o_{c} AS VARCHAR), chr(30))" for c in kind.outputs)
    # the input as read is kept for quarantined rows only (it feeds their raw JSON)
    kept = ", ".join(f"CASE WHEN len(reasons) > 0 THEN {c} END AS {c}" for c in carried)
    others = ", ".join(["_line", "source_id", "_geom_kind", *derived, "reasons"])
    outs = ", ".join(f"o_{c}" for c in kind.outputs)
    return (
        f"SELECT {others}, {kept + ', ' if kept else ''}{outs}, "
        f"md5(concat_ws(chr(31), {hashed})) AS row_hash FROM ({level3})"
    )


def _raw_json_sql(kind: Kind) -> str:
    """JSON of a checked row for the quarantine: PII only as masked forms, text scrubbed."""
    parts = []
    for c in kind.columns:
        if c in kind.pii:
            continue
        # rows found bad after the scan (duplicates) kept no input: show the parsed value
        value = f"coalesce({c}, CAST(o_{c} AS VARCHAR))" if c in kind.outputs else c
        parts.append(f"{c} := {privacy.sql_scrub(value)}")
    for name in kind.derived:
        if name in ("id_masked", "name_masked", "phone_masked", "id_hmac", "phone_hmac"):
            parts.append(f"{name} := o_{name}")
        elif name == "_birth_year":
            parts.append("birth_year := _birth_year")
    return f"to_json(struct_pack({', '.join(parts)}))"


def _fix_lines(con: duckdb.DuckDBPyConnection, src: Source) -> list[tuple[int, str]]:
    """Turn ordinals into physical lines around the rejected CSV lines; return the rejects."""
    if src.rejects_table is None:
        return []
    try:
        rejects = con.execute(
            f"SELECT line, list_sort(list_distinct(list(error_type::VARCHAR)))[1] FROM "
            f"{src.rejects_table} GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.CatalogException:
        return []
    if not rejects:
        return []
    # g_i = good rows before the i-th rejected line; the good row with ordinal o lies after
    # every rejected line with g_i < o, so its physical line is o + 1 + #{i: g_i < o}.
    gaps = [(int(line) - 2 - i, i + 1) for i, (line, _) in enumerate(rejects)]
    con.execute("CREATE OR REPLACE TEMP TABLE _layer_gaps (g BIGINT, k BIGINT)")
    con.executemany("INSERT INTO _layer_gaps VALUES (?, ?)", gaps)
    con.execute(
        "UPDATE _layer_checked SET _line = _layer_checked._line + s.k FROM ("
        "SELECT c._line AS l, g.k FROM _layer_checked c ASOF JOIN _layer_gaps g "
        "ON c._line - 1 > g.g) s WHERE _layer_checked._line = s.l"
    )
    return [(int(line), str(err)) for line, err in rejects]


def _mark_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "UPDATE _layer_checked SET reasons = list_append(reasons, 'duplicate_source_id') "
        "WHERE _line IN (SELECT _line FROM (SELECT _line, row_number() OVER "
        "(PARTITION BY source_id ORDER BY _line) AS rn FROM _layer_checked WHERE source_id IN "
        "(SELECT source_id FROM _layer_checked WHERE source_id IS NOT NULL GROUP BY source_id "
        "HAVING count(*) > 1)) WHERE rn > 1)"
    )


def _mark_unknown_rooms(con: duckdb.DuckDBPyConnection, kind: Kind) -> None:
    if "room_id" not in kind.columns:
        return
    rooms = registry.room_ids_sql()
    row = con.execute(f"SELECT EXISTS ({rooms})").fetchone()
    if not (row and row[0]):
        return  # no register yet: only the format of room IDs is checked
    con.execute(
        "UPDATE _layer_checked SET reasons = list_append(reasons, 'unknown_room'), "
        "room_id = o_room_id WHERE o_room_id IS NOT NULL AND NOT list_contains(reasons, "
        f"'bad_room_id') AND o_room_id NOT IN ({rooms})"
    )


def _lock_layer(
    con: duckdb.DuckDBPyConnection, kind: Kind, batch_id: str, now: dt.datetime
) -> None:
    """Take the layer's row of ``layer_locks``: the first statement of the load transaction.

    The layer tables have no PRIMARY KEY (migration 0005: its index was maintained on one
    thread, ~92 CPU-s at 17.7M people rows), so source_id stays unique because the upsert is
    one set operation over a snapshot taken here; a second transaction loading the same layer
    at the same time fails on this row (DuckDB: conflict on update) instead of inserting the
    same source_ids twice.

    Raises
    ------
    Conflict
        Another transaction is loading the layer (or loaded it after this one began).
    """
    try:
        con.execute(
            "UPDATE layer_locks SET batch_id = ?, locked_at = ? WHERE layer = ?",
            [batch_id, now, kind.name],
        )
    except duckdb.TransactionException as exc:
        raise Conflict(
            f"layer {kind.name!r} is being loaded by another transaction; retry: {exc}"
        ) from exc


def _upsert(
    con: duckdb.DuckDBPyConnection, kind: Kind, batch_id: str, now: dt.datetime
) -> tuple[int, int, int]:
    """Upsert the good checked rows into ``kind.table`` by source_id, as set operations.

    Good rows have distinct source_ids (:func:`_mark_duplicates`). An empty table takes them
    all (a parallel append: the table has no index). Otherwise each is classed by a join on
    source_id: new (inserted), same row_hash (unchanged: left alone), other row_hash (updated:
    the stored row is deleted, then the new one inserted). Returns (inserted, updated,
    unchanged).
    """
    cols = list(kind.outputs)
    names = ", ".join(["source_id", *cols, "row_hash", "ingested_at", "batch_id"])
    select = ", ".join(["c.source_id", *(f"c.o_{c}" for c in cols), "c.row_hash"])
    stamp = f"TIMESTAMPTZ '{now.isoformat()}', '{batch_id}'"
    row = con.execute(f"SELECT EXISTS (SELECT 1 FROM {kind.table})").fetchone()
    if not (row and row[0]):  # an empty table: every good row is new
        con.execute(
            f"INSERT INTO {kind.table} ({names}) SELECT {select}, {stamp} FROM _layer_checked c "
            "WHERE len(c.reasons) = 0"
        )
        row = con.execute(f"SELECT count(*) FROM {kind.table}").fetchone()
        inserted = int(row[0]) if row else 0
        if kind.name == "events" and inserted:
            from layers.events import history_from_times_sql

            con.execute(
                "CREATE OR REPLACE TEMP TABLE _layer_status AS SELECT source_id, "
                "'inserted' AS status FROM _layer_checked WHERE len(reasons) = 0"
            )
            con.execute(history_from_times_sql("_layer_checked", "_layer_status"))
        return inserted, 0, 0
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _layer_status AS SELECT c.source_id, CASE "
        f"WHEN t.source_id IS NULL THEN 'inserted' WHEN t.row_hash = c.row_hash THEN 'unchanged' "
        f"ELSE 'updated' END AS status FROM _layer_checked c LEFT JOIN {kind.table} t "
        "ON t.source_id = c.source_id WHERE len(c.reasons) = 0"
    )
    counts = dict(
        con.execute("SELECT status, count(*) FROM _layer_status GROUP BY status").fetchall()
    )
    if counts.get("updated"):
        con.execute(
            f"DELETE FROM {kind.table} WHERE source_id IN "
            "(SELECT source_id FROM _layer_status WHERE status = 'updated')"
        )
    if counts.get("inserted") or counts.get("updated"):
        con.execute(
            f"INSERT INTO {kind.table} ({names}) SELECT {select}, {stamp} FROM _layer_checked c "
            "SEMI JOIN _layer_status s ON s.source_id = c.source_id AND s.status <> 'unchanged' "
            "WHERE len(c.reasons) = 0"
        )
    if kind.name == "events" and counts.get("inserted"):
        from layers.events import history_from_times_sql

        con.execute(history_from_times_sql("_layer_checked", "_layer_status"))
    return counts.get("inserted", 0), counts.get("updated", 0), counts.get("unchanged", 0)


def ingest(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: str | Path,
    *,
    mapping: str | Path | dict[str, Any] | Mapping | None = None,
    crs: str | None = None,
    bounds: tuple[float, float, float, float] | str | None = None,
    secret: bytes | None = None,
    demo: bool = False,
    step: Step | None = None,
    slice_bytes: int | None = None,
) -> IngestReport:
    """Ingest ``path`` as a layer of ``kind`` into the store.

    Parameters
    ----------
    con
        A writable, migrated store connection.
    kind
        ``people``, ``legal_persons``, ``houses``, ``events``, ``sensors`` or ``readings``.
    path
        A ``.csv`` (UTF-8 with or without BOM, or GBK/GB18030), ``.parquet``, ``.geojson`` or
        ``.gpkg`` file.
    mapping
        Canonical column -> file column (a dict, a :class:`Mapping` or a JSON/TOML/YAML file).
    crs
        The CRS of the coordinates: ``wgs84`` (default), ``cgcs2000`` (taken as WGS84: they differ
        by centimetres), ``gcj02`` or ``bd09`` (converted to WGS84), or another name of one of
        them (:func:`common.coords.system_name`: ``EPSG:4326``, ``GCJ-02`` ...).
    bounds
        The city: ``(minlon, minlat, maxlon, maxlat)`` or a WKT polygon. Default: the union of
        the register's districts when it has any, else :data:`DEFAULT_BBOX`.
    secret
        The HMAC secret (default: :func:`layers.privacy.load_secret`).
    demo
        Allow the demo secret in ``var/hmac.key`` when ``YIZHI_HMAC_SECRET`` is unset.
    step
        Called with the name of each stage (for a progress display).
    slice_bytes
        CSV only: cut the file into slices of about this many bytes, each scanned in parallel
        (default: an eighth of DuckDB's memory limit over :data:`_CHECKED_PER_CSV_BYTE`; a
        file no larger is one slice). ``0``: one scan of the whole file, serial (numbered)
        when its checked rows are not expected to fit in memory.

    Returns
    -------
    IngestReport
        Counts of the batch (also stored in ``layer_batches``).

    Raises
    ------
    InvalidInput
        Unknown kind or CRS, no secret, unreadable file, missing required columns, a file whose
        rows disagree about the CRS.
    Conflict
        Another transaction is loading the same layer (:func:`_lock_layer`); nothing is written.
    """
    started = dt.datetime.now(dt.UTC)
    path = Path(path)
    note = step or (lambda _name: None)
    con.execute("SET enable_progress_bar = false")
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    keep_order = bool(row and row[0])
    # rows need no order here (source lines are columns); dropping it saves much memory
    con.execute("SET preserve_insertion_order = false")
    secret = secret if secret is not None else privacy.load_secret(demo=demo)
    spec = get_kind(kind, secret)
    mp = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    system = _crs_name(crs or mp.crs or "wgs84")
    if not path.is_file():
        raise InvalidInput(f"no such input file: {path}")
    batch_id = f"{spec.name}-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    report = IngestReport(batch_id, spec.name, str(path), "")
    note("hash")
    # hashing a large file takes seconds of one core: overlap it with DuckDB's work (hashlib
    # releases the GIL on large buffers)
    hasher = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="yizhi-sha")
    digest = hasher.submit(file_sha256, path)
    hasher.shutdown(wait=False)
    with scratch() as tmp:
        try:
            note("read")
            src = open_source(con, spec, path, mp, Path(tmp))
            if spec.has_point:
                _check_row_crs(con, src, system)
            from_sql, line_from_rowid = src.from_sql, src.line_from_rowid
            if spec.has_point and system in ("gcj02", "bd09") and "lon" in src.present:
                note("convert")
                from_sql = _convert_crs(con, from_sql, system, line_from_rowid)
                line_from_rowid = None  # _layer_src has its lines
            inside = _inside_sql(con, bounds) if spec.has_point else "true"
            if line_from_rowid is not None and (spec.join or "SELECT" in inside):
                # a join or a scalar subquery may reorder rows: number them in the scan
                from_sql, line_from_rowid = src.numbered_sql, None
            note("validate")
            try:
                done = False
                sliceable = from_sql == src.from_sql and src.data_path is not None
                if line_from_rowid is not None and sliceable and slice_bytes != 0:
                    # a CSV as read: cut it into slices whose checked rows fit in memory, each
                    # scanned in parallel (one slice when the file is small)
                    assert src.data_path is not None
                    target = slice_bytes or _slice_bytes(con)
                    cuts = csv_slices(src.data_path, target)
                    done = _materialise_slices(con, spec, src, inside, cuts, Path(tmp))
                if not done and line_from_rowid is not None and not _fits_in_memory(con, path):
                    # one whole file past the memory limit: an insertion-ordered insert was
                    # measured slower than the serial numbered scan
                    from_sql, line_from_rowid = src.numbered_sql, None
                if not done:
                    _materialise(
                        con, "_layer_checked", _checked_sql(spec, from_sql, inside), line_from_rowid
                    )
            except duckdb.InvalidInputException as exc:
                raise InvalidInput(f"{path}: cannot be read: {exc}") from exc
            rejects = _fix_lines(con, src)
            _mark_duplicates(con)
            _mark_unknown_rooms(con, spec)
            note("load")
            with store.transaction(con, changes=("layers",), what=f"ingest {spec.name}"):
                _lock_layer(con, spec, batch_id, started)
                ins, upd, same = _upsert(con, spec, batch_id, started)
                note("quarantine")
                con.execute(
                    "INSERT INTO layer_quarantine (layer, batch_id, source_file, source_line, "
                    f"source_id, reasons, raw) SELECT ?, ?, ?, _line, source_id, reasons, "
                    f"{_raw_json_sql(spec)} FROM _layer_checked WHERE len(reasons) > 0",
                    [spec.name, batch_id, str(path)],
                )
                if rejects:
                    con.executemany(
                        "INSERT INTO layer_quarantine (layer, batch_id, source_file, source_line, "
                        "reasons, raw) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            [
                                spec.name,
                                batch_id,
                                str(path),
                                line,
                                ["bad_encoding" if "UNICODE" in err else "malformed_row"],
                                f'{{"error": "{err}"}}',
                            ]
                            for line, err in rejects
                        ],
                    )
                reasons = dict(
                    con.execute(
                        "SELECT r, count(*) FROM (SELECT unnest(reasons) AS r FROM layer_quarantine "
                        "WHERE batch_id = ?) GROUP BY r ORDER BY count(*) DESC, r",
                        [batch_id],
                    ).fetchall()
                )
                row = con.execute(
                    "SELECT count(*) FROM layer_quarantine WHERE batch_id = ?", [batch_id]
                ).fetchone()
                quarantined = int(row[0]) if row else 0
                report.inserted, report.updated, report.unchanged = ins, upd, same
                report.loaded = ins + upd + same
                report.quarantined = quarantined
                report.rows_in = report.loaded + quarantined
                report.reasons = {str(k): int(n) for k, n in reasons.items()}
                report.sha256 = digest.result()
                finished = dt.datetime.now(dt.UTC)
                report.seconds = round((finished - started).total_seconds(), 3)
                import json

                con.execute(
                    "INSERT INTO layer_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        batch_id,
                        spec.name,
                        str(path),
                        report.sha256,
                        report.rows_in,
                        report.loaded,
                        ins,
                        upd,
                        same,
                        quarantined,
                        json.dumps(report.reasons),
                        started,
                        finished,
                    ],
                )
        finally:
            con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
            for name in (
                "_layer_checked",
                "_layer_ready",
                "_layer_status",
                "_layer_src",
                "_layer_gaps",
                "_layer_city",
                "_layer_rejects",
                "_layer_scans",
            ):
                con.execute(f"DROP TABLE IF EXISTS {name}")
    return report
