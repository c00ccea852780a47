"""An LMS (``lti1p3platform``) registered with Assay, its services reachable through a mock transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.lti import http, tokens
from assessments.lti.schemas import RegistrationCreate
from assessments.lti.service import register
from assessments.models import Course, Enrolment, LtiContext, LtiResourceLink, Quiz, User, utcnow
from assessments.quizzes import service as quizzes
from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
from tests.assessments.conftest import Clock
from tests.assessments.lti.platform import INSTRUCTOR, Platform


@pytest.fixture
def lms(client: TestClient, db: Session, clock: Clock) -> Iterator[Platform]:
    # The platform signs with the real clock (time.time()): the service's clock is set to it.
    clock.now = utcnow()
    platform = Platform(client)
    register(db, RegistrationCreate.model_validate(platform.registration_body()), clock.now)
    db.flush()
    platform.trust_tool_keys()
    http.use_transport(platform.transport())
    tokens.clear_cache()
    yield platform
    http.use_transport(None)
    tokens.clear_cache()


def counts(db: Session) -> dict[str, int]:
    """How many rows a launch could have provisioned."""
    return {model.__name__: db.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, Course, Enrolment, LtiContext, LtiResourceLink)}


def lti_course(db: Session, lms: Platform, *items: str) -> tuple[Course, Quiz]:
    """The LMS course as Assay knows it after an instructor's first launch, with one quiz."""
    reply = lms.launch("teacher-1", [INSTRUCTOR], deep_link=True)
    assert reply.status_code == 303, reply.text
    course = db.scalars(select(Course).join(LtiContext, LtiContext.course_id == Course.id)).one()
    return course, add_quiz(db, course, *items)


def add_quiz(db: Session, course: Course, *items: str) -> Quiz:
    return quizzes.add_quiz(db, course.id, QuizCreate(title="Reward models", settings=QuizSettings(),
                                                      sections=[Section(items=list(items or ["numeric"]))]),
                            created_by_id=None, now=utcnow())
