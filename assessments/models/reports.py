"""Statistics kept between asks: one row per quiz, valid while its fingerprint holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
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


__all__ = ["QuizStatisticsCache"]
