"""Practice: a quiz's items (or a course's concepts) practised until mastered, outside the gradebook.

A ``practices`` row says what is practised; each question a student is asked is a
``practice_questions`` row (the item version and seed of its variant, the rule that chose it, and
once answered, the response, the fraction and the misconception it matched). The student's
ability, mastery and review schedule are not stored: they are replayed from these rows
(engine.adaptive), so they can never disagree with the answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, JSONData, utcnow


class Practice(Base):
    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    """The quiz whose items are practised; None: every item of the course's banks on ``concepts``."""
    title: Mapped[str] = mapped_column(String(300))
    concepts: Mapped[list[str]] = mapped_column(JSONData)
    """The concepts practised (empty: every concept of the items)."""
    send_completion: Mapped[bool] = mapped_column(default=False)
    """Send the fraction of concepts mastered to the LMS that launched it (the instructor's choice)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PracticeQuestion(Base):
    __tablename__ = "practice_questions"
    __table_args__ = (Index("ix_practice_questions_practice_id_user_id", "practice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="CASCADE"))
    seed: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(20))
    concept: Mapped[str] = mapped_column(String(120))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    fraction: Mapped[float | None]
    misconception: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None]


class ItemCalibration(Base):
    """An item's 2PL parameters, fitted from students' answers (``assessments.practice.calibration``);
    practice chooses calibrated items by them, the others by their Bloom level's prior."""

    __tablename__ = "item_calibrations"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    difficulty: Mapped[float]
    discrimination: Mapped[float]
    difficulty_se: Mapped[float]
    responses: Mapped[int]
    """How many students' answers the fit had for this item."""
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
