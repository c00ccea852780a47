"""The course gradebook: every student with a grade at every quiz of the course, built from rows.

Two queries read tuples (the students; each finished, counted attempt's quiz, student and total
in attempt order) and the cells are plain dicts: at 2,000 students × 10 quizzes, building 20,000
pydantic cells, then validating them again as the response, cost more than the queries and grew
faster than the data (the garbage collector walked every object made). The JSON keeps the shape
of :class:`~assessments.grading.schemas.Gradebook`; the CSV is streamed a block of students at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from assessments.auth.access import course_by_slug, require_instructor
from assessments.auth.tokens import Scope
from assessments.bulk import collector_paused
from assessments.deps import Principal
from assessments.grading.service import quiz_grade
from assessments.marks import unsigned
from assessments.models import Attempt, AttemptState, Course, CourseRole, Enrolment, Quiz, User
from assessments.quizzes.service import quiz_out, settings_of

CSV_BLOCK = 500
"""Students per chunk of the streamed CSV."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class GradebookRows:
    """The gradebook as rows: the quizzes (id, title, grading method, max marks) and, per
    student (id, username, display name), a cell per quiz (attempts, pending, grade)."""

    course: str
    title: str
    """The course's title (``course`` is its slug)."""
    quizzes: list[tuple[int, str, str, float]]
    students: list[tuple[int, str, str, list[tuple[int, int, float | None]]]]


def gradebook_rows(session: Session, principal: Principal, course_slug: str) -> GradebookRows:
    principal.require(Scope.GRADE)
    course = course_by_slug(session, course_slug)
    require_instructor(session, principal, course)
    with collector_paused():
        return _rows(session, course)


def _rows(session: Session, course: Course) -> GradebookRows:
    quizzes = list(session.scalars(select(Quiz).where(Quiz.course_id == course.id).order_by(Quiz.id)))
    methods = [settings_of(q).grading_method for q in quizzes]
    column = {q.id: n for n, q in enumerate(quizzes)}
    marks: dict[int, list[list[float | None]]] = {}
    students = session.execute(
        select(User.id, User.username, User.display_name).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.course_id == course.id, Enrolment.role == CourseRole.STUDENT).order_by(User.username)).all()
    for user_id, *_ in students:
        marks[user_id] = [[] for _ in quizzes]
    rows = session.execute(
        select(Attempt.quiz_id, Attempt.user_id, Attempt.marks)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .join(Enrolment, and_(Enrolment.user_id == Attempt.user_id, Enrolment.course_id == Quiz.course_id,
                              Enrolment.role == CourseRole.STUDENT))
        .where(Quiz.course_id == course.id, Attempt.state == AttemptState.FINISHED, Attempt.preview.is_(False))
        .order_by(Attempt.quiz_id, Attempt.user_id, Attempt.number))
    for quiz_id, user_id, mark in rows:
        marks[user_id][column[quiz_id]].append(mark)
    out = []
    for user_id, username, display_name in students:
        cells = []
        for method, taken in zip(methods, marks[user_id], strict=True):
            cells.append((len(taken), sum(1 for m in taken if m is None), unsigned(quiz_grade(method, taken))))
        out.append((user_id, username, display_name, cells))
    return GradebookRows(
        course=course.slug, title=course.title,
        quizzes=[(q.id, q.title, str(m.value), quiz_out(q, course).max_marks) for q, m in zip(quizzes, methods,
                                                                                              strict=True)],
        students=out)


def gradebook_json(book: GradebookRows) -> dict[str, Any]:
    """The :class:`~assessments.grading.schemas.Gradebook` document, as plain data."""
    ids = [q[0] for q in book.quizzes]
    return {
        "course": book.course,
        "quizzes": [{"id": i, "title": t, "grading_method": m, "max_marks": x} for i, t, m, x in book.quizzes],
        "students": [{"user_id": u, "username": name, "display_name": shown,
                      "grades": [{"quiz_id": q, "attempts": a, "pending": p, "grade": g}
                                 for q, (a, p, g) in zip(ids, cells, strict=True)]}
                     for u, name, shown, cells in book.students],
    }


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return format(round(value, 6) + 0.0, "f").rstrip("0").rstrip(".")


def gradebook_csv(book: GradebookRows) -> Iterator[str]:
    """``username, display_name`` and per quiz its grade (the header names the quiz, its id and its
    maximum); a cell is empty where the student has no grade (no attempt, or the one that counts
    awaits a grader). Yields a block of students at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("username", "display_name", *(_cell(f"{title} [quiz {quiz_id}] (out of {_number(top)})")
                                                   for quiz_id, title, _, top in book.quizzes)))
    for n, (_, username, display_name, cells) in enumerate(book.students, start=1):
        writer.writerow((_cell(username), _cell(display_name), *(_number(grade) for _, _, grade in cells)))
        if n % CSV_BLOCK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
