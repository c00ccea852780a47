"""Grading by question: one question of a quiz, every student's response to it in a queue.

Moodle's "manual grading by question": the responses at one slot of the quiz's finished attempts
(previews left out), those waiting for a grader first, each shown as its student saw it with the
rubric and the worked solution beside it. A grade given from the queue is an ordinary manual
grade (:func:`assessments.grading.service.grade`): one more step, the grade audit trail and the
grade-changed event, as from the attempt's own page. Names can be hidden while grading
("Student 3"); they show again once no response at the slot waits for a grader.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from assessments.attempts import repository as attempts
from assessments.attempts.repository import Asked
from assessments.attempts.service import engine_attempt
from assessments.bank.service import rendered_question
from assessments.deps import Principal
from assessments.errors import NotFound
from assessments.grading import queue_repository as repository
from assessments.grading.marking import shown_response
from assessments.grading.queue_schemas import (
    QueuedResponse,
    QueueState,
    ResponseQueue,
    RubricCriterionOut,
    RubricLevelOut,
    SlotToGrade,
)
from assessments.grading.service import instructor_quiz
from assessments.models import Attempt, Quiz, User
from assessments.quizzes.service import quiz_out
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.behaviours.base import min_fraction
from engine.states import QuestionState
from engine.texts import render


def _quiz_and_slot(session: Session, principal: Principal, quiz_id: int, slot: int) -> Quiz:
    quiz, course = instructor_quiz(session, principal, quiz_id)
    if not 1 <= slot <= quiz_out(quiz, course).slots and repository.counts(session, quiz.id, slot)[0] == 0:
        raise NotFound(f"no question {slot} in this quiz")
    return quiz


def _rubric(qa: EngineAttempt) -> list[RubricCriterionOut] | None:
    rubric = getattr(qa.item, "rubric", None)
    if rubric is None:
        return None
    return [RubricCriterionOut(id=c.id, title=c.title, description=c.description, levels=[
        RubricLevelOut(points=level.points, label=level.label, description=level.description)
        for level in c.levels]) for c in rubric.criteria]


def _selected(qa: EngineAttempt) -> dict[str, int] | None:
    return next((dict(s.manual.rubric) for s in reversed(qa.steps)
                 if s.manual is not None and s.manual.rubric is not None), None)


@dataclass(frozen=True)
class _Row:
    asked: Asked
    digest: str
    attempt: Attempt
    user: User


def _queued(qa: EngineAttempt, row: _Row, number: int, hidden: bool) -> QueuedResponse:
    model, variant = qa.item, qa.variant
    text = shown_response(qa)
    return QueuedResponse(
        attempt_id=row.attempt.id, attempt_number=row.attempt.number,
        student=f"Student {number}" if hidden else row.user.display_name, student_number=number,
        user_id=None if hidden else row.user.id, username=None if hidden else row.user.username,
        finished_at=row.attempt.finished_at, item=model.title, type=model.type_name,
        stem=rendered_question(variant)["stem"], response=text, answered=bool(text), state=qa.state.value,
        needs_grading=qa.state == QuestionState.NEEDSGRADING, mark=qa.mark, max_mark=qa.max_mark,
        min_mark=min_fraction(model) * qa.max_mark, comment=qa.manual_comment, rubric=_rubric(qa),
        rubric_selected=_selected(qa),
        solution=render(model.solution, variant.values) if model.solution else None,
    )


def _responses(session: Session, quiz: Quiz, found: list[repository.Queued], hidden: bool) -> list[QueuedResponse]:
    numbers = repository.student_numbers(session, quiz.id)
    rows = [_Row(Asked.of(qa_row), digest, attempt, user) for qa_row, attempt, user, digest, _ in found]
    steps = attempts.step_data(session, [r.asked.id for r in rows])
    return [_queued(engine_attempt(session, r.asked, steps[r.asked.id], r.digest), r, numbers[r.user.id], hidden)
            for r in rows]


def response_queue(session: Session, principal: Principal, quiz_id: int, slot: int, *,
                   state: QueueState = QueueState.UNGRADED, anonymous: bool = False,
                   limit: int = 100, offset: int = 0) -> ResponseQueue:
    """A page of the slot's queue (``limit`` + 1 rows are read, so a caller can tell whether
    another page follows: :class:`assessments.pagination.Page`)."""
    quiz = _quiz_and_slot(session, principal, quiz_id, slot)
    total, waiting = repository.counts(session, quiz.id, slot)
    hidden = anonymous and waiting > 0
    found = repository.queue(session, quiz.id, slot, waiting_only=state == QueueState.UNGRADED,
                             limit=limit, offset=offset)
    return ResponseQueue(quiz_id=quiz.id, slot=slot, state=state, anonymous=hidden,
                         total=waiting if state == QueueState.UNGRADED else total, ungraded=waiting,
                         responses=_responses(session, quiz, found, hidden))


def queued_response(session: Session, principal: Principal, quiz_id: int, slot: int, attempt_id: int, *,
                    anonymous: bool = False) -> QueuedResponse:
    """One attempt's response in the slot's queue (404 when that attempt has none there: in
    progress, a preview, or of another quiz)."""
    quiz = _quiz_and_slot(session, principal, quiz_id, slot)
    found = repository.queue(session, quiz.id, slot, waiting_only=False, limit=1, offset=0, attempt_id=attempt_id)
    if not found:
        raise NotFound(f"no finished attempt {attempt_id} answered question {slot} of this quiz")
    hidden = anonymous and repository.counts(session, quiz.id, slot)[1] > 0
    return _responses(session, quiz, found, hidden)[0]


def slots_to_grade(session: Session, principal: Principal, quiz_id: int) -> list[SlotToGrade]:
    """Every question of the quiz that has responses, with how many wait for a grader."""
    quiz, _ = instructor_quiz(session, principal, quiz_id)
    return [SlotToGrade(slot=slot, items=titles, responses=total, ungraded=waiting)
            for slot, total, waiting, titles in repository.per_slot(session, quiz.id)]


def next_response(session: Session, quiz_id: int, slot: int, after: int, state: QueueState) -> int | None:
    """The attempt whose response "save and next" opens after ``after``'s: the next one waiting
    for a grader (going round to the start of the queue), else, for the whole queue, the next
    one in order; None at the end."""
    order = repository.order(session, quiz_id, slot)
    ids = [attempt_id for attempt_id, _ in order]
    here = ids.index(after) if after in ids else -1
    following = order[here + 1:] + order[:max(here, 0)]
    waiting = next((attempt_id for attempt_id, pending in following if pending and attempt_id != after), None)
    if waiting is not None or state == QueueState.UNGRADED:
        return waiting
    return ids[here + 1] if 0 <= here < len(ids) - 1 else None
