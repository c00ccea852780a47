"""The instructor's "Grade by question" pages, and the grade form they share with an attempt's page.

From a quiz's results page: the questions with responses and how many wait for a grader; then
one question's queue, a response at a time as its student saw it, the rubric and the worked
solution beside it, and "Save and next". Names may be hidden while grading ("Student 3"). Grades
go through the manual grading service (:func:`assessments.grading.service.grade`), as from the
attempt's own page; a mark that does not fit is said at its field, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assessments.deps import NowDep, Principal, RowId, SessionDep
from assessments.errors import Conflict, DomainError
from assessments.grading import queue
from assessments.grading import service as grading
from assessments.grading.marking import MARK_FIELD
from assessments.grading.queue_schemas import QueuedResponse, QueueState
from assessments.grading.schemas import ManualGradeRequest
from assessments.pagination import MAX_LIMIT
from assessments.quizzes.service import quiz_for
from assessments.web.pages import WebPrincipal
from assessments.web.security import CheckedForm
from assessments.web.templating import page
from engine.qtypes import ResponseError
from engine.qtypes.numeric import parse_number

router = APIRouter(include_in_schema=False)


# --- the grade form -------------------------------------------------------------------------------


@dataclass
class GradeForm:
    """A grade form as the grader filled it in: what to send, or the problems at each field
    (keyed ``mark``, ``comment`` or ``rubric-<criterion>``), and what was entered, to show again."""

    request: ManualGradeRequest | None
    errors: dict[str, str] = field(default_factory=dict)
    entered: dict[str, str] = field(default_factory=dict)


def _marks(value: float) -> str:
    return format(round(value, 6) + 0.0, "g")


def read_grade(form: Mapping[str, Any], criteria: list[tuple[str, str]] | None, max_mark: float) -> GradeForm:
    """The grade in a form: ``mark`` (out of ``max_mark``, typed as students type numbers),
    ``rubric-<criterion>`` level indexes for an item with a rubric (``criteria``: id and title),
    ``comment`` and ``reason``. Either a level for every criterion or a mark; a comment alone
    leaves the question waiting."""
    entered = {str(k): str(v) for k, v in form.items() if isinstance(v, str)}
    text = entered.get("mark", "").strip()
    rubric = {key.removeprefix("rubric-"): int(value) for key, value in entered.items()
              if key.startswith("rubric-") and value.isdigit()}
    comment = entered.get("comment", "").strip() or None
    errors: dict[str, str] = {}
    mark = None
    if text:
        try:
            mark = parse_number(text)
        except ResponseError:
            errors[MARK_FIELD] = "Enter the mark as a number, such as 2.5"
    if criteria and rubric:
        if mark is not None:
            errors[MARK_FIELD] = "Give either a level for every criterion or a mark, not both"
        for criterion, title in criteria:
            if criterion not in rubric:
                errors[f"rubric-{criterion}"] = f"Choose a level for “{title}”"
    if not errors and mark is None and not rubric and comment is None:
        out_of = _marks(max_mark)
        if criteria:
            errors[f"rubric-{criteria[0][0]}"] = f"Choose a level for every criterion, or enter a mark out of {out_of}"
        else:
            errors[MARK_FIELD] = f"Enter a mark out of {out_of}, or a comment"
    if errors:
        return GradeForm(None, errors, entered)
    return GradeForm(ManualGradeRequest(mark=mark, rubric=rubric or None, comment=comment,
                                        reason=entered.get("reason", "").strip() or None), {}, entered)


def refusal(exc: DomainError) -> dict[str, str]:
    """The service's refusal of a grade, at the field it is about, as a sentence."""
    message = exc.message[:1].upper() + exc.message[1:]
    details = exc.details if isinstance(exc.details, list) else []
    about_mark = any(isinstance(d, dict) and d.get("loc", [None])[-1] == MARK_FIELD for d in details)
    return {MARK_FIELD if about_mark or not isinstance(exc, Conflict) else "form": message}


