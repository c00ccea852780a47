"""Limits that keep one client from taking more than its share, and the service from waiting forever.

- Request bodies: :class:`BodySizeLimit` refuses a body past ``max_body_bytes`` (the content
  import: ``max_import_bytes``) with 413, whether it declares its length or streams it.
- Sign-ins: a wrong password counts against its username *from that address*, or, from a browser
  holding that username's device cookie (:mod:`assessments.auth.devices`), against that cookie
  alone, so a classmate's typos on another machine never hold up a student on their own device.
  Past ``sign_in_failures``, each further try waits a delay that starts at a second and doubles
  (:class:`Backoff`; 429 with ``Retry-After``) instead of a long block. A try takes its place in
  the count *before* its password is checked, so many guesses at once get no more checks than one
  after another; a right password forgets the count. Every attempt also counts against its
  address, with a generous limit that only bounds how much password hashing one address can ask
  for; personal tokens are token buckets per user.
  The counters live in this process's memory: with N processes, a client gets up to N times the
  limit. A successful sign-in writes nothing anywhere.
- Database statements: PostgreSQL cancels one that runs too long and SQLite stops waiting for its
  write lock (:class:`assessments.db.Database`); the request then answers 503, having changed nothing.
- Starting an attempt when the server is behind: :class:`Admission` counts the requests a server
  process has in hand; past ``start_queue_limit`` a new start is refused at once (503 with
  ``Retry-After``, nothing changed) instead of waiting in a queue for tens of seconds. The students
  already taking the quiz keep being served (their saves are never refused here); the start page
  tries again by itself.

Every decision reads the service clock (``NowDep``), so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assessments.auth.devices import DeviceCookies
from assessments.errors import DomainError, Unauthorized, error_response, unexpected_error

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from assessments.config import Settings

__all__ = ["Admission", "Backoff", "BodySizeLimit", "Limits", "LimitsDep", "Rate", "RateLimiter",
           "TooManyRequests", "client_address", "install"]

IMPORT_PATHS = frozenset({"/api/v1/items/import", "/bank/import"})
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

    def is_idle(self, now: float) -> bool:
        """Filled up again: the same as no bucket."""
        return self.tokens + max(0.0, now - self.at) * self.rate.per_second >= self.rate.count


@dataclass(frozen=True)
class Backoff:
    """Failures and the wait they earn: the first ``free`` cost nothing; after that, each further
    try may come ``first`` seconds after the last failure, twice that after the next, and so on up
    to ``longest``. The count is forgotten ``forget`` seconds after the last failure."""

    free: int
    first: float
    longest: float
    forget: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.longest, self.first * 2.0 ** min(failures - self.free, 64))


@dataclass
class _Failures:
    count: int
    last: float
    backoff: Backoff

    def is_idle(self, now: float) -> bool:
        """Nothing counted, or forgotten: the same as no entry."""
        return self.count <= 0 or now - self.last >= self.backoff.forget

    def wait(self, now: float) -> float:
        return max(0.0, self.last + self.backoff.delay(self.count) - now)


_Entry = TypeVar("_Entry", _Bucket, _Failures)


class RateLimiter:
    """Token buckets and failure counts by key, safe to share between threads, at most
    ``max_keys`` of them.

    An entry that has filled up again (a bucket) or been forgotten (a failure count) is the same as
    none, so it is dropped (every ``SWEEP_EVERY`` new keys, and whenever there are too many); past
    ``max_keys`` the least recently used go.
    """

    SWEEP_EVERY = 1024

    def __init__(self, max_keys: int = 50_000) -> None:
        self.max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, ...], _Bucket | _Failures] = OrderedDict()
        self._lock = threading.Lock()
        self._new_keys = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: tuple[str, ...], rate: Rate, now: float) -> float:
        """Take one event (0.0) or, when the bucket is empty, the seconds until it is not (taking nothing)."""
        with self._lock:
            bucket = self._used(key)
            if isinstance(bucket, _Bucket):
                bucket.refill(now)
            else:
                bucket = self._put(key, _Bucket(float(rate.count), now, rate), now)
            wait = _seconds_to_one(bucket)
            if wait == 0.0:
                bucket.tokens -= 1.0
            return wait

    def fail(self, key: tuple[str, ...], backoff: Backoff, now: float) -> float:
        """Count a failure now (0.0), before anything is checked, or, while the failures so far
        make the next try wait, the seconds to wait (counting nothing). The check and the count are
        one step: of many tries at once, no more are let through than one after another."""
        with self._lock:
            failures = self._used(key)
            if not isinstance(failures, _Failures) or failures.is_idle(now):
                failures = self._put(key, _Failures(0, now, backoff), now)
            wait = failures.wait(now)
            if wait == 0.0:
                failures.count += 1
                failures.last = max(failures.last, now)
            return wait

    def unfail(self, key: tuple[str, ...]) -> None:
        """Take back one failure counted by :meth:`fail` (the try ended for another reason)."""
        with self._lock:
            failures = self._buckets.get(key)
            if isinstance(failures, _Failures):
                failures.count -= 1

    def forget(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _used(self, key: tuple[str, ...]) -> _Bucket | _Failures | None:
        """The entry of ``key`` (now the most recently used), if there is one."""
        entry = self._buckets.get(key)
        if entry is not None:
            self._buckets.move_to_end(key)
        return entry

    def _put(self, key: tuple[str, ...], entry: _Entry, now: float) -> _Entry:
        """Keep ``entry`` as ``key``'s; a new key may start a sweep."""
        new = key not in self._buckets
        self._buckets[key] = entry
        if new:
            self._new_keys += 1
            if self._new_keys >= self.SWEEP_EVERY or len(self._buckets) > self.max_keys:
                self._sweep(now, keep=key)
        return entry

    def _sweep(self, now: float, keep: tuple[str, ...]) -> None:
        """Drop idle entries, but not ``keep``'s: it is new (so idle) and about to be used."""
        self._new_keys = 0
        for key in [k for k, b in self._buckets.items() if b.is_idle(now) and k != keep]:
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
    if seconds == 1:
        return "1 second"
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: uvicorn's ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


