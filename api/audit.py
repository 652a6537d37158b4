"""The audit log of person-level reads: who read what, when; append-only and hash-chained.

Each read of person-level data appends one JSON line to ``YIZHI_AUDIT_LOG`` (default
``var/audit.jsonl``)::

    {"at": "...", "key_id": "k_1a2b3c4d", "key_name": "police-desk", "client": "10.0.0.7",
     "action": "GET /v1/buildings/310101.../people", "subjects": ["p-000123", ...],
     "records": 4, "prev": "<sha256 of the previous line>", "hash": "<sha256 of this line>"}

The file is written under an exclusive lock with one ``write`` per line, so several server
processes can share it; every line carries the hash of the line before, so an edited or removed
line breaks the chain and :meth:`AuditLog.verify` finds it. The log is outside the DuckDB store
on purpose: the store is opened read-only by the server.

>>> import tempfile, pathlib
>>> log = AuditLog(pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl")
>>> _ = log.record(key_id="k_1", key_name="desk", client="127.0.0.1",
...                action="GET /v1/people/p-1", subjects=["p-1"])
>>> log.verify()
1
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import SchemaError

_GENESIS = "0" * 64


def _line_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


class AuditLog:
    """An append-only JSON Lines audit log with a hash chain."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def record(
        self,
        *,
        key_id: str,
        key_name: str,
        client: str,
        action: str,
        subjects: list[str],
        records: int | None = None,
    ) -> dict[str, Any]:
        """Append one entry and return it (with its hash)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            prev = _last_hash(fd)
            entry: dict[str, Any] = {
                "at": datetime.now(UTC).isoformat(timespec="microseconds"),
                "key_id": key_id,
                "key_name": key_name,
                "client": client,
                "action": action,
                "subjects": subjects[:1000],
                "records": len(subjects) if records is None else records,
                "prev": prev,
            }
            entry["hash"] = _line_hash(entry)
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return entry

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every entry, oldest first."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def verify(self) -> int:
        """Check the hash chain; returns the number of entries.

        Raises :class:`~common.errors.SchemaError` naming the first line that was edited,
        removed or inserted.
        """
        prev = _GENESIS
        n = 0
        for n, entry in enumerate(self.entries(), start=1):
            if entry.get("prev") != prev or _line_hash(entry) != entry.get("hash"):
                raise SchemaError(f"audit log {self.path} is broken at line {n}", line=n)
            prev = entry["hash"]
        return n


def _last_hash(fd: int) -> str:
    """The hash on the last line of the open file (the genesis hash when empty)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return _GENESIS
    chunk = 8192
    while True:
        start = max(0, size - chunk)
        os.lseek(fd, start, os.SEEK_SET)
        tail = os.read(fd, size - start).rstrip(b"\n")
        if b"\n" in tail or start == 0:
            break
        chunk *= 4
    last = tail.rsplit(b"\n", 1)[-1]
    try:
        return str(json.loads(last)["hash"])
    except (ValueError, KeyError) as exc:
        raise SchemaError(f"the last line of the audit log is not an entry: {exc}") from exc
