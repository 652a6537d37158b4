"""Export of every registry layer to GeoPackage, GeoJSON and GeoParquet, and the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import geopandas
import pandas as pd
import pyogrio
import pytest
import shapely
import typer
from typer.testing import CliRunner

import store
from address_registry import lifecycle as lc
from address_registry.export import LAYERS, export_layer, layer_frame
from common.errors import InvalidInput
from tests.registry import _lifecycle_data as fx
from yizhi.cli._registry_lifecycle import register

FORMATS = ["gpkg", "geojson", "parquet"]


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with the fixture register after a split of A (so retired rows exist)."""
    path = tmp_path_factory.mktemp("export") / "registry.duckdb"
    con = store.connect(path)
    ids = fx.populate(con)
    lc.split(con, ids["A"], fx.halves(fx.FOOTPRINTS["A"][1]), "2025-03-01")
    con.close()
    return path


@pytest.fixture(scope="module")
def con(db_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = store.connect(db_file, read_only=True)
    yield connection
    connection.close()


def _read(path: Path, fmt: str) -> geopandas.GeoDataFrame:
    if fmt == "parquet":  # this GDAL build has no Parquet driver: read GeoParquet with pyarrow
        return geopandas.read_parquet(path)
    return pyogrio.read_dataframe(path)


def _plain(value: Any) -> Any:
    """Normalise a cell for comparison across formats (NaN/None, numpy scalars)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_layer_round_trips(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, layer: str, fmt: str
) -> None:
    expected = layer_frame(con, layer)
    info = export_layer(con, layer, fmt, tmp_path / f"{layer}.{fmt}")
    back = _read(Path(info["path"]), fmt)
    assert info["rows"] == len(expected) == len(back)
    assert back.crs is not None and back.crs.to_epsg() == 4326
    if fmt != "parquet":
        assert pyogrio.read_info(info["path"])["crs"] == "EPSG:4326"
    assert list(back.columns) == list(expected.columns)
    for column in expected.columns:
        if column == "geometry":
            for a, b in zip(expected.geometry, back.geometry, strict=True):
                assert (a is None and b is None) or shapely.equals_exact(a, b, 1e-9)
        else:
            assert [_plain(v) for v in back[column]] == [_plain(v) for v in expected[column]]


def test_buildings_export_content(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    info = export_layer(con, "buildings", "geojson", tmp_path / "b.geojson")
    back = pyogrio.read_dataframe(info["path"])
    required = {
        "building_id",
        "community_code",
        "status",
        "use",
        "households",
        "address",
        "name",
        "households_estimated",
        "floors_estimated",
        "height_estimated",
    }
    assert required <= set(back.columns)
    assert len(back) == 6  # 5 fixture buildings - A + 2 successors
    assert set(back.status) == {"active"}
    assert back.building_id.str.len().eq(25).all()  # codes stay strings with leading digits
    retired = export_layer(con, "buildings", "gpkg", tmp_path / "all.gpkg", include_retired=True)
    assert retired["rows"] == 7
    past = export_layer(con, "buildings", "parquet", tmp_path / "p.parquet", as_of="2025-01-01")
    assert sorted(geopandas.read_parquet(past["path"]).building_id) == sorted(
        fx.building_ids().values()
    )


def test_rooms_export_has_full_addresses(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    info = export_layer(con, "rooms", "gpkg", tmp_path / "rooms.gpkg")
    back = pyogrio.read_dataframe(info["path"], layer="rooms")
    assert len(back) == 12
    assert {"room_id", "building_id", "unit", "floor", "room", "address"} <= set(back.columns)
    row = back.iloc[-1]  # sorted by room ID: the east half, unit 2, floor 3, room 2
    assert row.address == "汉口路1号2单元302室"
    assert row.unit == "02" and row.floor == "003" and row.room == "0302"
    assert set(back.geometry.geom_type) == {"Point"}


def test_export_refuses_unknown_layer_or_format(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="unknown layer 'parcels'"):
        export_layer(con, "parcels", "gpkg", tmp_path / "x.gpkg")
    with pytest.raises(InvalidInput, match="unknown format 'shp'"):
        export_layer(con, "buildings", "shp", tmp_path / "x.shp")
    with pytest.raises(InvalidInput, match="buildings layer only"):
        export_layer(con, "rooms", "gpkg", tmp_path / "x.gpkg", as_of="2025-01-01")


def test_cli_export_show_history(db_file: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "rooms.geojson"
    result = runner.invoke(
        app,
        [
            "export",
            str(out),
            "--layer",
            "rooms",
            "--format",
            "geojson",
            "--db",
            str(db_file),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 12 and out.is_file()

    a = fx.building_ids()["A"]
    result = runner.invoke(app, ["show", a, "--db", str(db_file), "--json"])
    assert result.exit_code == 0, result.output
    props = json.loads(result.stdout)["properties"]
    assert props["status"] == "retired" and len(props["current_successors"]) == 2

    result = runner.invoke(
        app, ["show", a, "--as-of", "2025-02-01", "--db", str(db_file), "--json"]
    )
    assert json.loads(result.stdout)["status"] == "active"

    result = runner.invoke(app, ["history", a, "--db", str(db_file), "--json"])
    assert result.exit_code == 0, result.output
    ops = [op["op"] for op in json.loads(result.stdout)["operations"]]
    assert ops == ["create", "split"]

    result = runner.invoke(app, ["history", a, "--db", str(db_file)])
    assert result.exit_code == 0 and "split" in result.stdout
