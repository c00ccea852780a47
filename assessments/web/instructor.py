"""The instructor's workspace: the bank with faceted filters, item preview with a seed picker,
and the quiz builder. Pages call the same services as the REST API."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.auth.access import course_by_slug, require_instructor
from assessments.bank import banks
from assessments.bank import service as bank
from assessments.bank.access import BankRights
from assessments.bank.banks import current
from assessments.bank.schemas import Preview
from assessments.deps import NowDep, Principal, RowId, SessionDep
from assessments.errors import DomainError, Invalid
from assessments.models import Bank, Concept, Item, ItemConcept, ItemTag, Quiz
from assessments.quizzes import life
from assessments.quizzes import service as quizzes
from assessments.quizzes.schemas import (
    QuizCreate,
    QuizPatch,
    QuizSettings,
)
from assessments.web.pages import WebPrincipal
from assessments.web.picker import apply_action, builder_extras, is_page_action
from assessments.web.quizlife import FieldProblem, local_time
from assessments.web.security import CheckedForm
from assessments.web.templating import page
from engine.items import ItemBase
from engine.qtypes import qtype_for
from engine.texts import render
from engine.variants import Variant

router = APIRouter(include_in_schema=False)

FORMAT_NAMES = {"yaml": "Assay YAML", "qti3": "QTI 3.0", "qti2": "QTI 2.2", "gift": "GIFT", "moodlexml": "Moodle XML"}
"""The exchange formats (import and export), as the pages name them."""
REVIEW_MOMENTS = ("during", "immediately_after", "later_while_open", "after_close")
REVIEW_SWITCHES = ("correctness", "marks", "feedback", "right_answer")


def _facets(session: Session, principal: Principal) -> dict[str, list[str]]:
    """The tag values of the items in the banks the caller may read."""
    facets: dict[str, list[str]] = {}
    readable = select(Item.id).join(Bank, Bank.id == Item.bank_id).where(BankRights.of(session, principal).readable())
    rows = session.execute(select(ItemTag.facet, ItemTag.value).where(ItemTag.item_id.in_(readable)).distinct()
                           .order_by(ItemTag.facet, ItemTag.value))
    for facet, value in rows:
        facets.setdefault(facet, []).append(value)
    return facets


def _concepts(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The concepts of the items in the banks the caller may read: (key, title), by key."""
    readable = select(Item.id).join(Bank, Bank.id == Item.bank_id).where(BankRights.of(session, principal).readable())
    rows = session.execute(select(Concept.key, Concept.title).join(ItemConcept, ItemConcept.concept_id == Concept.id)
                           .where(ItemConcept.item_id.in_(readable)).distinct().order_by(Concept.key))
    return [(key, title) for key, title in rows]


