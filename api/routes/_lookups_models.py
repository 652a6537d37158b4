"""Request and response models of the lookups router, with examples from the sample city.

The sample city is Shanghai's Bund (外滩街道, 黄浦区) and Lujiazui (陆家嘴街道, 浦东新区); every
example below is a real record of it (building 3101010130012024000000071 is 上海海关, the
Custom House at 中山东一路13号).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The longest address text accepted (the resolver's bound).
MAX_QUERY = 200
#: Most addresses in one batch.
MAX_BATCH = 10_000
#: Most candidates per address (the resolver's bound).
MAX_CANDIDATES = 100
#: Most candidates per address in a batch.
MAX_BATCH_CANDIDATES = 10

CUSTOM_HOUSE = "3101010130012024000000071"
CUSTOM_HOUSE_ADDRESS = "上海市黄浦区外滩街道中山东一路13号"
CUSTOM_HOUSE_LON = 121.48549977315668
CUSTOM_HOUSE_LAT = 31.238631650000002
ROOM_EXAMPLE = "3101150050362024000000095010010101"

Level = Literal["room", "building", "doorplate", "road", "community", "street", "district"]
Reason = Literal[
    "empty",
    "too_long",
    "binary",
    "not_text",
    "not_an_address",
    "no_match",
    "ambiguous",
    "admin_only",
    "road_only",
    "doorplate_nearest",
]

# -- parse -------------------------------------------------------------------------------------


class ParsedSpan(BaseModel):
    """One labelled piece of the address; ``start``/``end`` index the text as written."""

    label: str = Field(description="Model label: prov, city, district, road, roadno, poi, ...")
    start: int
    end: int
    text: str = Field(description="The piece as written")
    normalized: str = Field(description="The piece in canonical spelling")


class Components(BaseModel):
    """The components written in the address (normalised spelling); ``null`` when not written."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    devzone: str | None = None
    town: str | None = None
    community: str | None = None
    road: str | None = None
    roadno: str | None = None
    subroad: str | None = None
    subroadno: str | None = None
    poi: str | None = None
    subpoi: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None


class ParseAnswer(BaseModel):
    """The CRF parse of one address."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "上海市黄浦区中山东一路13号2单元301室",
                    "normalized": "上海市黄浦区中山东一路13号2单元301室",
                    "components": {
                        "city": "上海市",
                        "district": "黄浦区",
                        "road": "中山东一路",
                        "roadno": "13号",
                        "unit": "2单元",
                        "room": "301室",
                    },
                    "admin_chains": 1,
                    "spans": [
                        {
                            "label": "road",
                            "start": 6,
                            "end": 11,
                            "text": "中山东一路",
                            "normalized": "中山东一路",
                        }
                    ],
                }
            ]
        }
    )

    text: str = Field(description="The address as sent")
    normalized: str = Field(description="Its canonical spelling (see docs/resolution.md)")
    components: Components
    admin_chains: int = Field(description="How many admin chains (省市区…) the text holds")
    spans: list[ParsedSpan]


# -- resolve -------------------------------------------------------------------------------------


class Candidate(BaseModel):
    """A building, room or area the text may mean, with a calibrated confidence."""

    building_id: str | None = Field(description="25-character building ID; null for road/area")
    room_id: str | None = Field(description="34-character room ID when a room was found")
    level: Level = Field(description="How specific the answer is")
    confidence: float = Field(ge=0, le=1)
    address: str | None = Field(description="The standard address (or the area's name)")
    lon: float | None
    lat: float | None
    matched: dict[str, Any] = Field(
        description="What matched and how: road, doorplate, estate, building_no, name, address, "
        "district/street/community ({code, name, via}), room, successor_of, retired, ways"
    )


_RESOLVE_EXAMPLE: dict[str, Any] = {
    "query": "上海市黄浦区中山东一路13号",
    "normalized": "上海市黄浦区中山东一路13号",
    "ambiguous": False,
    "candidates": [
        {
            "building_id": CUSTOM_HOUSE,
            "room_id": None,
            "level": "building",
            "confidence": 1.0,
            "address": CUSTOM_HOUSE_ADDRESS,
            "lon": CUSTOM_HOUSE_LON,
            "lat": CUSTOM_HOUSE_LAT,
            "matched": {
                "road": "中山东一路",
                "doorplate": "13号",
                "district": {"code": "310101", "name": "黄浦区", "via": "name"},
                "ways": ["doorplate"],
            },
        }
    ],
}


class ResolveAnswer(BaseModel):
    """The resolver's answer (the contract of docs/resolution.md): candidates, best first."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RESOLVE_EXAMPLE]})

    query: str
    normalized: str | None
    ambiguous: bool = Field(description="The best two buildings are too close to choose")
    candidates: list[Candidate]


class ResolveRequest(BaseModel):
    """One address to resolve."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"q": "陆家嘴花旗集团大厦", "limit": 3}]},
    )

    q: str = Field(min_length=1, max_length=MAX_QUERY, description="Free-text address")
    limit: int = Field(5, ge=1, le=MAX_CANDIDATES, description="Most candidates")


class BatchItem(BaseModel):
    """An address with the caller's own ID, echoed in the answer."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=200, description="The caller's ID of the row")
    q: str | None = Field(description="Free-text address (a bad one gets a reason, not an error)")


