-- 0001: the unified address and building register (一标).
-- Geometries are WGS84 (EPSG:4326). Codes are strings of digits (leading zeros matter).
-- Every derived or estimated value carries a flag and the rule that made it.

CREATE TABLE admin_areas (
    code            VARCHAR PRIMARY KEY,      -- 2 / 4 / 6 / 9 / 12 digits (NBS division code)
    level           VARCHAR NOT NULL CHECK (level IN ('province', 'city', 'district', 'street', 'community')),
    name            VARCHAR NOT NULL,         -- official name with suffix (汉口路居委会, 外滩街道)
    short_name      VARCHAR,                  -- name without the level suffix (汉口路, 外滩)
    parent_code     VARCHAR,
    geom            GEOMETRY,                 -- NULL when the register holds no boundary
    boundary_source VARCHAR CHECK (boundary_source IN ('official', 'derived')),
    boundary_method VARCHAR,                  -- how a derived boundary was made
    area_m2         DOUBLE,
    status          VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    valid_from      DATE,
    valid_to        DATE
);

CREATE TABLE admin_aliases (
    code       VARCHAR NOT NULL,             -- the current code the alias resolves to
    alias      VARCHAR NOT NULL,             -- 下城区, 闸北区, 卢湾区 ...
    kind       VARCHAR NOT NULL CHECK (kind IN ('old_name', 'short_name', 'former_code', 'colloquial')),
    valid_from DATE,
    valid_to   DATE,                         -- the day the alias stopped being official
    PRIMARY KEY (code, alias)
);

CREATE TABLE roads (
    road_code     VARCHAR PRIMARY KEY,       -- county code (6) + serial (5)
    name          VARCHAR NOT NULL,
    district_code VARCHAR NOT NULL,
    road_class    VARCHAR,                   -- major / minor / lane / path
    is_major      BOOLEAN NOT NULL DEFAULT false,  -- a barrier for grid contiguity
    length_m      DOUBLE,
    geom          GEOMETRY,                  -- merged (multi)linestring
    source        VARCHAR NOT NULL,          -- osm / imported
    source_ids    VARCHAR[]
);

CREATE TABLE road_aliases (
    road_code  VARCHAR NOT NULL,
    alias      VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,             -- old_name / name_en / colloquial
    valid_from DATE,
    valid_to   DATE,
    PRIMARY KEY (road_code, alias)
);

