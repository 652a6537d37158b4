"""Flat (ragged) coordinate arrays of a geometry column: the in-memory form of a tile layer.

A :class:`Ragged` holds every feature of one kind in four numpy arrays, so that a tile can gather,
transform and encode thousands of features without a Python loop per feature:

- ``coords`` ``(P, 2)``: every vertex; rings carry their closing vertex, as in shapely;
- ``part_off`` ``(R + 1,)``: the vertices of part ``r`` are ``coords[part_off[r]:part_off[r + 1]]``
  (a part is a polygon ring, a linestring, or the points of a (multi)point feature);
- ``feat_off`` ``(F + 1,)``: the parts of feature ``f`` are ``feat_off[f]:feat_off[f + 1]``;
- ``hole`` ``(R,)``: for polygons, whether the ring is an interior ring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely

from common.errors import InvalidInput

Kind = Literal["point", "line", "polygon"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_KIND_OF_TYPE: dict[int, Kind] = {
    0: "point",
    4: "point",
    1: "line",
    5: "line",
    3: "polygon",
    6: "polygon",
}


@dataclass(frozen=True)
class Ragged:
    """Coordinates of ``F`` features of one kind (see the module docstring)."""

    kind: Kind
    coords: npt.NDArray[Any]  # float64 (metres) or int64 (pixels)
    part_off: IntArray
    feat_off: IntArray
    hole: npt.NDArray[np.bool_]

    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.feat_off) - 1


def ranges(starts: IntArray, stops: IntArray) -> IntArray:
    """Concatenate ``arange(s, e)`` for every pair, without a Python loop.

    >>> ranges(np.array([0, 5, 9]), np.array([2, 5, 12])).tolist()
    [0, 1, 9, 10, 11]
    """
    lens = stops - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    keep = lens > 0
    starts, lens = starts[keep], lens[keep]
    ends = np.cumsum(lens)
    out = np.ones(total, dtype=np.int64)
    out[0] = starts[0]
    out[ends[:-1]] = starts[1:] - (starts[:-1] + lens[:-1] - 1)
    return np.cumsum(out)


def kind_of(geoms: npt.NDArray[np.object_]) -> Kind:
    """The one kind (point, line, polygon) of a geometry array; mixed kinds are refused."""
    types = np.unique(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]))
    kinds = {_KIND_OF_TYPE.get(int(t)) for t in types}
    if len(kinds) != 1 or None in kinds:
        names = sorted({shapely.GeometryType(int(t)).name for t in types})
        raise InvalidInput(f"a tile layer holds one kind of geometry, got {names}")
    kind = kinds.pop()
    assert kind is not None
    return kind


_EMPTY: dict[Kind, shapely.Geometry] = {
    "point": shapely.from_wkt("MULTIPOINT EMPTY"),
    "line": shapely.from_wkt("MULTILINESTRING EMPTY"),
    "polygon": shapely.from_wkt("MULTIPOLYGON EMPTY"),
}


def only_kind(geoms: npt.NDArray[np.object_], kind: Kind) -> npt.NDArray[np.object_]:
    """Geometries reduced to their parts of ``kind``.

    A GeometryCollection (what an overlay gives when a polygon touches another along a line)
    keeps its parts of the layer's kind; a geometry with none (a grid degenerated to a line or
    a point) becomes empty and encodes to nothing. Geometries already of the kind are returned
    as they are (no copy).

    >>> gc = shapely.from_wkt("GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), POINT (5 5))")
    >>> [g.wkt for g in only_kind(np.array([gc, shapely.Point(1, 1)]), "polygon")]
    ['MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))', 'MULTIPOLYGON EMPTY']
    """
    types = shapely.get_type_id(geoms)
    odd = np.flatnonzero(
        (types >= 0) & ~np.isin(types, [t for t, k in _KIND_OF_TYPE.items() if k == kind])
    )
    if not len(odd):
        return geoms
    out = geoms.copy()
    make: Any = {
        "point": shapely.multipoints,
        "line": shapely.multilinestrings,
        "polygon": shapely.multipolygons,
    }[kind]
    for i in odd.tolist():
        parts = shapely.get_parts(shapely.get_parts(geoms[i]))  # collections may hold multi-parts
        keep = [g for g in parts if _KIND_OF_TYPE.get(int(shapely.get_type_id(g))) == kind]
        out[i] = make(keep) if keep else _EMPTY[kind]
    return out


def from_geometries(geoms: npt.NDArray[np.object_], kind: Kind | None = None) -> Ragged:
    """Flatten a shapely geometry array of one kind into a :class:`Ragged`.

    Empty or missing geometries become features without parts (they encode to nothing).

    >>> r = from_geometries(np.array([shapely.box(0, 0, 1, 1)]))
    >>> r.kind, r.coords.shape, r.part_off.tolist(), r.feat_off.tolist(), r.hole.tolist()
    ('polygon', (5, 2), [0, 5], [0, 1], [False])
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if kind is None:
        kind = kind_of(geoms) if n else "polygon"
    geoms = only_kind(geoms, kind)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    parts = shapely.get_parts(geoms[~empty])
    index = _part_index(geoms[~empty])
    target: npt.NDArray[np.object_]
    if kind == "polygon":
        target = np.asarray(shapely.multipolygons(parts, indices=index), dtype=object)
    elif kind == "line":
        target = np.asarray(shapely.multilinestrings(parts, indices=index), dtype=object)
    else:
        target = np.asarray(shapely.multipoints(parts, indices=index), dtype=object)
    full = np.empty(n, dtype=object)
    full[~empty] = target
    counts_nonempty = np.zeros(n, dtype=np.int64)
    if len(target):
        coords, offsets = shapely.to_ragged_array(target, include_z=False)[1:]
    else:
        coords, offsets = np.zeros((0, 2)), ()
    coords = np.ascontiguousarray(coords, dtype=np.float64)
    if kind == "polygon":
        if len(target):
            ring_off, poly_off, mpoly_off = (np.asarray(o, dtype=np.int64) for o in offsets)
        else:
            ring_off, poly_off, mpoly_off = (np.zeros(1, np.int64),) * 3
        hole = np.ones(len(ring_off) - 1, dtype=bool)
        hole[poly_off[:-1]] = False
        part_off = ring_off
        rings_per = poly_off[mpoly_off[1:]] - poly_off[mpoly_off[:-1]]
    elif kind == "line":
        if len(target):
            part_off, line_off = (np.asarray(o, dtype=np.int64) for o in offsets)
        else:
            part_off, line_off = np.zeros(1, np.int64), np.zeros(1, np.int64)
        hole = np.zeros(len(part_off) - 1, dtype=bool)
        rings_per = np.diff(line_off)
    else:
        if len(target):
            (pt_off,) = (np.asarray(o, dtype=np.int64) for o in offsets)
        else:
            pt_off = np.zeros(1, np.int64)
        # one part per feature: all of its points
        part_off = pt_off
        hole = np.zeros(len(part_off) - 1, dtype=bool)
        rings_per = np.ones(len(pt_off) - 1, dtype=np.int64)
    counts_nonempty[~empty] = rings_per
    feat_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts_nonempty, out=feat_off[1:])
    return Ragged(kind, coords, part_off, feat_off, hole)


