# %% [markdown]
# # Integrator: batch-resolve a file of messy addresses
#
# A migrant-registration system hands over a CSV of addresses as clerks typed them: missing
# districts, Chinese numerals, traditional characters, noise words, a few rows that are not
# addresses at all. This notebook resolves the whole file to building and room IDs with the
# `yizhi resolve` command (exactly what a nightly job would run), then looks at what did not
# resolve and why.
#
# It reads the store named by `YIZHI_DB` (built by `make demo`) and never writes to it.

# %%
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import store
from address_registry.normalize import normalize
from address_registry.resolve import resolve
from common.settings import get_settings

db = Path(os.environ.get("YIZHI_DB", get_settings().db))
work = Path(tempfile.mkdtemp(prefix="yizhi-integrator-"))
con = store.connect(db, read_only=True)

# %% [markdown]
# ## A file as clerks write it
#
# We take 120 buildings of the register and write their addresses the way people do, then add
# rows that cannot resolve (empty, not an address, a place outside the city).

# %%
rng = np.random.default_rng(7)
rows = con.execute(
    """
    SELECT b.building_id, b.address, r.room_id, r.unit, r.floor, r.room
    FROM buildings b
    JOIN rooms r ON r.building_id = b.building_id AND r.use = 'household'
    WHERE b.status = 'active' AND b.address IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY b.building_id ORDER BY r.room_id) = 1
    ORDER BY hash(b.building_id) LIMIT 120
    """
).df()
DIGITS = dict(zip("0123456789", "〇一二三四五六七八九", strict=True))
TRAD = str.maketrans({"门": "門", "东": "東", "汉": "漢", "宁": "寧", "苏": "蘇", "龙": "龍"})


def messy(address: str, unit: str, floor: str, room: str, i: int) -> str:
    text = address.replace("上海市", "") if i % 2 else address
    if i % 3 == 0:
        text = text.replace("黄浦区", "").replace("浦东新区", "浦东")
    if i % 4 == 0:  # a room, written the way it is said
        text += (
            f"{int(floor)}楼{int(room) % 100:02d}室" if unit == "00" else f"{int(unit)}单元{room}室"
        )
    if i % 5 == 0:
        text = "".join(DIGITS.get(c, c) for c in text)
    if i % 7 == 0:
        text = text.translate(TRAD)
    if i % 11 == 0:
        text += "附近"
    return text


clerk = pd.DataFrame(
    {
        "case_id": [f"C{i:04d}" for i in range(len(rows))],
        "address": [
            messy(a, u, f, r, i)
            for i, (a, u, f, r) in enumerate(
                rows[["address", "unit", "floor", "room"]].itertuples(index=False)
            )
        ],
        "truth": rows["building_id"],
    }
)
junk = pd.DataFrame(
    {
        "case_id": ["X0001", "X0002", "X0003", "X0004"],
        "address": ["", "请联系张先生", "北京市海淀区中关村大街27号", "hello world"],
        "truth": [None, None, None, None],
    }
)
clerk = pd.concat([clerk, junk], ignore_index=True)
inbox = work / "addresses.csv"
clerk.drop(columns="truth").to_csv(inbox, index=False, encoding="utf-8-sig")
clerk.head(8)

# %% [markdown]
# The normaliser shows what the resolver reads (full-width, traditional, numerals, noise words):

# %%
[(a, normalize(a)) for a in clerk["address"].head(6) if a]

# %% [markdown]
# ## Resolve the file with the command line
#
# `yizhi resolve FILE --column address --out OUT` keeps every row and adds `building_id`,
# `room_id`, `confidence`, `level` and `reason`.

# %%
out = work / "resolved.csv"
done = subprocess.run(
    [
        sys.executable,
        "-m",
        "yizhi.cli",
        "resolve",
        str(inbox),
        "--column",
        "address",
        "--out",
        str(out),
        "--db",
        str(db),
    ],
    capture_output=True,
    text=True,
    check=True,
)
resolved = pd.read_csv(out, dtype=str, keep_default_na=False)
assert len(resolved) == len(clerk), "a batch never drops a row"
resolved[["case_id", "address", "building_id", "room_id", "confidence", "level", "reason"]].head(10)

# %% [markdown]
# ## How well did it do?

# %%
check = resolved.merge(clerk[["case_id", "truth"]], on="case_id")
real = check[check["truth"].notna()]
hits = (real["building_id"] == real["truth"]).mean()
confident = real[real["confidence"].astype(float) >= 0.9]
print(f"resolved to the right building: {hits:.1%} of {len(real)}")
print(
    f"answers with confidence ≥ 0.9: {len(confident)}, of which right: "
    f"{(confident['building_id'] == confident['truth']).mean():.1%}"
)
assert hits > 0.9

# %% [markdown]
# ## The rows that did not resolve, and why

# %%
unresolved = check[check["reason"] != ""]
unresolved[["case_id", "address", "reason", "level"]]

# %%
check["reason"].replace("", "resolved").value_counts()

# %% [markdown]
# One query in detail: the candidates, their calibrated confidence and what matched.

# %%
answer = resolve(con, clerk["address"].iloc[4], limit=3)
con.close()
{k: answer[k] for k in ("query", "normalized", "ambiguous")} | {"best": answer["candidates"][0]}
