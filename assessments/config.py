"""Settings, from ``ASSAY_`` environment variables (pydantic-settings), with working defaults.

With nothing set, Assay keeps everything in ``./data``: an SQLite database (WAL mode) and a
secret key generated on first use and kept beside it, so sessions and tokens survive a restart.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "proxy_addresses"]

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
    public_url: str | None = None
    """Where people and LMSs reach Assay (``https://assay.example.edu``, or a path under a host):
    LTI's absolute URLs (the tool configuration, the launch, the key set) come from it, and cookies
    are ``Secure`` when it is ``https`` (or a loopback address, which browsers treat as secure:
    local development over http on 127.0.0.1 or localhost). Unset: the request's own URL, and
    cookies that are not ``Secure``."""
    cookie_secure: bool | None = None
    """Overrides whether cookies are ``Secure`` (by default, as :attr:`public_url` says)."""
    statistics_inline_attempts: int = Field(default=2000, ge=0)
    """Quizzes with more finished attempts get their statistics from a background job."""
    worker_in_process: bool = True
    """Whether ``assay serve`` also works the job queue (off when separate ``assay worker``s do)."""

    # --- limits (assessments/limits.py; README "Limits") ------------------------------------------
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    """The largest request body accepted (413 past it), except where a route has its own limit."""
    max_import_bytes: int = Field(default=20 << 20, ge=1024)
    """The largest body ``POST /api/v1/items/import`` accepts (a QTI package, a Moodle XML file)."""
    sign_in_failures: int = Field(default=10, ge=1)
    """Wrong passwords one username may have from one address (or one browser holding that
    username's device cookie: its own count) before each further try waits (429 with Retry-After)."""
    sign_in_failures_seconds: int = Field(default=900, ge=1)
    """How long after the last wrong password the failures are forgotten."""
    sign_in_delay_seconds: int = Field(default=1, ge=1, le=3600)
    """The first wait past ``sign_in_failures``; each further failure doubles it."""
    sign_in_max_delay_seconds: int = Field(default=60, ge=1, le=86400)
    """The longest wait a failure earns: how long a guesser can hold up someone's sign-in from a
    browser without their device cookie, at worst, for each try."""
    device_cookie_days: int = Field(default=365, ge=1, le=3650)
    """How long a browser's device cookie (the sign-in form's memory of who signed in there) lasts."""
    sign_in_attempts: int = Field(default=1000, ge=1)
    """Sign-in attempts (right or wrong; API, web form, LTI login and launch) from one address in
    ``sign_in_attempts_seconds``: generous, so a class behind one NAT address is never held up."""
    sign_in_attempts_seconds: int = Field(default=60, ge=1)
    token_creations: int = Field(default=20, ge=1)
    """Personal API tokens one user may create in ``token_creations_seconds``."""
    token_creations_seconds: int = Field(default=3600, ge=1)
    rate_limit_keys: int = Field(default=50_000, ge=100)
    """The most rate-limit counters a process keeps (the least recently used go first)."""
    forwarded_allow_ips: str = ""
    """``assay serve``: the proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
    believed, comma-separated addresses or networks (``127.0.0.1``, ``10.0.0.0/24``, ``*`` for
    any); empty, the default, believes none: the client's address is the connection's."""
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    """``assay serve``: how long an idle keep-alive connection stays open."""
    graceful_shutdown_seconds: int = Field(default=30, ge=1, le=3600)
    """``assay serve``: how long a shutdown waits for requests in flight before closing them."""
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    """PostgreSQL's ``statement_timeout`` for Assay's connections (0: none); a statement that runs
    longer is cancelled and the request answers 503, having changed nothing."""
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    """How long an SQLite connection waits for the write lock before the request answers 503."""
    start_queue_limit: int = Field(default=48, ge=1, le=10_000)
    """How many requests one server process may have in hand (working or waiting) before it refuses
    a new start with 503 and ``Retry-After`` (the start page tries again by itself): a student
    waits a second or two to begin rather than everyone waiting tens of seconds in a queue. Saves
    and submits are never refused for this."""
    sqlite_attempt_concurrency: int = Field(default=1, ge=1, le=24)
    """SQLite only: how many quiz-taking requests (start, save, check, try again, submit, view an
    attempt) one server process works on at once; the rest wait their turn. Their work is short and
    all CPU: working on more at once only makes them take turns at Python's interpreter lock and at
    SQLite's write lock (one at a time served a sixth to a fifth more requests/s under
    ``bench/load.py``, with shorter latencies)."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL such as https://assay.example.edu")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} has a query or fragment: give the site's address alone")
        return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are ``Secure``: as :attr:`cookie_secure` says, else whether the public
        URL is https or a loopback address (a secure context for browsers)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        if self.public_url is None:
            return False
        parts = urlsplit(self.public_url)
        return parts.scheme == "https" or _loopback(parts.hostname or "")

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        return ",".join(proxy_addresses(value))

    @model_validator(mode="after")
    def _delays(self) -> Settings:
        if self.sign_in_max_delay_seconds < self.sign_in_delay_seconds:
            raise ValueError(f"sign_in_max_delay_seconds ({self.sign_in_max_delay_seconds}) is shorter than "
                             f"sign_in_delay_seconds ({self.sign_in_delay_seconds})")
        return self

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


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_addresses(value: str) -> list[str]:
    """The addresses and networks of a ``forwarded_allow_ips`` value (``*``: any), checked: uvicorn
    would take a mistyped one as a name that never matches, and trust nobody without a word."""
    entries = [entry.strip() for entry in value.split(",")] if value.strip() else []
    for entry in entries:
        if not entry:
            raise ValueError("an empty entry (two commas together, or one at an end)")
        if entry == "*":
            if len(entries) > 1:
                raise ValueError("'*' trusts every address: give it alone")
            continue
        try:
            ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry)
        except ValueError:
            try:
                meant = f": did you mean {ipaddress.ip_network(entry, strict=False)}?"
            except ValueError:
                meant = " (such as 127.0.0.1 or 10.0.0.0/24)"
            raise ValueError(f"{entry!r} is not an IP address or network{meant}") from None
    return entries


@functools.cache
def get_settings() -> Settings:
    return Settings()
