"""The results report: one row per attempt with every question's state and mark, for instructors.

Read with a few column-only queries (SQLAlchemy Core, no ORM objects): the page's attempts with
their students, then the current question attempts of those attempts with each one's last step.
A report of 2,000 attempts is read a page (or, for an export, a chunk) at a time, never whole.
Previews (staff attempts) are left out unless asked for, and then carry ``preview``; they are
never counted in anything else (grades, statistics, passback).

Also here: closing an attempt in progress now ("close it and grade it now"), which finishes it as
the time-limit sweep finishes an overdue one and records the change in the grade audit trail; and
a student's list of their own attempts, with marks only where the review policy shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from assessments.attempts import repository as attempts_repository
from assessments.attempts.review import moment_for
from assessments.attempts.service import attempt_for, engine_attempts, finish
from assessments.audit.service import QuestionGrade, record_closure
from assessments.auth.tokens import Scope
from assessments.db import written
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden
from assessments.grading.service import instructor_quiz
from assessments.models import Attempt, AttemptState, Item, ItemVersion, QuestionAttempt, Quiz, Step, User
from assessments.quizzes.service import settings_of
from assessments.reports.results_schemas import (
    AttemptFilter,
    AttemptResult,
    CloseResult,
    MyAttempt,
    QuestionResult,
)
from engine.states import QuestionState

EXPORT_CHUNK = 200
"""Attempts read per query while an export streams."""

_a = cast("Table", Attempt.__table__).c
_q = cast("Table", QuestionAttempt.__table__).c
_s = cast("Table", Step.__table__).c
_u = cast("Table", User.__table__).c
_v = cast("Table", ItemVersion.__table__).c
_i = cast("Table", Item.__table__).c


@dataclass(frozen=True)
class Filters:
    """Which of a quiz's attempts a report lists."""

    status: AttemptFilter | None = None
    previews: bool = False
    """List staff previews too (marked ``preview``)."""


# --- queries ------------------------------------------------------------------------------------


def _status(status: AttemptFilter | None, now: datetime) -> list[ColumnElement[bool]]:
    open_ = _a.state == AttemptState.IN_PROGRESS
    match status:
        case AttemptFilter.FINISHED:
            return [_a.state == AttemptState.FINISHED]
        case AttemptFilter.IN_PROGRESS:
            return [open_, or_(_a.deadline_at.is_(None), _a.deadline_at >= now)]
        case AttemptFilter.OVERDUE:
            return [open_, _a.deadline_at.is_not(None), _a.deadline_at < now]
        case AttemptFilter.NEEDS_GRADING:
            return [_a.state == AttemptState.FINISHED, _a.marks.is_(None)]
    return []


def _where(quiz_id: int, filters: Filters, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_a.quiz_id == quiz_id, *_status(filters.status, now)]
    if not filters.previews:
        where.append(_a.preview.is_(False))
    return where


_ATTEMPT_COLUMNS = (_a.id, _a.user_id, _u.username, _u.display_name, _a.number, _a.state, _a.preview,
                    _a.started_at, _a.deadline_at, _a.finished_at, _a.marks, _a.max_marks)


def _attempts(quiz_id: int, filters: Filters, now: datetime) -> Select[Any]:
    return (select(*_ATTEMPT_COLUMNS).join(User.__table__, _u.id == _a.user_id)
            .where(*_where(quiz_id, filters, now)).order_by(_u.username, _a.number, _a.id))


def count_attempts(session: Session, quiz_id: int, filters: Filters, now: datetime) -> int:
    query = select(func.count()).select_from(Attempt.__table__).where(*_where(quiz_id, filters, now))
    return int(session.execute(query).scalar_one())


def attempt_rows(session: Session, quiz_id: int, filters: Filters, now: datetime, *, limit: int,
                 offset: int) -> list[Any]:
    """A page of the quiz's attempts (Core rows of :data:`_ATTEMPT_COLUMNS`), by student and number."""
    return list(session.execute(_attempts(quiz_id, filters, now).limit(limit).offset(offset)))


