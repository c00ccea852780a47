"""``/api/v1/courses/{course}/quizzes`` and ``/api/v1/quizzes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep
from assessments.models import Course
from assessments.pagination import PageDep
from assessments.quizzes import service
from assessments.quizzes.schemas import (
    PinChanges,
    PinUpdate,
    QuizCreate,
    QuizCreated,
    QuizOut,
    QuizPins,
    QuizSummary,
)

router = APIRouter(prefix="/api/v1", tags=["quizzes"])


@router.post("/courses/{course}/quizzes", response_model=QuizCreated, status_code=status.HTTP_201_CREATED)
def create_quiz(course: str, body: QuizCreate, principal: CurrentPrincipal, session: SessionDep,
                now: NowDep) -> QuizCreated:
    quiz = service.create_quiz(session, principal, course, body, now)
    row = session.get(Course, quiz.course_id)
    assert row is not None
    made = service.quiz_out(quiz, row)
    return QuizCreated(**made.model_dump(), warnings=service.quiz_warnings(session, body))


@router.get("/quizzes", response_model=list[QuizSummary])
def list_quizzes(principal: CurrentPrincipal, session: SessionDep, now: NowDep, page: PageDep,
                 course: Annotated[str | None, Query()] = None) -> list[QuizSummary]:
    return page.rows(service.list_quizzes(session, principal, course, now, limit=page.fetch, offset=page.offset))


@router.get("/quizzes/{quiz_id}", response_model=QuizOut)
def get_quiz(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> QuizOut:
    quiz, course = service.quiz_for(session, principal, quiz_id)
    return service.quiz_out(quiz, course)


@router.get("/quizzes/{quiz_id}/pins", response_model=QuizPins)
def quiz_pins(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> QuizPins:
    """Instructors: the version of each item the quiz gives (fixed items and draw pools), and the
    newest version of each. New versions reach the quiz only through ``POST .../pins``."""
    return service.quiz_pins(session, principal, quiz_id)


@router.post("/quizzes/{quiz_id}/pins", response_model=PinChanges)
def update_pins(quiz_id: RowId, body: PinUpdate, principal: CurrentPrincipal, session: SessionDep,
                dry_run: Annotated[bool, Query()] = True) -> PinChanges:
    """Instructors: move the quiz to its items' current versions (``dry_run=false`` to do it).
    New attempts get them; finished attempts change only by a regrade."""
    return service.update_pins(session, principal, quiz_id, body, dry_run=dry_run)
