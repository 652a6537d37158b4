-- 0004: fusion: every layer record linked to the register (room / building) and the grids, the
-- queue of records that could not be linked, and the block data (统计) computed from the links.
-- See docs/fusion-linking.md for the methods, reasons and metrics.

-- One row per linked layer record. method: room_id (a room of the register), building_id (the
-- room ID is not in the register but its first 25 characters are a building), address (the
-- resolver), coordinates (point in a building, else nearest building within the tolerance),
-- coordinates_area (a point in public space: linked to the micro-grid / unit grid containing it,
-- no building). The grid codes are those of grid_version (the active version when linked);
-- street_code / district_code are the 9 / 6 digit prefixes of community_code.
CREATE TABLE links (
    layer           VARCHAR NOT NULL CHECK (layer IN ('people', 'legal_persons', 'houses', 'events', 'sensors')),
    source_id       VARCHAR NOT NULL,
    room_id         VARCHAR,
    building_id     VARCHAR,
    method          VARCHAR NOT NULL CHECK (method IN ('room_id', 'building_id', 'address', 'coordinates', 'coordinates_area')),
    confidence      DOUBLE NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    micro_grid_code VARCHAR NOT NULL,
    grid_code       VARCHAR NOT NULL,
    unit_grid_code  VARCHAR,                  -- NULL when no unit grid covers the point
    community_code  VARCHAR NOT NULL,
    street_code     VARCHAR NOT NULL,
    district_code   VARCHAR NOT NULL,
    grid_version    INTEGER NOT NULL,
    detail          VARCHAR,                  -- e.g. distance to the nearest building, resolver level
    row_hash        VARCHAR NOT NULL,         -- the layer row's row_hash when linked (change test)
    linked_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (layer, source_id)
);

-- Records that could not be linked, one row each, with the reason (no_room, unknown_room,
-- address_unresolved, no_building_near, outside_grids, ambiguous, no_location) and a detail
-- (the resolver's reason, the missing room ID ...). A record is in links or here, never both.
CREATE TABLE unlinked (
    layer        VARCHAR NOT NULL,
    source_id    VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    detail       VARCHAR,
    row_hash     VARCHAR NOT NULL,
    grid_version INTEGER,
    queued_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (layer, source_id)
);

-- Block data: one value per (level, code, grid version, metric). level: micro_grid, grid,
-- community, street, district. Metrics are additive counts, so the value of a level is the sum
-- of the values of its children (fusion.blocks checks it). Rebuilt whole by fusion.blocks.
CREATE TABLE block_data (
    level        VARCHAR NOT NULL CHECK (level IN ('micro_grid', 'grid', 'community', 'street', 'district')),
    code         VARCHAR NOT NULL,
    grid_version INTEGER NOT NULL,
    metric       VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (level, code, grid_version, metric)
);
