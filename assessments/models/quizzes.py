"""Quizzes: a course's assessments, their settings and their sections (validated by schemas)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessments.models.base import Base, JSONData, enum_column, utcnow
from assessments.models.users import Course


class QuizStatus(enum.StrEnum):
    """A quiz's life: only staff see a draft; students see a published quiz per its dates and a
    closed one (no new attempts, reviews as after it closed); an archived quiz is put away, its
    attempts and grades kept."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Quiz(Base):
    """A quiz (row of ``quizzes``). ``settings`` and ``sections`` hold the validated JSON of
    :class:`assessments.quizzes.schemas.QuizSettings` and its sections."""

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONData)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSONData)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[QuizStatus] = mapped_column(enum_column(QuizStatus), server_default="published")
    publish_at: Mapped[datetime | None]
    """A draft with this time is published from then on (scheduled publication)."""

    course: Mapped[Course] = relationship(lazy="raise")


class QuizItem(Base):
    """An item a quiz section may give, pinned to one version (row of ``quiz_items``).

    A fixed section pins each of its items; a draw pins the pool it draws from, resolved when the
    quiz was built. Attempts take these versions, and a regrade replays towards them: a new
    version, whoever publishes it, reaches the quiz only when its instructors choose it.
    """

    __tablename__ = "quiz_items"
    __table_args__ = (UniqueConstraint("quiz_id", "section", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    section: Mapped[int]
    """The section's index in ``Quiz.sections`` (0-based)."""
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)


__all__ = ["Quiz", "QuizItem", "QuizStatus"]
