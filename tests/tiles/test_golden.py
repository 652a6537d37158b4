"""Tiles of the sample city are byte for byte those of the engine before issue 16.

The layers read the owners' relations since issue 16 (``LayerSpec.source``) instead of naming
tables; the features, their order, ids, properties and geometry must not have moved. The digests
below were made by the engine of commit 059ab36 (layers written as SQL on the tables) from the
demo's store. Left out: the grid layers (their polygons come from the partition, which differs
between two builds of the sample city) and ``roads`` (the register merges a road's ways into
parts whose order differs between builds: the same road, other bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import store
from api.tiles import TileSet

#: layer -> (z, x, y, SHA-256 of the tile), every tile non-empty.
GOLDEN: dict[str, tuple[int, int, int, str]] = {
    "districts": (10, 857, 418, "e601de4188de2a8fa5ee175c39ae24cd9ed84da546b774d838dcad5d109d6b2d"),
    "streets": (13, 6860, 3347, "610bc4314eedeab12c01515dc7768c3adde8be7ab9601b809f457f5fc64091b0"),
    "communities": (
        13,
        6860,
        3347,
        "6f66ad7d556748142752939345d3319d48895263bc2d285a507b1394141eff14",
    ),
    "buildings": (
        16,
        54885,
        26777,
        "bfcbbbb5b285a8818bdfc574f5d1088b95fb3499074a031ce24d5aab052ab05f",
    ),
    "doorplates": (
        16,
        54885,
        26777,
        "56a92adb3599d4f6e2406c3f7958ffe6b7c43dab0527822515db715e1ef3563d",
    ),
    "events": (
        16,
        54885,
        26777,
        "9a8b6258cb3c74632dd0a49f9baf566b3b927dc904a7300c6ba782fdbba6e9d3",
    ),
    "sensors": (
        16,
        54885,
        26777,
        "62c63dce815465ac99f814f9f16c61992d4cfe44197f331e56ddcc1ea28b04e8",
    ),
    "event_density": (
        13,
        6860,
        3347,
        "18b1c30a5e8e771a378929a35ad2e270b315696fc1b059c393129ca6261a327a",
    ),
    "camera_coverage": (
        16,
        54885,
        26777,
        "12a3eb5c637c23cb52b702375c86b03cb8a2191317b47801e947f6367e583e51",
    ),
}


@pytest.fixture(scope="module")
def sample_tiles(sample_store: Path) -> TileSet:
    con = store.connect(sample_store, read_only=True)
    try:
        return TileSet.from_store(con, list(GOLDEN), cache=None)
    finally:
        con.close()


@pytest.mark.parametrize("layer", list(GOLDEN))
def test_tiles_are_those_of_the_engine_before(sample_tiles: TileSet, layer: str) -> None:
    z, x, y, digest = GOLDEN[layer]
    data = sample_tiles.tile(layer, z, x, y)
    assert data and hashlib.sha256(data).hexdigest() == digest
