"""Read one community's inputs for the partitioner from the register (private).

A :class:`Community` holds, in the community's metric CRS (:func:`common.coords.metric_crs` of
its centroid): the community polygon, the barrier lines (major roads of ``roads`` plus any
extra barriers given), and the active buildings with households, per-unit households, estate
and enclosure. It also knows how to turn metric geometry back into WGS84 for storage.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from address_registry import queries as register
from common.coords import metric_crs
from common.errors import NotFound
from grid_partition._graph import building_graph
from grid_partition._validate import Buildings, normalise
from grid_partition.partition import PRESETS

#: Longest neighbour link between two buildings (the partitioner's community preset).
MAX_EDGE = PRESETS["community"][3]


@dataclass
class Community:
    """Inputs of one community, metric CRS."""

    code: str
    crs: pyproj.CRS
    polygon: Any
    barriers: npt.NDArray[np.object_]
    buildings: Any
    """GeoDataFrame: building_id, households, units (list), estate_id, enclosure, geometry."""
    unit_codes: dict[str, list[str]]
    """Per building split into units: the register's unit codes, in partitioner order."""
    _to_wgs: pyproj.Transformer
    _norm: Buildings | None = field(default=None, repr=False)
    _graph: Any = field(default=None, repr=False)

    @property
    def norm(self) -> Buildings:
        """The partitioner's normalised building arrays."""
        if self._norm is None:
            self._norm = normalise(self.buildings)
        return self._norm

    @property
    def graph(self) -> Any:
        """Building adjacency (Delaunay links up to :data:`MAX_EDGE`, cut by barriers)."""
        if self._graph is None:
            b = self.norm
            self._graph, _ = building_graph(
                b.x, b.y, max_edge=MAX_EDGE, barriers=self.barriers if len(self.barriers) else None
            )
        return self._graph

    def to_wgs84(self, geoms: Any) -> npt.NDArray[np.object_]:
        """Metric geometries back to WGS84 (lon, lat)."""
        return _project(self._to_wgs, geoms)

    def unit_index(self, building_id: str, unit: str) -> int:
        """Partitioner unit number (0 whole, 1..k) of a register unit code; -1 if unknown."""
        if unit == "00":
            return 0
        codes = self.unit_codes.get(building_id)
        if not codes or unit not in codes:
            return -1
        return codes.index(unit) + 1

    def unit_code(self, building_id: str, index: int) -> str:
        """Register unit code of a partitioner unit number."""
        if index == 0:
            return "00"
        return self.unit_codes[building_id][index - 1]

    def rows(self, assignments: pd.DataFrame) -> pd.DataFrame:
        """Stored assignments (``building_id``, ``unit`` as register code, ``micro_grid_code``,
        ``grid_code``) as partitioner rows (``building_id``, ``unit`` as number: 0 whole, 1..k,
        -1 unknown; ``micro``, ``grid``)."""
        units = [
            self.unit_index(str(b), str(u))
            for b, u in zip(assignments["building_id"], assignments["unit"], strict=True)
        ]
        return pd.DataFrame(
            {
                "building_id": assignments["building_id"].astype(str).to_numpy(dtype=object),
                "unit": units,
                "micro": assignments["micro_grid_code"].astype(str).to_numpy(dtype=object),
                "grid": assignments["grid_code"].astype(str).to_numpy(dtype=object),
            }
        )


def _transformers(
    lon: float, lat: float
) -> tuple[pyproj.CRS, pyproj.Transformer, pyproj.Transformer]:
    crs = metric_crs(lon, lat)
    return (crs, *_pair(crs.to_wkt()))


@functools.lru_cache(maxsize=16)
def _pair(wkt: str) -> tuple[pyproj.Transformer, pyproj.Transformer]:
    """WGS84 <-> metric transformers (slow to build: cached per CRS)."""
    crs = pyproj.CRS.from_wkt(wkt)
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    back = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, back


def _project(tr: pyproj.Transformer, geoms: Any) -> npt.NDArray[np.object_]:
    def move(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), move), dtype=object)


