"""Requests and responses of the authentication endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from assessments.auth.tokens import Scope
from assessments.models import Role


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1000)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth 2 names the scheme here, not a secret
    expires_at: datetime


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    is_active: bool


class UserUpdate(BaseModel):
    """What an administrator may change of a user: whether they may sign in."""

    model_config = ConfigDict(extra="forbid")

    is_active: bool
    """False deactivates: every session and access token of theirs ends and their personal
    tokens are revoked; true lets them sign in again."""


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str = Field(min_length=8, max_length=1000)
    role: Role = Role.STUDENT


class PersonalTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ], min_length=1)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class PersonalTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class PersonalTokenCreated(PersonalTokenOut):
    token: str
    """Shown once; only its hash is kept."""
