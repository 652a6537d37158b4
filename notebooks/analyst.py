# %% [markdown]
# # Analyst: where do incidents happen, and which grids are falling behind?
#
# Using the fused sample city (events linked to grids, block data per grid), this notebook
#
# 1. counts incidents by category and month;
# 2. maps their density on H3 cells and finds hotspots (Getis-Ord Gi*);
# 3. draws a folium map of the grids coloured by overdue events;
# 4. measures camera coverage gaps in public space;
# 5. lists the ten worst grids.
#
# It reads the store named by `YIZHI_DB` (built by `make demo`) and never writes to it.

# %%
import datetime as dt
import os
import tempfile
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import shapely

import store
from common.settings import get_settings
from fusion.coverage import coverage
from fusion.density import event_points, h3_counts, hotspots, kde_surface
from fusion.maps import save_offline
from fusion.sla import overdue, state_durations

db = Path(os.environ.get("YIZHI_DB", get_settings().db))
con = store.connect(db, read_only=True)
version = con.execute(
    "SELECT max(version_id) FROM grid_versions WHERE status = 'active'"
).fetchone()[0]
# "now" for SLA questions: the end of the sample's event year, so the notebook is reproducible
now = dt.datetime(2026, 11, 1)

# %% [markdown]
# ## 1. Incidents by category and month

# %%
events = con.execute(
    """
    SELECT e.source_id, e.category_kind || '-' || e.category_code AS category,
           c.major_name || '·' || c.minor_name AS name,
           date_trunc('month', e.reported_at) AS month, e.state
    FROM events e LEFT JOIN event_categories c
      ON c.kind = e.category_kind AND c.code = e.category_code
    """
).df()
by_month = events.pivot_table(
    index="month", columns="name", values="source_id", aggfunc="count", fill_value=0
)
by_month.tail(6)

# %% [markdown]
# ## 2. Density and hotspots
#
# Counts on H3 cells (resolutions 7–9), a kernel density surface (200 m bandwidth), and Gi*
# hot and cold spots at resolution 9 with permutation p-values.

# %%
points = event_points(con)
cells = h3_counts(points, [7, 8, 9])
cells.groupby("resolution")["count"].describe()[["count", "mean", "max"]]

# %%
surface = kde_surface(points, bandwidth_m=200.0, cell_m=50.0)
print("density surface:", {k: v for k, v in surface.items() if not hasattr(v, "shape")})
spots = hotspots(points, resolution=9, permutations=199, seed=1)
spots["spot"].value_counts()

# %% [markdown]
# Hotspots of one category only (市容环境 events, major class 01), by quarter:

# %%
quarters = {}
for q in range(4):
    start = dt.datetime(2026, 1 + 3 * q, 1)
    end = dt.datetime(2026 + (q == 3), (4 + 3 * q) % 12 or 12, 1)
    sub = event_points(con, start=start, end=end, category="event-01")
    quarters[f"Q{q + 1}"] = (
        int((hotspots(sub, permutations=99, seed=1)["spot"] == "hot").sum()) if len(sub) else 0
    )
quarters

# %% [markdown]
# ## 3. Grids coloured by overdue events

# %%
late = pd.DataFrame(overdue(con, now=now))
per_grid = late.groupby("grid_code", dropna=True)[["open", "overdue"]].sum()
frame = con.execute(
    "SELECT grid_code, community_code, households, ST_AsText(geom) AS wkt "
    "FROM grids WHERE version_id = ?",
    [version],
).df()
grids = gpd.GeoDataFrame(
    frame.drop(columns="wkt"), geometry=shapely.from_wkt(frame["wkt"]), crs="EPSG:4326"
)
grids = grids.merge(per_grid, left_on="grid_code", right_index=True, how="left").fillna(
    {"open": 0, "overdue": 0}
)
m = folium.Map(location=[31.237, 121.497], zoom_start=14, tiles=None)
folium.Choropleth(
    geo_data=grids.to_json(),
    data=grids,
    columns=["grid_code", "overdue"],
    key_on="feature.properties.grid_code",
    fill_color="YlOrRd",
    legend_name="overdue events",
).add_to(m)
# save_offline inlines Leaflet (from xstatic-leaflet) instead of linking CDNs: the file opens
# on a machine without internet access
out = save_offline(m, Path(tempfile.mkdtemp(prefix="yizhi-analyst-")) / "overdue.html")
print("map written to", out, f"({out.stat().st_size:,} bytes, self-contained: grids only)")

# %% [markdown]
# Time spent in each state of the closed loop (report → register → dispatch → handle → verify
# → close), in hours:

# %%
pd.DataFrame(state_durations(con)).T

# %% [markdown]
# ## 4. Camera coverage gaps

# %%
cams = coverage(con, level="grid")
total = cams[["public_m2", "covered_m2", "uncovered_m2"]].sum()
print(
    f"public space {total.public_m2 / 1e6:.2f} km², covered {total.covered_m2 / 1e6:.2f} km² "
    f"({total.covered_m2 / total.public_m2:.0%})"
)
cams.sort_values("uncovered_m2", ascending=False).head(5)

# %% [markdown]
# ## 5. The ten worst grids
#
# Residential grids (50 households or more), ranked by overdue events per 100 households, then
# by uncovered public space.

# %%
worst = (
    grids[["grid_code", "community_code", "households", "open", "overdue"]]
    .merge(
        cams[["code", "share", "uncovered_m2"]], left_on="grid_code", right_on="code", how="left"
    )
    .drop(columns="code")
    .query("households >= 50")
    .assign(overdue_per_100_households=lambda d: 100 * d["overdue"] / d["households"])
    .sort_values(["overdue_per_100_households", "uncovered_m2"], ascending=False)
    .head(10)
    .reset_index(drop=True)
)
con.close()
worst
