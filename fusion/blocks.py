"""Block data (分块统计): additive counts per micro-grid, rolled up to grid, community, street and
district.

Every metric is computed once per micro-grid from the ``links`` of the active grid version (and
the register's grid assignments for households), then summed upward, so the value of any level
is the sum of its children's values. There is no spatial join here: a record's micro-grid is the
one its link carries (placed by :mod:`fusion.link` through the spatial engine), and block data
are grouped sums of links; only the camera coverage metrics are geometry (polygon overlays, see
:mod:`fusion.coverage`). Metric names (see docs/fusion-linking.md):

``households``, ``residents.registered``, ``residents.floating``, ``care.<tag>``,
``enterprises``, ``enterprises.industry.<industry>``, ``houses.rented``,
``houses.rented_unregistered``, ``events``, ``events.category.<kind>-<code>``,
``events.state.<state>``, ``events.overdue``, ``sensors``, ``sensors.type.<type>``,
``sensors.status.<status>``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

import store
from common.errors import InvalidInput
from fusion._suppress import complementary_suppression
from fusion._write import locked
from fusion.coverage import coverage
from fusion.queries import LEVELS, block_data_count, block_rows
from grid_partition import queries as grids
from layers import queries as records

#: The parent level of each level.
PARENT = {"micro_grid": "grid", "grid": "community", "community": "street", "street": "district"}
#: Counts from 1 to SUPPRESS_BELOW - 1 are hidden in public output.
SUPPRESS_BELOW = 5
#: Metrics that are measured areas, not counts of people or things: never suppressed.
AREA_PREFIXES: tuple[str, ...] = ("coverage.",)
#: Counts that come from the register itself (dwellings estimated from its rooms), which
#: publishes them per building: hiding their sums would protect nothing, so they are public.
REGISTER_METRICS: frozenset[str] = frozenset({"households"})


def is_public_metric(metric: str) -> bool:
    """Whether a block metric is never suppressed (areas, and counts the register publishes).

    >>> is_public_metric("households"), is_public_metric("events"), is_public_metric("coverage.public_m2")
    (True, False, True)
    """
    return metric in REGISTER_METRICS or metric.startswith(AREA_PREFIXES)


def _micro_sql(v: int) -> str:
    """Every metric of every micro-grid of version ``v``: ``micro_grid_code, metric, value``
    (parameters ``$v``, ``$now``, ``$today``)."""
    return f"""
WITH p AS (SELECT l.micro_grid_code, x.hukou_type, x.care_tags, count(*) AS n
      FROM ({records.records_sql("people")}) x JOIN links l ON l.layer = 'people'
      AND l.grid_version = $v AND l.source_id = x.source_id
      WHERE x.moved_out IS NULL OR x.moved_out > $today
      GROUP BY ALL),
e AS (SELECT l.micro_grid_code, x.category_kind, x.category_code, x.state, x.sla_deadline
      FROM ({records.records_sql("events")}) x JOIN links l ON l.layer = 'events'
      AND l.grid_version = $v AND l.source_id = x.source_id),
s AS (SELECT l.micro_grid_code, x.sensor_type, x.status FROM ({records.records_sql("sensors")}) x
      JOIN links l ON l.layer = 'sensors' AND l.grid_version = $v AND l.source_id = x.source_id),
lp AS (SELECT l.micro_grid_code, x.industry FROM ({records.records_sql("legal_persons")}) x
       JOIN links l ON l.layer = 'legal_persons' AND l.grid_version = $v
       AND l.source_id = x.source_id
       WHERE coalesce(x.status, 'active') = 'active'),
h AS (SELECT l.micro_grid_code, x.use, x.rental_registered FROM ({records.records_sql("houses")}) x
      JOIN links l ON l.layer = 'houses' AND l.grid_version = $v AND l.source_id = x.source_id)
