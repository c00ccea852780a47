"""The audit trail of grades: one row per change a person or a regrade made to a question's grade.

A row is written in the same transaction as the change it records (a manual grade's step, a
committed regrade's replacement question attempt), so neither exists without the other. Rows are
append-only: the ORM refuses to update or delete one (:func:`_refuse_change`). Who, when and what
are kept as values as well as keys (the actor's username, the item's key and version numbers), so
the row still says what happened after the item has moved on.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, enum_column, utcnow


class GradeChangeKind(enum.StrEnum):
    """What made the change."""

    MANUAL_GRADE = "manual_grade"
    """A person graded (or commented on) a question that a person grades, such as an essay."""
    OVERRIDE = "override"
    """A person set the fraction of a question the engine had graded, replacing the engine's."""
    COMMENT = "comment"
    """A person commented on a question the engine graded without changing its fraction."""
    REGRADE = "regrade"
    """A committed regrade replayed the question against its item's current version."""
    CLEARED = "grade_cleared"
    """A person withdrew the mark given by hand (a manual grade or an override): the engine's
    mark stands again, and a regrade moves it."""
    CLOSED = "closed"
    """A person closed an attempt still in progress, and it was graded as the time-limit sweep
    grades an overdue one (the question's grade from none to its first)."""


class GradeChange(Base):
    """One change to one slot of one attempt (row of ``grade_changes``), never changed itself."""

    __tablename__ = "grade_changes"
    __table_args__ = (
        Index("ix_grade_changes_quiz_id_id", "quiz_id", "id"),
        Index("ix_grade_changes_attempt_id_id", "attempt_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[GradeChangeKind] = mapped_column(enum_column(GradeChangeKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_username: Mapped[str] = mapped_column(String(80))
    """Who, as they were called then (the user row may go; the record stays readable)."""
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int]
    question_attempt_id: Mapped[int] = mapped_column(
        ForeignKey("question_attempts.id", ondelete="CASCADE"), index=True)
    """The question attempt holding the new grade (a regrade's replacement row)."""
    step_seq: Mapped[int]
    """The step of that question attempt at which the new grade stands."""
    item_key: Mapped[str] = mapped_column(String(200))
    old_version: Mapped[int]
    new_version: Mapped[int]
    """The item version numbers before and after (equal unless a regrade moved the question)."""
    old_state: Mapped[str] = mapped_column(String(20))
    new_state: Mapped[str] = mapped_column(String(20))
    old_fraction: Mapped[float | None]
    new_fraction: Mapped[float | None]
    old_mark: Mapped[float | None]
    new_mark: Mapped[float | None]
    max_mark: Mapped[float]
    old_marks: Mapped[float | None]
    new_marks: Mapped[float | None]
    """The attempt's total before and after (None while a question awaits a grader)."""
    max_marks: Mapped[float]
    comment: Mapped[str | None] = mapped_column(Text)
    """The comment the student is shown, as given with this change."""
    reason: Mapped[str | None] = mapped_column(Text)
    """Why, for the record: shown to instructors only."""


@event.listens_for(GradeChange, "before_update")
@event.listens_for(GradeChange, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: GradeChange) -> None:
    raise PermissionError(f"grade change {target.id} is part of the audit trail: rows are never changed")


__all__ = ["GradeChange", "GradeChangeKind"]
