"""A browser's signed-in session, and how a server ends one it does not store.

The session is Starlette's signed cookie (``assay_session``), holding the user's id and the
*session generation* it began in. A signed cookie cannot be forgotten by the server, so each user
has a generation (``users.session_generation``) instead: a session, like an access token, counts
only while it carries the user's current generation. Signing out and deactivation move the user to
the next one, so every cookie and access token made before stops working at its next request (the
lookup of the caller reads the generation with the rest of the user's row: no extra query).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, update

from assessments.auth.tokens import FIRST_GENERATION
from assessments.models import User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.requests import Request

USER = "user_id"
GENERATION = "generation"

_USERS = cast("Table", User.__table__)
_NEXT_GENERATION = (update(_USERS).where(_USERS.c.id == bindparam("user_id"),
                                         _USERS.c.session_generation == bindparam("current"))
                    .values(session_generation=_USERS.c.session_generation + 1))


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """Who a session cookie says is signed in, and in which generation (not yet checked)."""

    user_id: int
    generation: int


def begin(request: Request, user: User) -> None:
    """Sign ``user`` in to this browser: a fresh session (no fixation: the caller makes its CSRF
    token anew) in the user's current generation."""
    request.session.clear()
    request.session[USER] = user.id
    request.session[GENERATION] = user.session_generation


def claim(request: Request) -> SessionClaim | None:
    """What the request's session cookie claims, if it claims anyone."""
    if "session" not in request.scope:
        return None
    user_id = request.session.get(USER)
    generation = request.session.get(GENERATION, FIRST_GENERATION)
    if type(user_id) is not int or type(generation) is not int:
        return None
    return SessionClaim(user_id, generation)


def end(session: Session, request: Request) -> None:
    """Sign out: the cookie is emptied and, when it was a current session, the user moves to the
    next generation (every other session and access token of theirs ends too; a stale cookie moves
    nothing, so an old copy cannot sign anyone out)."""
    found = claim(request)
    if found is not None:
        session.connection().execute(_NEXT_GENERATION, {"user_id": found.user_id, "current": found.generation})
    request.session.clear()
