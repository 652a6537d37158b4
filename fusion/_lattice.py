"""A square lattice over a polygon set: most cells answer point-in-polygon without a polygon test.

Each cell is a closed square ``[x0 + i*size, x0 + (i+1)*size] x [y0 + j*size, ...]`` with id
``j * nx + i``. A cell is a *boundary* cell when any polygon ring touches it (tested
conservatively: the cell is grown by a tiny ``eps`` first, so rounding can only add boundary
cells, never lose one). Every other cell lies wholly inside the same set of polygons; it stores the
smallest polygon rank of that set, or nothing when no polygon covers it. Boundary cells keep a
list of candidate polygons: those whose rings touch the cell plus those covering its centre (a
polygon that covers the whole cell without touching it, which only happens when polygons overlap).

The build is vectorised: ring segments are cut to at most ``4*size`` long and tested against
the cells of their bounding box with a separating-axis test; the non-boundary cells are labelled
into 4-connected components (``scipy.ndimage.label``) and one centre per component is looked up
in an STRtree (two 4-adjacent non-boundary cells share an edge no ring touches, so they are in
the same polygons).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

#: target number of cells per polygon (≈ 28 m cells for 400 m grids).
CELLS_PER_POLYGON = 200
#: upper bound on the lattice size (cells).
MAX_CELLS = 1 << 24
#: relative growth of cells in the boundary test (guards against rounding).
EPS = 1e-6


@dataclass(frozen=True)
class PolygonLattice:
    """The lattice of one polygon set (see module docstring)."""

    x0: float
    y0: float
    size: float
    nx: int
    ny: int
    #: ids of cells wholly inside polygons and the smallest covering rank
    inner_cells: NDArray[np.int64]
    inner_rank: NDArray[np.int32]
    #: boundary cell ids (with NULL rank in the cell table)
    boundary_cells: NDArray[np.int64]
    #: boundary candidates: (cell id, rank) pairs, unique
    cand_cells: NDArray[np.int64]
    cand_rank: NDArray[np.int32]

    @property
    def boundary_share(self) -> float:
        """Boundary cells / all cells that meet a polygon."""
        total = len(self.inner_cells) + len(self.boundary_cells)
        return len(self.boundary_cells) / total if total else 0.0


def polygon_set_key(ids: NDArray[np.object_] | list[object], geoms: NDArray[np.object_]) -> str:
    """A short hash naming a polygon set: its ids (in rank order) and WKB geometries.

    Three updates for the whole set (ids, WKB lengths, WKB bytes), not three per polygon.
    """
    wkb = shapely.to_wkb(geoms, hex=False).tolist()
    if len(wkb) != len(ids):
        raise ValueError(f"{len(ids)} ids for {len(wkb)} geometries")
    digest = hashlib.sha256()
    digest.update("\x00".join(repr(pid) for pid in ids).encode())
    digest.update(np.fromiter((len(w) for w in wkb), np.int64, len(wkb)).tobytes())
    digest.update(b"".join(wkb))
    return digest.hexdigest()[:16]


def choose_size(geoms: NDArray[np.object_], cells_per_polygon: int = CELLS_PER_POLYGON) -> float:
    """Cell size from polygon density: about ``cells_per_polygon`` cells per mean polygon."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    mean_area = float(np.mean(shapely.area(geoms)))
    size = math.sqrt(mean_area / cells_per_polygon) if mean_area > 0 else 1.0
    width, height = max(xmax - xmin, 1e-12), max(ymax - ymin, 1e-12)
    floor_size = math.sqrt(width * height / MAX_CELLS)
    return max(size, floor_size, max(width, height) * 1e-9)


