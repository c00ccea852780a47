"""Request and response bodies of the LTI registration API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

DeploymentId = Annotated[str, Field(min_length=1, max_length=255)]
"""LTI Core §5.3.3: at most 255 characters."""


class RegistrationCreate(BaseModel):
    """A platform as its administrator describes it to Assay."""

    issuer: str = Field(min_length=1, max_length=255)
    client_id: str = Field(min_length=1, max_length=255)
    deployment_ids: list[DeploymentId] = Field(min_length=1, max_length=100)
    auth_login_url: AnyHttpUrl
    auth_token_url: AnyHttpUrl
    jwks_url: AnyHttpUrl
    frame_origins: list[AnyHttpUrl] = Field(default_factory=list, max_length=20)
    """More origins that may frame launches (the origins of the issuer and the login URL always may):
    a Canvas school's own domain, say."""


class RegistrationUpdate(BaseModel):
    """What an administrator may change of a registration: its deployments and frame origins."""

    model_config = ConfigDict(extra="forbid")

    deployment_ids: list[DeploymentId] | None = Field(default=None, min_length=1, max_length=100)
    frame_origins: list[AnyHttpUrl] | None = Field(default=None, max_length=20)


class RegistrationLinkOut(BaseModel):
    """A one-time Dynamic Registration link: paste ``url`` into the LMS before ``expires_at``."""

    url: str
    expires_at: datetime


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    frame_origins: list[str]
    registered_by: str
    created_at: datetime