@router.get("/bank")
def bank_page(request: Request, principal: WebPrincipal, session: SessionDep,
              tag: Annotated[list[str] | None, Query()] = None,
              q: Annotated[str | None, Query(max_length=200)] = None,
              type: Annotated[str | None, Query()] = None,  # noqa: A002
              concept: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    principal.require_staff()
    chosen = [t for t in (tag or []) if ":" in t]
    concepts = [concept] if concept else []
    items = bank.list_items(session, principal, chosen, q or None, type or None, limit=500, offset=0,
                            concepts=concepts)
    query = urlencode([("tag", t) for t in chosen] + [("q", q)] * bool(q))
    return page(request, "bank.html", items=items, facets=_facets(session, principal), chosen=set(chosen),
                q=q or "", type=type or "", concept=concept or "", concepts=_concepts(session, principal),
                export_formats=FORMAT_NAMES, export_query="&" + query if query else "")


@router.get("/bank/{key}")
def item_page(key: str, request: Request, principal: WebPrincipal, session: SessionDep,
              seed: Annotated[int, Query(ge=0, le=2**62)] = 0,
              saved: Annotated[int | None, Query(ge=1, le=10**9)] = None) -> Response:
    item = bank.get_item(session, principal, key)
    preview = bank.preview(session, principal, key, seed)
    _, version = current(session, key)
    model = bank.item_model(version)
    return page(request, "item.html", preview=preview, item=item, seed=seed, model=model,
                saved=saved, can_edit=banks.can_edit_item(session, principal, key),
                **preview_extras(model, bank.variant_of(version, seed), preview))


def preview_extras(model: ItemBase, variant: Variant, preview: Preview) -> dict[str, Any]:
    """What a preview shows beside the question: the key in words and every misconception with
    its feedback for this variant."""
    misconceptions = []
    for name, misconception in model.misconceptions.items():
        feedback = render(misconception.feedback, variant.values) if misconception.feedback else None
        misconceptions.append({"name": name, "says": misconception.says, "feedback": feedback})
    key_text = qtype_for(model).summarise(model, variant, preview.key_response) if model.type_name != "essay" else ""
    return {"misconceptions": misconceptions, "key_text": key_text}


# --- the quiz builder ------------------------------------------------------------------------------


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


SECTIONS_SHOWN = 3
"""Sections the builder shows (more when a quiz being edited has more)."""


def _int(form: Any, field: str, label: str, default: int | None) -> int | None:
    raw = str(form.get(field, "") or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise FieldProblem(field, f"{label}: enter a whole number such as 3") from None


def _float(form: Any, field: str, label: str) -> float | None:
    """A number field; None when left empty."""
    raw = str(form.get(field, "") or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise FieldProblem(field, f"{label}: enter a number such as 1 or 2.5") from None


def quiz_from_form(form: Any, status: Literal["draft", "published"] = "draft") -> tuple[QuizCreate, list[int]]:
    """The builder's fields as a quiz definition (a draft, as the builder makes them), and for each
    of its sections the form's section it came from (sections left empty are skipped); a field
    the page cannot read raises :class:`FieldProblem` at that field."""
    sections: list[dict[str, Any]] = []
    origin: list[int] = []
    shown = _int(form, "sections", "Sections", SECTIONS_SHOWN) or SECTIONS_SHOWN
    for n in range(min(max(shown, 1), 100)):
        label = f"Section {n + 1}"
        fixed = _lines(str(form.get(f"section-{n}-items", "")))
        tags = _lines(str(form.get(f"section-{n}-tags", "")))
        count = _int(form, f"section-{n}-count", f"{label}: how many to draw", None)
        mark = _float(form, f"section-{n}-mark", f"{label}: marks per question")
        if fixed and (tags or count):
            raise FieldProblem(f"section-{n}-items", f"{label}: list fixed items or draw at random, not both")
        if fixed:
            marks = {key: _float(form, f"section-{n}-mark-{key}", f"{label}: marks for {key}") for key in fixed}
            sections.append({"items": fixed, "mark": mark,
                             "marks": {key: value for key, value in marks.items() if value is not None}})
        elif tags or count is not None:
            if count is None or not 1 <= count <= 200:
                raise FieldProblem(f"section-{n}-count", f"{label}: enter how many items to draw, from 1 to 200")
            sections.append({"draw": {"tags": tags, "count": count}, "mark": mark})
        else:
            continue
        origin.append(n)
    review = {moment: {switch: f"review-{moment}-{switch}" in form for switch in REVIEW_SWITCHES}
              for moment in REVIEW_MOMENTS}
    settings = {
        "behaviour": str(form.get("behaviour", "deferredfeedback")),
        "tries": _int(form, "tries", "Tries", 3),
        "time_limit_minutes": _int(form, "time_limit_minutes", "Time limit", None),
        "attempts_allowed": _int(form, "attempts_allowed", "Attempts allowed", None),
        "grading_method": str(form.get("grading_method", "highest")),
        "open_at": local_time(form, "open_at", "Opens"), "close_at": local_time(form, "close_at", "Closes"),
        "shuffle_questions": "shuffle_questions" in form, "shuffle_options": "shuffle_options" in form,
        "review": review,
    }
    # validated whole, so that a problem's path names its section and setting
    return QuizCreate.model_validate({"title": str(form.get("title", "")),
                                      "description": str(form.get("description", "")),
                                      "settings": settings, "sections": sections, "status": status}), origin


SETTING_FIELDS = {"time_limit_minutes": "Time limit", "attempts_allowed": "Attempts allowed", "tries": "Tries",
                  "open_at": "Opens", "close_at": "Closes", "behaviour": "How questions are graded",
                  "grading_method": "Quiz grade", "title": "Title", "description": "Description"}
SECTION_FIELDS = {"items": "items", "draw": "tags", "mark": "mark"}


PLAIN_WORDS = {"close_at must be after open_at": "the closing time must be after the opening time"}


def _plain(message: str) -> str:
    """A validator's message in the page's words (no "Value error," and no setting names)."""
    message = message.removeprefix("Value error, ")
    return PLAIN_WORDS.get(message, message)


def _field(path: list[Any], origin: list[int]) -> tuple[str | None, str]:
    """The builder's field a problem is about (its element's id) and the words that name it."""
    if len(path) == 4 and path[:2] == ["settings", "review"]:
        return f"review-{path[2]}-{path[3]}", f"Review {str(path[2]).replace('_', ' ')}, {path[3]}"
    if len(path) >= 2 and path[0] == "sections" and isinstance(path[1], int):
        n = origin[path[1]] if path[1] < len(origin) else path[1]
        part = SECTION_FIELDS.get(str(path[2]) if len(path) > 2 else "items", "items")
        if len(path) > 3 and path[3] == "count":
            part = "count"
        if len(path) > 3 and path[2] == "marks":
            part = f"mark-{path[3]}"
        return f"section-{n}-{part}", f"Section {n + 1}"
    name = str(path[-1]) if path else ""
    if path and path[0] == "settings" and len(path) == 1:
        return "open_at", "Dates"
    if name in SETTING_FIELDS:
        return name, SETTING_FIELDS[name]
    if path == ["sections"]:
        return "section-0-items", "Sections"
    return None, "The quiz"


def _problem(path: list[Any], message: str, origin: list[int] | None = None) -> dict[str, str | None]:
    """A problem as the page shows it: at its field, in the form's words ("Section 2: draws 50
    items but only 2 match"), never a system path."""
    field, words = _field(path, origin or [])
    return {"field": field, "message": f"{words}: {_plain(message)}" if not message.startswith(words) else message}


def _problems(exc: Exception, origin: list[int]) -> list[dict[str, str | None]]:
    if isinstance(exc, FieldProblem):
        return [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, ValidationError):
        return [_problem(list(e["loc"]), e["msg"], origin) for e in exc.errors()]
    details = getattr(exc, "details", None)
    if isinstance(details, list) and details:
        return [_problem(d["path"], d["message"], origin) for d in details]
    if isinstance(details, dict) and "fields" in details:
        return [{"field": None, "message": f"Students have made {details['attempts']} attempt(s) at this quiz, so "
                 "what would change their grades cannot change now: "
                 + ", ".join(AFTER_ATTEMPTS_WORDS.get(f, f) for f in details["fields"])
                 + ". Dates, time limit, attempts allowed and review options can; or duplicate the quiz."}]
    return [{"field": None, "message": _plain(str(exc))}]


AFTER_ATTEMPTS_WORDS = {"sections": "the sections (items, marks, draws)",
                        "settings.behaviour": "how questions are graded", "settings.tries": "tries",
                        "settings.penalty": "the penalty per try",
                        "settings.grading_method": "the quiz grade"}


def _builder(request: Request, session: Session, course: Any, form: Any,
             problems: list[dict[str, str | None]], status_code: int = 200, quiz: Any = None) -> Response:
    try:
        shown = min(max(SECTIONS_SHOWN, int(form.get("sections", SECTIONS_SHOWN) or SECTIONS_SHOWN)), 100)
    except ValueError:
        shown = SECTIONS_SHOWN
    return page(request, "builder.html", status_code=status_code, course=course, defaults=QuizSettings(),
                problems=problems, at_field={p["field"]: p["message"] for p in problems if p["field"]},
                form=form, moments=REVIEW_MOMENTS, switches=REVIEW_SWITCHES,
                shuffle_warning=quizzes.unshuffled_warning(session).message, quiz=quiz,
                shown=shown, **builder_extras(session, course.id, form, shown))


@router.get("/courses/{course}/quizzes/new")
def builder_page(course: str, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    return _builder(request, session, row, {}, [])


@router.post("/courses/{course}/quizzes/new")
def build_quiz(course: str, request: Request, principal: WebPrincipal, session: SessionDep,
                     now: NowDep, form: CheckedForm) -> Response:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    action = str(form.get("action", "") or "")
    if is_page_action(action):  # the picker's buttons: the page again, nothing saved
        return _builder(request, session, row, apply_action(form, action), [])
    origin: list[int] = []
    try:
        data, origin = quiz_from_form(form)
        quiz = quizzes.create_quiz(session, principal, course, data, now)
    except (ValueError, Invalid) as exc:
        problems = _problems(exc, origin)
    else:
        return RedirectResponse(f"/quizzes/{quiz.id}", status_code=303)  # the draft, to preview
    return _builder(request, session, row, form, problems, status_code=400)


def form_of(quiz: Quiz) -> dict[str, str]:
    """A quiz as the builder's fields (dates in UTC)."""
    settings = quizzes.settings_of(quiz)
    form: dict[str, str] = {"title": quiz.title, "description": quiz.description, "tz": "UTC",
                            "behaviour": settings.behaviour.value, "tries": str(settings.tries),
                            "time_limit_minutes": str(settings.time_limit_minutes or ""),
                            "attempts_allowed": str(settings.attempts_allowed or ""),
                            "grading_method": settings.grading_method.value}
    for name in ("open_at", "close_at"):
        value = getattr(settings, name)
        form[name] = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""
    for name in ("shuffle_questions", "shuffle_options"):
        if getattr(settings, name):
            form[name] = "on"
    for moment in REVIEW_MOMENTS:
        for switch in REVIEW_SWITCHES:
            if getattr(getattr(settings.review, moment), switch):
                form[f"review-{moment}-{switch}"] = "on"
    sections = quizzes.sections_of(quiz)
    form["sections"] = str(max(SECTIONS_SHOWN, len(sections)))
    for n, section in enumerate(sections):
        form[f"section-{n}-items"] = "\n".join(section.items)
        form[f"section-{n}-tags"] = "\n".join(section.draw.tags) if section.draw else ""
        form[f"section-{n}-count"] = str(section.draw.count) if section.draw else ""
        if section.draw is not None:
            form[f"section-{n}-mark"] = f"{section.mark_of(''):g}"
        for key in section.items:
            form[f"section-{n}-mark-{key}"] = f"{section.mark_of(key):g}"
    return form


@router.get("/quizzes/{quiz_id}/edit")
def edit_page(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    quiz, course = quizzes._instructor_quiz(session, principal, quiz_id)
    return _builder(request, session, course, form_of(quiz), [], quiz=quiz)


@router.post("/quizzes/{quiz_id}/edit")
def edit_quiz(quiz_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep, now: NowDep,
              form: CheckedForm) -> Response:
    """The builder in edit mode: a change once students have attempted the quiz is refused for what
    would change grades, said in the page's words."""
    quiz, course = quizzes._instructor_quiz(session, principal, quiz_id)
    action = str(form.get("action", "") or "")
    if is_page_action(action):  # the picker's buttons: the page again, nothing saved
        return _builder(request, session, course, apply_action(form, action), [], quiz=quiz)
    origin: list[int] = []
    try:
        data, origin = quiz_from_form(form)
        patch = QuizPatch(title=data.title, description=data.description, sections=data.sections,
                          settings=data.settings.model_dump(mode="json"))
        life.patch_quiz(session, principal, quiz_id, patch, now)
    except (ValueError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status_code in (403, 404):
            raise
        problems = _problems(exc, origin)
    else:
        return RedirectResponse(f"/quizzes/{quiz_id}/manage?message=Saved.", status_code=303)
    return _builder(request, session, course, form, problems, status_code=400, quiz=quiz)
