"""Every query of the audit trail: newest first, paged by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from assessments.models import Attempt, GradeChange, User


def _changes(where: list[Any], before: int | None, limit: int) -> Select[GradeChange, User, int]:
    query = (
        select(GradeChange, User, Attempt.number)
        .join(User, User.id == GradeChange.student_id)
        .join(Attempt, Attempt.id == GradeChange.attempt_id)
        .where(*where)
        .order_by(GradeChange.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(GradeChange.id < before)
    return query


def changes_of_quiz(session: Session, quiz_id: int, *, student_id: int | None, before: int | None,
                    limit: int) -> list[tuple[GradeChange, User, int]]:
    """The quiz's changes (a student's only, when given), each with its student and attempt number."""
    where: list[Any] = [GradeChange.quiz_id == quiz_id]
    if student_id is not None:
        where.append(GradeChange.student_id == student_id)
    return [(c, u, n) for c, u, n in session.execute(_changes(where, before, limit))]


def changes_of_attempt(session: Session, attempt_id: int, *, before: int | None,
                       limit: int) -> list[tuple[GradeChange, User, int]]:
    where = [GradeChange.attempt_id == attempt_id]
    return [(c, u, n) for c, u, n in session.execute(_changes(where, before, limit))]
