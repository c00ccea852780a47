"""Accommodations: a course's groups, and overrides of a quiz's dates, time and attempts for one
student or one group. :mod:`assessments.quizzes.rules` lays them over the quiz wherever its
settings are enforced; a change here extends the attempts under way that it now allows more time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assessments.auth.access import course_by_slug, require_instructor
from assessments.deps import Principal
from assessments.errors import Conflict, Invalid, NotFound
from assessments.models import (
    Course,
    CourseGroup,
    CourseGroupMember,
    CourseRole,
    Enrolment,
    Quiz,
    QuizOverride,
    User,
)
from assessments.quizzes.life import extend_open_attempts
from assessments.quizzes.schemas import GroupIn, GroupOut, OverrideIn, OverrideOut
from assessments.quizzes.service import _instructor_quiz

# --- groups --------------------------------------------------------------------------------------


def _students(session: Session, course: Course, usernames: list[str]) -> list[User]:
    """The course's students named (400 naming those who are not)."""
    wanted = list(dict.fromkeys(usernames))
    found = {u.username: u for u in session.scalars(
        select(User).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.course_id == course.id, Enrolment.role == CourseRole.STUDENT, User.username.in_(wanted)))}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise Invalid(f"not students of {course.slug}: {', '.join(missing)}", code="not_a_student",
                      details=[{"path": ["members"], "message": f"{name!r} is not a student of this course"}
                               for name in missing])
    return [found[name] for name in wanted]


def _group_out(session: Session, group: CourseGroup, course: Course) -> GroupOut:
    members = list(session.scalars(select(User.username).join(CourseGroupMember, CourseGroupMember.user_id == User.id)
                                   .where(CourseGroupMember.group_id == group.id).order_by(User.username)))
    return GroupOut(id=group.id, course=course.slug, name=group.name, members=members)


def _teaching(session: Session, principal: Principal, course_slug: str) -> Course:
    course = course_by_slug(session, course_slug)
    require_instructor(session, principal, course)
    return course


def list_groups(session: Session, principal: Principal, course_slug: str, *, limit: int | None = None,
                offset: int = 0) -> list[GroupOut]:
    course = _teaching(session, principal, course_slug)
    groups = session.scalars(select(CourseGroup).where(CourseGroup.course_id == course.id)
                             .order_by(CourseGroup.name, CourseGroup.id).limit(limit).offset(offset))
    return [_group_out(session, g, course) for g in groups]


def save_group(session: Session, principal: Principal, course_slug: str, body: GroupIn, now: datetime,
               group_id: int | None = None) -> GroupOut:
    """Make a group, or (``group_id``) rename it and set its members; the quizzes' attempts under
    way of students who join get what the group's overrides now allow."""
    course = _teaching(session, principal, course_slug)
    students = _students(session, course, body.members)
    clash = session.scalars(select(CourseGroup).where(CourseGroup.course_id == course.id,
                                                      CourseGroup.name == body.name)).first()
    if clash is not None and clash.id != group_id:
        raise Conflict(f"the course has a group {body.name!r} already", code="group_exists")
    if group_id is None:
        group = CourseGroup(course_id=course.id, name=body.name, created_at=now)
        session.add(group)
        session.flush()
    else:
        group = _group(session, course, group_id)
        group.name = body.name
        session.execute(delete(CourseGroupMember).where(CourseGroupMember.group_id == group.id))
    session.add_all(CourseGroupMember(group_id=group.id, user_id=s.id) for s in students)
    session.flush()
    for quiz in session.scalars(select(Quiz).join(QuizOverride, QuizOverride.quiz_id == Quiz.id)
                                .where(QuizOverride.group_id == group.id)):
        extend_open_attempts(session, quiz, now, {s.id for s in students})
    return _group_out(session, group, course)


def _group(session: Session, course: Course, group_id: int) -> CourseGroup:
    group = session.get(CourseGroup, group_id)
    if group is None or group.course_id != course.id:
        raise NotFound(f"no group {group_id} in {course.slug}")
    return group


