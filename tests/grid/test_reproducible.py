"""The grids of a city are a function of its data: not of Python's string hashing.

Two processes with different ``PYTHONHASHSEED`` build the sample city's register and partition
it; they must draw the same grids, micro-grids and unit grids. (The register wrote its roads in
an order that moved with the hash seed, and the partition cut along its barriers in the order
the table returned them, so 7 grids, 16 micro-grids and 13 unit grids of the sample differed
between builds.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import store

_BUILD = """
import sys
import store
from yizhi.pipeline import run_pipeline

con = store.connect(sys.argv[1])
run_pipeline(con, only=["grids"])
con.close()
"""


@pytest.mark.slow
def test_grids_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    stores = []
    for seed in ("1", "2"):
        path = tmp_path / f"seed{seed}.duckdb"
        done = subprocess.run(
            [sys.executable, "-c", _BUILD, str(path)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        stores.append(path)
    result = store.compare_stores(
        *stores, tables=["roads", "grids", "micro_grids", "unit_grids", "grid_assignments"]
    )
    assert result["equal"], {t: e for t, e in result["tables"].items() if e.get("only_after")}
