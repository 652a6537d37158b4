"""Two nested levels (micro-grids, grids) for a subset of buildings (private)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from grid_partition._core import partition_items
from grid_partition._graph import components, quotient, restrict
from grid_partition._validate import Buildings
from grid_partition.caps import Caps

Int = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Level:
    """Result of :func:`solve_subset`: rows per (building, unit) and region tables."""

    rows: pd.DataFrame
    """bidx, unit (0 = whole building), households, micro, grid (local numbers)."""
    micro: pd.DataFrame
    """micro (index), grid, households, cap, flagged, x, y."""
    grid: pd.DataFrame
    """grid (index), households, cap, flagged, x, y."""


def _wmean(
    v: npt.NDArray[np.float64], w: npt.NDArray[np.float64], lab: Int, k: int
) -> npt.NDArray[np.float64]:
    ww = w + 1e-6
    return np.bincount(lab, weights=v * ww, minlength=k) / np.bincount(lab, weights=ww, minlength=k)


def rows_graph(bidx: Int, n_buildings: int, graph: sp.csr_array) -> sp.csr_array:
    """Adjacency of rows: rows of touching buildings, and rows of one building."""
    m = len(bidx)
    inc = sp.csr_array((np.ones(m, dtype=np.int8), (bidx, np.arange(m))), shape=(n_buildings, m))
    g = graph + sp.eye_array(n_buildings, dtype=np.int8, format="csr")
    out = (inc.T @ g @ inc).tocoo()
    keep = out.row != out.col
    return sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.int8), (out.row[keep], out.col[keep])), shape=(m, m)
    )


def solve_subset(
    b: Buildings,
    graph: sp.csr_array,
    bidx: Int,
    caps: Caps,
    merge: bool,
) -> Level:
    """Partition the buildings ``bidx`` (global numbers) into micro-grids and grids, splitting
    buildings and filling micro-grids as ``caps`` says (``split_buildings``, ``fill``)."""
    n = len(bidx)
    g = graph[bidx][:, bidx] if n < b.n else graph
    g = sp.csr_array(g)
    hh = b.households[bidx]
    closed = b.closed[bidx]
    est = b.estate[bidx]
    cap_b = caps.micro_cap(closed)
    # estate pieces (estate within one barrier-free component)
    piece = np.full(n, -1, dtype=np.int64)
    has = est >= 0
    if has.any():
        # a piece: buildings of one estate linked through the estate's own buildings
        ecomp = components(restrict(g, est))
        piece[has] = pd.factorize(ecomp[has])[0]
    npiece = int(piece.max()) + 1
    piece_w = np.bincount(piece[has], weights=hh[has], minlength=npiece).astype(np.int64)
    piece_cap = np.full(npiece, caps.open_cap, dtype=np.int64)
    piece_cap[piece[has]] = cap_b[has]
    atomic_piece = piece_w <= piece_cap
    in_atom = has & np.append(atomic_piece, False)[piece]
    split = ~in_atom & (hh > cap_b) & np.array([len(b.units[i]) > 1 for i in bidx], dtype=bool)
    whole = ~in_atom & ~split
    # items: atoms first, then whole buildings, then units
    item_of = np.full(n, -1, dtype=np.int64)
    atom_no = np.cumsum(atomic_piece) - 1
    item_of[in_atom] = atom_no[piece[in_atom]]
    n_atoms = int(atomic_piece.sum())
    item_of[whole] = n_atoms + np.arange(int(whole.sum()))
    n_whole_items = n_atoms + int(whole.sum())
    nunits = np.array([len(b.units[int(i)]) for i in bidx], dtype=np.int64)
    sp_local = np.flatnonzero(split)
    split_needed = caps.split_buildings == "needed"
    lat_local = np.flatnonzero(whole & (nunits > 1) & (hh > 0) & split_needed)

    def unit_table(local: Int) -> tuple[Int, Int, Int]:
        lists = [b.units[int(bidx[i])] for i in local]
        counts = nunits[local]
        bld = np.repeat(local, counts)
        no = (
            np.concatenate([np.arange(1, c + 1) for c in counts])
            if len(counts)
            else np.empty(0, dtype=np.int64)
        )
        uh = np.concatenate(lists).astype(np.int64) if lists else np.empty(0, dtype=np.int64)
        return bld, no.astype(np.int64), uh

    unit_bld, unit_no, unit_hh = unit_table(sp_local)
    lat_bld, lat_no, lat_hh = unit_table(lat_local)
    n_ord = n_whole_items + len(unit_bld)
    n_items = n_ord + len(lat_bld)
    # incidence buildings x items (ordinary, then latent units of splittable buildings)
    not_split = np.flatnonzero(~split)
    unit_items = n_whole_items + np.arange(len(unit_bld))
    lat_items = n_ord + np.arange(len(lat_bld))
    inc_rows = np.concatenate([not_split, unit_bld, lat_bld])
    inc_cols = np.concatenate([item_of[not_split], unit_items, lat_items])
    inc = sp.csr_array(
        (np.ones(len(inc_rows), dtype=np.int8), (inc_rows, inc_cols)), shape=(n, n_items)
    )
    ig = (inc.T @ (g + sp.eye_array(n, dtype=np.int8, format="csr")) @ inc).tocoo()
    keep = ig.row != ig.col
    item_graph = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.int8), (ig.row[keep], ig.col[keep])),
        shape=(n_items, n_items),
    )
    w = np.concatenate(
        [
            np.bincount(item_of[not_split], weights=hh[not_split], minlength=n_whole_items),
            unit_hh,
            lat_hh,
        ]
    ).astype(np.int64)
    wx = np.concatenate([hh[not_split], unit_hh, lat_hh]).astype(np.float64)
    bx, by = b.x[bidx], b.y[bidx]
    x = _wmean(bx[inc_rows], wx, inc_cols, n_items)
    y = _wmean(by[inc_rows], wx, inc_cols, n_items)
    # units sit side by side along their building's long axis
    for local, first in ((sp_local, n_whole_items), (lat_local, n_ord)):
        if len(local):
            upts = np.concatenate([b.unit_points(int(bidx[i])) for i in local])
            x[first : first + len(upts)] = upts[:, 0]
            y[first : first + len(upts)] = upts[:, 1]
    cap = np.full(n_items, caps.open_cap, dtype=np.int64)
    cap[inc_cols] = cap_b[inc_rows]
    group = np.full(n_items, -1, dtype=np.int64)
    grp_b = np.where(has & ~in_atom, est, -1)
    group[inc_cols] = grp_b[inc_rows]
    parent = np.full(n_items, -1, dtype=np.int64)
    parent[lat_items] = item_of[lat_bld]
    micro_g = partition_items(
        x, y, w, cap, group, item_graph, parent=parent, merge=merge, fill=float(caps.fill)
    )
    lab_all = micro_g.labels
    act = lab_all >= 0
    nm = len(micro_g.region_weight)
    mx = _wmean(x[act], w[act].astype(np.float64), lab_all[act], nm)
    my = _wmean(y[act], w[act].astype(np.float64), lab_all[act], nm)
    # grid level: estates between the micro and grid caps stay whole
    sub_group = np.full(int(micro_g.region_sub.max()) + 1, -1, dtype=np.int64)
    sub_group[micro_g.region_sub[lab_all[act]]] = group[act]
    sub_w = np.bincount(micro_g.region_sub, weights=micro_g.region_weight).astype(np.int64)
    m_group = sub_group[micro_g.region_sub]
    m_sub_w = sub_w[micro_g.region_sub]
    estate_whole = (m_group >= 0) & (m_sub_w <= caps.grid_cap)
    gkey = np.where(estate_whole, -1 - micro_g.region_sub, np.arange(nm))
    gitem = pd.factorize(gkey)[0].astype(np.int64)
    ng_items = int(gitem.max()) + 1
    ai = np.flatnonzero(act)
    mgraph = quotient(sp.csr_array(item_graph[ai][:, ai]), lab_all[act], nm)
    ggraph = quotient(mgraph, gitem, ng_items)
    gw = np.bincount(gitem, weights=micro_g.region_weight, minlength=ng_items).astype(np.int64)
    gx = _wmean(mx, micro_g.region_weight.astype(np.float64), gitem, ng_items)
    gy = _wmean(my, micro_g.region_weight.astype(np.float64), gitem, ng_items)
    ggroup = np.full(ng_items, -1, dtype=np.int64)
    big_est = (m_group >= 0) & ~estate_whole
    ggroup[gitem[big_est]] = m_group[big_est]
    gcap = np.full(ng_items, caps.grid_cap, dtype=np.int64)
    grid_g = partition_items(gx, gy, gw, gcap, ggroup, ggraph, merge=merge)
    m_grid = grid_g.labels[gitem]
    ngr = len(grid_g.region_weight)
    # rows: one per building, or per unit for a building split by unit
    row_b = np.concatenate([not_split, unit_bld, lat_bld])
    row_unit = np.concatenate([np.zeros(len(not_split), dtype=np.int64), unit_no, lat_no])
    row_hh = np.concatenate([hh[not_split], unit_hh, lat_hh]).astype(np.int64)
    row_micro = lab_all[inc_cols]
    used = row_micro >= 0
    row_b, row_unit, row_hh, row_micro = row_b[used], row_unit[used], row_hh[used], row_micro[used]
    order = np.lexsort((row_unit, row_b))
    rows = pd.DataFrame(
        {
            "bidx": bidx[row_b[order]],
            "unit": row_unit[order],
            "households": row_hh[order],
            "micro": row_micro[order],
            "grid": m_grid[row_micro[order]],
        }
    )
    micro = pd.DataFrame(
        {
            "grid": m_grid,
            "households": micro_g.region_weight,
            "cap": micro_g.region_cap,
            "flagged": micro_g.region_weight > micro_g.region_cap,
            "x": mx,
            "y": my,
        }
    )
    gxx = _wmean(mx, micro_g.region_weight.astype(np.float64), m_grid, ngr)
    gyy = _wmean(my, micro_g.region_weight.astype(np.float64), m_grid, ngr)
    grid = pd.DataFrame(
        {
            "households": grid_g.region_weight,
            "cap": np.full(ngr, caps.grid_cap, dtype=np.int64),
            "flagged": grid_g.region_weight > caps.grid_cap,
            "x": gxx,
            "y": gyy,
        }
    )
    return Level(rows=rows, micro=micro, grid=grid)
