"""Worker processes of the heavy stages (grid partition, address linking, camera coverage):
how many, and a forked map that shares this process's memory with them."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from common.errors import InvalidInput

if TYPE_CHECKING:
    from common.settings import Settings

T = TypeVar("T")
R = TypeVar("R")


def default_workers(settings: Settings | None = None) -> int:
    """Worker processes by default: the CPUs of this machine, at most the ``threads`` setting
    (``YIZHI_THREADS``, 2 by default) of ``settings`` (default: the process settings)."""
    from common.settings import get_settings

    threads = int((settings or get_settings()).threads)
    return max(1, min(os.cpu_count() or 1, threads))


def check_workers(workers: int | None) -> int:
    """The worker count to use (``None``: :func:`default_workers`).

    >>> check_workers(3)
    3

    Raises
    ------
    InvalidInput
        When ``workers`` is below 1.
    """
    if workers is None:
        return default_workers()
    if int(workers) < 1:
        raise InvalidInput(f"workers must be at least 1, got {workers}")
    return int(workers)


#: The function the children of :func:`fork_map` run (set only while its pool exists).
_FORKED: Callable[[Any], Any] | None = None


def _call_forked(item: Any) -> Any:
    assert _FORKED is not None, "only in a worker forked by fork_map"
    return _FORKED(item)


def fork_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``fn`` over ``items``, in order, in ``workers`` processes *forked* from this one.

    The children inherit ``fn`` and everything it reads (an index, geometries) from this
    process's memory instead of receiving a pickled copy; only the items and the results cross
    between processes. Use it only for pure-Python / numpy work that never touches a DuckDB
    connection (forking is safe while this process's connection is idle: DuckDB's threads are
    not copied into the child, whose calls never reach them). With one worker, one item, or
    off Linux, ``fn`` runs here.

    >>> list(fork_map(lambda x: x * x, [1, 2, 3], workers=2))
    [1, 4, 9]
    """
    global _FORKED
    if workers <= 1 or len(items) <= 1 or sys.platform != "linux":
        yield from map(fn, items)
        return
    if _FORKED is not None:
        raise RuntimeError("fork_map is not reentrant")
    _FORKED = fn
    # keep the inherited pages shared (the collector would write to them); a process that
    # froze its objects itself (a server after warming up) stays frozen afterwards
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns on fork in a process with threads (DuckDB's, idle here)
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = multiprocessing.get_context("fork").Pool(min(workers, len(items)))
        with pool:
            yield from pool.imap(_call_forked, items)
    finally:
        _FORKED = None
        if thaw:
            gc.unfreeze()
