"""Solve one community, check an assignment of it against the grid rules and turn it into the
rows of a stored version: grids, micro-grids (polygons tiling the community), unit grids
(private). A broken rule is a :class:`Problem`; :func:`refuse` turns problems into one
:class:`~common.errors.Conflict`.

The rules (each a stable name used in errors as ``rule=``):

``unknown_building``, ``unknown_unit``, ``duplicate``, ``missing_building``, ``incomplete_units``
    every active building of the community is assigned exactly once (whole, or every unit once);
``community``
    a grid code starts with the code of the community its buildings lie in (a grid within one
    community);
``nesting``
    a micro-grid code is its grid code + 2 digits and all of its rows are in that grid
    (micro-grids whole inside grids);
``code``
    codes are digits of the right length (grid 15, micro-grid 17);
``micro_cap``, ``grid_cap``
    household caps; a micro-grid that is one indivisible unit over its cap is *flagged*, not a
    violation, and so is a grid made of one such micro-grid;
``contiguity``
    the buildings of a micro-grid / grid form one connected piece of the building graph
    (neighbour links cut by major roads and water).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from common.errors import Conflict, InvalidInput
from grid_partition._graph import region_fragments
from grid_partition._register import Community
from grid_partition._solve import rows_graph
from grid_partition.boundaries import polygons_for_rows
from grid_partition.caps import Caps
from grid_partition.partition import GridPartitioner
from grid_partition.quality import cv, polsby_popper
from grid_partition.unit_grids import TARGET_AREA, unit_grids


@dataclass(frozen=True)
class Problem:
    """One violated rule."""

    rule: str
    grid: str | None
    message: str
    community: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rule": self.rule,
            "grid": self.grid,
            "community": self.community,
            "message": self.message,
        }


def refuse(problems: list[Problem], limit: int = 10) -> Conflict:
    """One :class:`~common.errors.Conflict` naming the first violated rule and grid and listing
    the problems (all of them in its ``problems`` context; the first ``limit`` in the message)."""
    first = problems[0]
    text = "; ".join(f"{p.rule}: {p.message}" for p in problems[:limit])
    more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
    return Conflict(
        f"refused: rule {first.rule} violated"
        + (f" by grid {first.grid}" if first.grid else "")
        + f": {text}{more}",
        rule=first.rule,
        grid=first.grid,
        problems=[p.as_dict() for p in problems],
    )


@dataclass
class Snapshot:
    """The rows of one community in a version."""

    community: str
    assignments: pd.DataFrame
    micro: pd.DataFrame
    grids: pd.DataFrame
    unit_grids: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def _digits(s: pd.Series, n: int) -> npt.NDArray[np.bool_]:
    return (s.str.len() == n).to_numpy(dtype=bool) & s.str.fullmatch(r"\d+").fillna(False).to_numpy(
        dtype=bool
    )


def prepare(ctx: Community, rows: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Attach building positions and register households; check coverage and codes.

    ``rows``: building_id, unit (partitioner number: 0 whole, 1..k; -1 unknown), micro, grid.
    Returns the rows that can be placed (bidx, households added) and the problems found.
    """
    b = ctx.norm
    code = ctx.code
    probs: list[Problem] = []
    r = rows[["building_id", "unit", "micro", "grid"]].copy()
    r["building_id"] = r["building_id"].astype(str)
    r["micro"] = r["micro"].astype(str)
    r["grid"] = r["grid"].astype(str)
    r["unit"] = r["unit"].astype(np.int64)
    pos = pd.Series(np.arange(b.n), index=pd.Index(b.building_id))
    r["bidx"] = r["building_id"].map(pos)

    def add(rule: str, grid: Any, msg: str) -> None:
        probs.append(Problem(rule, None if grid is None else str(grid), msg, code))

    unknown = r["bidx"].isna()
    for g, ids in r[unknown].groupby("grid")["building_id"]:
        add(
            "unknown_building",
            g,
            f"grid {g}: buildings {short_list(ids)} are not active buildings of community {code}",
        )
    r = r[~unknown].copy()
    r["bidx"] = r["bidx"].astype(np.int64)
    nunits = np.array([len(u) for u in b.units], dtype=np.int64)
    bi = r["bidx"].to_numpy()
    un = r["unit"].to_numpy()
    bad_unit = (un < 0) | (un > nunits[bi]) | ((un > 0) & (nunits[bi] <= 1))
    for g, ids in r[bad_unit].groupby("grid")["building_id"]:
        add("unknown_unit", g, f"grid {g}: unknown units of buildings {short_list(ids)}")
    r = r[~bad_unit].copy()
    dup = r.duplicated(["building_id", "unit"], keep=False)
    for g, ids in r[dup].groupby("grid")["building_id"]:
        add(
            "duplicate",
            g,
            f"grid {g}: buildings {short_list(sorted(set(ids)))} assigned more than once",
        )
    r = r.drop_duplicates(["building_id", "unit"], keep="first")
    seen = np.zeros(b.n, dtype=bool)
    seen[r["bidx"].to_numpy()] = True
    if (~seen).any():
        add(
            "missing_building",
            None,
            f"community {code}: buildings {short_list(b.building_id[~seen])} are in no micro-grid",
        )
    per = r.groupby("bidx")["unit"].agg(["min", "size"])
    whole_and_units = per[(per["min"] == 0) & (per["size"] > 1)]
    partial = per[(per["min"] > 0) & (per["size"] != nunits[per.index.to_numpy()])]
    broken = np.concatenate([whole_and_units.index.to_numpy(), partial.index.to_numpy()])
    if len(broken):
        add(
            "incomplete_units",
            None,
            f"community {code}: buildings {short_list(b.building_id[broken])} must be assigned whole or every unit once",
        )
    bi = r["bidx"].to_numpy()
    un = r["unit"].to_numpy()
    r["households"] = np.array(
        [b.households[i] if u == 0 else b.units[i][u - 1] for i, u in zip(bi, un, strict=True)],
        dtype=np.int64,
    )
    gbad = ~_digits(r["grid"], 15)
    for g in sorted(set(r.loc[gbad, "grid"])):
        add("code", g, f"grid code {g!r} must be 15 digits")
    mbad = ~_digits(r["micro"], 17)
    for g, m in r[mbad].groupby("grid")["micro"]:
        add("code", g, f"micro-grid codes {short_list(sorted(set(m)))} must be 17 digits")
    other = ~gbad & (r["grid"].str[:12] != code).to_numpy()
    for g in sorted(set(r.loc[other, "grid"])):
        add(
            "community",
            g,
            f"grid {g} holds buildings of community {code}: a grid lies within one "
            f"community, so its code must start with {code}",
        )
    nest = ~mbad & ~gbad & (r["micro"].str[:15] != r["grid"]).to_numpy()
    for g, m in r[nest].groupby("grid")["micro"]:
        add(
            "nesting",
            g,
            f"micro-grids {short_list(sorted(set(m)))} do not belong to grid {g} (code prefix)",
        )
    ng = r.groupby("micro")["grid"].nunique()
    for m in ng[ng > 1].index:
        gs = sorted(set(r.loc[r["micro"] == m, "grid"]))
        add(
            "nesting",
            gs[0],
            f"micro-grid {m} spans grids {gs}: a micro-grid lies whole inside one grid",
        )
    return r.reset_index(drop=True), probs