def community_codes(con: duckdb.DuckDBPyConnection, codes: list[str] | None = None) -> list[str]:
    """Communities with a boundary and at least one active building (all, or those asked).

    Raises
    ------
    NotFound
        When an asked code is not a community with a boundary in the register.
    """
    known = register.communities_with_buildings(con)
    if codes is None:
        return known
    missing = [c for c in codes if c not in set(known)]
    if missing:
        raise NotFound(
            f"communities {missing} have no boundary or no active buildings in the register"
        )
    return sorted(set(codes))


def _barriers_wgs(extra: Any | None) -> npt.NDArray[np.object_]:
    if extra is None:
        return np.empty(0, dtype=object)
    crs = getattr(extra, "crs", None)
    if crs is not None and pyproj.CRS.from_user_input(crs).to_epsg() != 4326:
        extra = extra.to_crs("EPSG:4326")
    geoms = np.asarray(getattr(extra, "geometry", extra), dtype=object).reshape(-1)
    return geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


def _unit_split(
    frame: pd.DataFrame, rooms: pd.DataFrame
) -> tuple[list[list[int] | None], dict[str, list[str]]]:
    """Per building, per-unit households (None: not split) and the unit codes in order.

    ``rooms``: household rooms per unit (columns building_id, unit, n). A building's units
    come from its rooms when they add up to its households, else its households are split
    evenly over ``units``.
    """
    by_b: dict[str, list[tuple[str, int]]] = {}
    for bid, unit, n in zip(
        rooms["building_id"].astype(str).tolist(),
        rooms["unit"].astype(str).tolist(),
        rooms["n"].astype(np.int64).tolist(),
        strict=True,
    ):
        by_b.setdefault(bid, []).append((unit, n))
    out: list[list[int] | None] = []
    codes: dict[str, list[str]] = {}
    for bid, hh, nu in zip(
        frame["building_id"].astype(str).tolist(),
        frame["households"].astype(np.int64).tolist(),
        frame["units"].astype(np.int64).tolist(),
        strict=True,
    ):
        if nu <= 1 or hh <= 0:
            out.append(None)
            continue
        got = by_b.get(bid)
        if got is not None and len(got) > 1 and sum(n for _, n in got) == hh:
            got = sorted(got)
            out.append([n for _, n in got])
            codes[bid] = [u for u, _ in got]
            continue
        base, rest = divmod(hh, nu)
        out.append([base + (1 if j < rest else 0) for j in range(nu)])
        codes[bid] = [f"{j + 1:02d}" for j in range(nu)]
    return out, codes


@dataclass
class CommunityInput:
    """The raw inputs of one community as read from the register (WGS84, picklable: plain
    pandas / numpy / bytes, no connection), turned into a :class:`Community` by
    :func:`build_community`, possibly in a worker process."""

    code: str
    polygon_wkb: bytes
    barriers_wkb: list[bytes]
    """Barriers (major roads, extra barriers) that touch the community polygon."""
    frame: pd.DataFrame
    """Active buildings: building_id, households, units, estate_id, enclosure, wkb."""
    rooms: pd.DataFrame
    """Household rooms per unit of those buildings: building_id, unit, n."""

    @property
    def size(self) -> int:
        """Number of buildings (used to schedule the largest communities first)."""
        return len(self.frame)


