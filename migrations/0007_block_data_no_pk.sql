-- 0007: block_data loses its PRIMARY KEY (level, code, grid_version, metric) (issue 7).
-- As with the layer tables in 0005 and the links in 0006: the key's ART index was maintained row
-- by row on ONE thread while fusion.blocks rewrote a version's 2.3M rows (Shenzhen scale), and
-- the commit wrote it again (delete + insert + commit of a recomputation: ~50 s with the key,
-- ~7 s without). Uniqueness of (level, code, grid_version, metric) is kept by fusion.blocks
-- instead: a computation runs in one transaction that first updates the row of block_locks (two
-- concurrent computations conflict, DuckDB "Conflict on update", instead of both writing), then
-- deletes the version's rows and inserts each (level, code, metric) once (one GROUP BY per level),
-- ordered by (level, code) so that the zonemaps of a lookup by level and code prune.
-- DuckDB cannot drop a constraint: the table is recreated (same columns, types, defaults and
-- checks), its rows copied, the old table dropped and the new one renamed.

CREATE TABLE block_data_0007 (
    level        VARCHAR NOT NULL CHECK (level IN ('micro_grid', 'grid', 'community', 'street', 'district')),
    code         VARCHAR NOT NULL,
    grid_version INTEGER NOT NULL,
    metric       VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    computed_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
INSERT INTO block_data_0007 SELECT level, code, grid_version, metric, value, computed_at FROM block_data ORDER BY grid_version, level, code, metric;
DROP TABLE block_data;
ALTER TABLE block_data_0007 RENAME TO block_data;

-- One row: a block computation updates it first, within its write transaction.
CREATE TABLE block_locks (
    name         VARCHAR PRIMARY KEY,
    grid_version INTEGER,                 -- the version of the last computation that took it
    locked_at    TIMESTAMPTZ
);
INSERT INTO block_locks (name) VALUES ('block_data');
