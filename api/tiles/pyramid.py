"""Static tile pyramids: every non-empty tile of some layers over a bounding box, in one file.

Two containers, chosen by the file suffix:

- **PMTiles** v3 (``.pmtiles``), written with the ``pmtiles`` package: tiles in Hilbert order,
  gzip-compressed, identical tiles stored once; serve it from any static host (HTTP range
  requests) with the PMTiles MapLibre protocol;
- **MBTiles** 1.3 (``.mbtiles``, SQLite): ``tiles`` in the TMS row order, gzip-compressed, and
  ``metadata`` with the ``json`` vector-layer description.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from api.tiles._mercator import MAX_ZOOM, tile_range
from api.tiles.source import TileSet, TileSource
from api.tiles.tilejson import _fields
from common.errors import InvalidInput


@dataclass
class PyramidReport:
    """What :func:`export_pyramid` wrote."""

    path: Path
    format: str
    tiles: int = 0
    empty: int = 0
    bytes: int = 0
    per_zoom: dict[int, int] = field(default_factory=dict)


def _sources(source: TileSource | TileSet | Sequence[TileSource]) -> list[TileSource]:
    if isinstance(source, TileSource):
        return [source]
    if isinstance(source, TileSet):
        return list(source.sources.values())
    return list(source)


def _tiles(
    sources: list[TileSource], z: int, bbox: tuple[float, float, float, float]
) -> Iterator[tuple[int, int]]:
    x0, y0, x1, y1 = tile_range(bbox, z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def export_pyramid(
    source: TileSource | TileSet | Sequence[TileSource],
    path: str | Path,
    minzoom: int,
    maxzoom: int,
    bbox: tuple[float, float, float, float] | None = None,
    *,
    progress: bool = True,
    name: str = "yizhi",
) -> PyramidReport:
    """Write every non-empty tile from ``minzoom`` to ``maxzoom`` over ``bbox`` to a file.

    Parameters
    ----------
    source
        One layer, a :class:`TileSet` (all its layers in every tile) or a list of layers.
    path
        Target file; ``.pmtiles`` or ``.mbtiles``. It is replaced.
    bbox
        WGS84 ``(west, south, east, north)``; defaults to the bounds of the data.
    progress
        Show a progress bar (tqdm, on stderr).

    Raises
    ------
    InvalidInput
        For an unknown suffix, a bad zoom range or a source without data and no bbox.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in ("pmtiles", "mbtiles"):
        raise InvalidInput(f"pyramid file must end in .pmtiles or .mbtiles, got {target.name!r}")
    if not 0 <= minzoom <= maxzoom <= MAX_ZOOM:
        raise InvalidInput(
            f"zoom range must satisfy 0 <= minzoom <= maxzoom <= {MAX_ZOOM}, got {minzoom}..{maxzoom}"
        )
    sources = _sources(source)
    if bbox is None:
        known = [b for b in (s.lonlat_bounds() for s in sources) if b is not None]
        if not known:
            raise InvalidInput("the layers hold no feature: give a bbox to export")
        bbox = (
            min(b[0] for b in known),
            min(b[1] for b in known),
            max(b[2] for b in known),
            max(b[3] for b in known),
        )
    report = PyramidReport(target, fmt)
    total = 0
    for z in range(minzoom, maxzoom + 1):
        x0, y0, x1, y1 = tile_range(bbox, z)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    metadata = {
        "name": name,
        "format": "pbf",
        "type": "overlay",
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(bbox),
        "vector_layers": [
            {
                "id": s.name,
                "description": s.spec.description,
                "minzoom": max(minzoom, s.spec.minzoom),
                "maxzoom": min(maxzoom, s.spec.maxzoom),
                "fields": _fields(s),
            }
            for s in sources
        ],
        "attribution": "© OpenStreetMap contributors (ODbL); yizhi",
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    bar = tqdm(total=total, desc=f"tiles → {target.name}", unit="tile", disable=not progress)
    try:
        if fmt == "pmtiles":
            _write_pmtiles(sources, target, minzoom, maxzoom, bbox, metadata, report, bar)
        else:
            _write_mbtiles(sources, target, minzoom, maxzoom, bbox, metadata, report, bar)
    finally:
        bar.close()
    return report


def _encoded(sources: list[TileSource], z: int, x: int, y: int) -> bytes:
    return b"".join(s.tile(z, x, y) for s in sources)


def _write_pmtiles(
    sources: list[TileSource],
    target: Path,
    minzoom: int,
    maxzoom: int,
    bbox: tuple[float, float, float, float],
    metadata: dict[str, object],
    report: PyramidReport,
    bar: tqdm,
) -> None:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    with target.open("wb") as f:
        writer = Writer(f)
        for z in range(minzoom, maxzoom + 1):
            # PMTiles wants tiles in tile-id (Hilbert) order
            ids = sorted((zxy_to_tileid(z, x, y), x, y) for x, y in _tiles(sources, z, bbox))
            for tile_id, x, y in ids:
                bar.update(1)
                data = _encoded(sources, z, x, y)
                if not data:
                    report.empty += 1
                    continue
                blob = gzip.compress(data, compresslevel=6, mtime=0)
                writer.write_tile(tile_id, blob)
                report.tiles += 1
                report.bytes += len(blob)
                report.per_zoom[z] = report.per_zoom.get(z, 0) + 1
        if not report.tiles:
            writer.tile_f.close()
            raise InvalidInput(f"no tile holds data in {bbox} at zooms {minzoom}..{maxzoom}")
        west, south, east, north = bbox
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": minzoom,
                "max_zoom": maxzoom,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": minzoom,
                "center_lon_e7": int((west + east) / 2 * 1e7),
                "center_lat_e7": int((south + north) / 2 * 1e7),
            },
            metadata,
        )


