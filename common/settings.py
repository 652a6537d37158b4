"""Settings in layers: documented defaults here, overridden by ``YIZHI_*`` environment variables.

>>> from common.settings import get_settings
>>> get_settings().db_path.name
'yizhi.duckdb'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository (or installation) root: where ``data/``, ``migrations/`` and ``var/`` live.
ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every setting of yizhi, each overridable by an environment variable ``YIZHI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="YIZHI_", extra="ignore")

    db: Path = Field(ROOT / "var" / "yizhi.duckdb", description="The DuckDB store file.")
    data_dir: Path = Field(ROOT / "data", description="The shipped sample data.")
    migrations_dir: Path = Field(ROOT / "migrations", description="SQL migrations, NNNN_name.sql.")
    shared_dir: Path = Field(
        ROOT.parent / "shared",
        description="Optional evaluation data beside the repository; tests skip without it.",
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
