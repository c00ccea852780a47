"""The audit trail of grades, read by the course's instructors: per quiz and per attempt.

Served under grading's ``/api/v1`` prefix: :mod:`assessments.grading.endpoints` includes this router.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from assessments.audit import service
from assessments.audit.schemas import DEFAULT_LIMIT, MAX_LIMIT, GradeChangePage
from assessments.deps import ROW_ID_MAX, CurrentPrincipal, RowId, SessionDep
from assessments.pagination import MAX_OFFSET, TOTAL_HEADER, Page

router = APIRouter(tags=["grading"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page, at most {MAX_LIMIT}.")]
Before = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX,
                                     description="Only changes older than this id: a page's `next_before`.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Changes to skip.")]
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": {
    TOTAL_HEADER: {"description": "How many changes match in all", "schema": {"type": "integer"}},
    "link": {"description": 'The next and previous pages (rel="next", rel="prev"), where there are such',
             "schema": {"type": "string"}}}}}


def _paged(found: GradeChangePage, request: Request, response: Response) -> GradeChangePage:
    """The page with the paging headers every list gives (:meth:`assessments.pagination.Page.counted`)."""
    Page(found.limit, found.offset, request.url, response).counted(found.changes, found.total)
    return found


@router.get("/quizzes/{quiz_id}/grade-changes", response_model=GradeChangePage, responses=PAGED)
def quiz_grade_changes(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, request: Request,
                       response: Response, student_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
                       before: Before = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> GradeChangePage:
    """Every change to a question's grade in the quiz, newest first: manual grades, overrides,
    comments, committed regrades and attempts closed by hand, with who made it, the old and new fraction, mark and
    attempt total, and the comment and reason. ``student_id`` keeps one student's. Paged as every
    list is (``limit``, ``offset``, ``X-Total-Count``, ``Link``), or by ``before``."""
    return _paged(service.quiz_changes(session, principal, quiz_id, student_id=student_id, before=before,
                                       limit=limit, offset=offset), request, response)


@router.get("/attempts/{attempt_id}/grade-changes", response_model=GradeChangePage, responses=PAGED)
def attempt_grade_changes(attempt_id: RowId, principal: CurrentPrincipal, session: SessionDep, request: Request,
                          response: Response, before: Before = None, limit: Limit = DEFAULT_LIMIT,
                          offset: Offset = 0) -> GradeChangePage:
    """The changes to the grades of one attempt's questions, newest first (instructors only: the
    student sees the comments in the attempt's review, not this trail)."""
    return _paged(service.attempt_changes(session, principal, attempt_id, before=before, limit=limit,
                                          offset=offset), request, response)
