"""The practice pages: taking a practice, a student's mastery (with a map of the concept graph) and the
instructor's class view.

Both read the practice domain's views (the same as ``/api/v1/practices/{id}/mastery`` and
``/class``); the map is inline SVG laid out here, one column per depth of prerequisites, so it
needs no script and no CDN and scales to the page's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from assessments.deps import NowDep, RowId, SessionDep, SettingsDep
from assessments.errors import Invalid
from assessments.practice import service
from assessments.practice.schemas import AnswerIn, ConceptOut, PracticeQuestionOut
from assessments.web.forms import response_from_form
from assessments.web.pages import WebPrincipal
from assessments.web.security import CheckedForm
from assessments.web.templating import page

router = APIRouter(include_in_schema=False)

NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP = 200, 44, 60, 16


@dataclass(frozen=True)
class Node:
    concept: ConceptOut
    x: int
    y: int


@dataclass(frozen=True)
class ConceptMap:
    nodes: list[Node]
    edges: list[tuple[Node, Node]]
    width: int
    height: int


def concept_map(concepts: list[ConceptOut]) -> ConceptMap:
    """Each concept in the column of its depth (1 + its deepest prerequisite's), edges from each
    prerequisite to the concept that needs it."""
    depth: dict[str, int] = {}
    for concept in concepts:  # in prerequisite order: a concept's prerequisites come first
        depth[concept.concept] = 1 + max((depth.get(p, -1) for p in concept.prerequisites), default=-1)
    rows: dict[int, int] = {}
    nodes: dict[str, Node] = {}
    for concept in concepts:
        column = depth[concept.concept]
        row = rows.get(column, 0)
        rows[column] = row + 1
        nodes[concept.concept] = Node(concept, column * (NODE_WIDTH + COLUMN_GAP), row * (NODE_HEIGHT + ROW_GAP))
    edges = [(nodes[p], nodes[c.concept]) for c in concepts for p in c.prerequisites if p in nodes]
    columns = max(rows, default=0) + 1
    return ConceptMap(list(nodes.values()), edges, columns * NODE_WIDTH + (columns - 1) * COLUMN_GAP,
                      max(rows.values(), default=1) * (NODE_HEIGHT + ROW_GAP))


@router.get("/practices/{practice_id}/mastery")
def mastery_page(practice_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                 settings: SettingsDep, now: NowDep,
                 user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    practice, _ = service.practice_and_role(session, principal, practice_id)
    view = service.mastery(session, principal, settings.content_dir, practice_id, user_id, now)
    return page(request, "practice_mastery.html", practice=practice, view=view, graph=concept_map(view.concepts),
                node_width=NODE_WIDTH, node_height=NODE_HEIGHT)


@router.get("/practices/{practice_id}/class")
def class_page(practice_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
               settings: SettingsDep) -> Response:
    practice, _ = service.practice_and_role(session, principal, practice_id)
    view = service.class_view(session, principal, settings.content_dir, practice_id)
    return page(request, "practice_class.html", practice=practice, view=view)


SLOT = 1
"""The one question on a practice page takes the inputs of a quiz's slot 1 (macros/question.html)."""


def _question_page(request: Request, practice_id: int, question: PracticeQuestionOut | None, *, title: str,
                   problem: str | None = None, next_review: object = None, status_code: int = 200) -> Response:
    shown = None if question is None else {"slot": SLOT, "seq": 0, "question": question.question, "response": None}
    return page(request, "practice.html", status_code=status_code, practice_id=practice_id, title=title,
                question=question, shown=shown, problem=problem, next_review=next_review)


@router.get("/practices/{practice_id}")
def practice_page(practice_id: RowId, request: Request, principal: WebPrincipal, session: SessionDep,
                  settings: SettingsDep, now: NowDep) -> Response:
    """The student's open question, or a new one chosen for them."""
    practice, _ = service.practice_and_role(session, principal, practice_id)
    found = service.next_question(session, principal, settings.content_dir, practice_id, now)
    return _question_page(request, practice_id, found.question, title=practice.title, next_review=found.next_review)


@router.post("/practices/{practice_id}/questions/{question_id}/answer")
def answer_form(practice_id: RowId, question_id: RowId, request: Request, principal: WebPrincipal,
                session: SessionDep, settings: SettingsDep, now: NowDep, form: CheckedForm) -> Response:
    practice, row, item, version = service.own_question(session, principal, practice_id, question_id)
    if row.fraction is not None:  # answered already (a second submit): on to the next question
        return RedirectResponse(f"/practices/{practice_id}", status_code=303)
    question = service.question_out(row, item, version)
    response = response_from_form(question.question, SLOT, form) or {}
    try:
        graded = service.answer(session, principal, settings.content_dir, practice_id, question_id,
                                AnswerIn(response=response), now)
    except Invalid as exc:
        return _question_page(request, practice_id, question, title=practice.title,
                              problem=exc.message.removeprefix("response: "), status_code=400)
    return page(request, "practice_answer.html", practice_id=practice_id, title=practice.title, question=question,
                graded=graded)


@router.post("/practices/{practice_id}/questions/{question_id}/variant")
def variant_form(practice_id: RowId, question_id: RowId, principal: WebPrincipal, session: SessionDep,
                 now: NowDep, _form: CheckedForm) -> Response:
    service.new_variant(session, principal, practice_id, question_id, now)
    return RedirectResponse(f"/practices/{practice_id}", status_code=303)
