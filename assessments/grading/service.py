"""Grading: a person's grade for a question, regrading after an item is fixed, and quiz grades.

All of it goes through the engine's step history. A manual grade is one more step appended to
the slot's question attempt (:data:`engine.attempts.Action.MANUAL_GRADE`). A regrade replays a
question attempt's steps against the version its quiz now pins for the item, with the same seed
(:meth:`engine.attempts.QuestionAttempt.regrade`); committing it never touches a step: the old
question attempt is marked ``replaced_at`` (kept for audit) and a new one, on the pinned version,
holds the replayed steps. After either, the attempt's marks are summed again, and stay
None while any question still needs a grader, and the change gets its row in the grade audit
trail (:mod:`assessments.audit.service`) in the same transaction. Only instructors of the quiz's course may do any
of this, with a token that has the ``grade`` scope: others in the course get 403 (a classmate's
attempt is 404, as when reading it), everyone else 404.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from assessments.attempts import repository as attempts
from assessments.attempts.service import append_steps, engine_attempt, grade_changed, totals
from assessments.audit.service import QuestionGrade, record_manual_grade
from assessments.auth.access import course_role, require_instructor
from assessments.auth.tokens import Scope
from assessments.deps import Principal
from assessments.errors import Conflict, Forbidden, Invalid, NotFound
from assessments.grading import repository
from assessments.grading.marking import fraction_of_mark
from assessments.grading.schemas import (
    ManualGradeRequest,
    ManualGradeResult,
    QuizGrades,
    StudentGrade,
)
from assessments.models import (
    Attempt,
    AttemptState,
    Course,
    CourseRole,
    QuestionAttempt,
    Quiz,
    Step,
)
from assessments.quizzes.schemas import GradingMethod
from assessments.quizzes.service import quiz_for, quiz_out, settings_of
from engine.attempts import Action, AttemptError
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.attempts import Step as EngineStep

# --- access -------------------------------------------------------------------------------


def instructor_quiz(session: Session, principal: Principal, quiz_id: int) -> tuple[Quiz, Course]:
    """The quiz, for an instructor of its course (students of the course: 403; others: 404)."""
    principal.require(Scope.GRADE)
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    return quiz, course


def _gradable_attempt(session: Session, principal: Principal, attempt_id: int) -> Attempt:
    """The attempt, for an instructor of its course. Its owner gets 403; to anyone else, a
    classmate included, it does not exist (404), as when reading it."""
    principal.require(Scope.GRADE)
    attempt = attempts.attempt(session, attempt_id, lock=True)
    quiz = session.get(Quiz, attempt.quiz_id) if attempt is not None else None
    role = course_role(session, principal, quiz.course_id) if quiz is not None else None
    if attempt is None or role is None or (
            role != CourseRole.INSTRUCTOR and attempt.user_id != principal.user.id):
        raise NotFound(f"no attempt {attempt_id}")
    if role != CourseRole.INSTRUCTOR:
        raise Forbidden("instructors of this course only")
    return attempt


# --- rebuilding ---------------------------------------------------------------------------


@dataclass
class _Question:
    """A current question attempt: its row, its step rows and the engine's view of them."""

    row: QuestionAttempt
    steps: list[Step]
    qa: EngineAttempt


def _questions(session: Session, attempt: Attempt) -> list[_Question]:
    rows = attempts.question_attempts(session, attempt.id)
    steps = attempts.steps_of(session, [r.id for r in rows])
    return [_Question(row, steps[row.id], engine_attempt(session, row, [s.data for s in steps[row.id]]))
            for row in rows]


# --- manual grading -----------------------------------------------------------------------


