"""A quiz's life after it is made: publish, unpublish, schedule, close, archive; edit within what
attempts allow; duplicate; delete (or archive, when students have attempted it).

What may change once students have attempted a quiz is what changes no grade
(:data:`~assessments.quizzes.schemas.SETTINGS_AFTER_ATTEMPTS`: dates, time limit, attempts, review
options, shuffling for new attempts); a change to the sections (items, marks, draws) or to how
questions are graded (behaviour, tries, penalty, grading method) is refused with 409 naming the
fields. Staff previews do not count as attempts: a structural change deletes them, as they were
built on the structure that is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from assessments import events
from assessments.auth.access import course_by_slug, require_instructor
from assessments.deps import Principal
from assessments.errors import Conflict, Invalid
from assessments.events import QuizOpening
from assessments.models import Attempt, AttemptState, Quiz, QuizItem, QuizStatus
from assessments.quizzes import rules
from assessments.quizzes.schemas import (
    SETTINGS_AFTER_ATTEMPTS,
    QuizCreate,
    QuizDuplicate,
    QuizPatch,
    QuizRemoved,
    QuizSettings,
    QuizStatusName,
    Section,
    StatusChange,
)
from assessments.quizzes.service import (
    _instructor_quiz,
    _resolve,
    add_quiz,
    pinned,
    sections_of,
    settings_of,
    settings_problems,
    stored_sections,
    student_attempts,
)


def set_status(session: Session, principal: Principal, quiz_id: int, body: StatusChange, now: datetime) -> Quiz:
    """Publish, unpublish (back to draft), schedule (a draft with ``publish_at``), close or archive.
    Closing or archiving ends the attempts under way: their deadline becomes now, and the sweep
    grades them after the grace period."""
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    quiz.status = QuizStatus(body.status.value)
    quiz.publish_at = body.publish_at if quiz.status == QuizStatus.DRAFT else None
    quiz.updated_at = now
    if quiz.status in (QuizStatus.CLOSED, QuizStatus.ARCHIVED):
        session.execute(update(Attempt).where(
            Attempt.quiz_id == quiz.id, Attempt.state == AttemptState.IN_PROGRESS,
            or_(Attempt.deadline_at.is_(None), Attempt.deadline_at > now)).values(deadline_at=now))
    session.flush()
    if quiz.status == QuizStatus.PUBLISHED or quiz.publish_at is not None:
        events.publish(session, QuizOpening(quiz.id), now)
    return quiz


def _settings_problems(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"path": ["settings", *e["loc"]], "message": e["msg"].removeprefix("Value error, ")}
            for e in exc.errors()]


def _planned(quiz: Quiz, body: QuizPatch, stored: list[dict[str, Any]] | None,
             ) -> tuple[QuizSettings, list[Section] | None, list[str]]:
    """The settings and sections the change asks for (None: the sections stay), and the fields it
    changes that would change students' grades; ``stored`` is the sections asked for as the quiz
    would store them (their marks resolved), which is what is compared."""
    current = settings_of(quiz)
    settings = current
    if body.settings is not None:
        try:
            settings = QuizSettings.model_validate({**current.model_dump(mode="json"), **body.settings})
        except ValidationError as exc:
            raise Invalid("the quiz's settings cannot be changed so", details=_settings_problems(exc),
                          code="invalid_quiz") from None
    changed = sorted(f"settings.{name}" for name in QuizSettings.model_fields
                     if getattr(settings, name) != getattr(current, name) and name not in SETTINGS_AFTER_ATTEMPTS)
    sections = body.sections
    if sections is not None and stored != quiz.sections:
        changed.append("sections")
    else:
        sections = None
    return settings, sections, changed


def patch_quiz(session: Session, principal: Principal, quiz_id: int, body: QuizPatch, now: datetime) -> Quiz:
    """Change the fields given; refused (409, naming them) where students' attempts forbid it."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    if quiz.status == QuizStatus.ARCHIVED:
        raise Conflict("an archived quiz does not change: duplicate it to make a new one", code="quiz_archived")
    pins: list[Any] = []
    found: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] | None = None
    if body.sections is not None:
        pins, found = _resolve(session, course.id, body.sections)
        stored, unmarked = stored_sections(body.sections, pins)
        found.extend(unmarked)
    settings, sections, changed = _planned(quiz, body, stored)
    attempts = student_attempts(session, quiz.id)
    if attempts and changed:
        raise Conflict(f"students have made {attempts} attempt(s) at this quiz: {', '.join(changed)} would change "
                       "their grades, so cannot change now (duplicate the quiz to make a new one)",
                       code="quiz_has_attempts", details={"fields": changed, "attempts": attempts})
    problems = settings_problems(settings) if settings != settings_of(quiz) else []
    if sections is not None:
        problems.extend(found)
    if problems:
        raise Invalid("the quiz cannot be changed so", details=problems, code="invalid_quiz")
    quiz.title = body.title if body.title is not None else quiz.title
    quiz.description = body.description if body.description is not None else quiz.description
    quiz.settings = settings.model_dump(mode="json")
    if sections is not None:
        # previews were built on the sections that are gone (students' attempts forbid this change)
        session.execute(delete(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.preview.is_(True)))
        session.execute(delete(QuizItem).where(QuizItem.quiz_id == quiz.id))
        assert stored is not None
        quiz.sections = stored
        session.add_all(QuizItem(quiz_id=quiz.id, section=n, item_id=item.id, item_version_id=version.id)
                        for n, item, version in pins)
    quiz.updated_at = now
    session.flush()
    extend_open_attempts(session, quiz, now)
    return quiz


