"""Every query of grading: stale question attempts, a quiz's enrolled students, finished attempts."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from assessments.models import (
    Attempt,
    AttemptState,
    CourseRole,
    Enrolment,
    ItemVersion,
    QuestionAttempt,
    Quiz,
    QuizItem,
    User,
)


def stale_attempt_ids(session: Session, quiz_id: int) -> list[int]:
    """Finished attempts of the quiz with a current question attempt whose item version is not
    the version the quiz now pins for its item."""
    given = aliased(ItemVersion)
    query = (
        select(Attempt.id)
        .join(QuestionAttempt, QuestionAttempt.attempt_id == Attempt.id)
        .join(given, given.id == QuestionAttempt.item_version_id)
        .join(QuizItem, and_(QuizItem.quiz_id == Attempt.quiz_id, QuizItem.item_id == given.item_id))
        .where(Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.FINISHED,
               QuestionAttempt.replaced_at.is_(None), QuizItem.item_version_id != QuestionAttempt.item_version_id)
        .distinct()
        .order_by(Attempt.id)
    )
    return list(session.scalars(query))


def pinned_versions(session: Session, quiz_id: int) -> dict[int, ItemVersion]:
    """The version the quiz pins for each of its items (the newest, if two sections differ)."""
    out: dict[int, ItemVersion] = {}
    rows = session.scalars(select(ItemVersion).join(QuizItem, QuizItem.item_version_id == ItemVersion.id)
                           .where(QuizItem.quiz_id == quiz_id).order_by(ItemVersion.number))
    for version in rows:
        out[version.item_id] = version
    return out


def in_progress_count(session: Session, quiz_id: int) -> int:
    return session.scalar(select(func.count(Attempt.id)).where(
        Attempt.quiz_id == quiz_id, Attempt.state == AttemptState.IN_PROGRESS)) or 0


def students(session: Session, course_id: int) -> list[User]:
    """The course's students, by username."""
    return list(session.scalars(
        select(User).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.course_id == course_id, Enrolment.role == CourseRole.STUDENT)
        .order_by(User.username)))


def quizzes_of(session: Session, course_id: int) -> list[Quiz]:
    return list(session.scalars(select(Quiz).where(Quiz.course_id == course_id).order_by(Quiz.id)))


def finished_marks(session: Session, course_id: int,
                   quiz_id: int | None = None) -> dict[tuple[int, int], list[float | None]]:
    """Each (quiz, student)'s finished attempts' marks in attempt order (None: awaiting a grader),
    for the course's students, at every quiz of the course or at one."""
    query = (
        select(Attempt.quiz_id, Attempt.user_id, Attempt.marks)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .join(Enrolment, and_(Enrolment.user_id == Attempt.user_id,
                              Enrolment.course_id == Quiz.course_id,
                              Enrolment.role == CourseRole.STUDENT))
        .where(Quiz.course_id == course_id, Attempt.state == AttemptState.FINISHED)
        .order_by(Attempt.quiz_id, Attempt.user_id, Attempt.number)
    )
    if quiz_id is not None:
        query = query.where(Attempt.quiz_id == quiz_id)
    out: dict[tuple[int, int], list[float | None]] = {}
    for row_quiz, user_id, marks in session.execute(query):
        out.setdefault((row_quiz, user_id), []).append(marks)
    return out
