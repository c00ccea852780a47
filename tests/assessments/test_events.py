"""Events: domains publish what happened, listeners run in the same transaction, and no domain
imports the LMS integration or the pages (the house's rules, checked on the source)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from assessments import events
from assessments.attempts.service import finish, grade_changed, start
from assessments.auth.tokens import ALL_SCOPES
from assessments.deps import Account, Principal
from assessments.models import CourseRole, utcnow
from tests.assessments.conftest import World
from tests.conftest import ROOT

DOMAINS = ("attempts", "audit", "auth", "bank", "courses", "grading", "interop", "quizzes", "reports")
"""The domains: none may import ``assessments.lti`` or ``assessments.web``."""
SHARED = ("deps.py", "db.py", "errors.py", "events.py", "jobs.py", "security.py", "limits.py")
"""Shared modules the API and the pages both take from: they may not import the pages either."""


@pytest.fixture
def heard() -> Iterator[list[events.Event]]:
    """Every AttemptFinished and GradeChanged published while the test runs."""
    got: list[events.Event] = []

    def listen(_session: Session, event: events.Event, _now: datetime) -> None:
        got.append(event)

    events.subscribe(events.AttemptFinished, events.GradeChanged)(listen)
    yield got
    for kind in (events.AttemptFinished, events.GradeChanged):
        events._listeners[kind].remove(listen)


def test_finishing_and_grading_publish_events_that_listeners_hear(world: World, db: Session,
                                                                  heard: list[events.Event]) -> None:
    student = world.user("ada")
    course = world.course("llms", (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["numeric"])
    principal = Principal(Account.of(student), ALL_SCOPES, "session")
    attempt = start(db, principal, quiz.id, utcnow()).attempt
    finish(db, attempt, None, utcnow())
    finish(db, attempt, None, utcnow())  # finished already: nothing new happened
    grade_changed(db, attempt, utcnow())
    assert heard == [events.AttemptFinished(attempt.id, quiz.id, student.id),
                     events.GradeChanged(attempt.id, quiz.id, student.id)]


def test_a_failing_listener_fails_the_publisher(db: Session) -> None:
    class Broken(events.Event):
        pass

    def listener(_session: Session, _event: events.Event, _now: datetime) -> None:
        raise RuntimeError("the listener broke")

    events.subscribe(Broken)(listener)
    with pytest.raises(RuntimeError, match="the listener broke"):
        events.publish(db, Broken(), utcnow())


def test_the_lti_listener_is_loaded_by_the_first_publish() -> None:
    events._load()
    from assessments.lti import ags

    assert ags._grade_may_have_moved in events._listeners[events.GradeChanged]
    assert ags._grade_may_have_moved in events._listeners[events.AttemptFinished]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_domain_imports_the_lms_integration_or_the_pages(domain: str) -> None:
    offending = [f"{path.relative_to(ROOT)} imports {module}"
                 for path in sorted((ROOT / "assessments" / domain).rglob("*.py"))
                 for module in sorted(_imports(path))
                 if module.startswith(("assessments.lti", "assessments.web"))]
    assert offending == []


def test_shared_modules_do_not_take_from_the_pages() -> None:
    offending = [f"{name} imports {module}" for name in SHARED if (ROOT / "assessments" / name).exists()
                 for module in sorted(_imports(ROOT / "assessments" / name))
                 if module.startswith(("assessments.web", "assessments.lti"))]
    assert offending == []
