from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb

from common.errors import Conflict, MissingDependency, NotFound
from common.settings import get_settings


def spatial_extension_path() -> Path:
    """Return the spatial extension file shipped by the ``duckdb-extension-spatial`` wheel.

    Raises
    ------
    MissingDependency
        When the wheel is missing or was built for another DuckDB version.
    """
    try:
        root = resources.files("duckdb_extension_spatial")
    except ModuleNotFoundError as exc:  # pragma: no cover - the wheel is a hard dependency
        raise MissingDependency(
            "the DuckDB spatial extension is not installed: pip install "
            f"duckdb-extension-spatial=={duckdb.__version__}"
        ) from exc
    path = Path(str(root)) / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not path.is_file():
        raise MissingDependency(
            f"duckdb-extension-spatial does not match duckdb {duckdb.__version__}: "
            f"{path} is missing; pin both to the same version"
        )
    return path


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    migrate: bool = True,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the yizhi store and load the spatial extension offline.

    Parameters
    ----------
    path
        The database file; ``":memory:"`` for a throw-away store. Defaults to ``YIZHI_DB``
        or ``var/yizhi.duckdb``.
    read_only
        Open read-only (API readers). A read-only store is never migrated; it must already be
        at the code's schema version.
    migrate
        Apply pending migrations on a writable store.
    threads, memory_limit
        DuckDB resource limits; default to the settings.

    Returns
    -------
    duckdb.DuckDBPyConnection
        A connection with ``spatial`` loaded.
    """
    settings = get_settings()
    target = Path(path) if path is not None and str(path) != ":memory:" else path
    if target is None:
        target = settings.db
    if isinstance(target, Path) and not read_only:
        target.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "threads": str(threads or settings.threads),
        "memory_limit": memory_limit or settings.memory_limit,
    }
    if read_only and isinstance(target, Path) and not target.is_file():
        raise NotFound(
            f"no yizhi store at {target}: build one with `yizhi demo --no-serve` "
            "or `yizhi registry build`, or point YIZHI_DB at an existing file"
        )
    try:
        con = duckdb.connect(str(target), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        raise Conflict(f"cannot open the store {target}: {exc}") from exc
    try:
        con.execute(f"LOAD '{spatial_extension_path()}'")
        if read_only:
            from store._migrations import check_version

            check_version(con)
        elif migrate:
            from store._migrations import migrate as _migrate

            _migrate(con)
    except BaseException:
        con.close()
        raise
    return con
