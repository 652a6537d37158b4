"""A tiny crafted city from shapely boxes for the registry build tests.

One district (310101 黄浦区, a 0.006° × 0.012° box), one street (310101013 外滩街道) and three
communities: 汉口路居委会 (seeded on the road 汉口路 at y = 31.003), 北京居委会 and 宁波路居委会
(no seed in the city: they share the northern blocks). The sample extent reaches 0.002° east of
the district, so a building there lies in no community.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from address_registry._inputs import Sources, normalise_buildings

WGS84 = "EPSG:4326"
DISTRICT = shapely.box(121.000, 31.000, 121.006, 31.012)
EXTENT = shapely.box(121.000, 31.000, 121.008, 31.012)
DERIVE = {"310101": ("310101013",)}


def square(x: float, y: float, size: float = 0.0002) -> shapely.Polygon:
    """A square building footprint with its south-west corner at ``(x, y)``."""
    return shapely.box(x, y, x + size, y + size)


def divisions() -> pd.DataFrame:
    rows = [
        ("31", "上海市", "province", None),
        ("3101", "市辖区", "city", "31"),
        ("310101", "黄浦区", "district", "3101"),
        ("310115", "浦东新区", "district", "3101"),
        ("310101013", "外滩街道", "street", "310101"),
        ("310101013001", "汉口路居委会", "community", "310101013"),
        ("310101013003", "北京居委会", "community", "310101013"),
        ("310101013004", "宁波路居委会", "community", "310101013"),
    ]
    return pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"], dtype=object)


def buildings(bad: bool = False) -> gpd.GeoDataFrame:
    """The buildings; ``bad`` adds a bow-tie, an empty polygon, a duplicate ID and one far away."""
    rows = [
        # source_id, kind, root_id, name, height, kind_detail, street, number, geometry
        (
            "101",
            "building",
            None,
            "一号楼",
            18.0,
            "apartments",
            "汉口路",
            "12",
            square(121.001, 31.001),
        ),
        ("102", "building", None, None, None, None, None, None, square(121.004, 31.0015)),
        ("103", "building", None, "办公楼", 30.0, "office", None, None, square(121.002, 31.008)),
        ("104", "building", None, None, 12.0, None, None, None, square(121.004, 31.009)),
        (
            "105",
            "building_part",
            "104",
            None,
            40.0,
            None,
            None,
            None,
            square(121.0041, 31.0091, 0.0001),
        ),
        ("106", "building", None, None, None, None, None, None, square(121.007, 31.005)),  # outside
        (
            "201",
            "address",
            None,
            None,
            None,
            None,
            "九江路126弄",
            "9",
            shapely.Point(121.0021, 31.0081),
        ),
        ("202", "entrance", None, None, None, None, None, None, shapely.Point(121.5, 31.5)),
    ]
    if bad:
        rows += [
            (
                "901",
                "building",
                None,
                None,
                None,
                None,
                None,
                None,
                shapely.Polygon(
                    [(121.001, 31.002), (121.0012, 31.0022), (121.0012, 31.002), (121.001, 31.0022)]
                ),
            ),
            ("902", "building", None, None, None, None, None, None, shapely.Polygon()),
            ("101", "building", None, None, None, None, None, None, square(121.0015, 31.0015)),
            ("903", "building", None, None, None, None, None, None, square(121.5, 31.5)),
        ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "kind",
            "root_id",
            "name",
            "height",
            "kind_detail",
            "addr_street",
            "addr_housenumber",
            "geometry",
        ],
    )
    return normalise_buildings(gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84))


def roads() -> gpd.GeoDataFrame:
    rows = [
        (
            "osm",
            "1",
            "汉口路",
            "Hankou Road",
            "major",
            shapely.LineString([(120.999, 31.003), (121.009, 31.003)]),
        ),
        (
            "osm",
            "2",
            "九江路",
            "Jiujiang Road",
            "minor",
            shapely.LineString([(121.003, 30.999), (121.003, 31.013)]),
        ),
        (
            "osm",
            "3",
            None,
            None,
            "path",
            shapely.LineString([(121.0005, 31.0005), (121.0009, 31.0009)]),
        ),
    ]
    frame = pd.DataFrame(
        rows, columns=["source", "source_id", "name", "name_en", "road_class", "geometry"]
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)


def features(rows: list[tuple[str, str, str | None, shapely.Geometry]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=["source_id", "kind", "name", "geometry"])
    frame["kind_detail"] = None
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)


def city(bad: bool = False) -> Sources:
    """The crafted city as build inputs."""
    estate = shapely.box(121.0015, 31.0075, 121.0055, 31.0105)
    landuse = features(
        [
            ("301", "residential", "天安小区", estate),
            ("302", "wall", None, shapely.LineString([(121.0015, 31.0075), (121.0055, 31.0075)])),
        ]
    )
    pois = features([("401", "restaurant", "老饭店", shapely.Point(121.0041, 31.0016))])
    districts = gpd.GeoDataFrame(
        {"code": ["310101"], "name": ["黄浦区"]}, geometry=[DISTRICT], crs=WGS84
    )
    return Sources(
        buildings=buildings(bad),
        roads=roads(),
        pois=pois,
        landuse=landuse,
        districts=districts,
        divisions=divisions(),
        extent=EXTENT,
        label="crafted",
    )
