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
from assessments.audit.service import QuestionGrade, record_manual_grade, record_regrade
from assessments.auth.access import course_role, require_instructor
from assessments.auth.tokens import Scope
from assessments.bank.service import variant_of
from assessments.deps import Account, Principal
from assessments.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from assessments.grading import repository
from assessments.grading.marking import fraction_of_mark
from assessments.grading.schemas import (
    ManualGradeRequest,
    ManualGradeResult,
    QuizGrades,
    RegradedAttempt,
    RegradedQuestion,
    RegradedStudent,
    RegradeProblem,
    RegradeResult,
    StudentGrade,
)
from assessments.models import (
    Attempt,
    AttemptState,
    Course,
    CourseRole,
    Item,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    Step,
    User,
)
from assessments.quizzes.schemas import GradingMethod
from assessments.quizzes.service import quiz_for, quiz_out, settings_of
from engine.attempts import Action, AttemptError
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.variants import Variant

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


def grade(session: Session, principal: Principal, attempt_id: int, slot: int,
          body: ManualGradeRequest, now: datetime) -> ManualGradeResult:
    """Append a person's grade (a fraction, rubric selections, a comment) to a slot of a finished
    attempt, and sum the attempt's marks again. The same grade twice appends nothing."""
    attempt = _gradable_attempt(session, principal, attempt_id)
    if attempt.state != AttemptState.FINISHED:
        raise Conflict("the attempt is still in progress: grade it once it has been submitted",
                       code="attempt_in_progress")
    questions = [(q.row, q.qa) for q in _questions(session, attempt)]
    found = next(((row, qa) for row, qa in questions if row.slot == slot), None)
    if found is None:
        raise NotFound(f"no slot {slot} in attempt {attempt_id}")
    row, qa = found
    before, old_marks = QuestionGrade.of(qa), attempt.marks
    fraction = body.fraction
    if body.mark is not None:
        if fraction is not None:
            raise Invalid("give a mark or a fraction, not both", code="invalid_grade")
        fraction = fraction_of_mark(body.mark, qa)
    try:
        outcome = qa.process(Action.MANUAL_GRADE, actor=str(principal.user.id), at=now,
                             fraction=fraction, rubric=body.rubric, comment=body.comment)
    except AttemptError as exc:
        # Every refusal here is about the grade given (range, rubric, nothing given): the
        # attempt is finished, so every question in it is.
        raise Invalid(str(exc), code="invalid_grade") from exc
    if outcome.step is not None:
        append_steps(session, row, [outcome.step], principal.user.id)
    attempt.marks, waiting = totals(questions)
    if outcome.step is not None:
        record_manual_grade(session, principal.user, attempt, row, before, qa, outcome.step,
                            old_marks=old_marks, reason=(body.reason or "").strip() or None, now=now)
        grade_changed(session, attempt, now)
    return ManualGradeResult(
        attempt_id=attempt.id, slot=slot, seq=qa.last_step.seq, recorded=outcome.kept,
        state=qa.state.value, fraction=qa.fraction, mark=qa.mark, max_mark=row.max_mark,
        marks=attempt.marks, max_marks=attempt.max_marks, needs_grading=waiting,
    )


# --- regrading ----------------------------------------------------------------------------


@dataclass
class _Replay:
    question: _Question
    version: ItemVersion
    variant: Variant
    shuffle: bool
    new: EngineAttempt


@dataclass
class _Plan:
    """One attempt's regrade: its replays and the marks they lead to."""

    attempt: Attempt
    replays: list[_Replay]
    new_marks: float | None


def _target_version(row: QuestionAttempt, given: ItemVersion | None,
                    pins: dict[int, ItemVersion]) -> ItemVersion | None:
    """The version the quiz pins for the question's item, if it is not the one given."""
    target = pins.get(given.item_id) if given is not None else None
    return None if target is None or target.id == row.item_version_id else target


def _item_key(session: Session, version: ItemVersion) -> str:
    item = session.get(Item, version.item_id)
    assert item is not None
    return item.key


def _plan(session: Session, attempt: Attempt, pins: dict[int, ItemVersion],
          problems: list[RegradeProblem]) -> _Plan:
    questions = _questions(session, attempt)
    replays = []
    for question in questions:
        version = _target_version(question.row, session.get(ItemVersion, question.row.item_version_id), pins)
        if version is None:
            continue
        shuffle = bool(question.row.variant.get("shuffle", True))
        try:
            variant = variant_of(version, question.row.seed, shuffle=shuffle, shown=question.row.variant.get("order"))
            replays.append(_Replay(question, version, variant, shuffle, question.qa.regrade(variant)))
        except (AttemptError, DomainError, ValueError) as exc:
            problems.append(RegradeProblem(
                attempt_id=attempt.id, slot=question.row.slot, item=_item_key(session, version),
                new_version=version.number, message=str(exc)))
    replayed = {r.question.row.id: r.new for r in replays}
    marks, _ = totals([(q.row, replayed.get(q.row.id, q.qa)) for q in questions])
    return _Plan(attempt, replays, marks)


