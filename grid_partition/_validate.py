"""Validate and normalise the buildings of one community (private).

Every problem is collected and reported once, as one :class:`~common.errors.InvalidInput`
whose message quotes the offending values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from common.errors import InvalidInput

ENCLOSURES = ("open", "closed")


@dataclass(frozen=True)
class Buildings:
    """Normalised building arrays (one entry per building, input order)."""

    building_id: npt.NDArray[np.object_]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    households: npt.NDArray[np.int64]
    units: list[npt.NDArray[np.int64]]
    estate: npt.NDArray[np.int64]
    """Dense estate number per building, -1 for none."""
    estate_names: list[str]
    closed: npt.NDArray[np.bool_]
    geometry: npt.NDArray[np.object_]
    axis: npt.NDArray[np.float64]
    """Per building, the ends of the long axis of its footprint (n x 4: x0, y0, x1, y1)."""

    def unit_points(self, i: int) -> npt.NDArray[np.float64]:
        """Points of the units of building ``i``, spread evenly along its long axis."""
        k = len(self.units[i])
        t = (np.arange(k) + 0.5) / k
        a = self.axis[i]
        return np.column_stack([a[0] + t * (a[2] - a[0]), a[1] + t * (a[3] - a[1])])

    def row_points(
        self, bidx: npt.NDArray[np.int64], unit: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Point of every assignment row (building ``bidx``, unit number ``unit``, 0 for the
        whole building): the building's, or its unit's along the long axis."""
        x = self.x[bidx].astype(np.float64)
        y = self.y[bidx].astype(np.float64)
        for j in np.flatnonzero(unit > 0):
            pt = self.unit_points(int(bidx[j]))[int(unit[j]) - 1]
            x[j], y[j] = pt[0], pt[1]
        return x, y

    @property
    def n(self) -> int:
        """Number of buildings."""
        return len(self.building_id)


