"""The attempt page's script at work: Check, Try again and flags, one question at a time.

The page works without these (its form posts to ``/attempts/{id}/save``, which does the same);
with them a question is checked in place: the reply carries the question re-rendered as the
page would show it, so a question checked here, by the form or through the API looks the same.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assessments.attempts import service as attempts
from assessments.attempts.schemas import QuestionView, SaveRequest, SaveResult
from assessments.deps import NowDep, RowId, SessionDep, SettingsDep
from assessments.errors import NotFound
from assessments.web.forms import response_from_form
from assessments.web.pages import WebPrincipal, _view
from assessments.web.security import CheckedForm
from assessments.web.templating import templates

router = APIRouter(include_in_schema=False)


def _question(view_questions: list[QuestionView], slot: int) -> QuestionView:
    question = next((q for q in view_questions if q.slot == slot), None)
    if question is None:
        raise NotFound(f"no question {slot}")
    return question


def _seq(form: Any, slot: int, current: int) -> int:
    value = form.get(f"s{slot}-seq")
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else current


def _reply(session: Any, principal: Any, attempt_id: int, slot: int, now: Any,
           result: SaveResult) -> JSONResponse:
    view, _ = _view(session, principal, attempt_id, now)
    question = _question(view.questions, slot)
    html = templates.env.get_template("question_card.html").render(q=question)
    return JSONResponse({**result.model_dump(), "state": question.state, "html": html})


@router.post("/attempts/{attempt_id}/check/{slot}")
def check(attempt_id: RowId, slot: RowId, principal: WebPrincipal, session: SessionDep,
          settings: SettingsDep, now: NowDep, form: CheckedForm) -> JSONResponse:
    """Check one question with the answer on the page (saved in the same step)."""
    view, _ = _view(session, principal, attempt_id, now)
    question = _question(view.questions, slot)
    response = response_from_form(question.question, slot, form)
    body = SaveRequest(response=response if response is not None else question.response or {},
                       seq=_seq(form, slot, question.seq))
    result = attempts.check(session, principal, attempt_id, slot, body, now, settings.grace_seconds)
    return _reply(session, principal, attempt_id, slot, now, result)


@router.post("/attempts/{attempt_id}/try-again/{slot}")
def try_again(attempt_id: RowId, slot: RowId, principal: WebPrincipal, session: SessionDep,
              settings: SettingsDep, now: NowDep, form: CheckedForm) -> JSONResponse:
    """Interactive quizzes: answer a checked question again."""
    view, _ = _view(session, principal, attempt_id, now)
    question = _question(view.questions, slot)
    result = attempts.try_again(session, principal, attempt_id, slot, _seq(form, slot, question.seq), now,
                                settings.grace_seconds)
    return _reply(session, principal, attempt_id, slot, now, result)


@router.post("/attempts/{attempt_id}/flag/{slot}")
def flag(attempt_id: RowId, slot: RowId, principal: WebPrincipal, session: SessionDep, settings: SettingsDep,
         now: NowDep, form: CheckedForm) -> JSONResponse:
    result = attempts.set_flag(session, principal, attempt_id, slot, form.get("flagged") == "1", now,
                               settings.grace_seconds)
    return JSONResponse(result.model_dump())
