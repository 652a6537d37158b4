"""Building adjacency: Delaunay neighbours, cut by distance and barrier lines (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, QhullError

Edges = npt.NDArray[np.int64]


def delaunay_edges(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Edges:
    """Return the unique undirected Delaunay edges ``(i, j)``, ``i < j``.

    Points at the same place are linked to the first of them; collinear inputs fall back
    to a chain along the longer axis.
    """
    n = len(x)
    xy = np.column_stack([x, y])
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    uniq, first, inverse = np.unique(xy, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    dup_edges = np.column_stack([first[inverse], np.arange(n)])
    dup_edges = dup_edges[dup_edges[:, 0] != dup_edges[:, 1]]
    m = len(uniq)
    if m == 1:
        pairs = np.empty((0, 2), dtype=np.int64)
    elif m <= 3:
        a, b = np.triu_indices(m, 1)
        pairs = np.column_stack([a, b])
    else:
        try:
            tri = Delaunay(uniq)
            s = tri.simplices
            pairs = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
        except QhullError:
            span = uniq.max(axis=0) - uniq.min(axis=0)
            order = np.argsort(uniq[:, int(np.argmax(span))], kind="stable")
            pairs = np.column_stack([order[:-1], order[1:]])
    edges = np.concatenate([first[pairs], dup_edges]).astype(np.int64)
    edges = np.sort(edges, axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return np.unique(edges, axis=0) if len(edges) else edges


def building_graph(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    max_edge: float | None,
    barriers: Any | None,
) -> tuple[sp.csr_array, int]:
    """Return the adjacency of buildings and how many edges barriers removed.

    Parameters
    ----------
    x, y
        Representative points.
    max_edge
        Longest allowed neighbour distance in CRS units (None: no limit).
    barriers
        Lines (or polygons: their boundaries cut too) that no edge may cross.
    """
    n = len(x)
    edges = delaunay_edges(x, y)
    if max_edge is not None and len(edges):
        d = np.hypot(x[edges[:, 0]] - x[edges[:, 1]], y[edges[:, 0]] - y[edges[:, 1]])
        edges = edges[d <= max_edge]
    cut = 0
    if barriers is not None and len(edges):
        lines = np.asarray(shapely.get_parts(np.asarray(barriers, dtype=object)), dtype=object)
        lines = lines[~shapely.is_empty(lines)]
        if len(lines):
            segs = shapely.linestrings(
                np.stack(
                    [
                        np.column_stack([x[edges[:, 0]], y[edges[:, 0]]]),
                        np.column_stack([x[edges[:, 1]], y[edges[:, 1]]]),
                    ],
                    axis=1,
                )
            )
            tree = shapely.STRtree(lines)
            hit = tree.query(segs, predicate="intersects")
            keep = np.ones(len(edges), dtype=bool)
            keep[np.unique(hit[0])] = False
            cut = int((~keep).sum())
            edges = edges[keep]
    return adjacency(n, edges), cut


def adjacency(n: int, edges: Edges) -> sp.csr_array:
    """Symmetric boolean adjacency matrix from undirected edges."""
    data = np.ones(2 * len(edges), dtype=np.int8)
    rows = np.concatenate([edges[:, 0], edges[:, 1]]) if len(edges) else np.empty(0, np.int64)
    cols = np.concatenate([edges[:, 1], edges[:, 0]]) if len(edges) else np.empty(0, np.int64)
    mat = sp.csr_array((data, (rows, cols)), shape=(n, n))
    mat.sum_duplicates()
    mat.data[:] = 1
    return mat


def restrict(graph: sp.csr_array, key: npt.NDArray[np.int64]) -> sp.csr_array:
    """Keep only the edges whose two ends have the same key."""
    coo = graph.tocoo()
    keep = key[coo.row] == key[coo.col]
    return sp.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=graph.shape)


def components(graph: sp.csr_array) -> npt.NDArray[np.int64]:
    """Connected component number of every node."""
    if graph.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    _, lab = connected_components(graph, directed=False)
    return np.asarray(lab, dtype=np.int64)


def quotient(graph: sp.csr_array, labels: npt.NDArray[np.int64], k: int) -> sp.csr_array:
    """Adjacency between groups (``labels`` in ``0..k-1``), without self loops."""
    n = graph.shape[0]
    member = sp.csr_array((np.ones(n, dtype=np.int8), (np.arange(n), labels)), shape=(n, k))
    q = (member.T @ graph @ member).tocoo()
    keep = q.row != q.col
    out = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.int8), (q.row[keep], q.col[keep])), shape=(k, k)
    )
    return out


def region_fragments(graph: sp.csr_array, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Number of connected pieces of every region (index = label)."""
    comp = components(restrict(graph, labels))
    if len(labels) == 0:
        return np.empty(0, dtype=np.int64)
    pairs = np.unique(np.column_stack([labels, comp]), axis=0)
    return np.bincount(pairs[:, 0], minlength=int(labels.max()) + 1).astype(np.int64)