def read_communities(
    con: duckdb.DuckDBPyConnection, codes: list[str], *, barriers: Any | None = None
) -> list[CommunityInput]:
    """Read the raw partitioner inputs of ``codes`` from the register (one read per table).

    Parameters
    ----------
    con
        The store.
    codes
        Community codes (each with a boundary and buildings, see :func:`community_codes`).
    barriers
        Extra barrier geometries (GeoDataFrame / GeoSeries in any CRS, or shapely geometries
        in WGS84), e.g. water from :func:`address_registry.sources.water_from_geojson`; the
        major roads of the register are always used.
    """
    if not codes:
        return []
    areas = register.community_boundaries_frame(con, codes)
    bld = register.active_buildings_frame(con, codes)
    rooms = register.household_units_frame(con, codes)
    road_wkb = register.major_roads_wkb(con)
    extra = _barriers_wgs(barriers)
    all_wkb = road_wkb + [bytes(w) for w in shapely.to_wkb(extra)]
    all_barriers = np.asarray(shapely.from_wkb(all_wkb), dtype=object).reshape(-1)
    tree = shapely.STRtree(all_barriers) if len(all_barriers) else None
    groups = {str(k): v for k, v in bld.groupby("community_code", sort=True)}
    room_groups = {str(k): v for k, v in rooms.groupby("community_code", sort=True)}
    no_rooms = rooms.iloc[:0][["building_id", "unit", "n"]]
    out: list[CommunityInput] = []
    for code, wkb in zip(areas["code"], areas["wkb"], strict=True):
        frame = groups.get(str(code))
        if frame is None or not len(frame):
            continue
        poly_wgs = shapely.make_valid(shapely.from_wkb(bytes(wkb)))
        near = (
            np.sort(np.asarray(tree.query(poly_wgs, predicate="intersects"), dtype=np.int64))
            if tree is not None
            else np.empty(0, dtype=np.int64)
        )
        got = room_groups.get(str(code))
        out.append(
            CommunityInput(
                code=str(code),
                polygon_wkb=bytes(wkb),
                barriers_wkb=[all_wkb[int(i)] for i in near],
                frame=frame.drop(columns="community_code").reset_index(drop=True),
                rooms=no_rooms
                if got is None
                else got[["building_id", "unit", "n"]].reset_index(drop=True),
            )
        )
    return out


def build_community(inp: CommunityInput) -> Community:
    """Project one community's raw inputs to its metric CRS and normalise its buildings."""
    import geopandas as gpd

    poly_wgs = shapely.make_valid(shapely.from_wkb(inp.polygon_wkb))
    c = poly_wgs.centroid
    crs, fwd, back = _transformers(float(c.x), float(c.y))
    poly = _project(fwd, [poly_wgs])[0]
    if inp.barriers_wkb:
        bars = _project(fwd, shapely.from_wkb(inp.barriers_wkb))
    else:
        bars = np.empty(0, dtype=object)
    frame = inp.frame
    units, unit_codes = _unit_split(frame, inp.rooms)
    geom = _project(fwd, shapely.from_wkb(frame["wkb"].map(bytes).to_list()))
    geom = _inside(geom, poly)
    gdf = gpd.GeoDataFrame(
        {
            "building_id": frame["building_id"].astype(str).to_numpy(dtype=object),
            "households": frame["households"].astype(np.int64).to_numpy(),
            "units": pd.Series(units, dtype=object).to_numpy(),
            "estate_id": frame["estate_id"].astype(object).where(frame["estate_id"].notna(), None),
            "enclosure": frame["enclosure"].astype(object).where(frame["enclosure"].notna(), None),
        },
        geometry=geom,
        crs=crs,
    )
    return Community(
        code=inp.code,
        crs=crs,
        polygon=poly,
        barriers=np.asarray(bars, dtype=object),
        buildings=gdf,
        unit_codes=unit_codes,
        _to_wgs=back,
    )


def load_communities(
    con: duckdb.DuckDBPyConnection, codes: list[str], *, barriers: Any | None = None
) -> list[Community]:
    """Read the partitioner inputs of ``codes`` from the register, in this process.

    :func:`read_communities` then :func:`build_community` for each; see there for the
    parameters.
    """
    return [build_community(i) for i in read_communities(con, codes, barriers=barriers)]


def _inside(geom: npt.NDArray[np.object_], poly: Any) -> npt.NDArray[np.object_]:
    """Footprints whose representative point is outside the community: clipped to it, or its
    nearest point when they do not overlap it (the register assigns by the point, the
    partitioner by the footprint; a few centimetres of reprojection must not fail a build)."""
    pts = shapely.point_on_surface(geom)
    out = ~shapely.intersects(poly, pts)
    if not out.any():
        return geom
    geom = geom.copy()
    for i in np.flatnonzero(out):
        clip = shapely.intersection(geom[i], poly)
        ok = not clip.is_empty and clip.area > 0
        if ok and shapely.intersects(poly, shapely.point_on_surface(clip)):
            geom[i] = clip
        else:
            near = shapely.shortest_line(poly, pts[i]).coords[0]
            inner = shapely.point_on_surface(
                shapely.intersection(poly, shapely.Point(near).buffer(0.5))
            )
            geom[i] = inner if not inner.is_empty else shapely.point_on_surface(poly)
    return geom
