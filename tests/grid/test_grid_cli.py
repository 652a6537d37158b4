"""``yizhi grid`` commands on the crafted register (JSON output, exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import store
from common.errors import Conflict
from tests.grid.crafted import A, make_register
from yizhi.cli.grid import app


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid_cli") / "cli.duckdb"
    con = store.connect(path)
    make_register(con)
    con.close()
    return path


def _run(*args: str) -> tuple[int, object]:
    res = CliRunner().invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, json.loads(res.stdout) if "--json" in args else res.stdout


def test_partition_check_at_diff_export_import(db: Path, tmp_path: Path) -> None:
    code, out = _run("partition", "--db", str(db), "--json")
    assert code == 0 and isinstance(out, dict) and out["version"] == 1 and out["ok"]
    code, out = _run("check", "--db", str(db), "--json")
    assert code == 0 and isinstance(out, dict) and out["violations"] == []
    code, out = _run("at", "121.4810", "31.2310", "--db", str(db), "--json")
    assert code == 0 and isinstance(out, dict) and out["community_code"] == A
    code, out = _run("diff", "1", "1", "--db", str(db), "--json")
    assert code == 0 and isinstance(out, dict) and out["empty"]
    gpkg = tmp_path / "v.gpkg"
    code, out = _run("export", str(gpkg), "--format", "gpkg", "--db", str(db), "--json")
    assert code == 0 and gpkg.is_file()
    code, out = _run("import", str(gpkg), "--db", str(db), "--json")
    assert code == 0 and isinstance(out, dict) and out["changed"] is False
    code, out = _run("versions", "--db", str(db), "--json")
    assert code == 0 and isinstance(out, list) and len(out) == 1
    code, text = _run("check", "--db", str(db))
    assert code == 0 and "violations" in str(text)


def test_refused_edit_raises_conflict(db: Path) -> None:
    with pytest.raises(Conflict, match="community"):
        _run("edit", "merge", A + "001", "310101002002001", "--db", str(db), "--json")


def test_partition_options_are_checked_before_any_work(db: Path) -> None:
    from common.errors import InvalidInput

    with pytest.raises(InvalidInput, match="workers must be at least 1, got 0"):
        _run("partition", "--db", str(db), "--workers", "0", "--json")
    with pytest.raises(InvalidInput, match="split_buildings"):
        _run("partition", "--db", str(db), "--split-buildings", "all", "--json")