def check_rules(
    ctx: Community, r: pd.DataFrame, caps: Caps, only: set[str] | None = None
) -> list[Problem]:
    """Caps and contiguity of the micro-grids and grids of prepared rows.

    ``only``: check just these grid codes (and their micro-grids); None: all.
    """
    b = ctx.norm
    probs: list[Problem] = []
    if not len(r):
        return probs
    bi = r["bidx"].to_numpy(dtype=np.int64)
    cap = caps.micro_cap(b.closed[bi])
    m = (
        pd.DataFrame({"micro": r["micro"], "grid": r["grid"], "h": r["households"], "c": cap})
        .groupby("micro")
        .agg(grid=("grid", "first"), h=("h", "sum"), c=("c", "min"), n=("h", "size"))
    )
    g = r.groupby("grid").agg(h=("households", "sum"), n=("micro", "nunique"))
    sel_m = m if only is None else m[m["grid"].isin(only)]
    sel_g = g if only is None else g[g.index.isin(only)]
    for code, row in sel_m[(sel_m["h"] > sel_m["c"]) & (sel_m["n"] > 1)].iterrows():
        probs.append(
            Problem(
                "micro_cap",
                str(row["grid"]),
                f"micro-grid {code} holds {int(row['h'])} households, over its cap {int(row['c'])}",
                ctx.code,
            )
        )
    for code, row in sel_g[(sel_g["h"] > caps.grid_cap) & (sel_g["n"] > 1)].iterrows():
        probs.append(
            Problem(
                "grid_cap",
                str(code),
                f"grid {code} holds {int(row['h'])} households, over the grid cap {caps.grid_cap}",
                ctx.code,
            )
        )
    frag = fragments(ctx, r)
    for key in ("micro", "grid"):
        codes, f = frag[key]
        for c in codes[f > 1]:
            grid = str(c)[:15]
            if only is not None and grid not in only:
                continue
            kind = "micro-grid" if key == "micro" else "grid"
            probs.append(
                Problem(
                    "contiguity",
                    grid,
                    f"{kind} {c} is not contiguous: its buildings form "
                    f"{int(f[codes == c][0])} separate groups (major roads, water or "
                    f"distance split them)",
                    ctx.code,
                )
            )
    return probs


