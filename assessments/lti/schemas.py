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


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    created_at: datetime
