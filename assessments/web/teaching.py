"""The instructor's pages for a running quiz: its attempts, grading by rubric (an attempt at a
time here, a question at a time in :mod:`assessments.web.grading_queue`), regrade with the
dry-run diff, statistics with charts, and grade export."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from assessments.attempts.review import attempt_view
from assessments.attempts.service import attempt_for, engine_attempts
from assessments.auth.access import course_role, require_instructor
from assessments.deps import NowDep, RowId, SessionDep
from assessments.errors import DomainError, Forbidden, NotFound
from assessments.grading import overrides
from assessments.grading import regrade as regrading
from assessments.grading.marking import right_answer, shown_response
from assessments.grading.schemas import ClearGradeRequest
from assessments.models import Attempt, CourseRole, User
from assessments.quizzes.service import quiz_for, quiz_out
from assessments.web.gradebook import router as gradebook_router
from assessments.web.grading_queue import GradeForm, read_grade, save_grade
from assessments.web.grading_queue import router as queue_router
from assessments.web.history import router as history_router
from assessments.web.pages import WebPrincipal
from assessments.web.reports import PAGE_ROWS, offset_of, pages_of
from assessments.web.security import CheckedForm
from assessments.web.statistics import router as statistics_router
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)
router.include_router(history_router)  # the "Grade history" pages
router.include_router(queue_router)  # the "Grade by question" pages
router.include_router(statistics_router)  # the statistics page
router.include_router(gradebook_router)  # the course gradebook


def _instructor_quiz(session: Any, principal: Any, quiz_id: int) -> tuple[Any, Any]:
    quiz, course = quiz_for(session, principal, quiz_id)
    require_instructor(session, principal, course)
    return quiz, course


@router.get("/quizzes/{quiz_id}/manage")
def manage_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    from assessments.courses.service import courses_for
    from assessments.quizzes.service import student_attempts

    quiz, course = _instructor_quiz(session, principal, quiz_id)
    offset = offset_of(request)
    total = session.scalar(select(func.count(Attempt.id)).where(Attempt.quiz_id == quiz.id)) or 0
    rows = session.execute(select(Attempt, User).join(User, User.id == Attempt.user_id)
                           .where(Attempt.quiz_id == quiz.id).order_by(User.username, Attempt.number)
                           .limit(PAGE_ROWS).offset(offset)).all()
    pages = pages_of(offset, total, lambda at: f"/quizzes/{quiz.id}/manage?offset={at}")
    teaching = [c for c in courses_for(session, principal)
                if principal.is_admin or course_role(session, principal, c.id) == CourseRole.INSTRUCTOR]
    return page(request, "manage.html", quiz=quiz, course=course, out=quiz_out(quiz, course), rows=rows,
                pages=pages, teaching=teaching, attempted=student_attempts(session, quiz.id) > 0,
                message=request.query_params.get("message"))


def _grade_page(request: Request, session: Any, principal: Any, attempt_id: int, now: Any, *,
                entered: dict[int, GradeForm] | None = None, status_code: int = 200) -> Response:
    attempt, quiz, staff = attempt_for(session, principal, attempt_id)
    if not staff:
        raise Forbidden("instructors of this course only")
    student = session.get(User, attempt.user_id)
    questions = engine_attempts(session, attempt)
    view = attempt_view(session, attempt, quiz, staff=True, now=now, questions=questions)
    rubrics = {row.slot: getattr(qa.item, "rubric", None) for row, qa in questions if qa.item.type_name == "essay"}
    words = {row.slot: (qa.item.type_name, shown_response(qa), right_answer(qa)) for row, qa in questions}
    return page(request, "grade.html", status_code=status_code, view=view, quiz=quiz, student=student,
                rubrics=rubrics, words=words, forms=entered or {}, message=request.query_params.get("message"))


@router.get("/attempts/{attempt_id}/grade")
def grade_page(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
               now: NowDep) -> Response:
    return _grade_page(request, session, principal, attempt_id, now)


@router.post("/attempts/{attempt_id}/slots/{slot}/grade")
def grade_slot(attempt_id: RowId, slot: RowId, request: Request, principal: WebPrincipal,
               session: SessionDep, now: NowDep, form: CheckedForm) -> Response:
    attempt, _, staff = attempt_for(session, principal, attempt_id)
    if not staff:
        raise Forbidden("instructors of this course only")
    qa = next((qa for row, qa in engine_attempts(session, attempt) if row.slot == slot), None)
    if qa is None:
        raise NotFound(f"no question {slot} in attempt {attempt_id}")
    rubric = getattr(qa.item, "rubric", None)
    given = save_grade(session, principal, attempt_id, slot,
                       read_grade(form, [(c.id, c.title) for c in rubric.criteria] if rubric else None, qa.max_mark),
                       now)
    if given.request is None:
        return _grade_page(request, session, principal, attempt_id, now, entered={slot: given}, status_code=400)
    return RedirectResponse(f"/attempts/{attempt_id}/grade?message={quote('Grade saved.')}#q{slot}",
                            status_code=303)


@router.get("/quizzes/{quiz_id}/regrade")
def regrade_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                 now: NowDep) -> Response:
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    result = regrading.regrade(session, principal, quiz_id, dry_run=True, now=now)
    return page(request, "regrade.html", quiz=quiz, result=result, message=request.query_params.get("message"))


@router.post("/quizzes/{quiz_id}/regrade")
def regrade_commit(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                   now: NowDep, _form: CheckedForm) -> Response:
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    result = regrading.regrade(session, principal, quiz_id, dry_run=False, now=now)
    return page(request, "regrade.html", quiz=quiz, result=result)


@router.post("/attempts/{attempt_id}/slots/{slot}/clear-grade")
def clear_grade(attempt_id: RowId, slot: RowId, principal: WebPrincipal, session: SessionDep, now: NowDep,
                _form: CheckedForm) -> Response:
    """The regrade page's "Clear the override" on one row: back to that page, which lists it no more."""
    attempt, _, staff = attempt_for(session, principal, attempt_id)
    if not staff:
        raise Forbidden("instructors of this course only")
    try:
        done = overrides.clear(session, principal, attempt_id, slot, ClearGradeRequest(), now)
        mark = "waiting for a grader" if done.mark is None else f"{float(done.mark):.4g} / {done.max_mark:g}"
        message = f"Override cleared: question {slot} of attempt {attempt_id} has the engine's mark again ({mark})."
    except DomainError as exc:
        message = exc.message
    return RedirectResponse(f"/quizzes/{attempt.quiz_id}/regrade?message={quote(message)}", status_code=303)
