"""The audit trail of grades: writing a row with every grade change, and reading them back.

Grading (:mod:`assessments.grading.service`) calls :func:`record_manual_grade` right after it
appends a manual-grade step and :func:`record_regrade` for each question attempt a committed
regrade replaces, inside the request's one transaction: the change and its row are committed
together or not at all, and a refused request (a grade out of range, a regrade with a problem)
raises before either is written. A grade given twice appends no step and so no row.

Only instructors of the quiz's course read the trail, with a token that has the ``grade`` scope
(as for grades). Students see what Moodle shows them: the comment on their question, through
the attempt's review, and never the trail itself; to them an attempt's trail is 403 (their own)
or 404 (anyone else's), as grading it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from assessments.attempts.service import attempt_for
from assessments.audit import repository
from assessments.audit.schemas import GradeChangeOut, GradeChangePage
from assessments.auth.access import require_instructor
from assessments.auth.tokens import Scope
from assessments.deps import Account, Principal
from assessments.errors import Forbidden
from assessments.models import (
    Attempt,
    GradeChange,
    GradeChangeKind,
    Item,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    User,
)
from assessments.quizzes.service import quiz_for
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.attempts import Step as EngineStep

MANUALLY_GRADED_BEHAVIOUR = "manualgraded"


@dataclass(frozen=True)
class QuestionGrade:
    """A question's grade at one moment: what a change goes from or to."""

    state: str
    fraction: float | None
    mark: float | None

    @classmethod
    def of(cls, qa: EngineAttempt) -> QuestionGrade:
        return cls(qa.state.value, qa.fraction, qa.mark)


# --- writing ------------------------------------------------------------------------------------


def _version(session: Session, version_id: int) -> tuple[str, int]:
    """The item's key and the version's number."""
    version = session.get(ItemVersion, version_id)
    assert version is not None
    item = session.get(Item, version.item_id)
    assert item is not None
    return item.key, version.number


def _row(session: Session, actor: User | Account, attempt: Attempt, question: QuestionAttempt, *,
         kind: GradeChangeKind, old: QuestionGrade, new: QuestionGrade, step_seq: int, old_version: int,
         old_marks: float | None, new_marks: float | None, comment: str | None, reason: str | None,
         now: datetime) -> GradeChange:
    quiz = session.get(Quiz, attempt.quiz_id)
    assert quiz is not None
    item_key, new_version = _version(session, question.item_version_id)
    change = GradeChange(
        at=now, kind=kind, actor_id=actor.id, actor_username=actor.username, course_id=quiz.course_id,
        quiz_id=quiz.id, attempt_id=attempt.id, student_id=attempt.user_id, slot=question.slot,
        question_attempt_id=question.id, step_seq=step_seq, item_key=item_key, old_version=old_version,
        new_version=new_version, old_state=old.state, new_state=new.state, old_fraction=old.fraction,
        new_fraction=new.fraction, old_mark=old.mark, new_mark=new.mark, max_mark=question.max_mark,
        old_marks=old_marks, new_marks=new_marks, max_marks=attempt.max_marks, comment=comment,
        reason=reason)
    session.add(change)
    return change


def manual_kind(question: QuestionAttempt, step: EngineStep) -> GradeChangeKind:
    """A question a person grades gets a manual grade; on one the engine graded, a person's
    fraction is an override and a comment alone is a comment. Withdrawing a person's mark is
    its own kind."""
    if step.manual is not None and step.manual.cleared:
        return GradeChangeKind.CLEARED
    if question.behaviour == MANUALLY_GRADED_BEHAVIOUR:
        return GradeChangeKind.MANUAL_GRADE
    if step.manual is not None and step.manual.fraction is not None:
        return GradeChangeKind.OVERRIDE
    return GradeChangeKind.COMMENT