def _quote(values: Any, limit: int = 5) -> str:
    items = [repr(v.item() if hasattr(v, "item") else v) for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(items) + (f" (+{more} more)" if more > 0 else "")


def normalise(frame: pd.DataFrame, geometry: Any | None = None) -> Buildings:
    """Check the building table and return normalised arrays.

    Parameters
    ----------
    frame
        Columns ``building_id``, ``households`` and optionally ``units`` (list of per-unit
        household counts) or ``unit_households``, ``estate_id`` and ``enclosure``.
    geometry
        Footprint polygons or points, one per row (defaults to ``frame.geometry``).

    Returns
    -------
    Buildings
        The normalised arrays.

    Raises
    ------
    InvalidInput
        With every problem found (missing columns, duplicate IDs, negative households, unit
        counts that do not add up, unknown enclosures, empty geometry).
    """
    problems: list[str] = []
    missing = [c for c in ("building_id", "households") if c not in frame.columns]
    if geometry is None:
        if "geometry" not in frame.columns:
            missing.append("geometry")
        else:
            geometry = frame["geometry"]
    if missing:
        raise InvalidInput(f"buildings lack required columns: {missing}")
    n = len(frame)
    if n == 0:
        raise InvalidInput("no buildings given: a community needs at least one building")
    ids = frame["building_id"].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated(keep=False)
    if dup.any():
        problems.append(f"duplicate building_id: {_quote(sorted(set(ids[dup.to_numpy()])))}")
    hh_raw = pd.to_numeric(frame["households"], errors="coerce")
    bad_hh = hh_raw.isna() | (hh_raw < 0) | (hh_raw != np.floor(hh_raw.fillna(0)))
    if bad_hh.any():
        pairs = [
            f"{i}={v!r}"
            for i, v in zip(ids[bad_hh.to_numpy()], frame["households"][bad_hh], strict=True)
        ]
        problems.append(f"households must be non-negative integers: {_quote(pairs)}")
    households = hh_raw.fillna(0).to_numpy(dtype=np.float64).astype(np.int64)

    ucol = (
        "units"
        if "units" in frame.columns
        else ("unit_households" if "unit_households" in frame.columns else None)
    )
    units: list[npt.NDArray[np.int64]] = []
    bad_units: list[str] = []
    raws = frame[ucol].tolist() if ucol else [None] * n
    for i in range(n):
        raw = raws[i]
        if raw is None or (np.isscalar(raw) and pd.isna(raw)) or len(raw) == 0:  # type: ignore[arg-type]
            units.append(np.array([households[i]], dtype=np.int64))
            continue
        arr = np.asarray(raw, dtype=np.float64)
        if (arr < 0).any() or (arr != np.floor(arr)).any() or int(arr.sum()) != households[i]:
            bad_units.append(
                f"{ids[i]}: units {arr.astype(int).tolist()} vs households {households[i]}"
            )
        units.append(arr.astype(np.int64))
    if bad_units:
        problems.append(
            "units must be non-negative integers adding up to households: " + _quote(bad_units)
        )

    if "estate_id" in frame.columns:
        est = frame["estate_id"]
        codes, names = pd.factorize(est.where(est.notna(), None).astype(object), sort=True)
        estate = np.asarray(codes, dtype=np.int64)
        estate_names = [str(v) for v in names]
    else:
        estate = np.full(n, -1, dtype=np.int64)
        estate_names = []
    if "enclosure" in frame.columns:
        enc = frame["enclosure"].astype(object).where(frame["enclosure"].notna(), None)
        bad_enc = ~enc.isin([*ENCLOSURES, None])
        if bad_enc.any():
            problems.append(
                f"enclosure must be 'open', 'closed' or empty: {_quote(sorted(set(enc[bad_enc].astype(str))))}"
            )
        closed = (enc == "closed").to_numpy(dtype=bool) & (estate >= 0)
        stray = (enc == "closed").to_numpy(dtype=bool) & (estate < 0)
        if stray.any():
            problems.append(f"closed enclosure without estate_id: {_quote(ids[stray])}")
    else:
        closed = np.zeros(n, dtype=bool)
    if len(estate_names):
        # one enclosure per estate
        df = pd.DataFrame({"e": estate, "c": closed})[estate >= 0]
        mixed = df.groupby("e")["c"].nunique()
        mixed = mixed[mixed > 1]
        if len(mixed):
            problems.append(
                f"estate with both open and closed buildings: {_quote([estate_names[int(e)] for e in mixed.index])}"
            )

    geom = np.asarray(geometry, dtype=object)
    if len(geom) != n:
        raise InvalidInput(f"geometry has {len(geom)} rows for {n} buildings")
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    if empty.any():
        problems.append(f"empty or missing geometry: {_quote(ids[empty])}")
    if problems:
        raise InvalidInput("invalid buildings: " + "; ".join(problems))
    pts = shapely.point_on_surface(geom)
    xy = shapely.get_coordinates(pts)
    axis = np.column_stack([xy, xy]).astype(np.float64)
    multi = np.array([len(u) > 1 for u in units], dtype=bool) & (shapely.area(geom) > 0)
    if multi.any():
        rect = shapely.oriented_envelope(geom[multi])
        ok = shapely.get_type_id(rect) == 3
        rc = [np.asarray(shapely.get_coordinates(r))[:4] for r in rect]
        ends = np.zeros((len(rc), 4))
        for j, c in enumerate(rc):
            if not ok[j] or len(c) < 4:
                ends[j] = [*xy[np.flatnonzero(multi)[j]], *xy[np.flatnonzero(multi)[j]]]
                continue
            e01 = np.hypot(*(c[1] - c[0]))
            e12 = np.hypot(*(c[2] - c[1]))
            # long axis joins the middles of the two short sides (shrunk to 90 %)
            if e01 >= e12:
                a, b = (c[1] + c[2]) / 2, (c[3] + c[0]) / 2
            else:
                a, b = (c[0] + c[1]) / 2, (c[2] + c[3]) / 2
            mid = (a + b) / 2
            ends[j] = [*(mid + 0.9 * (a - mid)), *(mid + 0.9 * (b - mid))]
        axis[multi] = ends
    return Buildings(
        building_id=ids,
        x=xy[:, 0].astype(np.float64),
        y=xy[:, 1].astype(np.float64),
        households=households,
        units=units,
        estate=estate,
        estate_names=estate_names,
        closed=closed,
        geometry=geom,
        axis=axis,
    )
