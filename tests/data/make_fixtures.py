"""Write the tiny fixture files of ``tests/data`` (run from the repository root).

``.venv/bin/python tests/data/make_fixtures.py`` rewrites them; the tests read the committed files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point, Polygon, box

HERE = Path(__file__).resolve().parent
LON, LAT = 121.49, 31.24  # the Bund
D = 0.0002  # about 20 m


def cell(i: float, j: float = 0.0) -> Polygon:
    """A ~20 m square box, ``i`` boxes east and ``j`` north of the Bund."""
    return box(LON + i * 2 * D, LAT + j * 2 * D, LON + i * 2 * D + D, LAT + j * 2 * D + D)


def bow_tie(i: float) -> Polygon:
    """A self-intersecting 'bow-tie' polygon (invalid; make_valid gives two triangles)."""
    x, y = LON + i * 2 * D, LAT
    return Polygon([(x, y), (x + D, y + D), (x + D, y), (x, y + D), (x, y)])


def spike(i: float) -> Polygon:
    """A zero-area polygon (invalid; make_valid gives a line, so it cannot be repaired)."""
    x, y = LON + i * 2 * D, LAT
    return Polygon([(x, y), (x + D, y), (x + 2 * D, y), (x, y)])


def buildings_bad() -> gpd.GeoDataFrame:
    """Tilezen-like buildings, one problem per row (see README.md)."""
    rows = [
        (1, "building", "好楼", 30.0, cell(0)),
        (1, "address", None, None, Point(LON + D / 2, LAT + D / 2)),
        (2, "building", "蝴蝶楼", 12.0, bow_tie(1)),
        (3, "building", None, None, Polygon()),
        (4, "building", "甲", 10.0, cell(2)),
        (4, "building", "乙", 11.0, cell(3)),
        (5, "building", "同", 9.0, cell(4)),
        (5, "building", "同", 9.0, cell(4)),
        (6, "building", None, None, LineString([(LON, LAT), (LON + D, LAT)])),
        (None, "building", "无号", None, cell(5)),
        (7, "building", None, None, spike(6)),
        (8, "building_part", None, 50.0, cell(0, 1)),
        (9, "building", None, None, None),
    ]
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "height": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4326",
    )


def main() -> None:
    """Write every fixture."""
    frame = buildings_bad()
    frame["id"] = frame["id"].astype("Int64")
    frame.to_file(HERE / "buildings_bad.geojson", driver="GeoJSON", engine="pyogrio")
    assert not shapely.is_valid(bow_tie(1))


if __name__ == "__main__":
    main()
