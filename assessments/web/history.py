"""The instructor's "Grade history" pages: the audit trail of a quiz, or of one attempt, newest first.

Reached from the quiz's results page and from an attempt's grading page; the same service as the
API (:mod:`assessments.audit.service`) decides who may read it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assessments.attempts.service import attempt_for
from assessments.audit import service
from assessments.audit.schemas import DEFAULT_LIMIT
from assessments.deps import RowId, SessionDep
from assessments.errors import Invalid
from assessments.models import User
from assessments.quizzes.service import quiz_for
from assessments.web.pages import WebPrincipal
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)


def _before(request: Request) -> int | None:
    """The page's ``before`` cursor: a positive whole number, or absent."""
    raw = request.query_params.get("before")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise Invalid(f"before: expected a positive whole number (a change's id), not {raw!r}")
    return int(raw)


@router.get("/quizzes/{quiz_id}/grade-history")
def quiz_history(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    history = service.quiz_changes(session, principal, quiz_id, before=_before(request), limit=DEFAULT_LIMIT)
    quiz, _ = quiz_for(session, principal, quiz_id)
    return page(request, "grade_history.html", quiz=quiz, attempt=None, student=None, history=history,
                here=f"/quizzes/{quiz_id}/grade-history")


@router.get("/attempts/{attempt_id}/grade-history")
def attempt_history(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    history = service.attempt_changes(session, principal, attempt_id, before=_before(request), limit=DEFAULT_LIMIT)
    attempt, quiz, _ = attempt_for(session, principal, attempt_id)
    return page(request, "grade_history.html", quiz=quiz, attempt=attempt, student=session.get(User, attempt.user_id),
                history=history, here=f"/attempts/{attempt_id}/grade-history")
