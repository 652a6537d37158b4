"""A private scratch folder for one ingest: raw slices of a department's file (personal data
included) never outlive the ingest that made them.

The folder is made with mode 0700 (only this user reads it) and its name carries the process
id; it is removed when the ingest ends, however it ends. A process killed before that (SIGKILL,
a power cut) leaves its folder behind: the next ingest on the machine removes every folder of
a process that no longer runs (:func:`sweep`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "yizhi-ingest-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders of ingests whose process no longer runs; return them."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{PREFIX}*"):
        pid_text = folder.name[len(PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or not folder.is_dir() or folder.is_symlink():
            continue
        if folder.stat().st_uid != os.getuid() or _alive(int(pid_text)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextmanager
def scratch(root: Path | None = None) -> Iterator[Path]:
    """A new private folder (mode 0700) for one ingest, removed when the block ends."""
    sweep(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    os.chmod(folder, 0o700)  # mkdtemp's mode already; said out loud
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
