"""Units, floors and rooms estimated from footprint, floors and use.

A *plan* row says: in building B, units ``1..units`` (or ``00``), floors ``floor_from..floor_to``,
``per_unit`` rooms of one use on each floor of each unit. DuckDB expands the plans into rooms
(``generate_series``), so 11 million rooms never pass through Python.

Rules (every room ``estimated = true`` with its rule):

- ``residential_90m2``: households per floor = round(footprint × 0.75 / 90 m²), at least 1; a
  stair core (单元) serves 2-4 of them, so units = ceil(per floor / 4); rooms per unit and floor =
  ceil(per floor / units).
- ``mixed_ground_shops_60m2``: floor 1 of a mixed building is shops of 60 m² (unit 00); the
  floors above follow ``residential_90m2``.
- ``commercial_100m2``: every floor is shops of 100 m² (unit 00).
- ``office_200m2``: every floor is offices of 200 m² (unit 00).
- ``public_one_per_floor`` / ``industrial_one_per_floor``: one room a floor (use public / office).
- ``other``: no rooms (sheds, gates, towers without floors).

Room numbers: floor × 100 + n (``1203``) while the floor is below 100 and n below 100, else n.
At most 99 rooms per unit and floor. No basements are generated.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

#: Share of the gross floor area that is usable.
EFFICIENCY = 0.75
HOUSEHOLD_M2 = 90.0
SHOP_M2 = 60.0
COMMERCIAL_M2 = 100.0
OFFICE_M2 = 200.0
HOUSEHOLDS_PER_CORE = 4
MAX_PER_FLOOR = 99


def room_plans(
    building_id: np.ndarray, use: np.ndarray, floors: np.ndarray, footprint: np.ndarray
) -> pd.DataFrame:
    """Plans of ``building_id`` (see the module docstring); vectorised."""
    usable = np.maximum(footprint, 1.0) * EFFICIENCY
    per_hh = np.clip(np.round(usable / HOUSEHOLD_M2), 1, MAX_PER_FLOOR * 99).astype(np.int64)
    units = np.clip(np.ceil(per_hh / HOUSEHOLDS_PER_CORE), 1, 99).astype(np.int64)
    per_unit = np.clip(np.ceil(per_hh / units), 1, MAX_PER_FLOOR).astype(np.int64)
    hh_area = usable / np.maximum(units * per_unit, 1)
    frames = []

    def plan(
        mask: np.ndarray,
        *,
        units_: np.ndarray | int,
        floor_from: np.ndarray | int,
        floor_to: np.ndarray,
        per: np.ndarray,
        room_use: str,
        area: np.ndarray,
        rule: str,
    ) -> None:
        if not mask.any():
            return
        n = int(mask.sum())
        frames.append(
            pd.DataFrame(
                {
                    "building_id": building_id[mask],
                    "units": np.broadcast_to(units_, mask.shape)[mask]
                    if not np.isscalar(units_)
                    else np.full(n, units_),
                    "floor_from": np.broadcast_to(floor_from, mask.shape)[mask]
                    if not np.isscalar(floor_from)
                    else np.full(n, floor_from),
                    "floor_to": floor_to[mask],
                    "per_unit": per[mask],
                    "use": room_use,
                    "area_m2": np.round(area[mask], 1),
                    "rule": rule,
                }
            )
        )

    res = use == "residential"
    mixed = use == "mixed"
    plan(
        res,
        units_=units,
        floor_from=1,
        floor_to=floors,
        per=per_unit,
        room_use="household",
        area=hh_area,
        rule="residential_90m2",
    )
    shops = np.clip(np.round(usable / SHOP_M2), 1, MAX_PER_FLOOR).astype(np.int64)
    plan(
        mixed,
        units_=0,
        floor_from=1,
        floor_to=np.ones_like(floors),
        per=shops,
        room_use="shop",
        area=usable / shops,
        rule="mixed_ground_shops_60m2",
    )
    plan(
        mixed & (floors >= 2),
        units_=units,
        floor_from=2,
        floor_to=floors,
        per=per_unit,
        room_use="household",
        area=hh_area,
        rule="residential_90m2",
    )
    com = np.clip(np.round(usable / COMMERCIAL_M2), 1, MAX_PER_FLOOR).astype(np.int64)
    plan(
        use == "commercial",
        units_=0,
        floor_from=1,
        floor_to=floors,
        per=com,
        room_use="shop",
        area=usable / com,
        rule="commercial_100m2",
    )
    off = np.clip(np.round(usable / OFFICE_M2), 1, MAX_PER_FLOOR).astype(np.int64)
    plan(
        use == "office",
        units_=0,
        floor_from=1,
        floor_to=floors,
        per=off,
        room_use="office",
        area=usable / off,
        rule="office_200m2",
    )
    one = np.ones_like(floors)
    plan(
        use == "public",
        units_=0,
        floor_from=1,
        floor_to=floors,
        per=one,
        room_use="public",
        area=usable,
        rule="public_one_per_floor",
    )
    plan(
        use == "industrial",
        units_=0,
        floor_from=1,
        floor_to=floors,
        per=one,
        room_use="office",
        area=usable,
        rule="industrial_one_per_floor",
    )
    if not frames:
        return pd.DataFrame(
            columns=[
                "building_id",
                "units",
                "floor_from",
                "floor_to",
                "per_unit",
                "use",
                "area_m2",
                "rule",
            ]
        )
    # in building order: the rooms' primary key index is built far faster from sorted keys
    return pd.concat(frames, ignore_index=True).sort_values(
        ["building_id", "floor_from"], kind="stable"
    )


def insert_rooms(con: duckdb.DuckDBPyConnection, plans: pd.DataFrame) -> int:
    """Expand ``plans`` into the ``rooms`` table; returns the number of rooms inserted."""
    con.register("_room_plans", plans)
    try:
        before = con.execute("SELECT count(*) FROM rooms").fetchone()
        con.execute(
            """
            INSERT INTO rooms (room_id, building_id, unit, floor, room, use, area_m2, estimated, rule)
            WITH u AS (
                SELECT p.*, unnest(CASE WHEN units = 0 THEN [0] ELSE generate_series(1, units) END) AS unit_no
                FROM _room_plans p
            ), f AS (
                SELECT u.*, unnest(generate_series(floor_from, floor_to)) AS floor_no FROM u
            ), r AS (
                SELECT f.*, unnest(generate_series(1, per_unit)) AS n FROM f
            )
            SELECT
                building_id || lpad(unit_no::VARCHAR, 2, '0') || lpad(floor_no::VARCHAR, 3, '0')
                    || lpad((CASE WHEN floor_no < 100 THEN floor_no * 100 + n ELSE n END)::VARCHAR, 4, '0'),
                building_id,
                lpad(unit_no::VARCHAR, 2, '0'),
                lpad(floor_no::VARCHAR, 3, '0'),
                lpad((CASE WHEN floor_no < 100 THEN floor_no * 100 + n ELSE n END)::VARCHAR, 4, '0'),
                use, area_m2, true, rule
            FROM r
            """
        )
        after = con.execute("SELECT count(*) FROM rooms").fetchone()
    finally:
        con.unregister("_room_plans")
    assert before is not None and after is not None
    return int(after[0]) - int(before[0])
