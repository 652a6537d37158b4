-- 0005: the layer tables lose their PRIMARY KEY on source_id (issue 6).
-- The PK's ART index was maintained row by row on ONE thread during the bulk insert (~92 CPU-s
-- of 321 at 17.7M people rows). Uniqueness of source_id is kept by the ingest instead
-- (layers/ingest.py): duplicates inside a file are quarantined, the upsert is a set operation
-- (DELETE changed source_ids, INSERT new and changed rows) inside one transaction, and every
-- ingest first updates its layer's row in layer_locks, so two concurrent ingests of one layer
-- conflict (DuckDB: "Conflict on update") instead of both inserting the same source_id.
-- DuckDB cannot drop a constraint: each table is recreated (same columns, types, defaults and
-- checks; source_id NOT NULL), its rows copied, the old table dropped and the new one renamed.

CREATE TABLE people_0005 (
    source_id     VARCHAR NOT NULL,
    id_hmac       VARCHAR NOT NULL,       -- hex HMAC-SHA256(secret, upper(id_number))
    id_masked     VARCHAR NOT NULL,       -- first 6 + 8 stars + last 4
    name_masked   VARCHAR,                -- 张*明
    sex           VARCHAR CHECK (sex IN ('M', 'F')),
    birth_year    SMALLINT,
    hukou_type    VARCHAR CHECK (hukou_type IN ('registered', 'floating')),
    care_tags     VARCHAR[],              -- elderly_alone, left_behind_child, disability, ...
    address       VARCHAR,
    room_id       VARCHAR,
    phone_masked  VARCHAR,                -- 138****5678
    phone_hmac    VARCHAR,
    moved_in      DATE,
    moved_out     DATE,
    row_hash      VARCHAR NOT NULL,
    ingested_at   TIMESTAMPTZ NOT NULL,
    batch_id      VARCHAR NOT NULL
);
INSERT INTO people_0005 SELECT source_id, id_hmac, id_masked, name_masked, sex, birth_year, hukou_type, care_tags, address, room_id, phone_masked, phone_hmac, moved_in, moved_out, row_hash, ingested_at, batch_id FROM people;
DROP TABLE people;
ALTER TABLE people_0005 RENAME TO people;

CREATE TABLE legal_persons_0005 (
    source_id     VARCHAR NOT NULL,
    uscc          VARCHAR NOT NULL,       -- unified social credit code (public), GB 32100
    name          VARCHAR NOT NULL,
    industry      VARCHAR,
    reg_address   VARCHAR,
    op_address    VARCHAR,
    lon           DOUBLE,                 -- WGS84
    lat           DOUBLE,
    geom          GEOMETRY,
    status        VARCHAR CHECK (status IN ('active', 'suspended', 'revoked', 'cancelled')),
    established   DATE,
    row_hash      VARCHAR NOT NULL,
    ingested_at   TIMESTAMPTZ NOT NULL,
    batch_id      VARCHAR NOT NULL
);
INSERT INTO legal_persons_0005 SELECT source_id, uscc, name, industry, reg_address, op_address, lon, lat, geom, status, established, row_hash, ingested_at, batch_id FROM legal_persons;
DROP TABLE legal_persons;
ALTER TABLE legal_persons_0005 RENAME TO legal_persons;

CREATE TABLE houses_0005 (
    source_id          VARCHAR NOT NULL,
    room_id            VARCHAR NOT NULL,
    use                VARCHAR NOT NULL CHECK (use IN ('owner_occupied', 'rented', 'vacant', 'commercial')),
    occupants          INTEGER CHECK (occupants >= 0),
    rental_registered  BOOLEAN,
    rental_reg_no      VARCHAR,
    rental_reg_date    DATE,
    row_hash           VARCHAR NOT NULL,
    ingested_at        TIMESTAMPTZ NOT NULL,
    batch_id           VARCHAR NOT NULL
);
INSERT INTO houses_0005 SELECT source_id, room_id, use, occupants, rental_registered, rental_reg_no, rental_reg_date, row_hash, ingested_at, batch_id FROM houses;
DROP TABLE houses;
ALTER TABLE houses_0005 RENAME TO houses;

