"""Tile sets: the LRU cache and its invalidation, TileJSON, the MapLibre style, pyramid export."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from mapbox_vector_tile import decode

import store
from api.tiles import LAYERS, TileCache, TileSet, feature_id
from api.tiles.pyramid import export_pyramid, read_mbtiles_tile, read_pmtiles_tile
from api.tiles.tilejson import style, tilejson
from common.errors import InvalidInput, NotFound
from tests.tiles._helpers import X, Y, Z, add_buildings, px_box


@pytest.fixture
def tileset(con: duckdb.DuckDBPyConnection) -> TileSet:
    add_buildings(con, [px_box(100, 100, 400, 300), px_box(3000, 3000, 3500, 3300)])
    return TileSet.from_store(con, ["buildings", "roads"], cache=TileCache(max_bytes=1 << 20))


def test_cache_hits_and_version_invalidation(
    con: duckdb.DuckDBPyConnection, tileset: TileSet
) -> None:
    cache = tileset.cache
    assert cache is not None
    first = tileset.tile("buildings", Z, X, Y)
    assert tileset.tile("buildings", Z, X, Y) is first
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)
    assert tileset.tile("buildings", Z, X + 3, Y) == b""  # empty tiles are cached too
    assert len(cache) == 2
    # new data: a new version token, reloaded layers, stale tiles dropped
    (new_id,) = add_buildings(con, [px_box(2000, 100, 2400, 300)], start=3)
    assert store.version_token(con) != tileset.version
    assert tileset.refresh(con) is True
    assert cache.stats.invalidated == 2 and len(cache) == 0
    ids = {f["id"] for f in decode(tileset.tile("buildings", Z, X, Y))["buildings"]["features"]}
    assert feature_id(new_id) in ids and len(ids) == 3
    assert tileset.refresh(con) is False


def test_lru_eviction_by_bytes() -> None:
    cache = TileCache(max_bytes=100)
    for i in range(5):
        cache.put(("l", 1, 0, i, "v"), bytes(30))
    assert len(cache) == 3 and cache.nbytes == 90 and cache.stats.evictions == 2
    assert cache.get(("l", 1, 0, 0, "v")) is None
    cache.get(("l", 1, 0, 2, "v"))  # touch: now most recent
    cache.put(("l", 1, 0, 9, "v"), bytes(30))
    assert cache.get(("l", 1, 0, 2, "v")) is not None
    assert cache.get(("l", 1, 0, 3, "v")) is None
    assert cache.invalidate(keep_version="v2") == 3


def test_multi_layer_tile_and_gzip(tileset: TileSet) -> None:
    import gzip

    both = tileset.tile("buildings,roads", Z, X, Y)
    assert set(decode(both)) == {"buildings"}  # no road here: only one layer
    packed = tileset.tile("buildings", Z, X, Y, gzip=True)
    assert gzip.decompress(packed) == tileset.tile("buildings", Z, X, Y)
    with pytest.raises(NotFound, match="unknown tile layer 'nope'"):
        tileset.tile("nope", Z, X, Y)
    with pytest.raises(InvalidInput):
        tileset.tile("buildings", 30, 0, 0)


def test_tilejson(tileset: TileSet) -> None:
    doc = tilejson(tileset.source("buildings"), "https://maps.example.org/api/", version="abc")
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["https://maps.example.org/api/tiles/buildings/{z}/{x}/{y}.mvt?v=abc"]
    assert (doc["minzoom"], doc["maxzoom"]) == (14, 18)
    west, south, east, north = doc["bounds"]
    assert 121.4 < west < east < 121.6 and 31.1 < south < north < 31.4
    (layer,) = doc["vector_layers"]
    assert layer["id"] == "buildings"
    assert layer["fields"]["building_id"] == "String"
    assert layer["fields"]["floors"] == "Number"
    assert set(layer["fields"]) == set(LAYERS["buildings"].properties)


def test_style_uses_only_our_tiles(tileset: TileSet) -> None:
    doc = style(tileset, "https://maps.example.org/api")
    assert doc["version"] == 8
    assert "glyphs" not in doc and "sprite" not in doc
    assert doc["sources"]["buildings"] == {
        "type": "vector",
        "url": "https://maps.example.org/api/tiles/buildings.json",
    }
    types = {layer["id"]: layer["type"] for layer in doc["layers"]}
    assert types["buildings-fill"] == "fill" and types["roads-line"] == "line"
    assert not any(layer["type"] == "symbol" for layer in doc["layers"])


@pytest.mark.parametrize("suffix", ["pmtiles", "mbtiles"])
def test_pyramid_round_trip(tileset: TileSet, tmp_path: Path, suffix: str) -> None:
    src = tileset.source("buildings")
    bounds = src.lonlat_bounds()
    assert bounds is not None
    path = tmp_path / f"b.{suffix}"
    report = export_pyramid(src, path, 14, 16, progress=False)
    assert report.tiles >= 3 and set(report.per_zoom) == {14, 15, 16}
    read = read_pmtiles_tile if suffix == "pmtiles" else read_mbtiles_tile
    assert read(path, Z, X, Y) == src.tile(Z, X, Y)
    assert read(path, Z, X + 3, Y) is None
    if suffix == "mbtiles":
        import json
        import sqlite3

        db = sqlite3.connect(path)
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        db.close()
        assert json.loads(meta["json"])["vector_layers"][0]["id"] == "buildings"
    else:
        from pmtiles.reader import MmapSource, Reader

        with path.open("rb") as f:
            reader = Reader(MmapSource(f))
            assert reader.header()["max_zoom"] == 16
            assert reader.metadata()["vector_layers"][0]["id"] == "buildings"


def test_pyramid_refuses_bad_requests(tileset: TileSet, tmp_path: Path) -> None:
    src = tileset.source("buildings")
    with pytest.raises(InvalidInput, match=r"\.pmtiles or \.mbtiles"):
        export_pyramid(src, tmp_path / "x.zip", 14, 15, progress=False)
    with pytest.raises(InvalidInput, match="zoom range"):
        export_pyramid(src, tmp_path / "x.pmtiles", 16, 14, progress=False)
    with pytest.raises(InvalidInput, match="no tile holds data"):
        export_pyramid(
            src, tmp_path / "x.pmtiles", 14, 14, bbox=(10.0, 10.0, 10.1, 10.1), progress=False
        )


def test_cli_tile_and_export(con: duckdb.DuckDBPyConnection, db_path: Path, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from yizhi.cli.tiles import app

    add_buildings(con, [px_box(100, 100, 400, 300)])
    con.close()
    runner = CliRunner()
    res = runner.invoke(
        app, ["tile", "buildings", str(Z), str(X), str(Y), "--db", str(db_path), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["features"] == {"buildings": 1}
    target = tmp_path / "b.pmtiles"
    res = runner.invoke(
        app,
        [
            "export",
            str(target),
            "--minzoom",
            "15",
            "--maxzoom",
            "16",
            "--db",
            str(db_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tiles"] == 2
    assert read_pmtiles_tile(target, Z, X, Y) is not None
    res = runner.invoke(app, ["layers", "--json"])
    assert {row["layer"] for row in json.loads(res.stdout)} == set(LAYERS)
