"""Settings, from ``ASSAY_`` environment variables (pydantic-settings), with working defaults.

With nothing set, Assay keeps everything in ``./data``: an SQLite database (WAL mode) and a
secret key generated on first use and kept beside it, so sessions and tokens survive a restart.
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    """Where the default SQLite database and the generated secret key live."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/assay.sqlite3``. PostgreSQL:
    ``postgresql+psycopg://user@host/dbname``."""
    secret_key: str | None = Field(default=None, min_length=32)
    """Signs tokens and session cookies; generated into ``<data_dir>/secret.key`` when unset."""
    content_dir: Path = ROOT / "content"
    access_token_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    grace_seconds: int = Field(default=30, ge=0, le=3600)
    """How long after an attempt's deadline a save is still accepted (network latency)."""
    sweep_seconds: int = Field(default=30, ge=1)
    """How often ``assay serve`` closes and grades overdue attempts."""
    cookie_secure: bool = False
    statistics_inline_attempts: int = Field(default=2000, ge=0)
    """Quizzes with more finished attempts get their statistics from a background job."""
    worker_in_process: bool = True
    """Whether ``assay serve`` also works the job queue (off when separate ``assay worker``s do)."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.sqlite3').resolve()}"

    @property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@functools.cache
def get_settings() -> Settings:
    return Settings()