def listed_ids(session: Session, quiz_id: int, filters: Filters, now: datetime) -> list[int]:
    """The ids of every attempt the filter lists, in the report's order (by student and number)."""
    return list(session.execute(_attempts(quiz_id, filters, now).with_only_columns(_a.id)).scalars())


def attempts_by_id(session: Session, attempt_ids: Sequence[int]) -> list[Any]:
    """These attempts' rows (as :func:`attempt_rows` gives them), in the report's order."""
    return list(session.execute(select(*_ATTEMPT_COLUMNS).join(User.__table__, _u.id == _a.user_id)
                                .where(_a.id.in_(attempt_ids)).order_by(_u.username, _a.number, _a.id)))


_LAST_STEP = (select(_s.question_attempt_id, func.max(_s.seq).label("seq"))
              .group_by(_s.question_attempt_id))


def question_rows(session: Session, attempt_ids: Sequence[int], *extra: Any) -> dict[int, list[Any]]:
    """attempt id -> its current question attempts in slot order, each with its item's key, its
    version's number and its last step's state and fraction (and ``extra`` columns)."""
    if not attempt_ids:
        return {}
    last = _LAST_STEP.where(_s.question_attempt_id.in_(
        select(_q.id).where(_q.attempt_id.in_(attempt_ids), _q.replaced_at.is_(None)))).subquery()
    query = (select(_q.attempt_id, _q.slot, _q.max_mark, _i.key.label("item_key"), _v.number.label("version"),
                    _s.state, _s.fraction, *extra)
             .join(last, last.c.question_attempt_id == _q.id)
             .join(Step.__table__, and_(_s.question_attempt_id == _q.id, _s.seq == last.c.seq))
             .join(ItemVersion.__table__, _v.id == _q.item_version_id)
             .join(Item.__table__, _i.id == _v.item_id)
             .where(_q.attempt_id.in_(attempt_ids), _q.replaced_at.is_(None))
             .order_by(_q.attempt_id, _q.slot))
    out: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(query):
        out[row.attempt_id].append(row)
    return out


def quiz_slots(session: Session, quiz_id: int, filters: Filters, now: datetime) -> list[int]:
    """The slots the listed attempts have (the columns of an export)."""
    attempts = select(_a.id).where(*_where(quiz_id, filters, now))
    return list(session.execute(select(_q.slot).distinct().where(
        _q.attempt_id.in_(attempts), _q.replaced_at.is_(None)).order_by(_q.slot)).scalars())


# --- rows ---------------------------------------------------------------------------------------


def question_mark(state: str, fraction: float | None, max_mark: float) -> float | None:
    """A question's mark as the attempt's total counts it: only once it is graded."""
    if fraction is None or not QuestionState(state).is_finished() or state == QuestionState.NEEDSGRADING:
        return None
    return fraction * max_mark


def attempt_result(row: Any, questions: list[Any], now: datetime) -> AttemptResult:
    state = AttemptState(row.state)
    finished = state == AttemptState.FINISHED
    return AttemptResult(
        id=row.id, user_id=row.user_id, username=row.username, display_name=row.display_name, number=row.number,
        state=state.value, preview=row.preview, started_at=row.started_at, deadline_at=row.deadline_at,
        finished_at=row.finished_at, marks=row.marks, max_marks=row.max_marks,
        overdue=not finished and row.deadline_at is not None and row.deadline_at < now,
        needs_grading=finished and row.marks is None,
        time_taken_seconds=(row.finished_at - row.started_at).total_seconds() if row.finished_at else None,
        questions=[QuestionResult(slot=q.slot, item_key=q.item_key, version=q.version, state=q.state,
                                  mark=question_mark(q.state, q.fraction, q.max_mark), max_mark=q.max_mark)
                   for q in questions])


def results(session: Session, rows: list[Any], now: datetime) -> list[AttemptResult]:
    questions = question_rows(session, [row.id for row in rows])
    return [attempt_result(row, questions.get(row.id, []), now) for row in rows]


