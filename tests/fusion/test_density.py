"""Incident density: H3 counts, kernel density mass, Gi* hot spot, event selection."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from common.errors import InvalidInput
from fusion.density import event_points, h3_counts, hotspots, kde_surface
from tests.fusion import _fusion_store as fs

CENTRE = h3.latlng_to_cell(31.24, 121.49, 9)


def _points(cells_counts: dict[str, int]) -> pd.DataFrame:
    rows = []
    for cell, n in cells_counts.items():
        lat, lon = h3.cell_to_latlng(cell)
        rows += [(lon, lat)] * n
    return pd.DataFrame(rows, columns=["lon", "lat"])


def test_h3_counts_known_cells() -> None:
    far = h3.latlng_to_cell(31.30, 121.55, 9)
    pts = _points({CENTRE: 3, far: 1})
    got = h3_counts(pts, [7, 9])
    res9 = dict(
        zip(
            got.loc[got.resolution == 9, "cell"], got.loc[got.resolution == 9, "count"], strict=True
        )
    )
    assert res9 == {CENTRE: 3, far: 1}
    assert got.groupby("resolution")["count"].sum().to_dict() == {7: 4, 9: 4}
    with pytest.raises(InvalidInput, match="16"):
        h3_counts(pts, [16])


def test_kde_mass_and_peak() -> None:
    pts = _points({CENTRE: 20, h3.latlng_to_cell(31.25, 121.50, 9): 5})
    surface = kde_surface(pts, bandwidth_m=100, cell_m=20)
    mass = surface["density"].sum() * 20 * 20 / 1e6
    assert mass == pytest.approx(25, rel=0.01)
    iy, ix = np.unravel_index(np.argmax(surface["density"]), surface["density"].shape)
    lat, lon = h3.cell_to_latlng(CENTRE)
    assert abs(surface["lon"][ix] - lon) < 0.0005 and abs(surface["lat"][iy] - lat) < 0.0005
    assert kde_surface(pts.iloc[:0])["n"] == 0
    with pytest.raises(InvalidInput, match="positive"):
        kde_surface(pts, bandwidth_m=0)


def test_hotspot_found_at_the_cluster() -> None:
    counts = {c: 1 for c in h3.grid_disk(CENTRE, 5)}
    counts.update({c: 15 for c in h3.grid_disk(CENTRE, 1)})
    spots = hotspots(_points(counts), resolution=9, permutations=199, seed=1)
    top = spots.iloc[0]
    assert top["cell"] == CENTRE and top["spot"] == "hot" and top["p"] < 0.05
    assert set(spots.loc[spots.spot == "hot", "cell"]) <= set(h3.grid_disk(CENTRE, 2))
    again = hotspots(_points(counts), resolution=9, permutations=199, seed=1)
    pd.testing.assert_frame_equal(spots, again)


def test_event_selection_by_window_and_category(db_path: Path) -> None:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    fs.add_event(con, "e9", (100, 100), code="0401")
    assert len(event_points(con)) == 5
    assert set(event_points(con, category="event-0401")["source_id"]) == {"e9"}
    assert len(event_points(con, category="01")) == 4
    day = event_points(con, start=dt.datetime(2026, 6, 1), end=dt.datetime(2026, 6, 2))
    assert list(day["source_id"]) == ["e3"]
    with pytest.raises(InvalidInput, match="'x-1'"):
        event_points(con, category="x-1")
    con.close()
