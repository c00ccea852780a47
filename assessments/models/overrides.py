"""Accommodations: groups of a course's students, and per-student or per-group overrides of a
quiz's dates, time limit and attempts (Moodle's user and group overrides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, utcnow


class CourseGroup(Base):
    """A named set of a course's students (row of ``course_groups``)."""

    __tablename__ = "course_groups"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseGroupMember(Base):
    """A student in a group (row of ``course_group_members``)."""

    __tablename__ = "course_group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("course_groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class QuizOverride(Base):
    """What differs for one student or one group at a quiz (row of ``quiz_overrides``): each
    field left None keeps the quiz's setting. Exactly one of ``user_id`` and ``group_id`` is set."""

    __tablename__ = "quiz_overrides"
    __table_args__ = (UniqueConstraint("quiz_id", "user_id"), UniqueConstraint("quiz_id", "group_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("course_groups.id", ondelete="CASCADE"), index=True)
    open_at: Mapped[datetime | None]
    close_at: Mapped[datetime | None]
    time_limit_minutes: Mapped[int | None]
    time_multiplier: Mapped[float | None]
    """The quiz's time limit times this (1.5 for half as long again); exclusive with the minutes."""
    attempts_allowed: Mapped[int | None]
    unlimited_attempts: Mapped[bool] = mapped_column(default=False)
    """Attempts without limit (``attempts_allowed`` None then means the same)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["CourseGroup", "CourseGroupMember", "QuizOverride"]
