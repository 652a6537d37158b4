"""Readers of the input files: CSV, Parquet, GeoJSON and GeoPackage into one relation.

Every reader yields a SQL FROM item whose columns are the kind's *canonical* columns (VARCHAR;
an optional column missing from the file is NULL), ``_line`` (the CSV physical line, header = 1,
before rejected lines are accounted for; otherwise the 1-based row or feature number) and
``_geom_kind`` (the geometry type of a geo file, NULL otherwise).

CSV is special: DuckDB's CSV reader has no row-number column, and ``WITH ORDINALITY`` makes the
whole pipeline above it single-threaded (a streaming window), which doubled the CPU and the wall
time of the validation. So the CSV's ``from_sql`` leaves ``_line`` NULL and sets
:attr:`Source.line_from_rowid`: the ingest materialises it with ``preserve_insertion_order`` on
(a parallel scan whose rows still land in file order) and numbers the lines from ``rowid``.
``numbered_sql`` keeps an ordinality-numbered reader for small, narrow checks, and
``slice_sql(file, header)`` builds ``from_sql`` over one slice of a large file (see
:mod:`layers._slices`).
"""

from __future__ import annotations

import codecs
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from common.coords import is_lonlat
from common.errors import InvalidInput
from layers.schemas import Kind

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".geojson": "geo",
    ".json": "geo",
    ".gpkg": "geo",
}
_SNIFF_BYTES = 1 << 20


@dataclass
class Mapping:
    """Which source column feeds each canonical column, and reader options."""

    columns: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    delimiter: str = ","
    layer: str | None = None


def load_mapping(spec: str | Path | dict[str, Any] | None) -> Mapping:
    """Read a mapping from a dict or a ``.json``/``.toml``/``.yaml`` file.

    The document is either ``{canonical: source, ...}`` or ``{"columns": {...}, "crs": ...,
    "delimiter": ..., "layer": ...}``.
    """
    if spec is None:
        return Mapping()
    if isinstance(spec, dict):
        doc: Any = spec
    else:
        path = Path(spec)
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".json":
                doc = json.loads(text)
            elif path.suffix == ".toml":
                doc = tomllib.loads(text)
            elif path.suffix in (".yaml", ".yml"):
                import yaml

                doc = yaml.safe_load(text)
            else:
                raise InvalidInput(f"mapping file {path} must end in .json, .toml, .yaml or .yml")
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"mapping file {path} cannot be parsed: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInput(f"a mapping is a table of canonical: source names, got {doc!r}")
    options = {"columns", "crs", "delimiter", "layer"}
    if "columns" in doc:
        unknown = set(doc) - options
        if unknown:
            raise InvalidInput(f"unknown mapping keys {sorted(unknown)}; known: {sorted(options)}")
        columns = doc["columns"] or {}
    else:
        columns, doc = doc, {}
    if not all(isinstance(k, str) and isinstance(val, str) for k, val in columns.items()):
        raise InvalidInput(f"mapping columns must map names to names, got {columns!r}")
    return Mapping(
        columns=dict(columns),
        crs=doc.get("crs"),
        delimiter=doc.get("delimiter", ","),
        layer=doc.get("layer"),
    )


