-- 0006: links and unlinked lose their PRIMARY KEY (layer, source_id) (issue 7).
-- As with the layer tables in 0005: the key's ART index was maintained row by row on ONE thread
-- while a whole layer's links were written (16M people links at Shenzhen scale), and every
-- INSERT OR REPLACE probed it. Uniqueness of (layer, source_id) is kept by fusion.link instead:
-- a run writes a layer in one transaction that first updates the layer's row in link_locks (two
-- concurrent runs on one layer conflict, DuckDB "Conflict on update", instead of both writing),
-- then deletes every record it (re)links from both tables and inserts each once, in links or in
-- unlinked. A record is in links or in unlinked, never both, never twice (tests/fusion).
-- DuckDB cannot drop a constraint: both tables are recreated (same columns, types, defaults and
-- checks), their rows copied, the old tables dropped and the new ones renamed.

CREATE TABLE links_0006 (
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
    linked_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
INSERT INTO links_0006 SELECT layer, source_id, room_id, building_id, method, confidence, micro_grid_code, grid_code, unit_grid_code, community_code, street_code, district_code, grid_version, detail, row_hash, linked_at FROM links;
DROP TABLE links;
ALTER TABLE links_0006 RENAME TO links;

CREATE TABLE unlinked_0006 (
    layer        VARCHAR NOT NULL,
    source_id    VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    detail       VARCHAR,
    row_hash     VARCHAR NOT NULL,
    grid_version INTEGER,
    queued_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
INSERT INTO unlinked_0006 SELECT layer, source_id, reason, detail, row_hash, grid_version, queued_at FROM unlinked;
DROP TABLE unlinked;
ALTER TABLE unlinked_0006 RENAME TO unlinked;

-- One row per layer: a link run updates its layer's row first, within its write transaction.
CREATE TABLE link_locks (
    layer       VARCHAR PRIMARY KEY,
    locked_at   TIMESTAMPTZ
);
INSERT INTO link_locks (layer) VALUES
    ('people'), ('legal_persons'), ('houses'), ('events'), ('sensors');
