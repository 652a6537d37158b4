"""Solve many communities at once, in worker processes (private).

The parent reads the register (:func:`grid_partition._register.read_communities`: plain
pandas / numpy / bytes, never a DuckDB connection) and hands each community to a worker of a
:class:`concurrent.futures.ProcessPoolExecutor` (``spawn`` start method: the parent holds a
DuckDB connection and its threads, which must not be forked). A worker projects the community,
partitions it and draws its polygons (:func:`solve_input`), and sends back the
:class:`~grid_partition._snapshot.Snapshot` (tables with WKB geometry); the parent writes them
all in bulk. Communities are independent and the partitioner is deterministic, so any number
of workers gives the same tables; the largest communities go first so that the last ones to
finish are small.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import pandas as pd

from common.workers import default_workers
from grid_partition._register import CommunityInput, build_community
from grid_partition._snapshot import Snapshot, solve_community
from grid_partition.caps import Caps

# ``default_workers`` stays importable from here for ``yizhi.pipeline`` until it imports it
# from ``common.workers``, its home.
__all__ = ["default_workers", "solve_inputs"]

#: Called after each community with (done, total, community code).
ProgressFn = Callable[[int, int, str], None]

#: Below this many buildings in all, communities are solved in this process whatever the
#: worker count: starting a worker (a fresh interpreter importing shapely, pandas, ...) costs
#: about a second, more than such a job takes on one core.
PARALLEL_MIN_BUILDINGS = 5_000


def solve_input(inp: CommunityInput, caps: Caps, previous: pd.DataFrame | None = None) -> Snapshot:
    """Build one community from its raw inputs and solve it (runs in a worker).

    ``previous``: the stored assignments of the community in the base version (columns
    building_id, unit as register code, micro_grid_code, grid_code), for a repartition.
    """
    ctx = build_community(inp)
    rows = None
    if previous is not None and len(previous):
        rows = ctx.rows(previous)
        rows = rows[rows["unit"] >= 0]
    return solve_community(ctx, caps, rows)


def solve_inputs(
    inputs: Sequence[CommunityInput],
    caps: Caps,
    *,
    previous: dict[str, pd.DataFrame] | None = None,
    workers: int = 1,
    progress: ProgressFn | None = None,
) -> list[Snapshot]:
    """Solve every community; the snapshots come back in the order of ``inputs``.

    ``workers`` 1 (or a single community, or fewer than :data:`PARALLEL_MIN_BUILDINGS`
    buildings in all) solves in this process; more start up to that many worker processes.
    ``progress`` is called in this process after each community, in the order they finish.
    """
    previous = previous or {}
    total = len(inputs)
    out: list[Snapshot | None] = [None] * total
    small = sum(inp.size for inp in inputs) < PARALLEL_MIN_BUILDINGS
    if workers <= 1 or total <= 1 or small:
        for i, inp in enumerate(inputs):
            out[i] = solve_input(inp, caps, previous.get(inp.code))
            if progress:
                progress(i + 1, total, inp.code)
        return [s for s in out if s is not None]
    order = sorted(range(total), key=lambda i: (-inputs[i].size, i))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=ctx) as pool:
        # Keep a few communities queued per worker: enough to keep them busy, without pickling
        # the whole city up front.
        ahead = 2 * workers
        pending: dict[Future[Snapshot], int] = {}
        nxt = 0
        done = 0
        try:
            while nxt < total or pending:
                while nxt < total and len(pending) < ahead:
                    i = order[nxt]
                    fut = pool.submit(solve_input, inputs[i], caps, previous.get(inputs[i].code))
                    pending[fut] = i
                    nxt += 1
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = pending.pop(fut)
                    out[i] = fut.result()
                    done += 1
                    if progress:
                        progress(done, total, inputs[i].code)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return [s for s in out if s is not None]