def geometries_to_ragged(geoms: Any, kind: Kind | None = None) -> Ragged:
    """Integer-snapped :class:`Ragged` of geometries already in tile pixels (tests, tools)."""
    r = from_geometries(np.asarray(geoms, dtype=object), kind)
    return Ragged(r.kind, np.rint(r.coords).astype(np.int64), r.part_off, r.feat_off, r.hole)


def _part_index(geoms: npt.NDArray[np.object_]) -> IntArray:
    return np.repeat(np.arange(len(geoms)), shapely.get_num_geometries(geoms))


def concat(a: Ragged, b: Ragged) -> Ragged:
    """Features of ``a`` followed by those of ``b`` (same kind)."""
    coords = np.concatenate([a.coords, b.coords])
    part_off = np.concatenate([a.part_off, b.part_off[1:] + a.part_off[-1]])
    feat_off = np.concatenate([a.feat_off, b.feat_off[1:] + a.feat_off[-1]])
    return Ragged(a.kind, coords, part_off, feat_off, np.concatenate([a.hole, b.hole]))


def take(r: Ragged, features: IntArray) -> Ragged:
    """The sub-array of the given features, in that order."""
    p0, p1 = r.feat_off[features], r.feat_off[features + 1]
    parts = ranges(p0, p1)
    feat_off = np.zeros(len(features) + 1, dtype=np.int64)
    np.cumsum(p1 - p0, out=feat_off[1:])
    v0, v1 = r.part_off[parts], r.part_off[parts + 1]
    verts = ranges(v0, v1)
    part_off = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(v1 - v0, out=part_off[1:])
    return Ragged(r.kind, r.coords[verts], part_off, feat_off, r.hole[parts])
