"""``/api/v1/auth``: tokens for the API, and who am I; ``/api/v1/users`` for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from assessments.auth import service
from assessments.auth.schemas import (
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenOut,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
    UserUpdate,
)
from assessments.deps import Account, CurrentPrincipal, NowDep, RowId, SessionDep, SettingsDep
from assessments.errors import NotFound
from assessments.limits import LimitsDep, client_address
from assessments.models import User
from assessments.pagination import PageDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenResponse)
def token(body: TokenRequest, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep,
          limits: LimitsDep) -> TokenResponse:
    """Exchange a username and password for an expiring bearer token.

    Too many failures for one username from one address, or too many attempts from one address,
    get 429 with ``Retry-After`` (README, "Limits")."""
    with limits.signing_in(client_address(request), body.username, now):
        access, expires = service.sign_in(session, body.username, body.password,
                                          settings.resolved_secret_key, now, settings.access_token_minutes)
    return TokenResponse(access_token=access, expires_at=expires)


@router.get("/auth/me", response_model=UserOut)
def me(principal: CurrentPrincipal) -> Account:
    return principal.user


@router.post("/auth/tokens", response_model=PersonalTokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: PersonalTokenCreate, principal: CurrentPrincipal, session: SessionDep,
                 now: NowDep, limits: LimitsDep) -> PersonalTokenCreated:
    """A personal API token for an LMS or a script, limited to scopes; shown only in this reply.

    A personal token may make tokens with its own scopes or fewer, never more (403). A user may
    create a limited number per hour (429 with ``Retry-After``).
    """
    if principal.via == "personal":
        for scope in body.scopes:
            principal.require(scope)
    limits.token_created(principal.user.id, now)
    row, secret = service.create_personal_token(session, principal.user, body, now)
    return PersonalTokenCreated(token=secret, **PersonalTokenOut.model_validate(row).model_dump())


@router.get("/auth/tokens", response_model=list[PersonalTokenOut])
def list_tokens(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[PersonalTokenOut]:
    rows = page.rows(service.personal_tokens(session, principal.user, limit=page.fetch, offset=page.offset))
    return [PersonalTokenOut.model_validate(t) for t in rows]


@router.delete("/auth/tokens/{token_id}", response_model=PersonalTokenOut)
def revoke_token(token_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                 now: NowDep) -> PersonalTokenOut:
    return PersonalTokenOut.model_validate(
        service.revoke_personal_token(session, principal.user, token_id, now))


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, principal: CurrentPrincipal, session: SessionDep) -> User:
    principal.require_admin()
    return service.create_user(session, body)


@router.get("/users", response_model=list[UserOut])
def list_users(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[User]:
    principal.require_admin()
    return page.rows(list(session.scalars(select(User).order_by(User.id).limit(page.fetch).offset(page.offset))))


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: RowId, body: UserUpdate, principal: CurrentPrincipal, session: SessionDep,
                now: NowDep) -> User:
    """Deactivate or reactivate a user (administrators). Deactivating signs them out everywhere:
    every session and access token ends, and their personal tokens are revoked."""
    principal.require_admin()
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return service.set_active(session, user, body.is_active, now, by=principal.user)
