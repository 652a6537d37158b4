"""The wheel carries the product: built from the tracked files alone and installed in a fresh
environment, away from the checkout, it migrates a store, builds the demo and verifies its data.

Offline: the wheel is built with uv from its cache (``make install`` has put the build backend
there), and the fresh environment sees the dependencies of ``.venv`` through a ``.pth`` line,
but not the editable checkout (a path line in a ``.pth`` file is not itself a site directory, so
the ``.pth`` of the editable install in ``.venv`` is not read). And the product imports nothing
that the wheel leaves out (benchmarks, the synthetic generators, the tests).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: The packages of the wheel ([tool.setuptools] packages in pyproject.toml, data aside).
PRODUCT = (
    "common",
    "store",
    "address_registry",
    "grid_partition",
    "layers",
    "fusion",
    "api",
    "yizhi",
)
#: What stays in the checkout: the product never imports it.
NOT_SHIPPED = ("synthetic", "benchmarks", "tests")


def test_the_product_imports_nothing_that_is_not_shipped() -> None:
    wrong = []
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                wrong += [
                    f"{path.relative_to(REPO)}:{node.lineno} imports {name}"
                    for name in names
                    if name.split(".")[0] in NOT_SHIPPED
                ]
    assert not wrong, "\n".join(wrong)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done.stdout


def _uv(*args: str, cwd: Path) -> str:
    return _run([sys.executable, "-m", "uv", *args, "--offline", "--quiet"], cwd)


def _clean_copy(dest: Path) -> Path:
    """The files git tracks, as they are in the work tree (nothing built, nothing ignored)."""
    listed = _run(["git", "ls-files", "-z"], REPO).split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is gone
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel of the clean copy: its ``bin/`` directory."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout")
    root = tmp_path_factory.mktemp("packaging")
    source = _clean_copy(root / "source")
    _uv("build", "--wheel", "--out-dir", str(root / "dist"), str(source), cwd=root)
    (wheel,) = (root / "dist").glob("yizhi-*.whl")
    _uv("venv", "--python", sys.executable, str(root / "env"), cwd=root)
    python = root / "env" / "bin" / "python"
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.strip()) / "yizhi-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _uv("pip", "install", "--no-deps", "--python", str(python), str(wheel), cwd=root)
    return root / "env" / "bin"


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YIZHI_", "PYTHON"))}
    return env | {"YIZHI_DB": str(work / "store.duckdb"), "YIZHI_THREADS": "2"}


@pytest.mark.slow
def test_installed_packages_come_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, common, store, yizhi, address_registry, api\n"
        "from common.settings import FROM_CHECKOUT, get_settings\n"
        "s = get_settings()\n"
        "print(json.dumps({'modules': [m.__file__ for m in (common, store, yizhi, "
        "address_registry, api)], 'checkout': FROM_CHECKOUT, 'migrations': str(s.migrations_dir), "
        "'data': str(s.data_dir), 'db': str(s.db)}))"
    )
    found = json.loads(_run([str(installed / "python"), "-c", probe], tmp_path, _env(tmp_path)))
    env_dir = str(installed.parent)
    assert all(path.startswith(env_dir) for path in found["modules"]), found["modules"]
    assert found["checkout"] is False
    assert found["migrations"].startswith(env_dir) and found["data"].startswith(env_dir)
    assert (Path(found["migrations"]) / "0001_registry.sql").is_file()
    assert found["db"] == str(tmp_path / "store.duckdb")


@pytest.mark.slow
def test_installed_yizhi_migrates_builds_the_demo_and_verifies_its_data(
    installed: Path, tmp_path: Path
) -> None:
    yizhi, env = str(installed / "yizhi"), _env(tmp_path)
    migrated = json.loads(_run([yizhi, "db", "migrate", "--json"], tmp_path, env))
    shipped = sorted((REPO / "migrations").glob("*.sql"))
    assert migrated["applied"] == list(range(1, len(shipped) + 1))

    verified = json.loads(_run([yizhi, "data", "verify", "--json"], tmp_path, env))
    assert verified["ok"] and verified["files"] > 0
    assert verified["data_dir"].startswith(str(installed.parent))

    demo = json.loads(_run([yizhi, "demo", "--no-serve", "--json"], tmp_path, env))
    summary = demo["summary"]
    assert summary["buildings"] > 1000 and summary["grids"] > 0
    assert " linked" in summary["people"] and not summary["people"].startswith("0 ")
    # what yizhi makes goes to var/ of the current directory, nothing into the installation
    assert (tmp_path / "var" / "hmac.key").is_file()
    assert (tmp_path / "store.duckdb").is_file()
    assert not list(installed.parent.rglob("*.duckdb"))