@dataclass
class Source:
    """An opened input file."""

    path: Path
    format: str
    from_sql: str
    #: CSV only: the temporary table of rejected lines (line, error_type), filled by the scan.
    rejects_table: str | None = None
    temp_files: list[Path] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    #: When set, ``_line`` of ``from_sql`` is NULL: the first table materialised from it in
    #: insertion order gets ``_line = rowid + line_from_rowid``.
    line_from_rowid: int | None = None
    #: The same rows with ``_line`` filled (serial scan; for narrow checks). Default: from_sql.
    numbered_sql: str = ""
    #: CSV only: the UTF-8 file DuckDB reads (a transcoded copy of a GB18030 file).
    data_path: Path | None = None
    #: CSV only: ``slice_sql(file, header)`` is ``from_sql`` over a slice of :attr:`data_path`
    #: cut at record boundaries (``header``: the slice starts with the header line).
    slice_sql: Callable[[Path, bool], str] | None = None

    def __post_init__(self) -> None:
        if not self.numbered_sql:
            self.numbered_sql = self.from_sql


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def detect_encoding(path: Path) -> str:
    """Return ``"utf-8"`` or ``"gb18030"`` judging by the head of the file.

    Raises
    ------
    InvalidInput
        When the head is neither, naming the line and column of the first bad byte.
    """
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < _SNIFF_BYTES)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    line = head.count(b"\n", 0, bad) + 1
    col = bad - (head.rfind(b"\n", 0, bad) + 1) + 1
    raise InvalidInput(
        f"{path}: line {line}, byte column {col}: the file is neither UTF-8 nor GBK/GB18030 "
        f"(byte 0x{head[bad]:02x}); save it as UTF-8"
    )


def _transcode(path: Path, tmpdir: Path) -> Path:
    """Write a UTF-8 copy of a GB18030 file; raise naming the line of an undecodable byte."""
    out = tmpdir / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder("gb18030")()
    line = 1
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = line + chunk.count(b"\n", 0, exc.start)
                raise InvalidInput(
                    f"{path}: line {at}: bytes that are "
                    "not GB18030 in a GB18030 file; fix the encoding"
                ) from exc
            line += text.count("\n")
            dst.write(text)
        dst.write(decoder.decode(b"", final=True))
    return out


def _resolve_columns(
    kind: Kind, found: list[str], mapping: Mapping, path: Path, extra: dict[str, str]
) -> tuple[list[str], set[str]]:
    """SELECT expressions of the canonical columns; raise when a required one is missing."""
    lower = {c.lower(): c for c in found}
    unknown = [k for k in mapping.columns if k not in kind.columns and k != "crs"]
    if unknown:
        raise InvalidInput(
            f"mapping names unknown {kind.name} column(s) {unknown}; known: {list(kind.columns)}"
        )
    exprs, present, missing = [], set(), []
    for canon in (*kind.columns, "crs"):
        source = mapping.columns.get(canon, canon)
        actual = source if source in found else lower.get(source.lower())
        if actual is not None:
            exprs.append(f"CAST({_q(actual)} AS VARCHAR) AS {_q(canon)}")
            present.add(canon)
        elif canon in extra:
            exprs.append(f"{extra[canon]} AS {_q(canon)}")
            present.add(canon)
        elif canon in kind.required and not (
            canon == "source_id" and kind.default_source_id is not None
        ):
            missing.append(f"{canon} (from {source!r})" if source != canon else canon)
        else:
            exprs.append(f"NULL::VARCHAR AS {_q(canon)}")
    if missing:
        raise InvalidInput(
            f"{path}: line 1: missing required column(s) {missing}; the file has {found}. "
            "Rename them or give a --mapping"
        )
    return exprs, present


def open_source(
    con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, mapping: Mapping, tmpdir: Path
) -> Source:
    """Describe ``path`` and return the SQL that reads it as canonical columns."""
    if not path.is_file():
        raise InvalidInput(f"no such input file: {path}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path}: unknown format {path.suffix!r}; use one of {sorted(set(FORMATS))}"
        )
    if fmt == "csv":
        return _open_csv(con, kind, path, mapping, tmpdir)
    if fmt == "parquet":
        reader = f"read_parquet({_lit(str(path))}, file_row_number = true)"
        found = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
        found = [c for c in found if c != "file_row_number"]
        exprs, present = _resolve_columns(kind, found, mapping, path, {})
        sql = (
            f"(SELECT {', '.join(exprs)}, file_row_number + 1 AS _line, "
            f"NULL::VARCHAR AS _geom_kind FROM {reader})"
        )
        return Source(path, fmt, sql, present=present)
    return _open_geo(con, kind, path, mapping)


