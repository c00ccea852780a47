"""The audit trail of grades, read by the course's instructors: per quiz and per attempt.

Served under grading's ``/api/v1`` prefix: :mod:`assessments.grading.endpoints` includes this router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assessments.audit import service
from assessments.audit.schemas import DEFAULT_LIMIT, MAX_LIMIT, GradeChangePage
from assessments.deps import ROW_ID_MAX, CurrentPrincipal, RowId, SessionDep

router = APIRouter(tags=["grading"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page, at most {MAX_LIMIT}.")]
Before = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX,
                                     description="Only changes older than this id: a page's `next_before`.")]


@router.get("/quizzes/{quiz_id}/grade-changes", response_model=GradeChangePage)
def quiz_grade_changes(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                       student_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None, before: Before = None,
                       limit: Limit = DEFAULT_LIMIT) -> GradeChangePage:
    """Every change to a question's grade in the quiz, newest first: manual grades, overrides,
    comments and committed regrades, with who made it, the old and new fraction, mark and
    attempt total, and the comment and reason. ``student_id`` keeps one student's."""
    return service.quiz_changes(session, principal, quiz_id, student_id=student_id, before=before, limit=limit)


@router.get("/attempts/{attempt_id}/grade-changes", response_model=GradeChangePage)
def attempt_grade_changes(attempt_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                          before: Before = None, limit: Limit = DEFAULT_LIMIT) -> GradeChangePage:
    """The changes to the grades of one attempt's questions, newest first (instructors only: the
    student sees the comments in the attempt's review, not this trail)."""
    return service.attempt_changes(session, principal, attempt_id, before=before, limit=limit)