def save_grade(session: Session, principal: Principal, attempt_id: int, slot: int, given: GradeForm,
               now: datetime) -> GradeForm:
    """Give the grade the form holds; the form again, with the service's refusal at its field,
    when it is refused (``request`` None then: the page is shown again, nothing saved)."""
    if given.request is not None:
        try:
            grading.grade(session, principal, attempt_id, slot, given.request, now)
        except DomainError as exc:
            return GradeForm(None, refusal(exc), given.entered)
    return given


# --- the pages ----------------------------------------------------------------------------------


def _state(raw: object) -> QueueState:
    return QueueState.ALL if raw == QueueState.ALL.value else QueueState.UNGRADED


def _here(quiz_id: int, slot: int, state: QueueState | str, anonymous: bool, **more: object) -> str:
    query = {"state": QueueState(state).value, **({"anonymous": "1"} if anonymous else {}), **more}
    return f"/quizzes/{quiz_id}/slots/{slot}/grading?{urlencode(query)}"


@router.get("/quizzes/{quiz_id}/grading")
def questions_to_grade(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    slots = queue.slots_to_grade(session, principal, quiz_id)
    quiz, _ = quiz_for(session, principal, quiz_id)
    return page(request, "grading_questions.html", quiz=quiz, slots=slots)


def _queue_page(request: Request, principal: Any, session: Any, quiz_id: int, slot: int, *,
                state: QueueState, anonymous: bool, chosen: int | None, form: GradeForm | None = None,
                status_code: int = 200) -> Response:
    listing = queue.response_queue(session, principal, quiz_id, slot, state=state, anonymous=anonymous,
                                   limit=MAX_LIMIT)
    quiz, _ = quiz_for(session, principal, quiz_id)
    current: QueuedResponse | None = None
    if chosen is not None:
        current = next((r for r in listing.responses if r.attempt_id == chosen), None) or queue.queued_response(
            session, principal, quiz_id, slot, chosen, anonymous=anonymous)
    elif listing.responses:
        current = listing.responses[0]
    return page(request, "grading_queue.html", status_code=status_code, quiz=quiz, slot=slot, listing=listing,
                current=current, state=state, anonymous=anonymous, form=form or GradeForm(None),
                message=request.query_params.get("message"),
                link=lambda **more: _here(quiz_id, slot, **({"state": state, "anonymous": anonymous} | more)))


@router.get("/quizzes/{quiz_id}/slots/{slot}/grading")
def queue_page(quiz_id: RowId, slot: RowId, request: Request, principal: WebPrincipal,
               session: SessionDep) -> Response:
    raw = request.query_params.get("attempt", "")
    chosen = int(raw) if raw.isdigit() and len(raw) < 19 else None
    return _queue_page(request, principal, session, quiz_id, slot, state=_state(request.query_params.get("state")),
                       anonymous=request.query_params.get("anonymous") == "1", chosen=chosen)


@router.post("/quizzes/{quiz_id}/slots/{slot}/grading/{attempt_id}")
def save_and_next(quiz_id: RowId, slot: RowId, attempt_id: RowId, request: Request, principal: WebPrincipal,
                  session: SessionDep, now: NowDep, form: CheckedForm) -> Response:
    state, anonymous = _state(form.get("state")), form.get("anonymous") == "1"
    current = queue.queued_response(session, principal, quiz_id, slot, attempt_id, anonymous=anonymous)
    criteria = [(c.id, c.title) for c in current.rubric] if current.rubric else None
    given = save_grade(session, principal, attempt_id, slot, read_grade(form, criteria, current.max_mark), now)
    if given.request is None:
        return _queue_page(request, principal, session, quiz_id, slot, state=state, anonymous=anonymous,
                           chosen=attempt_id, form=given, status_code=400)
    following = queue.next_response(session, quiz_id, slot, attempt_id, state)
    saved = f"Saved: {current.student}, attempt {current.attempt_number}."
    more: dict[str, object] = {"message": saved if following is not None else
                               f"{saved} No response to this question waits for a grader."}
    if following is not None:
        more["attempt"] = following
    return RedirectResponse(_here(quiz_id, slot, state, anonymous, **more), status_code=303)
