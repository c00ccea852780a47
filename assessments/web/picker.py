"""The quiz builder's item picker and its draws' live counts, for the page with and without
JavaScript.

Without JavaScript, the builder's form carries the picker's filters and buttons: "Search", "Add
the chosen items" and each item's "Remove" post the whole form, which comes back with the
results, the sections as changed and every value kept (nothing is saved until "Create" or
"Save"). With JavaScript (``static/builder.js``), the same results and counts come from
``GET /courses/{course}/quizzes/picker`` as the instructor types.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import MultiDict

from assessments.auth.access import course_by_slug, require_instructor
from assessments.deps import SessionDep
from assessments.quizzes import picker
from assessments.quizzes.picker import PickerQuery
from assessments.web.pages import WebPrincipal

router = APIRouter(include_in_schema=False)

ACTIONS = ("search", "add", "count")
"""The builder's buttons that change the page, not the quiz (with ``remove-{n}-{key}``)."""


def lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def query_of(form: Any) -> PickerQuery:
    """The picker's filters as the builder's form holds them (cut to their bounds, never refused:
    a search is not a thing to get wrong)."""
    getlist = getattr(form, "getlist", None)
    tags = [str(t) for t in (getlist("pick-tag") if getlist else [form.get("pick-tag", "")]) if t][:20]
    return PickerQuery(q=str(form.get("pick-q", "") or "")[:200], type=str(form.get("pick-type", "") or "")[:40],
                       tags=[t[:200] for t in tags], concepts=[str(form.get("pick-concept", "") or "")[:200]])


def is_page_action(action: str) -> bool:
    return action in ACTIONS or action.startswith("remove-")


def apply_action(form: Any, action: str) -> MultiDict:
    """The form as the button asks: the chosen items added to a section's fixed items, or one
    removed; a search or a count changes nothing (the page shows the results)."""
    changed = MultiDict(form.multi_items() if hasattr(form, "multi_items") else list(form.items()))
    changed.poplist("action")
    if action == "add":
        try:
            n = max(0, min(int(str(form.get("pick-section", "0") or "0")), 99))
        except ValueError:
            n = 0
        field = f"section-{n}-items"
        items = lines(changed.get(field, ""))
        items += [str(key) for key in changed.getlist("pick") if str(key) not in items]
        changed[field] = "\n".join(items)
        changed.poplist("pick")
        shown = int(str(changed.get("sections", "3") or "3")) if str(changed.get("sections", "3")).isdigit() else 3
        changed["sections"] = str(max(shown, n + 1))
    elif action.startswith("remove-"):
        n_text, _, key = action.removeprefix("remove-").partition("-")
        field = f"section-{n_text}-items"
        changed[field] = "\n".join(k for k in lines(changed.get(field, "")) if k != key)
        changed.poplist(f"section-{n_text}-mark-{key}")
    return changed


def builder_extras(session: Session, course_id: int, form: Any, shown: int) -> dict[str, Any]:
    """What the builder shows beside its fields: the picker's filters and results, each section's
    fixed items (title and default mark) and each draw's count of matching items."""
    query = query_of(form)
    found = picker.find(session, course_id, query)
    fixed = {n: lines(form.get(f"section-{n}-items", "")) for n in range(shown)}
    known = picker.by_keys(session, course_id, [key for keys in fixed.values() for key in keys])
    matches: dict[int, picker.Found] = {}
    for n in range(shown):
        tags = lines(form.get(f"section-{n}-tags", ""))
        if tags:
            matches[n] = picker.find(session, course_id, PickerQuery(tags=tags[:20]), limit=0, marks=True)
    return {"picker": query, "found": found, "picker_facets": picker.facets(session, course_id),
            "picker_concepts": picker.concepts(session, course_id), "picker_types": picker.QUESTION_TYPES,
            "fixed": {n: [(key, known.get(key)) for key in keys] for n, keys in fixed.items()},
            "matches": matches, "picker_shown": picker.SHOWN}


@router.get("/courses/{course}/quizzes/picker")
def picker_results(course: str, principal: WebPrincipal, session: SessionDep,
                   q: Annotated[str, Query(max_length=200)] = "",
                   type: Annotated[str, Query(max_length=40)] = "",  # noqa: A002 - the bank page's name
                   tag: Annotated[list[str] | None, Query(max_length=20)] = None,
                   concept: Annotated[list[str] | None, Query(max_length=20)] = None,
                   key: Annotated[list[str] | None, Query(max_length=200)] = None,
                   limit: Annotated[int, Query(ge=0, le=picker.SHOWN)] = picker.SHOWN,
                   marks: bool = False) -> JSONResponse:
    """The picker's results as JSON for the builder's script: ``count`` matching in all, the first
    ``limit`` ``items`` (with their ``max_mark``), a ``problem`` with a tag query that cannot
    match, and with ``marks`` the max marks of all that match (``marks``, each once: a draw's).
    With ``key``, those items only (the rows of typed ids)."""
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    if key:
        items = list(picker.by_keys(session, row.id, key).values())
        return JSONResponse({"count": len(items), "items": [asdict(i) for i in items], "problem": None,
                             "marks": None})
    found = picker.find(session, row.id, PickerQuery(q=q, type=type, tags=tag or [], concepts=concept or []),
                        limit=limit, marks=marks)
    return JSONResponse({"count": found.count, "items": [asdict(i) for i in found.items], "problem": found.problem,
                         "marks": found.marks})


__all__ = ["router"]
