"""Signing in, users, and personal API tokens."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assessments.auth.passwords import hash_password, needs_rehash, verify_password
from assessments.auth.schemas import PersonalTokenCreate, UserCreate
from assessments.auth.tokens import issue_access_token, new_personal_token
from assessments.db import mark_read_only
from assessments.errors import Conflict, NotFound, Unauthorized
from assessments.models import ApiToken, User

if TYPE_CHECKING:
    from assessments.deps import Account


@functools.cache
def _decoy_hash() -> str:
    """A hash no password matches, checked when there is no real one to check."""
    return hash_password(secrets.token_urlsafe(32))


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this password, or :class:`Unauthorized` (the same for every reason).

    The password check is slow by design (argon2): the lookup reads as a reader, so that on SQLite
    no write lock is held while it runs (a rehash, on new parameters, writes afterwards).
    """
    if not session.in_transaction():
        mark_read_only(session)
    user = session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None and user.password_hash else None
    # Always one password check, so how long a refusal takes does not tell which usernames exist.
    matches = verify_password(stored or _decoy_hash(), password) and stored is not None
    if user is None or not user.is_active or not matches:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def sign_in(session: Session, username: str, password: str, secret: str, now: datetime,
            minutes: int) -> tuple[str, datetime]:
    user = authenticate(session, username, password)
    return issue_access_token(user.id, secret, now, minutes, user.session_generation)


def create_user(session: Session, data: UserCreate) -> User:
    if session.scalars(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict(f"username {data.username!r} is taken")
    user = User(username=data.username, display_name=data.display_name, email=data.email,
                role=data.role, password_hash=hash_password(data.password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"username {data.username!r} is taken") from exc
    return user


def set_active(session: Session, user: User, active: bool, now: datetime, *, by: Account | None = None) -> User:
    """Deactivate or reactivate ``user``. Deactivating ends every session and access token they
    hold (their session generation moves on, so none counts again after a reactivation) and
    revokes their personal API tokens; reactivating restores none of these: they sign in anew.
    An administrator (``by``) cannot deactivate themselves."""
    if not active and by is not None and by.id == user.id:
        raise Conflict("you cannot deactivate your own account", code="own_account")
    if user.is_active and not active:
        # Added in SQL, not from what was read: a sign-out at the same moment adds its own.
        session.execute(update(User).where(User.id == user.id)
                        .values(session_generation=User.session_generation + 1))
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))
    user.is_active = active
    session.flush()
    return user


def user_by_username(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def create_personal_token(session: Session, user: User | Account, data: PersonalTokenCreate,
                          now: datetime) -> tuple[ApiToken, str]:
    token, digest = new_personal_token()
    expires = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    row = ApiToken(user_id=user.id, name=data.name, token_hash=digest,
                   scopes=sorted({s.value for s in data.scopes}), created_at=now, expires_at=expires)
    session.add(row)
    session.flush()
    return row, token


def personal_tokens(session: Session, user: User | Account, *, limit: int | None = None,
                    offset: int = 0) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id).limit(limit).offset(offset)))


def revoke_personal_token(session: Session, user: User | Account, token_id: int, now: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = now
    return row
