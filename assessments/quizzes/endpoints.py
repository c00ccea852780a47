"""``/api/v1/courses/{course}/quizzes`` and ``/api/v1/quizzes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep
from assessments.models import Course, Quiz
from assessments.pagination import PageDep
from assessments.quizzes import life, overrides, service
from assessments.quizzes.schemas import (
    GroupIn,
    GroupOut,
    OverrideIn,
    OverrideOut,
    PinChanges,
    PinUpdate,
    QuizCreate,
    QuizCreated,
    QuizDuplicate,
    QuizOut,
    QuizPatch,
    QuizPins,
    QuizRemoved,
    QuizSummary,
    StatusChange,
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
def get_quiz(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep) -> QuizOut:
    """The quiz; a student sees their own dates, time limit and attempts (their overrides applied),
    and no draft or archived quiz (404)."""
    return service.quiz_out_for(session, principal, quiz_id, now)


def _out(session: SessionDep, quiz: Quiz) -> QuizOut:
    course = session.get(Course, quiz.course_id)
    assert course is not None
    return service.quiz_out(quiz, course)


@router.patch("/quizzes/{quiz_id}", response_model=QuizOut,
              responses={409: {"description": "students' attempts forbid changing the fields named"}})
def patch_quiz(quiz_id: RowId, body: QuizPatch, principal: CurrentPrincipal, session: SessionDep,
               now: NowDep) -> QuizOut:
    """Instructors: change a quiz. Anything while no student has attempted it; after, only what
    changes no grade (dates, time limit, attempts allowed, review options, shuffling); 409 names
    the fields refused."""
    return _out(session, life.patch_quiz(session, principal, quiz_id, body, now))


@router.put("/quizzes/{quiz_id}/status", response_model=QuizOut)
def set_status(quiz_id: RowId, body: StatusChange, principal: CurrentPrincipal, session: SessionDep,
               now: NowDep) -> QuizOut:
    """Instructors: publish, unpublish (draft), schedule publication (draft with ``publish_at``),
    close (no new attempts; those under way end) or archive."""
    return _out(session, life.set_status(session, principal, quiz_id, body, now))


@router.post("/quizzes/{quiz_id}/duplicate", response_model=QuizOut, status_code=status.HTTP_201_CREATED)
def duplicate_quiz(quiz_id: RowId, body: QuizDuplicate, principal: CurrentPrincipal, session: SessionDep,
                   now: NowDep) -> QuizOut:
    """Instructors: a draft copy of the quiz, in its course or another course the caller teaches."""
    return _out(session, life.duplicate(session, principal, quiz_id, body, now))


@router.delete("/quizzes/{quiz_id}", response_model=QuizRemoved)
def delete_quiz(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep, now: NowDep) -> QuizRemoved:
    """Instructors: delete a quiz no student has attempted; one they have is archived instead, its
    attempts and grades kept (``outcome`` says which)."""
    return life.remove(session, principal, quiz_id, now)


# --- accommodations -------------------------------------------------------------------------------


@router.get("/quizzes/{quiz_id}/overrides", response_model=list[OverrideOut])
def list_overrides(quiz_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                   page: PageDep) -> list[OverrideOut]:
    """Instructors: the quiz's per-student and per-group overrides."""
    return page.rows(overrides.list_overrides(session, principal, quiz_id, limit=page.fetch, offset=page.offset))


@router.post("/quizzes/{quiz_id}/overrides", response_model=OverrideOut, status_code=status.HTTP_201_CREATED)
def add_override(quiz_id: RowId, body: OverrideIn, principal: CurrentPrincipal, session: SessionDep,
                 now: NowDep) -> OverrideOut:
    """Instructors: other dates, time limit (or a multiplier) or attempts for one student or group;
    the most generous applies where several do, and attempts under way are extended."""
    return overrides.save_override(session, principal, quiz_id, body, now)


@router.put("/quizzes/{quiz_id}/overrides/{override_id}", response_model=OverrideOut)
def change_override(quiz_id: RowId, override_id: RowId, body: OverrideIn, principal: CurrentPrincipal,
                    session: SessionDep, now: NowDep) -> OverrideOut:
    return overrides.save_override(session, principal, quiz_id, body, now, override_id)


@router.delete("/quizzes/{quiz_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_override(quiz_id: RowId, override_id: RowId, principal: CurrentPrincipal,
                    session: SessionDep) -> None:
    overrides.delete_override(session, principal, quiz_id, override_id)


@router.get("/courses/{course}/groups", response_model=list[GroupOut])
def list_groups(course: str, principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[GroupOut]:
    """Instructors: the course's groups (named sets of students, for overrides)."""
    return page.rows(overrides.list_groups(session, principal, course, limit=page.fetch, offset=page.offset))


@router.post("/courses/{course}/groups", response_model=GroupOut, status_code=status.HTTP_201_CREATED)
def add_group(course: str, body: GroupIn, principal: CurrentPrincipal, session: SessionDep,
              now: NowDep) -> GroupOut:
    return overrides.save_group(session, principal, course, body, now)


@router.put("/courses/{course}/groups/{group_id}", response_model=GroupOut)
def change_group(course: str, group_id: RowId, body: GroupIn, principal: CurrentPrincipal, session: SessionDep,
                 now: NowDep) -> GroupOut:
    """Rename a group and set its members (students who join get its overrides at once)."""
    return overrides.save_group(session, principal, course, body, now, group_id)


@router.delete("/courses/{course}/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_group(course: str, group_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> None:
    overrides.delete_group(session, principal, course, group_id)


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