def record_manual_grade(session: Session, actor: User | Account, attempt: Attempt, question: QuestionAttempt,
                        old: QuestionGrade, qa: EngineAttempt, step: EngineStep, *,
                        old_marks: float | None, reason: str | None, now: datetime) -> GradeChange:
    """The row for a kept manual-grade ``step`` of ``question``; ``attempt.marks`` is already the new
    total."""
    _, version = _version(session, question.item_version_id)
    return _row(session, actor, attempt, question, kind=manual_kind(question, step), old=old,
                new=QuestionGrade.of(qa), step_seq=step.seq, old_version=version, old_marks=old_marks,
                new_marks=attempt.marks, comment=step.manual.comment if step.manual else None,
                reason=reason, now=now)


def record_regrade(session: Session, actor: User | Account, attempt: Attempt, *, replaced: QuestionAttempt,
                   old: EngineAttempt, replacement: QuestionAttempt, new: EngineAttempt,
                   old_marks: float | None, new_marks: float | None, now: datetime) -> GradeChange:
    """The row for a question attempt a committed regrade replaced (``replacement`` is flushed)."""
    _, old_version = _version(session, replaced.item_version_id)
    return _row(session, actor, attempt, replacement, kind=GradeChangeKind.REGRADE,
                old=QuestionGrade.of(old), new=QuestionGrade.of(new), step_seq=new.last_step.seq,
                old_version=old_version, old_marks=old_marks, new_marks=new_marks, comment=None,
                reason=None, now=now)


def record_closure(session: Session, actor: User | Account, attempt: Attempt, question: QuestionAttempt,
                   old: QuestionGrade, new: EngineAttempt, *, reason: str | None, now: datetime) -> GradeChange:
    """The row for one question of an attempt a person closed and so graded (``attempt.marks`` is
    already the new total; before, an attempt in progress had none)."""
    _, version = _version(session, question.item_version_id)
    return _row(session, actor, attempt, question, kind=GradeChangeKind.CLOSED, old=old,
                new=QuestionGrade.of(new), step_seq=new.last_step.seq, old_version=version,
                old_marks=None, new_marks=attempt.marks, comment=None, reason=reason, now=now)


# --- reading ------------------------------------------------------------------------------------


def _page(session: Session, where: list[Any], before: int | None, limit: int, offset: int) -> GradeChangePage:
    """A page of the changes ``where`` holds, and how many there are in all. One row more than
    asked is read: it says there is a next page."""
    rows = repository.changes(session, where, before=before, limit=limit + 1, offset=offset)
    shown = rows[:limit]
    changes = [_out(change, student, number) for change, student, number in shown]
    return GradeChangePage(changes=changes, limit=limit, offset=offset, total=repository.count(session, where, before),
                           next_before=shown[-1][0].id if len(rows) > limit else None)


_JOINED = frozenset({"attempt_number", "student_username", "student_display_name"})
"""Fields of :class:`GradeChangeOut` read from the attempt and the student rather than the change."""


def _out(change: GradeChange, student: User, attempt_number: int) -> GradeChangeOut:
    fields = {name: getattr(change, name) for name in GradeChangeOut.model_fields if name not in _JOINED}
    return GradeChangeOut(**fields, attempt_number=attempt_number, student_username=student.username,
                          student_display_name=student.display_name)


def quiz_changes(session: Session, principal: Principal, quiz_id: int, *, student_id: int | None = None,
                 before: int | None = None, limit: int, offset: int = 0) -> GradeChangePage:
    """The quiz's grade changes, newest first, for an instructor of its course."""
    principal.require(Scope.GRADE)
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    return _page(session, repository.quiz_where(quiz.id, student_id), before, limit, offset)


def attempt_changes(session: Session, principal: Principal, attempt_id: int, *, before: int | None = None,
                    limit: int, offset: int = 0) -> GradeChangePage:
    """An attempt's grade changes, newest first, for an instructor of its course (its owner: 403)."""
    principal.require(Scope.GRADE)
    attempt, _, staff = attempt_for(session, principal, attempt_id)
    if not staff:
        raise Forbidden("instructors of this course only")
    return _page(session, [GradeChange.attempt_id == attempt.id], before, limit, offset)
