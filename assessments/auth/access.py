"""Who may do what: course membership and roles, checked by every endpoint that needs them.

A course a caller does not belong to is reported as not found (404), so its existence does not
leak; a member without the right role gets 403.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.deps import Principal
from assessments.errors import Forbidden, NotFound
from assessments.models import Course, CourseRole, Enrolment


def course_by_slug(session: Session, slug: str) -> Course:
    course = session.scalars(select(Course).where(Course.slug == slug)).first()
    if course is None:
        raise NotFound(f"no course {slug!r}")
    return course


def course_role(session: Session, principal: Principal, course_id: int) -> CourseRole | None:
    """The caller's role in a course; admins act as instructors everywhere."""
    if principal.is_admin:
        return CourseRole.INSTRUCTOR
    return session.scalars(
        select(Enrolment.role).where(Enrolment.course_id == course_id,
                                     Enrolment.user_id == principal.user.id)
    ).first()


def require_member(session: Session, principal: Principal, course: Course) -> CourseRole:
    role = course_role(session, principal, course.id)
    if role is None:
        raise NotFound(f"no course {course.slug!r}")
    return role


def require_instructor(session: Session, principal: Principal, course: Course) -> None:
    if require_member(session, principal, course) != CourseRole.INSTRUCTOR:
        raise Forbidden("instructors of this course only")
