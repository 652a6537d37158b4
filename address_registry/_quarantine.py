"""Collect what a build cannot register, with a stable reason slug, and count per layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


@dataclass
class LayerCount:
    """Rows in, registered and quarantined for one layer (``in = registered + quarantined``)."""

    rows_in: int = 0
    registered: int = 0
    quarantined: int = 0

    def as_dict(self) -> dict[str, int]:
        """The JSON form used in the build report."""
        return {"in": self.rows_in, "registered": self.registered, "quarantined": self.quarantined}


@dataclass
class Quarantine:
    """Rows set aside during a build, one frame per call, and the per-layer accounting."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    counts: dict[str, LayerCount] = field(default_factory=dict)

    def layer(self, name: str) -> LayerCount:
        """The counter of ``name`` (created on first use)."""
        return self.counts.setdefault(name, LayerCount())

    def add(
        self,
        layer: str,
        source: str,
        rows: pd.DataFrame,
        reason: str,
        detail: str | list[str] | np.ndarray,
        *,
        id_column: str = "source_id",
    ) -> None:
        """Quarantine ``rows`` of ``layer`` for ``reason``; counts them as quarantined."""
        if len(rows) == 0:
            return
        geoms = rows.geometry.array if isinstance(rows, gpd.GeoDataFrame) else None
        wkb: Any = (
            shapely.to_wkb(np.asarray(geoms), include_srid=False)
            if geoms is not None
            else [None] * len(rows)
        )
        attrs = rows.drop(columns=[rows.geometry.name]) if geoms is not None else rows
        raw = _json_lines(attrs)
        ids = rows[id_column].astype("string") if id_column in rows else [None] * len(rows)
        frame = pd.DataFrame(
            {
                "layer": layer,
                "source": source,
                "source_id": list(ids),
                "reason": reason,
                "detail": detail if not isinstance(detail, str) else [detail] * len(rows),
                "geom_wkb": list(wkb),
                "raw": raw,
            }
        )
        self.frames.append(frame)
        self.layer(layer).quarantined += len(rows)

    def frame(self) -> pd.DataFrame:
        """All quarantined rows as one frame (``geom_wkb`` as bytes)."""
        if not self.frames:
            return pd.DataFrame(
                columns=["layer", "source", "source_id", "reason", "detail", "geom_wkb", "raw"]
            )
        return pd.concat(self.frames, ignore_index=True)

    def reasons(self) -> dict[str, dict[str, int]]:
        """Counts per layer and reason slug."""
        out: dict[str, dict[str, int]] = {}
        for frame in self.frames:
            sizes = frame.groupby(["layer", "reason"]).size()
            for key, n in zip(sizes.index, sizes.to_numpy(), strict=True):
                layer, reason = str(key[0]), str(key[1])
                out.setdefault(layer, {})
                out[layer][reason] = out[layer].get(reason, 0) + int(n)
        return out


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row, serialised by pandas (missing values are ``null``)."""
    if frame.empty:
        return []
    plain = frame.copy()
    for column in plain.columns:
        if plain[column].dtype == object:
            plain[column] = plain[column].map(_plain)
    text = plain.to_json(orient="records", lines=True, force_ascii=False, default_handler=str)
    return text.splitlines()


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (NaN and NA become ``None``)."""
    if value is None:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
