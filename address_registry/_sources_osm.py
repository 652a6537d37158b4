"""Column normalisers for OpenStreetMap-derived layers (private; see :mod:`.sources`).

Two flavours of OSM data are read: Tilezen vector-tile features (``kind`` / ``kind_detail``,
``name:en``, ``addr_street``) and raw Overpass ways (``highway``, ``name:zh``).
"""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd

from address_registry._sources_load import bool_column, float_column, text_column, with_raw

#: ``road_class`` of each OSM ``highway`` value. Major roads (主干路/次干路) are the lines grid
#: and community boundaries follow; lanes are service roads and 弄/巷 alleys.
HIGHWAY_CLASS: dict[str, str] = {
    **dict.fromkeys(
        [
            "motorway",
            "trunk",
            "primary",
            "secondary",
            "motorway_link",
            "trunk_link",
            "primary_link",
            "secondary_link",
        ],
        "major",
    ),
    **dict.fromkeys(
        ["tertiary", "tertiary_link", "unclassified", "residential", "road", "busway"], "minor"
    ),
    **dict.fromkeys(["service", "living_street", "alley", "driveway"], "lane"),
    **dict.fromkeys(
        [
            "footway",
            "path",
            "pedestrian",
            "steps",
            "cycleway",
            "track",
            "bridleway",
            "corridor",
            "sidewalk",
            "crossing",
            "platform",
        ],
        "path",
    ),
    **dict.fromkeys(
        [
            "rail",
            "subway",
            "light_rail",
            "tram",
            "monorail",
            "narrow_gauge",
            "funicular",
            "preserved",
        ],
        "rail",
    ),
}
#: Fallback ``road_class`` of a Tilezen ``kind`` when ``kind_detail`` says nothing known.
TILEZEN_KIND_CLASS = {
    "highway": "major",
    "major_road": "major",
    "minor_road": "minor",
    "path": "path",
    "rail": "rail",
}
#: A road or minor road named like an alley (…弄, …巷) is a lane.
_LANE_NAME = re.compile(r"(弄|巷)\s*$")


def road_class(
    highway: pd.Series, names: pd.Series, fallback: pd.Series | None = None
) -> pd.Series:
    """Return the normalised road class (major / minor / lane / path / rail / other).

    >>> road_class(pd.Series(["primary", "residential", "service", None]),
    ...            pd.Series(["南京东路", "万航渡路 676 弄", None, None])).tolist()
    ['major', 'lane', 'lane', 'other']
    """
    out = []
    for i, value in enumerate(highway):
        cls = HIGHWAY_CLASS.get(str(value)) if isinstance(value, str) else None
        if cls is None and fallback is not None:
            kind = fallback.iat[i]
            cls = TILEZEN_KIND_CLASS.get(str(kind)) if isinstance(kind, str) else None
        cls = cls or "other"
        name = names.iat[i]
        if cls == "minor" and isinstance(name, str) and _LANE_NAME.search(name):
            cls = "lane"
        out.append(cls)
    return pd.Series(out, index=highway.index, dtype=object)


def buildings(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
    """Tilezen ``buildings`` layer → normalised building columns."""
    columns = {
        "kind": text_column(frame, "kind"),
        "name": text_column(frame, "name", "name:zh"),
        "name_en": text_column(frame, "name:en"),
        "old_name": text_column(frame, "old_name"),
        "height": float_column(frame, "height"),
        "levels": float_column(frame, "building:levels", "levels"),
        "addr_street": text_column(frame, "addr_street", "addr:street"),
        "addr_housenumber": text_column(frame, "addr_housenumber", "addr:housenumber"),
        "kind_detail": text_column(frame, "kind_detail"),
        "is_label": bool_column(frame, "label_placement"),
    }
    consumed = [
        "id",
        "name:en",
        "addr:street",
        "addr:housenumber",
        "building:levels",
    ]
    return with_raw(columns, frame, consumed)


def tilezen_roads(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
    """Tilezen ``roads`` layer → normalised road columns with ``road_class``/``is_major``."""
    kind = text_column(frame, "kind")
    detail = text_column(frame, "kind_detail")
    name = text_column(frame, "name", "name:zh")
    cls = road_class(detail, name, fallback=kind)
    columns = {
        "kind": kind,
        "kind_detail": detail,
        "name": name,
        "name_en": text_column(frame, "name:en"),
        "road_class": cls,
        "is_major": cls.eq("major").astype(bool),
    }
    return with_raw(columns, frame, ["id", "name:en"])


def overpass_roads(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
    """Overpass ``highway=*`` ways → normalised road columns with ``road_class``/``is_major``."""
    highway = text_column(frame, "highway")
    name = text_column(frame, "name", "name:zh")
    cls = road_class(highway, name)
    columns = {
        "highway": highway,
        "name": name,
        "name_zh": text_column(frame, "name:zh", "name:zh-Hans"),
        "name_en": text_column(frame, "name:en"),
        "ref": text_column(frame, "ref"),
        "oneway": text_column(frame, "oneway"),
        "lanes": float_column(frame, "lanes"),
        "road_class": cls,
        "is_major": cls.eq("major").astype(bool),
    }
    return with_raw(columns, frame, ["osm_id", "name:zh", "name:en"])


def tilezen_features(frame: gpd.GeoDataFrame, ids: pd.Series) -> pd.DataFrame:
    """Any other Tilezen layer (POIs, land use, water, places) → kind, name and the rest."""
    columns = {
        "kind": text_column(frame, "kind"),
        "kind_detail": text_column(frame, "kind_detail"),
        "name": text_column(frame, "name", "name:zh"),
        "name_en": text_column(frame, "name:en"),
    }
    return with_raw(columns, frame, ["id", "name:en"])