CREATE TABLE events_0005 (
    source_id      VARCHAR NOT NULL,
    category_kind  VARCHAR NOT NULL CHECK (category_kind IN ('part', 'event')),
    category_code  VARCHAR NOT NULL,
    source         VARCHAR NOT NULL CHECK (source IN ('grid_worker', 'hotline_12345', 'video', 'iot')),
    description    VARCHAR,
    address        VARCHAR,
    lon            DOUBLE,
    lat            DOUBLE,
    geom           GEOMETRY,
    state          VARCHAR NOT NULL CHECK (state IN ('reported', 'registered', 'dispatched', 'handled', 'verified', 'closed')),
    reported_at    TIMESTAMP NOT NULL,
    registered_at  TIMESTAMP,
    dispatched_at  TIMESTAMP,
    handled_at     TIMESTAMP,
    verified_at    TIMESTAMP,
    closed_at      TIMESTAMP,
    department     VARCHAR,
    sla_deadline   TIMESTAMP NOT NULL,    -- reported_at + event_categories.sla_hours
    row_hash       VARCHAR NOT NULL,
    ingested_at    TIMESTAMPTZ NOT NULL,
    batch_id       VARCHAR NOT NULL
);
INSERT INTO events_0005 SELECT source_id, category_kind, category_code, source, description, address, lon, lat, geom, state, reported_at, registered_at, dispatched_at, handled_at, verified_at, closed_at, department, sla_deadline, row_hash, ingested_at, batch_id FROM events;
DROP TABLE events;
ALTER TABLE events_0005 RENAME TO events;

CREATE TABLE sensors_0005 (
    source_id          VARCHAR NOT NULL,
    sensor_type        VARCHAR NOT NULL CHECK (sensor_type IN ('camera', 'smoke', 'manhole_cover', 'oil_fume', 'water_level', 'air_quality', 'noise', 'other')),
    lon                DOUBLE,
    lat                DOUBLE,
    geom               GEOMETRY,
    address            VARCHAR,
    status             VARCHAR CHECK (status IN ('online', 'offline', 'fault', 'retired')),
    installed          DATE,
    camera_range_m     DOUBLE,            -- cameras only
    camera_fov_deg     DOUBLE,
    camera_heading_deg DOUBLE,            -- 0 = north, clockwise
    row_hash           VARCHAR NOT NULL,
    ingested_at        TIMESTAMPTZ NOT NULL,
    batch_id           VARCHAR NOT NULL
);
INSERT INTO sensors_0005 SELECT source_id, sensor_type, lon, lat, geom, address, status, installed, camera_range_m, camera_fov_deg, camera_heading_deg, row_hash, ingested_at, batch_id FROM sensors;
DROP TABLE sensors;
ALTER TABLE sensors_0005 RENAME TO sensors;

CREATE TABLE sensor_readings_0005 (
    source_id        VARCHAR NOT NULL,  -- default: sensor_id || '@' || ts
    sensor_id        VARCHAR NOT NULL,     -- sensors.source_id
    ts               TIMESTAMP NOT NULL,
    value            DOUBLE,
    unit             VARCHAR,
    alert            BOOLEAN NOT NULL DEFAULT false,
    alert_type       VARCHAR,
    row_hash         VARCHAR NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL,
    batch_id         VARCHAR NOT NULL
);
INSERT INTO sensor_readings_0005 SELECT source_id, sensor_id, ts, value, unit, alert, alert_type, row_hash, ingested_at, batch_id FROM sensor_readings;
DROP TABLE sensor_readings;
ALTER TABLE sensor_readings_0005 RENAME TO sensor_readings;

-- One row per layer: an ingest updates its layer's row first, within its transaction.
CREATE TABLE layer_locks (
    layer       VARCHAR PRIMARY KEY,
    batch_id    VARCHAR,                  -- the last batch that took the lock
    locked_at   TIMESTAMPTZ
);
INSERT INTO layer_locks (layer) VALUES
    ('people'), ('legal_persons'), ('houses'), ('events'), ('sensors'), ('readings');