def results_page(session: Session, principal: Principal, quiz_id: int, filters: Filters, now: datetime, *,
                 limit: int, offset: int) -> tuple[Quiz, list[AttemptResult], int]:
    """The quiz, a page of its results and how many attempts the filter lists in all (instructors)."""
    quiz, _ = instructor_quiz(session, principal, quiz_id)
    total = count_attempts(session, quiz.id, filters, now)
    rows = attempt_rows(session, quiz.id, filters, now, limit=limit, offset=offset)
    return quiz, results(session, rows, now), total


def chunks(session: Session, quiz_id: int, filters: Filters, now: datetime) -> Iterator[list[Any]]:
    """The listed attempts' rows, :data:`EXPORT_CHUNK` at a time (no access check: callers make it)."""
    offset = 0
    while True:
        rows = attempt_rows(session, quiz_id, filters, now, limit=EXPORT_CHUNK, offset=offset)
        if rows:
            yield rows
        if len(rows) < EXPORT_CHUNK:
            return
        offset += EXPORT_CHUNK


# --- closing an attempt now ---------------------------------------------------------------------


def close_now(session: Session, principal: Principal, attempt_id: int, reason: str | None,
              now: datetime) -> CloseResult:
    """Finish and grade an attempt in progress now, as the sweep does once its time is up; every
    question's new grade goes into the grade audit trail (kind ``closed``) with who and why.
    Instructors of the course (with the ``grade`` scope); the attempt's owner is refused (403),
    anyone else does not find it (404); a finished attempt is 409 ``attempt_finished``."""
    principal.require(Scope.GRADE)
    _, _, staff = attempt_for(session, principal, attempt_id)
    if not staff:
        raise Forbidden("only the course's instructors may close an attempt")
    attempt = attempts_repository.attempt(session, attempt_id, lock=True)
    assert attempt is not None
    if attempt.state != AttemptState.IN_PROGRESS:
        raise Conflict("this attempt is finished already", code="attempt_finished")
    before = {asked.slot: QuestionGrade.of(qa) for asked, qa in engine_attempts(session, attempt)}
    finish(session, attempt, principal, now)
    session.flush()
    rows = {row.slot: row for row in attempts_repository.question_attempts(session, attempt.id)}
    for asked, qa in engine_attempts(session, attempt):
        record_closure(session, principal.user, attempt, rows[asked.slot], before[asked.slot], qa,
                       reason=reason, now=now)
    written(session)
    return CloseResult(id=attempt.id, state=attempt.state.value, finished_at=attempt.finished_at,
                       marks=attempt.marks, max_marks=attempt.max_marks)


# --- a student's own attempts -------------------------------------------------------------------


def _mine(principal: Principal, quiz_id: int | None, status: AttemptFilter | None, now: datetime,
          ) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_a.user_id == principal.user.id]
    if quiz_id is not None:
        where.append(_a.quiz_id == quiz_id)
    return [*where, *_status(status, now)]


def my_attempts(session: Session, principal: Principal, quiz_id: int | None, status: AttemptFilter | None,
                now: datetime, *, limit: int, offset: int) -> tuple[list[MyAttempt], int]:
    """The caller's attempts, newest first, and how many there are; each attempt's marks only where
    its quiz's review policy shows them now (as the attempt's own page does)."""
    where = _mine(principal, quiz_id, status, now)
    total = int(session.execute(select(func.count()).select_from(Attempt.__table__).where(*where)).scalar_one())
    newest = (Attempt.started_at.desc(), Attempt.id.desc())
    attempts = list(session.scalars(select(Attempt).where(*where).order_by(*newest).limit(limit).offset(offset)))
    quizzes = {q.id: q for q in session.scalars(select(Quiz).where(Quiz.id.in_({a.quiz_id for a in attempts})))}
    out = []
    for attempt in attempts:
        quiz = quizzes[attempt.quiz_id]
        when = moment_for(session, attempt, quiz, now)
        shown = when != "during" and getattr(settings_of(quiz).review, when).marks
        out.append(MyAttempt(id=attempt.id, quiz_id=quiz.id, quiz_title=quiz.title, number=attempt.number,
                             state=attempt.state.value, started_at=attempt.started_at,
                             deadline_at=attempt.deadline_at, finished_at=attempt.finished_at,
                             marks=attempt.marks if shown else None, max_marks=attempt.max_marks, review=when))
    return out, total