class BatchRequest(BaseModel):
    """Up to 10,000 addresses: plain strings, or ``{id, q}`` objects."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"addresses": ["黄浦区中山东一路13号", "浦东新区上港小区13号楼", "汉口路"]},
                {
                    "addresses": [
                        {"id": "row-1", "q": "外滩18号"},
                        {"id": "row-2", "q": "花园石桥路250号"},
                    ],
                    "limit": 1,
                },
            ]
        },
    )

    addresses: list[str | BatchItem | None] = Field(
        max_length=MAX_BATCH, description=f"At most {MAX_BATCH:,} addresses"
    )
    limit: int = Field(1, ge=1, le=MAX_BATCH_CANDIDATES, description="Candidates per address")


class BatchAnswer(ResolveAnswer):
    """One answer of a batch, at the position of its address."""

    model_config = ConfigDict(json_schema_extra={})

    index: int = Field(description="Position of the address in the request")
    id: str | None = Field(None, description="The caller's ID, when one was sent")
    reason: Reason | None = Field(
        description="Why it is not resolved to one building or room; null when it is"
    )


class BatchResponse(BaseModel):
    """Every answer in input order, with counts per reason."""

    count: int
    resolved: int = Field(description="Answers with no reason (one building or room)")
    reasons: dict[str, int] = Field(description="Unresolved answers per reason")
    results: list[BatchAnswer]


# -- reverse -------------------------------------------------------------------------------------


class ReverseQuery(BaseModel):
    """The point as sent."""

    lon: float
    lat: float
    crs: str


class ReverseAnswer(BaseModel):
    """The building containing the point, else the nearest within the radius."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": {"lon": CUSTOM_HOUSE_LON, "lat": CUSTOM_HOUSE_LAT, "crs": "wgs84"},
                    "lon": CUSTOM_HOUSE_LON,
                    "lat": CUSTOM_HOUSE_LAT,
                    "building_id": CUSTOM_HOUSE,
                    "inside": True,
                    "distance_m": 0.0,
                    "address": CUSTOM_HOUSE_ADDRESS,
                    "name": "上海海关",
                    "doorplate": "中山东一路13号",
                    "community_code": "310101013001",
                    "community_name": "汉口路居委会",
                }
            ]
        }
    )

    query: ReverseQuery
    lon: float = Field(description="The point in WGS84")
    lat: float = Field(description="The point in WGS84")
    building_id: str
    inside: bool = Field(description="The point lies inside the building")
    distance_m: float = Field(description="Metres from the point to the building (0 inside)")
    address: str | None
    name: str | None
    doorplate: str | None
    community_code: str | None
    community_name: str | None


# -- register ----------------------------------------------------------------------------------


class BuildingFeature(BaseModel):
    """A building as a GeoJSON Feature: register columns, lineage and history in properties."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "Feature",
                    "id": CUSTOM_HOUSE,
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [121.4856001, 31.2388064],
                                [121.4856437, 31.2384809],
                                [121.4853995, 31.2384569],
                                [121.4853558, 31.2387824],
                                [121.4856001, 31.2388064],
                            ]
                        ],
                    },
                    "properties": {
                        "building_id": CUSTOM_HOUSE,
                        "status": "active",
                        "name": "上海海关",
                        "address": CUSTOM_HOUSE_ADDRESS,
                        "community_code": "310101013001",
                        "floors": 7,
                        "predecessors": [],
                        "successors": [],
                        "current_successors": [],
                        "history": [
                            {"op_id": 1, "op": "create", "valid_at": "2024-01-01T00:00:00"}
                        ],
                    },
                }
            ]
        }
    )

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any] = Field(
        description="status (active/retired/proposed), retired_by, the register columns, "
        "predecessors, successors (direct), current_successors (live, transitive), history"
    )


class Room(BaseModel):
    """A room of the register (no person data: occupants are under /v1/people)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "room_id": ROOM_EXAMPLE,
                    "building_id": "3101150050362024000000095",
                    "unit": "01",
                    "floor": "001",
                    "room": "0101",
                    "use": "household",
                    "area_m2": 72.5,
                    "estimated": True,
                    "rule": "residential",
                    "status": "active",
                    "building_status": "active",
                    "community_code": "310115005036",
                    "address": "上海市浦东新区陆家嘴街道即墨路20号上港小区13号楼1单元101室",
                    "lon": 121.50975485137195,
                    "lat": 31.24000495,
                    "successors": [],
                }
            ]
        }
    )

    room_id: str
    building_id: str
    unit: str = Field(description="2 digits, 00 = no unit")
    floor: str = Field(description="3 digits; basements 901-909")
    room: str = Field(description="4 digits")
    use: str | None
    area_m2: float | None
    estimated: bool
    rule: str | None
    status: str
    building_status: str
    community_code: str | None
    address: str | None
    lon: float | None
    lat: float | None
    successors: list[str] = Field(description="Live rooms a retired room became")


# -- search ------------------------------------------------------------------------------------

SearchKind = Literal[
    "building", "doorplate", "estate", "road", "community", "street", "district", "grid"
]


class SearchHit(BaseModel):
    """One thing the search box can jump to."""

    kind: SearchKind
    id: str = Field(
        description="Building ID, doorplate ID, estate ID, road code, area or grid code"
    )
    label: str
    lon: float | None
    lat: float | None
    bbox: list[float] | None = Field(description="[min lon, min lat, max lon, max lat]")


class SearchAnswer(BaseModel):
    """Hits, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "外滩18",
                    "hits": [
                        {
                            "kind": "building",
                            "id": "3101010130142024000000235",
                            "label": "外滩18号 · 上海市黄浦区外滩街道中山东一路18号",
                            "lon": 121.48506352250052,
                            "lat": 31.24032445,
                            "bbox": [121.4848, 31.2401, 121.4853, 31.2406],
                        }
                    ],
                }
            ]
        }
    )

    query: str
    hits: list[SearchHit]
