"""The results and responses reports over REST, their export, closing an attempt now, and "my attempts".

Lists are paged as every list is (:mod:`assessments.pagination`): ``limit`` and ``offset``, the
total in ``X-Total-Count``, the next and previous pages in ``Link``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from assessments.deps import ROW_ID_MAX, CurrentPrincipal, NowDep, RowId, SessionDep, SettingsDep, get_session
from assessments.grading.service import instructor_quiz
from assessments.openapi import ERROR_REF, MEANINGS
from assessments.pagination import TOTAL_HEADER, PageDep
from assessments.reports import csv_apart, exports, results
from assessments.reports.responses import every_response, responses_page
from assessments.reports.results_schemas import (
    AttemptFilter,
    AttemptResponses,
    AttemptResult,
    CloseRequest,
    CloseResult,
    MyAttempt,
)

router = APIRouter(prefix="/api/v1", tags=["reports"])

PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": {
    TOTAL_HEADER: {"description": "How many rows the list holds in all", "schema": {"type": "integer"}},
    "link": {"description": 'The next and previous pages (rel="next", rel="prev"), where there are such',
             "schema": {"type": "string"}},
}}}
"""How a counted list documents its paging headers."""
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": MEANINGS[409], "content": {"application/json": {"schema": ERROR_REF}}}}

Status = Annotated[AttemptFilter | None, Query(
    description="Only attempts that are `finished`, `in_progress` (time not up), `overdue` (open, time up) "
                "or `needs_grading` (finished, a question waiting for a grader).")]
Previews = Annotated[bool, Query(description="List staff previews too (marked `preview`); never counted.")]
StreamingSession = Annotated[Session, Depends(get_session)]
"""The request's session, kept open until a streamed reply has been sent (read only)."""


@router.get("/quizzes/{quiz_id}/attempts", response_model=list[AttemptResult], responses=PAGED)
def quiz_attempts(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep, page: PageDep,
                  status: Status = None, previews: Previews = False) -> list[AttemptResult]:
    """The results report: the quiz's attempts by student, each with every question's state and
    mark, its total and the time taken. Instructors of the course (tokens need the ``grade`` scope).
    Paged: the total in ``X-Total-Count``, the other pages in ``Link``."""
    _, rows, total = results.results_page(session, principal, quiz_id, results.Filters(status, previews), now,
                                          limit=page.limit, offset=page.offset)
    return page.counted(rows, total)


@router.get("/quizzes/{quiz_id}/responses", response_model=list[AttemptResponses], responses=PAGED)
def quiz_responses(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep, page: PageDep,
                   status: Status = None, previews: Previews = False) -> list[AttemptResponses]:
    """The responses report: the results rows with every question's response as its student saw
    it (option texts, the essay, the number with its unit) and the numbers of their variant."""
    _, rows, total = responses_page(session, principal, quiz_id, results.Filters(status, previews), now,
                                    limit=page.limit, offset=page.offset)
    return page.counted(rows, total)


@router.get("/quizzes/{quiz_id}/attempts/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/json": {}, exports.XLSX_TYPE: {}},
                             "description": "CSV (the default), a JSON array of the responses report's rows, "
                                            "or an XLSX workbook of the CSV's columns"}})
def export_attempts(quiz_id: RowId, principal: CurrentPrincipal, session: StreamingSession, now: NowDep,
                    settings: SettingsDep,
                    format: Annotated[Literal["csv", "json", "xlsx"], Query()] = "csv",  # noqa: A002 - as the grades'
                    status: Status = None, previews: Previews = False) -> StreamingResponse:
    """Every listed attempt with every question's state, mark, response and variant, streamed.

    CSV: one row per attempt, columns ``q<slot>_item``, ``_state``, ``_mark``, ``_max_mark``,
    ``_response`` and ``_variant`` per slot; text that a spreadsheet would run as a formula is
    prefixed with an apostrophe. JSON: an array of the responses report's rows. XLSX: the CSV's
    columns in a workbook, text as text cells (never run as formulas) and marks as numbers."""
    quiz, _ = instructor_quiz(session, principal, quiz_id)
    filters = results.Filters(status, previews)
    rows = every_response(session, quiz.id, filters, now)
    name = f"quiz-{quiz.id}-attempts.{format}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return StreamingResponse(exports.stream_json(rows), media_type="application/json", headers=headers)
    slots = results.quiz_slots(session, quiz.id, filters, now)
    if format == "xlsx":
        return StreamingResponse(exports.stream_xlsx(rows, slots), media_type=exports.XLSX_TYPE, headers=headers)
    timeouts = csv_apart.Timeouts(settings.statement_timeout_ms, settings.sqlite_busy_timeout_ms)
    return StreamingResponse(_csv(session, quiz.id, filters, now, slots, rows, timeouts),
                             media_type="text/csv; charset=utf-8", headers=headers)


def _csv(session: Session, quiz_id: int, filters: results.Filters, now: datetime, slots: list[int],
         rows: Iterator[AttemptResponses], timeouts: csv_apart.Timeouts) -> Iterator[str]:
    """The CSV, rendered in the pool's processes for a large quiz (:mod:`csv_apart`), else here."""
    url = csv_apart.shareable_url(session)
    if url is not None:
        ids = results.listed_ids(session, quiz_id, filters, now)
        if len(ids) >= csv_apart.APART_AT:
            return csv_apart.stream_csv(session, url, ids, slots, now, timeouts)
    return exports.stream_csv(rows, slots)


@router.post("/attempts/{attempt_id}/close", response_model=CloseResult, responses=CONFLICT)
def close_attempt(attempt_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep,
                  body: CloseRequest | None = None) -> CloseResult:
    """Close an attempt in progress and grade it now, as the time-limit sweep does once its time
    is up (instructors of the course; tokens need the ``grade`` scope). Each question's grade is
    recorded in the grade audit trail (kind ``closed``) with who and the ``reason`` given.
    409 ``attempt_finished`` for an attempt already finished."""
    return results.close_now(session, principal, attempt_id, body.reason if body else None, now)


@router.get("/me/attempts", response_model=list[MyAttempt], responses=PAGED, response_model_exclude_none=True)
def my_attempts(principal: CurrentPrincipal, session: SessionDep, now: NowDep, page: PageDep,
                quiz_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
                status: Status = None) -> list[MyAttempt]:
    """The caller's own attempts, newest first (of one quiz with ``quiz_id``); marks only where the
    quiz's review policy shows them now. Paged as every list is."""
    rows, total = results.my_attempts(session, principal, quiz_id, status, now, limit=page.limit,
                                      offset=page.offset)
    return page.counted(rows, total)
