"""The student's pages: sign in, dashboard, quiz start, the attempt, the confirmation and review.

Pages show what the REST API's views hold (``assessments.attempts.review``), so the review policy
is applied in one place for both. Every form carries the session's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assessments.attempts import repository as attempts_repo
from assessments.attempts import service as attempts
from assessments.attempts.review import attempt_view, moment
from assessments.attempts.schemas import AttemptView, QuestionView, SaveRequest
from assessments.auth import devices, sessions
from assessments.auth.service import authenticate
from assessments.auth.tokens import ALL_SCOPES
from assessments.courses.service import courses_for
from assessments.deps import NowDep, Principal, RowId, SessionDep, SettingsDep, signed_in_account
from assessments.errors import Conflict, DomainError, NotFound, Unauthorized
from assessments.limits import LimitsDep, TooManyRequests, client_address
from assessments.models import AttemptState, CourseRole, Quiz, QuizStatus, Role
from assessments.quizzes.schemas import QuizSettings
from assessments.quizzes.service import list_quizzes, settings_of
from assessments.web.forms import response_from_form
from assessments.web.plots import review_plots
from assessments.web.security import CSRF_FIELD, CheckedForm, check_csrf, csrf_token
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class UserCard:
    display_name: str
    role: Role


class LoginRequired(DomainError):
    status_code = 401
    code = "login_required"


def web_principal(request: Request, session: SessionDep) -> Principal:
    claim = sessions.claim(request)
    user = signed_in_account(session, claim.user_id, claim.generation) if claim is not None else None
    if user is None:
        if claim is not None:
            request.session.clear()  # signed out elsewhere, or deactivated: the cookie is spent
        raise LoginRequired("please sign in")
    # a plain snapshot for templates: an error page may render after the session has closed
    request.state.user = UserCard(user.display_name, user.role)
    return Principal(user, ALL_SCOPES, "session")


WebPrincipal = Annotated[Principal, Depends(web_principal)]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- signing in ---------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the usual name
    return page(request, "login.html", next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
def login(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, limits: LimitsDep,
          username: Annotated[str, Form(max_length=80)], password: Annotated[str, Form(max_length=1000)],
          csrf: CsrfField, next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    check_csrf(request, csrf)
    try:
        with limits.signing_in(client_address(request), username, now, device=request.cookies.get(devices.COOKIE)):
            user = authenticate(session, username, password)
    except TooManyRequests as exc:
        refused = page(request, "login.html", status_code=429, next=_safe_next(next),
                       error=f"Too many sign-in attempts: {exc.try_again}.", username=username)
        refused.headers.update(exc.headers or {})
        return refused
    except Unauthorized:
        return page(request, "login.html", status_code=401, next=_safe_next(next),
                    error="Wrong username or password.", username=username)
    sessions.begin(request, user)  # a fresh session (and CSRF token, below) at sign-in: no fixation
    csrf_token(request)
    response = _redirect(_safe_next(next))
    # This browser is now known for this username: its own failures are all that can slow it.
    response.set_cookie(devices.COOKIE, limits.devices.issue(user.username, now),
                        max_age=limits.devices.max_age, path=request.scope.get("root_path", "") + devices.PATH,
                        secure=settings.secure_cookies, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, csrf: CsrfField) -> Response:
    """Sign out: the session cookie is emptied and, server-side, every session and access token
    of the user made before now stops working (a copy of the cookie is no use either)."""
    check_csrf(request, csrf)
    sessions.end(session, request)
    return _redirect("/login")


# --- the dashboard and a quiz's start page -------------------------------------------------------


def _best(rows: list[Any], settings: QuizSettings, now: datetime, closed: bool) -> float | None:
    """The best mark of the attempts whose review shows marks now: the policy decides here too
    (``closed``: whether the quiz has closed for this student, their overrides applied)."""
    marks = [a.marks for a in rows if a.state == AttemptState.FINISHED and a.marks is not None
             and getattr(settings.review, moment(a, settings, now, closed=closed)).marks]
    return max(marks) if marks else None


@router.get("/")
def dashboard(request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep) -> Response:
    courses = courses_for(session, principal)
    quizzes = list_quizzes(session, principal, None, now)
    rows = []
    for quiz in quizzes:
        mine = attempts_repo.attempts_of(session, quiz.id, principal.user.id)
        finished = [a for a in mine if a.state == AttemptState.FINISHED]
        left = None if quiz.attempts_allowed is None else max(0, quiz.attempts_allowed - len(finished))
        stored = session.get(Quiz, quiz.id)
        assert stored is not None
        best = _best(mine, settings_of(stored), now, quiz.state == "closed")
        rows.append({"quiz": quiz, "attempts": len(mine), "left": left, "best": best,
                     "open": any(a.state == AttemptState.IN_PROGRESS for a in mine)})
    return page(request, "dashboard.html", courses=courses, rows=rows)


@router.get("/quizzes/{quiz_id}")
def quiz_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
              now: NowDep) -> Response:
    """The quiz's start page: a student sees their own dates, time and attempts, and of a draft
    (an LTI link onto it too) only that it is not open yet; staff see it as it is, to preview."""
    from assessments.quizzes import rules
    from assessments.quizzes.service import quiz_and_role, quiz_out

    quiz, course, role = quiz_and_role(session, principal, quiz_id, now, hidden_ok=True)
    staff = role == CourseRole.INSTRUCTOR
    applies = rules.applied(session, quiz, principal.user.id, now)
    if not staff and not rules.visible_to_students(quiz, now):
        return page(request, "quiz.html", quiz=quiz, course=course, hidden=True, staff=False,
                    state="not_open" if applies.status == QuizStatus.DRAFT else "closed")
    out = quiz_out(quiz, course, None if staff else applies)
    mine = attempts_repo.attempts_of(session, quiz.id, principal.user.id)
    return page(request, "quiz.html", quiz=quiz, course=course, settings=out.settings, attempts=mine,
                state=applies.availability(now), out=out, staff=staff, hidden=False)


@router.post("/quizzes/{quiz_id}/start")
def start(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
          csrf: CsrfField) -> Response:
    check_csrf(request, csrf)
    started = attempts.start(session, principal, quiz_id, now)
    return _redirect(f"/attempts/{started.attempt.id}")


# --- the attempt ---------------------------------------------------------------------------------


def _view(session: Any, principal: Principal, attempt_id: int, now: Any) -> tuple[AttemptView, Quiz]:
    attempt, quiz, staff = attempts.attempt_for(session, principal, attempt_id)
    return attempt_view(session, attempt, quiz, staff=staff and attempt.user_id != principal.user.id,
                        now=now), quiz


@router.get("/attempts/{attempt_id}")
def attempt_page(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                 now: NowDep, q: int | None = None) -> Response:
    view, quiz = _view(session, principal, attempt_id, now)
    if view.state != AttemptState.IN_PROGRESS.value:
        return _redirect(f"/attempts/{attempt_id}/review")
    shown = [question for question in view.questions if q is None or question.slot == q]
    return page(request, "attempt.html", view=view, quiz=quiz, questions=shown, one=q,
                message=request.query_params.get("message"))


@router.post("/attempts/{attempt_id}/save")
def save_page(attempt_id: RowId, principal: WebPrincipal, session: SessionDep,
              settings: SettingsDep, now: NowDep, form: CheckedForm) -> Response:
    """The no-JavaScript path: every question on the page saved at once, then back or on."""
    view, _ = _view(session, principal, attempt_id, now)
    message = None
    checking, again = _slot_of(form.get("check")), _slot_of(form.get("try_again"))
    for question in view.questions:
        if f"s{question.slot}-seq" not in form:
            continue  # not on the page that was posted
        try:
            _post_question(session, principal, attempt_id, question, form, now, settings.grace_seconds,
                           checking=question.slot == checking, again=question.slot == again)
        except Conflict as exc:
            message = exc.message
            break
    after = form.get("then")
    if after == "finish" and message is None and checking is None and again is None:
        return _redirect(f"/attempts/{attempt_id}/finish")
    target = f"/attempts/{attempt_id}"
    one = form.get("one")
    if isinstance(after, str) and after.isdigit():
        target += f"?q={after}"
    elif isinstance(one, str) and one.isdigit():
        target += f"?q={one}"
    if message:
        target += ("&" if "?" in target else "?") + "message=" + quote(message)
    if checking is not None or again is not None:
        target += f"#q{checking if checking is not None else again}"
    return _redirect(target)


def _post_question(session: Any, principal: Principal, attempt_id: int, question: QuestionView, form: Any,
                   now: datetime, grace_seconds: int, *, checking: bool, again: bool) -> None:
    """What the posted form asks of one question: its flag, then a check, a try again or a save."""
    seq = _seq_of(form.get(f"s{question.slot}-seq"), question.seq)
    flagged = f"flag-{question.slot}" in form
    if flagged != question.flagged:
        attempts.set_flag(session, principal, attempt_id, question.slot, flagged, now, grace_seconds)
    response = response_from_form(question.question, question.slot, form)
    if checking and question.can_check:
        body = SaveRequest(response=response if response is not None else question.response or {}, seq=seq)
        attempts.check(session, principal, attempt_id, question.slot, body, now, grace_seconds)
    elif again and question.can_try_again:
        attempts.try_again(session, principal, attempt_id, question.slot, seq, now, grace_seconds)
    elif response is not None and response != (question.response or {}):
        attempts.save(session, principal, attempt_id, question.slot, SaveRequest(response=response, seq=seq),
                      now, grace_seconds)


def _slot_of(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 6 else None


def _seq_of(value: object, current: int) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else current


@router.post("/attempts/{attempt_id}/autosave/{slot}")
def autosave(attempt_id: RowId, slot: RowId, principal: WebPrincipal,
             session: SessionDep, settings: SettingsDep, now: NowDep, form: CheckedForm) -> JSONResponse:
    """The page's script saves one question's inputs here (the same form rules as the page)."""
    view, _ = _view(session, principal, attempt_id, now)
    question = next((q for q in view.questions if q.slot == slot), None)
    if question is None:
        raise NotFound(f"no question {slot}")
    response = response_from_form(question.question, slot, form)
    seq = form.get(f"s{slot}-seq")
    if response is None or response == (question.response or {}):
        # Nothing new (the page's form, or a save sent as the page was left, got there first):
        # whatever seq the page held, it now holds the current one.
        return JSONResponse({"seq": question.seq, "saved": False, "state": question.state, "error": question.error})
    try:
        body = SaveRequest(response=response, seq=_seq_of(seq, question.seq))
        result = attempts.save(session, principal, attempt_id, slot, body, now, settings.grace_seconds)
    except Conflict as exc:
        # Two saves of the same answer (the one sent as the page was left and the one the next page
        # sent) racing each other: the loser is told what the winner stored, not refused.
        again, _ = _view(session, principal, attempt_id, now)
        now_saved = next(q for q in again.questions if q.slot == slot)
        if exc.code != "stale_seq" or now_saved.response != response:
            raise
        return JSONResponse({"seq": now_saved.seq, "saved": False, "state": now_saved.state, "error": now_saved.error})
    return JSONResponse(result.model_dump())


@router.get("/attempts/{attempt_id}/finish")
def confirm_page(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                 now: NowDep) -> Response:
    view, quiz = _view(session, principal, attempt_id, now)
    if view.state != AttemptState.IN_PROGRESS.value:
        return _redirect(f"/attempts/{attempt_id}/review")
    unanswered = [q.slot for q in view.questions if q.state in ("not_answered", "invalid")]
    return page(request, "confirm.html", view=view, quiz=quiz, unanswered=unanswered)


@router.post("/attempts/{attempt_id}/submit")
def submit_page(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                now: NowDep, csrf: CsrfField) -> Response:
    check_csrf(request, csrf)
    attempts.submit(session, principal, attempt_id, now)
    return _redirect(f"/attempts/{attempt_id}/review")


@router.get("/attempts/{attempt_id}/review")
def review_page(attempt_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                now: NowDep) -> Response:
    view, quiz = _view(session, principal, attempt_id, now)
    if view.state == AttemptState.IN_PROGRESS.value:
        return _redirect(f"/attempts/{attempt_id}")
    plots = {}
    shown = [q for q in view.questions if q.feedback is not None or q.right_answer is not None]
    if shown:  # the plot shows what the view allows: the pairs with feedback, losses with the key
        attempt, _, _ = attempts.attempt_for(session, principal, attempt_id)
        plots = review_plots(shown, {row.slot: qa.variant for row, qa in attempts.engine_attempts(session, attempt)})
    return page(request, "review.html", view=view, quiz=quiz, plots=plots)
