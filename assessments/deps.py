"""Request dependencies, declared once as ``Annotated`` aliases: the session, settings, the caller."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar, cast

import anyio
from fastapi import Depends, Path, Request
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assessments.auth import sessions
from assessments.auth.tokens import ALL_SCOPES, PERSONAL_PREFIX, Scope, hash_token, read_access_claims
from assessments.config import Settings
from assessments.db import done_reading, phased, reading
from assessments.errors import Forbidden, Unauthorized
from assessments.models import ApiToken, Role, User, utcnow
from assessments.security import CSRF_HEADER, SAFE_METHODS, check_csrf

T = TypeVar("T")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, committed when the endpoint has succeeded, before the reply is sent.

    An acknowledged write is therefore committed (``scope="function"`` below: the default runs
    this teardown after the response). A gate bounds how many requests hold a database session at
    once, below the thread pool's size: a request waiting for SQLite's write lock holds a thread,
    and the request that holds the lock must still find a thread to commit.
    """
    database = request.app.state.database
    gate = getattr(request.app.state, "db_gate", None)
    async with gate if gate is not None else nullcontext():
        session = phased(database.read_sessions() if request.method in SAFE_METHODS else database.sessions())
        try:
            yield session
        except BaseException:
            # Shielded: a cancelled request (its client gone) must still roll back and give back its
            # connection, and with it SQLite's write lock, which every other writer waits for.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_end, session, commit=False)
            raise
        if _idle(session):
            session.close()  # nothing to commit, no connection held: no trip to the thread pool
        else:
            await run_in_threadpool(_end, session, commit=True)


def _idle(session: Session) -> bool:
    """No transaction open and no change waiting to be flushed (a request that committed its
    writes, or read nothing)."""
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close, in one trip to the thread pool."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_now() -> datetime:
    """The clock, as a dependency: tests move it. (A coroutine, as the settings': FastAPI runs a
    plain function dependency in the thread pool, a trip that costs more than the call.)"""
    return utcnow()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
NowDep = Annotated[datetime, Depends(get_now)]

ROW_ID_MAX = 2**31 - 1
"""The largest id a row can have (ids are INTEGER columns: 32 bits on PostgreSQL): a larger number
names nothing, and PostgreSQL refuses to compare it with an id ("integer out of range"), as SQLite
refuses to bind one past 64 bits, so the API refuses it as malformed (422) instead of failing."""
RowId = Annotated[int, Path(ge=0, le=ROW_ID_MAX)]
"""A path parameter naming a row (a quiz, an attempt, a slot, a token, a job): 404 when there is none."""


@dataclass(frozen=True, slots=True)
class Account:
    """The caller as a request knows them: a snapshot of their ``users`` row without the password
    hash (not an ORM object: reading a row costs a fraction of loading an object, on every request)."""

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    is_active: bool
    session_generation: int

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.username, user.display_name, user.email, user.role, user.is_active,
                   user.session_generation)


_USERS = cast("Table", User.__table__)
_ACCOUNT = select(_USERS.c.id, _USERS.c.username, _USERS.c.display_name, _USERS.c.email, _USERS.c.role,
                  _USERS.c.is_active, _USERS.c.session_generation).where(_USERS.c.id == bindparam("user_id"))


def account(session: Session, user_id: int) -> Account | None:
    """The account of ``user_id``, if there is one."""
    found = session.connection().execute(_ACCOUNT, {"user_id": user_id}).first()
    return None if found is None else Account(*found)


def signed_in_account(session: Session, user_id: int, generation: int) -> Account | None:
    """The account a session or access token of ``generation`` signs in: active, and still in
    that generation (not signed out or deactivated since); else None."""
    user = account(session, user_id)
    if user is None or not user.is_active or user.session_generation != generation:
        return None
    return user


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what their credential allows."""

    user: Account
    scopes: frozenset[str]
    via: str  # "access", "personal" or "session"

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Instructors and admins: may use the bank."""
        return self.user.role in (Role.ADMIN, Role.INSTRUCTOR)

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this token lacks the {scope.value!r} scope", code="insufficient_scope")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("instructors only")

    def require_admin(self) -> None:
        self.require(Scope.ADMIN)
        if not self.is_admin:
            raise Forbidden("administrators only")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _personal(session: Session, token: str, now: datetime) -> Principal | None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    user = account(session, row.user_id)
    if user is None or not user.is_active:
        return None
    return Principal(user, frozenset(row.scopes), "personal")