def build_lattice(
    geoms: NDArray[np.object_],
    size: float | None = None,
    *,
    cells_per_polygon: int = CELLS_PER_POLYGON,
) -> PolygonLattice:
    """Build the lattice of polygons given in rank order (rank = position in ``geoms``)."""
    geoms = np.asarray(geoms, dtype=object)
    size = float(size) if size is not None else choose_size(geoms, cells_per_polygon)
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(geoms))
    x0, y0 = xmin - size / 2, ymin - size / 2
    nx = math.floor((xmax - x0) / size) + 2
    ny = math.floor((ymax - y0) / size) + 2

    seg_cells, seg_rank = _ring_cells(geoms, x0, y0, size, nx, ny)
    boundary = np.zeros(nx * ny, dtype=bool)
    boundary[seg_cells] = True

    from scipy import ndimage  # here: only a build needs it (0.1 s to import)

    # non-boundary cells: components, one STRtree lookup per component
    labels, n_labels = ndimage.label(~boundary.reshape(ny, nx))
    flat = labels.ravel()
    tree = shapely.STRtree(geoms)
    label_rank = np.full(n_labels + 1, -1, dtype=np.int64)
    if n_labels:
        comp, first = np.unique(flat, return_index=True)
        keep = comp > 0
        comp, first = comp[keep], first[keep]
        cx, cy = _centres(first, x0, y0, size, nx)
        pt_idx, poly_idx = tree.query(shapely.points(cx, cy), predicate="intersects")
        label_rank[comp] = _min_per(pt_idx, poly_idx, len(comp))
    cell_rank = label_rank[flat]
    inner = np.flatnonzero((flat > 0) & (cell_rank >= 0))

    # candidates of boundary cells: touching rings plus polygons covering the centre
    bcells = np.flatnonzero(boundary)
    bx, by = _centres(bcells, x0, y0, size, nx)
    pt_idx, poly_idx = tree.query(shapely.points(bx, by), predicate="intersects")
    all_cells = np.concatenate([seg_cells, bcells[pt_idx]])
    all_rank = np.concatenate([seg_rank, poly_idx])
    pairs = np.unique(all_cells * np.int64(len(geoms)) + all_rank)
    return PolygonLattice(
        x0=x0,
        y0=y0,
        size=size,
        nx=nx,
        ny=ny,
        inner_cells=inner.astype(np.int64),
        inner_rank=cell_rank[inner].astype(np.int32),
        boundary_cells=bcells.astype(np.int64),
        cand_cells=(pairs // len(geoms)).astype(np.int64),
        cand_rank=(pairs % len(geoms)).astype(np.int32),
    )


def _centres(
    cells: NDArray[np.int64], x0: float, y0: float, size: float, nx: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    i, j = (cells % nx).astype(np.float64), (cells // nx).astype(np.float64)
    cx: NDArray[np.float64] = x0 + (i + 0.5) * size
    cy: NDArray[np.float64] = y0 + (j + 0.5) * size
    return cx, cy


def _min_per(group: NDArray[np.intp], value: NDArray[np.intp], n: int) -> NDArray[np.int64]:
    """Smallest ``value`` per ``group`` index in ``range(n)`` (-1 where none)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, group, value.astype(np.int64))
    out[out == np.iinfo(np.int64).max] = -1
    return out


def _ring_cells(
    geoms: NDArray[np.object_], x0: float, y0: float, size: float, nx: int, ny: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(cell id, polygon rank) for every cell a polygon ring touches (unique pairs)."""
    # rings of every part: shapely.get_rings gives none for a MultiPolygon
    parts, part_poly = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_poly = part_poly[ring_part]
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[1:] == ring_idx[:-1]
    ax, ay = coords[:-1, 0][same], coords[:-1, 1][same]
    bx, by = coords[1:, 0][same], coords[1:, 1][same]
    rank = ring_poly[ring_idx[:-1][same]].astype(np.int64)

    # cut long segments into pieces of at most 4 cells (their cells are the union of the pieces')
    length = np.hypot(bx - ax, by - ay)
    pieces = np.maximum(1, np.ceil(length / (4 * size))).astype(np.int64)
    if (pieces > 1).any():
        seg = np.repeat(np.arange(len(ax)), pieces)
        k = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        t0 = k / pieces[seg]
        t1 = (k + 1) / pieces[seg]
        dx, dy = bx - ax, by - ay
        ax, ay, bx, by = (
            ax[seg] + t0 * dx[seg],
            ay[seg] + t0 * dy[seg],
            np.where(k + 1 == pieces[seg], bx[seg], ax[seg] + t1 * dx[seg]),
            np.where(k + 1 == pieces[seg], by[seg], ay[seg] + t1 * dy[seg]),
        )
        rank = rank[seg]

    eps = EPS * size
    i0 = np.clip(np.floor((np.minimum(ax, bx) - eps - x0) / size), 0, nx - 1).astype(np.int64)
    i1 = np.clip(np.floor((np.maximum(ax, bx) + eps - x0) / size), 0, nx - 1).astype(np.int64)
    j0 = np.clip(np.floor((np.minimum(ay, by) - eps - y0) / size), 0, ny - 1).astype(np.int64)
    j1 = np.clip(np.floor((np.maximum(ay, by) + eps - y0) / size), 0, ny - 1).astype(np.int64)
    wi, wj = i1 - i0 + 1, j1 - j0 + 1
    count = wi * wj
    seg = np.repeat(np.arange(len(ax)), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    ci = i0[seg] + k % wi[seg]
    cj = j0[seg] + k // wi[seg]

    # separating-axis test of the segment against the grown cell box: the box's corners must
    # not all lie strictly on one side of the segment's line (bounding boxes overlap already)
    lx0, ly0 = x0 + ci * size - eps, y0 + cj * size - eps
    lx1, ly1 = lx0 + size + 2 * eps, ly0 + size + 2 * eps
    sax, say = ax[seg], ay[seg]
    sdx, sdy = bx[seg] - sax, by[seg] - say
    f00 = (lx0 - sax) * sdy - (ly0 - say) * sdx
    f10 = (lx1 - sax) * sdy - (ly0 - say) * sdx
    f01 = (lx0 - sax) * sdy - (ly1 - say) * sdx
    f11 = (lx1 - sax) * sdy - (ly1 - say) * sdx
    fmin = np.minimum(np.minimum(f00, f10), np.minimum(f01, f11))
    fmax = np.maximum(np.maximum(f00, f10), np.maximum(f01, f11))
    hit = (fmin <= 0) & (fmax >= 0)
    cells = cj[hit] * nx + ci[hit]
    ranks = rank[seg][hit]
    n = max(int(ranks.max(initial=0)) + 1, 1)
    pairs = np.unique(cells * np.int64(n) + ranks)
    return pairs // n, pairs % n
