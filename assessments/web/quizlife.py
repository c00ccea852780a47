"""The instructor's pages for a quiz's life: publish, unpublish, schedule, close, archive; duplicate
and delete; the questions page; accommodations (groups and overrides). They call the services the
REST API calls, and show every refusal at its field in the page's own words."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.deps import NowDep, Principal, RowId, SessionDep
from assessments.errors import DomainError, Invalid
from assessments.models import CourseRole, Enrolment, User
from assessments.quizzes import life, overrides
from assessments.quizzes.schemas import GroupIn, OverrideIn, QuizDuplicate, QuizStatusName, StatusChange
from assessments.quizzes.service import _instructor_quiz, pinned, quiz_out, sections_of, student_attempts
from assessments.web.pages import WebPrincipal
from assessments.web.security import CheckedForm
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)

DATE_HINT = "Enter a date and time such as 2026-12-01 09:00"


class FieldProblem(ValueError):
    """A form field's value the page cannot take, said in the page's words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def zone_of(form: Any) -> ZoneInfo:
    """The time zone the form's dates are in (the instructor's, as their browser or they chose)."""
    name = str(form.get("tz", "") or "UTC").strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldProblem("tz", f"“{name[:60]}” is not a time zone: enter one such as Europe/London or UTC") from None


def local_time(form: Any, field: str, label: str) -> datetime | None:
    """A ``datetime-local`` field read in the form's time zone; None when left empty."""
    raw = str(form.get(field, "") or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        raise FieldProblem(field, f"{label}: {DATE_HINT}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone_of(form))
    return value


def _manage(quiz_id: int, message: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/quizzes/{quiz_id}/manage?message={quote(message)}", status_code=303)


@router.post("/quizzes/{quiz_id}/status")
def change_status(quiz_id: RowId, principal: WebPrincipal, session: SessionDep, now: NowDep,
                  form: CheckedForm) -> Response:
    """Publish, unpublish, schedule, close or archive, from the results page."""
    status = str(form.get("status", ""))
    if status not in set(QuizStatusName):
        raise Invalid("choose publish, unpublish, schedule, close or archive", code="bad_status")
    try:
        at = local_time(form, "publish_at", "Publish at") if status == "draft" else None
    except FieldProblem as exc:
        raise Invalid(str(exc), code="bad_date") from None
    life.set_status(session, principal, quiz_id, StatusChange(status=QuizStatusName(status), publish_at=at), now)
    words = {"draft": "unpublished: students no longer see it" if at is None else "scheduled for publication",
             "published": "published", "closed": "closed", "archived": "archived"}[status]
    return _manage(quiz_id, f"The quiz is {words}.")


@router.post("/quizzes/{quiz_id}/duplicate")
def duplicate(quiz_id: RowId, principal: WebPrincipal, session: SessionDep, now: NowDep,
              form: CheckedForm) -> Response:
    course = str(form.get("course", "") or "").strip() or None
    copy = life.duplicate(session, principal, quiz_id, QuizDuplicate(course=course), now)
    return _manage(copy.id, "This is a draft copy: edit it, then publish it.")


@router.get("/quizzes/{quiz_id}/delete")
def confirm_delete(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """Before anything final: what deleting will do (delete, or archive a quiz students attempted)."""
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    return page(request, "quiz_delete.html", quiz=quiz, attempts=student_attempts(session, quiz.id))


@router.post("/quizzes/{quiz_id}/delete")
def delete(quiz_id: RowId, principal: WebPrincipal, session: SessionDep, now: NowDep,
           form: CheckedForm) -> Response:  # noqa: ARG001 - the form carries the CSRF token
    done = life.remove(session, principal, quiz_id, now)
    if done.outcome == "archived":
        return _manage(quiz_id, f"Students have made {done.attempts} attempt(s): the quiz is archived instead, "
                                "its attempts and grades kept.")
    return RedirectResponse("/", status_code=303)


# --- the questions page ----------------------------------------------------------------------------


@router.get("/quizzes/{quiz_id}/questions")
def questions_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """Every section's slots: the item, the version given, the mark, and for a draw its rule and
    the items that match (the pool pinned when it was built), with their count."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    pins = pinned(session, quiz.id)
    by_section: dict[int, dict[str, Any]] = {}
    for pin, key, version in pins:
        by_section.setdefault(pin.section, {})[key] = {"key": key, "version": version.number}
    sections = []
    for n, section in enumerate(sections_of(quiz)):
        given = by_section.get(n, {})
        for key, row in given.items():
            row["mark"] = section.mark_of(key)
        rows = [given[k] for k in section.items if k in given] if section.items else sorted(
            given.values(), key=lambda r: r["key"])
        sections.append({"number": n + 1, "section": section, "rows": rows})
    return page(request, "questions.html", quiz=quiz, course=course, out=quiz_out(quiz, course), sections=sections)


# --- accommodations ----------------------------------------------------------------------------------


def _overrides_page(request: Request, session: Session, principal: Principal, quiz_id: int, form: Any,
                    problems: list[dict[str, str | None]], status_code: int = 200) -> Response:
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    students = list(session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id).where(
        Enrolment.course_id == course.id, Enrolment.role == CourseRole.STUDENT).order_by(User.username)))
    groups = overrides.list_groups(session, principal, course.slug)
    return page(request, "overrides.html", status_code=status_code, quiz=quiz, course=course,
                settings=quiz_out(quiz, course).settings, students=students, groups=groups,
                rows=overrides.list_overrides(session, principal, quiz.id), form=form, problems=problems,
                at_field={p["field"]: p["message"] for p in problems if p["field"]},
                message=request.query_params.get("message"))


@router.get("/quizzes/{quiz_id}/overrides")
def overrides_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    return _overrides_page(request, session, principal, quiz_id, {}, [])


OVERRIDE_FIELDS = {"user": "who", "group": "who", "open_at": "open_at", "close_at": "close_at",
                   "time_limit_minutes": "time_limit_minutes", "time_multiplier": "time_multiplier",
                   "attempts_allowed": "attempts_allowed"}


def _number(form: Any, field: str, label: str, kind: type[int | float]) -> Any:
    raw = str(form.get(field, "") or "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise FieldProblem(field, f"{label}: enter a number such as {'1.5' if kind is float else '90'}") from None


def override_from_form(form: Any) -> OverrideIn:
    who = str(form.get("who", "") or "")
    kind, _, name = who.partition(":")
    attempts = str(form.get("attempts_allowed", "") or "").strip()
    return OverrideIn(
        user=name if kind == "user" else None, group=name if kind == "group" else None,
        open_at=local_time(form, "open_at", "Opens"), close_at=local_time(form, "close_at", "Closes"),
        time_limit_minutes=_number(form, "time_limit_minutes", "Time limit", int),
        time_multiplier=_number(form, "time_multiplier", "Time multiplier", float),
        attempts_allowed=None if attempts in ("", "unlimited") else _number(form, "attempts_allowed",
                                                                             "Attempts allowed", int),
        unlimited_attempts=attempts == "unlimited")


PLAIN = {"extra_forbidden": "is not a field of this form"}


def _validation_problems(exc: ValidationError) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if "greater than" in message:
            message = f"{where.replace('_', ' ')}: {message.lower()}"
        out.append({"field": OVERRIDE_FIELDS.get(where, "who" if not where else None), "message": message})
    return out


@router.post("/quizzes/{quiz_id}/overrides")
def add_override(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
                 form: CheckedForm) -> Response:
    problems: list[dict[str, str | None]]
    try:
        body = override_from_form(form)
        made = overrides.save_override(session, principal, quiz_id, body, now)
    except FieldProblem as exc:
        problems = [{"field": exc.field, "message": str(exc)}]
    except ValidationError as exc:
        problems = _validation_problems(exc)
    except (Invalid, DomainError) as exc:
        if exc.status_code in (403, 404):
            raise
        problems = [{"field": "who", "message": str(exc)}]
    else:
        note = f" {made.extended_attempts} attempt(s) under way were extended." if made.extended_attempts else ""
        return RedirectResponse(f"/quizzes/{quiz_id}/overrides?message=Override saved.{note}", status_code=303)
    return _overrides_page(request, session, principal, quiz_id, form, problems, status_code=400)


@router.post("/quizzes/{quiz_id}/overrides/{override_id}/delete")
def remove_override(quiz_id: RowId, override_id: RowId, principal: WebPrincipal,
                    session: SessionDep, form: CheckedForm) -> Response:  # noqa: ARG001 - the CSRF token
    overrides.delete_override(session, principal, quiz_id, override_id)
    return RedirectResponse(f"/quizzes/{quiz_id}/overrides?message=Override removed.", status_code=303)


@router.post("/quizzes/{quiz_id}/groups")
def add_group(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
              form: CheckedForm) -> Response:
    """Make a group of the quiz's course (from the accommodations page)."""
    _, course = _instructor_quiz(session, principal, quiz_id)
    members = [str(m) for m in form.getlist("members")]
    name = str(form.get("group_name", "") or "").strip()
    if not name:
        problems: list[dict[str, str | None]] = [{"field": "group_name", "message": "Enter the group's name"}]
    else:
        try:
            overrides.save_group(session, principal, course.slug, GroupIn(name=name[:100], members=members), now)
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            problems = [{"field": "group_name", "message": str(exc)}]
        else:
            return RedirectResponse(f"/quizzes/{quiz_id}/overrides?message=Group “{name[:100]}” saved.",
                                    status_code=303)
    return _overrides_page(request, session, principal, quiz_id, form, problems, status_code=400)


__all__ = ["router"]
