"""Every query of the audit trail: newest first, paged by id (``before``) or by ``offset``, and counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from assessments.models import Attempt, GradeChange, User


def _changes(where: list[Any], before: int | None, limit: int, offset: int) -> Select[GradeChange, User, int]:
    query = (
        select(GradeChange, User, Attempt.number)
        .join(User, User.id == GradeChange.student_id)
        .join(Attempt, Attempt.id == GradeChange.attempt_id)
        .where(*where)
        .order_by(GradeChange.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if before is not None:
        query = query.where(GradeChange.id < before)
    return query


def count(session: Session, where: list[Any], before: int | None) -> int:
    """How many changes match (every page together)."""
    query = select(func.count(GradeChange.id)).where(*where)
    if before is not None:
        query = query.where(GradeChange.id < before)
    return int(session.execute(query).scalar_one())


def quiz_where(quiz_id: int, student_id: int | None) -> list[Any]:
    where: list[Any] = [GradeChange.quiz_id == quiz_id]
    if student_id is not None:
        where.append(GradeChange.student_id == student_id)
    return where


def changes(session: Session, where: list[Any], *, before: int | None, limit: int,
            offset: int = 0) -> list[tuple[GradeChange, User, int]]:
    """The changes ``where`` holds, newest first, each with its student and attempt number."""
    return [(c, u, n) for c, u, n in session.execute(_changes(where, before, limit, offset))]
