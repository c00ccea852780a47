"""Work done before a quiz opens, so that a start inserts rows and little else.

A student's first attempt at a quiz takes its seed from ``prepared_starts``; each of its questions
takes its variant (parameters, computed values, key: what generating it would give for its seed)
from ``prepared_variants``, generated for many students at once by the engine's ``generate_batch``.
Neither table is needed: a start or a save that finds nothing here generates, as it always did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assessments.models.base import Base, JSONData, utcnow


class PreparedStart(Base):
    """The seed a student's first attempt at a quiz will use (row of ``prepared_starts``)."""

    __tablename__ = "prepared_starts"

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PreparedVariant(Base):
    """A generated variant of an item version for a seed (row of ``prepared_variants``): every value
    and the key, as arrays (see :mod:`assessments.attempts.prepared`)."""

    __tablename__ = "prepared_variants"
    __table_args__ = (UniqueConstraint("item_version_id", "seed", "shuffle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id", ondelete="CASCADE"))
    seed: Mapped[int] = mapped_column(BigInteger)
    shuffle: Mapped[bool]
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)


__all__ = ["PreparedStart", "PreparedVariant"]