CREATE TABLE estates (
    estate_id          VARCHAR PRIMARY KEY,  -- community code (12) + serial (4)
    name               VARCHAR,
    community_code     VARCHAR NOT NULL,
    enclosure          VARCHAR NOT NULL CHECK (enclosure IN ('closed', 'open')),
    enclosure_evidence VARCHAR,              -- walls, fences, gates, landuse, default
    geom               GEOMETRY,
    source             VARCHAR NOT NULL,     -- osm_landuse / derived
    derived            BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE buildings (
    building_id          VARCHAR PRIMARY KEY CHECK (length(building_id) = 25),
    birth_community_code VARCHAR NOT NULL,   -- never changes when boundaries move
    birth_year           SMALLINT NOT NULL,
    community_code       VARCHAR NOT NULL,   -- the community it lies in now
    status               VARCHAR NOT NULL CHECK (status IN ('proposed', 'active', 'retired')),
    retired_by           VARCHAR CHECK (retired_by IN ('split', 'merge', 'demolish', 'renumber')),
    name                 VARCHAR,
    use                  VARCHAR NOT NULL CHECK (use IN ('residential', 'commercial', 'office', 'public', 'mixed', 'industrial', 'other')),
    use_source           VARCHAR,            -- osm_tag / landuse / poi / default
    floors               SMALLINT,
    floors_estimated     BOOLEAN NOT NULL DEFAULT false,
    height_m             DOUBLE,
    height_estimated     BOOLEAN NOT NULL DEFAULT false,
    footprint_m2         DOUBLE,
    estate_id            VARCHAR,
    building_no          VARCHAR,            -- number inside the estate (3 in 3号楼)
    doorplate_id         VARCHAR,
    address              VARCHAR,            -- the standard address as one string
    units                SMALLINT,
    households           INTEGER,
    households_estimated BOOLEAN NOT NULL DEFAULT true,
    lon                  DOUBLE,             -- representative point inside the footprint
    lat                  DOUBLE,
    geom                 GEOMETRY NOT NULL,
    source               VARCHAR NOT NULL,   -- osm / imported / manual / generated
    source_id            VARCHAR,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE building_aliases (
    building_id VARCHAR NOT NULL,
    alias       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('name', 'name_en', 'old_name', 'estate_building', 'doorplate', 'poi')),
    valid_from  DATE,
    valid_to    DATE,
    PRIMARY KEY (building_id, alias, kind)
);

CREATE TABLE doorplates (
    doorplate_id   VARCHAR PRIMARY KEY,      -- road code (11) + serial (5)
    road_code      VARCHAR NOT NULL,
    number         VARCHAR NOT NULL,         -- display form: 26号, 126弄9号, 12号之1
    lane_no        INTEGER,                  -- 弄
    house_no       INTEGER,                  -- 号
    sub_no         INTEGER,                  -- 之
    building_id    VARCHAR,
    community_code VARCHAR,
    side           VARCHAR CHECK (side IN ('odd', 'even')),
    geom           GEOMETRY,
    source         VARCHAR NOT NULL CHECK (source IN ('osm', 'derived', 'imported')),
    status         VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired'))
);

CREATE TABLE rooms (
    room_id     VARCHAR PRIMARY KEY CHECK (length(room_id) = 34),  -- building (25) + unit (2) + floor (3) + room (4)
    building_id VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,            -- '00' = none
    floor       VARCHAR NOT NULL,            -- '001'..; basements 901-909
    room        VARCHAR NOT NULL,
    use         VARCHAR,                     -- household / shop / office / public
    area_m2     DOUBLE,
    estimated   BOOLEAN NOT NULL DEFAULT true,
    rule        VARCHAR,                     -- the estimation rule that made it
    status      VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired'))
);

-- Lifecycle: every change is an operation; lineage links predecessors to successors.
CREATE SEQUENCE registry_op_seq START 1;

CREATE TABLE registry_operations (
    op_id       BIGINT PRIMARY KEY DEFAULT nextval('registry_op_seq'),
    op          VARCHAR NOT NULL CHECK (op IN ('create', 'update', 'split', 'merge', 'demolish', 'renumber', 'reparent')),
    valid_at    TIMESTAMP NOT NULL,          -- when it happened in the world
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,  -- when the register learnt it
    actor       VARCHAR,
    note        VARCHAR,
    detail      JSON
);

CREATE TABLE building_lineage (
    predecessor_id VARCHAR NOT NULL,
    successor_id   VARCHAR NOT NULL,
    op_id          BIGINT NOT NULL,
    PRIMARY KEY (predecessor_id, successor_id)
);

-- Bitemporal history of buildings: valid time (world) x record time (register).
CREATE TABLE building_history (
    building_id    VARCHAR NOT NULL,
    valid_from     TIMESTAMP NOT NULL,
    valid_to       TIMESTAMP,                -- NULL: still valid
    recorded_from  TIMESTAMPTZ NOT NULL,
    recorded_to    TIMESTAMPTZ,              -- NULL: the register still says so
    op_id          BIGINT,
    status         VARCHAR NOT NULL,
    community_code VARCHAR,
    name           VARCHAR,
    use            VARCHAR,
    households     INTEGER,
    doorplate_id   VARCHAR,
    address        VARCHAR,
    geom           GEOMETRY
);

-- Serial allocator: a serial is never reused within its birth community.
CREATE TABLE id_serials (
    birth_community_code VARCHAR PRIMARY KEY,
    last_serial          BIGINT NOT NULL
);

-- Whatever a build could not register, with the reason; nothing is dropped silently.
CREATE TABLE registry_quarantine (
    layer       VARCHAR NOT NULL,            -- buildings / roads / doorplates / admin_areas
    source      VARCHAR NOT NULL,
    source_id   VARCHAR,
    reason      VARCHAR NOT NULL,            -- a stable slug: invalid_geometry, duplicate_source_id, outside_communities ...
    detail      VARCHAR,
    geom        GEOMETRY,
    raw         JSON,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE registry_builds (
    build_id    VARCHAR PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    source      VARCHAR,
    report      JSON                         -- rows in / registered / quarantined per layer
);

-- What each stage of a pipeline (yizhi demo) last built, so that a second run reuses it.
CREATE TABLE pipeline_stages (
    stage       VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,            -- hash of the inputs and code version the stage used
    summary     JSON,
    finished_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
