"""Creating courses and enrolling people."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.courses.schemas import CourseCreate, EnrolmentOut
from assessments.deps import Principal
from assessments.errors import Conflict, Invalid, NotFound
from assessments.models import Course, CourseRole, Enrolment, User

RESERVED_SLUG_PREFIX = "lti-"
"""Slugs of the courses LMS launches create (``lti-`` and random hex): nobody else may take one."""


def create_course(session: Session, principal: Principal, data: CourseCreate) -> Course:
    principal.require_staff()
    if data.slug.startswith(RESERVED_SLUG_PREFIX):
        raise Invalid(f"course slugs that start with {RESERVED_SLUG_PREFIX!r} are reserved for the courses LMS "
                      "launches create: choose another slug", code="reserved_slug")
    if session.scalars(select(Course.id).where(Course.slug == data.slug)).first() is not None:
        raise Conflict(f"course {data.slug!r} exists")
    course = Course(slug=data.slug, title=data.title)
    session.add(course)
    session.flush()
    if not principal.is_admin:
        session.add(Enrolment(course_id=course.id, user_id=principal.user.id, role=CourseRole.INSTRUCTOR))
    return course


def courses_for(session: Session, principal: Principal, *, limit: int | None = None,
                offset: int = 0) -> list[Course]:
    query = select(Course).order_by(Course.slug)
    if not principal.is_admin:
        query = query.join(Enrolment, Enrolment.course_id == Course.id).where(
            Enrolment.user_id == principal.user.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def enrol(session: Session, course: Course, username: str, role: CourseRole) -> EnrolmentOut:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    enrolment = session.scalars(select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.user_id == user.id)).first()
    if enrolment is None:
        session.add(Enrolment(course_id=course.id, user_id=user.id, role=role))
    else:
        enrolment.role = role
    session.flush()
    return EnrolmentOut(user_id=user.id, username=user.username, display_name=user.display_name, role=role)


def enrolments(session: Session, course: Course, *, limit: int | None = None,
               offset: int = 0) -> list[EnrolmentOut]:
    rows = session.execute(
        select(User, Enrolment.role).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.course_id == course.id).order_by(User.username).limit(limit).offset(offset)
    )
    return [EnrolmentOut(user_id=u.id, username=u.username, display_name=u.display_name, role=r)
            for u, r in rows]
