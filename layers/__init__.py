"""The governance layers: people, legal persons, houses, events and sensors.

Files are ingested with :func:`layers.ingest.ingest` (CSV, Parquet, GeoJSON, GeoPackage),
validated over whole columns in DuckDB, quarantined with every reason when they fail, and
upserted by source ID. People are pseudonymised (:mod:`layers.privacy`). Events follow the
closed loop of :mod:`layers.events`.
"""
