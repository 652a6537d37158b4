"""Tile sources: a layer held in memory as flat Web Mercator arrays with a spatial index.

A :class:`TileSource` is loaded once (from the store, or from geometries) and then answers
``tile(z, x, y)`` with the encoded MVT bytes of its layer: index query, vectorised transform and
snap to tile pixels, clipping of the few features that cross the buffered tile, cleaning, and the
lean protobuf writer of :mod:`api.tiles.mvt`. A :class:`TileSet` groups the layers of one store,
keeps an LRU cache of encoded tiles keyed by the store's data version
(:func:`store.version_token`), and reloads when that version changes.
"""

from __future__ import annotations

import gzip as _gzip
import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import shapely

import store
from api.tiles._blocks import public_blocks
from api.tiles._clip import ZoomLevel, build_level, tile_commands
from api.tiles._mercator import check_tile, lonlat_to_mercator, mercator_to_lonlat, tile_bounds
from api.tiles._ragged import Ragged, from_geometries
from api.tiles.cache import TileCache
from api.tiles.layers import LAYERS, LayerSpec
from api.tiles.mvt import Columns, encode_commands, varint_lengths
from common.errors import Conflict, InvalidInput, NotFound

#: Largest feature id that a JavaScript number (MapLibre ``feature-state``) holds exactly.
MAX_SAFE_ID = 2**53 - 1


def feature_id(key: str | int) -> int:
    """The stable integer feature id of a feature key (the same in every tile and engine).

    Codes of at most 15 digits (division, grid and unit-grid codes) are their own number; any
    other key (25-character building IDs, 17-digit micro-grid codes, source ids) is the low
    53 bits of its 8-byte BLAKE2b digest (big-endian), so that ids stay exact in JavaScript.

    >>> feature_id("310101013001")
    310101013001
    >>> feature_id("3101010130012024000000012")
    3386398853144715
    """
    if isinstance(key, int | np.integer):
        return int(key)
    text = str(key)
    if text.isdigit() and text.isascii() and len(text) <= 15:
        return int(text)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & MAX_SAFE_ID


def feature_ids(keys: Iterable[str | int]) -> npt.NDArray[np.uint64]:
    """:func:`feature_id` of many keys; raises :class:`Conflict` if two keys share an id."""
    ids = np.fromiter((feature_id(k) for k in keys), dtype=np.uint64)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = int(uniq[counts > 1][0])
        keys_list = list(keys) if not isinstance(keys, list) else keys
        clash = [str(k) for k, i in zip(keys_list, ids.tolist(), strict=True) if i == dup][:3]
        raise Conflict(f"feature keys {clash} share the feature id {dup}")
    return ids