def _write_mbtiles(
    sources: list[TileSource],
    target: Path,
    minzoom: int,
    maxzoom: int,
    bbox: tuple[float, float, float, float],
    metadata: dict[str, object],
    report: PyramidReport,
    bar: tqdm,
) -> None:
    db = sqlite3.connect(target)
    try:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"
        )
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        for z in range(minzoom, maxzoom + 1):
            rows = []
            for x, y in _tiles(sources, z, bbox):
                bar.update(1)
                data = _encoded(sources, z, x, y)
                if not data:
                    report.empty += 1
                    continue
                blob = gzip.compress(data, compresslevel=6, mtime=0)
                rows.append((z, x, (1 << z) - 1 - y, blob))  # TMS rows count from the south
                report.tiles += 1
                report.bytes += len(blob)
                report.per_zoom[z] = report.per_zoom.get(z, 0) + 1
            db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
        west, south, east, north = bbox
        meta = {
            "name": str(metadata["name"]),
            "format": "pbf",
            "type": "overlay",
            "version": "1.0.0",
            "minzoom": str(minzoom),
            "maxzoom": str(maxzoom),
            "bounds": f"{west},{south},{east},{north}",
            "center": f"{(west + east) / 2},{(south + north) / 2},{minzoom}",
            "attribution": str(metadata["attribution"]),
            "json": json.dumps({"vector_layers": metadata["vector_layers"]}, ensure_ascii=False),
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        db.commit()
    finally:
        db.close()


def read_mbtiles_tile(path: str | Path, z: int, x: int, y: int) -> bytes | None:
    """One tile (decompressed) of an MBTiles file, by XYZ address; ``None`` when absent."""
    db = sqlite3.connect(Path(path))
    try:
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, (1 << z) - 1 - y),
        ).fetchone()
    finally:
        db.close()
    return gzip.decompress(row[0]) if row else None


def read_pmtiles_tile(path: str | Path, z: int, x: int, y: int) -> bytes | None:
    """One tile (decompressed) of a PMTiles file, by XYZ address; ``None`` when absent."""
    from pmtiles.reader import MmapSource, Reader

    with Path(path).open("rb") as f:
        data = Reader(MmapSource(f)).get(z, x, y)
    return gzip.decompress(data) if data else None
