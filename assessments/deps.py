"""Request dependencies, declared once as ``Annotated`` aliases: the session, settings, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assessments.auth.tokens import ALL_SCOPES, PERSONAL_PREFIX, Scope, hash_token, read_access_token
from assessments.config import Settings
from assessments.db import done_reading, phased, reading
from assessments.errors import Forbidden, Unauthorized
from assessments.models import ApiToken, Role, User, utcnow
from assessments.web.security import CSRF_HEADER, SAFE_METHODS, check_csrf


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
            await run_in_threadpool(_end, session, commit=False)
            raise
        await run_in_threadpool(_end, session, commit=True)


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


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now() -> datetime:
    """The clock, as a dependency: tests move it."""
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


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what their credential allows."""

    user: User
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
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return Principal(user, frozenset(row.scopes), "personal")


def current_principal(request: Request, session: SessionDep, settings: SettingsDep,
                      now: NowDep) -> Principal:
    """The authenticated caller; 401 without valid credentials, 403 for a missing scope.

    The lookup reads in a transaction of its own, ended before the endpoint runs when the request
    may write: the endpoint's writing transaction (SQLite's write lock) starts with its own work.
    """
    token = _bearer(request)
    principal: Principal | None = None
    reading(session)
    if token and token.startswith(PERSONAL_PREFIX):
        principal = _personal(session, token, now)
    elif token:
        user_id = read_access_token(token, settings.resolved_secret_key, now)
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and user.is_active:
            principal = Principal(user, ALL_SCOPES, "access")
    else:
        user_id = request.session.get("user_id") if "session" in request.scope else None
        user = session.get(User, user_id) if isinstance(user_id, int) else None
        if user is not None and user.is_active:
            principal = Principal(user, ALL_SCOPES, "session")
            if request.method not in SAFE_METHODS:
                # A cookie rides along with any request: a change needs the page's CSRF token.
                check_csrf(request, request.headers.get(CSRF_HEADER))
    if principal is None:
        raise Unauthorized("sign in: a valid bearer token or session is required")
    needed = Scope.READ if request.method in ("GET", "HEAD", "OPTIONS") else Scope.WRITE
    principal.require(needed)
    if request.method not in SAFE_METHODS:
        done_reading(session)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