def delete_group(session: Session, principal: Principal, course_slug: str, group_id: int) -> None:
    """Remove a group and its overrides (attempts under way keep the deadline they have)."""
    course = _teaching(session, principal, course_slug)
    session.delete(_group(session, course, group_id))
    session.flush()


# --- overrides -----------------------------------------------------------------------------------


def _override_out(session: Session, row: QuizOverride, extended: int = 0) -> OverrideOut:
    user = session.get(User, row.user_id) if row.user_id is not None else None
    group = session.get(CourseGroup, row.group_id) if row.group_id is not None else None
    return OverrideOut(id=row.id, quiz_id=row.quiz_id, user=user.username if user else None,
                       group=group.name if group else None, open_at=row.open_at, close_at=row.close_at,
                       time_limit_minutes=row.time_limit_minutes, time_multiplier=row.time_multiplier,
                       attempts_allowed=row.attempts_allowed, unlimited_attempts=row.unlimited_attempts,
                       extended_attempts=extended)


def list_overrides(session: Session, principal: Principal, quiz_id: int, *, limit: int | None = None,
                   offset: int = 0) -> list[OverrideOut]:
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    rows = session.scalars(select(QuizOverride).where(QuizOverride.quiz_id == quiz.id).order_by(QuizOverride.id)
                           .limit(limit).offset(offset))
    return [_override_out(session, row) for row in rows]


def _fields(row: QuizOverride, body: OverrideIn) -> None:
    row.open_at, row.close_at = body.open_at, body.close_at
    row.time_limit_minutes, row.time_multiplier = body.time_limit_minutes, body.time_multiplier
    row.attempts_allowed, row.unlimited_attempts = body.attempts_allowed, body.unlimited_attempts


def _affected(session: Session, row: QuizOverride) -> set[int]:
    if row.user_id is not None:
        return {row.user_id}
    return set(session.scalars(select(CourseGroupMember.user_id).where(CourseGroupMember.group_id == row.group_id)))


def save_override(session: Session, principal: Principal, quiz_id: int, body: OverrideIn, now: datetime,
                  override_id: int | None = None) -> OverrideOut:
    """Make an override (one per student and per group at a quiz: 409 for a second), or replace
    one's fields (``override_id``); attempts under way that it allows more time are extended."""
    quiz, course = _instructor_quiz(session, principal, quiz_id)
    if override_id is not None:
        row = _override(session, quiz, override_id)
    else:
        row = QuizOverride(quiz_id=quiz.id, created_at=now)
    if body.user is not None:
        row.user_id, row.group_id = _students(session, course, [body.user])[0].id, None
    else:
        group = session.scalars(select(CourseGroup).where(CourseGroup.course_id == course.id,
                                                          CourseGroup.name == body.group)).first()
        if group is None:
            raise Invalid(f"no group {body.group!r} in {course.slug}", code="no_group",
                          details=[{"path": ["group"], "message": f"no group {body.group!r} in this course"}])
        row.user_id, row.group_id = None, group.id
    _fields(row, body)
    row.updated_at = now
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        who = f"student {body.user!r}" if body.user else f"group {body.group!r}"
        raise Conflict(f"the quiz has an override for {who} already: change that one", code="override_exists") from None
    extended = extend_open_attempts(session, quiz, now, _affected(session, row))
    return _override_out(session, row, extended)


def _override(session: Session, quiz: Quiz, override_id: int) -> QuizOverride:
    row = session.get(QuizOverride, override_id)
    if row is None or row.quiz_id != quiz.id:
        raise NotFound(f"no override {override_id} at quiz {quiz.id}")
    return row


def delete_override(session: Session, principal: Principal, quiz_id: int, override_id: int) -> None:
    """Remove an override: new attempts get the quiz's settings; attempts under way keep their deadline."""
    quiz, _ = _instructor_quiz(session, principal, quiz_id)
    session.delete(_override(session, quiz, override_id))
    session.flush()
