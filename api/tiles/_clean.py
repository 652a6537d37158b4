"""Clean integer tile geometries into what MVT 2.1 accepts, vectorised over a tile's features.

The last two steps of PostGIS 3.3 ``ST_AsMVTGeom`` (see :mod:`api.tiles._clip` for the others),
shared by the tile engine and :func:`api.tiles.mvt.encode`:

4. repeated vertices and vertices on a straight line are removed; rings with fewer than three
   vertices or zero area, lines with fewer than two vertices, holes of dropped exterior rings and
   features left without parts are dropped;
5. exterior rings get a positive area in tile coordinates (clockwise on screen) and holes a
   negative one, as the MVT 2.1 specification requires.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from api.tiles._ragged import IntArray, Ragged


def clean(r: Ragged, ids: IntArray, lo: int = -64, hi: int = 4160) -> tuple[Ragged, IntArray]:
    """Drop repeated and collinear vertices and degenerate parts; orient rings (see module doc).

    ``r`` holds integer tile coordinates; polygon rings may carry their closing vertex or not.
    Returns the cleaned features (rings without closing vertex) and the ``ids`` of those kept.
    """
    c: npt.NDArray[np.int64] = np.asarray(r.coords, dtype=np.int64)
    n_parts = len(r.part_off) - 1
    lens = np.diff(r.part_off)
    pid = np.repeat(np.arange(n_parts), lens)
    keep = np.ones(len(c), dtype=bool)
    if r.kind == "polygon":
        # the closing vertex repeats the first one
        last = r.part_off[1:][lens > 0] - 1
        first = r.part_off[:-1][lens > 0]
        closed = np.all(c[last] == c[first], axis=1) & (last > first)
        keep[last[closed]] = False
    if r.kind == "point":
        keep &= np.all((c >= lo) & (c <= hi), axis=1)
    c, pid = c[keep], pid[keep]
    # repeated vertices (consecutive within a part)
    same = np.zeros(len(c), dtype=bool)
    if len(c) > 1:
        same[1:] = np.all(c[1:] == c[:-1], axis=1) & (pid[1:] == pid[:-1])
    c, pid = c[~same], pid[~same]
    if r.kind == "polygon":
        c, pid = _drop_wraparound_repeat(c, pid, n_parts)
    if r.kind != "point":
        c, pid = _drop_collinear(c, pid, n_parts, ring=r.kind == "polygon")
    counts = np.bincount(pid, minlength=n_parts)
    feat_of_part = np.repeat(np.arange(len(ids)), np.diff(r.feat_off))
    hole = r.hole
    if r.kind == "polygon":
        starts = np.zeros(n_parts + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        area = _ring_area2(c, pid, starts, n_parts)
        part_ok = (counts >= 3) & (area != 0)
        poly_of_ring = np.cumsum(~hole) - 1
        ext_ok = part_ok[~hole]
        part_ok &= ext_ok[poly_of_ring] if len(ext_ok) else part_ok
        reverse = np.where(hole, area > 0, area < 0) & part_ok
        if reverse.any():
            c = _reverse_parts(c, pid, starts, reverse)
    elif r.kind == "line":
        part_ok = counts >= 2
    else:
        part_ok = counts >= 1
    vert_ok = part_ok[pid]
    c, pid = c[vert_ok], pid[vert_ok]
    kept_parts = np.flatnonzero(part_ok)
    counts = counts[kept_parts]
    part_off = np.zeros(len(kept_parts) + 1, dtype=np.int64)
    np.cumsum(counts, out=part_off[1:])
    parts_per_feat = np.bincount(feat_of_part[kept_parts], minlength=len(ids))
    feat_ok = parts_per_feat > 0
    feat_off = np.zeros(int(feat_ok.sum()) + 1, dtype=np.int64)
    np.cumsum(parts_per_feat[feat_ok], out=feat_off[1:])
    out = Ragged(r.kind, c, part_off, feat_off, hole[kept_parts])
    return out, ids[feat_ok]


def _drop_wraparound_repeat(
    c: npt.NDArray[np.int64], pid: IntArray, n_parts: int
) -> tuple[npt.NDArray[np.int64], IntArray]:
    if not len(c):
        return c, pid
    counts = np.bincount(pid, minlength=n_parts)
    starts = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    nz = np.flatnonzero(counts > 1)
    last = starts[nz + 1] - 1
    dup = np.all(c[last] == c[starts[nz]], axis=1)
    if not dup.any():
        return c, pid
    keep = np.ones(len(c), dtype=bool)
    keep[last[dup]] = False
    return c[keep], pid[keep]


def neighbours(pid: IntArray, n_parts: int, ring: bool) -> tuple[IntArray, IntArray, IntArray]:
    """Index of the previous and next vertex of every vertex within its part (cyclic for rings)."""
    counts = np.bincount(pid, minlength=n_parts)
    starts = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    idx = np.arange(len(pid))
    first = idx == starts[pid]
    last = idx == starts[pid + 1] - 1
    prev = idx - 1
    nxt = idx + 1
    if ring:
        prev[first] = starts[pid[first] + 1] - 1
        nxt[last] = starts[pid[last]]
    else:
        prev[first] = idx[first]
        nxt[last] = idx[last]
    return prev, nxt, starts


def _drop_collinear(
    c: npt.NDArray[np.int64], pid: IntArray, n_parts: int, ring: bool
) -> tuple[npt.NDArray[np.int64], IntArray]:
    if len(c) < 3:
        return c, pid
    prev, nxt, _ = neighbours(pid, n_parts, ring)
    a = c - c[prev]
    b = c[nxt] - c
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    idx = np.arange(len(c))
    # end points of lines have prev == self or next == self and are never dropped
    drop = (cross == 0) & (prev != idx) & (nxt != idx)
    if not drop.any():
        return c, pid
    return c[~drop], pid[~drop]


def _ring_area2(
    c: npt.NDArray[np.int64], pid: IntArray, starts: IntArray, n_parts: int
) -> npt.NDArray[np.int64]:
    """Twice the signed area of every ring (surveyor's formula in tile coordinates)."""
    if not len(c):
        return np.zeros(n_parts, dtype=np.int64)
    _, nxt, _ = neighbours(pid, n_parts, True)
    term = c[:, 0] * c[nxt, 1] - c[nxt, 0] * c[:, 1]
    sums = np.zeros(len(c) + 1, dtype=np.int64)
    np.cumsum(term, out=sums[1:])
    result: npt.NDArray[np.int64] = sums[starts[1:]] - sums[starts[:-1]]
    return result


def _reverse_parts(
    c: npt.NDArray[np.int64], pid: IntArray, starts: IntArray, reverse: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    idx = np.arange(len(c))
    flip = reverse[pid]
    src = idx.copy()
    src[flip] = starts[pid[flip]] + starts[pid[flip] + 1] - 1 - idx[flip]
    out: npt.NDArray[np.int64] = c[src]
    return out


__all__ = ["clean", "neighbours"]