def fragments(
    ctx: Community, r: pd.DataFrame
) -> dict[str, tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]]:
    """Per level (micro, grid): the codes and the number of connected pieces of each."""
    bi = r["bidx"].to_numpy(dtype=np.int64)
    rg = rows_graph(bi, ctx.norm.n, ctx.graph)
    out = {}
    for key in ("micro", "grid"):
        codes, lab = np.unique(r[key].to_numpy(dtype=object), return_inverse=True)
        out[key] = (
            codes,
            np.asarray(region_fragments(rg, lab.reshape(-1).astype(np.int64)), dtype=np.int64),
        )
    return out


def solve_community(ctx: Community, caps: Caps, previous: pd.DataFrame | None = None) -> Snapshot:
    """Run the partitioner on one community (optionally keeping ``previous`` grids: partitioner
    rows, see :meth:`~grid_partition._register.Community.rows`) and make its tables."""
    p = GridPartitioner.from_geodataframe(
        ctx.buildings,
        community=ctx.polygon,
        barriers=ctx.barriers if len(ctx.barriers) else None,
        open_cap=caps.open_cap,
        closed_cap=caps.closed_cap,
        grid_cap=caps.grid_cap,
        community_code=ctx.code,
        split_buildings=caps.split_buildings,
        fill=caps.fill,
    )
    p.solve(previous=previous, boundaries=False)
    a = p.assignments_
    rows = pd.DataFrame(
        {
            "building_id": a["building_id"].astype(str),
            "unit": a["unit"],
            "micro": a["micro"],
            "grid": a["grid"],
        }
    )
    prepared, problems = prepare(ctx, rows)
    if problems:  # the partitioner's output always covers the community; say so if not
        raise InvalidInput(f"partition of {ctx.code} is incomplete: {problems[0].message}")
    snap = materialise(ctx, prepared, caps)
    snap.report["partitioner"] = {k: v for k, v in p.report_.items() if isinstance(v, int | float)}
    return snap


