"""Statistics kept between asks: one row per quiz, valid while its fingerprint holds; and what
statistics read of each graded question attempt, one narrow row each, and packed per attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, utcnow


class QuizStatisticsCache(Base):
    """A quiz's last computed statistics (row of ``quiz_statistics``).

    ``fingerprint`` says what they were computed from (the counted attempts and the last grade
    change: :func:`assessments.reports.repository.fingerprint`); a row whose fingerprint no longer
    matches is computed again and overwritten. Being a table, the cache is shared by every app
    process and rolls back with the transaction that wrote it.
    """

    __tablename__ = "quiz_statistics"

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(120))
    statistics: Mapped[dict[str, Any]]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerSummary(Base):
    """What statistics read of a question attempt of a finished attempt (row of ``answer_summaries``),
    written when it is graded (:mod:`assessments.reports.summaries`), so that they read one narrow
    row per question attempt instead of walking its steps.

    ``seq`` is the last step it was taken from; ``state`` and ``fraction`` are that step's;
    ``misconception`` the one its grade named. For a choice item, ``chosen`` holds the authored
    indices of the options the last saved response chose, space-separated (None: none chosen), and
    ``options`` how many options its variant showed; for a computed item, ``drawn`` holds the
    drawn parameters as numbers (:func:`assessments.reports.breakdown.drawn_text`).
    """

    __tablename__ = "answer_summaries"

    question_attempt_id: Mapped[int] = mapped_column(
        ForeignKey("question_attempts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int]
    item_version_id: Mapped[int]
    max_mark: Mapped[float]
    seed: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int]
    state: Mapped[str] = mapped_column(String(20))
    fraction: Mapped[float | None]
    misconception: Mapped[str | None] = mapped_column(Text)
    chosen: Mapped[str | None] = mapped_column(Text)
    options: Mapped[int]
    drawn: Mapped[str | None] = mapped_column(Text)


class AttemptSummary(Base):
    """The answer summaries of an attempt's current question attempts packed into one row (row of
    ``attempt_summaries``), written with them (:mod:`assessments.reports.summaries`), so that a
    quiz's statistics read one row per attempt: ``numbers``, ``texts``, ``drawn`` and ``chosen`` are laid out by
    :mod:`assessments.reports.packed`. An attempt has none while one of its current question
    attempts has no summary."""

    __tablename__ = "attempt_summaries"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    numbers: Mapped[bytes] = mapped_column(LargeBinary)
    texts: Mapped[str] = mapped_column(Text)
    drawn: Mapped[bytes] = mapped_column(LargeBinary)
    chosen: Mapped[bytes] = mapped_column(LargeBinary)


__all__ = ["AnswerSummary", "AttemptSummary", "QuizStatisticsCache"]
