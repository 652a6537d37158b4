"""TileJSON 3.0.0 documents and a default MapLibre style that uses only yizhi's own tiles.

The style has no ``glyphs`` and no ``sprite``: it draws fills, lines and circles only, so that a
map needs nothing from outside the deployment (no font or icon server). Text labels would need
glyph PBFs served locally (``"glyphs": "<base_url>/fonts/{fontstack}/{range}.pbf"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from api.tiles.source import TileSet, TileSource

#: URL template of one layer's tiles under ``base_url`` (the HTTP routes must follow it).
TILE_PATH = "/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"

#: Default paint of each layer: (fill colour, line colour, line width, fill opacity, circle radius).
_PAINT: dict[str, tuple[str, str, float, float, float]] = {
    "districts": ("#000000", "#5b2a86", 2.0, 0.0, 0),
    "streets": ("#000000", "#7d5ba6", 1.5, 0.0, 0),
    "communities": ("#fef6e4", "#b08968", 1.0, 0.15, 0),
    "grids": ("#cde7f0", "#2a9d8f", 1.2, 0.2, 0),
    "micro_grids": ("#e9f5db", "#52b788", 0.8, 0.15, 0),
    "unit_grids": ("#000000", "#adb5bd", 0.6, 0.0, 0),
    "roads": ("#000000", "#8d99ae", 2.0, 0.0, 0),
    "buildings": ("#d9d0c7", "#a39382", 0.5, 0.85, 0),
    "doorplates": ("#264653", "#ffffff", 1.0, 1.0, 2.5),
    "events": ("#e63946", "#ffffff", 1.0, 1.0, 4.0),
    "sensors": ("#457b9d", "#ffffff", 1.0, 1.0, 3.5),
    "event_density": ("#f4a261", "#e76f51", 0.3, 0.5, 0),
    "camera_coverage": ("#8ecae6", "#219ebc", 0.5, 0.25, 0),
}

#: ``Tile.Value`` field key -> TileJSON field type.
_VALUE_TYPES = {
    0x0A: "String",
    0x15: "Number",
    0x19: "Number",
    0x20: "Number",
    0x28: "Number",
    0x30: "Number",
    0x38: "Boolean",
}


def _fields(source: TileSource) -> dict[str, str]:
    """Field name -> type description (``String``, ``Number`` or ``Boolean``), as TileJSON wants."""
    out: dict[str, str] = {}
    for k, key in enumerate(source.spec.properties):
        codes = source.columns.codes[:, k]
        sample = codes[codes >= 0][:1]
        kind = "String"
        if sample.size:
            field = bytes(source.columns.value_fields[int(sample[0])])
            # Layer.values field: 0x22, varint length, then the Value message whose first byte
            # (its field key) tells the type
            i = 1
            while field[i] & 0x80:
                i += 1
            kind = _VALUE_TYPES.get(field[i + 1], "String")
        out[key] = kind
    return out


def tilejson(
    source: TileSource,
    base_url: str,
    *,
    attribution: str = "© OpenStreetMap contributors (ODbL); yizhi",
    version: str | None = None,
) -> dict[str, Any]:
    """The TileJSON 3.0.0 document of one layer.

    Parameters
    ----------
    source
        The loaded layer.
    base_url
        Root of the tile service, without a trailing slash (``https://maps.example.org/api``).
    version
        The data version; appended to the tile URL (``?v=``) so that caches see new tiles after
        a change.
    """
    spec = source.spec
    url = base_url.rstrip("/") + TILE_PATH.format(layer=spec.name)
    if version:
        url += f"?v={version}"
    bounds = source.lonlat_bounds() or (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
    centre = [
        round((bounds[0] + bounds[2]) / 2, 6),
        round((bounds[1] + bounds[3]) / 2, 6),
        int(np.clip(spec.minzoom + 1, spec.minzoom, spec.maxzoom)),
    ]
    return {
        "tilejson": "3.0.0",
        "name": spec.name,
        "description": spec.description,
        "version": "1.0.0",
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": spec.minzoom,
        "maxzoom": spec.maxzoom,
        "bounds": [round(b, 6) for b in bounds],
        "center": centre,
        "vector_layers": [
            {
                "id": spec.name,
                "description": spec.description,
                "minzoom": spec.minzoom,
                "maxzoom": spec.maxzoom,
                "fields": _fields(source),
            }
        ],
    }


def style(
    tiles: TileSet | Mapping[str, TileSource],
    base_url: str,
    *,
    layers: Iterable[str] | None = None,
    name: str = "yizhi",
) -> dict[str, Any]:
    """A MapLibre GL style (version 8) drawing the given layers from our own tiles only.

    One vector source per layer points at its TileJSON (``<base_url>/tiles/<layer>.json``);
    polygons get a fill and an outline, lines a line, points a circle. No glyphs, no sprite, no
    text: nothing is fetched from outside the deployment.
    """
    sources = tiles.sources if isinstance(tiles, TileSet) else dict(tiles)
    names = [n for n in (layers or sources) if n in sources]
    root = base_url.rstrip("/")
    style_layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#f8f9fa"}}
    ]
    style_sources: dict[str, Any] = {}
    for layer in names:
        spec = sources[layer].spec
        fill, line, width, opacity, radius = _PAINT.get(
            layer, ("#cccccc", "#666666", 1.0, 0.3, 3.0)
        )
        style_sources[layer] = {"type": "vector", "url": f"{root}/tiles/{layer}.json"}
        common = {"source": layer, "source-layer": layer, "minzoom": spec.minzoom}
        if spec.kind == "polygon":
            if opacity > 0:
                style_layers.append(
                    {
                        "id": f"{layer}-fill",
                        "type": "fill",
                        **common,
                        "paint": {"fill-color": fill, "fill-opacity": opacity},
                    }
                )
            style_layers.append(
                {
                    "id": f"{layer}-line",
                    "type": "line",
                    **common,
                    "paint": {"line-color": line, "line-width": width},
                }
            )
        elif spec.kind == "line":
            style_layers.append(
                {
                    "id": f"{layer}-line",
                    "type": "line",
                    **common,
                    "layout": {"line-cap": "round", "line-join": "round"},
                    "paint": {
                        "line-color": line,
                        "line-width": ["case", ["get", "is_major"], width * 2, width],
                    },
                }
            )
        else:
            style_layers.append(
                {
                    "id": f"{layer}-circle",
                    "type": "circle",
                    **common,
                    "paint": {
                        "circle-color": fill,
                        "circle-radius": radius,
                        "circle-stroke-color": line,
                        "circle-stroke-width": width,
                    },
                }
            )
    bounds = [sources[n].lonlat_bounds() for n in names]
    known = [b for b in bounds if b is not None]
    centre = [0.0, 0.0]
    if known:
        centre = [
            round((min(b[0] for b in known) + max(b[2] for b in known)) / 2, 6),
            round((min(b[1] for b in known) + max(b[3] for b in known)) / 2, 6),
        ]
    return {
        "version": 8,
        "name": name,
        "center": centre,
        "zoom": 14,
        "sources": style_sources,
        "layers": style_layers,
    }