def extend_open_attempts(session: Session, quiz: Quiz, now: datetime, user_ids: set[int] | None = None) -> int:
    """Give the attempts under way (of ``user_ids``, or everyone's) the deadline what applies to
    their students now allows, where it is later than theirs: a longer time or a later closing
    extends an attempt; nothing shortens one already under way. How many were extended."""
    query = select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.state == AttemptState.IN_PROGRESS,
                                  Attempt.deadline_at.is_not(None))
    if user_ids is not None:
        query = query.where(Attempt.user_id.in_(user_ids))
    extended = 0
    for attempt in session.scalars(query.with_for_update()):
        if attempt.preview:
            continue
        assert attempt.deadline_at is not None
        new = rules.deadline(attempt.started_at, rules.applied(session, quiz, attempt.user_id, now))
        if new is None or new > attempt.deadline_at:
            attempt.deadline_at = new
            extended += 1
    session.flush()
    return extended


def duplicate(session: Session, principal: Principal, quiz_id: int, body: QuizDuplicate, now: datetime) -> Quiz:
    """A draft copy of the quiz, in its course or another the caller teaches. In its own course the
    copy gives the same versions; in another, each section is resolved again from the banks that
    course may use (refused, at the section, where it cannot be built)."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    target = course
    if body.course is not None and body.course != course.slug:
        target = course_by_slug(session, body.course)
        require_instructor(session, principal, target)
    data = QuizCreate(title=body.title or f"{quiz.title} (copy)"[:300], description=quiz.description,
                      settings=settings_of(quiz), sections=sections_of(quiz), status="draft")
    if target.id != course.id:
        return add_quiz(session, target.id, data, created_by_id=principal.user.id, now=now)
    copy = Quiz(course_id=course.id, title=data.title, description=quiz.description, settings=quiz.settings,
                sections=quiz.sections, created_by_id=principal.user.id, created_at=now, updated_at=now,
                status=QuizStatus.DRAFT)
    session.add(copy)
    session.flush()
    session.add_all(QuizItem(quiz_id=copy.id, section=pin.section, item_id=pin.item_id,
                             item_version_id=pin.item_version_id) for pin, _, _ in pinned(session, quiz.id))
    session.flush()
    return copy


def remove(session: Session, principal: Principal, quiz_id: int, now: datetime) -> QuizRemoved:
    """Delete a quiz no student has attempted (its previews go with it); archive one they have,
    keeping their attempts and grades."""
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    attempts = student_attempts(session, quiz.id)
    if attempts:
        set_status(session, principal, quiz.id, StatusChange(status=QuizStatusName.ARCHIVED), now)
        return QuizRemoved(id=quiz_id, outcome="archived", attempts=attempts)
    session.execute(delete(Attempt).where(Attempt.quiz_id == quiz.id))
    session.delete(quiz)
    session.flush()
    return QuizRemoved(id=quiz_id, outcome="deleted", attempts=0)
