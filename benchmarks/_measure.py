"""Memory and CPU of a benchmark that starts worker processes (shared by the city benchmarks)."""

from __future__ import annotations

import threading
import time

import psutil


class TreeRss:
    """Sample the memory of this process and its children in a thread; ``peak`` is the largest
    total seen: this process's RSS plus each child's USS (its private pages: a forked worker
    shares the rest with this process, a spawned one has nearly all of it private).

    Summing the children's RSS instead would count the pages a forked worker shares with its
    parent twice."""

    def __init__(self, interval: float = 0.25, children_every: float = 5.0) -> None:
        self.interval = interval
        # a child's USS walks its page tables (smaps_rollup), which stalls its page faults:
        # sample children far less often than this process
        self.children_every = children_every
        self._children = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        last = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last >= self.children_every:
                last = time.monotonic()
                self._children = 0
                for proc in me.children(recursive=True):
                    try:
                        self._children += proc.memory_full_info().uss
                    except psutil.Error:
                        continue
            self.peak = max(self.peak, me.memory_info().rss + self._children)
            time.sleep(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (the workers)."""
    t = psutil.Process().cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)
