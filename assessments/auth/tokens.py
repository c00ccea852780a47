"""Credentials that are not passwords: expiring access tokens (JWT) and personal API tokens.

Access tokens are signed JWTs (HS256) naming the user and their session generation
(``assessments.auth.sessions``): they expire, and end early when the user signs out of a browser
or is deactivated. They carry no scopes (a signed-in user acts with their role). Personal API
tokens are random strings shown once; only their SHA-256 is stored, so a leaked database reveals
none. They can expire, be revoked, and are limited to scopes.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
PERSONAL_PREFIX = "assay_pat_"
FIRST_GENERATION = 0
"""The session generation every user starts in, and what a session or access token made before
generations existed (one that carries none) is read as."""


class Scope(enum.StrEnum):
    """What a personal token may do, on top of what its owner's role allows."""

    READ = "read"        # GET anything the owner can see
    WRITE = "write"      # create and change items, quizzes, attempts
    GRADE = "grade"      # manual grades, regrades, grade exports
    ADMIN = "admin"      # users, courses, LTI registrations


ALL_SCOPES = frozenset(Scope)


def issue_access_token(user_id: int, secret: str, now: datetime, minutes: int,
                       generation: int = FIRST_GENERATION) -> tuple[str, datetime]:
    expires = now + timedelta(minutes=minutes)
    payload = {"sub": str(user_id), "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
               "typ": "access", "gen": generation}
    return jwt.encode(payload, secret, algorithm=ALGORITHM), expires


def read_access_token(token: str, secret: str, now: datetime) -> int | None:
    """The user id of a valid access token unexpired at ``now``; None for anything else."""
    claims = read_access_claims(token, secret, now)
    return None if claims is None else claims[0]


def read_access_claims(token: str, secret: str, now: datetime) -> tuple[int, int] | None:
    """The user id and session generation of a valid access token unexpired at ``now``; None for
    anything else (a token from before generations is of the first).

    Expiry is checked against the service's clock (not the library's), so one clock rules.
    """
    claims = _signed_claims(token, secret)
    if claims is None:
        return None
    kind, expires, subject, generation = claims
    if kind != "access" or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    if generation is None:
        generation = FIRST_GENERATION
    if type(generation) is not int:
        return None
    try:
        return int(subject), generation  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, secret: str) -> tuple[object, object, object, object] | None:
    """A token's type, expiry, subject and generation if ``secret`` signed it, else None.
    Remembered: a student's every request carries the same token, and checking a signature costs
    more than the lookup that follows (whether it has expired is asked afresh every time)."""
    try:
        payload: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM],
                                             options={"require": ["exp", "sub"], "verify_exp": False})
    except jwt.PyJWTError:
        return None
    return payload.get("typ"), payload.get("exp"), payload.get("sub"), payload.get("gen")


def new_personal_token() -> tuple[str, str]:
    """(the token to show once, the hash to store)."""
    token = PERSONAL_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
