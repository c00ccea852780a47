"""Every query of attempts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.models import Attempt, AttemptState, QuestionAttempt, Step


def attempt(session: Session, attempt_id: int, *, lock: bool = False) -> Attempt | None:
    query = select(Attempt).where(Attempt.id == attempt_id)
    if lock:
        # Serialises saves and submits of one attempt (PostgreSQL; SQLite writes one at a time).
        query = query.with_for_update()
    return session.scalars(query).first()


def open_attempt(session: Session, quiz_id: int, user_id: int) -> Attempt | None:
    return session.scalars(select(Attempt).where(
        Attempt.quiz_id == quiz_id, Attempt.user_id == user_id,
        Attempt.state == AttemptState.IN_PROGRESS)).first()


def attempts_of(session: Session, quiz_id: int, user_id: int) -> list[Attempt]:
    return list(session.scalars(select(Attempt).where(
        Attempt.quiz_id == quiz_id, Attempt.user_id == user_id).order_by(Attempt.number)))


def last_number(session: Session, quiz_id: int, user_id: int) -> int:
    return session.scalar(select(func.max(Attempt.number)).where(
        Attempt.quiz_id == quiz_id, Attempt.user_id == user_id)) or 0


def question_attempts(session: Session, attempt_id: int) -> list[QuestionAttempt]:
    return list(session.scalars(select(QuestionAttempt).where(
        QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.replaced_at.is_(None))
        .order_by(QuestionAttempt.slot)))


def question_attempt(session: Session, attempt_id: int, slot: int) -> QuestionAttempt | None:
    return session.scalars(select(QuestionAttempt).where(
        QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.slot == slot,
        QuestionAttempt.replaced_at.is_(None))).first()


def steps_of(session: Session, qa_ids: list[int]) -> dict[int, list[Step]]:
    out: dict[int, list[Step]] = {i: [] for i in qa_ids}
    for step in session.scalars(select(Step).where(Step.question_attempt_id.in_(qa_ids))
                                .order_by(Step.question_attempt_id, Step.seq)):
        out[step.question_attempt_id].append(step)
    return out


def overdue(session: Session, before: object) -> list[int]:
    return list(session.scalars(select(Attempt.id).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline_at.is_not(None),
        Attempt.deadline_at < before)))
