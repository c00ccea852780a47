"""``/api/v1/quizzes/{id}/attempts`` and ``/api/v1/attempts/...``: taking a quiz over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from assessments.attempts import service
from assessments.attempts.review import attempt_view, moment_for
from assessments.attempts.schemas import AnswerRequest, AttemptView, FlagRequest, FlagResult, SaveResult, SubmitResult
from assessments.deps import Caller, NowDep, Principal, RowId, SessionDep, SettingsDep
from assessments.models import Attempt, Quiz
from assessments.quizzes.service import settings_of

router = APIRouter(prefix="/api/v1", tags=["attempts"])


@router.post("/quizzes/{quiz_id}/attempts", response_model=AttemptView,
             status_code=status.HTTP_201_CREATED, response_model_exclude_none=True,
             responses={200: {"model": AttemptView, "description": "an open attempt, resumed"}})
async def start_attempt(quiz_id: RowId, caller: Caller, session: SessionDep, now: NowDep,
                        response: Response) -> AttemptView:
    """Start an attempt, or resume the open one (200). Each student gets their own variants."""

    def work(principal: Principal) -> AttemptView:
        started = service.start(session, principal, quiz_id, now)
        if not started.created:
            response.status_code = status.HTTP_200_OK
        # The caller's own attempt: the review policy applies, whatever their role.
        return attempt_view(session, started.attempt, started.quiz, staff=False, now=now,
                            questions=started.questions)

    return await caller.run(session, now, work)


@router.get("/attempts/{attempt_id}", response_model=AttemptView, response_model_exclude_none=True)
async def get_attempt(attempt_id: RowId, caller: Caller, session: SessionDep, now: NowDep) -> AttemptView:
    """The attempt as its owner may see it now (the review policy), or all of it for instructors."""

    def work(principal: Principal) -> AttemptView:
        attempt, quiz, staff = service.attempt_for(session, principal, attempt_id)
        return attempt_view(session, attempt, quiz, staff=staff and attempt.user_id != principal.user.id,
                            now=now)

    return await caller.run(session, now, work)


@router.put("/attempts/{attempt_id}/responses/{slot}", response_model=SaveResult, response_model_exclude_none=True)
async def save_response(attempt_id: RowId, slot: RowId, body: AnswerRequest, caller: Caller,
                        session: SessionDep, settings: SettingsDep, now: NowDep) -> SaveResult:
    """Autosave one answer, in the shape of the question's type (a key it does not read, or none of
    its keys, is a 422 naming the key). ``seq`` is the step the client last saw; a stale one gets 409."""
    return await caller.run(session, now, lambda principal: service.save(
        session, principal, attempt_id, slot, body, now, settings.grace_seconds))


@router.post("/attempts/{attempt_id}/slots/{slot}/check", response_model=SaveResult,
             response_model_exclude_none=True)
async def check_question(attempt_id: RowId, slot: RowId, body: AnswerRequest, caller: Caller,
                         session: SessionDep, settings: SettingsDep, now: NowDep) -> SaveResult:
    """Submit one question now (immediate feedback and interactive quizzes)."""
    return await caller.run(session, now, lambda principal: service.check(
        session, principal, attempt_id, slot, body, now, settings.grace_seconds))


@router.post("/attempts/{attempt_id}/slots/{slot}/try-again", response_model=SaveResult,
             response_model_exclude_none=True)
async def try_again(attempt_id: RowId, slot: RowId, seq: Annotated[int, Body(embed=True, ge=0)],
                    caller: Caller, session: SessionDep, settings: SettingsDep, now: NowDep) -> SaveResult:
    """Interactive quizzes: clear a checked try's feedback to answer again."""
    return await caller.run(session, now, lambda principal: service.try_again(
        session, principal, attempt_id, slot, seq, now, settings.grace_seconds))


@router.put("/attempts/{attempt_id}/slots/{slot}/flag", response_model=FlagResult)
async def flag_question(attempt_id: RowId, slot: RowId, body: FlagRequest, caller: Caller,
                        session: SessionDep, settings: SettingsDep, now: NowDep) -> FlagResult:
    """Flag a question to come back to (or unflag it): kept on the server, shown on every device."""
    return await caller.run(session, now, lambda principal: service.set_flag(
        session, principal, attempt_id, slot, body.flagged, now, settings.grace_seconds), reads_first=False)


@router.post("/attempts/{attempt_id}/submit", response_model=SubmitResult,
             response_model_exclude_none=True)
async def submit_attempt(attempt_id: RowId, caller: Caller, session: SessionDep, now: NowDep) -> SubmitResult:
    """Finish and grade the attempt. Idempotent: submitting again returns the same result.

    The marks are included when the quiz's review policy shows marks right after an attempt.
    """

    def work(principal: Principal) -> SubmitResult:
        result = service.submit(session, principal, attempt_id, now)
        # The caller owns the attempt (submit checked): it and its quiz are the session's already.
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        quiz = session.get(Quiz, attempt.quiz_id)
        assert quiz is not None
        settings = settings_of(quiz)
        if getattr(settings.review, moment_for(session, attempt, quiz, now)).marks:
            result.marks = attempt.marks
        return result

    return await caller.run(session, now, work, reads_first=False)
