"""Attempts as Moodle's question engine keeps them: attempt -> question attempts -> steps.

Steps are append-only: a row is inserted, never updated or deleted. The current state of a
question attempt is its last step; the engine rebuilds a :class:`engine.attempts.QuestionAttempt`
from the rows to decide the next one.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessments.models.bank import ItemVersion
from assessments.models.base import Base, JSONData, enum_column, utcnow
from assessments.models.quizzes import Quiz


class AttemptState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class Attempt(Base):
    """One student's attempt at a quiz (row of ``attempts``)."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number"),
        # at most one open attempt per student and quiz, whatever races
        Index(
            "uq_attempts_one_open", "quiz_id", "user_id", unique=True,
            sqlite_where=text("state = 'in_progress'"),
            postgresql_where=text("state = 'in_progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    state: Mapped[AttemptState] = mapped_column(enum_column(AttemptState))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    marks: Mapped[float | None]
    max_marks: Mapped[float]
    preview: Mapped[bool] = mapped_column(server_default=false())
    """A staff member's attempt (a preview as a student): never counted in grades, statistics or
    passback."""

    quiz: Mapped[Quiz] = relationship(lazy="raise")


class QuestionAttempt(Base):
    """One slot of an attempt: the pinned item version, the variant and how it is asked."""

    __tablename__ = "question_attempts"
    __table_args__ = (
        # one current question attempt per slot; a committed regrade replaces, never deletes
        Index(
            "uq_question_attempts_current_slot", "attempt_id", "slot", unique=True,
            sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int]
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    variant: Mapped[dict[str, Any]] = mapped_column(JSONData)
    behaviour: Mapped[str] = mapped_column(String(40))
    behaviour_options: Mapped[dict[str, Any]] = mapped_column(JSONData)
    max_mark: Mapped[float]
    replaced_at: Mapped[datetime | None]
    """Set when a committed regrade replaced this row with a replayed one (kept for audit)."""
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The student's own "come back to this" mark (changes no step)."""

    attempt: Mapped[Attempt] = relationship(lazy="raise")
    item_version: Mapped[ItemVersion] = relationship(lazy="raise")


class Step(Base):
    """One step of a question attempt, appended and never changed.

    Row of ``question_attempt_steps``.
    """

    __tablename__ = "question_attempt_steps"
    __table_args__ = (UniqueConstraint("question_attempt_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_attempt_id: Mapped[int] = mapped_column(
        ForeignKey("question_attempts.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    fraction: Mapped[float | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)
    """The engine's whole step (:meth:`engine.attempts.Step.to_json`): grade, error, try number."""
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["Attempt", "AttemptState", "QuestionAttempt", "Step"]
