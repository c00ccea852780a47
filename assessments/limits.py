"""Limits that keep one client from taking more than its share, and the service from waiting forever.

- Request bodies: :class:`BodySizeLimit` refuses a body past ``max_body_bytes`` (the content
  import: ``max_import_bytes``) with 413, whether it declares its length or streams it.
- Sign-ins and token issuing: token buckets (:class:`RateLimiter`) answer 429 with ``Retry-After``.
  A wrong password counts against its username *from that address*, so guessing is slowed while a
  class signing in behind one NAT address is not; every attempt also counts against its address,
  with a generous limit that only bounds how much password hashing one address can ask for.
  The counters live in this process's memory: with N processes, a client gets up to N times the
  limit. A successful sign-in writes nothing anywhere.
- Database statements: PostgreSQL cancels one that runs too long and SQLite stops waiting for its
  write lock (:class:`assessments.db.Database`); the request then answers 503, having changed nothing.

Every decision reads the service clock (``NowDep``), so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assessments.errors import DomainError, Unauthorized, error_response, unexpected_error

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from assessments.config import Settings

__all__ = ["BodySizeLimit", "Limits", "LimitsDep", "Rate", "RateLimiter", "TooManyRequests", "client_address",
           "install"]

IMPORT_PATHS = frozenset({"/api/v1/items/import"})
"""Routes that take whole exchange files, and so the larger ``max_import_bytes``."""
POSTGRES_QUERY_CANCELED = "57014"
DATABASE_RETRY_SECONDS = 5


# --- rate limits --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``count`` events per ``seconds``: a burst of ``count``, then one every ``seconds / count``."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass
class _Bucket:
    tokens: float
    at: float
    rate: Rate

    def refill(self, now: float) -> None:
        self.tokens = min(float(self.rate.count), self.tokens + max(0.0, now - self.at) * self.rate.per_second)
        self.at = max(self.at, now)

    def is_full(self, now: float) -> bool:
        return self.tokens + max(0.0, now - self.at) * self.rate.per_second >= self.rate.count


class RateLimiter:
    """Token buckets by key, safe to share between threads, at most ``max_keys`` of them.

    A bucket that has filled up again is the same as none, so it is dropped (every ``SWEEP_EVERY``
    new keys, and whenever there are too many); past ``max_keys`` the least recently used go.
    """

    SWEEP_EVERY = 1024

    def __init__(self, max_keys: int = 50_000) -> None:
        self.max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, ...], _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._new_keys = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def wait(self, key: tuple[str, ...], rate: Rate, now: float) -> float:
        """Seconds until the bucket holds an event (0.0: it holds one now); takes nothing."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            bucket.refill(now)
            return _seconds_to_one(bucket)

    def take(self, key: tuple[str, ...], rate: Rate, now: float) -> float:
        """Take one event (0.0) or, when the bucket is empty, the seconds until it is not (taking nothing)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(rate.count), now, rate)
                self._new_keys += 1
                if self._new_keys >= self.SWEEP_EVERY or len(self._buckets) > self.max_keys:
                    self._sweep(now)
            else:
                self._buckets.move_to_end(key)
                bucket.refill(now)
            wait = _seconds_to_one(bucket)
            if wait == 0.0:
                bucket.tokens -= 1.0
            return wait

    def forget(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._new_keys = 0
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]
        # Past the bound, drop the least recently used down to 90%, so the next sweep is far off.
        while len(self._buckets) > self.max_keys * 9 // 10:
            self._buckets.popitem(last=False)


def _seconds_to_one(bucket: _Bucket) -> float:
    missing = 1.0 - bucket.tokens
    return 0.0 if missing <= 1e-9 else missing / bucket.rate.per_second  # 1e-9: float rounding of a refill


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        self.try_again = f"try again in {_duration(self.retry_after)}"
        super().__init__(f"{message}; {self.try_again}",
                         details={"retry_after": self.retry_after})
        self.headers = {"Retry-After": str(self.retry_after)}


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: uvicorn's ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


class Limits:
    """The app's rate limits, from its settings, over one :class:`RateLimiter`."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self.failures = Rate(settings.sign_in_failures, settings.sign_in_failures_seconds)
        self.attempts = Rate(settings.sign_in_attempts, settings.sign_in_attempts_seconds)
        self.tokens = Rate(settings.token_creations, settings.token_creations_seconds)
        self.limiter = limiter or RateLimiter(settings.rate_limit_keys)

    @contextmanager
    def signing_in(self, address: str, username: str, now: datetime) -> Iterator[None]:
        """Around a password check: refuse it (429) when its username and address have failed too
        often, or its address has tried too often; an :class:`Unauthorized` inside counts a failure,
        a success forgets the failures."""
        at = now.timestamp()
        failures = ("sign-in failures", address, username.casefold())
        wait = self.limiter.wait(failures, self.failures, at)
        if wait:
            raise TooManyRequests("too many failed sign-ins for this username", wait)
        self.address_attempt(address, now)
        try:
            yield
        except Unauthorized:
            self.limiter.take(failures, self.failures, at)
            raise
        self.limiter.forget(failures)

    def address_attempt(self, address: str, now: datetime) -> None:
        """Count a sign-in attempt (any kind) from ``address``; 429 past the generous limit."""
        wait = self.limiter.take(("sign-ins", address), self.attempts, now.timestamp())
        if wait:
            raise TooManyRequests("too many sign-ins from your address", wait)

    def token_created(self, user_id: int, now: datetime) -> None:
        """Count a personal token made by ``user_id``; 429 past the limit."""
        wait = self.limiter.take(("tokens", str(user_id)), self.tokens, now.timestamp())
        if wait:
            raise TooManyRequests("too many tokens created", wait)


