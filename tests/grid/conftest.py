"""Fixtures for the grid tests: tiny communities built from shapely boxes, and the crafted
register partitioned once per module (``reg``: a private copy for each test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.grid.crafted import Reg, open_copy, partitioned_file

CRS = "EPSG:32648"
CODE = "500101001001"


def frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Buildings from dicts with x, y (centre of a 10 m box) and the attribute columns."""
    geoms = [shapely.box(r["x"] - 5, r["y"] - 5, r["x"] + 5, r["y"] + 5) for r in rows]
    data = {k: [r.get(k) for r in rows] for k in rows[0] if k not in ("x", "y")}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def row_of(
    n: int, hh: int, *, y: float = 50.0, dx: float = 30.0, **extra: Any
) -> list[dict[str, Any]]:
    """``n`` buildings in a row, ``hh`` households each."""
    return [
        {"building_id": f"b{int(y)}_{i}", "households": hh, "x": 20.0 + i * dx, "y": y, **extra}
        for i in range(n)
    ]


def area_close(a: float, b: float, rel: float = 1e-6) -> bool:
    """Areas equal within ``rel``."""
    return bool(np.isclose(a, b, rtol=rel, atol=1e-6))


@pytest.fixture(scope="module")
def base_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crafted register and its first partition, made once per test module."""
    return partitioned_file(tmp_path_factory.mktemp("crafted"))


@pytest.fixture
def reg(base_file: Path, tmp_path: Path) -> Iterator[Reg]:
    """A private copy of :func:`base_file`, open: (connection, building IDs per community)."""
    yield from open_copy(base_file, tmp_path)
