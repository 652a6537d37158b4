"""The house rules of docs/architecture.md, checked on the code as it stands.

* Floors: a package imports only packages on lower floors (``common`` at the bottom, the
  ``yizhi`` command line and pipeline at the top); packages on one floor do not import each
  other.
* No circle of files: the import graph of the product packages, imports inside functions and
  ``TYPE_CHECKING`` blocks included, has no cycle.
* No private name crosses a package: another package's ``_module`` or ``_name`` is not imported.
* Each subsystem owns its tables: SQL that names a table (after ``FROM``, ``JOIN``, ``INTO``,
  ``UPDATE``, ``TABLE``) appears only in the package that owns it (``TABLES`` of its
  ``queries`` module); the others call that module.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Package -> floor (1 = ground). Packages on one floor must not import each other.
FLOORS: dict[str, int] = {
    "common": 1,
    "store": 2,
    "address_registry": 3,
    "grid_partition": 4,
    "layers": 4,
    "fusion": 5,
    "api": 6,
    "yizhi": 7,
}
#: Package -> the module that declares the tables it owns (``TABLES``).
OWNERS = {
    "store": "store",
    "address_registry": "address_registry.queries",
    "grid_partition": "grid_partition.queries",
    "layers": "layers.queries",
    "fusion": "fusion.queries",
    "yizhi": "yizhi.pipeline",
}


def _files() -> Iterator[tuple[str, Path]]:
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for _, p in _files()}


def _target(module: str, name: str | None) -> str | None:
    """The product module an import reaches: ``from a.b import c`` is ``a.b.c`` when that is a
    module of ours, else ``a.b``."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module if module in MODULES else None


def _imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """``(module, name, line)`` of every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = here.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                yield module, alias.name, node.lineno


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for imported, name, _ in _imports(path):
            target = _target(imported, name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def test_floors() -> None:
    wrong = []
    for package, path in _files():
        for imported, _, line in _imports(path):
            top = imported.split(".")[0]
            if top in FLOORS and top != package and FLOORS[top] >= FLOORS[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({package}) imports {imported}")
    assert not wrong, "imports that do not go down a floor:\n" + "\n".join(wrong)


def test_no_circle_of_files() -> None:
    graph = _edges()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "circles of imports:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_across_packages() -> None:
    wrong = []
    for package, path in _files():
        for imported, name, line in _imports(path):
            parts = imported.split(".")
            if parts[0] not in FLOORS or parts[0] == package:
                continue
            private = [p for p in parts[1:] if p.startswith("_")]
            if name and name.startswith("_") and not name.startswith("__"):
                private.append(name)
            if private:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} imports {imported}"
                    + (f".{name}" if name else "")
                )
    assert not wrong, "private names used across packages:\n" + "\n".join(wrong)


def _owned() -> dict[str, str]:
    owner: dict[str, str] = {}
    for package, module in OWNERS.items():
        tables = importlib.import_module(module).TABLES
        for table in tables:
            assert table not in owner, f"{table} is owned by {owner[table]} and {package}"
            owner[table] = package
    return owner


def test_every_migrated_table_has_an_owner() -> None:
    owner = _owned()
    created = set()
    for sql in sorted((ROOT / "migrations").glob("*.sql")):
        text = sql.read_text(encoding="utf-8")
        created |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+[a-z])\b", text))
        created -= set(re.findall(r"DROP TABLE (?:IF EXISTS )?([a-z_]+[a-z])\b", text))
        for old, new in re.findall(r"ALTER TABLE ([a-z_]+) RENAME TO ([a-z_]+)", text):
            created.discard(old)
            created.add(new)
    missing = sorted(created - set(owner))
    assert not missing, f"tables no package owns: {missing}"


@pytest.mark.parametrize("package", list(FLOORS))
def test_sql_only_on_owned_tables(package: str) -> None:
    owner = _owned()
    names = "|".join(sorted(owner, key=len, reverse=True))
    sql = re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS)\s+({names})\b(?!\.)")
    wrong = []
    for pkg, path in _files():
        if pkg != package:
            continue
        text = path.read_text(encoding="utf-8")
        for match in sql.finditer(text):
            table = match.group(1)
            if owner[table] != package:
                line = text.count("\n", 0, match.start()) + 1
                wrong.append(f"{path.relative_to(ROOT)}:{line} {table} (owned by {owner[table]})")
    assert not wrong, f"SQL of {package} on tables it does not own:\n" + "\n".join(wrong)