def _open_csv(
    con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, mapping: Mapping, tmpdir: Path
) -> Source:
    temp: list[Path] = []
    actual = path
    if detect_encoding(path) == "gb18030":
        actual = _transcode(path, tmpdir)
        temp.append(actual)
    delim = mapping.delimiter if path.suffix.lower() != ".tsv" else "\t"
    options = (
        f"all_varchar = true, delim = {_lit(delim)}, quote = '\"', escape = '\"', "
        "auto_detect = false"
    )
    with actual.open("r", encoding="utf-8-sig", newline="") as fh:
        header_line = fh.readline()
    if not header_line.strip():
        raise InvalidInput(f"{path}: line 1: the file is empty or has no header")
    import csv

    found = [c.strip() for c in next(csv.reader([header_line], delimiter=delim))]
    dupes = sorted({c for c in found if found.count(c) > 1})
    if dupes:
        raise InvalidInput(f"{path}: line 1: duplicate column names {dupes}")
    columns = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in found) + "}"
    exprs, present = _resolve_columns(kind, found, mapping, path, {})
    rejects = (
        ", store_rejects = true, rejects_table = '_layer_rejects', rejects_scan = '_layer_scans'"
    )

    def reader(file: Path, header: bool) -> str:
        return (
            f"read_csv({_lit(str(file))}, header = {str(header).lower()}, {options}, "
            f"columns = {columns}, ignore_errors = true{rejects})"
        )

    def slice_sql(file: Path, header: bool) -> str:
        # parallel scan: lines are numbered from rowid after an insertion-ordered materialisation
        return (
            f"(SELECT {', '.join(exprs)}, NULL::BIGINT AS _line, NULL::VARCHAR AS _geom_kind "
            f"FROM {reader(file, header)})"
        )

    numbered = (  # rejects stored here too: duplicates collapse by line (_fix_lines)
        f"(SELECT {', '.join(exprs)}, ordinality + 1 AS _line, NULL::VARCHAR AS _geom_kind "
        f"FROM {reader(actual, True)} WITH ORDINALITY)"
    )
    return Source(
        path,
        "csv",
        slice_sql(actual, True),
        rejects_table="_layer_rejects",
        temp_files=temp,
        present=present,
        line_from_rowid=2,
        numbered_sql=numbered,
        data_path=actual,
        slice_sql=slice_sql,
    )


def _open_geo(con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, mapping: Mapping) -> Source:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=mapping.layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        raise InvalidInput(f"{path}: cannot be read as GeoJSON/GeoPackage: {exc}") from exc
    crs = info.get("crs")
    # a file declaring longitude/latitude may still hold GCJ-02 or BD-09 numbers (--crs says
    # so: no file format can declare them)
    if crs and not is_lonlat(crs):
        raise InvalidInput(
            f"{path}: the file declares CRS {crs!r}; layers take longitude/latitude "
            "(EPSG:4326 / EPSG:4490, or GCJ-02 / BD-09 numbers with --crs); reproject it first"
        )
    layer = f", layer = {_lit(mapping.layer)}" if mapping.layer else ""
    reader = f"ST_Read({_lit(str(path))}{layer})"
    described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    geom_cols = [r[0] for r in described if r[1].startswith("GEOMETRY")]
    found = [r[0] for r in described if not r[1].startswith("GEOMETRY")]
    extra: dict[str, str] = {}
    geom_kind = "NULL::VARCHAR"
    if geom_cols and kind.has_point:
        g = _q(geom_cols[0])
        point = f"ST_GeometryType({g})::VARCHAR = 'POINT'"
        extra = {
            "lon": f"CASE WHEN {point} THEN ST_X({g})::VARCHAR END",
            "lat": f"CASE WHEN {point} THEN ST_Y({g})::VARCHAR END",
        }
        geom_kind = f"ST_GeometryType({g})::VARCHAR"
    exprs, present = _resolve_columns(kind, found, mapping, path, extra)
    sql = f"(SELECT {', '.join(exprs)}, ordinality AS _line, {geom_kind} AS _geom_kind FROM {reader} WITH ORDINALITY)"
    return Source(path, "geo", sql, present=present)
