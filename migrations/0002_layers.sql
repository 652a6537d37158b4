-- 0002: the governance layers (实有人口, 实有单位, 实有房屋, 事件, 感知设备) fused onto the register.
-- See docs/layers.md for every column. Privacy: no raw resident ID number, name or phone is ever
-- stored; people carry a keyed hash (HMAC-SHA256, secret outside the database) and masked forms.
-- Every layer table has a unique source_id, the batch that last wrote it and a row_hash (md5 of
-- the stored values) that lets a re-ingest tell updated rows from unchanged ones.

CREATE TABLE layer_batches (
    batch_id    VARCHAR PRIMARY KEY,
    layer       VARCHAR NOT NULL,
    file        VARCHAR NOT NULL,
    sha256      VARCHAR,                  -- of the input file's bytes
    rows_in     BIGINT NOT NULL DEFAULT 0,  -- = loaded + quarantined
    loaded      BIGINT NOT NULL DEFAULT 0,  -- = inserted + updated + unchanged
    inserted    BIGINT NOT NULL DEFAULT 0,
    updated     BIGINT NOT NULL DEFAULT 0,
    unchanged   BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    reasons     JSON,                     -- {slug: count}
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

-- Every row a batch could not load, with ALL its reasons. raw holds the row as read, with PII
-- replaced by masked forms and keyed hashes.
CREATE TABLE layer_quarantine (
    layer       VARCHAR NOT NULL,
    batch_id    VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_line BIGINT,                   -- CSV: physical line (header = 1); others: feature/row number (1-based)
    source_id   VARCHAR,
    reasons     VARCHAR[] NOT NULL,
    raw         JSON,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE people (
    source_id     VARCHAR PRIMARY KEY,
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

CREATE TABLE legal_persons (
    source_id     VARCHAR PRIMARY KEY,
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

CREATE TABLE houses (
    source_id          VARCHAR PRIMARY KEY,
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

-- 部件 (components) and 事件 (events) classes after GB/T 30428.2-2013 / CJ/T 214-2007:
-- code = major (2) + minor (2). A representative subset; see docs/layers.md.
CREATE TABLE event_categories (
    kind        VARCHAR NOT NULL CHECK (kind IN ('part', 'event')),  -- 部件 / 事件
    code        VARCHAR NOT NULL CHECK (length(code) = 4),
    major_code  VARCHAR NOT NULL,
    major_name  VARCHAR NOT NULL,
    minor_name  VARCHAR NOT NULL,
    sla_hours   INTEGER NOT NULL CHECK (sla_hours > 0),
    PRIMARY KEY (kind, code)
);

INSERT INTO event_categories VALUES
    ('part', '0101', '01', '公用设施', '上水井盖', 4),
    ('part', '0102', '01', '公用设施', '污水井盖', 4),
    ('part', '0103', '01', '公用设施', '雨水井盖', 4),
    ('part', '0104', '01', '公用设施', '雨水箅子', 4),
    ('part', '0105', '01', '公用设施', '电力井盖', 4),
    ('part', '0106', '01', '公用设施', '路灯井盖', 4),
    ('part', '0107', '01', '公用设施', '通信井盖', 4),
    ('part', '0109', '01', '公用设施', '燃气井盖', 4),
    ('part', '0112', '01', '公用设施', '消防栓', 8),
    ('part', '0120', '01', '公用设施', '路灯', 24),
    ('part', '0201', '02', '道路交通', '停车场', 72),
    ('part', '0203', '02', '道路交通', '公交站亭', 48),
    ('part', '0206', '02', '道路交通', '交通信号灯', 8),
    ('part', '0207', '02', '道路交通', '交通标志牌', 48),
    ('part', '0210', '02', '道路交通', '护栏', 48),
    ('part', '0301', '03', '市容环境', '公共厕所', 24),
    ('part', '0303', '03', '市容环境', '垃圾箱', 24),
    ('part', '0306', '03', '市容环境', '广告牌匾', 72),
    ('part', '0401', '04', '园林绿化', '古树名木', 24),
    ('part', '0402', '04', '园林绿化', '行道树', 48),
    ('part', '0403', '04', '园林绿化', '绿地', 72),
    ('part', '0501', '05', '房屋土地', '宣传栏', 72),
    ('part', '0502', '05', '房屋土地', '人防工事', 72),
    ('part', '0601', '06', '其他设施', '监控电子眼', 24),
    ('part', '0603', '06', '其他设施', '健身设施', 72),
    ('event', '0101', '01', '市容环境', '私搭乱建', 72),
    ('event', '0102', '01', '市容环境', '暴露垃圾', 24),
    ('event', '0103', '01', '市容环境', '积存垃圾渣土', 24),
    ('event', '0104', '01', '市容环境', '道路不洁', 24),
    ('event', '0105', '01', '市容环境', '水域不洁', 48),
    ('event', '0106', '01', '市容环境', '绿地脏乱', 48),
    ('event', '0201', '02', '宣传广告', '非法小广告', 48),
    ('event', '0202', '02', '宣传广告', '违章张贴悬挂广告牌匾', 72),
    ('event', '0203', '02', '宣传广告', '占道广告牌', 48),
    ('event', '0301', '03', '施工管理', '施工扰民', 24),
    ('event', '0302', '03', '施工管理', '工地扬尘', 24),
    ('event', '0303', '03', '施工管理', '道路遗撒', 12),
    ('event', '0305', '03', '施工管理', '无证掘路', 24),
    ('event', '0401', '04', '突发事件', '路面塌陷', 2),
    ('event', '0402', '04', '突发事件', '自来水管破裂', 2),
    ('event', '0403', '04', '突发事件', '燃气管道破裂', 1),
    ('event', '0404', '04', '突发事件', '下水道堵塞或破损', 4),
    ('event', '0405', '04', '突发事件', '道路积水', 2),
    ('event', '0501', '05', '街面秩序', '无照经营游商', 12),
    ('event', '0502', '05', '街面秩序', '流浪乞讨', 12),
    ('event', '0504', '05', '街面秩序', '店外经营', 24),
    ('event', '0505', '05', '街面秩序', '机动车乱停放', 12),
    ('event', '0506', '05', '街面秩序', '非机动车乱停放', 24);

CREATE TABLE events (
    source_id      VARCHAR PRIMARY KEY,
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

CREATE SEQUENCE event_transition_seq START 1;

CREATE TABLE event_transitions (
    transition_id BIGINT PRIMARY KEY DEFAULT nextval('event_transition_seq'),
    event_id      VARCHAR NOT NULL,       -- events.source_id
    from_state    VARCHAR,                -- NULL for the first report
    to_state      VARCHAR NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    department    VARCHAR,
    actor         VARCHAR,
    note          VARCHAR,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE sensors (
    source_id          VARCHAR PRIMARY KEY,
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

-- Readings and alerts: a time series, one row per sensor and time.
CREATE TABLE sensor_readings (
    source_id        VARCHAR PRIMARY KEY,  -- default: sensor_id || '@' || ts
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
