"""Measures of a partition: compactness, spread, lower bounds, estates split, and churn between
two partitions (the figures of a whole report are in ``GridPartitioner.report_``).

>>> import pandas as pd
>>> old = pd.DataFrame({"building_id": ["a", "b"], "micro": ["m1", "m1"], "households": [10, 30]})
>>> new = pd.DataFrame({"building_id": ["a", "b"], "micro": ["m1", "m2"], "households": [10, 30]})
>>> churn(old, new)
0.75
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from grid_partition._graph import components, restrict
from grid_partition._validate import Buildings


def polsby_popper(geoms: Any) -> npt.NDArray[np.float64]:
    """``4 pi A / P**2`` of every polygon (1 for a disc, 0.785 for a square).

    >>> from shapely import box
    >>> round(float(polsby_popper([box(0, 0, 1, 1)])[0]), 3)
    0.785
    """
    g = np.asarray(geoms, dtype=object)
    a = shapely.area(g)
    p = shapely.length(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, 4 * math.pi * a / p**2, 0.0)


def cv(values: Any) -> float:
    """Coefficient of variation (population standard deviation / mean)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0 or v.mean() == 0:
        return 0.0
    return float(v.std() / v.mean())


def lower_bound(households: Any, caps: Any) -> int:
    """Fewest regions any partition needs: ``ceil(sum(h / cap))``, an indivisible unit over
    its cap counting as one region of its own."""
    h = np.asarray(households, dtype=np.float64)
    c = np.asarray(caps, dtype=np.float64)
    over = h > c
    return int(over.sum()) + math.ceil(float((h[~over] / c[~over]).sum()) - 1e-9)


def churn(old: pd.DataFrame, new: pd.DataFrame, level: str = "micro") -> float:
    """Share of households (of buildings present in both) whose ``level`` code changed.

    Both frames have building_id, households and the ``level`` column (micro or grid); a
    building split by unit contributes each unit's households to its own code.
    """
    o = old.groupby(["building_id", level])["households"].sum()
    n = new.groupby(["building_id", level])["households"].sum()
    common = set(old["building_id"]) & set(new["building_id"])
    if not common:
        return 0.0
    o = o[o.index.get_level_values(0).isin(common)]
    n = n[n.index.get_level_values(0).isin(common)]
    both = pd.concat([o.rename("o"), n.rename("n")], axis=1).fillna(0)
    total = float(o.sum())
    if total == 0:
        return 0.0
    stay = float(np.minimum(both["o"], both["n"]).sum())
    return (total - stay) / total


def estates_split(
    b: Buildings,
    bidx: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    cap: Any,
    graph: Any,
) -> tuple[int, int]:
    """Estates spread over more than one region: (all, violations).

    A violation is an estate *piece* (buildings of one estate linked through the estate's
    own buildings, so a barrier makes two pieces) within ``cap`` (a number, or per estate an
    array) whose buildings lie in more than one region.
    """
    est = b.estate[bidx]
    m = est >= 0
    if not m.any():
        return 0, 0
    bp = components(restrict(graph, b.estate))  # the estate piece of every building
    piece = bp[bidx]
    df = pd.DataFrame({"e": est[m], "p": piece[m], "r": labels[m]})
    nreg = df.groupby("e")["r"].nunique()
    mb = b.estate >= 0
    tot = pd.Series(b.households[mb]).groupby(bp[mb]).sum()
    capv = np.broadcast_to(np.asarray(cap), len(b.estate_names))
    pe = pd.Series(b.estate[mb]).groupby(bp[mb]).first()
    per_piece = df.groupby("p")["r"].nunique()
    viol = [
        p
        for p, k in zip(per_piece.index, per_piece.to_numpy(), strict=True)
        if k > 1 and tot.get(p, 0) <= capv[int(pe.loc[p])]
    ]
    return int((nreg > 1).sum()), len(viol)