def _commit(session: Session, actor: User | Account, plan: _Plan, now: datetime) -> None:
    """Replace each replayed question attempt by a new one; steps are never changed. Each
    replacement gets its row in the grade audit trail."""
    for replay in plan.replays:
        replay.question.row.replaced_at = now
    session.flush()  # one current question attempt per slot: the old ones step aside first
    for replay in plan.replays:
        old = replay.question.row
        row = QuestionAttempt(
            attempt_id=old.attempt_id, slot=old.slot, item_version_id=replay.version.id,
            seed=old.seed, variant={**replay.variant.to_json(), "shuffle": replay.shuffle},
            behaviour=old.behaviour, behaviour_options=old.behaviour_options, max_mark=old.max_mark,
            flagged=old.flagged)
        session.add(row)
        session.flush()
        # A replayed step keeps its actor (the engine's actor is the user id as text).
        actors = {s.data.get("actor"): s.actor_id for s in replay.question.steps}
        for step in replay.new.steps:
            append_steps(session, row, [step], actors.get(step.actor))
        record_regrade(session, actor, plan.attempt, replaced=old, old=replay.question.qa, replacement=row,
                       new=replay.new, old_marks=plan.attempt.marks, new_marks=plan.new_marks, now=now)
    plan.attempt.marks = plan.new_marks
    grade_changed(session, plan.attempt, now)


def _diff(session: Session, plan: _Plan, old_marks: float | None) -> RegradedAttempt:
    questions = []
    for replay in plan.replays:
        old, new = replay.question.qa, replay.new
        pinned = session.get(ItemVersion, replay.question.row.item_version_id)
        assert pinned is not None
        questions.append(RegradedQuestion(
            slot=replay.question.row.slot, item=_item_key(session, replay.version),
            old_version=pinned.number, new_version=replay.version.number,
            old_state=old.state.value, new_state=new.state.value,
            old_fraction=old.fraction, new_fraction=new.fraction, old_mark=old.mark, new_mark=new.mark,
        ))
    return RegradedAttempt(attempt_id=plan.attempt.id, number=plan.attempt.number, old_marks=old_marks,
                           new_marks=plan.new_marks, max_marks=plan.attempt.max_marks,
                           questions=questions)


def regrade(session: Session, principal: Principal, quiz_id: int, *, dry_run: bool,
            now: datetime) -> RegradeResult:
    """Replay every finished attempt's questions whose item version is not the one the quiz pins
    (its instructors moved the quiz to another version: :func:`assessments.quizzes.service.update_pins`).

    A dry run changes nothing and reports what a commit would do. A commit with any question
    that cannot be replayed (a fixed item that no longer fits its stored behaviour or
    responses) is refused whole, so a quiz is never half regraded.
    """
    quiz, _ = instructor_quiz(session, principal, quiz_id)
    problems: list[RegradeProblem] = []
    plans = []
    pins = repository.pinned_versions(session, quiz.id)
    for attempt_id in repository.stale_attempt_ids(session, quiz.id):
        # Committing locks each attempt (PostgreSQL), so a grade given meanwhile is not lost.
        attempt = attempts.attempt(session, attempt_id, lock=not dry_run)
        if attempt is None:
            continue
        plan = _plan(session, attempt, pins, problems)
        if plan.replays:
            plans.append(plan)
    if problems and not dry_run:
        raise Invalid("the regrade was refused; nothing was changed",
                      details=[p.model_dump() for p in problems], code="regrade_impossible")
    students: dict[int, RegradedStudent] = {}
    for plan in plans:
        old_marks = plan.attempt.marks
        if not dry_run:
            _commit(session, principal.user, plan, now)
        user = session.get(User, plan.attempt.user_id)
        assert user is not None
        student = students.setdefault(user.id, RegradedStudent(
            user_id=user.id, username=user.username, display_name=user.display_name, attempts=[]))
        student.attempts.append(_diff(session, plan, old_marks))
    for student in students.values():
        student.attempts.sort(key=lambda a: a.number)
    return RegradeResult(
        quiz_id=quiz.id, dry_run=dry_run, committed=not dry_run and bool(plans), at=now,
        questions=sum(len(p.replays) for p in plans),
        skipped_in_progress=repository.in_progress_count(session, quiz.id),
        students=sorted(students.values(), key=lambda s: s.username), problems=problems,
    )


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
