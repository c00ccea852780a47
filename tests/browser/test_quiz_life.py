"""A quiz's life in a real browser: an instructor builds a draft the student cannot see, previews
it (the preview counted nowhere), publishes it, gives the student one and a half times the time
limit, the student sees and gets their own limit, and the quiz is archived. Desktop and 390 px
wide (no sideways scroll), axe on every page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SEED_ITEM = "ranking-loss-which-pair-is-penalised"
PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide: {wide}"


def _student(browser: Any, live_server: LiveServer, viewport: dict[str, int]) -> Any:
    student = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(student, live_server, "student")
    return student


def test_a_quiz_from_draft_to_archived(page: Any, browser: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/courses/foundations-of-llms/quizzes/new")
    page.fill("#title", "Life check")
    page.fill("#section-0-items", SEED_ITEM)
    page.fill("#time_limit_minutes", "20")
    page.click("form.builder > button[type=submit]")
    page.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    quiz_url = page.url
    quiz_id = int(quiz_url.rsplit("/", 1)[1])
    assert "This quiz is draft: students do not see it" in page.locator("p.notice").inner_text()
    check_accessibility(page)

    # the student cannot see the draft
    phone = _student(browser, live_server, PHONE)
    phone.goto(quiz_url)
    assert "This quiz is not open yet" in phone.content()
    assert phone.locator("form[action$='/start']").count() == 0
    _no_sideways_scroll(phone)
    check_accessibility(phone)

    # the instructor previews it: an attempt marked as a preview, counted in no grade
    page.click("form[action$='/start'] button")
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    page.click("button[value=finish]")
    page.wait_for_url(re.compile(r".*/finish$"))
    page.click("form[data-submit-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/review$"))
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    assert page.locator("span.pill", has_text="preview").count() == 1
    assert page.locator("a.button", has_text="Delete").inner_text() == "Delete", "a preview is no student attempt"
    shoot(page, "quiz-life-manage-draft")
    check_accessibility(page)

    # published, and the student gets one and a half times the limit
    page.click("form[action$='/status'] button:has-text('Publish now')")
    page.wait_for_url(re.compile(r".*/manage\?message=.*"))
    assert "This quiz is published" in page.content()
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/overrides")
    page.select_option("#who", "user:student")
    page.fill("#time_multiplier", "1.5")
    page.click("form[action$='/overrides'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/overrides\?message=.*"))
    assert "1.5× the quiz's" in page.content()
    shoot(page, "quiz-life-accommodations")
    check_accessibility(page)
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    phone.goto(quiz_url)
    facts = phone.locator("dl.facts").inner_text()
    assert re.search(r"Your time limit\s+30 minutes", facts), facts
    shoot(phone, "quiz-life-student-own-limit-390")
    _no_sideways_scroll(phone)
    check_accessibility(phone)
    phone.click("form[action$='/start'] button")
    phone.wait_for_url(re.compile(r".*/attempts/\d+$"))
    deadline = datetime.fromisoformat(phone.locator("[data-deadline]").get_attribute("data-deadline"))
    started = phone.evaluate("Date.now()") / 1000
    assert 29 * 60 < deadline.timestamp() - started <= 30 * 60 + 5, "the student's own 30 minutes"

    # archived: put away, the attempt kept
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    page.click("form[action$='/status'] button:has-text('Archive')")
    page.wait_for_url(re.compile(r".*/manage\?message=.*"))
    assert "This quiz is archived" in page.content()
    assert page.locator("tbody tr", has_text="Demo Student").count() == 1
    phone.goto(quiz_url)
    assert "This quiz is closed" in phone.content()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_a_large_quizs_page_lists_its_attempts_a_page_at_a_time(browser: Any, live_server: LiveServer,
                                                                viewport: dict[str, int]) -> None:
    """60 finished attempts: the quiz's page shows 50 with the count, the next page the other 10."""
    import secrets

    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.models import Attempt, AttemptState, Course, CourseRole, Enrolment, Role, User, utcnow
    from assessments.quizzes.schemas import QuizCreate, Section
    from assessments.quizzes.service import add_quiz

    database = live_server.database()
    tag = secrets.token_hex(3)
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        quiz_id = add_quiz(session, course.id, QuizCreate(title=f"Large class {tag}", sections=[
            Section(items=[SEED_ITEM])]), created_by_id=None, now=utcnow()).id
        for n in range(60):
            user = User(username=f"large-{tag}-{n:02d}", display_name=f"Student {n:02d}", role=Role.STUDENT,
                        password_hash="unused")
            session.add(user)
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=user.id, role=CourseRole.STUDENT))
            session.add(Attempt(quiz_id=quiz_id, user_id=user.id, number=1, state=AttemptState.FINISHED,
                                started_at=utcnow(), finished_at=utcnow(), marks=float(n % 2), max_marks=1.0))
    database.dispose()

    page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/quizzes/{quiz_id}/manage")
    assert page.locator("p[role=status]", has_text="Attempts 1–50 of 60").count() == 2  # above and below the list
    assert page.locator("table.list tbody tr").count() == 50
    _no_sideways_scroll(page)
    shoot(page, f"quiz-attempts-paged-{'phone' if viewport == PHONE else 'desktop'}")
    check_accessibility(page)
    page.locator("a", has_text="Next page").first.click()
    page.wait_for_url(re.compile(r".*/manage\?offset=50$"))
    assert page.locator("p[role=status]", has_text="Attempts 51–60 of 60").count() == 2
    assert page.locator("table.list tbody tr").count() == 10
    assert page.locator("a", has_text="Next page").count() == 0
    check_accessibility(page)
    page.context.close()