@dataclass
class HandGraded:
    """One question of a finished attempt that a person grades (or clears): the attempt, its
    questions as the engine replays them, and the grade it had before."""

    attempt: Attempt
    row: QuestionAttempt
    qa: EngineAttempt
    questions: list[tuple[QuestionAttempt, EngineAttempt]]
    before: QuestionGrade
    old_marks: float | None

    @classmethod
    def find(cls, session: Session, principal: Principal, attempt_id: int, slot: int, *,
             in_progress: str) -> HandGraded:
        """The slot's question; 409 ``attempt_in_progress`` (saying ``in_progress``) before the
        attempt is submitted, 404 for a slot it does not have."""
        attempt = _gradable_attempt(session, principal, attempt_id)
        if attempt.state != AttemptState.FINISHED:
            raise Conflict(in_progress, code="attempt_in_progress")
        questions = [(q.row, q.qa) for q in _questions(session, attempt)]
        found = next(((row, qa) for row, qa in questions if row.slot == slot), None)
        if found is None:
            raise NotFound(f"no slot {slot} in attempt {attempt_id}")
        row, qa = found
        return cls(attempt, row, qa, questions, QuestionGrade.of(qa), attempt.marks)

    def settle(self, session: Session, principal: Principal, step: EngineStep | None, *, reason: str | None,
               now: datetime) -> ManualGradeResult:
        """Append the person's step (None: nothing new), sum the attempt's marks again, and record
        the change in the audit trail and for the listeners."""
        attempt, row, qa = self.attempt, self.row, self.qa
        if step is not None:
            append_steps(session, row, [step], principal.user.id)
        attempt.marks, waiting = totals(self.questions)
        if step is not None:
            record_manual_grade(session, principal.user, attempt, row, self.before, qa, step,
                                old_marks=self.old_marks, reason=(reason or "").strip() or None, now=now)
            grade_changed(session, attempt, now)
        return ManualGradeResult(
            attempt_id=attempt.id, slot=row.slot, seq=qa.last_step.seq, recorded=step is not None,
            state=qa.state.value, fraction=qa.fraction, mark=qa.mark, max_mark=row.max_mark,
            marks=attempt.marks, max_marks=attempt.max_marks, needs_grading=waiting,
        )


def grade(session: Session, principal: Principal, attempt_id: int, slot: int,
          body: ManualGradeRequest, now: datetime) -> ManualGradeResult:
    """Append a person's grade (a fraction, rubric selections, a comment) to a slot of a finished
    attempt, and sum the attempt's marks again. The same grade twice appends nothing."""
    graded = HandGraded.find(session, principal, attempt_id, slot,
                             in_progress="the attempt is still in progress: grade it once it has been submitted")
    fraction = body.fraction
    if body.mark is not None:
        if fraction is not None:
            raise Invalid("give a mark or a fraction, not both", code="invalid_grade")
        fraction = fraction_of_mark(body.mark, graded.qa)
    try:
        outcome = graded.qa.process(Action.MANUAL_GRADE, actor=str(principal.user.id), at=now,
                                    fraction=fraction, rubric=body.rubric, comment=body.comment)
    except AttemptError as exc:
        # Every refusal here is about the grade given (range, rubric, nothing given): the
        # attempt is finished, so every question in it is.
        raise Invalid(str(exc), code="invalid_grade") from exc
    return graded.settle(session, principal, outcome.step, reason=body.reason, now=now)


# --- grades -------------------------------------------------------------------------------


def quiz_grade(method: GradingMethod, marks: Sequence[float | None]) -> float | None:
    """The quiz grade from the finished attempts' marks in attempt order (None: awaiting a grader).

    Moodle's ``quiz_calculate_best_grade``: highest and average leave out attempts awaiting a
    grader; first and last are that attempt's marks, so None while it awaits one (a grade that
    would silently become another attempt's is not the first or the last).
    """
    graded = [m for m in marks if m is not None]
    if method == GradingMethod.FIRST:
        return marks[0] if marks else None
    if method == GradingMethod.LAST:
        return marks[-1] if marks else None
    if not graded:
        return None
    if method == GradingMethod.AVERAGE:
        return statistics.fmean(graded)
    return max(graded)


def _cell(method: GradingMethod, marks: Sequence[float | None]) -> tuple[int, int, float | None]:
    pending = sum(1 for m in marks if m is None)
    return len(marks), pending, quiz_grade(method, marks)


def quiz_grades(session: Session, principal: Principal, quiz_id: int) -> QuizGrades:
    """One row per student of the course, by username."""
    quiz, course = instructor_quiz(session, principal, quiz_id)
    method = settings_of(quiz).grading_method
    marks = repository.finished_marks(session, course.id, quiz.id)
    rows = []
    for user in repository.students(session, course.id):
        count, pending, value = _cell(method, marks.get((quiz.id, user.id), []))
        rows.append(StudentGrade(user_id=user.id, username=user.username,
                                 display_name=user.display_name, attempts=count, pending=pending,
                                 grade=value))
    return QuizGrades(quiz_id=quiz.id, title=quiz.title, grading_method=method,
                      max_marks=quiz_out(quiz, course).max_marks, students=rows)
