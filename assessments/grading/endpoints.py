"""Manual grading, regrade, grades and the gradebook: instructors of the course only."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from assessments.audit.endpoints import router as audit_router
from assessments.bulk import collector_paused
from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep
from assessments.grading import gradebook, overrides, queue, regrade, service
from assessments.grading.queue_schemas import QueueState, ResponseQueue
from assessments.grading.schemas import (
    ClearGradeRequest,
    Gradebook,
    GradeFormat,
    ManualGradeRequest,
    ManualGradeResult,
    QuizGrades,
    RegradeResult,
)
from assessments.pagination import PageDep

router = APIRouter(prefix="/api/v1", tags=["grading"])

CSV_HEADER = ("username", "display_name", "attempts", "pending", "grade", "max_marks")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@router.post("/attempts/{attempt_id}/slots/{slot}/grade", response_model=ManualGradeResult)
def grade_question(attempt_id: RowId, slot: RowId, body: ManualGradeRequest, principal: CurrentPrincipal,
                   session: SessionDep, now: NowDep) -> ManualGradeResult:
    """Grade one question of a submitted attempt by hand: ``mark`` (out of the question's
    ``max_mark``) or ``fraction`` (an override, within the item's range), ``rubric`` (criterion
    id → level index, every criterion), and/or ``comment``.

    400 for a grade that does not fit the item (``invalid_grade``); 409 while the attempt is in
    progress (``attempt_in_progress``). Answers the question's new state and the attempt's marks.
    """
    return service.grade(session, principal, attempt_id, slot, body, now)


@router.delete("/attempts/{attempt_id}/slots/{slot}/grade", response_model=ManualGradeResult)
def clear_grade(attempt_id: RowId, slot: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep,
                body: ClearGradeRequest | None = None) -> ManualGradeResult:
    """Clear the mark a person gave one question (a manual grade, or an override of the engine's):
    the engine's mark stands again and a regrade moves it. Audited as ``grade_cleared``.

    409 ``nothing_to_clear`` when no such mark stands; 409 while the attempt is in progress.
    """
    return overrides.clear(session, principal, attempt_id, slot, body or ClearGradeRequest(), now)


@router.get("/quizzes/{quiz_id}/slots/{slot}/responses", response_model=ResponseQueue)
def slot_responses(quiz_id: RowId, slot: RowId, principal: CurrentPrincipal, session: SessionDep,
                   page: PageDep, state: Annotated[QueueState, Query()] = QueueState.UNGRADED,
                   anonymous: Annotated[bool, Query()] = False) -> ResponseQueue:
    """Grading by question: every finished attempt's response to question ``slot`` (previews
    left out), as its student saw it, with the rubric and worked solution. ``state=ungraded``
    (the default) gives those waiting for a grader; ``state=all`` every one, waiting first.
    ``anonymous=true`` hides names ("Student 3") while any response waits. Paged with
    ``limit``/``offset`` (a ``Link`` to the next page); ``total`` counts every page's rows.
    Grade each with ``POST /api/v1/attempts/{id}/slots/{slot}/grade`` (``mark``, ``rubric``)."""
    found = queue.response_queue(session, principal, quiz_id, slot, state=state, anonymous=anonymous,
                                 limit=page.fetch, offset=page.offset)
    found.responses = page.rows(found.responses)
    return found


@router.post("/quizzes/{quiz_id}/regrade", response_model=RegradeResult)
def regrade_quiz(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep,
                 dry_run: Annotated[bool, Query()] = True) -> RegradeResult:
    """Replay finished attempts against the current versions of their items.

    ``dry_run=true`` (the default) reports the per-student diff and changes nothing;
    ``dry_run=false`` commits it: replaced question attempts are kept, marked ``replaced_at``.
    Both list the questions whose mark a person pinned (``pinned``): the regrade keeps those marks.
    """
    return regrade.regrade(session, principal, quiz_id, dry_run=dry_run, now=now)


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return format(round(value, 6) + 0.0, "f").rstrip("0").rstrip(".")  # + 0.0: never "-0"


def grades_csv(grades: QuizGrades) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in grades.students:
        writer.writerow((_cell(row.username), _cell(row.display_name), row.attempts, row.pending,
                         _number(row.grade), _number(grades.max_marks)))
    return out.getvalue()


@router.get("/quizzes/{quiz_id}/grades", response_model=QuizGrades,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}})
def quiz_grades(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                format: Annotated[GradeFormat, Query()] = GradeFormat.JSON,  # noqa: A002 - the REST contract's name
                ) -> QuizGrades | Response:
    """One row per student of the course: finished attempts, those awaiting a grader, and the
    grade by the quiz's grading method (in marks, out of ``max_marks``)."""
    grades = service.quiz_grades(session, principal, quiz_id)
    if format == GradeFormat.CSV:
        return Response(grades_csv(grades), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="quiz-{quiz_id}-grades.csv"'})
    return grades


@router.get("/courses/{course}/gradebook", response_model=Gradebook,
            responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}})
def course_gradebook(course: str, principal: CurrentPrincipal, session: SessionDep,
                     format: Annotated[GradeFormat, Query()] = GradeFormat.JSON,  # noqa: A002 - as /grades
                     ) -> Response:
    """Every student of the course with their grade at every quiz of it; ``format=csv`` streams a
    spreadsheet (a row per student, a column per quiz)."""
    book = gradebook.gradebook_rows(session, principal, course)
    if format == GradeFormat.CSV:
        return StreamingResponse(gradebook.gradebook_csv(book), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{book.course}-gradebook.csv"'})
    with collector_paused():
        return JSONResponse(gradebook.gradebook_json(book))


router.include_router(audit_router)  # the grade audit trail: /api/v1/.../grade-changes
