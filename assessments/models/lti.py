"""LTI 1.3: the platforms (LMSs) registered with Assay, our signing keys, and what launches made.

A platform is known by its issuer and the client id it gave Assay; its contexts map to Assay
courses and its resource links to quizzes or practices. Nonces are single-use and bound to the browser's
state; score targets are the (resource link, student) pairs whose grades go back to the LMS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, JSONData, utcnow


class LtiPlatform(Base):
    """A platform registration (row of ``lti_platforms``), with its cached key set."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_ids: Mapped[list[str]] = mapped_column(JSONData)
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    jwks_url: Mapped[str] = mapped_column(String(1000))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    jwks_fetched_at: Mapped[datetime | None]
    frame_origins: Mapped[list[str]] = mapped_column(JSONData, default=list)
    """The origins that may frame the pages of this platform's launches (the LMS's own pages)."""
    registered_by: Mapped[str] = mapped_column(String(20), default="hand")
    """``hand`` (the API or the CLI) or ``dynamic`` (LTI Dynamic Registration)."""
    platform_configuration: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    """Dynamic Registration: what the platform said of itself and what it registered."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiRegistrationLink(Base):
    """A one-time, expiring link an administrator opened for a Dynamic Registration (row of
    ``lti_registration_links``); only the token's SHA-256 is kept. ``platform_id``: what it registered."""

    __tablename__ = "lti_registration_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("lti_platforms.id", ondelete="SET NULL"))


class LtiKey(Base):
    """One of Assay's RSA signing keys (row of ``lti_keys``). The newest unretired key signs;
    a retired key stays published in ``/lti/jwks`` until ``retire_at`` (the grace period)."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retire_at: Mapped[datetime | None]


class LtiNonce(Base):
    """A login's nonce and state (row of ``lti_nonces``): a launch may use it once, before it expires.
    ``target_link_uri`` is what the login initiation named; the launch's id_token must name the same."""

    __tablename__ = "lti_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(100))
    target_link_uri: Mapped[str] = mapped_column(String(1000))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LtiContext(Base):
    """A platform's course (context) and the Assay course it maps to (row of ``lti_contexts``)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiResourceLink(Base):
    """A link placed in the platform's course, mapped to a quiz or a practice, never both (row of
    ``lti_resource_links``), with the line item endpoints its launches announced."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),
                      CheckConstraint("(quiz_id IS NULL) <> (practice_id IS NULL)", name="one_target"))

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[str]] = mapped_column(JSONData, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiScoreTarget(Base):
    """A student who launched a resource link: their quiz grade, or their practice's completion, goes
    back to its line item (row of ``lti_score_targets``). ``completion``: the fraction of concepts
    mastered the practice last announced; ``sent_*`` is what the platform last acknowledged
    (``sent_progress``: a quiz's gradingProgress, a practice's activityProgress)."""

    __tablename__ = "lti_score_targets"
    __table_args__ = (UniqueConstraint("link_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lti_user_id: Mapped[str] = mapped_column(String(255))
    completion: Mapped[float | None]
    sent_score: Mapped[float | None]
    sent_progress: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None]


__all__ = ["LtiContext", "LtiKey", "LtiNonce", "LtiPlatform", "LtiRegistrationLink", "LtiResourceLink",
           "LtiScoreTarget"]