@dataclass(frozen=True)
class Credentials:
    """What a request presents to say who is calling, read from it without the database: a
    personal API token, the user id and session generation of a valid access token or of the
    signed cookie session, or nothing. :meth:`principal` looks the caller up."""

    method: str
    via: str | None = None  # "personal", "access" or "session"
    token: str | None = None
    user_id: int | None = None
    generation: int | None = None
    csrf_refused: Forbidden | None = None
    """A cookie session's change without the page's CSRF token (raised once the user is known)."""
    lane: threading.Semaphore | None = None
    """The app's ``attempt_lane``: bounds how many :meth:`run` works at once (SQLite), or None."""

    def principal(self, session: Session, now: datetime, *, end_reading: bool = True) -> Principal:
        """The authenticated caller; 401 without valid credentials, 403 for a missing scope.

        The lookup reads in a transaction of its own, ended (``end_reading``) before the caller's
        work when the request may write: its writing transaction (SQLite's write lock) starts with
        its own work. Work that reads first may go on reading in the same transaction.
        """
        principal: Principal | None = None
        reading(session)
        if self.via == "personal" and self.token is not None:
            principal = _personal(session, self.token, now)
        elif self.user_id is not None and self.generation is not None:
            user = signed_in_account(session, self.user_id, self.generation)
            if user is not None:
                if self.csrf_refused is not None:
                    raise self.csrf_refused
                principal = Principal(user, ALL_SCOPES, self.via or "access")
        if principal is None:
            raise Unauthorized("sign in: a valid bearer token or session is required")
        principal.require(Scope.READ if self.method in ("GET", "HEAD", "OPTIONS") else Scope.WRITE)
        if end_reading and self.method not in SAFE_METHODS:
            done_reading(session)
        return principal

    async def run(self, session: Session, now: datetime, work: Callable[[Principal], T], *,
                  reads_first: bool = True) -> T:
        """Authenticate, do ``work`` as the caller and commit, in one trip to the thread pool (for
        the endpoints students call most: a trip costs about as much as a small query), once the
        :attr:`lane` lets it in. Work that ``reads_first`` (before it writes anything) reads in the
        caller's lookup's transaction."""

        def whole() -> T:
            # The lane is taken in the thread: a thread lock, unlike an event loop's semaphore,
            # works across loops (a test's clients each run one) and a waiting thread costs no CPU.
            with self.lane if self.lane is not None else nullcontext():
                result = work(self.principal(session, now, end_reading=not reads_first))
                session.commit()  # the request's commit, here rather than in another trip
            return result

        return await run_in_threadpool(whole)


async def credentials(request: Request, settings: SettingsDep, now: NowDep) -> Credentials:
    """The request's :class:`Credentials` (an access token's signature and expiry are checked
    here: no database is needed for that)."""
    lane = getattr(request.app.state, "attempt_lane", None)
    token = _bearer(request)
    if token and token.startswith(PERSONAL_PREFIX):
        return Credentials(request.method, "personal", token=token, lane=lane)
    if token:
        user_id, generation = read_access_claims(token, settings.resolved_secret_key, now) or (None, None)
        return Credentials(request.method, "access", user_id=user_id, generation=generation, lane=lane)
    claim = sessions.claim(request)
    if claim is None:
        return Credentials(request.method, lane=lane)
    refused = None
    if request.method not in SAFE_METHODS:
        # A cookie rides along with any request: a change needs the page's CSRF token.
        try:
            check_csrf(request, request.headers.get(CSRF_HEADER))
        except Forbidden as exc:
            refused = exc
    return Credentials(request.method, "session", user_id=claim.user_id, generation=claim.generation,
                       csrf_refused=refused, lane=lane)


Caller = Annotated[Credentials, Depends(credentials)]
"""The caller's credentials, for endpoints that authenticate inside their own work
(:meth:`Credentials.run`); every other endpoint takes :data:`CurrentPrincipal`."""


def current_principal(caller: Caller, session: SessionDep, now: NowDep) -> Principal:
    """The authenticated caller (see :meth:`Credentials.principal`)."""
    return caller.principal(session, now)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
