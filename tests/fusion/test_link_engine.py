"""Linking with the Dask engine gives the same links and block data as the default DuckDB engine
(a crafted store; the sample city: ``test_sample_city_engines.py``)."""

from __future__ import annotations

import store
from fusion import get_engine
from fusion.blocks import compute_blocks
from fusion.link import link
from tests.fusion import _fusion_store as fs


def _fused(engine_name: str | None, client: object) -> tuple[list[tuple[object, ...]], ...]:
    con = store.connect(":memory:")
    try:
        fs.build_register(con)
        fs.build_layers(con)
        # a public-space point and an area event exercise the by-point micro-grid join
        fs.add_event(con, "e9", (50.0, 190.0))
        engine = get_engine("dask", client=client) if engine_name == "dask" else None  # DuckDB
        report = link(con, engine=engine)
        compute_blocks(con, now=fs.NOW)
        links = con.execute(
            "SELECT layer, source_id, method, micro_grid_code, grid_code, unit_grid_code, "
            "community_code FROM links ORDER BY ALL"
        ).fetchall()
        unlinked = con.execute(
            "SELECT layer, source_id, reason FROM unlinked ORDER BY ALL"
        ).fetchall()
        blocks = con.execute(
            "SELECT level, code, metric, value FROM block_data ORDER BY ALL"
        ).fetchall()
        assert report["layers"]["events"]["linked"] > 0
        return links, unlinked, blocks
    finally:
        con.close()


def test_dask_engine_links_like_duckdb(dask_client: object) -> None:
    duck = _fused(None, dask_client)
    dask = _fused("dask", dask_client)
    assert duck[0] and any(row[2] == "coordinates_area" for row in duck[0])
    assert dask == duck
