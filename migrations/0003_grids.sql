-- 0003: grid partition versions: grids, micro-grids, unit grids, assignments, planner edits.
-- Every partition is a version; a version is a full snapshot (columnar storage keeps it small),
-- so any two versions can be diffed and the register can say which grid a household was in.

CREATE SEQUENCE grid_version_seq START 1;

CREATE TABLE grid_versions (
    version_id     INTEGER PRIMARY KEY DEFAULT nextval('grid_version_seq'),
    parent_version INTEGER,                  -- the version this one was derived from
    status         VARCHAR NOT NULL CHECK (status IN ('draft', 'active', 'superseded')),
    kind           VARCHAR NOT NULL CHECK (kind IN ('partition', 'repartition', 'edit', 'import')),
    params         JSON,                     -- caps and options of the partitioner
    quality        JSON,                     -- the quality report of this version
    note           VARCHAR,
    actor          VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE grids (
    version_id     INTEGER NOT NULL,
    grid_code      VARCHAR NOT NULL CHECK (length(grid_code) = 15),   -- community (12) + serial (3)
    community_code VARCHAR NOT NULL,
    households     INTEGER NOT NULL,
    buildings      INTEGER NOT NULL,
    micro_grids    INTEGER NOT NULL,
    area_m2        DOUBLE,
    compactness    DOUBLE,                   -- Polsby-Popper
    geom           GEOMETRY,
    PRIMARY KEY (version_id, grid_code)
);

CREATE TABLE micro_grids (
    version_id      INTEGER NOT NULL,
    micro_grid_code VARCHAR NOT NULL CHECK (length(micro_grid_code) = 17),  -- grid (15) + serial (2)
    grid_code       VARCHAR NOT NULL,
    community_code  VARCHAR NOT NULL,
    enclosure       VARCHAR,                 -- open / closed / mixed: which cap applies
    cap             INTEGER NOT NULL,
    households      INTEGER NOT NULL,
    buildings       INTEGER NOT NULL,
    flagged         BOOLEAN NOT NULL DEFAULT false,  -- an indivisible unit over the cap
    flag_reason     VARCHAR,
    area_m2         DOUBLE,
    compactness     DOUBLE,
    geom            GEOMETRY,
    PRIMARY KEY (version_id, micro_grid_code)
);

-- Which micro-grid holds each building (or each unit, when a large building is split by unit).
CREATE TABLE grid_assignments (
    version_id      INTEGER NOT NULL,
    building_id     VARCHAR NOT NULL,
    unit            VARCHAR NOT NULL DEFAULT '00',   -- '00': the whole building
    micro_grid_code VARCHAR NOT NULL,
    grid_code       VARCHAR NOT NULL,
    community_code  VARCHAR NOT NULL,
    households      INTEGER NOT NULL,
    PRIMARY KEY (version_id, building_id, unit)
);

CREATE TABLE unit_grids (
    version_id     INTEGER NOT NULL,
    unit_grid_code VARCHAR NOT NULL CHECK (length(unit_grid_code) = 15),  -- community (12) + serial (3)
    community_code VARCHAR NOT NULL,
    area_m2        DOUBLE,
    geom           GEOMETRY,
    PRIMARY KEY (version_id, unit_grid_code)
);

CREATE TABLE grid_edits (
    edit_id       BIGINT PRIMARY KEY,
    base_version  INTEGER NOT NULL,
    result_version INTEGER,                  -- NULL when the edit was refused
    op            VARCHAR NOT NULL CHECK (op IN ('move', 'split', 'merge', 'rebalance', 'import')),
    detail        JSON,
    outcome       VARCHAR NOT NULL CHECK (outcome IN ('applied', 'refused')),
    error         VARCHAR,                   -- the violated rule, when refused
    actor         VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