def get_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


LimitsDep = Annotated[Limits, Depends(get_limits)]


# --- request bodies -----------------------------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body streams in past its limit; FastAPI passes HTTP exceptions through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes, the most this address accepts")
        self.limit = limit


def _too_large(request: Request, exc: BodyTooLarge) -> Response:
    return error_response(request, 413, "too_large", str(exc.detail), details={"limit_bytes": exc.limit})


class BodySizeLimit:
    """Pure ASGI middleware: a declared ``Content-Length`` past the limit is refused before the
    body is read; a body that streams past it is refused as soon as it does."""

    def __init__(self, app: ASGIApp, default: int, larger: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.larger = larger

    def limit_for(self, path: str) -> int:
        return self.larger.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"].removeprefix(scope.get("root_path", "")) or "/")
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(Request(scope), BodyTooLarge(limit))(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


# --- the database's timeouts ----------------------------------------------------------------------


def _database_gave_up(exc: OperationalError) -> bool:
    """A statement cancelled by PostgreSQL's statement_timeout, or SQLite's busy timeout run out."""
    if getattr(exc.orig, "sqlstate", None) == POSTGRES_QUERY_CANCELED:
        return True
    return "database is locked" in str(exc.orig)


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OperationalError) and _database_gave_up(exc):
        return error_response(request, 503, "database_busy",
                              "the database is too busy to answer now; nothing was changed: try again",
                              headers={"Retry-After": str(DATABASE_RETRY_SECONDS)})
    return await unexpected_error(request, exc)


# --- wiring -------------------------------------------------------------------------------------


def install(app: FastAPI, settings: Settings) -> None:
    """The body limit (added first: inside the session middleware, so web errors render as pages),
    the rate limiter, and the 413 and 503 answers."""
    app.add_middleware(BodySizeLimit, default=settings.max_body_bytes,
                       larger=dict.fromkeys(IMPORT_PATHS, settings.max_import_bytes))
    app.state.limits = Limits(settings)

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)
        return _too_large(request, exc)

    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(OperationalError, _database_error)