SELECT micro_grid_code, 'households' AS metric, sum(households)::DOUBLE AS value
FROM ({grids.assignments_sql(v)}) GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'residents.' || hukou_type, sum(n) FROM p
WHERE hukou_type IS NOT NULL GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'care.' || tag, sum(n)
FROM (SELECT micro_grid_code, unnest(list_distinct(care_tags)) AS tag, n FROM p) GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'enterprises', count(*) FROM lp GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'enterprises.industry.' || coalesce(industry, 'unknown'), count(*)
FROM lp GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'houses.rented', count(*) FROM h WHERE use = 'rented' GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'houses.rented_unregistered', count(*) FROM h
WHERE use = 'rented' AND NOT coalesce(rental_registered, false) GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'events', count(*) FROM e GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'events.category.' || category_kind || '-' || category_code, count(*)
FROM e GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'events.state.' || state, count(*) FROM e GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'events.overdue', count(*) FROM e
WHERE state <> 'closed' AND sla_deadline < $now GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'sensors', count(*) FROM s GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'sensors.type.' || sensor_type, count(*) FROM s GROUP BY ALL
UNION ALL
SELECT micro_grid_code, 'sensors.status.' || coalesce(status, 'unknown'), count(*) FROM s
GROUP BY ALL
"""


def _version(con: duckdb.DuckDBPyConnection, version: int | None) -> int:
    return int(version) if version is not None else grids.active_version(con)


def compute_blocks(
    con: duckdb.DuckDBPyConnection,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
    camera_coverage: bool = True,
) -> int:
    """Recompute ``block_data`` of a grid version (default: the active one) from the links.

    Parameters
    ----------
    camera_coverage
        Add ``coverage.public_m2`` and ``coverage.covered_m2`` (online cameras' sectors over
        public space, :mod:`fusion.coverage`); the share of a block is their ratio.
    now
        The instant overdue events are counted at (naive UTC; default: now). Residents are those
        not moved out by this day.

    Returns
    -------
    int
        Rows written (all levels).
    """
    v = _version(con, version)
    at = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    extra = ""
    if camera_coverage:
        cov = coverage(con, level="micro_grid", version=v)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fx_cov "
            "(micro_grid_code VARCHAR, metric VARCHAR, value DOUBLE)"
        )
        for metric, column in (
            ("coverage.public_m2", "public_m2"),
            ("coverage.covered_m2", "covered_m2"),
        ):
            if cov.empty:
                continue
            frame = pd.DataFrame(
                {"code": cov["code"].astype(str), "value": cov[column].astype("float64")}
            )
            con.register("_fx_cov_df", frame[frame["value"] > 0])
            try:
                con.execute(
                    "INSERT INTO _fx_cov SELECT code, $m, value FROM _fx_cov_df", {"m": metric}
                )
            finally:
                con.unregister("_fx_cov_df")
        extra = " UNION ALL SELECT micro_grid_code, metric, value FROM _fx_cov"
    micro = f"""
        SELECT m.micro_grid_code, m.grid_code, m.community_code, b.metric, b.value
        FROM ({_micro_sql(v)}{extra}) b
        JOIN ({grids.micro_grids_sql(v)}) m ON m.micro_grid_code = b.micro_grid_code
    """
    levels = {
        "micro_grid": "micro_grid_code",
        "grid": "grid_code",
        "community": "community_code",
        "street": "left(community_code, 9)",
        "district": "left(community_code, 6)",
    }
    union = " UNION ALL ".join(
        f"SELECT '{level}' AS level, {expr} AS code, metric, sum(value) AS value "
        "FROM mb GROUP BY ALL"
        for level, expr in levels.items()
    )
    # the micro-grid values once, then summed up each level (a CTE would be recomputed per level)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _fx_mb AS {micro}", {"v": v, "now": at, "today": at.date()}
    )
    try:
        _write_blocks(con, v, union)
    finally:
        con.execute("DROP TABLE IF EXISTS _fx_mb")
    return block_data_count(con, v)


def _write_blocks(con: duckdb.DuckDBPyConnection, v: int, union: str) -> None:
    """Replace version ``v``'s rows of ``block_data`` with ``union`` over ``_fx_mb``, atomically.

    ``block_data`` has no key (migration 0007): each (level, code, metric) is written once
    because ``union`` groups by it, and once per version because the version's rows are deleted
    in the same transaction, which first takes the row of ``block_locks``
    (:func:`fusion._write.locked`): a concurrent computation fails with
    :class:`~common.errors.Conflict` instead of writing the rows a second time. Rows go in
    ordered by level and code, so that the zonemaps of a lookup by block prune.
    """
    with locked(con, "block_locks", "block_data", what="block data", grid_version=v):
        con.execute("DELETE FROM block_data WHERE grid_version = $v", {"v": v})
        con.execute(
            f"""INSERT INTO block_data
            WITH mb AS (FROM _fx_mb)
            SELECT level, code, $v, metric, value, current_timestamp FROM ({union})
            ORDER BY level, code""",
            {"v": v},
        )


def suppress_value(value: float | None, below: int = SUPPRESS_BELOW) -> float | None:
    """``None`` for a count from 1 to ``below - 1`` (primary small-cell suppression), else the count.

    This looks at one value alone. Publishing block data needs complementary suppression as well
    (a hidden child is otherwise its parent minus its siblings): use
    ``block_values(..., suppress=True)`` or :func:`hidden_cells` for tables.

    >>> suppress_value(3), suppress_value(0), suppress_value(12)
    (None, 0, 12)
    """
    if value is not None and 0 < value < below:
        return None
    return value


def _tree(con: duckdb.DuckDBPyConnection, v: int) -> dict[tuple[str, str], tuple[str, str]]:
    """Parent of every block of grid version ``v``: ``(level, code) -> (level, code)``."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    rows = con.execute(
        f"SELECT DISTINCT micro_grid_code, grid_code, community_code "
        f"FROM ({grids.micro_grids_sql(v)})"
    ).fetchall()
    for micro, grid, community in rows:
        parent[("micro_grid", str(micro))] = ("grid", str(grid))
        parent[("grid", str(grid))] = ("community", str(community))
        parent[("community", str(community))] = ("street", str(community)[:9])
        parent[("street", str(community)[:9])] = ("district", str(community)[:6])
    return parent


