"""Every query of attempts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.models import Attempt, AttemptState, ItemVersion, QuestionAttempt, Step


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


def questions_with_hashes(session: Session, attempt_id: int) -> list[tuple[QuestionAttempt, str]]:
    """The current question attempts in slot order, each with its item version's content hash
    (what the variant cache is keyed by: the version's definition is read only on a miss)."""
    return [(row, digest) for row, digest in session.execute(
        select(QuestionAttempt, ItemVersion.content_hash)
        .join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
        .where(QuestionAttempt.attempt_id == attempt_id, QuestionAttempt.replaced_at.is_(None))
        .order_by(QuestionAttempt.slot))]


def attempt_and_question(session: Session, attempt_id: int, slot: int, *, lock: bool = False,
                         ) -> tuple[Attempt, QuestionAttempt | None, str | None] | None:
    """The attempt (locked for update if asked), its current question at ``slot`` and that
    question's content hash, in one query; None when there is no such attempt."""
    query = (select(Attempt, QuestionAttempt, ItemVersion.content_hash)
             .outerjoin(QuestionAttempt, (QuestionAttempt.attempt_id == Attempt.id) & (QuestionAttempt.slot == slot)
                        & QuestionAttempt.replaced_at.is_(None))
             .outerjoin(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
             .where(Attempt.id == attempt_id))
    if lock:
        query = query.with_for_update(of=Attempt)
    found = session.execute(query).first()
    return None if found is None else (found[0], found[1], found[2])


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


def attempt_state(session: Session, attempt_id: int, *, lock: bool = False) -> AttemptState | None:
    query = select(Attempt.state).where(Attempt.id == attempt_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def question_head(session: Session, qa_id: int) -> tuple[bool, int]:
    """Whether a question attempt has been replaced (by a regrade), and its last step's seq."""
    last = select(func.max(Step.seq)).where(Step.question_attempt_id == qa_id).scalar_subquery()
    replaced_at, seq = session.execute(
        select(QuestionAttempt.replaced_at, last).where(QuestionAttempt.id == qa_id)).one()
    return replaced_at is not None, int(seq)


def step_data(session: Session, qa_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each question attempt's steps as the engine stores them (``data``), in order: what
    rebuilding a question needs, read as plain rows rather than ORM objects."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in qa_ids}
    for qa_id, data in session.execute(select(Step.question_attempt_id, Step.data)
                                       .where(Step.question_attempt_id.in_(qa_ids))
                                       .order_by(Step.question_attempt_id, Step.seq)):
        out[qa_id].append(data)
    return out


def overdue(session: Session, before: object) -> list[int]:
    return list(session.scalars(select(Attempt.id).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline_at.is_not(None),
        Attempt.deadline_at < before)))
