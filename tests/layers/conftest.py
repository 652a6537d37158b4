"""Fixtures of the layer tests: small input files written in tmp_path."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (with a header) to a CSV file in tmp_path."""

    def write(
        name: str,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        encoding: str = "utf-8",
    ) -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        return path

    return write
