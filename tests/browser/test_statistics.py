"""The statistics page in a real browser, at desktop width and on a 390 px phone, with axe: one
student's attempt, so every question says "too few attempts (n = 1)" instead of a flag, and the
misconception the student's wrong answer shows, with its rate among the wrong answers; then the
course gradebook."""

from __future__ import annotations

import itertools
from typing import Any

import httpx2 as httpx

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SEED_ITEM = "ranking-loss-which-pair-is-penalised"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _quiz_with_one_attempt(live_server: LiveServer) -> int:
    """A quiz of the seed item taken once by the demo student, who selects the options that show
    the misconception ``absolute-scores`` (found by grading every selection with the engine)."""
    from sqlalchemy import select

    from assessments.attempts.service import engine_attempts
    from assessments.db import session_scope
    from assessments.models import Attempt, Course, utcnow
    from assessments.quizzes.schemas import QuizCreate, QuizSettings, Section
    from assessments.quizzes.service import add_quiz
    from engine.qtypes import qtype_for

    database = live_server.database()
    with session_scope(database) as session:
        course = session.scalars(select(Course)).one()
        quiz_id = add_quiz(session, course.id, QuizCreate(
            title="Misconception check", settings=QuizSettings(attempts_allowed=None),
            sections=[Section(items=[SEED_ITEM])]), created_by_id=None, now=utcnow()).id
    with httpx.Client(base_url=live_server.url) as client:
        account = live_server.accounts["student"]
        token = client.post("/api/v1/auth/token",
                            json={"username": "student", "password": account.password}).json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        started = client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=headers)
        assert started.status_code == 201, started.text
        attempt_id = started.json()["id"]
        with session_scope(database) as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            ((_, qa),) = engine_attempts(session, attempt)
        qtype = qtype_for(qa.item)
        choices = next(list(c) for n in range(1, 5) for c in itertools.combinations(range(4), n)
                       if qtype.grade(qa.item, qa.variant, qtype.parse(qa.item, qa.variant, {"choices": list(c)}))
                       .misconception == "absolute-scores")
        saved = client.put(f"/api/v1/attempts/{attempt_id}/responses/1", headers=headers,
                           json={"response": {"choices": choices}, "seq": 0})
        assert saved.status_code == 200, saved.text
        assert client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 200
    database.dispose()
    return quiz_id


def test_the_statistics_page_shows_misconceptions_and_too_few_attempts(browser: Any, live_server: LiveServer) -> None:
    quiz_id = _quiz_with_one_attempt(live_server)
    for name, viewport in SIZES.items():
        page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
        errors: list[str] = []
        page.on("console", lambda message, errors=errors: errors.append(message.text)
                if message.type == "error" else None)
        sign_in(page, live_server, "instructor")
        page.goto(f"{live_server.url}/quizzes/{quiz_id}/statistics")
        text = page.locator("main").inner_text()
        assert "Too few attempts (n = 1)" in text and "too few attempts (n = 1)" in text
        rates = page.locator("table.misconception-rates").inner_text()
        assert "absolute-scores" in rates and "1 of 1 (100%)" in rates
        options = page.locator("table.options-chosen tbody tr")
        assert options.count() == 4 and page.locator("table.options-chosen").inner_text().count("key") >= 1
        assert page.locator("table.per-question span.flagged-note").count() == 0
        assert page.locator("svg.plot").count() == 3  # the scatter, the histogram, the options chosen
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "no sideways scrolling"
        shoot(page, f"instructor-statistics-items-{name}")
        check_accessibility(page)
        page.goto(f"{live_server.url}/courses/foundations-of-llms/gradebook")
        assert "Misconception check" in page.locator("table.gradebook thead").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "no sideways scrolling"
        shoot(page, f"instructor-gradebook-{name}")
        check_accessibility(page)
        assert errors == [], errors
        page.context.close()