def materialise(ctx: Community, r: pd.DataFrame, caps: Caps) -> Snapshot:
    """Polygons, tables and the quality report of prepared rows (see :func:`prepare`)."""
    b = ctx.norm
    code = ctx.code
    r = r.sort_values(["micro", "bidx", "unit"], kind="stable").reset_index(drop=True)
    bi = r["bidx"].to_numpy(dtype=np.int64)
    un = r["unit"].to_numpy(dtype=np.int64)
    cap = caps.micro_cap(b.closed[bi])
    enc = np.where(b.closed[bi], "closed", "open")
    _, rmicro = np.unique(r["micro"].to_numpy(dtype=object), return_inverse=True)
    _, rgrid = np.unique(r["grid"].to_numpy(dtype=object), return_inverse=True)
    rmicro = rmicro.reshape(-1).astype(np.int64)
    rgrid = rgrid.reshape(-1).astype(np.int64)
    mp, gp = polygons_for_rows(
        b,
        bi,
        un,
        rmicro,
        rgrid,
        r["households"].to_numpy(dtype=np.int64),
        community=ctx.polygon,
        barriers=ctx.barriers if len(ctx.barriers) else None,
    )
    mp, gp = valid_polygons(mp), valid_polygons(gp)
    df = pd.DataFrame(
        {"micro": r["micro"], "grid": r["grid"], "h": r["households"], "c": cap, "e": enc, "b": bi}
    )
    m = df.groupby("micro", sort=True).agg(
        grid_code=("grid", "first"),
        households=("h", "sum"),
        cap=("c", "min"),
        buildings=("b", "nunique"),
        rows=("h", "size"),
        enclosure=("e", lambda s: s.iloc[0] if s.nunique() == 1 else "mixed"),
    )
    over = m["households"] > m["cap"]
    m["flagged"] = over & (m["rows"] == 1)
    m["flag_reason"] = [
        f"one indivisible unit of {h} households over the cap {c}" if f else None
        for h, c, f in zip(m["households"], m["cap"], m["flagged"], strict=True)
    ]
    m["area_m2"] = shapely.area(mp)
    m["compactness"] = polsby_popper(mp)
    m["wkb"] = shapely.to_wkb(valid_polygons(ctx.to_wgs84(mp)))
    m["community_code"] = code
    micro = m.rename_axis("micro_grid_code").reset_index()
    g = df.groupby("grid", sort=True).agg(
        households=("h", "sum"), buildings=("b", "nunique"), micro_grids=("micro", "nunique")
    )
    g["area_m2"] = shapely.area(gp)
    g["compactness"] = polsby_popper(gp)
    g["wkb"] = shapely.to_wkb(valid_polygons(ctx.to_wgs84(gp)))
    g["community_code"] = code
    grids = g.rename_axis("grid_code").reset_index()
    assign = pd.DataFrame(
        {
            "building_id": r["building_id"].to_numpy(dtype=object),
            "unit": [
                ctx.unit_code(str(i), int(u)) for i, u in zip(r["building_id"], un, strict=True)
            ],
            "micro_grid_code": r["micro"].to_numpy(dtype=object),
            "grid_code": r["grid"].to_numpy(dtype=object),
            "community_code": code,
            "households": r["households"].to_numpy(dtype=np.int64),
        }
    )
    cells = unit_grid_cells(ctx)
    ug = pd.DataFrame(
        {
            "unit_grid_code": cells["code"].to_numpy(dtype=object),
            "community_code": code,
            "area_m2": shapely.area(np.asarray(cells.geometry, dtype=object)),
            "wkb": shapely.to_wkb(
                valid_polygons(ctx.to_wgs84(np.asarray(cells.geometry, dtype=object)))
            ),
        }
    )
    rg = rows_graph(bi, b.n, ctx.graph)
    frag = {"micro": region_fragments(rg, rmicro), "grid": region_fragments(rg, rgrid)}
    area = float(shapely.area(ctx.polygon))
    grid_flag = (g["households"] > caps.grid_cap) & (g["micro_grids"] == 1)
    report: dict[str, Any] = {
        "buildings": int(b.n),
        "households": int(r["households"].sum()),
        "micro_grids": len(micro),
        "grids": len(grids),
        "micro_over_cap": int((over & ~m["flagged"]).sum()),
        "micro_flagged": int(m["flagged"].sum()),
        "grid_over_cap": int(((g["households"] > caps.grid_cap) & ~grid_flag).sum()),
        "grid_flagged": int(grid_flag.sum()),
        "micro_noncontiguous": int((frag["micro"] > 1).sum()),
        "grid_noncontiguous": int((frag["grid"] > 1).sum()),
        "micro_max_households": int(m["households"].max()),
        "grid_max_households": int(g["households"].max()),
        "micro_households_cv": cv(m["households"]),
        "grid_households_cv": cv(g["households"]),
        "micro_polsby_popper": float(np.mean(m["compactness"])),
        "grid_polsby_popper": float(np.mean(g["compactness"])),
        "tiling_area_error": abs(float(g["area_m2"].sum()) - area) / max(area, 1e-12),
        "unit_grids": len(ug),
    }
    return Snapshot(code, assign, micro, grids, ug, report)


def valid_polygons(geoms: Any) -> npt.NDArray[np.object_]:
    """Repair invalid polygons (slivers of the region union, rounding of the reprojection),
    keeping only their polygonal parts."""
    g = np.asarray(geoms, dtype=object).copy()
    bad = ~shapely.is_valid(g)
    if not bad.any():
        return g
    g[bad] = shapely.make_valid(g[bad])
    for i in np.flatnonzero(bad):
        if shapely.get_type_id(g[i]) == 7:  # a collection: keep the polygons
            parts = np.asarray(shapely.get_parts(g[i]), dtype=object)
            g[i] = shapely.union_all(parts[shapely.get_dimensions(parts) == 2])
    return g


def unit_grid_cells(ctx: Community) -> Any:
    """The community's unit grids (:func:`grid_partition.unit_grids.unit_grids`, cut along the
    barriers); the target area doubles until the cells fit the 3-digit serial."""
    target = TARGET_AREA
    while True:
        try:
            return unit_grids(
                ctx.polygon,
                roads=ctx.barriers if len(ctx.barriers) else None,
                community_code=ctx.code,
                target_area=target,
                crs=ctx.crs,
            )
        except InvalidInput:
            if target > 1e9:
                raise
            target *= 2


def short_list(values: Any, limit: int = 5) -> str:
    """The first ``limit`` values in brackets and how many more there are (for messages)."""
    items = [str(v) for v in list(values)[:limit]]
    more = len(list(values)) - limit
    return "[" + ", ".join(items) + (f", +{more} more" if more > 0 else "") + "]"
