"""Vector tiles (Mapbox Vector Tile 2.1) of the yizhi layers, without a web framework.

- :class:`TileSource`: one layer in memory (flat Web Mercator arrays + an STR-tree) that encodes
  ``tile(z, x, y)`` to MVT bytes with vectorised clipping and a lean protobuf writer;
- :class:`TileSet`: the layers of a store, with an LRU :class:`TileCache` keyed by data version;
- :data:`LAYERS`: the layer definitions (the owners' relations they read, zoom range, properties);
- :func:`tilejson` and :func:`style`: TileJSON 3.0.0 and a MapLibre style using only our tiles;
- :func:`export_pyramid`: a static PMTiles or MBTiles pyramid.

See ``docs/tiles.md``.
"""

from api.tiles.cache import CacheStats, TileCache
from api.tiles.layers import LAYERS, LayerSpec
from api.tiles.mvt import encode
from api.tiles.source import TileSet, TileSource, feature_id, feature_ids

__all__ = [
    "LAYERS",
    "CacheStats",
    "LayerSpec",
    "TileCache",
    "TileSet",
    "TileSource",
    "encode",
    "feature_id",
    "feature_ids",
]
