"""The layer kinds: their tables, default input columns and validation rules (as SQL).

Each :class:`Kind` says which input columns it reads (``required`` and ``optional``, the
*canonical* names a mapping file maps onto), how each row is checked (``reasons``: a stable slug
and a SQL condition that is true when the row fails), and how the stored columns are computed
(``outputs``). Every condition is a SQL expression over whole columns, evaluated by DuckDB.

Evaluation happens in two levels over the input relation (all input columns VARCHAR, ``_line``
the source line):

0. ``pre``: expressions over the raw columns (``_idv`` = the upper-cased ID number ...);
1. ``helpers``: expressions over raw columns and ``pre`` (each computed once per row);
2. ``derived`` (kept), ``reasons`` and ``outputs`` (stored as ``o_<column>``) over all of them.

Columns listed in ``pii`` (and ``pre`` values, which may hold raw PII) are never carried past
level 2: only their derived (hashed, masked) forms are.

>>> sorted(KINDS)
['events', 'houses', 'legal_persons', 'people', 'readings', 'sensors']
>>> KINDS["people"].required
('source_id', 'id_number', 'name')
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from layers import privacy
from layers import validate as v

CARE_TAGS = (
    "elderly_alone",
    "left_behind_child",
    "disability",
    "low_income",
    "veteran",
    "special_care",
    "key_youth",
    "other",
)
SENSOR_TYPES = (
    "camera",
    "smoke",
    "manhole_cover",
    "oil_fume",
    "water_level",
    "air_quality",
    "noise",
    "other",
)
EVENT_SOURCES = ("grid_worker", "hotline_12345", "video", "iot")


@dataclass(frozen=True)
class Kind:
    """One layer kind."""

    name: str
    table: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    #: ``lon``/``lat`` (or a point geometry) may be given and are checked against the city.
    has_point: bool = False
    pii: tuple[str, ...] = ()
    pre: dict[str, str] = field(default_factory=dict)
    helpers: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    reasons: tuple[tuple[str, str], ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    #: SQL for ``source_id`` when the input has no such column (None: the column is required).
    default_source_id: str | None = None
    #: extra ``LEFT JOIN ...`` of level 1 (the input relation is aliased ``r``).
    join: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column (required first)."""
        return self.required + self.optional


def _blank(col: str) -> str:
    return f"({col} IS NULL OR trim({col}) = '')"


def _given(col: str) -> str:
    return f"({col} IS NOT NULL AND trim({col}) <> '')"


def _bad_date(col: str) -> str:
    return f"({_given(col)} AND {v.sql_date(col)} IS NULL)"


def _bad_enum(col: str, normalized: str) -> str:
    return f"({_given(col)} AND {normalized} IS NULL)"


