"""Person-level data under /v1: officer scope only, every read written to the audit log.

- ``GET /v1/buildings/{id}/people``, ``GET /v1/rooms/{id}/people`` and
  ``POST /v1/people/lookup`` (by resident ID number): pseudonymised people (masked name, ID and
  phone; never the keyed hashes). ``officer`` scope; each answer writes exactly one audit line
  naming the records read; a refused caller (403) writes none.
- ``GET /v1/buildings/{id}/houses`` (``analyst``): use, occupants and rental registration of
  each room. ``GET /v1/buildings/{id}/legal-persons`` (public): enterprises are public records.

The response models list the fields served, so nothing else (an HMAC) can leave by accident.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.deps import ServiceDep, client_address, require
from api.problems import problem_responses
from api.routes import _people
from api.service import Service
from layers import privacy
from layers.validate import validate_id_number

router = APIRouter()

BuildingIdPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{24}[0-9X]$",
        description="Building ID (25 characters)",
        examples=["3101010020012024000000025"],
    ),
]
RoomIdPath = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{24}[0-9X][0-9]{9}$",
        description="Room ID (34 characters: building, unit, floor, room)",
        examples=["3101010020012024000000025010010101"],
    ),
]
Officer = Annotated[Principal, Depends(require("officer"))]


class Person(BaseModel):
    """One pseudonymised person record (人口): masked forms only."""

    source_id: str
    name_masked: str | None = Field(examples=["张*明"])
    id_masked: str = Field(examples=["310101********1234"])
    phone_masked: str | None = Field(examples=["138****5678"])
    sex: str | None = Field(examples=["F"])
    birth_year: int | None
    hukou_type: str | None = Field(description="registered (户籍) or floating (流动)")
    care_tags: list[str] = Field(examples=[["elderly_alone"]])
    room_id: str | None
    building_id: str | None
    building_name: str | None
    building_address: str | None
    registered_address: str | None = Field(description="The address as the source wrote it")
    moved_in: str | None
    moved_out: str | None
    link_method: str | None = Field(description="How fusion linked the record; null: unlinked")
    link_confidence: float | None
    micro_grid_code: str | None
    grid_code: str | None
    community_code: str | None


class PeoplePage(BaseModel):
    """The people linked to a building or room."""

    building_id: str | None = None
    room_id: str | None = None
    current_only: bool
    total: int
    limit: int
    offset: int
    people: list[Person]


class IdLookup(BaseModel):
    """A resident ID number to look up (18 characters, GB 11643 check character)."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=40, examples=["11010519491231002X"])


class LookupResult(BaseModel):
    """The records of one ID number (usually one; several sources may hold the person)."""

    id_masked: str
    matches: int
    people: list[Person]


class LegalPerson(BaseModel):
    """An enterprise (法人) linked to a building: public registration data."""

    source_id: str
    uscc: str
    name: str
    industry: str | None
    status: str | None
    established: str | None
    reg_address: str | None
    op_address: str | None
    lon: float | None
    lat: float | None
    room_id: str | None
    link_method: str
    link_confidence: float
    grid_code: str


class LegalPersons(BaseModel):
    """The legal persons of a building."""

    building_id: str
    total: int
    legal_persons: list[LegalPerson]


class House(BaseModel):
    """A house (房屋): a room's use, occupants and rental registration."""

    source_id: str
    room_id: str
    use: str
    occupants: int | None
    rental_registered: bool | None
    rental_reg_no: str | None
    rental_reg_date: str | None
    link_method: str
    grid_code: str


class Houses(BaseModel):
    """The houses of a building."""

    building_id: str
    total: int
    by_use: dict[str, int]
    houses: list[House]


def _audit(request: Request, svc: Service, who: Principal, people: list[dict[str, Any]]) -> None:
    """One audit line: who, from where, the method and path, and the records returned."""
    svc.audit_read(
        who,
        client_address(request),
        f"{request.method} {request.url.path}",
        [str(p["source_id"]) for p in people],
    )


@router.get(
    "/v1/buildings/{building_id}/people",
    tags=["people"],
    summary="The pseudonymised people of a building (officer; audited)",
    response_model=PeoplePage,
    responses=problem_responses(403, 404, 422),
)
def building_people(
    request: Request,
    svc: ServiceDep,
    who: Officer,
    building_id: BuildingIdPath,
    current: Annotated[bool, Query(description="Only people not moved out")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Every person record linked to the building (by room, building or address), with
    masked name, ID and phone, sex, birth year, hukou type, care tags, room, moved in/out.
    One audit line names the records returned."""
    page = _people.people_at(
        svc.cursor(), building_id=building_id, current=current, limit=limit, offset=offset
    )
    _audit(request, svc, who, page["people"])
    return page


@router.get(
    "/v1/rooms/{room_id}/people",
    tags=["people"],
    summary="The pseudonymised people of a room (officer; audited)",
    response_model=PeoplePage,
    responses=problem_responses(403, 404, 422),
)
def room_people(
    request: Request,
    svc: ServiceDep,
    who: Officer,
    room_id: RoomIdPath,
    current: Annotated[bool, Query(description="Only people not moved out")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Every person record linked to the room. One audit line names the records returned."""
    page = _people.people_at(
        svc.cursor(), room_id=room_id, current=current, limit=limit, offset=offset
    )
    _audit(request, svc, who, page["people"])
    return page


@router.post(
    "/v1/people/lookup",
    tags=["people"],
    summary="Find a person by resident ID number (officer; audited)",
    response_model=LookupResult,
    responses=problem_responses(403, 422, 503),
)
def lookup(
    request: Request,
    svc: ServiceDep,
    who: Officer,
    body: Annotated[
        IdLookup,
        Body(
            openapi_examples={
                "id": {"summary": "An ID number", "value": {"id_number": "11010519491231002X"}}
            }
        ),
    ],
) -> dict[str, Any]:
    """The number is checked (18 characters, GB 11643 check character, a real birth date;
    else `422`, quoting it masked), hashed with the deployment's HMAC secret as at ingest, and
    matched against the stored hashes: the raw number is neither stored nor logged. Answers the
    records with where they live (room, building, grid); no match is `matches: 0`. One audit
    line names the records returned."""
    validate_id_number(body.id_number)
    key = _people.secret(svc.settings)
    people = _people.lookup(svc.cursor(), privacy.hmac_hex(key, body.id_number))
    _audit(request, svc, who, people)
    return {
        "id_masked": privacy.mask_id_number(body.id_number),
        "matches": len(people),
        "people": people,
    }


@router.get(
    "/v1/buildings/{building_id}/legal-persons",
    tags=["register"],
    summary="The legal persons (enterprises) of a building",
    response_model=LegalPersons,
    responses=problem_responses(404, 422),
)
def building_legal_persons(svc: ServiceDep, building_id: BuildingIdPath) -> dict[str, Any]:
    """Unified social credit code, name, industry, status, addresses: public registration data,
    not personal."""
    return _people.legal_persons_at(svc.cursor(), building_id)


@router.get(
    "/v1/buildings/{building_id}/houses",
    tags=["register"],
    summary="The houses of a building: use, occupants, rental registration (analyst)",
    response_model=Houses,
    responses=problem_responses(403, 404, 422),
    dependencies=[Depends(require("analyst"))],
)
def building_houses(svc: ServiceDep, building_id: BuildingIdPath) -> dict[str, Any]:
    """Each room's use (owner-occupied, rented, vacant, commercial), occupant count and rental
    registration; `by_use` counts them."""
    return _people.houses_at(svc.cursor(), building_id)
