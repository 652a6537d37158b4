"""The default MapLibre style of the service: the engine's style plus choropleths and density.

:func:`api.tiles.tilejson.style` draws every layer in one colour. The service adds what a
viewer of the city needs: grids and micro-grids coloured by a chosen block metric (quantile
classes computed from the data), the event density cells coloured by their count, and
metadata that lists the metrics a viewer may choose from.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from api.tiles._blocks import public_blocks
from api.tiles.layers import BLOCK_PROPERTIES, LAYERS

#: Metrics a style may colour the grid layers by (properties of both ``grids`` and
#: ``micro_grids``).
METRICS: tuple[str, ...] = ("households", *BLOCK_PROPERTIES)
#: Five classes, light to dark (ColorBrewer YlOrRd).
RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Colour of a block whose value is suppressed (a public count from 1 to 4) or missing.
SUPPRESSED = "#d9d9d9"
#: Layers coloured by a chosen metric.
CHOROPLETH_LAYERS = ("grids", "micro_grids")


def breaks(con: duckdb.DuckDBPyConnection, layer: str, metric: str) -> list[float]:
    """Quantile class breaks (strictly increasing, at most 4) of the *public* ``metric`` values
    of ``layer`` (hidden block counts take no part, so no break can reveal one)."""
    if metric not in METRICS:
        raise ValueError(metric)
    spec = LAYERS[layer]
    rows = con.execute(f"SELECT key, {metric} FROM ({spec.sql})").fetchall()
    values: Any = [r[1] for r in rows]
    if spec.block_level is not None:
        values = public_blocks(con, spec.block_level, [r[0] for r in rows], {metric: values})[
            metric
        ]
    known = np.array([float(v) for v in values if v is not None], dtype=float)
    if not known.size:
        return []
    out: list[float] = []
    for v in np.quantile(known, [0.2, 0.4, 0.6, 0.8]):
        cut = round(float(v), 3)
        if not out or cut > out[-1]:
            out.append(cut)
    return out


def choropleth(metric: str, cuts: list[float]) -> list[Any]:
    """A MapLibre ``fill-color`` expression: quantile classes, grey where suppressed.

    >>> choropleth("events", [10.0, 20.0])[2]
    ['step', ['get', 'events'], '#ffffb2', 10.0, '#fd8d3c', 20.0, '#bd0026']
    """
    colours = [RAMP[round(i * (len(RAMP) - 1) / max(len(cuts), 1))] for i in range(len(cuts) + 1)]
    step: list[Any] = ["step", ["get", metric], colours[0]]
    for cut, colour in zip(cuts, colours[1:], strict=True):
        step += [cut, colour]
    return ["case", ["==", ["typeof", ["get", metric]], "number"], step, SUPPRESSED]


def decorate(
    doc: dict[str, Any],
    *,
    metric: str | None,
    cuts: dict[str, list[float]],
    version: str,
) -> dict[str, Any]:
    """Add the choropleth of ``metric`` (with ``cuts`` per layer) and the density colours."""
    for layer in doc["layers"]:
        source = layer.get("source")
        if metric and source in CHOROPLETH_LAYERS and layer["type"] == "fill":
            layer["paint"] = {
                "fill-color": choropleth(metric, cuts.get(source, [])),
                "fill-opacity": 0.6,
            }
        if source == "event_density" and layer["type"] == "fill":
            layer["maxzoom"] = LAYERS["event_density"].maxzoom + 1
            layer["paint"] = {
                "fill-color": [
                    "interpolate",
                    ["linear"],
                    ["get", "events"],
                    1,
                    RAMP[0],
                    20,
                    RAMP[2],
                    100,
                    RAMP[4],
                ],
                "fill-opacity": 0.55,
            }
    doc["metadata"] = {
        "yizhi:data_version": version,
        "yizhi:metrics": list(METRICS),
        "yizhi:metric": metric,
        "yizhi:breaks": cuts,
        "yizhi:suppressed_colour": SUPPRESSED,
    }
    return doc
