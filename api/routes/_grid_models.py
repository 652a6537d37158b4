"""Request and response models of the grids router (private): they document the OpenAPI
schema; the hot path (``/v1/grids/at``) answers plain JSON checked against them in the tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.coords import CoordSystem

CommunityCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
GridCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")]
MicroGridCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{17}$")]
BuildingId = Annotated[str, StringConstraints(pattern=r"^[0-9]{24}[0-9X]$")]

#: A coordinate system of ``crs=`` (the names of :data:`common.coords.SUPPORTED_SYSTEMS`).
Crs = CoordSystem

#: Most buildings one edit may name.
MAX_BATCH = 10_000


class GridAt(BaseModel):
    """The codes at a point (``lon``/``lat`` are the WGS84 point looked up)."""

    version: int
    lon: float
    lat: float
    grid_code: str
    micro_grid_code: str | None
    unit_grid_code: str | None
    community_code: str
    street_code: str
    district_code: str
    community_name: str | None
    street_name: str | None
    district_name: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "version": 1,
                "lon": 121.4868,
                "lat": 31.2384,
                "grid_code": "310101013014015",
                "micro_grid_code": "31010101301401501",
                "unit_grid_code": "310101013014059",
                "community_code": "310101013014",
                "street_code": "310101013",
                "district_code": "310101",
                "community_name": "中山东一路居委会",
                "street_name": "外滩街道",
                "district_name": "黄浦区",
            }
        }
    )


class BlockData(BaseModel):
    """Block data of one block for one grid version (``fusion.blocks``)."""

    level: Literal["micro_grid", "grid", "community", "street", "district"]
    code: str
    version: int
    available: bool = Field(description="False when no block data is stored for the version")
    suppressed: bool = Field(
        description="Whether small counts were suppressed (callers without the analyst scope)"
    )
    suppress_below: int | None = Field(description="Counts from 1 to this - 1 are shown as null")
    suppressed_metrics: list[str] = Field(description="Metrics whose value was hidden")
    metrics: dict[str, float | None] = Field(
        description="metric → value; null where suppressed",
        examples=[{"households": 528.0, "residents.registered": 812.0, "care.elderly_alone": None}],
    )


class BlockFeature(BaseModel):
    """A grid, micro-grid or community as a GeoJSON Feature, with its block data as a foreign
    member (RFC 7946 §6.1)."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] | None
    properties: dict[str, Any] = Field(
        description="kind, code, version, households, cap, enclosure, estates, parents "
        "({level: {code, name}}), children (codes below), grid_worker (null: none stored)"
    )
    block_data: BlockData


class GridRow(BaseModel):
    """One grid of a list."""

    code: str
    community_code: str
    households: int | None = Field(description="null: from 1 to 4, suppressed (not analyst)")
    buildings: int
    micro_grid_count: int
    area_m2: float | None
    compactness: float | None


class GridList(BaseModel):
    """A page of grids."""

    version: int
    community: str | None
    total: int
    limit: int
    offset: int
    grids: list[GridRow]


class VersionRow(BaseModel):
    """One grid version."""

    version_id: int
    parent_version: int | None
    status: str
    kind: str
    note: str | None
    actor: str | None
    created_at: str
    grids: int
    households: float


class VersionList(BaseModel):
    """Every grid version, oldest first."""

    versions: list[VersionRow]


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=1, description="The version to edit (default: the active one)"
    )
    note: str | None = Field(None, max_length=500, description="Why (kept with the version)")


class MoveEdit(_Edit):
    """Move whole buildings to a micro-grid, or to a new micro-grid of a grid."""

    op: Literal["move"]
    buildings: list[BuildingId] = Field(min_length=1, max_length=MAX_BATCH)
    to_micro_grid: MicroGridCode | None = None
    to_grid: GridCode | None = None

    @model_validator(mode="after")
    def _one_target(self) -> MoveEdit:
        if (self.to_micro_grid is None) == (self.to_grid is None):
            raise ValueError("give exactly one of to_micro_grid and to_grid")
        return self


class SplitEdit(_Edit):
    """Split a grid in two along micro-grid lines (default: the most balanced cut)."""

    op: Literal["split"]
    grid: GridCode
    micro_grids: list[MicroGridCode] | None = Field(None, max_length=99)


class MergeEdit(_Edit):
    """Merge grids of one community into the one with the lowest code."""

    op: Literal["merge"]
    grids: list[GridCode] = Field(min_length=2, max_length=999)


class CapsIn(BaseModel):
    """Household caps."""

    model_config = ConfigDict(extra="forbid")

    open_cap: int = Field(150, ge=1, le=100_000)
    closed_cap: int = Field(300, ge=1, le=100_000)
    grid_cap: int = Field(600, ge=1, le=1_000_000)


class RebalanceEdit(_Edit):
    """Partition one community afresh, keeping codes where they overlap most."""

    op: Literal["rebalance"]
    community: CommunityCode
    caps: CapsIn | None = None


GridEdit = Annotated[MoveEdit | SplitEdit | MergeEdit | RebalanceEdit, Field(discriminator="op")]

EDIT_EXAMPLES: dict[str, Any] = {
    "move": {
        "summary": "Move a building to another micro-grid",
        "value": {
            "op": "move",
            "buildings": ["3101010020012024000000025"],
            "to_micro_grid": "31010100200100102",
            "note": "estate gate moved",
        },
    },
    "split": {
        "summary": "Split a grid (most balanced cut)",
        "value": {"op": "split", "grid": "310101002001002"},
    },
    "merge": {
        "summary": "Merge two grids",
        "value": {"op": "merge", "grids": ["310101002001001", "310101002001002"]},
    },
    "rebalance": {
        "summary": "Re-partition one community",
        "value": {"op": "rebalance", "community": "310101002001"},
    },
}


class EditResult(BaseModel):
    """An applied edit: the version it made and what changed."""

    op: str
    status: Literal["applied"]
    base_version: int
    version: int
    actor: str
    grids: dict[str, list[str]] = Field(description="created / retired / reshaped grid codes")
    micro_grids: dict[str, list[str]]
    moved_households: int
    churn: dict[str, Any]


class VersionDiff(BaseModel):
    """What changed between two grid versions (``grid_partition.versions.diff``)."""

    from_version: int
    to_version: int
    moved: list[dict[str, Any]] = Field(
        description="building_id, unit, households, from/to micro-grid and grid of each row "
        "whose micro-grid changed"
    )
    added_buildings: list[str]
    removed_buildings: list[str]
    grids: dict[str, list[str]] = Field(description="created / retired / reshaped codes")
    micro_grids: dict[str, list[str]]
    churn: dict[str, Any]
    empty: bool
