-- 0008: the store's data version (issue 16). Every write of a subsystem appends one row here in
-- the transaction of the write (store.transaction(con, changes=...) or store.mark_changed), so
-- the version of a domain is (count, latest change). Appends never conflict, so concurrent
-- writers of one domain (two layers ingesting at once) do not serialise on a counter row.
-- Every store-derived cache (resolver and search indexes, the point index, tiles, suppression
-- sets) is keyed by the versions of the domains it reads (store.cache).
CREATE TABLE data_changes (
    domain     VARCHAR NOT NULL CHECK (domain IN ('address_registry', 'grid_partition', 'layers', 'fusion')),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    what       VARCHAR                  -- a short note: the operation that wrote
);
INSERT INTO data_changes (domain, what) VALUES
    ('address_registry', 'migration 0008'), ('grid_partition', 'migration 0008'),
    ('layers', 'migration 0008'), ('fusion', 'migration 0008');
