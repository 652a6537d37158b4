# %% [markdown]
# # Planner: re-drawing grids when a new estate is built
#
# A planner in 陆家嘴街道 learns that a new estate of six residential buildings will be handed
# over. This notebook walks through what yizhi does about it:
#
# 1. look at a community's current grids and their quality;
# 2. register the new estate's buildings;
# 3. re-partition, keeping every grid that still holds (and its code);
# 4. read the diff and the churn (households whose grid worker changes);
# 5. try a manual edit that breaks a household cap, and read the error;
# 6. export the version to a GeoPackage for QGIS.
#
# It works on a **copy** of the store (`YIZHI_DB`, built by `make demo`), so the demo city is
# left as it was.

# %%
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

import store
from address_registry import lifecycle
from common.errors import Conflict
from common.settings import get_settings
from grid_partition import edits, gis
from grid_partition.versions import diff, quality, repartition

work = Path(tempfile.mkdtemp(prefix="yizhi-planner-"))
db = work / "planner.duckdb"
shutil.copy(os.environ.get("YIZHI_DB", get_settings().db), db)
con = store.connect(db)
base = con.execute("SELECT max(version_id) FROM grid_versions WHERE status = 'active'").fetchone()[
    0
]
print("working on", db, "- active grid version", base)

# %% [markdown]
# ## 1. A community's current grids
#
# We take the community with the most households in the sample and list its grids.

# %%
community, name = con.execute(
    """
    SELECT a.code, a.name FROM admin_areas a JOIN grids g ON g.community_code = a.code
    WHERE g.version_id = ? GROUP BY a.code, a.name ORDER BY sum(g.households) DESC LIMIT 1
    """,
    [base],
).fetchone()
grids = con.execute(
    """
    SELECT grid_code, households, buildings, micro_grids, round(compactness, 3) AS polsby_popper
    FROM grids WHERE version_id = ? AND community_code = ? ORDER BY grid_code
    """,
    [base, community],
).df()
print(community, name)
grids

# %%
report = quality(con, base)
{
    k: report[k]
    for k in (
        "ok",
        "micro_over_cap",
        "grid_over_cap",
        "micro_noncontiguous",
        "micro_polsby_popper",
        "micro_households_cv",
    )
}

# %% [markdown]
# ## 2. A simulated new estate
#
# Six 24 m × 12 m residential slabs with 40 households each, placed in the community on open
# ground north of its centre. `lifecycle.create` gives each a new 25-character building ID
# (birth community = this community) and records the operation in the register's history.

# %%
outline = shapely.from_wkb(
    con.execute("SELECT ST_AsWKB(geom) FROM admin_areas WHERE code = ?", [community]).fetchone()[0]
)
taken = shapely.union_all(
    shapely.from_wkb(
        [
            r[0]
            for r in con.execute(
                "SELECT ST_AsWKB(geom) FROM buildings WHERE community_code = ? AND status = 'active'",
                [community],
            ).fetchall()
        ]
    )
)
metres = 1 / 111_000  # about a metre in degrees of latitude here; fine for a sketch
free = outline.difference(taken.buffer(6 * metres)).buffer(-14 * metres)
anchor = free.representative_point() if not free.is_empty else outline.representative_point()
new_ids = []
for i in range(6):
    x = anchor.x + (i % 3) * 30 * metres
    y = anchor.y + (i // 3) * 20 * metres
    slab = shapely.box(x, y, x + 24 * metres, y + 12 * metres)
    new_ids.append(
        lifecycle.create(
            con,
            slab,
            "2026-12-01",
            community_code=community,
            attributes={
                "use": "residential",
                "households": 40,
                "units": 2,
                "floors": 12,
                "name": f"新建小区{i + 1}号楼",
            },
            actor="planner",
            note="handover of a new estate",
        )
    )
new_ids

# %% [markdown]
# ## 3. Re-partition, keeping what still holds

# %%
after = repartition(con, base, communities=[community], note="new estate", actor="planner")
print("new version", after)
quality(con, after)["ok"]

# %% [markdown]
# ## 4. The diff and the churn
#
# `moved` lists every building (or unit) whose micro-grid changed; churn is the share of
# households whose grid changed — what a grid worker feels.

# %%
change = diff(con, base, after)
print("churn (grid level):", round(change["churn"]["grid"], 3))
print("grids created:", change["grids"]["created"], "retired:", change["grids"]["retired"])
print("new buildings placed:", len(change["added_buildings"]))
pd.DataFrame(change["moved"]).head(10)

# %% [markdown]
# ## 5. A manual edit that breaks a cap
#
# Moving the whole new estate into one existing micro-grid would put far more than 150
# households under one micro-grid worker; yizhi refuses it, names the rule and the grid, and
# records the refused edit.

# %%
target = con.execute(
    "SELECT micro_grid_code FROM micro_grids WHERE version_id = ? AND community_code = ? "
    "ORDER BY households DESC LIMIT 1",
    [after, community],
).fetchone()[0]
try:
    edits.move(con, new_ids, to_micro_grid=target, actor="planner")
except Conflict as err:
    refused = err
print(refused.message)
print("rule:", refused.context.get("rule"), "grid:", refused.context.get("grid"))
con.execute("SELECT op, outcome, error FROM grid_edits ORDER BY created_at DESC LIMIT 1").df()

# %% [markdown]
# ## 6. Export for QGIS
#
# The GeoPackage holds `grids`, `micro_grids`, `unit_grids` and `assignments`; after editing it
# in QGIS, `yizhi grid import` validates it and makes a new version (see `docs/grids.md`).

# %%
out = work / "grids.gpkg"
gis.export_version(con, out, version=after)
layers = {
    name: len(gpd.read_file(out, layer=name))
    for name in ("grids", "micro_grids", "unit_grids", "assignments")
}
con.close()
layers
