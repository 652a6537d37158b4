"""The sample-city pipeline behind ``yizhi demo``: stages that build on each other, reused when
their inputs have not changed.

Each :class:`Stage` names the files it reads and the stages it follows. Its *fingerprint* is a
hash of the yizhi version, those files' contents and the fingerprints of the stages before it; it
is stored in ``pipeline_stages`` when the stage finishes. A second run skips every stage whose
fingerprint is unchanged, so ``make demo`` twice is fast, and a changed input rebuilds only what
depends on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

import common
import store
from common.errors import InvalidInput
from common.settings import Settings, get_settings
from yizhi.manifest import sha256

#: The table the pipeline keeps (its stages' fingerprints); see docs/architecture.md.
TABLES = frozenset({"pipeline_stages"})

#: A sub-step report: a stage calls it with the name of the step it starts.
StepFn = Callable[[str], None]
StageFn = Callable[[duckdb.DuckDBPyConnection, Settings, StepFn], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline."""

    name: str
    description: str
    run: StageFn
    inputs: Callable[[Settings], list[Path]] = field(default=lambda s: [])
    after: tuple[str, ...] = ()


@dataclass
class StageResult:
    """What one stage did in one run."""

    name: str
    reused: bool
    seconds: float
    summary: dict[str, Any]


def _sources_under(*relative: str) -> Callable[[Settings], list[Path]]:
    def inputs(settings: Settings) -> list[Path]:
        files: list[Path] = []
        for rel in relative:
            root = settings.data_dir / rel
            files.extend(sorted(p for p in root.rglob("*") if p.is_file()))
        return files

    return inputs


def fingerprint(stage: Stage, settings: Settings, upstream: Iterable[str]) -> str:
    """Hash of the code version, the stage's input files and its upstream fingerprints."""
    digest = hashlib.sha256(f"{common.__version__}|{stage.name}".encode())
    for path in stage.inputs(settings):
        digest.update(f"{path.name}:{sha256(path)}".encode())
    for value in upstream:
        digest.update(value.encode())
    return digest.hexdigest()