def hidden_cells(
    con: duckdb.DuckDBPyConnection,
    *,
    version: int | None = None,
    metric_prefix: str | None = None,
    below: int = SUPPRESS_BELOW,
) -> set[tuple[str, str, str]]:
    """Every ``(level, code, metric)`` that public output must hide.

    Primary suppression (counts from 1 to ``below - 1``) plus complementary suppression over the
    whole micro-grid → grid → community → street → district tree of each metric, so that no
    hidden value is a published parent minus its published siblings, nor the sum of published
    children (rules in :mod:`fusion._suppress`). The answer depends on every level, whatever
    level a caller shows.
    """
    v = _version(con, version)
    by_metric: dict[str, dict[tuple[str, str], float]] = {}
    small: set[str] = set()
    for level, code, metric, value in block_rows(con, v, metric_prefix=metric_prefix):
        if is_public_metric(metric):
            continue
        by_metric.setdefault(metric, {})[(level, code)] = value
        if 0 < value < below:
            small.add(metric)
    if not small:
        return set()
    parent = _tree(con, v)
    kids: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for child, par in parent.items():
        kids.setdefault(par, []).append(child)
    hidden: set[tuple[str, str, str]] = set()
    for metric in sorted(small):
        values = by_metric[metric]
        # only equations where something is non-zero can hide or leak anything
        parents = {parent[n] for n in values if n in parent} | {n for n in values if n in kids}
        found = complementary_suppression(values, {p: kids[p] for p in parents}, below)
        hidden |= {(level, code, metric) for level, code in found}
    return hidden


