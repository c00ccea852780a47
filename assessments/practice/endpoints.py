"""``/api/v1/practices``: practice until mastered (students), and what it shows (instructors).

Every answer is graded at once with its feedback, worked solution and key: a practice counts
toward no grade, so nothing is held back once the student has answered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assessments.deps import CurrentPrincipal, NowDep, RowId, SessionDep, SettingsDep
from assessments.pagination import PageDep
from assessments.practice import schemas, service

router = APIRouter(prefix="/api/v1", tags=["practice"])


@router.post("/courses/{course}/practices", response_model=schemas.PracticeOut, status_code=201)
def create_practice(course: str, body: schemas.PracticeIn, principal: CurrentPrincipal, session: SessionDep,
                    settings: SettingsDep, now: NowDep) -> schemas.PracticeOut:
    """Make a quiz's items, or the course's items on some concepts, a practice (instructors)."""
    return service.create(session, principal, settings.content_dir, course, body, now)


@router.get("/courses/{course}/practices", response_model=list[schemas.PracticeOut])
def list_practices(course: str, principal: CurrentPrincipal, session: SessionDep,
                   page: PageDep) -> list[schemas.PracticeOut]:
    """The course's practices (its members)."""
    return page.rows(service.list_for_course(session, principal, course, limit=page.fetch, offset=page.offset))


@router.get("/practices/{practice_id}", response_model=schemas.PracticeOut)
def get_practice(practice_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> schemas.PracticeOut:
    practice, _ = service.practice_and_role(session, principal, practice_id)
    return service.out(practice)


@router.post("/practices/{practice_id}/next", response_model=schemas.NextOut)
def next_question(practice_id: RowId, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep,
                  now: NowDep) -> schemas.NextOut:
    """The student's open question, or the next one chosen for them (remediation, information,
    review); none when every concept is mastered and no review is due yet."""
    return service.next_question(session, principal, settings.content_dir, practice_id, now)


@router.post("/practices/{practice_id}/questions/{question_id}/answer", response_model=schemas.AnswerOut)
def answer(practice_id: RowId, question_id: RowId, body: schemas.AnswerIn, principal: CurrentPrincipal,
           session: SessionDep, settings: SettingsDep, now: NowDep) -> schemas.AnswerOut:
    """Grade the answer at once: the outcome, feedback, the misconception it matched, the worked
    solution, the key, and the item's concepts' mastery now. A response that cannot be graded
    (not a number, say) is refused and changes nothing."""
    return service.answer(session, principal, settings.content_dir, practice_id, question_id, body, now)


@router.post("/practices/{practice_id}/questions/{question_id}/variant", response_model=schemas.PracticeQuestionOut)
def new_variant(practice_id: RowId, question_id: RowId, principal: CurrentPrincipal, session: SessionDep,
                now: NowDep) -> schemas.PracticeQuestionOut:
    """A fresh variant (new numbers) of the same item, for a question not yet answered."""
    return service.new_variant(session, principal, practice_id, question_id, now)


@router.get("/practices/{practice_id}/mastery", response_model=schemas.MasteryOut)
def mastery(practice_id: RowId, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep,
            now: NowDep, user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> schemas.MasteryOut:
    """Each concept's state, evidence and what to do next: the caller's own, or (instructors) a student's."""
    return service.mastery(session, principal, settings.content_dir, practice_id, user_id, now)


@router.get("/practices/{practice_id}/class", response_model=schemas.ClassOut)
def class_view(practice_id: RowId, principal: CurrentPrincipal, session: SessionDep,
               settings: SettingsDep) -> schemas.ClassOut:
    """Mastery per concept across students, the concepts most missed and their commonest misconceptions."""
    return service.class_view(session, principal, settings.content_dir, practice_id)
