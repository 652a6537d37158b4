"""Settings in layers: documented defaults here, overridden by ``YIZHI_*`` environment variables.

yizhi runs from a checkout (``make install``: an editable install) or from an installed wheel
(``pip install .``). The shipped files, the sample city ``data/`` and the schema
``migrations/``, are found in either: at the top of the checkout, or inside this package
(``common/data``, ``common/migrations``: the wheel maps the two folders there, see
``pyproject.toml``). What yizhi makes (``var/``: the store, API keys, the audit log, the demo's
HMAC key) goes to the checkout's ``var/``, or, installed, to ``var/`` in the current directory.

>>> from common.settings import get_settings
>>> get_settings().db_path.name
'yizhi.duckdb'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE = Path(__file__).resolve().parent
#: Whether yizhi runs from a checkout (``pyproject.toml`` and ``migrations/`` beside its
#: packages) rather than from an installed wheel.
FROM_CHECKOUT: Final = (_PACKAGE.parent / "pyproject.toml").is_file() and (
    _PACKAGE.parent / "migrations"
).is_dir()
#: Where the shipped ``data/`` and ``migrations/`` are: the checkout, or in a wheel this package.
SHIPPED: Final = _PACKAGE.parent if FROM_CHECKOUT else _PACKAGE
#: Where ``var/`` is (what yizhi makes): the checkout, or, installed, the current directory.
ROOT: Final = _PACKAGE.parent if FROM_CHECKOUT else Path.cwd()


class Settings(BaseSettings):
    """Every setting of yizhi, each overridable by an environment variable ``YIZHI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="YIZHI_", extra="ignore")

    db: Path = Field(
        ROOT / "var" / "yizhi.duckdb",
        description="The DuckDB store file (default: var/ of the checkout, or, installed from a "
        "wheel, var/ in the current directory).",
    )
    data_dir: Path = Field(
        SHIPPED / "data", description="The shipped sample data (data/, installed with yizhi)."
    )
    migrations_dir: Path = Field(
        SHIPPED / "migrations",
        description="SQL migrations, NNNN_name.sql (migrations/, installed with yizhi).",
    )
    shared_dir: Path = Field(
        ROOT.parent / "shared",
        description="Optional evaluation data beside the checkout; tests skip without it.",
    )
    hmac_secret: SecretStr = Field(
        SecretStr(""),
        description="Key of the HMAC that pseudonymises ID numbers. Never stored in the database.",
    )
    recheck_seconds: float = Field(
        1.0,
        description="Seconds a value derived from the store (an index, the tile layers) is "
        "trusted before the store's data version is read again; a write of this process is "
        "seen at once, another process's within this time.",
    )
    threads: int = Field(2, description="DuckDB worker threads.")
    memory_limit: str = Field("8GB", description="DuckDB memory limit.")
    seed: int = Field(20261123, description="Seed of every generator (sample layers, scale-up).")
    api_keys: Path = Field(
        ROOT / "var" / "api-keys.json",
        description="The API keys file (hashed keys and their scopes), managed by `yizhi keys`.",
    )
    audit_log: Path = Field(
        ROOT / "var" / "audit.jsonl",
        description="Append-only, hash-chained log of every read of person-level data.",
    )
    public_url: str = Field(
        "",
        description="Base URL the service is reached at (for TileJSON and links); empty: the "
        "request's own host.",
    )
    rate_limit: float = Field(
        20.0, description="Requests a second allowed per API key (or per client without a key)."
    )
    rate_burst: int = Field(200, description="Requests allowed in one burst per key or client.")
    tile_cache_mb: int = Field(256, description="Memory of the in-process tile cache.")
    warm_tiles: bool = Field(
        True,
        description="Load the tile layers when a server process starts (else on the first tile "
        "request); each worker process holds its own copy.",
    )

    @property
    def db_path(self) -> Path:
        """The database path (alias of ``db``)."""
        return self.db


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()
