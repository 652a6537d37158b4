"""From layer geometries to clean integer tile coordinates, vectorised over a tile's features.

The rules follow PostGIS 3.3 ``ST_AsMVTGeom`` (extent 4096, buffer 64) so that yizhi's tiles hold
the same features as PostGIS's for the same tile:

1. a line or polygon whose bounding box is narrower *and* lower than half a tile pixel is dropped;
2. coordinates go to tile pixels (the same transform; :class:`ZoomLevel` snaps once per zoom in
   global pixels, which differs from one tile's pixels by an integer offset) and are snapped to
   integers with round-half-even (``rint``);
3. snapped geometries reaching beyond ``[-buffer, extent + buffer]`` are clipped to that square:
   polygons by a vectorised Sutherland-Hodgman (:func:`clip_rings`, done ahead per zoom for every
   tile a polygon crosses), lines by GEOS ``clip_by_rect``, points by dropping those outside;
   :func:`tile_ragged` is the direct path (GEOS for every kind), kept as the tests' reference;
4. and 5. the clipped geometries are cleaned and their rings oriented (:func:`api.tiles._clean.clean`).

PostGIS also re-validates every polygon (wagyu); yizhi does not (a snapped footprint may touch
itself at one pixel, which renderers draw the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from api.tiles._clean import clean, neighbours
from api.tiles._mercator import ORIGIN
from api.tiles._ragged import IntArray, Kind, Ragged, from_geometries, ranges, take
from api.tiles.mvt import geometry_commands, zigzag

_PART_TYPES: dict[str, tuple[int, ...]] = {"point": (0,), "line": (1,), "polygon": (3,)}


def affine(
    bounds: tuple[float, float, float, float], extent: int
) -> tuple[float, float, float, float]:
    """``(fx, xoff, fy, yoff)`` mapping mercator metres to tile pixels, as PostGIS computes them."""
    xmin, ymin, xmax, ymax = bounds
    fx = extent / (xmax - xmin)
    fy = -(extent / (ymax - ymin))
    return fx, -xmin * fx, fy, -ymax * fy


@dataclass(frozen=True)
class ZoomLevel:
    """A layer snapped, cleaned and command-encoded once for one zoom.

    Snapping to the pixel grid of zoom ``z`` in *global* pixels (``extent * 2**z`` across the
    world) differs from snapping in one tile's pixels only by the integer offset of the tile, and
    removing repeated or collinear vertices, dropping degenerate rings and orienting rings are
    unchanged by an integer translation. So each feature's MVT command integers are computed once
    per zoom; a tile only gathers them and rewrites the first ``MoveTo`` of every feature, whose
    parameters are relative to the tile origin.
    """

    z: int
    #: every feature snapped to global pixels and cleaned (rings without closing vertex)
    ragged: Ragged
    #: command integers of every feature, the first ``MoveTo`` relative to the world origin
    ints: npt.NDArray[np.uint64]
    int_off: IntArray
    #: first vertex of every feature, global pixels
    first: npt.NDArray[np.int64]
    #: features that survive snapping at this zoom
    present: npt.NDArray[np.bool_]
    #: polygons clipped ahead for every tile whose buffered square they cross: sorted tile keys
    #: (``x * 2**z + y``), the feature of each piece, its command integers (tile pixels)
    cross_key: IntArray | None = None
    cross_feat: IntArray | None = None
    cross_ints: npt.NDArray[np.uint64] | None = None
    cross_off: IntArray | None = None


def world_pixels(z: int, extent: int) -> float:
    """Pixels per mercator metre at zoom ``z``."""
    return extent * (1 << z) / (2.0 * ORIGIN)


def build_level(
    ragged: Ragged, bbox: npt.NDArray[np.float64], z: int, extent: int = 4096, buffer: int = 64
) -> ZoomLevel:
    """Snap, clean and encode every feature of a layer for zoom ``z`` (see :class:`ZoomLevel`)."""
    g = world_pixels(z, extent)
    off = ORIGIN * g
    n = ragged.n_features
    xy = np.empty(ragged.coords.shape, dtype=np.float64)
    np.multiply(ragged.coords[:, 0], g, out=xy[:, 0])
    xy[:, 0] += off
    np.multiply(ragged.coords[:, 1], -g, out=xy[:, 1])
    xy[:, 1] += off
    snapped = Ragged(
        ragged.kind, np.rint(xy).astype(np.int64), ragged.part_off, ragged.feat_off, ragged.hole
    )
    ids = np.arange(n)
    if ragged.kind != "point":
        big = ((bbox[:, 2] - bbox[:, 0]) * g >= 0.5) | ((bbox[:, 3] - bbox[:, 1]) * g >= 0.5)
        if not big.all():
            snapped = take(snapped, ids[big])
            ids = ids[big]
    big_box = 2**62
    cleaned, kept = clean(snapped, ids, -big_box, big_box)
    ints, coff = geometry_commands(cleaned)
    counts = np.zeros(n, dtype=np.int64)
    counts[kept] = np.diff(coff)
    int_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=int_off[1:])
    first = np.zeros((n, 2), dtype=np.int64)
    if len(kept):
        first[kept] = cleaned.coords[cleaned.part_off[cleaned.feat_off[:-1]]]
    dtype = np.uint32 if int(ints.max(initial=0)) < 2**32 else np.uint64
    parts = np.zeros(n, dtype=np.int64)
    parts[kept] = np.diff(cleaned.feat_off)
    feat_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(parts, out=feat_off[1:])
    coords = cleaned.coords
    if len(coords) and int(np.abs(coords).max()) < 2**31:
        coords = coords.astype(np.int32)  # global pixels fit in 32 bits up to zoom 18
    full = Ragged(cleaned.kind, coords, cleaned.part_off, feat_off, cleaned.hole)
    level = ZoomLevel(z, full, ints.astype(dtype), int_off, first, counts > 0)
    if ragged.kind == "polygon":
        level = _with_crossing_pieces(level, bbox, extent, buffer)
    return level


#: Most (feature, tile) pieces clipped ahead per zoom; beyond it, tiles clip on request.
MAX_PIECES = 4_000_000


def _with_crossing_pieces(
    level: ZoomLevel, bbox: npt.NDArray[np.float64], extent: int, buffer: int
) -> ZoomLevel:
    """Clip every polygon to every tile whose buffered square it crosses, once for the zoom."""
    from dataclasses import replace

    z = level.z
    g = world_pixels(z, extent)
    off = ORIGIN * g
    feats = np.flatnonzero(level.present)
    box = bbox[feats]
    gx0, gx1 = box[:, 0] * g + off, box[:, 2] * g + off
    gy0, gy1 = off - box[:, 3] * g, off - box[:, 1] * g
    eps = 1e-6
    tx0 = np.ceil((gx0 - buffer) / extent - 1 - eps).astype(np.int64)
    tx1 = np.floor((gx1 + buffer) / extent + eps).astype(np.int64)
    ty0 = np.ceil((gy0 - buffer) / extent - 1 - eps).astype(np.int64)
    ty1 = np.floor((gy1 + buffer) / extent + eps).astype(np.int64)
    nx, ny = tx1 - tx0 + 1, ty1 - ty0 + 1
    counts = nx * ny
    if int(counts.sum()) > MAX_PIECES:
        return level
    owner = np.repeat(np.arange(len(feats)), counts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    tx = tx0[owner] + k % nx[owner]
    ty = ty0[owner] + k // nx[owner]
    lo, hi = -buffer, extent + buffer
    inside = (
        (gx0[owner] - extent * tx >= lo)
        & (gx1[owner] - extent * tx <= hi)
        & (gy0[owner] - extent * ty >= lo)
        & (gy1[owner] - extent * ty <= hi)
    )
    n_tiles = 1 << z
    valid = ~inside & (tx >= 0) & (tx < n_tiles) & (ty >= 0) & (ty < n_tiles)
    owner, tx, ty = owner[valid], tx[valid], ty[valid]
    key = tx * n_tiles + ty
    order = np.lexsort((feats[owner], key))
    owner, tx, ty, key = owner[order], tx[order], ty[order], key[order]
    part = take(level.ragged, feats[owner])
    part_piece = np.repeat(np.arange(len(owner)), np.diff(part.feat_off))
    vert_piece = np.repeat(part_piece, np.diff(part.part_off))
    shift = np.column_stack([extent * tx, extent * ty])
    shifted = Ragged(
        "polygon", part.coords - shift[vert_piece], part.part_off, part.feat_off, part.hole
    )
    clipped = clip_rings(shifted, lo, hi)
    cleaned, kept = clean(clipped, np.arange(len(owner)), lo, hi)
    c_ints, c_off = geometry_commands(cleaned)
    sizes = np.zeros(len(owner), dtype=np.int64)
    sizes[kept] = np.diff(c_off)
    cross_off = np.zeros(len(owner) + 1, dtype=np.int64)
    np.cumsum(sizes, out=cross_off[1:])
    return replace(
        level,
        cross_key=key,
        cross_feat=feats[owner],
        cross_ints=c_ints.astype(np.uint32 if int(c_ints.max(initial=0)) < 2**32 else np.uint64),
        cross_off=cross_off,
    )


def tile_commands(
    level: ZoomLevel,
    bbox: npt.NDArray[np.float64],
    candidates: IntArray,
    kind: Kind,
    x: int,
    y: int,
    extent: int = 4096,
    buffer: int = 64,
) -> tuple[npt.NDArray[np.uint64], IntArray, IntArray]:
    """MVT command integers of the candidate features of tile ``level.z/x/y``.

    Features wholly inside the buffered tile come from the :class:`ZoomLevel`; the few that
    cross it are snapped, clipped (GEOS) and cleaned here.

    Returns
    -------
    tuple
        The concatenated command integers, each feature's offsets in them, and the features'
        indices into the layer.
    """
    z = level.z
    candidates = candidates[level.present[candidates]]
    g = world_pixels(z, extent)
    ox = ORIGIN * g - extent * x
    oy = ORIGIN * g - extent * y
    box = bbox[candidates]
    px0 = box[:, 0] * g + ox
    px1 = box[:, 2] * g + ox
    py0 = oy - box[:, 3] * g
    py1 = oy - box[:, 1] * g
    lo, hi = -buffer, extent + buffer
    inside = (px0 >= lo) & (px1 <= hi) & (py0 >= lo) & (py1 <= hi)
    inner = candidates[inside]
    i0 = level.int_off[inner]
    i1 = level.int_off[inner + 1]
    ints = level.ints[ranges(i0, i1)].astype(np.uint64)
    off = np.zeros(len(inner) + 1, dtype=np.int64)
    np.cumsum(i1 - i0, out=off[1:])
    if len(inner):
        head = off[:-1]
        ints[head + 1] = zigzag(level.first[inner, 0] - extent * x)
        ints[head + 2] = zigzag(level.first[inner, 1] - extent * y)
    rows = inner
    crossing = candidates[~inside]
    if len(crossing) and level.cross_key is not None:
        assert level.cross_feat is not None and level.cross_ints is not None
        assert level.cross_off is not None
        key = x * (1 << z) + y
        a, b = np.searchsorted(level.cross_key, [key, key + 1])
        feats = level.cross_feat[a:b]
        pos = np.minimum(np.searchsorted(feats, crossing), max(len(feats) - 1, 0))
        found = (feats[pos] == crossing) if len(feats) else np.zeros(len(crossing), dtype=bool)
        use = a + pos[found]
        c0, c1 = level.cross_off[use], level.cross_off[use + 1]
        nonempty = c1 > c0
        c0, c1 = c0[nonempty], c1[nonempty]
        if len(c0):
            pieces = level.cross_ints[ranges(c0, c1)].astype(np.uint64)
            ints = np.concatenate([ints, pieces])
            off = np.concatenate([off, off[-1] + np.cumsum(c1 - c0)])
            rows = np.concatenate([rows, crossing[found][nonempty]])
        crossing = crossing[~found]
    if len(crossing):
        part = take(level.ragged, crossing)
        shifted = Ragged(
            kind,
            part.coords - np.array([extent * x, extent * y]),
            part.part_off,
            part.feat_off,
            part.hole,
        )
        if kind == "polygon":
            out = ~inside
            sides = (
                bool((px0[out] < lo).any()),
                bool((px1[out] > hi).any()),
                bool((py0[out] < lo).any()),
                bool((py1[out] > hi).any()),
            )
            clipped = clip_rings(shifted, lo, hi, sides)
            kept = crossing
        elif kind == "line":
            clipped, kept_idx = _clip_lines(shifted, lo, hi)
            kept = crossing[kept_idx]
        else:
            clipped, kept = shifted, crossing
        cleaned, rows_c = clean(clipped, kept, lo, hi)
        if len(rows_c):
            c_ints, c_off = geometry_commands(cleaned)
            ints = np.concatenate([ints, c_ints])
            off = np.concatenate([off, c_off[1:] + off[-1]])
            rows = np.concatenate([rows, rows_c])
    return ints, off, rows


def clip_rings(
    r: Ragged, lo: float, hi: float, sides: tuple[bool, bool, bool, bool] = (True,) * 4
) -> Ragged:
    """Clip polygon rings (without closing vertex) to the square ``[lo, hi]²``.

    Sutherland-Hodgman, one pass per side, vectorised over every vertex of every ring; the result
    is snapped to integers. A ring that crosses the square twice keeps a zero-width bridge along
    its side, which :func:`clean` reduces (collinear vertices) as far as it can. Rings wholly
    outside become empty and are dropped by :func:`clean`. ``sides`` (left, right, top, bottom)
    says which sides any ring may cross; the others are skipped.
    """
    c = r.coords.astype(np.float64)
    n_parts = len(r.part_off) - 1
    pid = np.repeat(np.arange(n_parts), np.diff(r.part_off))
    passes = ((0, lo, True), (0, hi, False), (1, lo, True), (1, hi, False))
    for (axis, bound, keep_ge), needed in zip(passes, sides, strict=True):
        if not len(c):
            break
        if not needed:
            continue
        prev, _, _ = neighbours(pid, n_parts, True)
        v = c[:, axis]
        cur_in = v >= bound if keep_ge else v <= bound
        prev_in = cur_in[prev]
        cross = cur_in != prev_in
        if not cross.any() and cur_in.all():
            continue
        count = cur_in.astype(np.int64) + cross
        start = np.cumsum(count) - count
        out = np.empty((int(count.sum()), 2), dtype=np.float64)
        out_pid = np.repeat(pid, count)
        p = c[prev[cross]]
        q = c[cross]
        t = (bound - p[:, axis]) / (q[:, axis] - p[:, axis])
        hit = p + t[:, None] * (q - p)
        hit[:, axis] = bound
        out[start[cross]] = hit
        out[(start + cross)[cur_in]] = c[cur_in]
        c, pid = out, out_pid
    counts = np.bincount(pid, minlength=n_parts)
    part_off = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(counts, out=part_off[1:])
    return Ragged(r.kind, np.rint(c).astype(np.int64), part_off, r.feat_off, r.hole)


def _clip_lines(r: Ragged, lo: int, hi: int) -> tuple[Ragged, IntArray]:
    """Clip lines to the square ``[lo, hi]²`` with GEOS; returns them and the kept features."""
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.MULTILINESTRING, r.coords.astype(np.float64), (r.part_off, r.feat_off)
    )
    clipped = shapely.transform(shapely.clip_by_rect(geoms, lo, lo, hi, hi), np.rint)
    parts, owner = shapely.get_parts(clipped, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    parts, owner = parts[ok], owner[ok]
    kept = np.unique(owner)
    if not kept.size:
        return from_geometries(np.zeros(0, dtype=object), "line"), kept
    multi = shapely.multilinestrings(parts, indices=np.searchsorted(kept, owner))
    out = from_geometries(np.asarray(multi, dtype=object), "line")
    return Ragged("line", out.coords.astype(np.int64), out.part_off, out.feat_off, out.hole), kept


def tile_ragged(
    ragged: Ragged,
    geoms: npt.NDArray[np.object_],
    bbox: npt.NDArray[np.float64],
    candidates: IntArray,
    bounds: tuple[float, float, float, float],
    extent: int = 4096,
    buffer: int = 64,
) -> tuple[Ragged, IntArray]:
    """Clean integer tile coordinates of the candidate features of one tile.

    The direct path, without a :class:`ZoomLevel` (tests use it as a reference).

    Parameters
    ----------
    ragged, geoms, bbox
        The layer in Web Mercator: flat coordinates, the same geometries as shapely objects (used
        only for features that cross the buffered tile) and their ``(minx, miny, maxx, maxy)``.
    candidates
        Indices of the features whose bounding box meets the buffered tile.
    bounds
        The tile's mercator bounds.

    Returns
    -------
    tuple
        The features that survive, in tile pixels (``int64`` coordinates, rings without closing
        vertex), and their indices into the layer.
    """
    fx, xoff, fy, yoff = affine(bounds, extent)
    box = bbox[candidates]
    px0 = box[:, 0] * fx + xoff
    px1 = box[:, 2] * fx + xoff
    py0 = box[:, 3] * fy + yoff  # top edge (max y) -> smallest pixel row
    py1 = box[:, 1] * fy + yoff
    if ragged.kind != "point":
        big = ((px1 - px0) >= 0.5) | ((py1 - py0) >= 0.5)
        candidates, px0, px1, py0, py1 = candidates[big], px0[big], px1[big], py0[big], py1[big]
    lo, hi = -buffer, extent + buffer
    inside = (px0 >= lo) & (px1 <= hi) & (py0 >= lo) & (py1 <= hi)
    inner = candidates[inside]
    part = take(ragged, inner)
    xy = np.empty(part.coords.shape, dtype=np.float64)
    np.multiply(part.coords[:, 0], fx, out=xy[:, 0])
    xy[:, 0] += xoff
    np.multiply(part.coords[:, 1], fy, out=xy[:, 1])
    xy[:, 1] += yoff
    snapped = Ragged(
        part.kind, np.rint(xy).astype(np.int64), part.part_off, part.feat_off, part.hole
    )
    ids = inner
    crossing = candidates[~inside]
    if len(crossing):
        clipped, kept = _clip_crossing(geoms[crossing], ragged.kind, fx, xoff, fy, yoff, lo, hi)
        if kept.size:
            snapped = _concat_int(snapped, clipped)
            ids = np.concatenate([inner, crossing[kept]])
    return clean(snapped, ids, lo, hi)


def _clip_crossing(
    geoms: npt.NDArray[np.object_],
    kind: Kind,
    fx: float,
    xoff: float,
    fy: float,
    yoff: float,
    lo: int,
    hi: int,
) -> tuple[Ragged, IntArray]:
    """Snap, clip and re-snap the features that cross the buffered tile (GEOS, vectorised)."""

    def to_pixels(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.rint(np.column_stack([c[:, 0] * fx + xoff, c[:, 1] * fy + yoff]))

    snapped = shapely.transform(geoms, to_pixels)
    if kind == "point":
        clipped = shapely.intersection(snapped, shapely.box(lo, lo, hi, hi))
    else:
        clipped = shapely.clip_by_rect(snapped, lo, lo, hi, hi)
    clipped = shapely.transform(clipped, np.rint)
    parts, owner = shapely.get_parts(clipped, return_index=True)
    ok = np.isin(shapely.get_type_id(parts), _PART_TYPES[kind]) & ~shapely.is_empty(parts)
    parts, owner = parts[ok], owner[ok]
    kept = np.unique(owner)
    if not kept.size:
        return from_geometries(np.zeros(0, dtype=object), kind), kept
    local = np.searchsorted(kept, owner)
    multi: Any
    if kind == "polygon":
        multi = shapely.multipolygons(parts, indices=local)
    elif kind == "line":
        multi = shapely.multilinestrings(parts, indices=local)
    else:
        multi = shapely.multipoints(parts, indices=local)
    out = from_geometries(np.asarray(multi, dtype=object), kind)
    return Ragged(kind, out.coords.astype(np.int64), out.part_off, out.feat_off, out.hole), kept


def _concat_int(a: Ragged, b: Ragged) -> Ragged:
    coords = np.concatenate([a.coords, b.coords])
    part_off = np.concatenate([a.part_off, b.part_off[1:] + a.part_off[-1]])
    feat_off = np.concatenate([a.feat_off, b.feat_off[1:] + a.feat_off[-1]])
    return Ragged(a.kind, coords, part_off, feat_off, np.concatenate([a.hole, b.hole]))


__all__ = ["affine", "build_level", "clip_rings", "tile_commands", "tile_ragged"]
