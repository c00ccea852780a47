"""The instructor's workspace: the bank with faceted filters, item preview with a seed picker,
and the quiz builder. Pages call the same services as the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
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
from assessments.deps import NowDep, Principal, SessionDep
from assessments.errors import Invalid
from assessments.models import Bank, Item, ItemTag
from assessments.quizzes import service as quizzes
from assessments.quizzes.schemas import Draw, QuizCreate, QuizSettings, ReviewOptions, ReviewPolicy, Section
from assessments.web.pages import WebPrincipal
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


@router.get("/bank")
def bank_page(request: Request, principal: WebPrincipal, session: SessionDep,
              tag: Annotated[list[str] | None, Query()] = None,
              q: Annotated[str | None, Query(max_length=200)] = None,
              type: Annotated[str | None, Query()] = None) -> Response:  # noqa: A002
    principal.require_staff()
    chosen = [t for t in (tag or []) if ":" in t]
    items = bank.list_items(session, principal, chosen, q or None, type or None, limit=500, offset=0)
    query = urlencode([("tag", t) for t in chosen] + [("q", q)] * bool(q))
    return page(request, "bank.html", items=items, facets=_facets(session, principal), chosen=set(chosen),
                q=q or "", type=type or "", export_formats=FORMAT_NAMES, export_query="&" + query if query else "")


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


def _when(value: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError("give times with a zone, e.g. 2026-12-01T09:00+00:00")
    return parsed


def quiz_from_form(form: Any) -> QuizCreate:
    """The builder's fields as a quiz definition; errors say which field."""
    sections = []
    for n in range(int(form.get("sections", "1") or 1)):
        fixed = _lines(str(form.get(f"section-{n}-items", "")))
        tags = _lines(str(form.get(f"section-{n}-tags", "")))
        count = str(form.get(f"section-{n}-count", "") or "0")
        mark = float(str(form.get(f"section-{n}-mark", "") or "1"))
        if fixed:
            sections.append(Section(items=fixed, mark=mark))
        elif tags or int(count) > 0:
            sections.append(Section(draw=Draw(tags=tags, count=max(1, int(count))), mark=mark))
    review = ReviewPolicy(**{
        moment: ReviewOptions(**{switch: f"review-{moment}-{switch}" in form for switch in REVIEW_SWITCHES})
        for moment in REVIEW_MOMENTS
    })
    limit = str(form.get("time_limit_minutes", "")).strip()
    allowed = str(form.get("attempts_allowed", "")).strip()
    settings = QuizSettings(
        behaviour=str(form.get("behaviour", "deferredfeedback")),
        tries=int(str(form.get("tries", "3") or 3)),
        time_limit_minutes=int(limit) if limit else None,
        attempts_allowed=int(allowed) if allowed else None,
        grading_method=str(form.get("grading_method", "highest")),
        open_at=_when(str(form.get("open_at", ""))), close_at=_when(str(form.get("close_at", ""))),
        shuffle_questions="shuffle_questions" in form, shuffle_options="shuffle_options" in form,
        review=review,
    )
    return QuizCreate(title=str(form.get("title", "")), description=str(form.get("description", "")),
                      settings=settings, sections=sections)


def _field(path: list[Any]) -> str | None:
    """The builder's field a setting's problem is about (its element's id), where it has one."""
    if len(path) == 4 and path[:2] == ["settings", "review"]:
        return f"review-{path[2]}-{path[3]}"
    return None


def _problem(path: list[Any], message: str) -> dict[str, str | None]:
    """A problem as the page shows it: at its field in the user's words, or with the setting's path."""
    field = _field(path)
    return {"field": field, "message": message if field else f"{'.'.join(map(str, path))}: {message}"}


def _builder(request: Request, session: Session, principal: Principal, course: Any, form: Any,
             problems: list[dict[str, str | None]], status_code: int = 200) -> Response:
    return page(request, "builder.html", status_code=status_code, course=course, defaults=QuizSettings(),
                problems=problems, at_field={p["field"]: p["message"] for p in problems if p["field"]},
                form=form, moments=REVIEW_MOMENTS, switches=REVIEW_SWITCHES, facets=_facets(session, principal),
                shuffle_warning=quizzes.unshuffled_warning(session).message)


@router.get("/courses/{course}/quizzes/new")
def builder_page(course: str, request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    return _builder(request, session, principal, row, {}, [])


@router.post("/courses/{course}/quizzes/new")
def build_quiz(course: str, request: Request, principal: WebPrincipal, session: SessionDep,
                     now: NowDep, form: CheckedForm) -> Response:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    problems: list[dict[str, str | None]] = []
    try:
        quiz = quizzes.create_quiz(session, principal, course, quiz_from_form(form), now)
    except ValidationError as exc:
        problems = [_problem(list(e["loc"]), e["msg"]) for e in exc.errors()]
    except (ValueError, Invalid) as exc:
        details = getattr(exc, "details", None) or []
        problems = [_problem(d["path"], d["message"]) for d in details] or [{"field": None, "message": str(exc)}]
    else:
        return RedirectResponse(f"/quizzes/{quiz.id}", status_code=303)
    return _builder(request, session, principal, row, form, problems, status_code=400)