class Limits:
    """The app's rate limits, from its settings, over one :class:`RateLimiter`."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self.failures = Backoff(settings.sign_in_failures, settings.sign_in_delay_seconds,
                                settings.sign_in_max_delay_seconds, settings.sign_in_failures_seconds)
        self.attempts = Rate(settings.sign_in_attempts, settings.sign_in_attempts_seconds)
        self.tokens = Rate(settings.token_creations, settings.token_creations_seconds)
        self.devices = DeviceCookies(settings.resolved_secret_key, settings.device_cookie_days)
        self.limiter = limiter or RateLimiter(settings.rate_limit_keys)

    @contextmanager
    def signing_in(self, address: str, username: str, now: datetime, device: str | None = None) -> Iterator[None]:
        """Around a password check: refuse it (429) while the failures it would join make it wait,
        or when its address has tried too often.

        The failures it joins are those of its username from its address, or, when ``device`` is
        a valid device cookie for the username, that cookie's own. The try is counted as a failure
        before the check, so tries at once are let through no faster than one after another; an
        :class:`Unauthorized` inside keeps it counted, any other error takes it back, and a
        success forgets the count.
        """
        nonce = self.devices.nonce(device, username, now) if device else None
        failures = ("device failures", nonce) if nonce else ("sign-in failures", address, username.casefold())
        wait = self.limiter.fail(failures, self.failures, now.timestamp())
        if wait:
            raise TooManyRequests("too many failed sign-ins for this username", wait)
        try:
            self.address_attempt(address, now)
            yield
        except Unauthorized:
            raise
        except BaseException:
            self.limiter.unfail(failures)
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


# --- admission --------------------------------------------------------------------------------------

START_PATHS = re.compile(r"^/(api/v1/)?quizzes/[0-9]+/(attempts|start)$")
"""A start: ``POST /api/v1/quizzes/{id}/attempts`` (the API) or ``POST /quizzes/{id}/start`` (the page)."""
UNCOUNTED = ("/static/", "/healthz")
BUSY_RETRY_SECONDS = (1, 60)
"""The shortest and longest wait a refused start is told to take."""
FIRST_RATE = 10.0
"""Starts per second a process is assumed to let in until it has measured its own rate."""


class Admission:
    """Pure ASGI middleware: counts the requests this process has in hand (all but static files and
    the health check) and refuses a start, before any work, while ``limit`` or more are.

    A start is the one request that brings new work (a new attempt, then its saves); refusing it
    early keeps the wait of everyone already admitted short, and a refused student loses nothing.
    The refused are given turns: each refusal's ``Retry-After`` is the next free place in a virtual
    queue that moves at the rate this process lets starts in (measured each second while it is
    refusing), so that the students come back about as fast as they can be let in, first refused
    first, instead of as a storm or after the server has gone idle. The counts are this process's:
    the event loop runs one callback at a time, so plain numbers are exact.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_hand = 0
        self.refused = 0
        self.rate = FIRST_RATE
        self.turn = 0.0  # monotonic time of the virtual queue's last turn given out
        self._second = 0
        self._window = [0, 0]  # starts let in, starts refused: in the current second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCOUNTED):
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        if scope["method"] == "POST" and START_PATHS.match(path):
            now = time.monotonic()
            self._tally(now)
            if self.in_hand >= self.limit:
                self.refused += 1
                self._window[1] += 1
                await self.busy(scope, self._next_turn(now))(scope, receive, send)
                return
            self._window[0] += 1
        self.in_hand += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_hand -= 1

    def _next_turn(self, now: float) -> int:
        """Seconds until the next free turn (one every 1 / rate seconds, a second from now at the soonest)."""
        self.turn = max(self.turn, now + BUSY_RETRY_SECONDS[0]) + 1.0 / self.rate
        return min(BUSY_RETRY_SECONDS[1], max(BUSY_RETRY_SECONDS[0], math.ceil(self.turn - now)))

    def _tally(self, now: float) -> None:
        """Once a second: a second in which starts were refused measured how many this process lets in."""
        second = int(now)
        if second == self._second:
            return
        admitted, refused = self._window
        if refused and second == self._second + 1:
            self.rate = max(1.0, (self.rate + admitted) / 2)
        self._second, self._window = second, [0, 0]

    @staticmethod
    def busy(scope: Scope, seconds: int) -> Response:
        request = Request(scope)
        request.state.retry_after = seconds
        return error_response(request, 503, "busy",
                              f"many students are starting at once; nothing was changed: try again in "
                              f"{_duration(seconds)}", details={"retry_after": seconds},
                              headers={"Retry-After": str(seconds)})


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
    """The body limit and the admission of starts (added first: inside the session middleware, so
    web errors render as pages), the rate limiter, and the 413 and 503 answers."""
    app.add_middleware(BodySizeLimit, default=settings.max_body_bytes,
                       larger=dict.fromkeys(IMPORT_PATHS, settings.max_import_bytes))
    app.add_middleware(Admission, limit=settings.start_queue_limit)
    app.state.limits = Limits(settings)

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)
        return _too_large(request, exc)

    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(OperationalError, _database_error)

