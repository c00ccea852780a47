"""The practice pages: a student's mastery (with a map of the concept graph) and the instructor's class view.

Both read the practice domain's views (the same as ``/api/v1/practices/{id}/mastery`` and
``/class``); the map is inline SVG laid out here, one column per depth of prerequisites, so it
needs no script and no CDN and scales to the page's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assessments.deps import NowDep, RowId, SessionDep, SettingsDep
from assessments.practice import service
from assessments.practice.schemas import ConceptOut
from assessments.web.pages import WebPrincipal
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
