"""``yizhi fuse``: JSON report per layer, layer selection, incremental re-run."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.fusion import _fusion_store as fs
from yizhi.cli.fuse import app


def test_fuse_json(db_path: Path) -> None:
    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    con.close()
    result = CliRunner().invoke(app, ["--db", str(db_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    people = doc["layers"]["people"]
    assert (people["total"], people["linked"], people["unlinked"]) == (13, 9, 4)
    assert people["by_method"] == {"address": 1, "building_id": 1, "room_id": 7}
    assert doc["layers"]["events"]["by_method"] == {"coordinates": 2, "coordinates_area": 1}
    assert doc["block_data_rows"] > 0
    again = CliRunner().invoke(
        app, ["--db", str(db_path), "--layer", "houses", "--full", "--json", "--no-blocks"]
    )
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)
    assert list(doc["layers"]) == ["houses"]
    assert doc["layers"]["houses"]["processed"] == 2 and "block_data_rows" not in doc
    text = CliRunner().invoke(app, ["--db", str(db_path), "--no-blocks"])
    assert text.exit_code == 0 and "people" in text.stdout


def test_fuse_on_a_dask_scheduler(db_path: Path) -> None:
    import distributed

    import store

    con = store.connect(db_path)
    fs.build_register(con)
    fs.build_layers(con)
    con.close()
    wrong = CliRunner().invoke(app, ["--db", str(db_path), "--scheduler", "tcp://h:8786"])
    assert wrong.exit_code != 0 and "need --engine dask" in str(wrong.exception)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        result = CliRunner().invoke(
            app, ["--db", str(db_path), "--engine", "dask", "--scheduler", address, "--json"]
        )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["layers"]["events"]["by_method"] == {"coordinates": 2, "coordinates_area": 1}
    assert doc["layers"]["people"]["linked"] == 9
