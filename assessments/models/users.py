"""People, their credentials, and the courses they belong to."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessments.models.base import Base, JSONData, enum_column, utcnow


class Role(enum.StrEnum):
    """A user's role across Assay; course roles come from enrolments."""

    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    STUDENT = "student"


class CourseRole(enum.StrEnum):
    INSTRUCTOR = "instructor"
    STUDENT = "student"


class User(Base):
    """A person who signs in (row of ``users``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lti_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    session_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    """Sessions and access tokens count only while they carry this number: signing out and
    deactivation add one, and so end every one made before (``assessments.auth.sessions``)."""


class ApiToken(Base):
    """A personal API token for an LMS or a script: only its hash is kept; revocable, scoped."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="raise")


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Enrolment(Base):
    """A user's membership of a course, as instructor or student."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[CourseRole] = mapped_column(enum_column(CourseRole))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")


__all__ = ["ApiToken", "Course", "CourseRole", "Enrolment", "Role", "User"]

