"""The worked notebooks (``notebooks/*.py``, jupytext percent format) run top to bottom.

Each notebook is executed in a fresh kernel of this environment against a sample store built once
for the test session (``YIZHI_DB`` points the notebook at it). A notebook that raises fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, sample_store: Path, tmp_path: Path) -> None:
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    env_before = os.environ.get("YIZHI_DB")
    os.environ["YIZHI_DB"] = str(sample_store)
    try:
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("YIZHI_DB", None)
        else:
            os.environ["YIZHI_DB"] = env_before
