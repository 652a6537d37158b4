"""Planner edits of a grid version: move buildings, split a grid, merge grids, rebalance.

Each edit starts from a version (default the active one), changes the assignment of one
community, checks the rules of :mod:`grid_partition._snapshot` on the grids it touched
(household caps, contiguity, nesting: a grid within one community, micro-grids whole inside
grids), regenerates the community's polygons so they still tile it, and stores a new version
(kind ``edit``). Every edit is logged in ``grid_edits``: ``applied`` with the version it made,
or ``refused`` with the violated rule, in which case :class:`~common.errors.Conflict` is raised
with ``rule=`` and ``grid=`` in its context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from address_registry import queries as register
from common.errors import Conflict, YizhiError
from grid_partition._io import record_edit, write_version
from grid_partition._register import Community, load_communities
from grid_partition._snapshot import (
    Problem,
    check_rules,
    fragments,
    materialise,
    prepare,
    refuse,
    solve_community,
)
from grid_partition.caps import Caps
from grid_partition.queries import assignments_frame, resolve_version, version_caps

Change = Callable[[Community, pd.DataFrame], pd.DataFrame]


def _conflict(rule: str, grid: str | None, message: str, community: str | None = None) -> Conflict:
    return refuse([Problem(rule, grid, message, community)])


def _touched(old: pd.DataFrame, new: pd.DataFrame) -> set[str]:
    key = ["building_id", "unit"]
    both = old.merge(new, on=key, how="outer", suffixes=("_o", "_n"))
    changed = both[(both["micro_o"] != both["micro_n"]) | (both["grid_o"] != both["grid_n"])]
    return {str(g) for g in pd.concat([changed["grid_o"], changed["grid_n"]]).dropna()}


def _edit(
    con: duckdb.DuckDBPyConnection,
    *,
    op: str,
    community: str,
    change: Change,
    detail: dict[str, Any],
    version: int | None,
    actor: str | None,
    note: str | None,
    caps: Caps | None = None,
    check_all: bool = False,
) -> int:
    base = resolve_version(con, version)
    caps = caps or version_caps(con, base)
    detail = {**detail, "community": community}
    try:
        ctxs = load_communities(con, [community])
        if not ctxs:
            raise _conflict("community", None, f"community {community} has no buildings")
        ctx = ctxs[0]
        old = ctx.rows(assignments_frame(con, base, [community]))
        if not len(old):
            raise _conflict(
                "community", None, f"grid version {base} holds no grids of community {community}"
            )
        new = change(ctx, old.copy())
        prepared, problems = prepare(ctx, new)
        only = None if check_all else _touched(old, new)
        problems += check_rules(ctx, prepared, caps, only=only)
        if problems:
            raise refuse(problems)
    except YizhiError as exc:
        record_edit(
            con, base=base, result=None, op=op, detail=detail, error=exc.message, actor=actor
        )
        raise
    snap = materialise(ctx, prepared, caps)
    vid = write_version(
        con,
        [snap],
        kind="edit",
        parent=base,
        caps=caps,
        params={"op": op, **detail},
        note=note,
        actor=actor,
    )
    record_edit(con, base=base, result=vid, op=op, detail=detail, actor=actor)
    return vid


def _next_serial(codes: Any, width: int, limit: int, what: str, where: str) -> int:
    used = {int(str(c)[-width:]) for c in codes}
    for s in range(1, limit + 1):
        if s not in used:
            return s
    raise _conflict(
        "code",
        where if len(where) == 15 else None,
        f"{what} {where} has no free serial left (at most {limit})",
    )


def move(
    con: duckdb.DuckDBPyConnection,
    building_ids: list[str],
    *,
    to_micro_grid: str | None = None,
    to_grid: str | None = None,
    version: int | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> int:
    """Move whole buildings (all their units) to a micro-grid, or to a new micro-grid of a grid.

    Raises
    ------
    Conflict
        With ``rule`` ``unknown_code``, ``unknown_building``, ``community`` (the target lies in
        another community), ``micro_cap``, ``grid_cap`` or ``contiguity``.
    """
    if (to_micro_grid is None) == (to_grid is None):
        raise _conflict("target", None, "give exactly one of to_micro_grid and to_grid")
    target = str(to_micro_grid or to_grid)
    community = target[:12]
    ids = [str(b) for b in building_ids]
    detail = {"buildings": ids, "to_micro_grid": to_micro_grid, "to_grid": to_grid}

    def change(ctx: Community, rows: pd.DataFrame) -> pd.DataFrame:
        grid = target[:15]
        if grid not in set(rows["grid"]) or (to_micro_grid and target not in set(rows["micro"])):
            raise _conflict(
                "unknown_code",
                grid,
                f"no {'micro-grid' if to_micro_grid else 'grid'} {target} in community {community}",
                community,
            )
        here = set(rows["building_id"])
        missing = [b for b in ids if b not in here]
        if missing:
            where = register.building_communities(con, missing)
            if where:
                b, c = next(iter(where.items()))
                raise _conflict(
                    "community",
                    grid,
                    f"building {b} lies in community {c}; grid {grid} is in community "
                    f"{community}: a grid lies within one community",
                    community,
                )
            raise _conflict("unknown_building", grid, f"unknown buildings {missing}", community)
        micro = target
        if to_grid:
            in_grid = rows.loc[rows["grid"] == grid, "micro"].unique()
            micro = f"{grid}{_next_serial(in_grid, 2, 99, 'grid', grid):02d}"
        sel = rows["building_id"].isin(ids)
        rows.loc[sel, "micro"] = micro
        rows.loc[sel, "grid"] = grid
        return rows

    return _edit(
        con,
        op="move",
        community=community,
        change=change,
        detail=detail,
        version=version,
        actor=actor,
        note=note,
    )


def split(
    con: duckdb.DuckDBPyConnection,
    grid_code: str,
    *,
    micro_grids: list[str] | None = None,
    version: int | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> int:
    """Split a grid in two along micro-grid lines; the second part gets a new grid code.

    ``micro_grids``: the micro-grids that form the new grid; by default the cut along the
    grid's long axis that balances households best while keeping both parts contiguous.
    Micro-grids moving to the new grid are renumbered 01, 02, ... in it.

    Raises
    ------
    Conflict
        ``unknown_code``, ``indivisible`` (one micro-grid), ``contiguity``, ``nesting``.
    """
    grid = str(grid_code)
    community = grid[:12]

    def change(ctx: Community, rows: pd.DataFrame) -> pd.DataFrame:
        mine = rows[rows["grid"] == grid]
        if not len(mine):
            raise _conflict(
                "unknown_code", grid, f"no grid {grid} in community {community}", community
            )
        micros = sorted(set(mine["micro"]))
        if len(micros) < 2:
            raise _conflict(
                "indivisible",
                grid,
                f"grid {grid} has a single micro-grid "
                f"({micros[0]}): split it by moving buildings instead",
                community,
            )
        if micro_grids is not None:
            part = sorted({str(m) for m in micro_grids})
            bad = [m for m in part if m not in micros]
            if bad or not part or len(part) == len(micros):
                raise _conflict(
                    "nesting",
                    grid,
                    f"the new grid must take some but not all "
                    f"micro-grids of {grid} {micros}; got {part}",
                    community,
                )
        else:
            part = _auto_cut(ctx, rows, grid, micros)
        new = f"{community}{_next_serial(set(rows['grid']), 3, 999, 'community', community):03d}"
        ren = {m: f"{new}{i + 1:02d}" for i, m in enumerate(part)}
        sel = rows["micro"].isin(part)
        rows.loc[sel, "micro"] = rows.loc[sel, "micro"].map(ren)
        rows.loc[sel, "grid"] = new
        return rows

    return _edit(
        con,
        op="split",
        community=community,
        change=change,
        detail={"grid": grid, "micro_grids": micro_grids},
        version=version,
        actor=actor,
        note=note,
    )


def _auto_cut(ctx: Community, rows: pd.DataFrame, grid: str, micros: list[str]) -> list[str]:
    """Micro-grids of the second part: the most balanced contiguous cut along the long axis."""
    b = ctx.norm
    pr, _ = prepare(ctx, rows)
    mine = pr[pr["grid"] == grid]
    w = mine["households"].to_numpy(dtype=np.float64) + 1e-6
    xs, ys = b.x[mine["bidx"].to_numpy()], b.y[mine["bidx"].to_numpy()]
    c = pd.DataFrame({"m": mine["micro"], "w": w, "wx": w * xs, "wy": w * ys}).groupby("m").sum()
    pts = np.column_stack([c["wx"] / c["w"], c["wy"] / c["w"]])
    spread = pts - pts.mean(axis=0)
    axis = np.linalg.svd(spread, full_matrices=False)[2][0] if len(pts) > 1 else np.array([1.0, 0])
    order = list(c.index[np.argsort(spread @ axis, kind="stable")])
    hh = c["w"].reindex(order).to_numpy()
    total = hh.sum()
    cuts = sorted(range(1, len(order)), key=lambda k: abs(hh[:k].sum() - total / 2))
    for k in cuts:
        part = order[k:]
        trial = pr.copy()
        trial.loc[trial["micro"].isin(part), "grid"] = "~new"
        codes, f = fragments(ctx, trial)["grid"]
        pieces = dict(zip(codes, f, strict=True))
        if pieces.get(grid, 1) == 1 and pieces.get("~new", 1) == 1:
            return sorted(str(m) for m in part)
    raise _conflict(
        "contiguity",
        grid,
        f"grid {grid} cannot be cut into two contiguous parts along micro-grid lines",
        ctx.code,
    )


def merge(
    con: duckdb.DuckDBPyConnection,
    grid_codes: list[str],
    *,
    version: int | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> int:
    """Merge grids of one community into the one with the lowest code.

    Raises
    ------
    Conflict
        ``community`` (grids of different communities), ``unknown_code``, ``grid_cap``,
        ``contiguity``, ``code`` (more than 99 micro-grids).
    """
    codes = sorted({str(g) for g in grid_codes})
    if len(codes) < 2:
        raise _conflict("merge", codes[0] if codes else None, "give at least two grids to merge")
    comms = sorted({g[:12] for g in codes})
    community = comms[0]
    keep = codes[0]

    def change(ctx: Community, rows: pd.DataFrame) -> pd.DataFrame:
        if len(comms) > 1:
            raise _conflict(
                "community",
                codes[-1],
                f"grids {codes} lie in communities {comms}: a grid lies within one community",
                community,
            )
        missing = [g for g in codes if g not in set(rows["grid"])]
        if missing:
            raise _conflict(
                "unknown_code",
                missing[0],
                f"no grids {missing} in community {community}",
                community,
            )
        kept = sorted(set(rows.loc[rows["grid"] == keep, "micro"]))
        others = sorted(set(rows.loc[rows["grid"].isin(codes[1:]), "micro"]))
        start = max(int(m[-2:]) for m in kept)
        if start + len(others) > 99:
            raise _conflict(
                "code",
                keep,
                f"merged grid {keep} would hold {len(kept) + len(others)} micro-grids (at most 99)",
                community,
            )
        ren = {m: f"{keep}{start + i + 1:02d}" for i, m in enumerate(others)}
        sel = rows["micro"].isin(others)
        rows.loc[sel, "micro"] = rows.loc[sel, "micro"].map(ren)
        rows.loc[sel, "grid"] = keep
        return rows

    return _edit(
        con,
        op="merge",
        community=community,
        change=change,
        detail={"grids": codes},
        version=version,
        actor=actor,
        note=note,
    )


def rebalance(
    con: duckdb.DuckDBPyConnection,
    community_code: str,
    *,
    caps: Caps | None = None,
    version: int | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> int:
    """Partition one community afresh (balanced households), then give each new grid and
    micro-grid the old code it shares most households with, so codes survive where they can.

    Raises
    ------
    Conflict
        When the result breaks a rule (then nothing is stored but the refusal).
    """
    community = str(community_code)

    def change(ctx: Community, rows: pd.DataFrame) -> pd.DataFrame:
        base_caps = caps or version_caps(con, resolve_version(con, version))
        snap = solve_community(ctx, base_caps)
        new = ctx.rows(snap.assignments)
        return relabel(rows, new, community)

    return _edit(
        con,
        op="rebalance",
        community=community,
        change=change,
        detail={"caps": caps.as_dict() if caps else None},
        version=version,
        actor=actor,
        note=note,
        caps=caps,
        check_all=True,
    )


def _greedy(old: pd.Series, new: pd.Series, w: pd.Series) -> dict[str, str]:
    """Map new labels to old ones by shared weight, largest first (each old label once)."""
    shared = pd.DataFrame({"o": old, "n": new, "w": w}).groupby(["n", "o"])["w"].sum()
    out: dict[str, str] = {}
    used: set[str] = set()
    for pair, _ in shared.sort_values(ascending=False, kind="stable").items():
        n, o = (str(v) for v in pair)  # type: ignore[attr-defined]
        if n not in out and o not in used:
            out[n] = o
            used.add(o)
    return out


def relabel(old: pd.DataFrame, new: pd.DataFrame, community: str) -> pd.DataFrame:
    """Codes of ``new`` (partitioner rows) renamed after the ``old`` codes they overlap most."""
    key = ["building_id", "unit"]
    both = new.merge(old[[*key, "micro", "grid"]], on=key, how="left", suffixes=("", "_old"))
    w = pd.Series(1.0, index=both.index)
    gmap = _greedy(both["grid_old"].fillna(""), both["grid"], w)
    gmap = {n: o for n, o in gmap.items() if o}
    free = iter(s for s in range(1, 1000) if f"{community}{s:03d}" not in set(gmap.values()))
    for g in sorted(set(both["grid"])):
        if g not in gmap:
            gmap[g] = f"{community}{next(free):03d}"
    both["grid_new"] = both["grid"].map(gmap)
    out_micro: dict[str, str] = {}
    for gkey, part in both.groupby("grid_new"):
        g = str(gkey)
        same = part["grid_old"] == g
        mm = _greedy(
            part["micro_old"].where(same, ""), part["micro"], pd.Series(1.0, index=part.index)
        )
        mm = {n: o for n, o in mm.items() if o}
        left = iter(s for s in range(1, 100) if f"{g}{s:02d}" not in set(mm.values()))
        for m in sorted(set(part["micro"])):
            out_micro[m] = mm.get(m) or f"{g}{next(left):02d}"
    return pd.DataFrame(
        {
            "building_id": both["building_id"],
            "unit": both["unit"],
            "micro": both["micro"].map(out_micro),
            "grid": both["grid_new"],
        }
    )
