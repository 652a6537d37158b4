"""How many worker processes the heavy stages use (grid partition, address linking)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from yizhi.errors import InvalidInput

if TYPE_CHECKING:
    from yizhi.settings import Settings


def default_workers(settings: Settings | None = None) -> int:
    """Worker processes by default: the CPUs of this machine, at most the ``threads`` setting
    (``YIZHI_THREADS``, 2 by default) of ``settings`` (default: the process settings)."""
    from yizhi.settings import get_settings

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