def _enum(col: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{val}'" for k, val in mapping.items())
    return f"(CASE lower(trim({col})) {whens} ELSE NULL END)"


def _mod11_ok(col: str, n: int) -> str:
    """SQL: the MOD 11-2 check over the first ``n`` digits of ``col`` is its next character."""
    terms = []
    for start in range(0, n, 12):  # 12-digit pieces fit a BIGINT
        width = min(12, n - start)
        num = f"TRY_CAST(substr({col}, {start + 1}, {width}) AS BIGINT)"
        for j in range(width):
            weight = pow(2, n - (start + j), 11)
            terms.append(f"{weight} * (({num} // {10 ** (width - 1 - j)}) % 10)")
    total = " + ".join(terms)
    return (
        f"substr('10X98765432', CAST(({total}) % 11 AS BIGINT) + 1, 1) = substr({col}, {n + 1}, 1)"
    )


def _room_ok(col: str) -> str:
    return f"(regexp_full_match({col}, '[0-9]{{24}}[0-9X][0-9]{{9}}') AND {_mod11_ok(col, 24)})"


def _bool(col: str) -> str:
    return (
        _enum(
            col,
            {
                "true": "true",
                "1": "true",
                "yes": "true",
                "y": "true",
                "是": "true",
                "false": "false",
                "0": "false",
                "no": "false",
                "n": "false",
                "否": "false",
            },
        )
        + "::BOOLEAN"
    )


def _point_reasons() -> tuple[tuple[str, str], ...]:
    return (
        ("not_a_point", "(_geom_kind IS NOT NULL AND _geom_kind <> 'POINT')"),
        (
            "bad_coordinates",
            "((_given_lon OR _given_lat) AND (_lon IS NULL OR _lat IS NULL OR NOT isfinite(_lon) "
            "OR NOT isfinite(_lat)))",
        ),
        ("outside_city", "(_lon IS NOT NULL AND _lat IS NOT NULL AND NOT __INSIDE__)"),
    )


_POINT_HELPERS = {
    "_given_lon": _given("lon"),
    "_given_lat": _given("lat"),
    "_lon": "TRY_CAST(lon AS DOUBLE)",
    "_lat": "TRY_CAST(lat AS DOUBLE)",
}

_STATES = ("reported", "registered", "dispatched", "handled", "verified", "closed")


def people_kind(secret: bytes) -> Kind:
    """The people kind; its helpers hash with ``secret``."""
    sex_map = {
        "m": "M",
        "male": "M",
        "男": "M",
        "1": "M",
        "f": "F",
        "female": "F",
        "女": "F",
        "2": "F",
    }
    hukou_map = {
        "registered": "registered",
        "户籍": "registered",
        "户籍人口": "registered",
        "floating": "floating",
        "流动": "floating",
        "流动人口": "floating",
    }
    tags = "[" + ", ".join(f"'{t}'" for t in CARE_TAGS) + "]"
    return Kind(
        name="people",
        table="people",
        required=("source_id", "id_number", "name"),
        optional=(
            "sex",
            "birth_date",
            "hukou_type",
            "care_tags",
            "address",
            "room_id",
            "phone",
            "moved_in",
            "moved_out",
        ),
        pii=("id_number", "name", "phone", "birth_date"),
        pre={
            "_idv": "upper(trim(id_number))",
            "_phone_norm": privacy.sql_normalize_phone("phone"),
            "_bd": v.sql_date("birth_date"),
        },
        helpers={
            "_id_wf": v.sql_id_well_formed("_idv"),
            "_idn": f"CASE WHEN {v.sql_id_well_formed('_idv')} THEN CAST(left(_idv, 17) AS BIGINT) END",
            "_id_birth": f"CASE WHEN {v.sql_id_well_formed('_idv')} THEN {v.sql_id_birth('_idv')} END",
            "_sex_col": _enum("sex", sex_map),
            "_tags": f"CASE WHEN {_given('care_tags')} THEN list_filter(list_transform("
            "regexp_split_to_array(care_tags, '[;|,，、]'), x -> lower(trim(x))), x -> x <> '') "
            "ELSE []::VARCHAR[] END",
        },
        derived={
            "id_hmac": f"CASE WHEN {_given('id_number')} THEN {privacy.sql_hmac(secret, '_idv')} END",
            "id_masked": privacy.sql_mask_id("_idv"),
            "name_masked": privacy.sql_mask_name("name"),
            "phone_masked": f"CASE WHEN {_given('phone')} THEN {privacy.sql_mask_phone('_phone_norm')} END",
            "phone_hmac": f"CASE WHEN {_given('phone')} THEN {privacy.sql_hmac(secret, '_phone_norm')} END",
            # the birth date is a quasi-identifier: only its year is carried (and stored)
            "_birth_year": "coalesce(year(_id_birth), year(_bd))",
        },
        reasons=(
            ("missing_id_number", _blank("id_number")),
            ("bad_id_number", f"({_given('id_number')} AND NOT _id_wf)"),
            ("bad_id_check", f"(_id_wf AND NOT {v.sql_id_check_ok('_idv', '_idn')})"),
            (
                "bad_id_birth_date",
                "(_id_wf AND (_id_birth IS NULL OR _id_birth < DATE '1900-01-01' "
                "OR _id_birth > current_date))",
            ),
            ("missing_name", _blank("name")),
            ("bad_sex", f"({_given('sex')} AND _sex_col IS NULL)"),
            (
                "sex_mismatch",
                "(_id_wf AND _sex_col IS NOT NULL AND _sex_col <> "
                "(CASE WHEN (_idn % 10) % 2 = 1 THEN 'M' ELSE 'F' END))",
            ),
            ("bad_birth_date", f"({_given('birth_date')} AND _bd IS NULL)"),
            ("birth_date_mismatch", "(_id_birth IS NOT NULL AND _bd <> _id_birth)"),
            ("bad_hukou_type", _bad_enum("hukou_type", _enum("hukou_type", hukou_map))),
            ("bad_care_tag", f"(len(list_filter(_tags, x -> NOT list_contains({tags}, x))) > 0)"),
            ("bad_phone", f"({_given('phone')} AND NOT {v.sql_phone_ok('_phone_norm', 'phone')})"),
            ("bad_room_id", f"({_given('room_id')} AND NOT {_room_ok('trim(room_id)')})"),
            ("bad_date", f"({_bad_date('moved_in')} OR {_bad_date('moved_out')})"),
            ("missing_location", f"({_blank('address')} AND {_blank('room_id')})"),
        ),
        outputs={
            "id_hmac": "id_hmac",
            "id_masked": "id_masked",
            "name_masked": "name_masked",
            "sex": "coalesce(CASE WHEN _id_wf THEN (CASE WHEN (_idn % 10) % 2 = 1 THEN 'M' "
            "ELSE 'F' END) END, _sex_col)",
            "birth_year": "_birth_year",
            "hukou_type": _enum("hukou_type", hukou_map),
            "care_tags": "CASE WHEN len(_tags) > 0 THEN list_distinct(_tags) END",
            "address": "nullif(trim(address), '')",
            "room_id": "nullif(trim(room_id), '')",
            "phone_masked": "phone_masked",
            "phone_hmac": "phone_hmac",
            "moved_in": v.sql_date("moved_in"),
            "moved_out": v.sql_date("moved_out"),
        },
    )


LEGAL_PERSONS = Kind(
    name="legal_persons",
    table="legal_persons",
    required=("source_id", "uscc", "name"),
    optional=("industry", "address", "op_address", "lon", "lat", "status", "established"),
    has_point=True,
    helpers={"_u": "upper(trim(uscc))", **_POINT_HELPERS},
    reasons=(
        ("missing_uscc", _blank("uscc")),
        ("bad_uscc", f"({_given('uscc')} AND NOT {v.sql_uscc_well_formed('_u')})"),
        ("bad_uscc_check", f"({v.sql_uscc_well_formed('_u')} AND NOT {v.sql_uscc_check_ok('_u')})"),
        ("missing_name", _blank("name")),
        (
            "bad_status",
            _bad_enum(
                "status",
                _enum("status", {s: s for s in ("active", "suspended", "revoked", "cancelled")}),
            ),
        ),
        ("bad_date", _bad_date("established")),
        *_point_reasons(),
    ),
    outputs={
        "uscc": "upper(trim(uscc))",
        "name": "trim(name)",
        "industry": "nullif(trim(industry), '')",
        "reg_address": "nullif(trim(address), '')",
        "op_address": "nullif(trim(op_address), '')",
        "lon": "_lon",
        "lat": "_lat",
        "geom": "CASE WHEN _lon IS NOT NULL THEN ST_Point(_lon, _lat) END",
        "status": "coalesce(lower(trim(status)), 'active')",
        "established": v.sql_date("established"),
    },
)

_HOUSE_USES = {
    "owner_occupied": "owner_occupied",
    "自住": "owner_occupied",
    "rented": "rented",
    "出租": "rented",
    "vacant": "vacant",
    "空置": "vacant",
    "commercial": "commercial",
    "商用": "commercial",
}

HOUSES = Kind(
    name="houses",
    table="houses",
    required=("source_id", "room_id", "use"),
    optional=("occupants", "rental_registered", "rental_reg_no", "rental_reg_date"),
    reasons=(
        ("missing_room_id", _blank("room_id")),
        ("bad_room_id", f"({_given('room_id')} AND NOT {_room_ok('trim(room_id)')})"),
        ("bad_use", f"({_enum('use', _HOUSE_USES)} IS NULL)"),
        (
            "bad_occupants",
            f"({_given('occupants')} AND coalesce(TRY_CAST(occupants AS INTEGER) < 0, true))",
        ),
        ("bad_flag", f"({_given('rental_registered')} AND {_bool('rental_registered')} IS NULL)"),
        ("bad_date", _bad_date("rental_reg_date")),
    ),
    outputs={
        "room_id": "trim(room_id)",
        "use": _enum("use", _HOUSE_USES),
        "occupants": "TRY_CAST(occupants AS INTEGER)",
        "rental_registered": _bool("rental_registered"),
        "rental_reg_no": "nullif(trim(rental_reg_no), '')",
        "rental_reg_date": v.sql_date("rental_reg_date"),
    },
)

_KIND_MAP = {"part": "part", "部件": "part", "event": "event", "事件": "event"}
_SOURCE_MAP = {
    "grid_worker": "grid_worker",
    "网格员": "grid_worker",
    "hotline_12345": "hotline_12345",
    "12345": "hotline_12345",
    "video": "video",
    "视频": "video",
    "iot": "iot",
    "物联": "iot",
}
_TS = {s: v.sql_timestamp(f"{s}_at") for s in _STATES}
_STATE_LIST = "[" + ", ".join(f"'{s}'" for s in _STATES) + "]"
_times_consistent = (
    " AND ".join(
        # each state up to the current one has its time, none after it, and times never go back
        f"(CASE WHEN {i + 1} <= _sidx THEN {_TS[s]} IS NOT NULL ELSE {_blank(s + '_at')} END)"
        for i, s in enumerate(_STATES)
    )
    + " AND "
    + " AND ".join(f"coalesce({_TS[a]} <= {_TS[b]}, true)" for a, b in itertools.pairwise(_STATES))
)

EVENTS = Kind(
    name="events",
    table="events",
    required=("source_id", "category", "source", "reported_at"),
    optional=(
        "category_kind",
        "description",
        "address",
        "lon",
        "lat",
        "state",
        "registered_at",
        "dispatched_at",
        "handled_at",
        "verified_at",
        "closed_at",
        "department",
    ),
    has_point=True,
    helpers={
        "_ckind": f"coalesce({_enum('category_kind', _KIND_MAP)}, "
        f"CASE WHEN {_blank('category_kind')} THEN 'event' END)",
        "_code": "trim(category)",
        "_sidx": f"coalesce(list_position({_STATE_LIST}, "
        "coalesce(lower(nullif(trim(state), '')), 'reported')), 0)",
        **_POINT_HELPERS,
    },
    pre={"_sla_hours": "c.sla_hours"},
    derived={"_sla_hours": "_sla_hours"},
    join="LEFT JOIN event_categories c ON c.kind = "
    f"coalesce({_enum('category_kind', _KIND_MAP)}, CASE WHEN {_blank('category_kind')} "
    "THEN 'event' END) AND c.code = trim(r.category)",
    reasons=(
        ("bad_category_kind", "(_ckind IS NULL)"),
        ("bad_category", "(_sla_hours IS NULL)"),
        ("bad_source", f"({_enum('source', _SOURCE_MAP)} IS NULL)"),
        ("bad_state", "(_sidx = 0)"),
        (
            "bad_timestamp",
            " OR ".join(f"({_given(s + '_at')} AND {_TS[s]} IS NULL)" for s in _STATES),
        ),
        ("inconsistent_state_times", f"(_sidx > 0 AND NOT ({_times_consistent}))"),
        ("missing_location", f"({_blank('address')} AND _lon IS NULL)"),
        *_point_reasons(),
    ),
    outputs={
        "category_kind": "_ckind",
        "category_code": "_code",
        "source": _enum("source", _SOURCE_MAP),
        "description": "nullif(trim(description), '')",
        "address": "nullif(trim(address), '')",
        "lon": "_lon",
        "lat": "_lat",
        "geom": "CASE WHEN _lon IS NOT NULL THEN ST_Point(_lon, _lat) END",
        "state": "coalesce(lower(nullif(trim(state), '')), 'reported')",
        **{f"{s}_at": _TS[s] for s in _STATES},
        "department": "nullif(trim(department), '')",
        "sla_deadline": f"{_TS['reported']} + to_hours(_sla_hours)",
    },
)

SENSORS = Kind(
    name="sensors",
    table="sensors",
    required=("source_id", "sensor_type"),
    optional=(
        "lon",
        "lat",
        "address",
        "status",
        "installed",
        "camera_range_m",
        "camera_fov_deg",
        "camera_heading_deg",
    ),
    has_point=True,
    helpers={
        "_stype": "lower(trim(sensor_type))",
        "_range": "TRY_CAST(camera_range_m AS DOUBLE)",
        "_fov": "TRY_CAST(camera_fov_deg AS DOUBLE)",
        "_heading": "TRY_CAST(camera_heading_deg AS DOUBLE)",
        **_POINT_HELPERS,
    },
    reasons=(
        (
            "bad_sensor_type",
            "(NOT coalesce(list_contains(["
            + ", ".join(f"'{t}'" for t in SENSOR_TYPES)
            + "], _stype), false))",
        ),
        (
            "bad_status",
            _bad_enum(
                "status", _enum("status", {s: s for s in ("online", "offline", "fault", "retired")})
            ),
        ),
        ("bad_date", _bad_date("installed")),
        (
            "bad_camera",
            f"(({_given('camera_range_m')} AND coalesce(NOT (_range > 0 AND _range <= 1000), true)) OR "
            f"({_given('camera_fov_deg')} AND coalesce(NOT (_fov > 0 AND _fov <= 360), true)) OR "
            f"({_given('camera_heading_deg')} AND coalesce(NOT (_heading >= 0 AND _heading < 360), true)))",
        ),
        ("missing_location", f"({_blank('address')} AND _lon IS NULL)"),
        *_point_reasons(),
    ),
    outputs={
        "sensor_type": "_stype",
        "lon": "_lon",
        "lat": "_lat",
        "geom": "CASE WHEN _lon IS NOT NULL THEN ST_Point(_lon, _lat) END",
        "address": "nullif(trim(address), '')",
        "status": "coalesce(lower(nullif(trim(status), '')), 'online')",
        "installed": v.sql_date("installed"),
        "camera_range_m": "_range",
        "camera_fov_deg": "_fov",
        "camera_heading_deg": "_heading",
    },
)

READINGS = Kind(
    name="readings",
    table="sensor_readings",
    required=("sensor_id", "ts"),
    optional=("source_id", "value", "unit", "alert", "alert_type"),
    reasons=(
        ("missing_sensor_id", _blank("sensor_id")),
        ("bad_timestamp", f"({v.sql_timestamp('ts')} IS NULL)"),
        ("bad_value", f"({_given('value')} AND TRY_CAST(value AS DOUBLE) IS NULL)"),
        ("bad_flag", f"({_given('alert')} AND {_bool('alert')} IS NULL)"),
    ),
    outputs={
        "sensor_id": "trim(sensor_id)",
        "ts": v.sql_timestamp("ts"),
        "value": "TRY_CAST(value AS DOUBLE)",
        "unit": "nullif(trim(unit), '')",
        "alert": f"coalesce({_bool('alert')}, false)",
        "alert_type": "nullif(trim(alert_type), '')",
    },
    default_source_id=f"trim(sensor_id) || '@' || strftime({v.sql_timestamp('ts')}, '%Y-%m-%dT%H:%M:%S')",
)

_STATIC = {k.name: k for k in (LEGAL_PERSONS, HOUSES, EVENTS, SENSORS, READINGS)}

#: Every kind by name (people with an empty secret: use :func:`get_kind` to hash for real).
KINDS: dict[str, Kind] = {"people": people_kind(b""), **_STATIC}


def get_kind(name: str, secret: bytes | None = None) -> Kind:
    """Return the kind called ``name`` (people hashed with ``secret``)."""
    from common.errors import InvalidInput

    if name not in KINDS:
        raise InvalidInput(f"unknown layer kind {name!r}; known: {sorted(KINDS)}")
    if name == "people":
        if secret is None:
            raise InvalidInput("ingesting people needs the HMAC secret")
        return people_kind(secret)
    return KINDS[name]
