"""One meaning of the spatial joins on the sample city: the DuckDB and Dask engines give the same
links and block data, through the API and through ``yizhi fuse``, and linking by coordinates
finds the building the public reverse geocoder finds."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import store
from address_registry.reverse import reverse_many
from fusion import get_engine
from fusion._joins import CityJoins
from fusion.blocks import compute_blocks
from fusion.link import link
from grid_partition.queries import active_version
from layers import queries as records
from yizhi.cli.fuse import app

#: The instant block data are computed at (overdue events depend on it).
NOW = dt.datetime(2026, 6, 1, 12, 0)
#: What is compared, table -> columns (not the times of the run).
COMPARED = {
    "links": "layer, source_id, room_id, building_id, method, confidence, micro_grid_code, "
    "grid_code, unit_grid_code, community_code, street_code, district_code, grid_version, "
    "detail, row_hash",
    "unlinked": "layer, source_id, reason, detail, row_hash, grid_version",
    "block_data": "level, code, grid_version, metric, value",
}


def _copy(sample_store: Path, to: Path) -> Path:
    shutil.copy(sample_store, to)
    return to


def _differences(a: Path, b: Path, table: str) -> tuple[int, int]:
    """Rows of ``table`` only in ``a`` and only in ``b`` (EXCEPT ALL both ways)."""
    con = store.connect(":memory:")
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        cols = COMPARED[table]
        counts = []
        for x, y in (("a", "b"), ("b", "a")):
            row = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} "
                f"EXCEPT ALL SELECT {cols} FROM {y}.{table})"
            ).fetchone()
            counts.append(int(row[0]) if row else -1)
        return counts[0], counts[1]
    finally:
        con.close()


@pytest.fixture(scope="module")
def duckdb_fused(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample city relinked in full by the DuckDB engine, with its block data."""
    path = _copy(sample_store, tmp_path_factory.mktemp("duckdb") / "fused.duckdb")
    con = store.connect(path)
    try:
        link(con, incremental=False)
        compute_blocks(con, now=NOW)
    finally:
        con.close()
    return path


def test_dask_links_and_blocks_like_duckdb(
    sample_store: Path, duckdb_fused: Path, tmp_path: Path, dask_client: object
) -> None:
    path = _copy(sample_store, tmp_path / "dask.duckdb")
    con = store.connect(path)
    try:
        report = link(con, incremental=False, engine=get_engine("dask", client=dask_client))
        compute_blocks(con, now=NOW)
        methods = con.execute("SELECT DISTINCT method FROM links ORDER BY 1").fetchall()
    finally:
        con.close()
    assert report["layers"]["events"]["by_method"]["coordinates"] > 1000
    assert [m for (m,) in methods] == [
        "address",
        "coordinates",
        "coordinates_area",
        "room_id",
    ]  # every join: room, resolver, nearest building, public space
    for table in COMPARED:
        assert _differences(duckdb_fused, path, table) == (0, 0), table


def test_fuse_full_on_dask_through_the_cli(
    sample_store: Path, duckdb_fused: Path, tmp_path: Path
) -> None:
    """Unit grids of the sample that are lines or points no longer stop the Dask engine."""
    distributed = pytest.importorskip("distributed")
    path = _copy(sample_store, tmp_path / "cli.duckdb")
    with distributed.LocalCluster(  # its HTTP server on a free port: dask_client holds 8787
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
        dashboard_address=":0",
    ) as cluster:  # fmt: skip
        result = CliRunner().invoke(
            app,
            [
                "--db", str(path), "--full", "--engine", "dask",
                "--scheduler", cluster.scheduler_address, "--no-blocks", "--json",
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    for table in ("links", "unlinked"):
        assert _differences(duckdb_fused, path, table) == (0, 0), table


def test_linking_finds_the_reverse_geocoders_building(sample_store: Path, tmp_path: Path) -> None:
    """The nearest-building join of linking (engine, city metric CRS) and the public reverse
    geocoder (its own projection centred on the query) agree on every event, sensor and legal
    person point: same building, same inside / nearest answer, distances within a millimetre."""
    con = store.connect(_copy(sample_store, tmp_path / "rev.duckdb"))
    try:
        points = con.execute(
            "SELECT DISTINCT lon, lat FROM ("
            + " UNION ALL ".join(
                f"SELECT lon, lat FROM ({records.records_sql(layer)})"
                for layer in ("events", "sensors", "legal_persons")
            )
            + ") WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY lon, lat"
        ).df()
        lon, lat = points["lon"].to_numpy(), points["lat"].to_numpy()
        public = reverse_many(con, lon, lat, tolerance_m=50.0)
        linked = CityJoins(con, active_version(con)).nearest("building", lon, lat, 50.0)
    finally:
        con.close()
    found = public[public["building_id"].notna()]
    assert len(found) > 20_000 and found["inside"].any() and (~found["inside"]).any()
    assert found["pid"].tolist() == linked["i"].tolist()
    assert found["building_id"].tolist() == linked["code"].tolist()
    assert found["inside"].tolist() == (linked["distance_m"] == 0).tolist()
    assert np.abs(found["distance_m"].to_numpy() - linked["distance_m"].to_numpy()).max() < 1e-3
