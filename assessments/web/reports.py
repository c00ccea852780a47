"""The instructor's report pages of a quiz: results (every question's mark per attempt, with "close
and grade now" for an attempt in progress) and responses (every response as its student saw it,
with the numbers of their variant). Reached from the quiz's manage page; the same services as the
API (:mod:`assessments.reports.results`, :mod:`assessments.reports.responses`) decide who may read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from assessments.attempts.service import attempt_for
from assessments.deps import NowDep, RowId, SessionDep
from assessments.errors import DomainError
from assessments.pagination import MAX_OFFSET
from assessments.reports import results
from assessments.reports.responses import responses_page
from assessments.reports.results_schemas import MAX_REASON, AttemptFilter
from assessments.web.pages import WebPrincipal
from assessments.web.security import CheckedForm
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)

PAGE_ROWS = 50
"""Attempts per page of a report (the API and the export give more)."""
FILTERS = (("", "All attempts"), ("finished", "Finished"), ("in_progress", "In progress"),
           ("overdue", "Overdue"), ("needs_grading", "Needs grading"))
STATE_LABELS = {"todo": "not answered", "complete": "answered", "invalid": "invalid", "needsgrading": "needs grading",
                "finished": "finished", "gaveup": "not answered", "gradedwrong": "wrong",
                "gradedpartial": "partly right", "gradedright": "right", "manfinished": "commented",
                "mangaveup": "not answered", "mangrwrong": "wrong", "mangrpartial": "partly right",
                "mangrright": "right"}


def _query(request: Request) -> tuple[results.Filters, int, list[str]]:
    """The page's filters and offset, and what was wrong with them (said at their fields)."""
    problems = []
    raw = request.query_params.get("status", "")
    status = None
    if raw:
        try:
            status = AttemptFilter(raw)
        except ValueError:
            problems.append("Choose which attempts to show from the list")
    return results.Filters(status, request.query_params.get("previews") == "yes"), offset_of(request), problems


def offset_of(request: Request) -> int:
    """The page's ``offset`` (0 when it is missing, not a number, or past the last page a list has)."""
    raw = request.query_params.get("offset", "0") or "0"
    return int(raw) if raw.isdigit() and int(raw) <= MAX_OFFSET else 0


def pages_of(offset: int, total: int, link: Callable[[int], str], per_page: int = PAGE_ROWS) -> dict[str, Any]:
    """What the ``pager`` macro shows of a list of ``total`` rows from ``offset``: which rows, and
    ``link(offset)`` of the previous and next pages where there are some."""
    return {"first": offset + 1 if offset < total else 0, "last": min(offset + per_page, total), "total": total,
            "next": link(offset + per_page) if offset + per_page < total else None,
            "previous": link(max(0, offset - per_page)) if offset > 0 else None}


def _pages(filters: results.Filters, offset: int, total: int, quiz_id: int, here: str) -> dict[str, Any]:
    def link(at: int) -> str:
        query = {"status": filters.status.value if filters.status else "", "offset": at}
        if filters.previews:
            query["previews"] = "yes"
        return f"{here}?{urlencode(query)}"

    return {**pages_of(offset, total, link),
            "export": {f: f"/api/v1/quizzes/{quiz_id}/attempts/export?{urlencode(_export_query(filters, f))}"
                       for f in ("csv", "json", "xlsx")}}


def _export_query(filters: results.Filters, format_: str) -> dict[str, str]:
    query = {"format": format_}
    if filters.status:
        query["status"] = filters.status.value
    if filters.previews:
        query["previews"] = "true"
    return query


def _report(request: Request, principal: Any, session: Any, now: Any, quiz_id: int, kind: str) -> Response:
    filters, offset, problems = _query(request)
    read = results.results_page if kind == "results" else responses_page
    quiz, rows, total = read(session, principal, quiz_id, filters, now, limit=PAGE_ROWS, offset=offset)
    here = f"/quizzes/{quiz_id}/{kind}"
    pages = _pages(filters, offset, total, quiz.id, here)
    slots = sorted({q.slot for row in rows for q in row.questions})
    return page(request, f"{kind}.html", status_code=400 if problems else 200, quiz=quiz, rows=rows, slots=slots,
                filters=filters, choices=FILTERS, pages=pages, problems=problems, labels=STATE_LABELS,
                message=request.query_params.get("message"), here=here)


@router.get("/quizzes/{quiz_id}/results")
def results_report(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                   now: NowDep) -> Response:
    return _report(request, principal, session, now, quiz_id, "results")


@router.get("/quizzes/{quiz_id}/responses")
def responses_report(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                     now: NowDep) -> Response:
    return _report(request, principal, session, now, quiz_id, "responses")


@router.post("/attempts/{attempt_id}/close")
def close_attempt(attempt_id: RowId, principal: WebPrincipal, session: SessionDep, now: NowDep,
                  form: CheckedForm) -> Response:
    """Close and grade an attempt in progress now; back to the results with what happened."""
    attempt, quiz, _ = attempt_for(session, principal, attempt_id)
    reason = str(form.get("reason", "")).strip()[:MAX_REASON] or None
    try:
        closed = results.close_now(session, principal, attempt_id, reason, now)
        marks = "waits for a grader" if closed.marks is None else f"{closed.marks:g} of {closed.max_marks:g}"
        message = f"Attempt {attempt.number} closed and graded: {marks}."
    except DomainError as exc:
        if exc.status_code != 409:
            raise
        message = f"Attempt {attempt.number} was not closed: {exc.message}."
    return RedirectResponse(f"/quizzes/{quiz.id}/results?message={quote(message)}#attempt-{attempt_id}",
                            status_code=303)