def _stored(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute("SELECT fingerprint FROM pipeline_stages WHERE stage = ?", [name]).fetchone()
    return None if row is None else str(row[0])


def _record(con: duckdb.DuckDBPyConnection, name: str, fp: str, summary: dict[str, Any]) -> None:
    con.execute(
        "INSERT OR REPLACE INTO pipeline_stages (stage, fingerprint, summary, finished_at) "
        "VALUES (?, ?, ?, current_timestamp)",
        [name, fp, json.dumps(summary, ensure_ascii=False, default=str)],
    )


def _stage_registry(
    con: duckdb.DuckDBPyConnection, settings: Settings, step: StepFn
) -> dict[str, Any]:
    from address_registry.build import build_registry

    return dict(build_registry(con, data_dir=settings.data_dir, progress=step))


def _stage_grids(
    con: duckdb.DuckDBPyConnection, settings: Settings, step: StepFn
) -> dict[str, Any]:
    from address_registry.sources import water_from_geojson
    from common.workers import default_workers
    from grid_partition.store import partition_store
    from grid_partition.versions import quality

    water = water_from_geojson(settings.data_dir / "osm" / "water.geojson")
    water = water[water.geom_type.isin(["Polygon", "MultiPolygon"])]

    def progress(done: int, total: int, code: str) -> None:
        step(f"community {code} ({done}/{total})")

    version = partition_store(
        con,
        barriers=water.geometry,
        note="yizhi demo: sample city",
        actor="demo",
        progress=progress,
        workers=default_workers(settings),
    )
    return {"version": version, "quality": quality(con, version)}


#: Layer kinds in ingest order (sensors before their readings).
LAYER_KINDS = ("people", "legal_persons", "houses", "events", "sensors", "readings")


def _stage_layers(
    con: duckdb.DuckDBPyConnection, settings: Settings, step: StepFn
) -> dict[str, Any]:
    from layers.demo_data import sample_layers
    from layers.ingest import ingest

    # the files go beside the store being built (not beside the settings' default store: two
    # pipelines building two stores at once must not write the same files)
    key = store.store_key(con)
    with contextlib.ExitStack() as stack:
        if key.startswith("memory:"):
            out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            out_dir = Path(key).parent / f"{Path(key).stem}-sample-layers"
        step("generate the sample layers")
        sample_layers(con, out_dir, seed=settings.seed)
        report: dict[str, Any] = {}
        for kind in LAYER_KINDS:
            step(f"ingest {kind}")
            done = ingest(con, kind, out_dir / f"{kind}.csv", demo=True)
            report[kind] = {
                "rows_in": done.rows_in,
                "loaded": done.loaded,
                "quarantined": done.quarantined,
                "reasons": done.reasons,
            }
    return report


def _stage_fuse(con: duckdb.DuckDBPyConnection, settings: Settings, step: StepFn) -> dict[str, Any]:
    from fusion.blocks import compute_blocks
    from fusion.link import link

    def progress(layer: str, done: int, total: int) -> None:
        step(f"link {layer} ({done:,}/{total:,})")

    report = link(con, incremental=False, progress=progress)
    step("block data")
    report["block_data_rows"] = compute_blocks(con)
    return report


#: The stages that exist, in data-flow order. Later stages are appended as they land.
STAGES: list[Stage] = [
    Stage(
        "registry",
        "register admin areas, roads, doorplates, buildings and rooms",
        _stage_registry,
        inputs=_sources_under("osm", "boundaries", "divisions"),
    ),
    Stage(
        "grids",
        "partition communities into grids and micro-grids by household caps",
        _stage_grids,
        after=("registry",),
    ),
    Stage(
        "layers",
        "generate and ingest people, legal persons, houses, events and sensors",
        _stage_layers,
        after=("registry",),
    ),
    Stage(
        "fuse",
        "link every record to its room, building and grid; block data",
        _stage_fuse,
        after=("grids", "layers"),
    ),
]


def run_pipeline(
    con: duckdb.DuckDBPyConnection,
    *,
    stages: list[Stage] | None = None,
    only: Iterable[str] | None = None,
    force: bool = False,
    settings: Settings | None = None,
    on_stage: Callable[[Stage, str], None] | None = None,
    on_step: Callable[[Stage, str], None] | None = None,
) -> list[StageResult]:
    """Run the pipeline on an open store, reusing stages whose inputs have not changed.

    Parameters
    ----------
    con
        A writable, migrated store.
    stages
        The stages (default :data:`STAGES`).
    only
        Names of the stages to run (with the stages they follow); default all.
    force
        Re-run every stage even when its fingerprint is unchanged.
    on_stage
        Called with ``(stage, "start" | "reused" | "done")`` for progress displays.
    on_step
        Called with ``(stage, step)`` as a running stage starts each of its steps.
    """
    stages = STAGES if stages is None else stages
    settings = settings or get_settings()
    by_name = {s.name: s for s in stages}
    wanted = set(by_name) if only is None else set(only)
    unknown = wanted - set(by_name)
    if unknown:
        raise InvalidInput(f"unknown stages {sorted(unknown)}; known: {list(by_name)}")
    needed = set(wanted)
    frontier = list(wanted)
    while frontier:  # a stage needs the stages it follows, transitively
        for before in by_name[frontier.pop()].after:
            if before not in needed:
                needed.add(before)
                frontier.append(before)
    fingerprints: dict[str, str] = {}
    results: list[StageResult] = []
    for stage in stages:
        if stage.name not in needed:
            continue
        fp = fingerprint(stage, settings, (fingerprints[a] for a in stage.after))
        fingerprints[stage.name] = fp
        start = time.perf_counter()
        if not force and _stored(con, stage.name) == fp:
            row = con.execute(
                "SELECT summary FROM pipeline_stages WHERE stage = ?", [stage.name]
            ).fetchone()
            summary = json.loads(row[0]) if row and row[0] else {}
            if on_stage:
                on_stage(stage, "reused")
            results.append(StageResult(stage.name, True, time.perf_counter() - start, summary))
            continue
        if on_stage:
            on_stage(stage, "start")

        def step(name: str, stage: Stage = stage) -> None:
            if on_step:
                on_step(stage, name)

        summary = stage.run(con, settings, step)
        _record(con, stage.name, fp, summary)
        if on_stage:
            on_stage(stage, "done")
        results.append(StageResult(stage.name, False, time.perf_counter() - start, summary))
    return results


def store_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts of what the store holds, for the demo's closing summary: each from its owner."""
    from address_registry import queries as registry
    from fusion import queries as fusion
    from grid_partition import queries as grids
    from layers import queries as layers

    held, grid, records = registry.counts(con), grids.counts(con), layers.counts(con)
    out: dict[str, Any] = {key: n for key, n in held.items() if key != "quarantined"}
    out |= {
        "quarantined (registry)": held["quarantined"],
        "grids": grid["grids"],
        "micro-grids": grid["micro_grids"],
        "unit grids": grid["unit_grids"],
        "quarantined (layers)": records["quarantined"],
    }
    linked = fusion.link_counts(con)
    for layer in LAYER_KINDS[:-1]:  # readings belong to their sensors
        done, left = linked[layer]["linked"], linked[layer]["unlinked"]
        out[layer.replace("_", " ")] = f"{records[layer]:,} ({done:,} linked, {left:,} unlinked)"
    return out