def suppression_set(
    con: duckdb.DuckDBPyConnection, *, version: int | None = None
) -> frozenset[tuple[str, str, str]]:
    """The one suppression set of a grid version (the active one by default): every
    ``(level, code, metric)`` that public output hides, as :func:`hidden_cells` finds them at
    the default threshold.

    Cached by the store's data version of block data and grids (:func:`store.cached`), so that
    a grid page or a tile layer does not recompute the whole tree; the api's pages, tiles and
    features all hide from this one set.
    """
    v = _version(con, version)
    return store.cached(
        con,
        f"fusion.suppression_set@{v}",
        ("fusion", "grid_partition"),
        lambda c: frozenset(hidden_cells(c, version=v)),
    )


def block_values(
    con: duckdb.DuckDBPyConnection,
    level: str,
    code: str | None = None,
    *,
    metric_prefix: str | None = None,
    version: int | None = None,
    suppress: bool = False,
    below: int = SUPPRESS_BELOW,
    complementary: bool = True,
) -> dict[str, dict[str, float | None]]:
    """Block data of one level: ``{code: {metric: value}}``.

    Parameters
    ----------
    level
        ``micro_grid``, ``grid``, ``community``, ``street`` or ``district``.
    code
        Only this block (default: every block of the level).
    metric_prefix
        Only metrics starting with this (e.g. ``events.``).
    suppress
        Replace hidden values with ``None`` (for public output): counts from 1 to ``below - 1``
        and, with ``complementary`` (default), the values that would give them back through
        the sums between levels (:func:`hidden_cells`). Areas (``coverage.*``) stay shown.
    complementary
        With ``suppress``: also apply complementary suppression (``False``: primary only).

    Raises
    ------
    InvalidInput
        For an unknown level.
    """
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; expected one of {list(LEVELS)!r}")
    v = _version(con, version)
    hidden: set[tuple[str, str, str]] = set()
    if suppress and complementary:
        hidden = hidden_cells(con, version=v, metric_prefix=metric_prefix, below=below)
    out: dict[str, dict[str, float | None]] = {}
    for _, c, metric, value in block_rows(
        con, v, level=level, code=code, metric_prefix=metric_prefix
    ):
        shown: float | None = value
        if suppress and not is_public_metric(metric):
            shown = None if (level, c, metric) in hidden else suppress_value(shown, below)
        out.setdefault(c, {})[metric] = shown
    return out


def check_sums(con: duckdb.DuckDBPyConnection, *, version: int | None = None) -> list[str]:
    """Every (level, code, metric) whose value differs from the sum over its children.

    Counts must agree exactly; areas up to floating-point rounding (relative 1e-9). Returns an
    empty list when the levels agree.
    """
    v = _version(con, version)
    parent_of = {
        "micro_grid": "m.grid_code",
        "grid": "m.community_code",
        "community": "left(m.community_code, 9)",
        "street": "left(m.community_code, 6)",
    }
    child_code = {
        "micro_grid": "m.micro_grid_code",
        "grid": "m.grid_code",
        "community": "m.community_code",
        "street": "left(m.community_code, 9)",
    }
    problems: list[str] = []
    for child, parent in PARENT.items():
        rows = con.execute(
            f"""
            WITH keys AS (SELECT DISTINCT {child_code[child]} AS code,
                                 {parent_of[child]} AS parent
                          FROM ({grids.micro_grids_sql(v)}) m),
            sums AS (SELECT k.parent, d.metric, sum(d.value) AS value
                     FROM block_data d JOIN keys k ON k.code = d.code
                     WHERE d.level = '{child}' AND d.grid_version = $v GROUP BY ALL)
            SELECT coalesce(s.parent, p.code), coalesce(s.metric, p.metric),
                   s.value, p.value
            FROM sums s FULL JOIN (SELECT * FROM block_data
                                   WHERE level = '{parent}' AND grid_version = $v) p
              ON p.code = s.parent AND p.metric = s.metric
            WHERE s.value IS NULL OR p.value IS NULL
               OR abs(s.value - p.value) > 1e-9 * greatest(1, abs(p.value))
            """,
            {"v": v},
        ).fetchall()
        problems += [f"{parent} {c} {m}: children {a} != {b}" for c, m, a, b in rows]
    return problems
