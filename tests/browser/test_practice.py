"""A student practises in a real browser and reads their mastery; the instructor reads the class view.
At desktop width and on a 390 × 844 phone, with axe on every page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def practice_id(live_server: LiveServer) -> int:
    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.models import Course, Practice, utcnow

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        practice = Practice(course_id=course.id, title="Preferences", created_at=utcnow(),
                            concepts=["bradley-terry-model", "ranking-loss-intuition"])
        session.add(practice)
        session.flush()
        found = practice.id
    database.dispose()
    return found


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", SIZES)
def test_practice_mastery_and_class_view(browser: Any, live_server: LiveServer, practice_id: int, size: str) -> None:
    viewport = SIZES[size]
    student = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    student.errors = []
    sign_in(student, live_server, "student")
    student.goto(f"{live_server.url}/practices/{practice_id}")
    assert "Check my answer" in student.content() and "New variant" in student.content()
    _no_sideways_scroll(student, viewport["width"])
    check_accessibility(student)
    shoot(student, f"practice-question-{size}")

    student.click("form[action$='/answer'] button[type=submit]")  # nothing answered: refused at the field
    assert "There is a problem" in student.content() and "answer the question first" in student.content()
    check_accessibility(student)
    student.click("form[action$='/variant'] button[type=submit]")
    assert "Check my answer" in student.content()

    student.goto(f"{live_server.url}/practices/{practice_id}/mastery")
    assert student.locator("svg.concept-map").count() == 1
    assert student.locator("table.list tbody tr").count() == 2
    _no_sideways_scroll(student, viewport["width"])
    check_accessibility(student)
    shoot(student, f"practice-mastery-{size}")
    student.context.close()

    teacher = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(teacher, live_server, "instructor")
    teacher.goto(f"{live_server.url}/practices/{practice_id}/class")
    assert "1 student practised" in teacher.content()
    _no_sideways_scroll(teacher, viewport["width"])
    check_accessibility(teacher)
    shoot(teacher, f"practice-class-{size}")
    teacher.context.close()
