"""The scale-up generator: deterministic, re-coded, placed at Shenzhen, every building registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

import store
from address_registry._inputs import load_sample
from address_registry.build import build_registry
from synthetic.city import generate_sources


def test_generated_city(data_dir: Path, db_path: Path) -> None:
    sample = load_sample(data_dir)
    a = generate_sources(0.003, seed=7, sample=sample)
    b = generate_sources(0.003, seed=7, sample=sample)
    c = generate_sources(0.003, seed=8, sample=sample)
    ga, gb, gc = (np.asarray(s.buildings.geometry.values) for s in (a, b, c))
    assert len(ga) > 1000 and a.buildings["source_id"].is_unique
    assert bool(shapely.equals(ga, gb).all()) and not bool(shapely.equals(ga, gc).all())
    levels = a.divisions["level"].value_counts().to_dict()
    assert levels["province"] == 1 and levels["district"] >= 1 and levels["community"] >= 2
    assert set(a.divisions["parent_code"].dropna()) <= set(a.divisions["code"])
    assert set(a.divisions["code"].str[:4]) == {"44", "4403"}
    minx, miny, _, _ = a.buildings.total_bounds
    assert 113.7 < minx < 114.5 and 22.4 < miny < 23.0  # placed at Shenzhen
    assert a.roads["name"].dropna().str.contains("·").all()  # renamed per tile

    report = build_registry(db_path, sources=a)
    counts = report["layers"]["buildings"]
    assert counts["quarantined"] == 0 and counts["registered"] == counts["in"] == len(ga)
    con = store.connect(db_path, read_only=True)
    try:
        rooms = con.execute("SELECT count(*) FROM rooms").fetchone()
        kinds = con.execute("SELECT DISTINCT source FROM buildings").fetchall()
        methods = con.execute(
            "SELECT DISTINCT boundary_method FROM admin_areas WHERE level = 'community'"
        ).fetchall()
    finally:
        con.close()
    assert rooms is not None and 12 < rooms[0] / len(ga) < 26  # calibrated to 18.3
    assert kinds == [("generated",)] and methods == [("imported",)]