class TileSource:
    """One layer in memory, ready to encode tiles.

    Parameters
    ----------
    spec
        The layer (name, kind, zoom range, properties).
    geoms
        Its geometries in **Web Mercator** (EPSG:3857).
    ids
        Feature ids (see :func:`feature_id`).
    properties
        ``{name: values}``, each with one value per feature (``None`` is null).
    extent, buffer
        Tile extent and buffer in tile pixels (4096 and 64, as PostGIS's defaults for Martin).
    """

    def __init__(
        self,
        spec: LayerSpec,
        geoms: npt.NDArray[np.object_],
        ids: npt.ArrayLike,
        properties: Mapping[str, Sequence[Any] | npt.ArrayLike] | None = None,
        *,
        extent: int = 4096,
        buffer: int = 64,
    ) -> None:
        geoms = np.asarray(geoms, dtype=object)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        self.spec = spec
        self.extent = extent
        self.buffer = buffer
        geoms = geoms[keep]
        self.ids = np.asarray(ids, dtype=np.uint64)[keep]
        props = properties or {}
        missing = [p for p in spec.properties if p not in props]
        if missing:
            raise InvalidInput(f"layer {spec.name!r} needs properties {missing}")
        self.id_lens = varint_lengths(self.ids)
        self.columns = Columns.from_mapping(
            {p: np.asarray(props[p], dtype=object)[keep] for p in spec.properties}, len(geoms)
        )
        self.ragged: Ragged = from_geometries(geoms, spec.kind)
        self.bbox = shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4))
        #: the shapely geometries, kept only when zoom levels simplify them (memory)
        self.geoms: npt.NDArray[np.object_] | None = geoms if spec.simplify_px > 0 else None
        boxes = (
            np.asarray(shapely.box(*self.bbox.T), dtype=object)
            if len(geoms)
            else np.zeros(0, dtype=object)
        )
        self.tree = shapely.STRtree(boxes)
        self._zooms: dict[int, ZoomLevel] = {}
        self._lock = threading.Lock()
        self._zoom_locks: dict[int, threading.Lock] = {}

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_lonlat(
        cls,
        spec: LayerSpec,
        geoms: npt.ArrayLike,
        keys: Sequence[str | int],
        properties: Mapping[str, Sequence[Any] | npt.ArrayLike] | None = None,
        **kwargs: Any,
    ) -> TileSource:
        """Build from WGS84 geometries and feature keys."""
        merc = to_mercator(np.asarray(geoms, dtype=object))
        return cls(spec, merc, feature_ids(keys), properties, **kwargs)

    @classmethod
    def from_store(
        cls, con: duckdb.DuckDBPyConnection, spec: LayerSpec, **kwargs: Any
    ) -> TileSource:
        """Load a layer with its SQL from the store (one query, one pass)."""
        table = con.execute(spec.sql).to_arrow_table()
        wkb = np.asarray(table.column("wkb").to_pylist(), dtype=object)
        geoms = shapely.from_wkb(wkb)
        keys = table.column("key").to_pylist()
        props = {p: np.asarray(table.column(p).to_pylist(), dtype=object) for p in spec.properties}
        if spec.block_level is not None:  # public block counts (complementary suppression)
            props = public_blocks(con, spec.block_level, keys, props)
        return cls.from_lonlat(spec, geoms, keys, props, **kwargs)

    # -- metadata -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Layer name."""
        return self.spec.name

    @property
    def n_features(self) -> int:
        """Number of features held."""
        return len(self.ids)

    def lonlat_bounds(self) -> tuple[float, float, float, float] | None:
        """WGS84 ``(west, south, east, north)`` of the data, or ``None`` when empty."""
        if not self.n_features:
            return None
        lon, lat = mercator_to_lonlat(
            [self.bbox[:, 0].min(), self.bbox[:, 2].max()],
            [self.bbox[:, 1].min(), self.bbox[:, 3].max()],
        )
        return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])

    # -- tiles ----------------------------------------------------------------------------------

    def _level(self, z: int) -> Ragged:
        """Geometries simplified for zoom ``z`` (Douglas-Peucker, ``simplify_px`` pixels)."""
        if self.geoms is None or z >= self.spec.maxzoom or self.spec.kind == "point":
            return self.ragged
        tol = self.spec.simplify_px * (2 * 20037508.342789244 / (1 << z)) / self.extent
        simple = shapely.simplify(self.geoms, tol, preserve_topology=True)
        return from_geometries(simple, self.spec.kind)

    def candidates(self, z: int, x: int, y: int) -> npt.NDArray[np.int64]:
        """Indices of the features whose bounding box meets the buffered tile (sorted)."""
        xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
        margin = (xmax - xmin) * self.buffer / self.extent
        if not self.n_features:
            return np.zeros(0, dtype=np.int64)
        hits = self.tree.query(
            shapely.box(xmin - margin, ymin - margin, xmax + margin, ymax + margin)
        )
        return np.sort(hits).astype(np.int64)

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of this layer for tile ``z/x/y``; ``b""`` when it holds no feature.

        Raises
        ------
        InvalidInput
            When ``z/x/y`` is not a tile (zoom above 22, x or y out of range).
        """
        check_tile(z, x, y)
        if not self.spec.minzoom <= z <= self.spec.maxzoom:
            return b""
        cand = self.candidates(z, x, y)
        if not len(cand):
            return b""
        level = self.zoom_level(z)
        ints, off, rows = tile_commands(
            level, self.bbox, cand, self.spec.kind, x, y, self.extent, self.buffer
        )
        return encode_commands(
            self.spec.name,
            self.spec.kind,
            ints,
            off,
            self.ids[rows],
            self.columns,
            rows,
            self.extent,
            self.id_lens[rows],
        )

    def zoom_level(self, z: int) -> ZoomLevel:
        """The layer snapped and encoded for zoom ``z`` (built on first use, then kept)."""
        level = self._zooms.get(z)
        if level is not None:
            return level
        with self._lock:  # one build lock per zoom: concurrent first requests wait for one build
            zoom_lock = self._zoom_locks.setdefault(z, threading.Lock())
        with zoom_lock:
            level = self._zooms.get(z)
            if level is None:
                level = build_level(self._level(z), self.bbox, z, self.extent, self.buffer)
                self._zooms[z] = level
        return level

    def prepare(self, zooms: Iterable[int] | None = None) -> None:
        """Build the zoom levels ahead (all of the layer's zooms by default)."""
        for z in zooms if zooms is not None else range(self.spec.minzoom, self.spec.maxzoom + 1):
            self.zoom_level(z)


def to_mercator(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Project WGS84 shapely geometries to Web Mercator (vectorised)."""

    def project(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = lonlat_to_mercator(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    out: npt.NDArray[np.object_] = shapely.transform(geoms, project)
    return out


class TileSet:
    """The tile layers of one store, with an LRU cache of encoded tiles.

    Parameters
    ----------
    sources
        Loaded layers by name.
    version
        The data version the sources were loaded at (:func:`store.version_token`: it changes
        with every write of the register, the grids, the layers or the fusion).
    cache
        The tile cache (a fresh 256 MiB one by default; ``None`` disables caching).
    """

    def __init__(
        self,
        sources: Mapping[str, TileSource],
        version: str = "",
        cache: TileCache | None = None,
    ) -> None:
        self.sources = dict(sources)
        self.version = version
        self.cache = cache

    @classmethod
    def from_store(
        cls,
        con: duckdb.DuckDBPyConnection,
        layers: Iterable[str] | None = None,
        cache: TileCache | None = None,
        **kwargs: Any,
    ) -> TileSet:
        """Load the named layers (all by default) from the store."""
        names = list(layers) if layers is not None else list(LAYERS)
        unknown = [n for n in names if n not in LAYERS]
        if unknown:
            raise NotFound(f"unknown tile layers {unknown}; known: {sorted(LAYERS)}")
        version = store.version_token(con)
        sources = {n: TileSource.from_store(con, LAYERS[n], **kwargs) for n in names}
        return cls(sources, version, cache if cache is not None else TileCache())

    def source(self, layer: str) -> TileSource:
        """The source of one layer."""
        try:
            return self.sources[layer]
        except KeyError:
            raise NotFound(f"unknown tile layer {layer!r}; known: {sorted(self.sources)}") from None

    def tile(self, layer: str, z: int, x: int, y: int, *, gzip: bool = False) -> bytes:
        """The tile of one layer (``b""`` when empty), from the cache when possible.

        ``layer`` may name several layers joined by commas: their tiles are concatenated, which
        in protobuf is one tile holding all of those layers.
        """
        check_tile(z, x, y)
        key = (layer, z, x, y, self.version, gzip)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        data = b"".join(self.source(name).tile(z, x, y) for name in layer.split(","))
        if gzip and data:
            data = _gzip.compress(data, compresslevel=6, mtime=0)
        if self.cache is not None:
            self.cache.put(key, data)
        return data

    def cached(self, layer: str, z: int, x: int, y: int, *, gzip: bool = False) -> bytes | None:
        """The tile from the cache only (``None`` on a miss): never encodes, never blocks."""
        if self.cache is None:
            return None
        return self.cache.get((layer, z, x, y, self.version, gzip))

    def set_version(self, version: str, sources: Mapping[str, TileSource] | None = None) -> bool:
        """Switch to a new data version (and its reloaded sources); drops stale cached tiles.

        Returns whether the version changed.
        """
        if version == self.version:
            return False
        if sources is not None:
            self.sources.update(sources)
        self.version = version
        if self.cache is not None:
            self.cache.invalidate(keep_version=version)
        return True

    def refresh(self, con: duckdb.DuckDBPyConnection, **kwargs: Any) -> bool:
        """Reload every layer if the store's data version changed; returns whether it did."""
        version = store.version_token(con)
        if version == self.version:
            return False
        sources = {n: TileSource.from_store(con, LAYERS[n], **kwargs) for n in self.sources}
        return self.set_version(version, sources)
