"""``/api/v1/courses``: courses and their enrolments."""

from __future__ import annotations

from fastapi import APIRouter, status

from assessments.auth.access import course_by_slug, require_instructor, require_member
from assessments.courses import service
from assessments.courses.schemas import CourseCreate, CourseOut, EnrolmentCreate, EnrolmentOut
from assessments.deps import CurrentPrincipal, SessionDep
from assessments.models import Course
from assessments.pagination import PageDep

router = APIRouter(prefix="/api/v1/courses", tags=["courses"])


@router.post("", response_model=CourseOut, status_code=status.HTTP_201_CREATED)
def create_course(body: CourseCreate, principal: CurrentPrincipal, session: SessionDep) -> Course:
    return service.create_course(session, principal, body)


@router.get("", response_model=list[CourseOut])
def list_courses(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> list[Course]:
    return page.rows(service.courses_for(session, principal, limit=page.fetch, offset=page.offset))


@router.get("/{course}", response_model=CourseOut)
def get_course(course: str, principal: CurrentPrincipal, session: SessionDep) -> Course:
    row = course_by_slug(session, course)
    require_member(session, principal, row)
    return row


@router.post("/{course}/enrolments", response_model=EnrolmentOut, status_code=status.HTTP_201_CREATED)
def enrol(course: str, body: EnrolmentCreate, principal: CurrentPrincipal,
          session: SessionDep) -> EnrolmentOut:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    return service.enrol(session, row, body.username, body.role)


@router.get("/{course}/enrolments", response_model=list[EnrolmentOut])
def list_enrolments(course: str, principal: CurrentPrincipal, session: SessionDep,
                    page: PageDep) -> list[EnrolmentOut]:
    row = course_by_slug(session, course)
    require_instructor(session, principal, row)
    return page.rows(service.enrolments(session, row, limit=page.fetch, offset=page.offset))
