"""Capped, contiguous, compact grouping of weighted items (private).

The engine behind both levels (micro-grids from buildings/units/estates, grids from
micro-grids). Items carry a point, a weight (households), a cap and a group key; items of
one group key that touch are one *subproblem* (a barrier-free component of an estate that is
partitioned on its own, or of the pool of everything else). Each subproblem is cut by
recursive bisection: split the items along the longer axis of their extent at the weight
share ``k1 / k`` of ``k = ceil(W / cap)`` regions, so that both sides fit whole multiples of
the cap; a side that cannot be split asks for one more region. Regions that come out in
several pieces (concave blocks) are repaired: the biggest piece keeps the label, the others
join a touching region with room, or become regions of their own. Finally touching regions
whose households fit one cap are merged. Every step is ``O(n log n)`` per level of the
bisection, so the whole is ``O(n log^2 n)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from grid_partition._graph import components, restrict

Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grouping:
    """Result of :func:`partition_items`."""

    labels: Int
    """Region of every item, ``0..k-1``."""
    region_sub: Int
    """Subproblem of every region."""
    region_cap: Int
    """Cap of every region (the smallest cap of its items)."""
    region_weight: Int
    """Households of every region."""


EXACT_MAX = 14
"""Largest node (items) split by trying every subset when no prefix split fits."""

EXACT_FIRST = 12
"""Largest node (items) split by trying every subset."""

_ANGLES = np.deg2rad([0.0, 90.0, 22.5, -22.5, 45.0, -45.0, 67.5, -67.5])


class _Connectivity:
    """Connected pieces of a subset of items, in time linear in the subset and its edges."""

    def __init__(self, graph: sp.csr_array) -> None:
        self.indptr = np.asarray(graph.indptr, dtype=np.int64)
        self.indices = np.asarray(graph.indices, dtype=np.int64)
        self.pos = np.full(graph.shape[0], -1, dtype=np.int64)

    def pieces(self, idx: Int) -> Int:
        """Piece number of every item of ``idx``."""
        m = len(idx)
        if m <= 1:
            return np.zeros(m, dtype=np.int64)
        self.pos[idx] = np.arange(m)
        starts = self.indptr[idx]
        lens = self.indptr[idx + 1] - starts
        tot = int(lens.sum())
        offs = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(tot)
        nb = self.pos[self.indices[offs]]
        src = np.repeat(np.arange(m), lens)
        keep = nb >= 0
        self.pos[idx] = -1
        if m <= 256:
            # label propagation: cheaper than building a sparse matrix for small nodes
            a, b = src[keep], nb[keep]
            lab = np.arange(m, dtype=np.int64)
            for _ in range(m):
                new = lab.copy()
                np.minimum.at(new, a, lab[b])
                new = new[new]
                if np.array_equal(new, lab):
                    break
                lab = new
            return np.unique(lab, return_inverse=True)[1].reshape(-1).astype(np.int64)
        g = sp.csr_array(
            (np.ones(int(keep.sum()), dtype=np.int8), (src[keep], nb[keep])), shape=(m, m)
        )
        return components(g)

    def connected(self, idx: Int) -> bool:
        """Whether ``idx`` is one piece."""
        return len(idx) <= 1 or int(self.pieces(idx).max()) == 0


def _candidates(
    x: Float, y: Float, w: Int, idx: Int, k: int, cap: int, per_direction: int = 4
) -> Iterator[tuple[Int, Int, int, int]]:
    """Prefix splits that fit, best first: along the longer axis, then nearby directions;
    in each direction the positions nearest the weight share ``k1 / k``."""
    xs, ys = x[idx], y[idx]
    wx = float(xs.max() - xs.min())
    wy = float(ys.max() - ys.min())
    base = 0.0 if wx >= wy else np.pi / 2
    ws = w[idx]
    total = int(ws.sum())
    splits = sorted({(k // 2, k - k // 2), (k - k // 2, k // 2)})
    for ang in _ANGLES:
        t = base + ang
        major = xs * np.cos(t) + ys * np.sin(t)
        minor = -xs * np.sin(t) + ys * np.cos(t)
        order = np.lexsort((minor, major))
        cw = np.cumsum(ws[order])[:-1]
        cands: list[tuple[float, int, int, int]] = []
        for k1, k2 in splits:
            ok = (cw <= k1 * cap) & (total - cw <= k2 * cap)
            if not ok.any():
                continue
            dev = np.abs(cw - total * k1 / k)
            dev[~ok] = np.inf
            top = np.argsort(dev, kind="stable")[:per_direction]
            cands.extend((float(dev[i]), int(i), k1, k2) for i in top if np.isfinite(dev[i]))
        for _, i, k1, k2 in sorted(cands)[:per_direction]:
            yield idx[order[: i + 1]], idx[order[i + 1 :]], k1, k2


def _dp_split(
    x: Float, y: Float, w: Int, idx: Int, k: int, cap: int
) -> tuple[Int, Int, int, int] | None:
    """Non-prefix split of a small node by subset-sum: the left side is the subset whose
    weight fits and whose items lie furthest to the left of the weighted cut (0/1 knapsack
    on households, cost = signed distance to the cut)."""
    xs, ys = x[idx], y[idx]
    along = xs if float(np.ptp(xs)) >= float(np.ptp(ys)) else ys
    ws = w[idx]
    total = int(ws.sum())
    best: tuple[float, npt.NDArray[np.bool_], int, int] | None = None
    for k1 in sorted({k // 2, k - k // 2}):
        k2 = k - k1
        lo, hi = max(0, total - k2 * cap), min(total, k1 * cap)
        if lo > hi:
            continue
        order = np.argsort(along, kind="stable")
        cw = np.cumsum(ws[order])
        cut = along[order][min(int(np.searchsorted(cw, total * k1 / k)), len(order) - 1)]
        c = along - cut
        cost = np.full(hi + 1, np.inf)
        cost[0] = 0.0
        take = np.zeros((len(idx), hi + 1), dtype=bool)
        for i in range(len(idx)):
            wi = int(ws[i])
            if wi > hi:
                continue
            cand = np.full(hi + 1, np.inf)
            cand[wi:] = cost[: hi + 1 - wi] + c[i]
            better = cand < cost
            take[i] = better
            cost = np.where(better, cand, cost)
        window = cost[lo : hi + 1]
        if not np.isfinite(window).any():
            continue
        s_best = lo + int(np.argmin(window))
        chosen = np.zeros(len(idx), dtype=bool)
        s_cur = s_best
        for i in range(len(idx) - 1, -1, -1):
            if take[i, s_cur]:
                chosen[i] = True
                s_cur -= int(ws[i])
        if not chosen.any() or chosen.all():
            continue
        val = float(window.min())
        if best is None or val < best[0]:
            best = (val, chosen, k1, k2)
    if best is None:
        return None
    _, chosen, k1, k2 = best
    return idx[chosen], idx[~chosen], k1, k2


def _exact_split(
    x: Float, y: Float, w: Int, idx: Int, k: int, cap: int, conn: _Connectivity
) -> tuple[Int, Int, int, int] | None:
    """Best split of a small node by trying every subset.

    Keeps subsets whose weight fits ``k1`` regions and whose rest fits ``k2``, where both
    sides are connected; returns the one with the least spread (moment of inertia of the
    two sides), or None.
    """
    n = len(idx)
    if n > EXACT_MAX or n < 2:
        return None
    m = np.arange(1, (1 << n) - 1, dtype=np.int64)
    bits = ((m[:, None] >> np.arange(n)) & 1).astype(bool)
    ws = w[idx]
    total = int(ws.sum())
    wsum = bits @ ws
    ok = np.zeros(len(m), dtype=bool)
    for k1 in {k // 2, k - k // 2}:
        ok |= (wsum <= k1 * cap) & (total - wsum <= (k - k1) * cap)
    if not ok.any():
        return None
    m, bits, wsum = m[ok], bits[ok], wsum[ok]
    full = (1 << n) - 1
    adj = np.zeros(n, dtype=np.int64)
    pos = {int(v): i for i, v in enumerate(idx)}
    for i, v in enumerate(idx):
        for u in conn.indices[conn.indptr[v] : conn.indptr[v + 1]]:
            j = pos.get(int(u))
            if j is not None:
                adj[i] |= 1 << j

    # neighbours of every subset: nbr[s] = OR of adj[i] over the members i of s
    nbr = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        nbr[1 << i : 2 << i] = nbr[: 1 << i] | adj[i]

    def connected(masks: Int) -> npt.NDArray[np.bool_]:
        reach = masks & -masks
        for _ in range(n):
            new = (reach | nbr[reach]) & masks
            if np.array_equal(new, reach):
                break
            reach = new
        return np.asarray(reach == masks)

    good = connected(m) & connected(full ^ m)
    if not good.any():
        return None
    m, bits, wsum = m[good], bits[good], wsum[good]
    xs, ys = x[idx] - x[idx].mean(), y[idx] - y[idx].mean()
    cnt = bits.sum(axis=1).astype(np.float64)
    sx, sy = bits @ xs, bits @ ys
    sq = bits @ (xs * xs + ys * ys)
    tx, ty, tq = float(xs.sum()), float(ys.sum()), float((xs * xs + ys * ys).sum())
    inertia = (sq - (sx * sx + sy * sy) / cnt) + (
        (tq - sq) - ((tx - sx) ** 2 + (ty - sy) ** 2) / (n - cnt)
    )
    best = int(np.argmin(inertia))
    left = bits[best]
    wl = int(wsum[best])
    k1 = max(1, -(-wl // cap))
    if -(-(total - wl) // cap) > k - k1:
        k1 = k - max(1, -(-(total - wl) // cap))
    return idx[left], idx[~left], k1, k - k1


def _expand(x: Float, y: Float, w: Int, idx: Int, k: int, children: dict[int, Int]) -> Int | None:
    """Replace the splittable item nearest the weighted cut by its units (None: nothing to split)."""
    can = np.array([int(i) in children for i in idx], dtype=bool)
    if not can.any():
        return None
    xs, ys = x[idx], y[idx]
    along = xs if float(np.ptp(xs)) >= float(np.ptp(ys)) else ys
    order = np.argsort(along, kind="stable")
    cw = np.cumsum(w[idx][order])
    cut = along[order][min(int(np.searchsorted(cw, cw[-1] * (k // 2) / k)), len(order) - 1)]
    dist = np.abs(along - cut)
    dist[~can] = np.inf
    pick = int(idx[int(np.argmin(dist))])
    return np.concatenate([idx[idx != pick], children[pick]])


def bisect(
    x: Float,
    y: Float,
    w: Int,
    idx: Int,
    cap: int,
    children: dict[int, Int] | None = None,
    conn: _Connectivity | None = None,
    fill: float = 1.0,
) -> list[Int]:
    """Cut items ``idx`` (each ``<= cap``) into regions of at most ``cap`` households.

    A split is taken only when both sides are connected in the item graph (``conn``), if
    any such split fits; a node that falls apart is cut into its pieces first. ``children``
    maps a splittable item (a building of several units) to its unit items: a building is
    split by unit only where no split of whole items fits, before a region is added.

    Returns
    -------
    list of numpy.ndarray
        The items of every region.
    """
    children = children or {}
    out: list[Int] = []
    total = int(w[idx].sum())
    k0 = max(1, math.ceil(total / (cap * fill) - 1e-9))
    # node, regions asked for, known to be connected
    stack: list[tuple[Int, int, bool]] = [(idx, k0, False)]
    while stack:
        node, k, known = stack.pop()
        weight = int(w[node].sum())
        if conn is not None and not known and len(node) > 1:
            pieces = conn.pieces(node)
            if pieces.max() > 0:
                for p_ in range(int(pieces.max()) + 1):
                    part = node[pieces == p_]
                    stack.append((part, max(1, -(-int(w[part].sum()) // cap)), True))
                continue
        if len(node) == 1 or weight <= cap:
            out.append(node)
            continue
        lower = max(2, -(-weight // cap))
        k = max(k, lower)
        relaxed = conn is None or k > lower + 1
        found: tuple[Int, Int, int, int] | None = None
        fallback = None
        if conn is not None and len(node) <= EXACT_FIRST:
            found = _exact_split(x, y, w, node, k, cap, conn)
        for cand in [] if found is not None else _candidates(x, y, w, node, k, cap):
            if fallback is None:
                fallback = cand
            if conn is None or (conn.connected(cand[0]) and conn.connected(cand[1])):
                found = cand
                break
        if found is None and conn is not None and len(node) <= EXACT_MAX:
            found = _exact_split(x, y, w, node, k, cap, conn)
        if found is None and len(node) <= 48 and k <= 6:
            dp = _dp_split(x, y, w, node, k, cap)
            if dp is not None and (
                conn is None or (conn.connected(dp[0]) and conn.connected(dp[1]))
            ):
                found = dp
        if found is None:
            more = _expand(x, y, w, node, k, children)
            if more is not None:
                stack.append((more, k, True))
                continue
        if found is None and relaxed and fallback is not None:
            found = fallback
            left, right, k1, k2 = found
            stack.append((right, k2, False))
            stack.append((left, k1, False))
            continue
        if found is None:
            stack.append((node, k + 1, True))
            continue
        left, right, k1, k2 = found
        stack.append((right, k2, True))
        stack.append((left, k1, True))
    return out


def partition_items(
    x: Float,
    y: Float,
    w: Int,
    cap: Int,
    group: Int,
    graph: sp.csr_array,
    *,
    parent: Int | None = None,
    merge: bool = True,
    fill: float = 1.0,
    polish: int = 4,
) -> Grouping:
    """Group items into contiguous regions under their caps.

    Parameters
    ----------
    x, y
        Item points.
    w
        Item weights (households).
    cap
        Item caps; a region's cap is the smallest cap of its items. An item heavier than the
        cap of its subproblem becomes a region of its own.
    group
        -1 for the common pool, otherwise a key: items of one key are grouped only among
        themselves (an estate partitioned on its own).
    graph
        Item adjacency (symmetric).
    parent
        For *latent* items (the units of a building that may be split), the item they split;
        -1 for ordinary items. Latent items come after all ordinary ones. A latent item is
        used (and labelled) only when its parent is split; the parent is then labelled -1.
    merge
        Merge touching regions whose weights fit one cap.
    fill
        Planned fill of a region when a subproblem's bisection starts: below 1 it asks for
        ``ceil(W / (fill * cap))`` regions, which leaves slack for compact, connected cuts.
    polish
        Passes of boundary moves: an item moves to a touching region of its subproblem when
        caps hold, both regions stay connected and the spread (moment of inertia) drops.

    Returns
    -------
    Grouping
        Labels (-1 for unused items) and per-region facts.
    """
    n = len(x)
    if n == 0:
        e = np.empty(0, dtype=np.int64)
        return Grouping(e, e, e, e)
    if parent is None:
        parent = np.full(n, -1, dtype=np.int64)
    nb = int((parent < 0).sum())
    children: dict[int, Int] = {}
    lat = np.flatnonzero(parent >= 0)
    if len(lat):
        po = lat[np.argsort(parent[lat], kind="stable")]
        pk, starts = np.unique(parent[po], return_index=True)
        for p_, chunk in zip(pk.tolist(), np.split(po, starts[1:]), strict=True):
            children[p_] = chunk
    base_graph = sp.csr_array(graph[:nb][:, :nb]) if nb < n else graph
    sub = np.empty(n, dtype=np.int64)
    sub[:nb] = components(restrict(base_graph, group[:nb]))
    if len(lat):
        sub[lat] = sub[parent[lat]]
    nsub = int(sub[:nb].max()) + 1
    sub_w = np.bincount(sub[:nb], weights=w[:nb], minlength=nsub).astype(np.int64)
    sub_cap = np.full(nsub, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(sub_cap, sub[:nb], cap[:nb])
    heavy = w[:nb] > sub_cap[sub[:nb]]
    sub_heavy = np.bincount(sub[:nb], weights=heavy, minlength=nsub) > 0
    labels = np.full(n, -1, dtype=np.int64)
    simple = (sub_w <= sub_cap) & ~sub_heavy
    base_simple = simple[sub[:nb]]
    labels[:nb][base_simple] = sub[:nb][base_simple]
    nxt = nsub
    order = np.argsort(sub[:nb], kind="stable")
    bounds = np.searchsorted(sub[:nb][order], np.arange(nsub + 1))
    conn = _Connectivity(graph)
    for s in np.flatnonzero(~simple):
        idx = order[bounds[s] : bounds[s + 1]]
        c = int(sub_cap[s])
        for i in idx[w[idx] > c]:
            labels[i] = nxt
            nxt += 1
        rest = idx[w[idx] <= c]
        if len(rest):
            for region in bisect(x, y, w, rest, c, children, conn, fill):
                labels[region] = nxt
                nxt += 1
    active = labels >= 0
    act = np.flatnonzero(active)
    g = sp.csr_array(graph[act][:, act]) if len(act) < n else graph
    lab = _dense(labels[act])
    lab = _repair(lab, sub[act], w[act], cap[act], g)
    if merge:
        lab = _merge(lab, sub[act], w[act], cap[act], g)
    lab = _dense(lab)
    if polish:
        lab = _polish(x[act], y[act], lab, sub[act], w[act], cap[act], g, polish)
    labels[act] = lab
    k = int(lab.max()) + 1
    region_sub = np.zeros(k, dtype=np.int64)
    region_sub[lab] = sub[act]
    region_cap = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(region_cap, lab, cap[act])
    region_w = np.bincount(lab, weights=w[act], minlength=k).astype(np.int64)
    return Grouping(labels, region_sub, region_cap, region_w)


def _dense(labels: Int) -> Int:
    _, inv = np.unique(labels, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def _repair(labels: Int, sub: Int, w: Int, cap: Int, graph: sp.csr_array) -> Int:
    """Give every piece but the heaviest of a split region to a touching region or a new one."""
    comp = components(restrict(graph, labels))
    ncomp = int(comp.max()) + 1
    comp_label = np.zeros(ncomp, dtype=np.int64)
    comp_label[comp] = labels
    comp_w = np.bincount(comp, weights=w, minlength=ncomp)
    # heaviest piece of each label (ties: lowest comp number)
    order = np.lexsort((np.arange(ncomp), -comp_w, comp_label))
    first = np.ones(ncomp, dtype=bool)
    first[1:] = comp_label[order][1:] != comp_label[order][:-1]
    keep = np.zeros(ncomp, dtype=bool)
    keep[order[first]] = True
    frags = np.flatnonzero(~keep)
    if len(frags) == 0:
        return labels
    labels = labels.copy()
    k = int(labels.max()) + 1
    reg_w = np.bincount(labels, weights=w, minlength=k).astype(np.int64)
    reg_cap = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(reg_cap, labels, cap)
    corder = np.argsort(comp, kind="stable")
    cb = np.searchsorted(comp[corder], np.arange(ncomp + 1))
    indptr, indices = graph.indptr, graph.indices
    # smallest fragments first: they are the easiest to place
    for f in frags[np.argsort(comp_w[frags], kind="stable")]:
        items = corder[cb[f] : cb[f + 1]]
        fw = int(w[items].sum())
        fcap = int(cap[items].min())
        nb = np.concatenate([indices[indptr[i] : indptr[i + 1]] for i in items])
        nb = nb[(sub[nb] == sub[items[0]]) & (labels[nb] != labels[items[0]])]
        old = int(labels[items[0]])
        target = -1
        if len(nb):
            cand, cnt = np.unique(labels[nb], return_counts=True)
            fit = reg_w[cand] + fw <= np.minimum(reg_cap[cand], fcap)
            if fit.any():
                target = int(cand[fit][np.argmax(cnt[fit])])
        if target < 0:
            target = k
            k += 1
            reg_w = np.append(reg_w, 0)
            reg_cap = np.append(reg_cap, fcap)
        labels[items] = target
        reg_w[old] -= fw
        reg_w[target] += fw
        reg_cap[target] = min(int(reg_cap[target]), fcap)
    return labels


def _polish(
    x: Float,
    y: Float,
    labels: Int,
    sub: Int,
    w: Int,
    cap: Int,
    graph: sp.csr_array,
    passes: int = 2,
) -> Int:
    """Move boundary items to a touching region when that makes both regions more compact."""
    labels = labels.copy()
    k = int(labels.max()) + 1
    reg_w = np.bincount(labels, weights=w, minlength=k).astype(np.int64)
    reg_n = np.bincount(labels, minlength=k).astype(np.int64)
    sx = np.bincount(labels, weights=x, minlength=k)
    sy = np.bincount(labels, weights=y, minlength=k)
    reg_cap = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(reg_cap, labels, cap)
    members: list[set[int]] = [set() for _ in range(k)]
    for i, r in enumerate(labels.tolist()):
        members[r].add(i)
    conn = _Connectivity(graph)
    indptr, indices = graph.indptr, graph.indices
    for _ in range(passes):
        coo = graph.tocoo()
        border = np.unique(coo.row[labels[coo.row] != labels[coo.col]])
        moved = 0
        for i in border.tolist():
            a = int(labels[i])
            if reg_n[a] <= 1:
                continue
            nb = indices[indptr[i] : indptr[i + 1]]
            nb = nb[(labels[nb] != a) & (sub[nb] == sub[i])]
            if len(nb) == 0:
                continue
            ca = np.array([sx[a], sy[a]]) / reg_n[a]
            p = np.array([x[i], y[i]])
            gain_a = reg_n[a] / (reg_n[a] - 1) * float(((p - ca) ** 2).sum())
            best, best_d = -1, 0.0
            for bq in np.unique(labels[nb]).tolist():
                if reg_w[bq] + w[i] > min(int(reg_cap[bq]), int(cap[i])):
                    continue
                cb = np.array([sx[bq], sy[bq]]) / reg_n[bq]
                d = reg_n[bq] / (reg_n[bq] + 1) * float(((p - cb) ** 2).sum()) - gain_a
                if d < best_d - 1e-9:
                    best, best_d = bq, d
            if best < 0:
                continue
            rest = np.fromiter(members[a] - {i}, dtype=np.int64)
            if not conn.connected(rest):
                continue
            labels[i] = best
            members[a].discard(i)
            members[best].add(i)
            for r, sign in ((a, -1), (best, 1)):
                reg_w[r] += sign * int(w[i])
                reg_n[r] += sign
                sx[r] += sign * x[i]
                sy[r] += sign * y[i]
            reg_cap[best] = min(int(reg_cap[best]), int(cap[i]))
            moved += 1
        if moved == 0:
            break
    return labels


def _merge(labels: Int, sub: Int, w: Int, cap: Int, graph: sp.csr_array) -> Int:
    """Merge touching regions of one subproblem whose households fit one cap."""
    k = int(labels.max()) + 1
    reg_w = np.bincount(labels, weights=w, minlength=k).astype(np.int64)
    reg_cap = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(reg_cap, labels, cap)
    small = reg_w * 2 <= reg_cap
    if small.sum() < 2:
        return labels
    coo = graph.tocoo()
    a, b = labels[coo.row], labels[coo.col]
    keep = (a != b) & (sub[coo.row] == sub[coo.col]) & (small[a] | small[b])
    pairs = np.unique(np.column_stack([a[keep], b[keep]]), axis=0)
    nbrs: dict[int, set[int]] = {}
    for p, q in pairs.tolist():
        nbrs.setdefault(p, set()).add(q)
    parent = np.arange(k)

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = int(parent[r])
        return r

    for r in np.flatnonzero(small)[np.argsort(reg_w[small], kind="stable")].tolist():
        r = find(r)
        best = -1
        for q0 in nbrs.get(r, ()):
            q = find(q0)
            if q == r:
                continue
            if reg_w[r] + reg_w[q] <= min(reg_cap[r], reg_cap[q]) and (
                best < 0 or reg_w[q] < reg_w[best]
            ):
                best = q
        if best >= 0:
            parent[best] = r
            reg_w[r] += reg_w[best]
            reg_cap[r] = min(reg_cap[r], reg_cap[best])
            nbrs[r] = nbrs.get(r, set()) | nbrs.get(best, set())
    roots = np.array([find(r) for r in range(k)], dtype=np.int64)
    return roots[labels]
