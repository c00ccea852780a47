"""Every query of grading by question: a slot's responses in queue order, and counts per slot.

A response in the queue is the current question attempt (not one a regrade replaced) at one slot
of a finished attempt by a student: previews (staff attempts) are never in it. It waits for a
grader while its last step's state is ``needsgrading``. The queue's order does not depend on
grading, so "next" stays put while responses are graded: students by their first finished
attempt at the quiz (which numbers them, "Student 3", the same at every slot), then attempt number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from assessments.models import Attempt, AttemptState, ItemVersion, QuestionAttempt, Step, User
from engine.states import QuestionState

WAITING = QuestionState.NEEDSGRADING.value

_LAST_STATE = (select(Step.state).where(Step.question_attempt_id == QuestionAttempt.id)
               .order_by(Step.seq.desc()).limit(1).correlate(QuestionAttempt).scalar_subquery())


def _counted(quiz_id: int) -> Any:
    """The finished, non-preview attempts of the quiz."""
    return and_(Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED, Attempt.preview.is_(False))


def _firsts(quiz_id: int) -> Any:
    return (select(Attempt.user_id, func.min(Attempt.id).label("first"))
            .where(_counted(quiz_id)).group_by(Attempt.user_id).subquery("firsts"))


def student_numbers(session: Session, quiz_id: int) -> dict[int, int]:
    """Each student with a finished attempt at the quiz: their number, from 1, by first attempt."""
    firsts = _firsts(quiz_id)
    rows = session.execute(select(firsts.c.user_id).order_by(firsts.c.first))
    return {user_id: n for n, (user_id,) in enumerate(rows, start=1)}


def _responses(quiz_id: int, slot: int) -> Select[Any]:
    return (select(QuestionAttempt.id)
            .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
            .where(_counted(quiz_id), QuestionAttempt.slot == slot, QuestionAttempt.replaced_at.is_(None)))


def counts(session: Session, quiz_id: int, slot: int) -> tuple[int, int]:
    """(responses at the slot, those waiting for a grader)."""
    inner = _responses(quiz_id, slot).add_columns(_LAST_STATE.label("state")).subquery()
    total, waiting = session.execute(select(
        func.count(), func.coalesce(func.sum(case((inner.c.state == WAITING, 1), else_=0)), 0))
        .select_from(inner)).one()
    return int(total), int(waiting)


Queued = tuple[QuestionAttempt, Attempt, User, str, str]


def queue(session: Session, quiz_id: int, slot: int, *, waiting_only: bool, limit: int,
          offset: int, attempt_id: int | None = None) -> list[Queued]:
    """A page of the slot's responses: waiting ones first (only those with ``waiting_only``; only
    ``attempt_id``'s with it), each as (question attempt, attempt, student, item version's
    content hash, last state)."""
    firsts = _firsts(quiz_id)
    state = _LAST_STATE.label("state")
    query = (select(QuestionAttempt, Attempt, User, ItemVersion.content_hash, state)
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .join(User, User.id == Attempt.user_id)
             .join(firsts, firsts.c.user_id == Attempt.user_id)
             .join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
             .where(_counted(quiz_id), QuestionAttempt.slot == slot, QuestionAttempt.replaced_at.is_(None)))
    if waiting_only:
        query = query.where(_LAST_STATE == WAITING)
    if attempt_id is not None:
        query = query.where(Attempt.id == attempt_id)
    query = query.order_by(case((_LAST_STATE == WAITING, 0), else_=1), firsts.c.first, Attempt.number)
    return [(r[0], r[1], r[2], r[3], r[4]) for r in session.execute(query.limit(limit).offset(offset))]


def order(session: Session, quiz_id: int, slot: int) -> list[tuple[int, bool]]:
    """Every response at the slot in the queue's order regardless of grading: (attempt id,
    waiting for a grader). What "save and next" walks."""
    firsts = _firsts(quiz_id)
    query = (select(Attempt.id, _LAST_STATE)
             .select_from(QuestionAttempt)
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .join(firsts, firsts.c.user_id == Attempt.user_id)
             .where(_counted(quiz_id), QuestionAttempt.slot == slot, QuestionAttempt.replaced_at.is_(None))
             .order_by(firsts.c.first, Attempt.number))
    return [(attempt_id, state == WAITING) for attempt_id, state in session.execute(query)]


def per_slot(session: Session, quiz_id: int) -> list[tuple[int, int, int, str]]:
    """Per slot with responses: (slot, responses, waiting, the titles of the items asked there,
    joined with " / " when a draw asked several)."""
    inner = (select(QuestionAttempt.slot, ItemVersion.title, _LAST_STATE.label("state"))
             .join(Attempt, Attempt.id == QuestionAttempt.attempt_id)
             .join(ItemVersion, ItemVersion.id == QuestionAttempt.item_version_id)
             .where(_counted(quiz_id), QuestionAttempt.replaced_at.is_(None)).subquery())
    rows = session.execute(select(inner.c.slot, inner.c.title, func.count(),
                                  func.sum(case((inner.c.state == WAITING, 1), else_=0)))
                           .group_by(inner.c.slot, inner.c.title).order_by(inner.c.slot, inner.c.title))
    out: dict[int, tuple[int, int, list[str]]] = {}
    for slot, title, total, waiting in rows:
        seen, pending, titles = out.get(slot, (0, 0, []))
        out[slot] = (seen + int(total), pending + int(waiting or 0), [*titles, title])
    return [(slot, total, waiting, " / ".join(titles)) for slot, (total, waiting, titles) in sorted(out.items())]
